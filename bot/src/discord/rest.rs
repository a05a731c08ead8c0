//! Discord's REST API through serenity's request builder: serenity's `Route`s name the paths
//! and their rate-limit buckets and `Request::build` adds authorization and the configured base
//! (`HttpBuilder::proxy` semantics, so tests point it at a local fake). relink executes the
//! requests itself, because serenity's own rate limiter ignores the proxy and hides the
//! headers: every call goes through relink's [`Limiter`], whose per-bucket state comes from
//! the answers' `X-RateLimit-*` headers.
//!
//! Paths of interaction routes hold the interaction's token: no path or URL is ever logged, and
//! network errors are stripped of their URL.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use relink_core::provider::{MAX_ANSWER_BYTES, read_body};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serenity::http::{LightMethod, Request, Route};

use super::limiter::{Announced, Limiter};

/// Discord's public REST base.
pub const DISCORD_API: &str = "https://discord.com/api";

/// How a REST call failed. Carries no token and no URL.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RestError {
    /// 429: wait `retry_after` (everything waits when `global`).
    #[error("rate limited for {retry_after:?}{}", if *global { " (global)" } else { "" })]
    RateLimited { retry_after: Duration, global: bool },
    /// Another 4xx: Discord's JSON error code (10003 unknown channel, 50001 missing access,
    /// 50007 cannot message this user…) and message.
    #[error("Discord refused ({status}, code {code}): {message}")]
    Refused { status: u16, code: u64, message: String },
    /// A 5xx.
    #[error("Discord failed ({status})")]
    Server { status: u16 },
    /// Connecting, sending or reading failed.
    #[error("cannot reach Discord: {0}")]
    Network(String),
    /// An answer relink cannot read.
    #[error("unexpected answer from Discord: {0}")]
    Decode(String),
}

impl RestError {
    /// Whether the chat itself is gone or closed to the bot: deleted channel, missing access,
    /// a user who does not accept messages from the bot.
    pub fn chat_is_gone(&self) -> bool {
        matches!(self, RestError::Refused { status: 403 | 404, .. })
    }
}

/// Discord's error body (`{"code":…, "message":…}`) and a 429's (`retry_after`, `global`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ErrorBody {
    code: u64,
    message: String,
    retry_after: Option<f64>,
    global: bool,
}

/// A bot's REST client.
#[derive(Clone)]
pub struct Rest {
    client: reqwest::Client,
    authorization: SecretString,
    /// The base replacing `https://discord.com` in serenity's routes; `None` for Discord itself.
    proxy: Option<String>,
    limiter: Arc<Limiter>,
}

impl fmt::Debug for Rest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rest").field("proxy", &self.proxy).field("authorization", &"[REDACTED]").finish()
    }
}

impl Rest {
    /// A client for the bot `token` at `api_url` (Discord's is `https://discord.com/api`).
    pub fn new(token: &SecretString, api_url: &url::Url, limiter: Arc<Limiter>) -> Self {
        let base = api_url.as_str().trim_end_matches('/');
        let origin = base.strip_suffix("/api").unwrap_or(base);
        let proxy = (origin != "https://discord.com").then(|| origin.to_owned());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("a reqwest client with rustls");
        let token = token.expose_secret().trim();
        let authorization =
            SecretString::from(if token.starts_with("Bot ") { token.to_owned() } else { format!("Bot {token}") });
        Self { client, authorization, proxy, limiter }
    }

    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// Calls `route` and reads the answer as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: LightMethod,
        route: Route<'_>,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, RestError> {
        let bytes = self.send(method, route, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| RestError::Decode(e.to_string()))
    }

    /// Calls `route` and ignores the answer's body (204s, or bodies relink does not need).
    pub async fn call_ignoring_body(
        &self,
        method: LightMethod,
        route: Route<'_>,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<(), RestError> {
        self.send(method, route, body).await.map(drop)
    }

    async fn send(
        &self,
        method: LightMethod,
        route: Route<'_>,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<bytes::Bytes, RestError> {
        let bucket = route.ratelimiting_bucket();
        // Interaction responses and follow-ups are not bound by the global limit.
        let global = !matches!(
            route,
            Route::InteractionResponse { .. }
                | Route::WebhookOriginalInteractionResponse { .. }
                | Route::WebhookFollowupMessage { .. }
                | Route::WebhookFollowupMessages { .. }
        );
        let body = body.map(serde_json::to_vec).transpose().map_err(|e| RestError::Decode(e.to_string()))?;
        let request = Request::new(route, method)
            .body(body)
            .build(&self.client, self.authorization.expose_secret(), self.proxy.as_deref())
            .map_err(|e| RestError::Network(format!("cannot build the request: {e}")))?;
        let permit = self.limiter.acquire(bucket, global).await;
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                permit.finished(Announced::default(), None);
                return Err(RestError::Network(error.without_url().to_string()));
            }
        };
        let status = response.status().as_u16();
        let announced = Announced::from_headers(response.headers());
        let header_retry = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        // Discord's answers are small: a larger one is refused, never read to its end.
        let bytes = read_body(response, MAX_ANSWER_BYTES).await;
        if status == 429 {
            let error: ErrorBody =
                bytes.as_deref().ok().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
            let retry_after = error
                .retry_after
                .or(header_retry)
                .and_then(relink_core::time::network_wait_secs_f64)
                .unwrap_or(Duration::from_secs(1));
            permit.finished(announced, Some((retry_after, error.global)));
            return Err(RestError::RateLimited { retry_after, global: error.global });
        }
        permit.finished(announced, None);
        let bytes = bytes.map_err(|e| RestError::Network(e.describe()))?;
        match status {
            200..=299 => Ok(bytes),
            500..=599 => Err(RestError::Server { status }),
            _ => {
                let error: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
                Err(RestError::Refused { status, code: error.code, message: error.message })
            }
        }
    }
}
