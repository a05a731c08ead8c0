//! What the Graph networks (Facebook, Instagram, Threads) have in common: the token travels as the
//! `access_token` query parameter, scopes are joined with commas, errors have Graph's shape, and
//! the networks people log in to directly (Instagram login, Threads) share one life cycle:
//! a short-lived token from the code, exchanged for a 60-day one, extended while still valid.
//! [`Login`] is that life cycle as an adapter, so `threads.rs` is a description and nothing else.
//! The networks reached through Facebook Login whose channel holds a Page token (Facebook,
//! Instagram through a Page) share [`Page`]: never renewed, the Login dialog, the code grant;
//! each network says only how it probes a token and whose a new one is ([`PageNetwork`]).

use std::time::Duration;

use reqwest::RequestBuilder;
use secrecy::ExposeSecret;
use url::Url;

use super::classify::{self, Context, Family};
use super::http::{self, Answer, endpoint};
use super::oauth::{self, ClientAuth, Granted};
use super::policy::{self, Renewal};
use super::{Adapter, Connected, Ctx, Renewed, Verdict, held_secrets, not_renewable};
use crate::domain::{Channel, Provider, Reason};
use crate::token::TokenSet;

/// A token that lives less than this is short-lived: it is exchanged for a long-lived one.
const SHORT_LIVED: Duration = Duration::from_secs(86_400);

/// `GET {api_base}{segments…}?{query}&access_token=T`.
pub(super) fn get(ctx: Ctx<'_>, segments: &[&str], query: &[(&str, &str)], token: &str) -> RequestBuilder {
    ctx.http.get(endpoint(&ctx.config.api_base, segments)).query(query).query(&[("access_token", token)])
}

/// The authorization URL of a Graph network: comma-separated scopes. The Facebook Login dialog
/// (Facebook, Instagram through a Facebook Page) gets `auth_type=rerequest`, so a reconnect asks
/// for the permissions again instead of passing straight through for an app already approved
/// (<https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow>,
/// "Re-asking for declined permissions"). Instagram login and Threads document no such
/// parameter for their authorization windows, so they get none.
pub(super) fn authorize_url(
    ctx: Ctx<'_>,
    provider: Provider,
    redirect_uri: &Url,
    state: &str,
    pkce_challenge: Option<&str>,
) -> Url {
    let scopes = ctx.config.requested_scopes(provider, ",");
    let consent: &[(&str, &str)] = match provider {
        Provider::Facebook | Provider::InstagramBusiness => &[("auth_type", "rerequest")],
        _ => &[],
    };
    oauth::authorize_url(ctx, redirect_uri, state, &scopes, oauth::pkce(provider, pkce_challenge), consent)
}

/// The secrets a Graph call may carry, for redaction.
pub(super) fn secrets<'a>(ctx: Ctx<'a>, token: &'a str) -> [&'a str; 2] {
    [token, ctx.config.client_secret.expose_secret()]
}

/// What a Page-token network says of itself (Facebook, Instagram through a Page); [`Page`] is
/// the rest of its adapter.
#[async_trait::async_trait]
pub(super) trait PageNetwork: Send + Sync + std::fmt::Debug {
    const PROVIDER: Provider;

    /// How many requests [`PageNetwork::probe`] sends when the token works.
    const PROBE_REQUESTS: u32 = 1;

    /// Whether the channel's Page token works, and whose it is. Details are redacted after.
    async fn probe(&self, ctx: Ctx<'_>, cx: &Context, channel: &Channel, token: &str) -> Verdict;

    /// Whose the token a code gave is: the completed authorization.
    async fn connect(&self, ctx: Ctx<'_>, granted: Granted) -> Result<Connected, Verdict>;
}

/// The adapter of a Page-token network. Page tokens do not renew (the `fb_exchange_token` grant
/// extends user tokens, which relink does not keep): relink warns before they end and a person
/// reconnects.
#[derive(Debug)]
pub(super) struct Page<N>(pub N);

#[async_trait::async_trait]
impl<N: PageNetwork> Adapter for Page<N> {
    fn provider(&self) -> Provider {
        N::PROVIDER
    }

    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        let verdict = self.0.probe(ctx, &cx, channel, tokens.access_token.expose_secret()).await;
        classify::redact(verdict, &held_secrets(ctx, tokens))
    }

    fn probe_requests(&self) -> u32 {
        N::PROBE_REQUESTS
    }

    async fn renew(&self, _ctx: Ctx<'_>, _channel: &Channel, _tokens: &TokenSet) -> Renewed {
        not_renewable(N::PROVIDER)
    }

    fn authorize_url(&self, ctx: Ctx<'_>, redirect_uri: &Url, state: &str, pkce: Option<&str>) -> Option<Url> {
        Some(authorize_url(ctx, N::PROVIDER, redirect_uri, state, pkce))
    }

    async fn exchange_code(
        &self,
        ctx: Ctx<'_>,
        code: &str,
        redirect_uri: &Url,
        pkce_verifier: Option<&str>,
    ) -> Result<Connected, Verdict> {
        let granted =
            oauth::exchange_code(ctx, N::PROVIDER, ClientAuth::Form, code, redirect_uri, pkce_verifier).await?;
        self.0.connect(ctx, granted).await
    }
}

/// A Graph network people log in to directly (Instagram login, Threads).
#[derive(Debug)]
pub(super) struct Login {
    pub provider: Provider,
    /// The probe's `fields` on `GET me` (the account comes back as `user_id` or `id`).
    pub probe_fields: &'static str,
    /// The short-lived to long-lived exchange grant on `GET access_token`.
    pub exchange_grant: &'static str,
    /// The extension grant on `GET refresh_access_token`.
    pub refresh_grant: &'static str,
}

#[async_trait::async_trait]
impl Adapter for Login {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        let verdict = self.probe(ctx, &cx, tokens.access_token.expose_secret()).await.0;
        classify::redact(verdict, &held_secrets(ctx, tokens))
    }

    /// Extends a still-valid token (`refresh_access_token`). The network refuses a token younger
    /// than the policy's `min_age` with the same code 190 it gives a dead one, so relink never asks
    /// early; and a 190 that names no cause before the stored expiry is `Unknown` (the checker
    /// confirms it with a probe) rather than "dead". The old token stays valid when an extension
    /// fails, so a timeout is merely transient.
    async fn renew(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Renewed {
        let label = self.provider.label();
        let policy = policy::policy(self.provider);
        if let (Renewal::ExtendWhileValid { min_age }, Some(expires_at), Some(lifetime)) =
            (policy.renewal, tokens.expires_at, policy.access_lifetime)
        {
            let ready = crate::time::after(crate::time::before(expires_at, lifetime), min_age);
            if ctx.now < ready {
                return Renewed::NotYet(ready);
            }
        }
        let token = tokens.access_token.expose_secret();
        let cx = Context::for_channel(channel, tokens, ctx.now);
        let request = get(ctx, &["refresh_access_token"], &[("grant_type", self.refresh_grant)], token);
        let verdict = match http::send(request).await {
            Ok(answer) if answer.is_success() => {
                return match oauth::read_tokens(&answer, ctx.now, &tokens.scopes, policy.access_lifetime) {
                    Some(granted) => Renewed::Tokens(granted.tokens),
                    None => Renewed::Refused(Verdict::Unknown(format!("{label}: the extension answer holds no token"))),
                };
            }
            Ok(answer) => match classify::answer(Family::Graph, &cx, &answer) {
                Verdict::Dead(Reason::Other(why)) => {
                    Verdict::Unknown(format!("{label}: extension refused ({why}); confirm with a probe"))
                }
                verdict => verdict,
            },
            Err(failure) => classify::failure(&failure),
        };
        Renewed::Refused(classify::redact(verdict, &held_secrets(ctx, tokens)))
    }

    fn authorize_url(&self, ctx: Ctx<'_>, redirect_uri: &Url, state: &str, pkce: Option<&str>) -> Option<Url> {
        Some(authorize_url(ctx, self.provider, redirect_uri, state, pkce))
    }

    async fn exchange_code(
        &self,
        ctx: Ctx<'_>,
        code: &str,
        redirect_uri: &Url,
        pkce_verifier: Option<&str>,
    ) -> Result<Connected, Verdict> {
        let mut granted =
            oauth::exchange_code(ctx, self.provider, ClientAuth::Form, code, redirect_uri, pkce_verifier).await?;
        // The real networks answer a code with a one-hour token; one that says it lives a day or
        // more is already long-lived.
        if granted.lifetime.is_none_or(|lifetime| lifetime < SHORT_LIVED) {
            granted = self.long_lived(ctx, granted).await?;
        }
        let (probe, answer) = self.probe(ctx, &Context::at(ctx.now), granted.tokens.access_token.expose_secret()).await;
        let name = answer.and_then(|a| a.str_at("/username"));
        oauth::connected(self.provider, granted, probe, name)
    }
}

impl Login {
    /// `GET me?fields=…`: the token works, and whose it is.
    async fn probe(&self, ctx: Ctx<'_>, cx: &Context, token: &str) -> (Verdict, Option<Answer>) {
        let request = get(ctx, &["me"], &[("fields", self.probe_fields)], token);
        http::probe(request, Family::Graph, cx, &secrets(ctx, token)).await
    }

    /// `GET access_token?grant_type=…&client_secret=…&access_token=short`.
    async fn long_lived(&self, ctx: Ctx<'_>, short: Granted) -> Result<Granted, Verdict> {
        let token = short.tokens.access_token.expose_secret();
        let secret = ctx.config.client_secret.expose_secret();
        let request =
            get(ctx, &["access_token"], &[("grant_type", self.exchange_grant), ("client_secret", secret)], token);
        let lifetime = policy::policy(self.provider).access_lifetime;
        match http::send(request).await {
            Ok(answer) if answer.is_success() => {
                let mut long =
                    oauth::read_tokens(&answer, ctx.now, &short.tokens.scopes, lifetime).ok_or_else(|| {
                        Verdict::Unknown(format!(
                            "{}: the long-lived exchange answer holds no token",
                            self.provider.label()
                        ))
                    })?;
                long.user_id = long.user_id.or(short.user_id);
                Ok(long)
            }
            Ok(answer) => {
                Err(classify::redact(classify::answer(Family::Graph, &Context::at(ctx.now), &answer), &[token, secret]))
            }
            Err(failure) => Err(classify::redact(classify::failure(&failure), &[token, secret])),
        }
    }
}
