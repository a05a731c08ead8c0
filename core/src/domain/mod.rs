//! The domain: what relink talks about. Each noun lives in its own file; every type that comes
//! from outside (a command line, a chat message, an HTTP body) is parsed on construction and the
//! error names the field that was wrong.

pub mod alert;
mod channel;
mod chat;
mod event;
mod health;
mod language;
mod link;
mod member;
mod post;
mod provider;
mod signal;
mod team;

pub use channel::{
    Channel, ChannelId, ChannelLookupError, DisplayName, ExternalAccountId, NewChannel, Scopes, explicit_channel_id,
    find_channel,
};
pub use chat::{ChatBinding, ChatPlatform};
pub use event::{AccountMismatch, Event, HealthChanged, OperatorProblem, Reconnected};
pub use health::{Health, HealthKind, Reason, Transition};
pub use language::Language;
pub use link::{ApiKey, ApiKeyId, ApiKeyName, LinkId, LinkStatus, ReconnectLink};
pub use member::{DiscordUserId, Member, MemberId, MemberName, Role, TelegramUserId};
pub use post::{PostId, PostStatus, ScheduledPost};
pub use provider::Provider;
pub use signal::{DataDeletion, Source, Subject};
pub use team::{Team, TeamId, TeamName};

use std::fmt;

/// Bad input, with the name of the field it came in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParseError {
    pub field: &'static str,
    pub message: String,
}

impl ParseError {
    pub fn new(field: &'static str, message: impl fmt::Display) -> Self {
        Self { field, message: message.to_string() }
    }
}

/// Checks a short human-given text (a name): trimmed, not empty, at most `max` characters, no
/// control characters. Returns the trimmed text.
pub(crate) fn parse_label(field: &'static str, raw: &str, max: usize) -> Result<String, ParseError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(ParseError::new(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(ParseError::new(field, format!("must be at most {max} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(ParseError::new(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}

/// Lower-cases a keyword and folds `-` and spaces into `_`, so `Primary-Owner` reads as `primary_owner`.
pub(crate) fn normalize_keyword(raw: &str) -> String {
    raw.trim().to_lowercase().replace(['-', ' '], "_")
}

/// Declares an `i64` row identifier newtype.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::ParseError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                match raw.trim().parse::<i64>() {
                    Ok(id) if id > 0 => Ok(Self(id)),
                    _ => Err($crate::domain::ParseError::new($field, format!("`{raw}` is not a positive number"))),
                }
            }
        }
    };
}
pub(crate) use id_type;

/// Declares a keyword enum with its stored spelling, accepted aliases and a `FromStr` whose error
/// lists the valid spellings.
macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, { $($variant:ident => $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling stored in the database and shown to operators.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::ParseError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                let key = $crate::domain::normalize_keyword(raw);
                $(if key == $text $(|| key == $alias)* { return Ok($name::$variant); })+
                let valid: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                Err($crate::domain::ParseError::new(
                    $field,
                    format!("`{}` is not one of: {}", raw.trim(), valid.join(", ")),
                ))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use keyword_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_trimmed_and_bounded() {
        assert_eq!(parse_label("name", "  Acme  ", 10).unwrap(), "Acme");
        let cases = [
            ("", "must not be empty"),
            ("   ", "must not be empty"),
            ("a\u{7}b", "control"),
            ("abcdefghijk", "at most 10"),
        ];
        for (raw, expected) in cases {
            let err = parse_label("name", raw, 10).unwrap_err();
            assert_eq!(err.field, "name");
            assert!(err.message.contains(expected), "{raw:?}: {err}");
        }
    }
}
