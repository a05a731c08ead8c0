//! The HTTP interactions endpoint, `POST /discord/interactions`, for deployments where Discord
//! posts interactions to relink's web server instead of relink holding a gateway connection.
//!
//! Every request is checked before anything else (`verify`): missing or malformed signature
//! headers, or a timestamp outside the freshness window, are answered 401 before the body is
//! read; the body is read up to [`BODY_LIMIT`]; a wrong signature is answered 401 with no body. A
//! verified PING gets a PONG; an interaction id seen before (a replay, or a redelivery another
//! process already answered) gets 409; everything else is answered by `respond::handle`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serenity::builder::CreateInteractionResponse;

use super::incoming::Incoming;
use super::respond::{Handled, handle};
use super::verify::Verifier;
use super::{Services, dispatch};

/// The endpoint's path, under the web server's public URL.
pub const PATH: &str = "/discord/interactions";

/// The most of an interaction relink reads: an interaction carries at most a message and its
/// resolved objects, a few tens of kilobytes.
pub const BODY_LIMIT: usize = 256 * 1024;

#[derive(Clone)]
struct Endpoint {
    services: Arc<Services>,
    verifier: Verifier,
}

/// The endpoint as a router to merge into the web server's.
pub fn router(services: Arc<Services>, verifier: Verifier) -> Router {
    Router::new().route(PATH, post(interaction)).with_state(Endpoint { services, verifier })
}

async fn interaction(State(endpoint): State<Endpoint>, headers: HeaderMap, body: Body) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = endpoint.services.clock.now();
    if let Err(refusal) =
        endpoint.verifier.precheck(header("x-signature-ed25519"), header("x-signature-timestamp"), now)
    {
        tracing::info!(%refusal, "refused a Discord interaction request before reading it");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    // A body announced larger than the limit is refused before any of it is read.
    let announced = headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|length| length > BODY_LIMIT as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    if let Err(refusal) =
        endpoint.verifier.check(header("x-signature-ed25519"), header("x-signature-timestamp"), &body, now)
    {
        tracing::info!(%refusal, "refused a Discord interaction request");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let incoming: Incoming = match serde_json::from_slice(&body) {
        Ok(incoming) => incoming,
        Err(error) => {
            tracing::warn!(%error, "a signed Discord interaction relink cannot read");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    match handle(&endpoint.services, incoming, dispatch::answer).await {
        Handled::Respond { response, responded } => {
            let _ = responded.send(());
            match *response {
                // Exactly `{"type":1}`, as Discord's endpoint check expects.
                CreateInteractionResponse::Pong => axum::Json(serde_json::json!({ "type": 1 })).into_response(),
                response => axum::Json(response).into_response(),
            }
        }
        Handled::Replayed => StatusCode::CONFLICT.into_response(),
        Handled::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
