//! Meta's two callbacks, registered in the app dashboard, and the status page one of them needs.
//!
//! - `POST /hooks/facebook/deauthorize` (Facebook Login → Settings → Deauthorize callback URL):
//!   a person removed relink's app. The channels they granted (Facebook Pages and Instagram via
//!   Facebook) are checked at once through [`signals::receive`]; the check decides, so a signal
//!   that is somehow false costs a probe, never a channel.
//! - `POST /hooks/facebook/data-deletion` (App settings → Basic → Data deletion request URL): a
//!   person asked relink to delete the data it holds from Facebook about them. Their channels'
//!   tokens are deleted at once (each channel then needs a reconnect, and its team is told), and
//!   the answer is what Meta requires: `{"url": <status page>, "confirmation_code": <code>}`.
//! - `GET /hooks/facebook/deletion/{code}`: that status page, in the browser's language. It says
//!   when the request came and how many connections' tokens were deleted, and names nobody.
//!
//! Both callbacks carry a `signed_request` ([`signed_request`]), verified against every
//! configured Meta app secret (Facebook's, and Instagram-via-Facebook's when it is another app)
//! before anything is read; a bad one, or one seen before, is a 401 that changes nothing.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use relink_core::Provider;
use relink_core::opaque::OpaqueToken;
use relink_core::signals::{self, Source, Subject};
use secrecy::ExposeSecret as _;
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;
use crate::page::{Page, Tone, escape, fill};
use crate::reconnect;
use crate::signed_request::{self, Refusal};
use crate::text::{negotiate, text};

/// The most of a callback's body relink reads: one form field of a few hundred bytes.
const BODY_LIMIT: usize = 8 * 1024;

/// The networks whose app secrets may sign Meta's callbacks: both use relink's Meta app unless
/// Instagram via Facebook is configured with an app of its own.
const META_APPS: [Provider; 2] = [Provider::Facebook, Provider::InstagramBusiness];

/// A confirmation code: 256 random bits in lowercase hex (Meta asks for an alphanumeric code).
fn new_code() -> String {
    hex::encode(OpaqueToken::generate().hash())
}

fn is_code(raw: &str) -> bool {
    raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A refused callback: 401 with a short JSON error, logged without the request.
fn refused(source: Source, refusal: Refusal) -> Response {
    tracing::warn!(source = source.as_str(), reason = refusal.message(), "Meta callback refused");
    metrics::counter!("relink_signals_refused_total", "source" => source.as_str()).increment(1);
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signed_request", refusal.message()).into_response();
    // A callback is not a bearer-authenticated API call.
    response.headers_mut().remove(axum::http::header::WWW_AUTHENTICATE);
    response
}

fn replayed(source: Source) -> Response {
    tracing::warn!(source = source.as_str(), "Meta callback refused: seen before");
    metrics::counter!("relink_signals_refused_total", "source" => source.as_str()).increment(1);
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "replayed", "this signed_request was received before").into_response();
    response.headers_mut().remove(axum::http::header::WWW_AUTHENTICATE);
    response
}

/// Reads the form body's `signed_request`, verifies it and records its receipt: the person it
/// is about and the receipt, or the answer that refuses it.
async fn verified(app: &AppState, source: Source, body: Body) -> Result<(Subject, String), Response> {
    let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the body is too large").into_response()
    })?;
    let mut fields = url::form_urlencoded::parse(&bytes).filter(|(name, _)| name == "signed_request");
    let (Some((_, signed)), None) = (fields.next(), fields.next()) else {
        return Err(refused(source, Refusal::Malformed));
    };
    let secrets: Vec<&[u8]> = META_APPS
        .iter()
        .map(|provider| app.providers().config(*provider).client_secret.expose_secret().as_bytes())
        .collect();
    let now = app.now();
    let read = signed_request::verify(&signed, &secrets, now).map_err(|refusal| refused(source, refusal))?;
    let receipt = signed_request::receipt(&signed);
    match app.store().record_receipt(source, &receipt, now).await {
        Ok(true) => Ok((Subject::FacebookUser(read.user_id), receipt)),
        Ok(false) => Err(replayed(source)),
        Err(error) => Err(ApiError::from(error).into_response()),
    }
}

/// The answer to a verified callback whose work failed on the store: its receipt is forgotten
/// (best effort) so Meta's retry is not refused as a replay.
async fn failed(app: &AppState, source: Source, receipt: &str, error: relink_core::store::StoreError) -> Response {
    if let Err(forget) = app.store().forget_receipt(source, receipt).await {
        tracing::warn!(error = %forget, "cannot forget the receipt of a Meta callback that failed");
    }
    ApiError::from(error).into_response()
}

/// `POST /hooks/facebook/deauthorize`.
pub(crate) async fn deauthorize(State(app): State<AppState>, body: Body) -> Response {
    let source = Source::FacebookDeauthorize;
    let (subject, receipt) = match verified(&app, source, body).await {
        Ok(verified) => verified,
        Err(answer) => return answer,
    };
    match signals::receive(app.store(), &app.wake(), source, &subject, app.now()).await {
        Ok(channels) => (StatusCode::OK, axum::Json(json!({ "channels_to_check": channels }))).into_response(),
        Err(error) => failed(&app, source, &receipt, error).await,
    }
}

/// `POST /hooks/facebook/data-deletion`.
pub(crate) async fn data_deletion(State(app): State<AppState>, body: Body) -> Response {
    let source = Source::FacebookDataDeletion;
    let (subject, receipt) = match verified(&app, source, body).await {
        Ok(verified) => verified,
        Err(answer) => return answer,
    };
    let code = new_code();
    match app.store().delete_grants_of(&subject, &code, app.now()).await {
        Ok(channels) => {
            tracing::info!(channels, "Meta data deletion request: tokens deleted");
            let url = app.settings().under(&["hooks", "facebook", "deletion", &code]);
            (StatusCode::OK, axum::Json(json!({ "url": url.as_str(), "confirmation_code": code }))).into_response()
        }
        Err(error) => failed(&app, source, &receipt, error).await,
    }
}

/// `GET /hooks/facebook/deletion/{code}`: the status page Meta links the person to.
pub(crate) async fn deletion_status(State(app): State<AppState>, Path(code): Path<String>, headers: HeaderMap) -> Page {
    if !is_code(&code) {
        return reconnect::not_found(State(app), headers).await;
    }
    let found = match app.store().data_deletion(&code).await {
        Ok(Some(found)) => found,
        Ok(None) => return reconnect::not_found(State(app), headers).await,
        Err(error) => return reconnect::unavailable(&app, &headers, &error),
    };
    let language = negotiate(headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let words = &text(language).deletion;
    let date = found.requested_at.format("%Y-%m-%d %H:%M UTC").to_string();
    let count = found.channels.to_string();
    let values = [("date", date.as_str()), ("count", count.as_str())];
    let status = if found.completed_at.is_some() { words.done } else { words.pending };
    let body = format!(
        "<p>{}</p>\n<p>{}</p>\n<dl><dt>{}</dt><dd>{}</dd></dl>",
        fill(words.received, &values),
        fill(words.deleted, &values),
        escape(words.label_status),
        escape(status),
    );
    Page {
        status: StatusCode::OK,
        lang: text(language).lang,
        title: escape(words.title),
        body,
        tone: if found.completed_at.is_some() { Tone::Ok } else { Tone::Neutral },
        form_target: None,
        stylesheet: reconnect::stylesheet(&app),
        extra_headers: HeaderMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmation_codes_are_fresh_alphanumeric_and_256_bits() {
        let (a, b) = (new_code(), new_code());
        assert_ne!(a, b);
        assert!(is_code(&a) && is_code(&b));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(!is_code("../etc") && !is_code(&"A".repeat(64)) && !is_code(&a[..63]));
    }
}
