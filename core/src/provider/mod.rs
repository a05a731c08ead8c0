//! Providers: what each network does with tokens, and how relink talks to it.
//!
//! - One file per network, holding all of it: its [`Policy`] row (`POLICY`: token lifetime,
//!   renewal regime, inactivity rule, endpoints, scopes, PKCE, rate budget, each fact with its
//!   source); its [`Adapter`] (validate a token with the cheapest probe, renew it, build the
//!   authorization request, exchange a code, tell the account a token belongs to); and its answer
//!   rules (`rules`: its answers to a [`Verdict`]) with their test rows.
//! - [`policy`]: the [`Policy`] type and the lookup of a network's row.
//! - `plain`: the plain OAuth 2.0 adapter as data (probe, client authentication, scope separator,
//!   where the account is). X, Pinterest, LinkedIn, Google and the declared `oauth2` network are
//!   each a `Plain` row plus their rules.
//! - [`classify`]: what the networks share in reading answers: the family dispatch and the rules
//!   every family obeys (5xx, 429, transport errors, unreadable bodies), the Graph error shape
//!   (Facebook, Instagram, Threads), OAuth token endpoints (RFC 6749 §5.2), redaction. Its table
//!   test runs every row of PROVIDERS.md's "What an answer means", each network's included.
//! - Shared plumbing: `http` (one request, one [`Answer`] or [`Failure`], nothing secret in
//!   either), `oauth` (the RFC 6749 grants through the `oauth2` crate) and `graph` (what Facebook,
//!   Instagram and Threads have in common, including the `graph::Login` life cycle).
//!
//! Adding a network (TikTok, Threads, Mastodon, Bluesky…) is a `Provider` variant and one file; `threads.rs` (a Graph `Login` row) and `x.rs` (a `Plain` row) are examples.
//! `generic.rs` is a network the operator declares in configuration: any OAuth 2.0 server with an
//! OpenID Connect UserInfo endpoint.
//!
//! Every endpoint is `base URL + the network's real path`, and every base URL is configuration
//! ([`ProviderConfig`]), so tests and the demo point all of them at the provider simulator.

pub mod classify;
mod facebook;
mod generic;
mod google;
mod graph;
mod http;
mod instagram;
mod linkedin;
mod oauth;
mod pinterest;
mod plain;
mod policy;
mod telegram;
mod threads;
mod x;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::domain::{Channel, Provider, Reason, Scopes};
use crate::token::TokenSet;

pub use http::{Answer, BodyError, Failure, MAX_ANSWER_BYTES, read_body};
pub use oauth::SPENT_MARGIN;
pub use policy::{Policy, Renewal, policy};

/// What a network said about a token, in the terms relink acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The token works.
    Valid(Validity),
    /// The token is dead: a person must reconnect.
    Dead(Reason),
    /// The authorising person lost the role or a scope: someone who has it must reconnect.
    Permission(String),
    /// The person must act on the network (checkpoint, unconfirmed email, suspension).
    Account(Reason),
    /// relink's own app or bot is at fault: operators must act; teams are not told to reconnect.
    Operator(String),
    /// Retry later; never a disconnect. `retry_after` is the network's requested wait.
    Transient { retry_after: Option<Duration>, detail: String },
    /// An answer relink does not recognise: confirmed by a second probe before anything is said.
    Unknown(String),
}

impl Verdict {
    pub fn transient(detail: impl Into<String>) -> Self {
        Verdict::Transient { retry_after: None, detail: detail.into() }
    }

    /// Whether the verdict says a person must reconnect (dead, permission, account).
    pub fn is_definitive(&self) -> bool {
        matches!(self, Verdict::Dead(_) | Verdict::Permission(_) | Verdict::Account(_))
    }

    /// The reason a definitive verdict gives.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Verdict::Dead(reason) | Verdict::Account(reason) => Some(reason.clone()),
            Verdict::Permission(_) => Some(Reason::PermissionLost),
            _ => None,
        }
    }

    /// "Renew now": the grant stands but its access token is spent or was refused. With a refresh
    /// token, a rejected access token is never the last word: the refresh grant is (it succeeds, or
    /// its `invalid_grant` is the definitive death). Spelled as a valid verdict whose access token
    /// expires at `now`, so a caller that only reads expiries still renews at once.
    pub fn renew_now(now: DateTime<Utc>) -> Self {
        Verdict::Valid(Validity { expires_at: Some(now), ..Validity::default() })
    }

    /// The account a valid verdict names when it is not `account`: the token works, but for
    /// someone else. `None` when the verdict is not valid, names `account`, or names nobody
    /// (a renew-now verdict, which probed nothing; a Telegram chat stored by `@username`).
    pub fn named_other_account(&self, account: &str) -> Option<&str> {
        match self {
            Verdict::Valid(Validity { account_id: Some(named), .. }) if named != account => Some(named),
            _ => None,
        }
    }

    /// Whether the verdict is valid but its access token is spent at `now`: renew before anything
    /// else (see [`Verdict::renew_now`]).
    pub fn wants_renewal(&self, now: DateTime<Utc>) -> bool {
        matches!(self, Verdict::Valid(validity) if validity.expires_at.is_some_and(|at| at <= now))
    }
}

/// What a successful probe learned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validity {
    /// When the access token expires, if the network says. At or before `now` with a refresh token
    /// means "renew now" ([`Verdict::renew_now`]).
    pub expires_at: Option<DateTime<Utc>>,
    /// The scopes granted, if the network says.
    pub scopes: Option<Scopes>,
    /// The account the token belongs to, if the probe tells.
    pub account_id: Option<String>,
    /// The network's id of the person who granted the token, if the probe tells (Facebook's
    /// app-scoped user id behind a Page token): push signals name people, not channels.
    pub grantor_id: Option<String>,
    /// How close the app is to the network's rate limit, 0.0–1.0 (Facebook's usage headers).
    pub usage: Option<f64>,
}

/// The outcome of a renewal (refresh or extension).
#[derive(Debug, Clone)]
pub enum Renewed {
    /// New tokens. A set without a refresh token keeps the stored one.
    Tokens(TokenSet),
    /// The network answered and refused or failed; classified.
    Refused(Verdict),
    /// The network does not extend the token yet (Threads and Instagram login refuse one younger
    /// than a day); the current token stays valid, so this is no failure. It does from then on.
    NotYet(DateTime<Utc>),
    /// The request may or may not have reached the network (timeout, connection lost after
    /// sending). A rotating refresh token may have been consumed: never retry blindly.
    Uncertain(String),
}

/// What a completed authorization gives: tokens and whose they are.
#[derive(Debug, Clone)]
pub struct Connected {
    pub tokens: TokenSet,
    pub account_id: String,
    pub display_name: Option<String>,
}

/// Where a network lives and relink's app credentials there. Everything is configurable so
/// tests point at the simulator.
#[derive(Clone)]
pub struct ProviderConfig {
    /// The API the probe and refresh calls go to (e.g. `https://graph.facebook.com/v21.0`).
    pub api_base: Url,
    /// The authorization endpoint people's browsers are sent to.
    pub authorize_url: Url,
    /// The OAuth token endpoint.
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Checks per second relink allows itself against this network (per process).
    pub rate_per_second: f64,
    /// The scopes asked for when a channel is connected or reconnected; `None`: the network's
    /// usual ones (the policy's). Operators set them for a generic OAuth 2.0 network, or to ask
    /// a network for less or more than relink's default.
    pub scopes: Option<Vec<String>>,
}

impl ProviderConfig {
    /// The scopes to ask `provider` for, joined the way it wants them.
    pub fn requested_scopes(&self, provider: Provider, separator: &str) -> String {
        match &self.scopes {
            Some(scopes) => scopes.join(separator),
            None => policy::policy(provider).scopes.join(separator),
        }
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("api_base", &self.api_base.as_str())
            .field("authorize_url", &self.authorize_url.as_str())
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("rate_per_second", &self.rate_per_second)
            .finish()
    }
}

/// Everything an adapter call needs besides the channel.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub http: &'a reqwest::Client,
    pub config: &'a ProviderConfig,
    pub now: DateTime<Utc>,
}

/// How relink talks to one network.
#[async_trait::async_trait]
pub trait Adapter: Send + Sync + fmt::Debug {
    fn provider(&self) -> Provider;

    /// Validates the channel's token with the network's cheapest probe.
    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict;

    /// How many requests [`Adapter::validate`] sends to the network when the token works: the
    /// checker takes that many slots of the network's budget before it. One for most networks.
    fn probe_requests(&self) -> u32 {
        1
    }

    /// Refreshes or extends the token, if the network allows it.
    async fn renew(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Renewed;

    /// The URL to send a person's browser to, or `None` when the network has no OAuth flow
    /// (Telegram: the bot is re-added as an admin instead).
    fn authorize_url(&self, ctx: Ctx<'_>, redirect_uri: &Url, state: &str, pkce_challenge: Option<&str>)
    -> Option<Url>;

    /// Exchanges an authorization code for tokens and tells whose they are.
    async fn exchange_code(
        &self,
        ctx: Ctx<'_>,
        code: &str,
        redirect_uri: &Url,
        pkce_verifier: Option<&str>,
    ) -> Result<Connected, Verdict>;
}

/// Every secret an adapter call holds (access token, refresh token, client secret), for
/// `classify::redact` on whatever the call says, in case a network echoes one back.
fn held_secrets<'a>(ctx: Ctx<'a>, tokens: &'a TokenSet) -> [&'a str; 3] {
    [
        tokens.access_token.expose_secret(),
        tokens.refresh_token.as_ref().map_or("", |t| t.expose_secret()),
        ctx.config.client_secret.expose_secret(),
    ]
}

/// What `renew` answers for a network that does not renew its tokens (Facebook and Instagram
/// Page tokens, Telegram bot tokens). Callers check [`Policy::renews_itself`] first; should one
/// not, this is an operator matter and never "dead", so no team is told to reconnect.
fn not_renewable(provider: Provider) -> Renewed {
    Renewed::Refused(Verdict::Operator(format!(
        "{} tokens do not renew: relink warns before they end instead (check Policy::renews_itself before renewing)",
        provider.label()
    )))
}

/// The adapters and their configuration, one per network, sharing one HTTP client.
#[derive(Debug, Clone)]
pub struct Providers {
    http: reqwest::Client,
    configs: Arc<HashMap<Provider, ProviderConfig>>,
}

/// How long one call to a network may take before it counts as transient.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The one HTTP client: redirects are never followed (a token endpoint that redirects is an
/// answer to classify, and a followed redirect could carry a token to another host).
fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .pool_max_idle_per_host(256)
        .build()
        .expect("the HTTP client builds with static settings")
}

impl Providers {
    /// Builds the registry from per-network configuration; networks without configuration use
    /// their policy's public endpoints and no app credentials.
    pub fn new(configs: HashMap<Provider, ProviderConfig>) -> Self {
        Self::with_timeout(configs, REQUEST_TIMEOUT)
    }

    /// As [`Providers::new`], with another per-request timeout (tests use a second or two).
    pub fn with_timeout(configs: HashMap<Provider, ProviderConfig>, timeout: Duration) -> Self {
        let mut all = configs;
        for provider in Provider::ALL {
            all.entry(*provider).or_insert_with(|| policy::policy(*provider).default_config());
        }
        Self { http: http_client(timeout), configs: Arc::new(all) }
    }

    /// The same registry with another per-request timeout:
    /// `Providers::all_at(..).timeout(Duration::from_secs(2))`.
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { http: http_client(timeout), ..self }
    }

    /// The same registry with another request budget for one network.
    pub fn with_rate(self, provider: Provider, rate_per_second: f64) -> Self {
        let mut configs = (*self.configs).clone();
        if let Some(config) = configs.get_mut(&provider) {
            config.rate_per_second = rate_per_second;
        }
        Self { configs: Arc::new(configs), ..self }
    }

    /// Every network served under one base URL at `/{provider}` (the simulator's layout).
    pub fn all_at(base: &Url, client_id: &str, client_secret: &str, rate_per_second: f64) -> Self {
        let configs = Provider::ALL
            .iter()
            .map(|provider| {
                let root = base.join(&format!("{}/", provider.as_str())).expect("a provider name is a path segment");
                (*provider, policy::policy(*provider).config_under(&root, client_id, client_secret, rate_per_second))
            })
            .collect();
        Self::new(configs)
    }

    pub fn policy(&self, provider: Provider) -> &'static Policy {
        policy::policy(provider)
    }

    pub fn config(&self, provider: Provider) -> &ProviderConfig {
        self.configs.get(&provider).expect("every provider has a configuration")
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn ctx(&self, provider: Provider, now: DateTime<Utc>) -> Ctx<'_> {
        Ctx { http: &self.http, config: self.config(provider), now }
    }

    /// The adapter of a network.
    pub fn adapter(&self, provider: Provider) -> &'static dyn Adapter {
        match provider {
            Provider::Facebook => &facebook::FACEBOOK,
            Provider::InstagramBusiness => &instagram::INSTAGRAM_BUSINESS,
            Provider::InstagramLogin => &instagram::INSTAGRAM_LOGIN,
            Provider::Linkedin => &linkedin::LINKEDIN,
            Provider::X => &x::X,
            Provider::Pinterest => &pinterest::PINTEREST,
            Provider::Youtube => &google::YOUTUBE,
            Provider::GoogleBusiness => &google::GOOGLE_BUSINESS,
            Provider::Telegram => &telegram::Telegram,
            Provider::Threads => &threads::THREADS,
            Provider::GenericOauth2 => &generic::GENERIC_OAUTH2,
        }
    }
}
