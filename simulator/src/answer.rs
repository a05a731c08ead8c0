//! The networks' answer shapes (CONTRACT.md, "Error shapes"): what each [`Condition`] of a token
//! and each transient [`Fail`] looks like on the wire, per endpoint [`Family`]. This is the one
//! place to read when an adapter and the simulator disagree about a body.

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use relink_core::Provider;
use serde::Serialize;
use serde_json::json;

use crate::account::Revocation;
use crate::switch::Fail;

/// The endpoints that share an answer shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Graph API reads and `refresh_access_token` (Facebook, Instagram, Threads).
    Graph,
    /// Graph `debug_token`: token problems inside `data`, app problems at the top.
    DebugToken,
    /// LinkedIn `introspectToken`.
    Introspect,
    /// X API v2 (problem JSON).
    X,
    /// Pinterest API v5.
    Pinterest,
    /// Google `tokeninfo`.
    Tokeninfo,
    /// Telegram Bot API.
    Telegram,
    /// An OpenID Connect UserInfo endpoint (RFC 6750 errors in `WWW-Authenticate`).
    UserInfo,
    /// An OAuth token endpoint (RFC 6749 §5.2).
    OAuth,
}

/// Why a token or chat is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    /// Not a token this simulator issued for this provider (or a made-up one).
    Invalid,
    /// The access token ran out (naturally or by `ExpireNow`).
    Expired,
    Revoked(Revocation),
    /// The token belongs to an earlier authorization of the account.
    Superseded,
    /// Pinterest: no publishing activity for the policy's inactivity period.
    Inactive,
    Permission,
    Checkpoint,
    Operator,
    /// Instagram login, Threads: the token is less than 24 hours old and cannot be extended yet.
    TooYoung,
    /// The refresh token's own life is over (LinkedIn: 365 days from the grant; Google: unused
    /// for six months).
    RefreshExpired,
    /// A refresh asked for a scope the grant does not hold.
    ScopeTooWide,
    /// A grant type, parameter or method the endpoint does not take.
    BadRequest(&'static str),
    /// Wrong app credentials at a token endpoint.
    BadClient,
    /// A code or refresh token refused at a token endpoint, with the reason told to the client.
    InvalidGrant(&'static str),
    /// Telegram.
    BotUnauthorized,
    Kicked,
    ChatNotFound,
    Migrated(i64),
}

pub(crate) fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

pub(crate) fn text_response(status: StatusCode, text: impl Into<String>) -> Response {
    let mut response = Response::new(Body::from(text.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn set_header(response: &mut Response, name: &'static str, value: impl ToString) {
    if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
        response.headers_mut().insert(HeaderName::from_static(name), value);
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

/// A Graph trace id: every Graph error carries one.
fn fbtrace_id() -> String {
    use rand::Rng as _;
    rand::rng().sample_iter(rand::distr::Alphanumeric).take(11).map(char::from).collect()
}

fn graph_error(http: u16, code: u32, subcode: Option<u32>, message: &str, transient: bool) -> Response {
    let mut error = json!({ "message": message, "type": "OAuthException", "code": code, "fbtrace_id": fbtrace_id() });
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    if transient {
        error["is_transient"] = json!(true);
    }
    json_response(status(http), &json!({ "error": error }))
}

/// Graph's code, subcode and message for a token condition.
fn graph_code(provider: Provider, condition: Condition, client_id: &str) -> (u32, Option<u32>, String) {
    match condition {
        Condition::Expired => (
            190,
            Some(463),
            "Error validating access token: Session has expired. The current time is later than the expiry time."
                .to_owned(),
        ),
        Condition::Revoked(Revocation::AppRemoved) => (
            190,
            Some(458),
            format!("Error validating access token: The user has not authorized application {client_id}."),
        ),
        Condition::Revoked(Revocation::PasswordChanged) => (
            190,
            Some(460),
            "Error validating access token: The session has been invalidated because the user changed their password \
             or Facebook has changed the session for security reasons."
                .to_owned(),
        ),
        Condition::Revoked(Revocation::RefreshReused) | Condition::Superseded | Condition::Inactive => {
            (190, Some(467), "Error validating access token: The access token is invalid.".to_owned())
        }
        Condition::Permission if matches!(provider, Provider::InstagramLogin | Provider::Threads) => {
            (10, None, "(#10) Application does not have permission for this action".to_owned())
        }
        Condition::Permission => (
            200,
            None,
            "(#200) The user must be an administrator of the Page with the pages_manage_posts permission".to_owned(),
        ),
        Condition::Checkpoint => (
            190,
            Some(459),
            "Error validating access token: You cannot access the app till you log in to www.facebook.com and follow \
             the instructions given."
                .to_owned(),
        ),
        Condition::Operator | Condition::BadClient => {
            (3, None, "(#3) Application does not have the capability to make this API call.".to_owned())
        }
        Condition::TooYoung => (
            190,
            None,
            "Error validating access token: the token is less than 24 hours old and cannot be refreshed yet."
                .to_owned(),
        ),
        Condition::BadRequest(what) => (100, None, format!("(#100) {what}")),
        _ => (190, None, "Invalid OAuth access token - Cannot parse access token".to_owned()),
    }
}

fn oauth_error(http: StatusCode, error: &str, description: &str) -> Response {
    json_response(http, &json!({ "error": error, "error_description": description }))
}

fn telegram_error(code: u16, description: &str) -> Response {
    json_response(status(code), &json!({ "ok": false, "error_code": code, "description": description }))
}

fn x_problem(http: u16, title: &str, kind: &str, detail: &str) -> Response {
    let mut response =
        json_response(status(http), &json!({ "title": title, "type": kind, "status": http, "detail": detail }));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    response
}

/// Whether a condition means "this token is dead" (as opposed to a role, an account or the app).
fn is_dead(condition: Condition) -> bool {
    matches!(
        condition,
        Condition::Invalid
            | Condition::Expired
            | Condition::Revoked(_)
            | Condition::Superseded
            | Condition::Inactive
            | Condition::RefreshExpired
            | Condition::InvalidGrant(_)
    )
}

/// The answer to a refused token, chat or request.
pub(crate) fn refusal(provider: Provider, family: Family, condition: Condition, client_id: &str) -> Response {
    match family {
        Family::Graph => {
            let (code, subcode, message) = graph_code(provider, condition, client_id);
            graph_error(400, code, subcode, &message, false)
        }
        Family::DebugToken => match condition {
            Condition::Operator | Condition::BadClient | Condition::BadRequest(_) => {
                let (code, subcode, message) = graph_code(provider, condition, client_id);
                graph_error(400, code, subcode, &message, false)
            }
            _ => {
                let (code, subcode, message) = graph_code(provider, condition, client_id);
                let mut error = json!({ "code": code, "message": message });
                if let Some(subcode) = subcode {
                    error["subcode"] = json!(subcode);
                }
                json_response(
                    StatusCode::OK,
                    &json!({ "data": {
                        "app_id": client_id, "type": "PAGE", "application": "relink simulator",
                        "is_valid": false, "error": error, "scopes": [],
                    }}),
                )
            }
        },
        Family::Introspect => match condition {
            Condition::Expired => json_response(StatusCode::OK, &json!({ "active": false, "status": "expired" })),
            Condition::Permission => json_response(
                StatusCode::FORBIDDEN,
                &json!({ "serviceErrorCode": 100, "code": "ACCESS_DENIED",
                         "message": "Not enough permissions to access: introspectToken.POST.NO_VERSION", "status": 403 }),
            ),
            Condition::Operator | Condition::BadClient => {
                oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed")
            }
            Condition::BadRequest(what) => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", what),
            _ => json_response(StatusCode::OK, &json!({ "active": false, "status": "revoked" })),
        },
        Family::X => match condition {
            Condition::Permission => x_problem(
                403,
                "Forbidden",
                "https://api.twitter.com/2/problems/not-authorized-for-resource",
                "You are not authorized to access this resource.",
            ),
            Condition::Checkpoint => x_problem(
                403,
                "Forbidden",
                "https://api.twitter.com/2/problems/user-suspended",
                "This user is suspended.",
            ),
            Condition::Operator | Condition::BadClient => {
                let mut response = json_response(
                    StatusCode::FORBIDDEN,
                    &json!({
                        "title": "Client Forbidden", "type": "https://api.twitter.com/2/problems/client-forbidden",
                        "status": 403, "reason": "client-not-enrolled",
                        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and \
                                   tokens from a Twitter developer App that is attached to a Project.",
                        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
                    }),
                );
                response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
                response
            }
            Condition::BadRequest(what) => x_problem(400, "Invalid Request", "about:blank", what),
            _ => x_problem(401, "Unauthorized", "about:blank", "Unauthorized"),
        },
        Family::Pinterest => match condition {
            Condition::Permission => json_response(
                StatusCode::FORBIDDEN,
                &json!({ "code": 3, "message": "Not authorized to access the user account." }),
            ),
            Condition::Operator | Condition::BadClient => json_response(
                StatusCode::FORBIDDEN,
                &json!({ "code": 403, "message": "The access token is missing required scope(s): user_accounts:read" }),
            ),
            Condition::BadRequest(what) => {
                json_response(StatusCode::BAD_REQUEST, &json!({ "code": 1, "message": what }))
            }
            _ => json_response(StatusCode::UNAUTHORIZED, &json!({ "code": 2, "message": "Authentication failed." })),
        },
        Family::Tokeninfo => match condition {
            Condition::Permission => json_response(
                StatusCode::FORBIDDEN,
                &json!({ "error": { "code": 403, "message": "The caller does not have permission",
                                    "status": "PERMISSION_DENIED" } }),
            ),
            Condition::Checkpoint => json_response(
                StatusCode::FORBIDDEN,
                &json!({ "error": { "code": 403, "message": "Unauthorized", "errors": [
                    { "message": "Unauthorized", "domain": "youtube.header", "reason": "youtubeSignupRequired" }
                ] } }),
            ),
            // The closest real answer about the app rather than the token: the API is not enabled
            // for relink's project.
            Condition::Operator | Condition::BadClient => json_response(
                StatusCode::FORBIDDEN,
                &json!({ "error": { "code": 403, "status": "PERMISSION_DENIED",
                    "message": "The API has not been used in this project before or it is disabled.",
                    "errors": [{ "reason": "accessNotConfigured", "domain": "usageLimits" }] } }),
            ),
            _ => json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "invalid_token", "error_description": "Invalid Value" }),
            ),
        },
        Family::Telegram => match condition {
            Condition::Kicked => telegram_error(403, "Forbidden: bot was kicked from the channel chat"),
            Condition::Migrated(to) => json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "ok": false, "error_code": 400,
                         "description": "Bad Request: group chat was upgraded to a supergroup chat",
                         "parameters": { "migrate_to_chat_id": to } }),
            ),
            Condition::BadRequest(what) => telegram_error(400, &format!("Bad Request: {what}")),
            Condition::ChatNotFound | Condition::Invalid => telegram_error(400, "Bad Request: chat not found"),
            _ => telegram_error(401, "Unauthorized"),
        },
        Family::UserInfo => {
            let (status, challenge) = match condition {
                Condition::Permission => (StatusCode::FORBIDDEN, "Bearer error=\"insufficient_scope\""),
                Condition::BadRequest(_) => (StatusCode::BAD_REQUEST, "Bearer error=\"invalid_request\""),
                _ => (StatusCode::UNAUTHORIZED, "Bearer error=\"invalid_token\""),
            };
            let mut response = json_response(status, &json!({ "error": "invalid_token" }));
            response.headers_mut().insert("www-authenticate", HeaderValue::from_static(challenge));
            response
        }
        Family::OAuth => oauth_refusal(provider, condition),
    }
}

fn oauth_refusal(provider: Provider, condition: Condition) -> Response {
    let grant = |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
    match condition {
        Condition::Operator if provider == Provider::Linkedin => oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "The client is not authorized to refresh tokens",
        ),
        Condition::Operator | Condition::BadClient => {
            let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed.");
            response.headers_mut().insert("www-authenticate", HeaderValue::from_static("Basic realm=\"relink-sim\""));
            response
        }
        Condition::Permission | Condition::ScopeTooWide => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The requested scope is invalid, unknown, or exceeds the scope granted.",
        ),
        Condition::BadRequest(what) if what.starts_with("unsupported grant_type") => {
            oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", what)
        }
        Condition::BadRequest(what) => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", what),
        Condition::InvalidGrant(why) => grant(why),
        Condition::Revoked(Revocation::AppRemoved) => grant("Token has been expired or revoked."),
        Condition::Revoked(Revocation::PasswordChanged) => {
            grant("Token has been expired or revoked: the user changed their password.")
        }
        Condition::Revoked(Revocation::RefreshReused) => {
            grant("Value passed for the token was invalid: an already used refresh token was presented.")
        }
        Condition::Expired | Condition::RefreshExpired => grant("Token has been expired or revoked."),
        Condition::Inactive => grant("Token has expired after a period without activity."),
        _ if is_dead(condition) => grant("Value passed for the token was invalid."),
        _ => grant("The provided authorization grant is invalid."),
    }
}

/// The answer to a transient failure. `now_s` dates X's `x-rate-limit-reset`.
pub(crate) fn failure(provider: Provider, family: Family, fail: Fail, now_s: i64) -> Response {
    let (mut response, wait) = match fail {
        Fail::Timeout => (server_error(family, 504), None),
        Fail::ServerError { status } => (server_error(family, status), None),
        Fail::Unavailable { retry_after } => {
            let mut response = server_error(family, 503);
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(retry_after));
            (response, None)
        }
        Fail::RateLimited { retry_after } => (rate_limited(family, retry_after), Some(retry_after)),
    };
    if let Some(wait) = wait {
        if family == Family::Graph || family == Family::DebugToken {
            // Graph says "slow down" with code 4 as HTTP 400 and the usage headers, never 429.
            let minutes = wait.div_ceil(60).max(1);
            set_header(
                &mut response,
                "x-business-use-case-usage",
                json!({ "relink-sim": [{ "type": "pages", "call_count": 100, "total_cputime": 100,
                                         "total_time": 100, "estimated_time_to_regain_access": minutes }] }),
            );
        } else {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(wait));
        }
        if provider == Provider::X {
            set_header(&mut response, "x-rate-limit-limit", 75);
            set_header(&mut response, "x-rate-limit-remaining", 0);
            set_header(&mut response, "x-rate-limit-reset", now_s + i64::from(wait));
        }
    }
    response
}

fn server_error(family: Family, code: u16) -> Response {
    let http = status(code);
    let reason = http.canonical_reason().unwrap_or("Server Error");
    match family {
        Family::Graph | Family::DebugToken => {
            graph_error(code, 2, None, "An unexpected error has occurred. Please retry your request later.", true)
        }
        Family::Introspect => json_response(http, &json!({ "message": reason, "status": code })),
        Family::X => x_problem(code, reason, "about:blank", reason),
        Family::Pinterest => json_response(http, &json!({ "code": code, "message": reason })),
        Family::Tokeninfo => json_response(
            http,
            &json!({ "error": { "code": code, "message": "The service is currently unavailable.", "status": "UNAVAILABLE" } }),
        ),
        Family::Telegram => telegram_error(code, reason),
        Family::UserInfo => json_response(http, &json!({ "error": "server_error" })),
        Family::OAuth if code == 503 => {
            oauth_error(http, "temporarily_unavailable", "The service is temporarily unavailable. Try again later.")
        }
        Family::OAuth => oauth_error(http, "server_error", reason),
    }
}

fn rate_limited(family: Family, wait: u32) -> Response {
    let too_many = StatusCode::TOO_MANY_REQUESTS;
    match family {
        Family::Graph | Family::DebugToken => graph_error(400, 4, None, "(#4) Application request limit reached", true),
        Family::Introspect => json_response(
            too_many,
            &json!({ "message": "Resource level throttle limit for calls to this resource is reached.", "status": 429 }),
        ),
        Family::X => x_problem(429, "Too Many Requests", "about:blank", "Too Many Requests"),
        Family::Pinterest => json_response(too_many, &json!({ "code": 8, "message": "Rate limit exceeded" })),
        Family::Tokeninfo => json_response(
            too_many,
            &json!({ "error": { "code": 429, "status": "RESOURCE_EXHAUSTED",
                                "message": "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'." } }),
        ),
        Family::Telegram => json_response(
            too_many,
            &json!({ "ok": false, "error_code": 429, "description": format!("Too Many Requests: retry after {wait}"),
                     "parameters": { "retry_after": wait } }),
        ),
        Family::UserInfo => json_response(too_many, &json!({ "error": "rate_limited" })),
        Family::OAuth => oauth_error(too_many, "temporarily_unavailable", "Too many requests. Try again later."),
    }
}

/// Facebook's usage header, on every Graph answer.
pub(crate) fn add_app_usage(response: &mut Response, percent: u8) {
    set_header(
        response,
        "x-app-usage",
        format_args!("{{\"call_count\":{percent},\"total_time\":{percent},\"total_cputime\":{percent}}}"),
    );
}
