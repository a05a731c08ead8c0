//! LinkedIn (members and organization pages). 60-day access tokens; refresh tokens only for
//! approved partner apps, living 365 days from the first grant whatever the refreshes.
//!
//! The probe is token introspection (`POST introspectToken` with relink's app credentials): free,
//! and it says `expired` or `revoked`. With a refresh token, a spent or refused access token is
//! "renew now": the refresh grant decides.
//! Sources: <https://learn.microsoft.com/en-us/linkedin/shared/authentication/token-introspection>,
//! <https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens>

use secrecy::ExposeSecret;
use url::Url;

use super::classify::{self, Context, Family};
use super::oauth::{self, ClientAuth};
use super::{Adapter, Connected, Ctx, Renewed, Verdict, held_secrets, http};
use crate::domain::{Channel, Provider};
use crate::token::TokenSet;

#[derive(Debug)]
pub(super) struct Linkedin;

#[async_trait::async_trait]
impl Adapter for Linkedin {
    fn provider(&self) -> Provider {
        Provider::Linkedin
    }

    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        if cx.refreshable && oauth::spent(tokens, ctx.now) {
            return Verdict::renew_now(ctx.now);
        }
        let verdict = introspect(ctx, &cx, tokens.access_token.expose_secret()).await;
        classify::redact(verdict, &held_secrets(ctx, tokens))
    }

    async fn renew(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Renewed {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        oauth::refresh(ctx, Provider::Linkedin, ClientAuth::Form, &cx, tokens).await
    }

    /// Scopes are space-separated.
    fn authorize_url(
        &self,
        ctx: Ctx<'_>,
        redirect_uri: &Url,
        state: &str,
        pkce_challenge: Option<&str>,
    ) -> Option<Url> {
        let scopes = ctx.config.requested_scopes(Provider::Linkedin, " ");
        let pkce = oauth::pkce(Provider::Linkedin, pkce_challenge);
        Some(oauth::authorize_url(ctx, redirect_uri, state, &scopes, pkce, &[]))
    }

    async fn exchange_code(
        &self,
        ctx: Ctx<'_>,
        code: &str,
        redirect_uri: &Url,
        pkce_verifier: Option<&str>,
    ) -> Result<Connected, Verdict> {
        let granted =
            oauth::exchange_code(ctx, Provider::Linkedin, ClientAuth::Form, code, redirect_uri, pkce_verifier).await?;
        let probe = introspect(ctx, &Context::at(ctx.now), granted.tokens.access_token.expose_secret()).await;
        oauth::connected(Provider::Linkedin, granted, probe, None)
    }
}

/// `POST introspectToken` (form: `token`, `client_id`, `client_secret`); the account is `member_id`.
async fn introspect(ctx: Ctx<'_>, cx: &Context, token: &str) -> Verdict {
    let secret = ctx.config.client_secret.expose_secret();
    let request = ctx.http.post(http::endpoint(&ctx.config.api_base, &["introspectToken"])).form(&[
        ("token", token),
        ("client_id", ctx.config.client_id.as_str()),
        ("client_secret", secret),
    ]);
    http::probe(request, Family::Linkedin, cx, &[token, secret]).await.0
}
