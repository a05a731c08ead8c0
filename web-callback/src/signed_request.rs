//! Meta's `signed_request`: how Facebook's deauthorize and data deletion callbacks say who they
//! are about, and prove that Meta sent them.
//!
//! The form field is `base64url(signature) "." base64url(payload)` (no padding); the signature is
//! HMAC-SHA256 over the payload *as sent* (its base64url text), keyed with the app secret; the
//! payload is JSON with `algorithm: "HMAC-SHA256"`, `issued_at` (seconds) and `user_id` (the
//! app-scoped user id). The signature is checked first, in constant time, against every
//! configured Meta app secret; nothing in the payload is read before it verifies.
//! Source: <https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow>,
//! <https://developers.facebook.com/docs/development/create-an-app/app-dashboard/data-deletion-callback>

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{KeyInit as _, Mac as _};
use serde_json::Value;

/// The longest `signed_request` read: Meta's are a few hundred bytes.
pub const MAX_LEN: usize = 4 * 1024;

/// How old an `issued_at` may be: Meta sends at once, and retries do not take days.
const MAX_AGE: TimeDelta = TimeDelta::days(1);
/// How far ahead of relink's clock an `issued_at` may be: clocks drift a little, not more.
const MAX_AHEAD: TimeDelta = TimeDelta::minutes(5);
/// The longest app-scoped user id taken (they are decimal numbers of about 17 digits).
const MAX_USER_ID: usize = 128;

/// Meta writes base64url without padding; a padded one is read too.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A `signed_request` that verified: whom it is about and when Meta issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub user_id: String,
    pub issued_at: DateTime<Utc>,
}

/// Why a `signed_request` was refused. Its text is what the caller is told (no secret in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not `signature.payload` of base64url, or too long.
    Malformed,
    /// No configured Meta app secret to verify with.
    NoSecret,
    /// The signature verifies with no configured app secret.
    BadSignature,
    /// The payload is not a JSON object.
    BadPayload,
    /// `algorithm` is missing or not `HMAC-SHA256`.
    Algorithm,
    /// `issued_at` is missing or not a time.
    IssuedAt,
    /// `issued_at` is more than a day old.
    Stale,
    /// `issued_at` is more than five minutes ahead.
    Future,
    /// `user_id` is missing or not an id.
    UserId,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Malformed => "signed_request is not base64url signature.payload",
            Refusal::NoSecret => "no Meta app secret is configured",
            Refusal::BadSignature => "the signature does not verify",
            Refusal::BadPayload => "the payload is not a JSON object",
            Refusal::Algorithm => "the algorithm is not HMAC-SHA256",
            Refusal::IssuedAt => "issued_at is missing or not a time",
            Refusal::Stale => "issued_at is more than a day old",
            Refusal::Future => "issued_at is in the future",
            Refusal::UserId => "user_id is missing or not an id",
        }
    }
}

/// Verifies `signed_request` with any of `secrets` (empty ones never verify anything: anyone can
/// compute an HMAC with an empty key) and reads it, at `now`.
pub fn verify(signed_request: &str, secrets: &[&[u8]], now: DateTime<Utc>) -> Result<Signed, Refusal> {
    if signed_request.len() > MAX_LEN {
        return Err(Refusal::Malformed);
    }
    let (signature, payload) = signed_request.split_once('.').ok_or(Refusal::Malformed)?;
    if payload.contains('.') {
        return Err(Refusal::Malformed);
    }
    let signature = BASE64URL.decode(signature).map_err(|_| Refusal::Malformed)?;
    let payload_bytes = BASE64URL.decode(payload).map_err(|_| Refusal::Malformed)?;

    let mut usable = secrets.iter().filter(|secret| !secret.is_empty()).peekable();
    if usable.peek().is_none() {
        return Err(Refusal::NoSecret);
    }
    // Every secret is tried, so how long this takes does not say which one matched.
    let verified = usable.fold(false, |verified, secret| {
        let Ok(mut mac) = hmac::Hmac::<sha2_v011::Sha256>::new_from_slice(secret) else { return verified };
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).is_ok() | verified
    });
    if !verified {
        return Err(Refusal::BadSignature);
    }

    let data: Value = serde_json::from_slice(&payload_bytes).map_err(|_| Refusal::BadPayload)?;
    let data = data.as_object().ok_or(Refusal::BadPayload)?;
    if data.get("algorithm").and_then(Value::as_str).is_none_or(|a| !a.eq_ignore_ascii_case("HMAC-SHA256")) {
        return Err(Refusal::Algorithm);
    }
    let issued_at = data
        .get("issued_at")
        .and_then(Value::as_i64)
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .ok_or(Refusal::IssuedAt)?;
    if now.checked_sub_signed(MAX_AGE).is_some_and(|oldest| issued_at < oldest) {
        return Err(Refusal::Stale);
    }
    if now.checked_add_signed(MAX_AHEAD).is_some_and(|latest| issued_at > latest) {
        return Err(Refusal::Future);
    }
    let user_id = data.get("user_id").and_then(Value::as_str).ok_or(Refusal::UserId)?;
    if user_id.is_empty() || user_id.len() > MAX_USER_ID || user_id.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Refusal::UserId);
    }
    Ok(Signed { user_id: user_id.to_owned(), issued_at })
}

/// The receipt a `signed_request` is remembered by (replays are refused): its SHA-256, in hex.
pub fn receipt(signed_request: &str) -> String {
    use sha2_v011::Digest as _;
    hex::encode(sha2_v011::Sha256::digest(signed_request.as_bytes()))
}

/// Signs `payload` the way Meta does (tests build requests with it).
#[cfg(test)]
pub fn sign(payload: &Value, secret: &[u8]) -> String {
    let payload = BASE64URL.encode(payload.to_string());
    let Ok(mut mac) = hmac::Hmac::<sha2_v011::Sha256>::new_from_slice(secret) else { return String::new() };
    mac.update(payload.as_bytes());
    format!("{}.{payload}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"app-secret";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    fn payload(issued_at: i64) -> Value {
        json!({"algorithm": "HMAC-SHA256", "issued_at": issued_at, "user_id": "1234567890"})
    }

    #[test]
    fn a_request_meta_signed_reads_as_its_user() {
        let signed = sign(&payload(1_800_000_000 - 60), SECRET);
        let read = verify(&signed, &[b"other-app", SECRET], now());
        assert_eq!(read.map(|s| s.user_id), Ok("1234567890".to_owned()));
    }

    #[test]
    fn each_way_a_signed_request_can_be_wrong_is_refused() {
        let at = 1_800_000_000;
        let cases: Vec<(String, Refusal)> = vec![
            (sign(&payload(at), b"another-secret"), Refusal::BadSignature),
            (sign(&json!({"algorithm": "HMAC-SHA1", "issued_at": at, "user_id": "1"}), SECRET), Refusal::Algorithm),
            (sign(&json!({"issued_at": at, "user_id": "1"}), SECRET), Refusal::Algorithm),
            (sign(&json!({"algorithm": "HMAC-SHA256", "user_id": "1"}), SECRET), Refusal::IssuedAt),
            (
                sign(&json!({"algorithm": "HMAC-SHA256", "issued_at": "soon", "user_id": "1"}), SECRET),
                Refusal::IssuedAt,
            ),
            (sign(&json!({"algorithm": "HMAC-SHA256", "issued_at": at}), SECRET), Refusal::UserId),
            (sign(&json!({"algorithm": "HMAC-SHA256", "issued_at": at, "user_id": 12}), SECRET), Refusal::UserId),
            (sign(&json!({"algorithm": "HMAC-SHA256", "issued_at": at, "user_id": ""}), SECRET), Refusal::UserId),
            (sign(&payload(at - 86_401), SECRET), Refusal::Stale),
            (sign(&payload(at + 301), SECRET), Refusal::Future),
            (sign(&payload(i64::MAX), SECRET), Refusal::IssuedAt),
            (sign(&json!(["HMAC-SHA256"]), SECRET), Refusal::BadPayload),
            ("no-dot".to_owned(), Refusal::Malformed),
            ("a.b.c".to_owned(), Refusal::Malformed),
            ("!!.??".to_owned(), Refusal::Malformed),
            ("A".repeat(MAX_LEN + 1), Refusal::Malformed),
        ];
        for (signed, want) in cases {
            assert_eq!(verify(&signed, &[SECRET], now()), Err(want), "{signed}");
        }
        // The edges themselves are accepted.
        assert!(verify(&sign(&payload(at - 86_400), SECRET), &[SECRET], now()).is_ok());
        assert!(verify(&sign(&payload(at + 300), SECRET), &[SECRET], now()).is_ok());
    }

    #[test]
    fn an_unconfigured_app_secret_verifies_nothing() {
        // Anyone can sign with an empty key: an app without a secret must not make that count.
        let forged = sign(&payload(1_800_000_000), b"");
        assert_eq!(verify(&forged, &[b""], now()), Err(Refusal::NoSecret));
        assert_eq!(verify(&forged, &[b"", SECRET], now()), Err(Refusal::BadSignature));
    }

    #[test]
    fn a_payload_changed_after_signing_does_not_verify() {
        let signed = sign(&payload(1_800_000_000), SECRET);
        let (signature, _) = signed.split_once('.').unwrap_or_default();
        let other = BASE64URL
            .encode(json!({"algorithm": "HMAC-SHA256", "issued_at": 1_800_000_000, "user_id": "999"}).to_string());
        assert_eq!(verify(&format!("{signature}.{other}"), &[SECRET], now()), Err(Refusal::BadSignature));
    }

    #[test]
    fn receipts_differ_for_different_requests_and_hide_them() {
        let a = sign(&payload(1_800_000_000), SECRET);
        let b = sign(&payload(1_800_000_001), SECRET);
        assert_ne!(receipt(&a), receipt(&b));
        assert_eq!(receipt(&a).len(), 64);
        assert!(!receipt(&a).contains(a.split('.').next().unwrap_or_default()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever arrives in the form field, it is read or refused: never a panic.
        #[test]
        fn any_signed_request_is_read_or_refused(text in ".{0,300}", payload_text in ".{0,200}") {
            let _ = verify(&text, &[SECRET], now());
            let encoded = format!("{}.{}", BASE64URL.encode([0u8; 32]), BASE64URL.encode(&payload_text));
            prop_assert!(verify(&encoded, &[SECRET], now()).is_err());
        }

        #[test]
        fn any_signed_payload_is_read_or_refused(issued_at in any::<i64>(), user in proptest::option::of(".{0,40}"), algorithm in ".{0,12}") {
            let payload = json!({"algorithm": algorithm, "issued_at": issued_at, "user_id": user});
            let _ = verify(&sign(&payload, SECRET), &[SECRET], now());
        }
    }
}
