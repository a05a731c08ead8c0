//! X (OAuth 2.0 user context). Access tokens live two hours; the `offline.access` refresh token
//! is single-use and rotated, and reusing an old one may revoke the whole grant: the checker
//! refreshes late, under a lease, and stores what comes back first; a refresh that timed out is
//! `Renewed::Uncertain`, never retried blindly. PKCE (S256) is required.
//!
//! The probe `GET 2/users/me` is a billed read, so a token that is spent anyway is not probed:
//! with a refresh token that is "renew now", and the refresh is the check.
//! Source: <https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code>

use secrecy::ExposeSecret;
use url::Url;

use super::classify::{self, Context, Family};
use super::oauth::{self, ClientAuth};
use super::{Adapter, Connected, Ctx, Renewed, Verdict, held_secrets, http};
use crate::domain::{Channel, Provider};
use crate::token::TokenSet;

#[derive(Debug)]
pub(super) struct X;

#[async_trait::async_trait]
impl Adapter for X {
    fn provider(&self) -> Provider {
        Provider::X
    }

    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        if cx.refreshable && oauth::spent(tokens, ctx.now) {
            return Verdict::renew_now(ctx.now);
        }
        let verdict = me(ctx, &cx, tokens.access_token.expose_secret()).await.0;
        classify::redact(verdict, &held_secrets(ctx, tokens))
    }

    /// Confidential clients authenticate with HTTP Basic.
    async fn renew(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Renewed {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        oauth::refresh(ctx, Provider::X, ClientAuth::Basic, &cx, tokens).await
    }

    /// Scopes are space-separated; PKCE S256 when the caller gives a challenge (X requires one).
    fn authorize_url(
        &self,
        ctx: Ctx<'_>,
        redirect_uri: &Url,
        state: &str,
        pkce_challenge: Option<&str>,
    ) -> Option<Url> {
        let scopes = ctx.config.requested_scopes(Provider::X, " ");
        let pkce = oauth::pkce(Provider::X, pkce_challenge);
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
            oauth::exchange_code(ctx, Provider::X, ClientAuth::Basic, code, redirect_uri, pkce_verifier).await?;
        let (probe, answer) = me(ctx, &Context::at(ctx.now), granted.tokens.access_token.expose_secret()).await;
        let name = answer.and_then(|a| a.str_at("/data/username"));
        oauth::connected(Provider::X, granted, probe, name)
    }
}

/// `GET 2/users/me` with the bearer token; the account is `data.id`.
async fn me(ctx: Ctx<'_>, cx: &Context, token: &str) -> (Verdict, Option<http::Answer>) {
    let request = ctx.http.get(http::endpoint(&ctx.config.api_base, &["2", "users", "me"])).bearer_auth(token);
    http::probe(request, Family::X, cx, &[token, ctx.config.client_secret.expose_secret()]).await
}
