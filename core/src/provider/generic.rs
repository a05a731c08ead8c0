//! A network the operator declares in configuration (`[providers.oauth2]`): any OAuth 2.0
//! authorization server (RFC 6749) whose accounts an OpenID Connect UserInfo endpoint names.
//! Its policy row is `GENERIC_OAUTH2` in `policy.rs`.
//!
//! Probe: `GET {api_base}userinfo` with the bearer token; the account is `sub`. Renewal: the
//! refresh grant, when the server issued a refresh token. Client authentication: HTTP Basic
//! (`client_secret_basic`, the default of RFC 6749 §2.3.1 and of OpenID Connect). Authorization
//! asks for `prompt=consent`, so a reconnect never completes without the person seeing it.
//! Sources: <https://www.rfc-editor.org/rfc/rfc6749>, <https://www.rfc-editor.org/rfc/rfc6750>,
//! <https://openid.net/specs/openid-connect-core-1_0.html#UserInfo>

use secrecy::ExposeSecret;
use url::Url;

use super::classify::{self, Context, Family};
use super::oauth::{self, ClientAuth};
use super::{Adapter, Connected, Ctx, Renewed, Verdict, held_secrets, http};
use crate::domain::{Channel, Provider};
use crate::token::TokenSet;

#[derive(Debug)]
pub(super) struct GenericOauth2;

const PROVIDER: Provider = Provider::GenericOauth2;

#[async_trait::async_trait]
impl Adapter for GenericOauth2 {
    fn provider(&self) -> Provider {
        PROVIDER
    }

    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        if cx.refreshable && oauth::spent(tokens, ctx.now) {
            return Verdict::renew_now(ctx.now);
        }
        let verdict = userinfo(ctx, &cx, tokens.access_token.expose_secret()).await.0;
        classify::redact(verdict, &held_secrets(ctx, tokens))
    }

    async fn renew(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Renewed {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        oauth::refresh(ctx, PROVIDER, ClientAuth::Basic, &cx, tokens).await
    }

    /// Space-separated scopes (RFC 6749 §3.3) and PKCE S256.
    fn authorize_url(
        &self,
        ctx: Ctx<'_>,
        redirect_uri: &Url,
        state: &str,
        pkce_challenge: Option<&str>,
    ) -> Option<Url> {
        let scopes = ctx.config.requested_scopes(PROVIDER, " ");
        let pkce = oauth::pkce(PROVIDER, pkce_challenge);
        // OpenID Connect's `prompt=consent` (Core §3.1.2.1): the server asks the person again
        // rather than sending them straight back for an app already approved.
        Some(oauth::authorize_url(ctx, redirect_uri, state, &scopes, pkce, &[("prompt", "consent")]))
    }

    async fn exchange_code(
        &self,
        ctx: Ctx<'_>,
        code: &str,
        redirect_uri: &Url,
        pkce_verifier: Option<&str>,
    ) -> Result<Connected, Verdict> {
        let granted = oauth::exchange_code(ctx, PROVIDER, ClientAuth::Basic, code, redirect_uri, pkce_verifier).await?;
        let (probe, answer) = userinfo(ctx, &Context::at(ctx.now), granted.tokens.access_token.expose_secret()).await;
        let name = answer.and_then(|a| a.str_at("/name").or_else(|| a.str_at("/preferred_username")));
        oauth::connected(PROVIDER, granted, probe, name)
    }
}

/// `GET {api_base}userinfo` with the bearer token.
async fn userinfo(ctx: Ctx<'_>, cx: &Context, token: &str) -> (Verdict, Option<http::Answer>) {
    let request = ctx.http.get(http::endpoint(&ctx.config.api_base, &["userinfo"])).bearer_auth(token);
    http::probe(request, Family::UserInfo, cx, &[token, ctx.config.client_secret.expose_secret()]).await
}
