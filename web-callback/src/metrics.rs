//! `/metrics` in Prometheus' text format, and the layer that counts and times every request.
//!
//! Everything goes through the `metrics` facade, so `relink-core` records its own counters
//! (checks by outcome class, renewals, health transitions) without knowing about HTTP, and the
//! alerts work records deliveries and open incidents the same way. The one Prometheus recorder
//! is installed per process by [`install_recorder`]; the channels-by-health gauge is read from the
//! store at each scrape. With `web.metrics_token` set, a scrape must carry it as a bearer token
//! (compared in constant time); `web.metrics_bind` moves `/metrics` to a listener of its own.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Request latency buckets, in seconds: the link page's target is a p99 under 20 ms.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Installs the process's Prometheus recorder (once; later calls return the same handle).
/// `None` when another recorder was installed first, in which case `/metrics` says so.
pub fn install_recorder() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), LATENCY_BUCKETS)
                .expect("the latency buckets are not empty");
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot install the Prometheus recorder: /metrics is off");
                    None
                }
            }
        })
        .clone()
}

/// Names and help texts, and the counters other parts of relink record, at zero, so a scrape
/// shows them before the first event.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!("relink_http_request_duration_seconds", "HTTP request latency by route");
    describe_counter!("relink_http_requests_total", "HTTP requests by route and status class");
    describe_counter!("relink_checks_total", "token checks by outcome class");
    describe_counter!("relink_renewals_total", "tokens renewed (refreshed or extended)");
    describe_counter!("relink_health_transitions_total", "channel health changes written");
    describe_counter!("relink_alerts_delivered_total", "alert messages delivered to a chat");
    describe_counter!("relink_alerts_failed_total", "alert deliveries that failed for good");
    describe_gauge!("relink_incidents_open", "incidents not yet resolved");
    describe_gauge!("relink_channels", "channels by health");
    describe_counter!("relink_reconnects_started_total", "reconnect links used to start an authorization");
    describe_counter!("relink_reconnects_total", "OAuth callbacks by outcome");
    describe_counter!("relink_task_restarts_total", "background tasks restarted after a panic or an early end");
    describe_counter!("relink_check_panics_total", "checks that panicked (their channel is retried after its lease)");
    for name in ["relink_renewals_total", "relink_health_transitions_total", "relink_alerts_delivered_total"] {
        metrics::counter!(name).absolute(0);
    }
    metrics::counter!("relink_alerts_failed_total").absolute(0);
    metrics::gauge!("relink_incidents_open").set(0.0);
    for outcome in ["valid", "needs_reauth", "operator", "transient", "unknown"] {
        metrics::counter!("relink_checks_total", "outcome" => outcome).absolute(0);
    }
}

/// Counts and times a request under its route pattern (never its path: paths carry tokens).
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let class = match response.status().as_u16() {
        100..=399 => "ok",
        400..=499 => "client_error",
        _ => "server_error",
    };
    metrics::histogram!("relink_http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("relink_http_requests_total", "route" => route, "method" => method, "class" => class)
        .increment(1);
    response
}

/// Whether the request carries the configured bearer token, when one is configured.
fn authorised(app: &AppState, headers: &HeaderMap) -> bool {
    use secrecy::ExposeSecret as _;
    use subtle::ConstantTimeEq as _;
    let Some(token) = &app.settings().metrics_token else { return true };
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    bool::from(given.trim().as_bytes().ct_eq(token.expose_secret().as_bytes()))
}

/// `GET /metrics`.
pub(crate) async fn render(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if !authorised(&app, &headers) {
        return (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, "Bearer")], "a metrics token is required\n")
            .into_response();
    }
    let Some(handle) = install_recorder() else {
        return (StatusCode::NOT_FOUND, "metrics are off: another recorder is installed\n").into_response();
    };
    match app.store().health_counts().await {
        Ok(counts) => {
            for (health, count) in counts {
                metrics::gauge!("relink_channels", "health" => health).set(count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot count channels by health"),
    }
    match app.store().open_incident_count().await {
        Ok(open) => metrics::gauge!("relink_incidents_open").set(open as f64),
        Err(error) => tracing::warn!(%error, "metrics: cannot count open incidents"),
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
}
