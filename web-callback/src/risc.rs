//! Google's Cross-Account Protection (RISC) receiver: `POST /hooks/google/risc`.
//!
//! The body is a Security Event Token (RFC 8417): a JWT signed RS256 with one of the keys Google
//! publishes at `risc.jwks_url`. It is believed only when the signature verifies against a
//! published key (by `kid`), `iss` is `risc.issuer`, `aud` is one of relink's Google client ids
//! (YouTube, Business Profile), `iat` is at most a day old and at most five minutes ahead, and its
//! `jti` was never received before. Google's SETs carry no `exp`, so none is required.
//!
//! Anything else is refused with 401 and an RFC 8935 error (`{"err": …, "description": …}`) and
//! changes nothing. When the key set cannot be fetched the answer is 503, so Google delivers the
//! event again later (RFC 8935 lets a transmitter retry) and nothing is lost.
//!
//! A verified event about a Google account (`iss-sub` subject) makes that account's YouTube and
//! Business Profile channels due now ([`relink_core::signals::receive`]): the normal check
//! decides, so even a true event disconnects nothing by itself. Keys are cached and fetched again
//! only when a `kid` is unknown, at most once per `risc.refetch_after`.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use relink_core::Provider;
use relink_core::provider::{BodyError, read_body};
use relink_core::signals::{self, Source, Subject};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::AppState;

/// Google's published keys for Security Event Tokens (the `jwks_uri` of
/// `https://accounts.google.com/.well-known/risc-configuration`).
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
/// The issuer of Google's Security Event Tokens.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com/";

/// Where event type URIs start.
const RISC_EVENT: &str = "https://schemas.openid.net/secevent/risc/event-type/";
const OAUTH_EVENT: &str = "https://schemas.openid.net/secevent/oauth/event-type/";

/// The oldest `iat` accepted, and how far ahead of relink's clock one may be.
const MAX_AGE: chrono::Duration = chrono::Duration::days(1);
const MAX_AHEAD: chrono::Duration = chrono::Duration::minutes(5);
/// The largest SET read (Google's are well under 2 KiB) and the largest key set.
pub(crate) const MAX_SET_BYTES: usize = 16 * 1024;
const MAX_JWKS_BYTES: usize = 64 * 1024;
/// How long fetching the key set may take.
const JWKS_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest `jti` and `sub` believed (both are short ids at Google).
const MAX_ID_CHARS: usize = 256;

/// The receiver's settings (`providers.google_risc.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiscSettings {
    /// Where Google's keys are published.
    pub jwks_url: Url,
    /// The `iss` every SET (and every `iss-sub` subject) must carry.
    pub issuer: String,
    /// An unknown `kid` fetches the key set again at most this often.
    pub refetch_after: Duration,
}

impl Default for RiscSettings {
    fn default() -> Self {
        Self {
            jwks_url: Url::parse(GOOGLE_JWKS_URL).expect("a valid URL"),
            issuer: GOOGLE_ISSUER.to_owned(),
            refetch_after: Duration::from_secs(60),
        }
    }
}

/// The cached key set, shared by every request of the process.
#[derive(Debug)]
pub(crate) struct Keys {
    http: Option<reqwest::Client>,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    by_kid: HashMap<String, DecodingKey>,
    /// When the key set was last asked for, and whether that failed.
    attempted_at: Option<Instant>,
    failed: bool,
}

impl Keys {
    pub(crate) fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(JWKS_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|error| tracing::error!(%error, "RISC: cannot build the key set's HTTP client"))
            .ok();
        Self { http, cache: Mutex::new(Cache::default()) }
    }

    /// The published key `kid`, fetching the key set when the cache lacks it and the last
    /// attempt is older than `refetch_after`.
    async fn key(&self, kid: &str, settings: &RiscSettings) -> Result<DecodingKey, Refusal> {
        let mut cache = self.cache.lock().await;
        if let Some(key) = cache.by_kid.get(kid) {
            return Ok(key.clone());
        }
        let recent = cache.attempted_at.is_some_and(|at| at.elapsed() < settings.refetch_after);
        if recent {
            return Err(if cache.failed { Refusal::KeysUnavailable } else { Refusal::UnknownKey });
        }
        cache.attempted_at = Some(Instant::now());
        match self.fetch(&settings.jwks_url).await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "RISC: fetched Google's key set");
                cache.by_kid = keys;
                cache.failed = false;
                cache.by_kid.get(kid).cloned().ok_or(Refusal::UnknownKey)
            }
            Err(error) => {
                tracing::warn!(%error, url = %settings.jwks_url, "RISC: cannot fetch Google's key set");
                cache.failed = true;
                Err(Refusal::KeysUnavailable)
            }
        }
    }

    /// The RSA keys of the key set at `url`, by `kid`; keys of other types are skipped.
    async fn fetch(&self, url: &Url) -> Result<HashMap<String, DecodingKey>, String> {
        let http = self.http.as_ref().ok_or("no HTTP client")?;
        let response = http.get(url.clone()).send().await.map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let body = read_body(response, MAX_JWKS_BYTES).await.map_err(BodyError::describe)?;
        parse_jwks(&body)
    }
}

#[derive(Debug, Deserialize)]
struct Jwks {
    keys: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct RsaJwk {
    kty: String,
    kid: String,
    n: String,
    e: String,
}

fn parse_jwks(body: &[u8]) -> Result<HashMap<String, DecodingKey>, String> {
    let set: Jwks = serde_json::from_slice(body).map_err(|e| format!("not a key set: {e}"))?;
    let mut keys = HashMap::new();
    for key in set.keys {
        let Ok(key) = serde_json::from_value::<RsaJwk>(key) else { continue };
        if key.kty != "RSA" {
            continue;
        }
        match DecodingKey::from_rsa_components(&key.n, &key.e) {
            Ok(decoding) => {
                keys.insert(key.kid, decoding);
            }
            Err(error) => tracing::warn!(kid = key.kid, %error, "RISC: a published key does not parse"),
        }
    }
    Ok(keys)
}

/// Why a SET was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    Malformed(&'static str),
    UnknownKey,
    BadSignature,
    WrongIssuer,
    WrongAudience,
    Stale,
    Ahead,
    Replayed,
    /// The key set could not be fetched: 503, deliver again later.
    KeysUnavailable,
    /// The database failed: 503, deliver again later.
    Unavailable,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, err, description) = match self {
            Refusal::Malformed(what) => (StatusCode::UNAUTHORIZED, "invalid_request", what),
            Refusal::UnknownKey => {
                (StatusCode::UNAUTHORIZED, "invalid_key", "the key id is not one of the issuer's keys")
            }
            Refusal::BadSignature => (StatusCode::UNAUTHORIZED, "invalid_key", "the signature does not verify"),
            Refusal::WrongIssuer => (StatusCode::UNAUTHORIZED, "invalid_issuer", "the issuer is not the expected one"),
            Refusal::WrongAudience => (StatusCode::UNAUTHORIZED, "invalid_audience", "the audience is not this app"),
            Refusal::Stale => (StatusCode::UNAUTHORIZED, "invalid_request", "the token was issued more than a day ago"),
            Refusal::Ahead => (StatusCode::UNAUTHORIZED, "invalid_request", "the token is issued in the future"),
            Refusal::Replayed => (StatusCode::UNAUTHORIZED, "invalid_request", "this token was received before"),
            Refusal::KeysUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "the issuer's keys cannot be fetched now")
            }
            Refusal::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "try again later"),
        };
        let mut response = (status, axum::Json(json!({ "err": err, "description": description }))).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
        }
        response
    }
}

/// The claims relink reads; `iss` and `aud` are checked by the JWT library.
#[derive(Debug, Deserialize)]
struct Claims {
    iat: i64,
    jti: String,
    events: Map<String, Value>,
}

/// What one verified event asks of relink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Check the Google account's channels now (`event` is the type's name, for logs).
    Check { event: String, sub: String },
    /// One refresh token was revoked, named by a hash relink cannot match without opening every
    /// Google token: logged; the channel's next check finds it.
    TokenHash,
    /// A verification event: logged with its `state`.
    Verification { state: String },
    /// An event relink does not act on (account-enabled, an unknown type, a subject that is not
    /// a Google account of this issuer).
    Ignored { event: String },
}

/// A SET that passed every check but the replay check.
#[derive(Debug)]
pub(crate) struct Verified {
    pub jti: String,
    pub actions: Vec<Action>,
}

/// Verifies a compact SET against `key`, `settings` and `audiences` at `now`.
pub(crate) fn verify(
    token: &str,
    key: &DecodingKey,
    settings: &RiscSettings,
    audiences: &[String],
    now: DateTime<Utc>,
) -> Result<Verified, Refusal> {
    if audiences.is_empty() {
        return Err(Refusal::WrongAudience);
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[settings.issuer.as_str()]);
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidSignature => Refusal::BadSignature,
            ErrorKind::InvalidIssuer => Refusal::WrongIssuer,
            ErrorKind::InvalidAudience => Refusal::WrongAudience,
            ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => Refusal::WrongIssuer,
            ErrorKind::MissingRequiredClaim(_) => Refusal::WrongAudience,
            ErrorKind::InvalidAlgorithm => Refusal::Malformed("the token is not signed RS256"),
            _ => Refusal::Malformed("the token's claims are not a security event"),
        })?
        .claims;
    let issued = DateTime::from_timestamp(claims.iat, 0).ok_or(Refusal::Malformed("iat is not a time"))?;
    if now.signed_duration_since(issued) > MAX_AGE {
        return Err(Refusal::Stale);
    }
    if issued.signed_duration_since(now) > MAX_AHEAD {
        return Err(Refusal::Ahead);
    }
    if claims.jti.is_empty() || claims.jti.chars().count() > MAX_ID_CHARS {
        return Err(Refusal::Malformed("jti is empty or too long"));
    }
    let actions = claims.events.iter().map(|(uri, body)| action(uri, body, &settings.issuer)).collect();
    Ok(Verified { jti: claims.jti, actions })
}

/// What an event asks, from its type URI and body.
fn action(uri: &str, body: &Value, issuer: &str) -> Action {
    let Some(name) = uri.strip_prefix(RISC_EVENT).or_else(|| uri.strip_prefix(OAUTH_EVENT)) else {
        return Action::Ignored { event: short(uri) };
    };
    let event = name.to_owned();
    match name {
        "verification" => Action::Verification { state: body["state"].as_str().map(short).unwrap_or_default() },
        "tokens-revoked"
        | "token-revoked"
        | "sessions-revoked"
        | "account-disabled"
        | "account-purged"
        | "account-credential-change-required" => match google_account(&body["subject"], issuer) {
            Some(sub) => Action::Check { event, sub },
            None if name == "token-revoked" && body["subject"]["subject_type"] == "oauth_token" => Action::TokenHash,
            None => Action::Ignored { event },
        },
        _ => Action::Ignored { event },
    }
}

/// The `sub` of an `iss-sub` subject (RISC's `subject_type`, or RFC 9493's `format: iss_sub`)
/// whose issuer is `issuer`.
fn google_account(subject: &Value, issuer: &str) -> Option<String> {
    let kind = subject["subject_type"].as_str().or_else(|| subject["format"].as_str())?;
    if !matches!(kind, "iss-sub" | "iss_sub") || subject["iss"].as_str() != Some(issuer) {
        return None;
    }
    let sub = subject["sub"].as_str()?;
    (!sub.is_empty() && sub.chars().count() <= MAX_ID_CHARS && !sub.chars().any(char::is_control))
        .then(|| sub.to_owned())
}

/// A value from outside cut short for a log line.
fn short(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(100).collect()
}

/// relink's Google client ids: the audiences a SET may name.
fn audiences(state: &AppState) -> Vec<String> {
    let mut ids: Vec<String> = [Provider::Youtube, Provider::GoogleBusiness]
        .iter()
        .map(|provider| state.providers().config(*provider).client_id.clone())
        .filter(|id| !id.is_empty())
        .collect();
    ids.dedup();
    ids
}

/// `POST /hooks/google/risc`.
pub(crate) async fn receive(State(state): State<AppState>, body: Bytes) -> Response {
    match accept(&state, &body).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(refusal) => {
            match &refusal {
                Refusal::KeysUnavailable | Refusal::Unavailable => {
                    tracing::warn!(?refusal, "RISC: a security event must be delivered again")
                }
                _ => {
                    tracing::info!(?refusal, "RISC: a security event was refused");
                    metrics::counter!("relink_signals_refused_total", "source" => Source::GoogleRisc.as_str())
                        .increment(1);
                }
            }
            refusal.into_response()
        }
    }
}

async fn accept(state: &AppState, body: &[u8]) -> Result<(), Refusal> {
    if body.len() > MAX_SET_BYTES {
        return Err(Refusal::Malformed("the token is too large"));
    }
    let token = std::str::from_utf8(body).map_err(|_| Refusal::Malformed("the body is not text"))?.trim();
    let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::Malformed("the body is not a JWT"))?;
    if header.alg != Algorithm::RS256 {
        return Err(Refusal::Malformed("the token is not signed RS256"));
    }
    let kid = header.kid.ok_or(Refusal::Malformed("the token names no key (kid)"))?;
    let settings = &state.settings().risc;
    let key = state.inner.risc_keys.key(&kid, settings).await?;
    let now = state.now();
    let verified = verify(token, &key, settings, &audiences(state), now)?;
    record(state, &verified, now).await
}

/// Records the receipt (refusing a replay), then makes the named accounts' channels due now.
///
/// The receipt is recorded first so that two deliveries of one SET never both act; should the
/// database fail after it, the receipt is forgotten again and the answer is 503, so Google's
/// retry is handled as the first delivery.
async fn record(state: &AppState, verified: &Verified, now: DateTime<Utc>) -> Result<(), Refusal> {
    let store = state.store();
    let fresh = store.record_receipt(Source::GoogleRisc, &verified.jti, now).await.map_err(|error| {
        tracing::warn!(%error, "RISC: cannot record a security event's receipt");
        Refusal::Unavailable
    })?;
    if !fresh {
        return Err(Refusal::Replayed);
    }
    let wake = state.checker().wake_handle();
    for action in &verified.actions {
        log(action);
        if let Action::Check { sub, .. } = action {
            let subject = Subject::GoogleAccount(sub.clone());
            let due = match signals::receive(store, &wake, Source::GoogleRisc, &subject, now).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::error!(%error, "RISC: cannot make a Google account's channels due");
                    // Google delivers again after a 503: that retry must not read as a replay.
                    if let Err(error) = store.forget_receipt(Source::GoogleRisc, &verified.jti).await {
                        tracing::warn!(%error, "RISC: cannot forget the receipt of an event that failed");
                    }
                    return Err(Refusal::Unavailable);
                }
            };
            tracing::debug!(due, "RISC: channels made due");
        }
    }
    Ok(())
}

fn log(action: &Action) {
    match action {
        Action::Check { event, .. } => tracing::info!(event, "RISC: a Google account's channels are checked now"),
        Action::TokenHash => tracing::info!(
            "RISC: a refresh token was revoked (named by its hash only); its channel's next check finds it"
        ),
        Action::Verification { state } => tracing::info!(state, "RISC: verification event received"),
        Action::Ignored { event } => tracing::debug!(event, "RISC: event ignored"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_actions() {
        let issuer = GOOGLE_ISSUER;
        let account = json!({ "subject": { "subject_type": "iss-sub", "iss": issuer, "sub": "1234" } });
        let check = |event: &str| Action::Check { event: event.to_owned(), sub: "1234".to_owned() };
        let ignored = |event: &str| Action::Ignored { event: event.to_owned() };
        let cases: Vec<(String, Value, Action)> = vec![
            (format!("{OAUTH_EVENT}tokens-revoked"), account.clone(), check("tokens-revoked")),
            (format!("{OAUTH_EVENT}token-revoked"), account.clone(), check("token-revoked")),
            (format!("{RISC_EVENT}sessions-revoked"), account.clone(), check("sessions-revoked")),
            (format!("{RISC_EVENT}account-disabled"), account.clone(), check("account-disabled")),
            (format!("{RISC_EVENT}account-purged"), account.clone(), check("account-purged")),
            (
                format!("{RISC_EVENT}account-credential-change-required"),
                account.clone(),
                check("account-credential-change-required"),
            ),
            (
                format!("{RISC_EVENT}sessions-revoked"),
                json!({ "subject": { "format": "iss_sub", "iss": issuer, "sub": "1234" } }),
                check("sessions-revoked"),
            ),
            (format!("{RISC_EVENT}account-enabled"), account.clone(), ignored("account-enabled")),
            (format!("{RISC_EVENT}something-new"), account.clone(), ignored("something-new")),
            ("https://example.com/event".to_owned(), account.clone(), ignored("https://example.com/event")),
            (
                format!("{OAUTH_EVENT}token-revoked"),
                json!({ "subject": { "subject_type": "oauth_token", "token_type": "refresh_token",
                                     "token_identifier_alg": "hash_base64_sha512_sha512", "token": "abc" } }),
                Action::TokenHash,
            ),
            (
                format!("{RISC_EVENT}sessions-revoked"),
                json!({ "subject": { "subject_type": "iss-sub", "iss": "https://evil.example/", "sub": "1234" } }),
                ignored("sessions-revoked"),
            ),
            (
                format!("{RISC_EVENT}sessions-revoked"),
                json!({ "subject": { "subject_type": "email", "email": "a@example.com" } }),
                ignored("sessions-revoked"),
            ),
            (format!("{RISC_EVENT}sessions-revoked"), json!({}), ignored("sessions-revoked")),
            (
                format!("{RISC_EVENT}account-disabled"),
                json!({ "subject": { "subject_type": "iss-sub", "iss": issuer, "sub": "" } }),
                ignored("account-disabled"),
            ),
            (
                format!("{RISC_EVENT}verification"),
                json!({ "state": "hello" }),
                Action::Verification { state: "hello".to_owned() },
            ),
        ];
        for (uri, body, expected) in cases {
            assert_eq!(action(&uri, &body, issuer), expected, "{uri} {body}");
        }
    }

    #[test]
    fn a_key_set_keeps_its_rsa_keys_and_skips_the_rest() {
        let mut set = relink_simulator::risc::jwks();
        let keys = set["keys"].as_array_mut().unwrap();
        keys.push(json!({ "kty": "EC", "kid": "ec", "crv": "P-256", "x": "x", "y": "y" }));
        keys.push(json!({ "kid": "nothing" }));
        let keys = parse_jwks(set.to_string().as_bytes()).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec![relink_simulator::risc::SERVED_KID]);
        assert!(parse_jwks(b"<html>").is_err());
    }

    fn served_key() -> DecodingKey {
        parse_jwks(relink_simulator::risc::jwks().to_string().as_bytes())
            .unwrap()
            .remove(relink_simulator::risc::SERVED_KID)
            .unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    #[test]
    fn only_a_fresh_set_signed_by_the_issuer_for_this_app_is_believed() {
        use relink_simulator::risc::{EventType, SecurityEvent, TestKey};
        let settings = RiscSettings::default();
        let audiences = vec!["yt-client".to_owned(), "gbp-client".to_owned()];
        let key = served_key();
        let event = SecurityEvent::new(EventType::SessionsRevoked, "1234", "gbp-client", now());
        let check = |event: &SecurityEvent, signer: TestKey| {
            verify(&event.sign(signer).unwrap(), &key, &settings, &audiences, now()).map(|v| v.actions)
        };
        let expected = vec![Action::Check { event: "sessions-revoked".to_owned(), sub: "1234".to_owned() }];
        assert_eq!(check(&event, TestKey::Served), Ok(expected));

        assert_eq!(check(&event, TestKey::Unpublished), Err(Refusal::BadSignature));
        let other = |change: &dyn Fn(&mut SecurityEvent)| {
            let mut event = event.clone();
            change(&mut event);
            check(&event, TestKey::Served)
        };
        assert_eq!(other(&|e| e.audience = json!("someone-else")), Err(Refusal::WrongAudience));
        assert!(other(&|e| e.audience = json!(["someone-else", "yt-client"])).is_ok(), "one of the audiences is ours");
        assert_eq!(other(&|e| e.issuer = "https://accounts.example.com/".to_owned()), Err(Refusal::WrongIssuer));
        let day = chrono::Duration::days(1);
        assert_eq!(other(&|e| e.issued_at = now() - day - chrono::Duration::seconds(1)), Err(Refusal::Stale));
        assert!(other(&|e| e.issued_at = now() - day).is_ok(), "a day old is still fresh");
        assert_eq!(other(&|e| e.issued_at = now() + chrono::Duration::minutes(6)), Err(Refusal::Ahead));
        assert!(other(&|e| e.issued_at = now() + chrono::Duration::minutes(4)).is_ok(), "clocks differ a little");
        assert_eq!(other(&|e| e.jti = String::new()), Err(Refusal::Malformed("jti is empty or too long")));
        assert!(matches!(other(&|e| e.events = json!("none")), Err(Refusal::Malformed(_))));
        assert_eq!(
            verify("not.a.jwt", &key, &settings, &audiences, now()).map(|v| v.actions),
            Err(Refusal::Malformed("the token's claims are not a security event"))
        );
        assert_eq!(check(&event, TestKey::Served).map(|_| ()), Ok(()));
        assert_eq!(
            verify(&event.sign(TestKey::Served).unwrap(), &key, &settings, &[], now()).map(|v| v.actions),
            Err(Refusal::WrongAudience),
            "without Google client ids nothing is believed"
        );
    }

    #[test]
    fn refusals_answer_rfc_8935_errors() {
        let response = Refusal::WrongAudience.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let response = Refusal::KeysUnavailable.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key(RETRY_AFTER));
    }
}
