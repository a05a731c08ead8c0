//! relink-web: the axum server people and publishing tools reach relink through.
//!
//! - [`router`] builds the `Router` from an [`AppState`] (tests call it directly);
//!   [`serve`] runs it on a listener until a shutdown token fires (tests bind port 0), within
//!   [`ServerLimits`]: header, body and request timeouts and a cap on connections.
//! - `reconnect`: the reconnect link pages (`/r/{token}`), the OAuth authorization request, the
//!   callback (`/oauth/callback/{provider}`) and the outcome page at a clean URL.
//! - `session` and `team`: the team page (`/team`): sign-in links, the session cookie, the rows
//!   of the team's channels with red/amber/green states, and the buttons of owners and admins.
//! - `api`: the HTTP API for publishing tools under `/api/v1`, behind per-team bearer keys;
//!   `openapi` is its OpenAPI document at `/openapi.json`.
//! - `metrics`: `/metrics` in Prometheus' text format and the layer that times every request.
//! - `page` and `text`: server-rendered, localized HTML with strict security headers.
//! - `error`: the API's JSON errors.
//! - `guard`: the reconnect button's (and the team page's) defence against posts from other sites.
//! - `facebook` and `signed_request`: Meta's deauthorize and data deletion callbacks under
//!   `/hooks/facebook/`, verified with the app secret, and the data deletion status page.
//! - `risc`: Google's Cross-Account Protection receiver (`/hooks/google/risc`): verified
//!   Security Event Tokens make a Google account's channels due now.
//!
//! **Invariant:** no page, answer or log line carries a secret: link tokens, `state`, codes,
//! PKCE verifiers, cookies, API keys and provider tokens are hashed, sealed, or handed only to
//! the party they belong to.

mod api;
mod error;
mod facebook;
mod guard;
mod metrics;
mod openapi;
mod page;
mod reconnect;
mod risc;
mod session;
mod signed_request;
mod team;
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
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use crate::metrics::install_recorder;
pub use crate::risc::{GOOGLE_ISSUER, GOOGLE_JWKS_URL, RiscSettings};

/// How long an OAuth authorization request waits for its callback.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// The web server's settings (`[web]` in the configuration).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Where links point and how long they live. Links, OAuth redirect URIs and the stylesheet
    /// are built from `links.public_url`, never from the request's `Host` header.
    pub links: LinkSettings,
    /// When set, `/metrics` answers only `Authorization: Bearer <token>` (401 otherwise).
    pub metrics_token: Option<SecretString>,
    /// Whether `/metrics` is on this router; `false` when it has a listener of its own
    /// ([`metrics_router`], `web.metrics_bind`).
    pub metrics_on_main: bool,
    /// Google's Cross-Account Protection receiver: where the keys are and whose they are.
    pub risc: RiscSettings,
}

impl WebSettings {
    pub fn new(public_url: Url, link_ttl: Duration) -> Self {
        Self {
            links: LinkSettings { public_url, ttl: link_ttl },
            metrics_token: None,
            metrics_on_main: true,
            risc: RiscSettings::default(),
        }
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
    /// Google's published keys, cached for the RISC receiver.
    risc_keys: Arc<risc::Keys>,
}

impl AppState {
    /// The state over a store, the checker whose `refresh_now` the API uses (and whose
    /// providers the OAuth flow uses), the settings and a clock.
    pub fn new(store: Store, checker: Arc<Checker>, settings: WebSettings, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                checker,
                settings,
                clock,
                tasks: TaskHealth::new(),
                risc_keys: Arc::new(risc::Keys::new()),
            }),
        }
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
                risc_keys: inner.risc_keys.clone(),
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

    /// What makes this process's checker look for due work now (push signals ring it).
    fn wake(&self) -> relink_core::signals::Wake {
        self.inner.checker.wake_handle()
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
    let mut router = Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz));
    if state.settings().metrics_on_main {
        router = router.route("/metrics", get(metrics::render));
    }
    router
        .route("/assets/relink.css", get(stylesheet))
        .route("/r/{token}", get(reconnect::show_link).post(reconnect::start))
        .route("/oauth/callback/{provider}", get(reconnect::callback))
        .route("/oauth/result/{result}", get(reconnect::result))
        .route("/team", get(team::show))
        .route("/team/sign-in/{token}", get(session::show_signin).post(session::sign_in))
        .route("/team/sign-out", post(session::sign_out))
        .route("/team/channels/{id}/{action}", post(team::press))
        .route("/openapi.json", get(openapi::document))
        .route("/api/v1/channels", get(api::list_channels).post(api::register_channel))
        .route("/api/v1/channels/{id}", get(api::get_channel))
        .route("/api/v1/channels/{id}/access-token", post(api::access_token))
        .route("/api/v1/channels/{id}/check", post(api::check_channel))
        .route("/api/v1/channels/{id}/activity", post(api::record_activity))
        .route("/api/v1/channels/{id}/posts", get(api::list_posts).post(api::schedule_post))
        .route("/api/v1/posts/{id}", delete(api::cancel_post))
        .route("/hooks/facebook/deauthorize", post(facebook::deauthorize))
        .route("/hooks/facebook/data-deletion", post(facebook::data_deletion))
        .route("/hooks/facebook/deletion/{code}", get(facebook::deletion_status))
        .route(
            "/hooks/google/risc",
            post(risc::receive).layer(axum::extract::DefaultBodyLimit::max(risc::MAX_SET_BYTES)),
        )
        .route_layer(axum::middleware::from_fn(metrics::track))
        .fallback(reconnect::not_found)
        .layer(axum::middleware::from_fn(error::json_client_errors))
        .with_state(state)
}

/// `/metrics` (and `/healthz`) alone, for a listener of its own that only operations can reach
/// (`web.metrics_bind`).
pub fn metrics_router(state: AppState) -> Router {
    install_recorder();
    Router::new().route("/metrics", get(metrics::render)).route("/healthz", get(healthz)).with_state(state)
}

/// How the web server protects itself from slow and greedy clients (`web.*` in the
/// configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// A connection must send a request's whole head within this time, and a kept-alive
    /// connection its next request's head; otherwise it is closed. Also the longest pause
    /// allowed between two pieces of a request body.
    pub header_timeout: Duration,
    /// A request must be answered within this time, its body included; a slower one gets 503.
    pub request_timeout: Duration,
    /// At most this many connections are served at once; more wait in the listen queue.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1_024,
        }
    }
}

/// Serves `router` on `listener` with the default [`ServerLimits`] until `shutdown` is
/// cancelled, then finishes in-flight requests.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) -> std::io::Result<()> {
    serve_with(listener, router, ServerLimits::default(), shutdown).await
}

/// How long the server waits after a failed `accept` (no file descriptor left, say) before it
/// tries again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` within `limits` until `shutdown` is cancelled; then stops
/// accepting, lets in-flight requests finish (each within `request_timeout`) and closes idle
/// connections.
///
/// `axum::serve` has no header timeout or connection cap, so relink runs hyper's HTTP/1
/// connections itself: a semaphore permit per connection, hyper's header read timeout, and
/// tower-http's request and body timeouts around the router.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower_http::timeout::{RequestBodyTimeout, Timeout};

    let service = Timeout::with_status_code(
        RequestBodyTimeout::new(router, limits.header_timeout),
        StatusCode::SERVICE_UNAVAILABLE,
        limits.request_timeout,
    );
    let service = hyper_util::service::TowerToHyperService::new(service);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: the next accept may work once
                    // connections close, so wait a moment rather than spin on the error.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::select! {
                        () = tokio::time::sleep(ACCEPT_RETRY) => continue,
                        () = shutdown.cancelled() => break,
                    }
                }
            },
            () = shutdown.cancelled() => break,
        };
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service.clone()));
        tokio::spawn(async move {
            // Timeouts and clients that hang up end here; none of it is the server's problem.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers and no supervised background task (checker, alerts, chat
/// front-ends, the store's press queue) is down; 503 names what is not.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = match state.store().db().ping().await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(%error, "readiness check: database unavailable");
            false
        }
    };
    // The application's tasks and the store's own (the press queue on SQLite).
    let mut down = state.inner.tasks.down();
    down.extend(state.store().db().tasks().down());
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
