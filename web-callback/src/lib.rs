//! relink-web: the axum server. Today it answers the operations endpoints; reconnect links, the
//! OAuth callback, the HTTP API and webhooks join it here.
//!
//! - [`router`] builds the `Router` from an [`AppState`] (tests call it directly).
//! - [`serve`] runs it on a listener until a shutdown token fires (tests bind port 0).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use relink_core::store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What every handler may use, registered once.
#[derive(Debug, Clone)]
pub struct AppState {
    store: Store,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// The routes.
pub fn router(state: AppState) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(state)
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then finishes in-flight requests.
pub async fn serve(listener: TcpListener, router: Router, shutdown: CancellationToken) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.db().ping().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "status": "ready", "database": "ok" }))),
        Err(error) => {
            tracing::warn!(%error, "readiness check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}
