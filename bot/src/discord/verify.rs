//! Checking that an HTTP interaction comes from Discord: an Ed25519 signature (strict
//! verification) over `X-Signature-Timestamp` followed by the raw body, with the application's
//! public key, and a timestamp within [`FRESHNESS`] of now, so a captured request cannot be
//! replayed later (a replay within the window is caught by the interaction id, see
//! `interactions`). Discord sends bad signatures on purpose to check that they are refused.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, VerifyingKey};

/// How far an interaction's timestamp may be from relink's clock.
pub const FRESHNESS: Duration = Duration::from_secs(5 * 60);

/// Why a request was refused (answered 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the signature headers are missing or malformed")]
    Malformed,
    #[error("the signature does not match")]
    BadSignature,
    #[error("the timestamp is outside the freshness window")]
    Stale,
}

/// Why a configured public key cannot verify interactions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("discord.public_key must be 64 hexadecimal characters")]
    NotHex,
    #[error("discord.public_key is not an Ed25519 public key")]
    NotEd25519,
}

/// The application's public key.
#[derive(Debug, Clone)]
pub struct Verifier {
    key: VerifyingKey,
}

impl Verifier {
    /// From the 64 hexadecimal characters of the Developer Portal.
    pub fn from_hex(public_key: &str) -> Result<Self, KeyError> {
        let bytes: [u8; 32] =
            hex::decode(public_key.trim()).ok().and_then(|b| b.try_into().ok()).ok_or(KeyError::NotHex)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::NotEd25519)?;
        Ok(Self { key })
    }

    pub fn new(key: VerifyingKey) -> Self {
        Self { key }
    }

    /// What can be checked before the body is read: both headers present, the signature 64
    /// bytes of hex, the timestamp a number within [`FRESHNESS`] of `now`.
    pub fn precheck(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
            return Err(Refusal::Malformed);
        };
        let signature = signature.trim();
        if signature.len() != 128 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Refusal::Malformed);
        }
        fresh(timestamp, now)
    }

    /// Checks one request's headers and raw body at `now`.
    pub fn check(
        &self,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
            return Err(Refusal::Malformed);
        };
        let signature: [u8; 64] =
            hex::decode(signature.trim()).ok().and_then(|b| b.try_into().ok()).ok_or(Refusal::Malformed)?;
        let signature = Signature::from_bytes(&signature);
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        self.key.verify_strict(&message, &signature).map_err(|_| Refusal::BadSignature)?;
        fresh(timestamp, now)
    }
}

/// Whether a timestamp (Unix seconds) is within [`FRESHNESS`] of `now`.
fn fresh(timestamp: &str, now: DateTime<Utc>) -> Result<(), Refusal> {
    let sent = timestamp.trim().parse::<i64>().map_err(|_| Refusal::Malformed)?;
    let skew = now.timestamp().checked_sub(sent).map_or(u64::MAX, i64::unsigned_abs);
    if skew > FRESHNESS.as_secs() {
        return Err(Refusal::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn sign(key: &SigningKey, timestamp: &str, body: &[u8]) -> String {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        hex::encode(key.sign(&message).to_bytes())
    }

    #[test]
    fn only_a_fresh_request_signed_by_the_application_key_passes() {
        let key = key();
        let verifier = Verifier::from_hex(&hex::encode(key.verifying_key().to_bytes())).unwrap();
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let body = br#"{"type":1}"#;
        let fresh = now.timestamp().to_string();
        let good = sign(&key, &fresh, body);
        assert_eq!(verifier.check(Some(&good), Some(&fresh), body, now), Ok(()));

        type Case<'a> = (Option<&'a str>, Option<String>, &'a [u8], Refusal);
        let table: [Case; 5] = [
            (None, Some(fresh.clone()), body, Refusal::Malformed),
            (Some("zz"), Some(fresh.clone()), body, Refusal::Malformed),
            (Some(&good), Some(fresh.clone()), br#"{"type":2}"#, Refusal::BadSignature),
            (Some(&good), Some((now.timestamp() + 1).to_string()), body, Refusal::BadSignature),
            (
                Some(&sign(&SigningKey::from_bytes(&[9; 32]), &fresh, body)),
                Some(fresh.clone()),
                body,
                Refusal::BadSignature,
            ),
        ];
        for (signature, timestamp, body, refusal) in table {
            assert_eq!(verifier.check(signature, timestamp.as_deref(), body, now), Err(refusal));
        }
        let old = (now.timestamp() - 301).to_string();
        assert_eq!(verifier.check(Some(&sign(&key, &old, body)), Some(&old), body, now), Err(Refusal::Stale));
        // A signed timestamp at the ends of i64 is stale, not an overflow.
        for edge in [i64::MIN, i64::MAX] {
            let edge = edge.to_string();
            assert_eq!(verifier.check(Some(&sign(&key, &edge, body)), Some(&edge), body, now), Err(Refusal::Stale));
        }
    }

    #[test]
    fn a_request_without_fresh_signature_headers_is_refused_before_its_body_is_read() {
        let verifier = Verifier::new(key().verifying_key());
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let fresh = now.timestamp().to_string();
        let signature = "ab".repeat(64);
        assert_eq!(verifier.precheck(Some(&signature), Some(&fresh), now), Ok(()));
        assert_eq!(verifier.precheck(None, Some(&fresh), now), Err(Refusal::Malformed));
        assert_eq!(verifier.precheck(Some(&signature), None, now), Err(Refusal::Malformed));
        assert_eq!(verifier.precheck(Some("zz"), Some(&fresh), now), Err(Refusal::Malformed));
        assert_eq!(verifier.precheck(Some(&signature), Some("soon"), now), Err(Refusal::Malformed));
        let old = (now.timestamp() - 301).to_string();
        assert_eq!(verifier.precheck(Some(&signature), Some(&old), now), Err(Refusal::Stale));
        let far = i64::MIN.to_string();
        assert_eq!(verifier.precheck(Some(&signature), Some(&far), now), Err(Refusal::Stale), "no overflow");
    }

    #[test]
    fn public_keys_must_be_32_bytes_of_hex() {
        assert_eq!(Verifier::from_hex("abc").err(), Some(KeyError::NotHex));
        assert_eq!(Verifier::from_hex(&"g".repeat(64)).err(), Some(KeyError::NotHex));
    }

    #[test]
    fn a_signed_timestamp_at_the_edge_of_time_is_refused_not_a_panic() {
        let key = key();
        let verifier = Verifier::new(key.verifying_key());
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let body = br#"{"type":1}"#;
        for timestamp in [i64::MIN.to_string(), i64::MAX.to_string()] {
            let signature = sign(&key, &timestamp, body);
            assert_eq!(verifier.check(Some(&signature), Some(&timestamp), body, now), Err(Refusal::Stale));
        }
    }

    mod properties {
        //! Whatever a request to the interactions endpoint carries, signed by the application's
        //! key or not, the check answers a refusal or passes; it never panics.

        use proptest::prelude::*;

        use super::*;

        proptest! {
            // Ed25519 in a debug build takes tens of milliseconds a check: fewer cases.
            #![proptest_config(ProptestConfig::with_cases(48))]

            #[test]
            fn any_request_is_checked_without_panic(
                signature in proptest::option::of(prop_oneof![".{0,10}", "[0-9a-f]{128}"]),
                timestamp in proptest::option::of(prop_oneof![any::<String>(), any::<i64>().prop_map(|t| t.to_string())]),
                body in prop::collection::vec(any::<u8>(), 0..256),
                now in -8_000_000_000_000_i64..8_000_000_000_000,
            ) {
                let verifier = Verifier::new(key().verifying_key());
                let now = DateTime::<Utc>::from_timestamp(now, 0).unwrap_or_default();
                let _ = verifier.check(signature.as_deref(), timestamp.as_deref(), &body, now);
            }

            #[test]
            fn a_signed_request_passes_only_when_fresh(
                timestamp in prop_oneof![
                    any::<i64>().prop_map(|t| t.to_string()),
                    prop::sample::select(vec![i64::MIN, i64::MIN + 1, i64::MAX, -1, 0]).prop_map(|t| t.to_string()),
                    (1_799_999_000_i64..1_800_001_000).prop_map(|t| t.to_string()), ".{0,12}"],
                body in prop::collection::vec(any::<u8>(), 0..256),
            ) {
                let key = key();
                let verifier = Verifier::new(key.verifying_key());
                let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
                let result = verifier.check(Some(&sign(&key, &timestamp, &body)), Some(&timestamp), &body, now);
                let fresh = timestamp.trim().parse::<i64>().is_ok_and(|t| t.abs_diff(now.timestamp()) <= FRESHNESS.as_secs());
                prop_assert_eq!(result.is_ok(), fresh, "{:?}", result);
            }
        }
    }
}
