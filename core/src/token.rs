//! A channel's token set: the secrets a network issued, plus their expiry and scopes.
//!
//! The access and refresh tokens are [`SecretString`]s: `Debug` prints `[REDACTED]`, nothing
//! implements `Display`, and they leave memory only sealed by [`crate::crypto::Keyring`].

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::domain::{ParseError, Scopes};

/// The tokens of one channel.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: Scopes,
    /// When the refresh token itself ends, where the network says (`refresh_token_expires_in`:
    /// LinkedIn, Pinterest). It tells a grant that ran out from one that was revoked when the
    /// network words both alike.
    pub refresh_expires_at: Option<DateTime<Utc>>,
}

/// The part of a token set that is sealed: the secrets, and the refresh token's end, which
/// travels with the refresh token it describes.
#[derive(Serialize, Deserialize)]
struct SealedSecrets {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_expires_at: Option<DateTime<Utc>>,
}

impl TokenSet {
    /// The secrets serialized for sealing. The buffer is wiped when dropped.
    pub(crate) fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        let secrets = SealedSecrets {
            access_token: self.access_token.expose_secret().to_owned(),
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
            refresh_expires_at: self.refresh_expires_at,
        };
        let bytes = serde_json::to_vec(&secrets).expect("strings and a time always serialize");
        let SealedSecrets { access_token, refresh_token, .. } = secrets;
        drop(Zeroizing::new(access_token));
        drop(refresh_token.map(Zeroizing::new));
        Zeroizing::new(bytes)
    }

    /// Rebuilds a token set from opened secrets and the clear columns.
    pub(crate) fn from_secret_bytes(
        bytes: &[u8],
        expires_at: Option<DateTime<Utc>>,
        scopes: Scopes,
    ) -> Result<Self, serde_json::Error> {
        let secrets: SealedSecrets = serde_json::from_slice(bytes)?;
        Ok(Self {
            access_token: SecretString::from(secrets.access_token),
            refresh_token: secrets.refresh_token.map(SecretString::from),
            expires_at,
            scopes,
            refresh_expires_at: secrets.refresh_expires_at,
        })
    }

    /// A renewal's answer without a refresh token keeps the stored one (and its end), and one
    /// without scopes keeps the stored scopes: a refresh token is never overwritten with nothing.
    pub fn keep_from(&mut self, previous: &TokenSet) {
        if self.refresh_token.is_none() {
            self.refresh_token = previous.refresh_token.clone();
            self.refresh_expires_at = previous.refresh_expires_at;
        }
        if self.scopes.is_empty() {
            self.scopes = previous.scopes.clone();
        }
    }

    /// Reads tokens as an operator pastes them: either a bare access token, or the JSON a token
    /// endpoint answers (`access_token`, `refresh_token`, `expires_in` seconds or `expires_at`
    /// RFC 3339, `scope`). `now` turns `expires_in` into a time.
    pub fn parse_input(raw: &str, now: DateTime<Utc>) -> Result<Self, ParseError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(ParseError::new("tokens", "no token given (expected a token or token JSON on standard input)"));
        }
        if text.starts_with('{') {
            return Self::parse_json(text, now);
        }
        if text.lines().count() > 1 || text.chars().any(char::is_whitespace) {
            return Err(ParseError::new(
                "tokens",
                "a bare access token must be one word; give JSON with access_token and refresh_token for more",
            ));
        }
        Ok(Self {
            access_token: SecretString::from(text.to_owned()),
            refresh_token: None,
            expires_at: None,
            scopes: Scopes::default(),
            refresh_expires_at: None,
        })
    }

    fn parse_json(text: &str, now: DateTime<Utc>) -> Result<Self, ParseError> {
        #[derive(Deserialize)]
        struct Input {
            access_token: Option<String>,
            refresh_token: Option<String>,
            expires_in: Option<i64>,
            expires_at: Option<String>,
            scope: Option<String>,
            refresh_token_expires_in: Option<i64>,
        }
        // serde_json's messages quote no input values, so a token cannot leak through them.
        let input: Input =
            serde_json::from_str(text).map_err(|e| ParseError::new("tokens", format!("not valid token JSON ({e})")))?;
        let access = input
            .access_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| ParseError::new("access_token", "missing or empty"))?;
        let refresh = input.refresh_token.filter(|t| !t.trim().is_empty());
        let expires_at = match (input.expires_in, input.expires_at) {
            (Some(_), Some(_)) => return Err(ParseError::new("expires_in", "give expires_in or expires_at, not both")),
            (Some(secs), None) if secs > 0 => Some(lifetime_from_now("expires_in", secs, now)?),
            (Some(_), None) => return Err(ParseError::new("expires_in", "must be a positive number of seconds")),
            (None, Some(at)) => Some(crate::time::parse_instant("expires_at", &at, now)?),
            (None, None) => None,
        };
        let refresh_expires_at = match input.refresh_token_expires_in {
            Some(secs) if secs > 0 => Some(lifetime_from_now("refresh_token_expires_in", secs, now)?),
            Some(_) => return Err(ParseError::new("refresh_token_expires_in", "must be a positive number of seconds")),
            None => None,
        };
        Ok(Self {
            access_token: SecretString::from(access),
            refresh_expires_at: refresh_expires_at.filter(|_| refresh.is_some()),
            refresh_token: refresh.map(SecretString::from),
            expires_at,
            scopes: Scopes::parse(input.scope.as_deref().unwrap_or_default())?,
        })
    }
}

/// `now` plus a lifetime typed by a person, refused beyond [`crate::time::MAX_INPUT_AHEAD`].
fn lifetime_from_now(field: &'static str, seconds: i64, now: DateTime<Utc>) -> Result<DateTime<Utc>, ParseError> {
    let lifetime = std::time::Duration::from_secs(seconds.unsigned_abs());
    if lifetime > crate::time::MAX_INPUT_AHEAD {
        return Err(ParseError::new(field, "is too long (at most 100 years)"));
    }
    Ok(crate::time::after(now, lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc()
    }

    #[test]
    fn an_expires_in_of_i64_max_is_refused_naming_the_field() {
        for field in ["expires_in", "refresh_token_expires_in"] {
            let input = format!(r#"{{"access_token":"a","refresh_token":"r","{field}":9223372036854775807}}"#);
            assert_eq!(TokenSet::parse_input(&input, now()).unwrap_err().field, field);
        }
        let far = r#"{"access_token":"a","expires_at":"+100000000d"}"#;
        assert_eq!(TokenSet::parse_input(far, now()).unwrap_err().field, "expires_at");
    }

    #[test]
    fn a_token_endpoint_answer_is_read_whole() {
        let set = TokenSet::parse_input(
            r#"{"access_token":"EAAB-secret","refresh_token":"r-secret","expires_in":5184000,"scope":"a b"}"#,
            now(),
        )
        .unwrap();
        assert_eq!(set.access_token.expose_secret(), "EAAB-secret");
        assert_eq!(set.refresh_token.as_ref().unwrap().expose_secret(), "r-secret");
        assert_eq!(set.expires_at, Some(now() + chrono::Duration::days(60)));
        assert_eq!(set.scopes.to_string(), "a b");
        assert_eq!(set.refresh_expires_at, None);
    }

    #[test]
    fn the_refresh_tokens_end_is_sealed_with_it_and_kept_when_a_renewal_brings_none() {
        let raw = r#"{"access_token":"a","refresh_token":"r","refresh_token_expires_in":31536000}"#;
        let set = TokenSet::parse_input(raw, now()).unwrap();
        let end = Some(now() + chrono::Duration::days(365));
        assert_eq!(set.refresh_expires_at, end);
        let reopened = TokenSet::from_secret_bytes(&set.secret_bytes(), None, Scopes::default()).unwrap();
        assert_eq!(reopened.refresh_expires_at, end);
        let mut renewed = TokenSet::parse_input("new-access", now()).unwrap();
        renewed.keep_from(&reopened);
        assert_eq!(renewed.refresh_token.as_ref().unwrap().expose_secret(), "r");
        assert_eq!(renewed.refresh_expires_at, end);
        // Sealed before the field existed: still opens.
        let old = TokenSet::from_secret_bytes(br#"{"access_token":"a","refresh_token":"r"}"#, None, Scopes::default());
        assert_eq!(old.unwrap().refresh_expires_at, None);
    }

    #[test]
    fn debug_output_never_shows_a_token() {
        let set = TokenSet::parse_input("plain-access-token-123", now()).unwrap();
        let debug = format!("{set:?}");
        assert!(!debug.contains("plain-access-token-123"), "{debug}");
    }

    #[test]
    fn bad_token_input_names_the_field_and_never_echoes_the_secret() {
        let cases = [
            ("", "tokens"),
            ("two words", "tokens"),
            (r#"{"refresh_token":"only-refresh"}"#, "access_token"),
            (r#"{"access_token":"abc","expires_in":-1}"#, "expires_in"),
            (r#"{"access_token":"abc","expires_at":"someday"}"#, "expires_at"),
            (r#"{"access_token":"leak-me" "#, "tokens"),
        ];
        for (raw, field) in cases {
            let err = TokenSet::parse_input(raw, now()).unwrap_err();
            assert_eq!(err.field, field, "{raw}: {err}");
            assert!(!err.to_string().contains("leak-me") && !err.to_string().contains("only-refresh"), "{err}");
        }
    }

    mod properties {
        //! Whatever an operator or a publishing tool pastes as tokens, `parse_input` answers `Ok`
        //! or an error naming a field, never panics, and never echoes a secret it was given.

        use proptest::prelude::*;
        use serde_json::{Map, Value, json};

        use super::*;

        /// The largest `expires_in` / `refresh_token_expires_in` the properties give: any, far
        /// past chrono's range (about 2.6e11 seconds from now), which must be refused or clamped.
        const LARGEST_NUMBER: i64 = i64::MAX;

        /// Any JSON value, a few levels deep (integers within [`LARGEST_NUMBER`]).
        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                (-LARGEST_NUMBER..LARGEST_NUMBER).prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                ".{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(".{0,8}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        fn field_value() -> impl Strategy<Value = Value> {
            prop_oneof![
                3 => json_value(),
                2 => (-LARGEST_NUMBER..LARGEST_NUMBER).prop_map(Value::from),
                1 => "[0-9T:+ -]{0,25}".prop_map(Value::String),
                1 => Just(json!("+3d")),
            ]
        }

        /// A token JSON whose fields each may be missing, well typed, or anything at all.
        fn token_json() -> impl Strategy<Value = (String, String, String)> {
            let fields = ["expires_in", "expires_at", "scope", "refresh_token_expires_in", "other"];
            let extras = prop::collection::vec((prop::sample::select(fields.to_vec()), field_value()), 0..4);
            ("[A-Za-z0-9]{8,20}", "[A-Za-z0-9]{8,20}", extras, any::<(bool, bool)>()).prop_map(
                |(access, refresh, extras, (with_access, with_refresh))| {
                    let access = format!("acc{access}");
                    let refresh = format!("ref{refresh}");
                    let mut object = Map::new();
                    if with_access {
                        object.insert("access_token".into(), json!(access));
                    }
                    if with_refresh {
                        object.insert("refresh_token".into(), json!(refresh));
                    }
                    for (name, value) in extras {
                        object.insert(name.into(), value);
                    }
                    (Value::Object(object).to_string(), access, refresh)
                },
            )
        }

        const FIELDS: [&str; 7] =
            ["tokens", "access_token", "expires_in", "expires_at", "scope", "scopes", "refresh_token_expires_in"];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn any_text_parses_or_names_its_field(raw in prop_oneof![any::<String>(), "[{}\":a-z0-9, ]{0,60}"]) {
                if let Err(error) = TokenSet::parse_input(&raw, now()) {
                    prop_assert!(FIELDS.contains(&error.field), "{}", error.field);
                }
            }

            #[test]
            fn token_json_parses_or_names_its_field_and_never_echoes_a_secret((raw, access, refresh) in token_json()) {
                match TokenSet::parse_input(&raw, now()) {
                    Ok(set) => prop_assert_eq!(set.access_token.expose_secret(), access.as_str()),
                    Err(error) => {
                        prop_assert!(FIELDS.contains(&error.field), "{}", error.field);
                        let text = error.to_string();
                        prop_assert!(!text.contains(&access) && !text.contains(&refresh), "{}", text);
                    }
                }
            }

            #[test]
            fn sealed_secrets_reopen_or_fail_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                let _ = TokenSet::from_secret_bytes(&bytes, None, Scopes::default());
            }
        }
    }
}
