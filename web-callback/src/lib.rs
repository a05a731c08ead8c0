//! relink-web: the axum server people and publishing tools reach relink through.
//!
//! - [`router`] builds the `Router` from an [`AppState`] (tests call it directly);
//!   [`serve`] runs it on a listener until a shutdown token fires (tests bind port 0).
//! - `reconnect`: the reconnect link pages (`/r/{token}`), the OAuth authorization request, the
//!   callback (`/oauth/callback/{provider}`) and the outcome page at a clean URL.
//! - `api`: the HTTP API for publishing tools under `/api/v1`, behind per-team bearer keys;
//!   `openapi` is its OpenAPI document at `/openapi.json`.
//! - `metrics`: `/metrics` in Prometheus' text format and the layer that times every request.
//! - `page` and `text`: server-rendered, localized HTML with strict security headers.
//! - `error`: the API's JSON errors.
//!
//! **Invariant:** no page, answer or log line carries a secret: link tokens, `state`, codes,
//! PKCE verifiers, cookies, API keys and provider tokens are hashed, sealed, or handed only to
//! the party they belong to.

mod api;
mod error;
mod metrics;
mod openapi;
mod page;
mod reconnect;
mod text;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use relink_core::checker::Checker;
use relink_core::clock::Clock;
use relink_core::provider::Providers;
use relink_core::reconnect::LinkSettings;
use relink_core::store::Store;
use relink_core::supervise::Health as TaskHealth;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use crate::metrics::install_recorder;

/// How long an OAuth authorization request waits for its callback.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// The web server's settings (`[web]` in the configuration).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Where links point and how long they live. Links, OAuth redirect URIs and the stylesheet
    /// are built from `links.public_url`, never from the request's `Host` header.
    pub links: LinkSettings,
}

impl WebSettings {
    pub fn new(public_url: Url, link_ttl: Duration) -> Self {
        Self { links: LinkSettings { public_url, ttl: link_ttl } }
    }

    /// The OAuth redirect URI of a network: `{public_url}/oauth/callback/{provider}`.
    pub fn redirect_uri(&self, provider: relink_core::Provider) -> Url {
        self.under(&["oauth", "callback", provider.as_str()])
    }

    /// A path under the public URL.
    fn under(&self, segments: &[&str]) -> Url {
        let mut url = self.links.public_url.clone();
        url.set_query(None);
        url.path_segments_mut().expect("an http(s) URL has a path").pop_if_empty().extend(segments);
        url
    }

    /// Browsers accept `Secure` (and so `__Host-`) cookies from https origins and from loopback
    /// (`localhost`, `127.0.0.1`, `[::1]`), which they treat as secure contexts.
    fn secure_cookies(&self) -> bool {
        let url = &self.links.public_url;
        url.scheme() == "https"
            || match url.host() {
                Some(url::Host::Domain(domain)) => domain == "localhost" || domain.ends_with(".localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            }
    }
}

/// What every handler may use, registered once.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    checker: Arc<Checker>,
    settings: WebSettings,
    clock: Arc<dyn Clock>,
    tasks: Arc<TaskHealth>,
}

impl AppState {
    /// The state over a store, the checker whose `refresh_now` the API uses (and whose
    /// providers the OAuth flow uses), the settings and a clock.
    pub fn new(store: Store, checker: Arc<Checker>, settings: WebSettings, clock: Arc<dyn Clock>) -> Self {
        Self { inner: Arc::new(Inner { store, checker, settings, clock, tasks: TaskHealth::new() }) }
    }

    /// The same state, with `/readyz` reporting the supervised background tasks of `tasks`.
    pub fn with_tasks(self, tasks: Arc<TaskHealth>) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                store: inner.store.clone(),
                checker: inner.checker.clone(),
                settings: inner.settings.clone(),
                clock: inner.clock.clone(),
                tasks,
            }),
        }
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    fn providers(&self) -> &Providers {
        self.inner.checker.providers()
    }

    fn checker(&self) -> &Checker {
        &self.inner.checker
    }

    fn settings(&self) -> &WebSettings {
        &self.inner.settings
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock.now()
    }
}

/// The routes. Installs the process's metrics recorder if nothing did yet.
pub fn router(state: AppState) -> Router {
    install_recorder();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .route("/assets/relink.css", get(stylesheet))
        .route("/r/{token}", get(reconnect::show_link).post(reconnect::start))
        .route("/oauth/callback/{provider}", get(reconnect::callback))
        .route("/oauth/result/{result}", get(reconnect::result))
        .route("/openapi.json", get(openapi::document))
        .route("/api/v1/channels", get(api::list_channels).post(api::register_channel))
        .route("/api/v1/channels/{id}", get(api::get_channel))
        .route("/api/v1/channels/{id}/access-token", post(api::access_token))
        .route("/api/v1/channels/{id}/check", post(api::check_channel))
        .route("/api/v1/channels/{id}/activity", post(api::record_activity))
        .route("/api/v1/channels/{id}/posts", get(api::list_posts).post(api::schedule_post))
        .route("/api/v1/posts/{id}", delete(api::cancel_post))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .fallback(reconnect::not_found)
        .layer(axum::middleware::from_fn(error::json_client_errors))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then finishes in-flight requests.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers and no supervised background task (checker, alerts, chat
/// front-ends) is down; 503 names what is not.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = match state.store().db().ping().await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "readiness check: database unavailable");
            false
        }
    };
    let down = state.inner.tasks.down();
    let ready = database && down.is_empty();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": if database { "ok" } else { "unreachable" },
        "tasks_down": down,
    });
    (status, Json(body))
}

/// The pages' one stylesheet, compiled in.
async fn stylesheet() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        include_str!("../assets/relink.css"),
    )
}
