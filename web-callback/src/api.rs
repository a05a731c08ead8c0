//! The HTTP API for publishing tools, under `/api/v1`, described by `/openapi.json`.
//!
//! Every call carries `Authorization: Bearer rlk_…`, a key of one team (`relink api-key
//! create`); the key sees only its team's channels, and another team's channel is "not found".
//! Bodies are JSON; a malformed body is a 400 and a value that does not parse a 422, both naming
//! the field. Access tokens are handed out only by `POST …/access-token`, with `no-store`.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use relink_core::channels::{self, RegisterError, Verification};
use relink_core::checker::{CheckNow, RefreshNow};
use relink_core::opaque::parse_api_key;
use relink_core::provider::Renewal;
use relink_core::time::parse_instant;
use relink_core::token::TokenSet;
use relink_core::{
    ApiKey, Channel, ChannelId, DisplayName, ExternalAccountId, Health, NewChannel, PostId, Provider, ScheduledPost,
    TeamId,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// The team whose key authenticated the request.
#[derive(Debug)]
pub(crate) struct TeamKey(ApiKey);

impl TeamKey {
    fn team(&self) -> TeamId {
        self.0.team_id
    }
}

impl FromRequestParts<AppState> for TeamKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("send the team's API key as Authorization: Bearer rlk_…"))?;
        let value = header.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
        let (scheme, key) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::unauthorized("use the Bearer scheme: Authorization: Bearer rlk_…"));
        }
        let secret = parse_api_key(key).map_err(|e| ApiError::unauthorized(&e.to_string()))?;
        match app.store().authenticate_api_key(&secret, app.now()).await? {
            Some(key) => Ok(Self(key)),
            None => Err(ApiError::unauthorized("unknown or revoked API key")),
        }
    }
}

/// The numeric id in a path (`/channels/{id}`, `/posts/{id}`): anything else is a JSON 400 that
/// names the `id` field, like every other bad input.
pub(crate) struct Id(i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<i64>::from_request_parts(parts, state).await {
            Ok(Path(id)) if id > 0 => Ok(Id(id)),
            _ => Err(ApiError::invalid(StatusCode::BAD_REQUEST, "id", "the id in the path must be a positive number")),
        }
    }
}

/// A JSON body read with the path of the field at fault in every error.
pub(crate) struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let RawBody(bytes) = RawBody::from_request(request, state).await?;
        parse_body(&bytes).map(Body)
    }
}

/// A body's bytes, with the API's JSON error when they cannot be read (413 past axum's default
/// limit of 2 MB, 400 otherwise), naming the `body` field.
pub(crate) struct RawBody(axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::body::Bytes::from_request(request, state).await.map(RawBody).map_err(|e| {
            let status = e.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "invalid_input" };
            ApiError { field: Some("body".into()), ..ApiError::new(status, code, e.body_text()) }
        })
    }
}

/// Reads a JSON body; the error names the field at fault.
fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        // "missing field `x`" names the field inside the message; elsewhere the path does.
        let field = match message.split('`').nth(1) {
            Some(name) if message.starts_with("missing field") => {
                if path == "." {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                }
            }
            _ if path == "." => "body".to_owned(),
            _ => path,
        };
        ApiError::invalid(StatusCode::BAD_REQUEST, field, message)
    })
}

fn instant(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
}

fn channel_json(channel: &Channel) -> Value {
    json!({
        "id": channel.id.0,
        "name": channel.display_name.as_str(),
        "provider": channel.provider.as_str(),
        "account_id": channel.external_account_id.as_str(),
        "health": channel.health.kind().as_str(),
        "reason": channel.health.reason().map(|r| r.as_str()),
        "token_expires_at": instant(channel.token_expires_at),
        "scopes": channel.scopes.iter().collect::<Vec<_>>(),
        "last_activity_at": instant(channel.last_activity_at),
        "last_checked_at": instant(channel.last_checked_at),
        "next_check_at": instant(Some(channel.next_check_at)),
    })
}

fn post_json(post: &ScheduledPost) -> Value {
    json!({
        "id": post.id.0,
        "channel_id": post.channel_id.0,
        "due_at": instant(Some(post.due_at)),
        "status": post.status.as_str(),
        "ref": post.external_ref,
    })
}

/// A channel of the key's team; another team's channel is "not found" (its existence is not
/// revealed).
async fn own_channel(app: &AppState, key: &TeamKey, id: i64) -> Result<Channel, ApiError> {
    let not_found = || ApiError::not_found(format!("the team has no channel with id {id}"));
    if id <= 0 {
        return Err(not_found());
    }
    match app.store().channel(ChannelId(id)).await {
        Ok(channel) if channel.team_id == key.team() => Ok(channel),
        Ok(_) | Err(relink_core::store::StoreError::NotFound(_)) => Err(not_found()),
        Err(error) => Err(error.into()),
    }
}

/// `GET /api/v1/channels`: the team's channels with their health.
pub(crate) async fn list_channels(State(app): State<AppState>, key: TeamKey) -> Result<Json<Value>, ApiError> {
    let channels = app.store().channels(Some(key.team())).await?;
    Ok(Json(json!({ "channels": channels.iter().map(channel_json).collect::<Vec<_>>() })))
}

/// `GET /api/v1/channels/{id}`.
pub(crate) async fn get_channel(
    State(app): State<AppState>,
    key: TeamKey,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(channel_json(&own_channel(&app, &key, id).await?)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewChannelBody {
    provider: String,
    account_id: String,
    name: String,
    /// The member who authorised relink on the network, by name.
    authorized_by: Option<String>,
    /// The token endpoint's answer: `access_token`, `refresh_token`, `expires_in` or
    /// `expires_at`, `scope`.
    tokens: Value,
}

/// `POST /api/v1/channels`: registers a channel with its tokens, once the network says they are
/// the claimed account's (422 on `account_id` if another's, on `tokens` if rejected; 503 if the
/// network cannot say now).
pub(crate) async fn register_channel(
    State(app): State<AppState>,
    key: TeamKey,
    Body(body): Body<NewChannelBody>,
) -> Result<Response, ApiError> {
    let now = app.now();
    let provider: Provider = body.provider.parse()?;
    let external_account_id = ExternalAccountId::parse(&body.account_id)?;
    let display_name = DisplayName::parse(&body.name)?;
    if !body.tokens.is_object() {
        return Err(ApiError::invalid(StatusCode::BAD_REQUEST, "tokens", "must be an object with access_token"));
    }
    let tokens = TokenSet::parse_input(&body.tokens.to_string(), now)
        .map_err(|e| ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, format!("tokens.{}", e.field), e.message))?;
    let authorized_by = match body.authorized_by.as_deref() {
        Some(name) => Some(app.store().member_by_name(key.team(), name).await.map_err(|e| match e {
            relink_core::store::StoreError::NotFound(message) => {
                ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, "authorized_by", message)
            }
            other => other.into(),
        })?),
        None => None,
    };
    let new = NewChannel {
        team_id: key.team(),
        provider,
        external_account_id,
        display_name,
        authorized_by: authorized_by.map(|m| m.id),
    };
    let registered = channels::register(app.store(), app.providers(), &new, tokens, Verification::Required, now)
        .await
        .map_err(|error| match error {
            RegisterError::OtherAccount { .. } => {
                ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, "account_id", error.to_string())
            }
            RegisterError::Rejected { ref reason, .. } => ApiError {
                reason: Some(reason.as_str().to_owned()),
                ..ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, "tokens", error.to_string())
            },
            RegisterError::Unconfirmed { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", error.to_string())
            }
            RegisterError::Store(error) => error.into(),
        })?;
    Ok((StatusCode::CREATED, Json(channel_json(&registered.channel))).into_response())
}

/// `POST /api/v1/channels/{id}/access-token`: a working access token for publishing. A token
/// that is spent (or within five minutes of it) is renewed first where the network allows it;
/// a channel that needs a person answers 409 with the reason.
pub(crate) async fn access_token(State(app): State<AppState>, key: TeamKey, Id(id): Id) -> Result<Response, ApiError> {
    let channel = own_channel(&app, &key, id).await?;
    let needs_reconnect = |reason: String| ApiError {
        reason: Some(reason),
        ..ApiError::new(
            StatusCode::CONFLICT,
            "needs_reconnect",
            format!("`{}` must be reconnected by an admin before it can publish", channel.display_name),
        )
    };
    if let Health::NeedsReauth(reason) = &channel.health {
        return Err(needs_reconnect(reason.as_str().to_owned()));
    }
    let now = app.now();
    let mut tokens = app.store().tokens(channel.id).await?;
    let margin = chrono::Duration::minutes(5);
    if tokens.expires_at.is_some_and(|at| at <= now + margin) {
        let renewal = app.providers().policy(channel.provider).renewal;
        let still_valid = tokens.expires_at.is_some_and(|at| at > now);
        match app.checker().refresh_now(channel.id, now).await? {
            RefreshNow::Renewed(_) => tokens = app.store().tokens(channel.id).await?,
            // A check of this channel is running (it may be renewing it): a token that has not
            // ended yet is still good; else the client retries in a moment.
            RefreshNow::Busy if still_valid => {}
            RefreshNow::Busy => {
                let mut error =
                    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the token is being renewed; retry shortly")
                        .into_response();
                error.headers_mut().insert("retry-after", "2".parse().expect("a static header"));
                return Ok(error);
            }
            // The network extends it only later: the token it has is still good while it lasts.
            RefreshNow::NotYet(_) if still_valid => {}
            RefreshNow::NotYet(_) => return Err(needs_reconnect("expired".to_owned())),
            RefreshNow::NotRenewable if still_valid => {}
            RefreshNow::NotRenewable => {
                let why = if renewal == Renewal::None { "expired" } else { "no_refresh_token" };
                return Err(needs_reconnect(why.to_owned()));
            }
            RefreshNow::Failed { health: Health::NeedsReauth(reason), .. } => {
                return Err(needs_reconnect(reason.as_str().to_owned()));
            }
            RefreshNow::Failed { .. } if still_valid => {}
            RefreshNow::Failed { detail, .. } => {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "network_unavailable",
                    format!("{} did not renew the token ({detail}); retry later", channel.provider.label()),
                ));
            }
        }
    }
    let body = json!({
        "access_token": tokens.access_token.expose_secret(),
        "token_type": "Bearer",
        "expires_at": instant(tokens.expires_at),
        "scopes": tokens.scopes.iter().collect::<Vec<_>>(),
    });
    let mut response = Json(body).into_response();
    for (name, value) in crate::page::security_headers() {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

/// `POST /api/v1/channels/{id}/check`: a publishing tool's pre-flight. Checks the channel with
/// its network now and answers the live verdict: 200 with the channel, or 409
/// `needs_reconnect` with the reason.
pub(crate) async fn check_channel(State(app): State<AppState>, key: TeamKey, Id(id): Id) -> Result<Response, ApiError> {
    let channel = own_channel(&app, &key, id).await?;
    match app.checker().check_now(channel.id, app.now()).await? {
        CheckNow::Busy => {
            let mut error =
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "the channel is being checked; retry shortly")
                    .into_response();
            error.headers_mut().insert("retry-after", "2".parse().expect("a static header"));
            Ok(error)
        }
        CheckNow::Checked { health: Health::NeedsReauth(reason), .. } => Err(ApiError {
            reason: Some(reason.as_str().to_owned()),
            ..ApiError::new(
                StatusCode::CONFLICT,
                "needs_reconnect",
                format!("`{}` must be reconnected by an admin before it can publish", channel.display_name),
            )
        }),
        CheckNow::Checked { .. } => Ok(Json(channel_json(&app.store().channel(channel.id).await?)).into_response()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActivityBody {
    /// When the post went out (RFC 3339); now when absent.
    at: Option<String>,
}

/// `POST /api/v1/channels/{id}/activity`: a post went out through the tool (Pinterest's
/// inactivity rule counts from it).
pub(crate) async fn record_activity(
    State(app): State<AppState>,
    key: TeamKey,
    Id(id): Id,
    RawBody(bytes): RawBody,
) -> Result<StatusCode, ApiError> {
    let channel = own_channel(&app, &key, id).await?;
    let body: ActivityBody =
        if bytes.iter().all(u8::is_ascii_whitespace) { ActivityBody::default() } else { parse_body(&bytes)? };
    let now = app.now();
    let at = match body.at {
        Some(raw) => parse_instant("at", &raw, now)?,
        None => now,
    };
    app.store().record_activity(channel.id, at).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostBody {
    due_at: String,
    /// The tool's own id of the post: scheduling the same `ref` again moves the post.
    #[serde(rename = "ref")]
    external_ref: Option<String>,
}

/// `GET /api/v1/channels/{id}/posts`: the channel's pending posts.
pub(crate) async fn list_posts(State(app): State<AppState>, key: TeamKey, Id(id): Id) -> Result<Json<Value>, ApiError> {
    let channel = own_channel(&app, &key, id).await?;
    let posts = app.store().posts(key.team(), Some(channel.id), false).await?;
    Ok(Json(json!({ "posts": posts.iter().map(post_json).collect::<Vec<_>>() })))
}

/// `POST /api/v1/channels/{id}/posts`: schedules a post, so alerts can say what is at risk.
pub(crate) async fn schedule_post(
    State(app): State<AppState>,
    key: TeamKey,
    Id(id): Id,
    Body(body): Body<PostBody>,
) -> Result<Response, ApiError> {
    let channel = own_channel(&app, &key, id).await?;
    let now = app.now();
    let due_at = parse_instant("due_at", &body.due_at, now)?;
    if let Some(external) = &body.external_ref
        && (external.is_empty() || external.len() > 200 || external.chars().any(char::is_control))
    {
        return Err(ApiError::invalid(StatusCode::UNPROCESSABLE_ENTITY, "ref", "must be 1–200 printable characters"));
    }
    let post = app.store().schedule_post(channel.id, due_at, body.external_ref.as_deref(), now).await?;
    Ok((StatusCode::CREATED, Json(post_json(&post))).into_response())
}

/// `DELETE /api/v1/posts/{id}`: cancels a scheduled post of the team.
pub(crate) async fn cancel_post(
    State(app): State<AppState>,
    key: TeamKey,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    if id <= 0 {
        return Err(ApiError::not_found(format!("the team has no post with id {id}")));
    }
    let post = app.store().cancel_post(key.team(), PostId(id)).await?;
    Ok(Json(post_json(&post)))
}

#[cfg(test)]
mod tests {
    //! Whatever JSON a publishing tool sends, each body reads or is refused with an error naming
    //! a field, and the values in a body that reads parse or name their field: never a panic.

    use proptest::prelude::*;
    use serde_json::Map;

    use super::*;

    /// The largest number the properties put in `expires_in` and the `+Nd` forms: any, far past
    /// what can be added to now, which must be refused naming the field.
    const LARGEST_NUMBER: i64 = i64::MAX;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-LARGEST_NUMBER..LARGEST_NUMBER).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
            prop::sample::select(vec!["facebook", "x", "pinterest", "now", "+3d", "2026-12-01", "abc"])
                .prop_map(Value::from),
            (0..LARGEST_NUMBER / 86_400).prop_map(|n| Value::from(format!("+{n}d"))),
        ];
        let keys = vec![
            "provider",
            "account_id",
            "name",
            "authorized_by",
            "tokens",
            "access_token",
            "refresh_token",
            "expires_in",
            "expires_at",
            "scope",
            "at",
            "due_at",
            "ref",
            "other",
        ];
        leaf.prop_recursive(3, 32, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(keys.clone()), inner), 0..7)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            3 => json_value().prop_map(|v| v.to_string().into_bytes()),
            3 => prop::collection::vec((prop::sample::select(vec!["provider", "account_id", "name", "tokens", "due_at", "ref", "at"]), json_value()), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>()).to_string().into_bytes()),
            1 => prop::collection::vec(any::<u8>(), 0..128),
        ]
    }

    fn named(error: &ApiError) -> bool {
        error.field.as_deref().is_some_and(|field| !field.is_empty())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_channel_body_reads_or_names_a_field(bytes in body()) {
            let now = chrono::DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
            match parse_body::<NewChannelBody>(&bytes) {
                Ok(body) => {
                    let _ = body.provider.parse::<Provider>();
                    let _ = (ExternalAccountId::parse(&body.account_id), DisplayName::parse(&body.name));
                    if let Err(error) = TokenSet::parse_input(&body.tokens.to_string(), now) {
                        prop_assert!(!error.field.is_empty());
                    }
                }
                Err(error) => prop_assert!(named(&error), "{:?}", error),
            }
        }

        #[test]
        fn a_post_body_reads_or_names_a_field(bytes in body()) {
            let now = chrono::DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
            match parse_body::<PostBody>(&bytes) {
                Ok(body) => {
                    if let Err(error) = parse_instant("due_at", &body.due_at, now) {
                        prop_assert_eq!(error.field, "due_at");
                    }
                }
                Err(error) => prop_assert!(named(&error), "{:?}", error),
            }
        }

        #[test]
        fn an_activity_body_reads_or_names_a_field(bytes in body()) {
            let now = chrono::DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
            match parse_body::<ActivityBody>(&bytes) {
                Ok(ActivityBody { at: Some(raw) }) => {
                    if let Err(error) = parse_instant("at", &raw, now) {
                        prop_assert_eq!(error.field, "at");
                    }
                }
                Ok(_) => {}
                Err(error) => prop_assert!(named(&error), "{:?}", error),
            }
        }
    }
}
