//! The HTTP API's errors: JSON with a stable `code`, a plain `message` and, for bad input, the
//! `field` at fault. The cause is logged here; the answer never carries a secret or a stack.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::WWW_AUTHENTICATE;
use axum::response::{IntoResponse, Response};
use relink_core::ParseError;
use relink_core::store::StoreError;
use serde_json::json;

/// An API error.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub reason: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, reason: None }
    }

    /// Bad input in `field`: 422 for a value that does not parse, 400 for a malformed body.
    pub fn invalid(status: StatusCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::new(status, "invalid_input", message) }
    }

    pub fn unauthorized(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }
}

impl From<ParseError> for ApiError {
    fn from(error: ParseError) -> Self {
        Self::invalid(StatusCode::UNPROCESSABLE_ENTITY, error.field, error.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(message) => Self::not_found(message),
            StoreError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            StoreError::Invalid(error) => error.into(),
            StoreError::Unavailable(message) => {
                tracing::warn!(%message, "API: the database is unavailable");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database is unavailable; try again")
            }
            other => {
                tracing::error!(error = %other, "API: store failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "relink failed to answer; see its logs")
            }
        }
    }
}

/// Gives every 4xx answer under `/api/` that is not already the API's JSON (an unknown path,
/// a method the route does not take, a body axum refused before a handler ran) the API's shape.
pub(crate) async fn json_client_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !api || !status.is_client_error() || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such API path; see /openapi.json"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "this path does not take that method; see /openapi.json")
        }
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "send the body as application/json"),
        _ => ("bad_request", "the request was refused"),
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    if let Some(allow) = response.headers().get(axum::http::header::ALLOW) {
        answer.headers_mut().insert(axum::http::header::ALLOW, allow.clone());
    }
    answer
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": { "code": self.code, "message": self.message } });
        if let Some(field) = self.field {
            body["error"]["field"] = json!(field);
        }
        if let Some(reason) = self.reason {
            body["error"]["reason"] = json!(reason);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, "Bearer realm=\"relink\"".parse().expect("a static header"));
        }
        for (name, value) in crate::page::security_headers() {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
