//! Pinterest. 30-day access tokens; refresh tokens with "continuous refresh" for new apps
//! (rotation details uncertain: always store what comes back, treat it as rotating). The seeds'
//! "30 days without publishing activity" is the policy's inactivity period: a rejection on an
//! idle channel says "inactivity" (see `classify::pinterest`).
//!
//! Probe: `GET user_account`. With a refresh token, a spent or refused access token is "renew
//! now": the refresh grant decides, and gives the inactivity reason if it fails on an idle channel.
//! Source: <https://developers.pinterest.com/docs/getting-started/authentication-and-scopes/>

use secrecy::ExposeSecret;
use url::Url;

use super::classify::{self, Context, Family};
use super::oauth::{self, ClientAuth};
use super::{Adapter, Connected, Ctx, Renewed, Verdict, held_secrets, http};
use crate::domain::{Channel, Provider};
use crate::token::TokenSet;

#[derive(Debug)]
pub(super) struct Pinterest;

#[async_trait::async_trait]
impl Adapter for Pinterest {
    fn provider(&self) -> Provider {
        Provider::Pinterest
    }

    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        if cx.refreshable && oauth::spent(tokens, ctx.now) {
            return Verdict::renew_now(ctx.now);
        }
        let verdict = user_account(ctx, &cx, tokens.access_token.expose_secret()).await.0;
        classify::redact(verdict, &held_secrets(ctx, tokens))
    }

    /// Pinterest's token endpoint wants HTTP Basic.
    async fn renew(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Renewed {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        oauth::refresh(ctx, Provider::Pinterest, ClientAuth::Basic, &cx, tokens).await
    }

    /// Scopes are comma-separated.
    fn authorize_url(
        &self,
        ctx: Ctx<'_>,
        redirect_uri: &Url,
        state: &str,
        pkce_challenge: Option<&str>,
    ) -> Option<Url> {
        let scopes = ctx.config.requested_scopes(Provider::Pinterest, ",");
        let pkce = oauth::pkce(Provider::Pinterest, pkce_challenge);
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
            oauth::exchange_code(ctx, Provider::Pinterest, ClientAuth::Basic, code, redirect_uri, pkce_verifier)
                .await?;
        let (probe, answer) =
            user_account(ctx, &Context::at(ctx.now), granted.tokens.access_token.expose_secret()).await;
        let name = answer.and_then(|a| a.str_at("/username"));
        oauth::connected(Provider::Pinterest, granted, probe, name)
    }
}

/// `GET user_account` with the bearer token; the account is `id` (else `username`).
async fn user_account(ctx: Ctx<'_>, cx: &Context, token: &str) -> (Verdict, Option<http::Answer>) {
    let request = ctx.http.get(http::endpoint(&ctx.config.api_base, &["user_account"])).bearer_auth(token);
    http::probe(request, Family::Pinterest, cx, &[token, ctx.config.client_secret.expose_secret()]).await
}
