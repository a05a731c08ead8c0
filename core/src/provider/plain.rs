//! The plain OAuth 2.0 adapter, configured by data: a network that issues bearer tokens from an
//! RFC 6749 token endpoint and says whose a token is at one probe endpoint. X, Pinterest,
//! LinkedIn, Google (YouTube, Business Profile) and the declared `oauth2` network are each one
//! [`Plain`] row in their own file, beside their answer rules; only what differs is written there
//! (probe, client authentication, scope separator, extra authorization parameters, where the
//! account and its name are in the probe's answer).
//!
//! Every plain network checks the same way: an access token that is spent (or within
//! [`super::SPENT_MARGIN`] of it) with a refresh token is not probed but renewed ("renew now":
//! the refresh grant is the check, and spends no probe quota); otherwise the probe decides, and
//! its family's rules read the answer.

use secrecy::ExposeSecret;
use url::Url;

use super::classify::{self, Context, Family};
use super::http::{self, Answer, endpoint};
use super::oauth::{self, ClientAuth};
use super::{Adapter, Connected, Ctx, Renewed, Verdict, held_secrets};
use crate::domain::{Channel, Provider};
use crate::token::TokenSet;

/// A plain OAuth 2.0 network, as data.
#[derive(Debug)]
pub(super) struct Plain {
    pub provider: Provider,
    /// The rules that read the probe's answers.
    pub family: Family,
    /// The cheapest call that says the token works.
    pub probe: Probe,
    /// How relink's app authenticates at the token endpoint (refresh and code grants).
    pub client_auth: ClientAuth,
    /// How requested scopes are joined in the authorization URL.
    pub scope_separator: &'static str,
    /// Parameters the authorization URL adds (consent prompts, offline access).
    pub authorize_params: &'static [(&'static str, &'static str)],
    /// JSON pointers to the account's id in the probe's answer, first found wins. The family's
    /// rules read them when the answer is a success.
    pub account_at: &'static [&'static str],
    /// JSON pointers to the account's display name in the probe's answer, first found wins.
    pub name_at: &'static [&'static str],
}

/// How a plain network's probe is sent (each path is under the configured `api_base`).
#[derive(Debug, Clone, Copy)]
pub(super) enum Probe {
    /// `GET path` with `Authorization: Bearer T` (RFC 6750 §2.1).
    Bearer(&'static [&'static str]),
    /// `GET path?access_token=T` (Google's `tokeninfo`).
    Query(&'static [&'static str]),
    /// `POST path` with the form `token`, `client_id`, `client_secret` (LinkedIn's token
    /// introspection, free and authenticated by relink's app).
    Introspect(&'static [&'static str]),
}

impl Plain {
    /// Sends the probe and reads it with the family's rules; the answer comes back too, for the
    /// display name.
    async fn probe(&self, ctx: Ctx<'_>, cx: &Context, token: &str) -> (Verdict, Option<Answer>) {
        let secret = ctx.config.client_secret.expose_secret();
        let request = match self.probe {
            Probe::Bearer(path) => ctx.http.get(endpoint(&ctx.config.api_base, path)).bearer_auth(token),
            Probe::Query(path) => ctx.http.get(endpoint(&ctx.config.api_base, path)).query(&[("access_token", token)]),
            Probe::Introspect(path) => ctx.http.post(endpoint(&ctx.config.api_base, path)).form(&[
                ("token", token),
                ("client_id", ctx.config.client_id.as_str()),
                ("client_secret", secret),
            ]),
        };
        http::probe(request, self.family, cx, &[token, secret]).await
    }
}

#[async_trait::async_trait]
impl Adapter for Plain {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        if cx.refreshable && oauth::spent(tokens, ctx.now) {
            return Verdict::renew_now(ctx.now);
        }
        let verdict = self.probe(ctx, &cx, tokens.access_token.expose_secret()).await.0;
        classify::redact(verdict, &held_secrets(ctx, tokens))
    }

    async fn renew(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Renewed {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        oauth::refresh(ctx, self.provider, self.client_auth, &cx, tokens).await
    }

    /// The configured (or the policy's) scopes joined with the network's separator, PKCE S256
    /// when the policy asks for it and the caller gives a challenge, and the network's parameters.
    fn authorize_url(
        &self,
        ctx: Ctx<'_>,
        redirect_uri: &Url,
        state: &str,
        pkce_challenge: Option<&str>,
    ) -> Option<Url> {
        let scopes = ctx.config.requested_scopes(self.provider, self.scope_separator);
        let pkce = oauth::pkce(self.provider, pkce_challenge);
        Some(oauth::authorize_url(ctx, redirect_uri, state, &scopes, pkce, self.authorize_params))
    }

    async fn exchange_code(
        &self,
        ctx: Ctx<'_>,
        code: &str,
        redirect_uri: &Url,
        pkce_verifier: Option<&str>,
    ) -> Result<Connected, Verdict> {
        let granted =
            oauth::exchange_code(ctx, self.provider, self.client_auth, code, redirect_uri, pkce_verifier).await?;
        let (probe, answer) = self.probe(ctx, &Context::at(ctx.now), granted.tokens.access_token.expose_secret()).await;
        let name = answer.and_then(|a| self.name_at.iter().find_map(|pointer| a.str_at(pointer)));
        oauth::connected(self.provider, granted, probe, name)
    }
}
