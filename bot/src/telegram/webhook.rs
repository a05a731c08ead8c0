//! The webhook: Telegram posts each update to `/telegram/webhook` with the secret token header.
//! The header is compared in constant time *before* the body is read (a wrong secret costs the
//! server nothing), the body is read up to [`BODY_LIMIT`], and the update is stored (a replay
//! is dropped by its `update_id`) before the 200 goes back, and handled by the bot's loop.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use secrecy::ExposeSecret as _;

use super::Telegram;

/// Where Telegram posts updates, under `web.public_url`.
pub const WEBHOOK_PATH: &str = "/telegram/webhook";

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The most of an update relink reads. Updates are a few kilobytes (a message holds at most
/// 4,096 characters); 1 MiB is generous.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The webhook route, to merge into the web server's router.
pub fn router(telegram: Arc<Telegram>) -> Router {
    Router::new().route(WEBHOOK_PATH, post(receive)).with_state(telegram)
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn receive(State(telegram): State<Arc<Telegram>>, headers: HeaderMap, body: Body) -> StatusCode {
    let Some(secret) = telegram.settings.webhook_secret.as_ref() else {
        return StatusCode::NOT_FOUND;
    };
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !constant_time_eq(given, secret.expose_secret().as_bytes()) {
        return StatusCode::UNAUTHORIZED;
    }
    // A body announced larger than the limit is refused before any of it is read.
    let announced = headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|length| length > BODY_LIMIT as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return StatusCode::PAYLOAD_TOO_LARGE;
    };
    let Some(update_id) = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("update_id").and_then(serde_json::Value::as_i64))
    else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(text) = std::str::from_utf8(&body) else { return StatusCode::BAD_REQUEST };
    match telegram.store_update(update_id, text).await {
        Ok(_) => StatusCode::OK,
        Err(error) => {
            tracing::warn!(%error, "cannot store a Telegram update; Telegram will send it again");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
