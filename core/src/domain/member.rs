//! Members of a team, their roles, and the chat identities linked to them.

use chrono::{DateTime, Utc};

use super::{ParseError, TeamId, id_type, keyword_enum, parse_label};

id_type!(
    /// A member's row id.
    MemberId, "member id"
);

keyword_enum! {
    /// What a member may do. Only the primary owner, owners and admins receive reconnect links
    /// and may reconnect, snooze, acknowledge or bind chats (Statusbrew's rule in the seeds).
    Role, "role", {
        PrimaryOwner => "primary_owner" | "primaryowner",
        Owner => "owner",
        Admin => "admin" | "administrator",
        Editor => "editor",
        Viewer => "viewer",
    }
}

impl Role {
    /// Whether this role may reconnect channels, snooze or acknowledge alerts and bind chats.
    pub fn may_reconnect(self) -> bool {
        matches!(self, Role::PrimaryOwner | Role::Owner | Role::Admin)
    }
}

/// A member's name within a team: 1–64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberName(String);

impl MemberName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        parse_label("member name", raw, 64).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MemberName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a platform's numeric user id (a Discord snowflake, a Telegram user id).
fn parse_user_id(field: &'static str, raw: &str) -> Result<i64, ParseError> {
    match raw.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ParseError::new(field, format!("`{}` is not a numeric user id", raw.trim()))),
    }
}

/// A Discord user id (a snowflake).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiscordUserId(pub i64);

impl std::str::FromStr for DiscordUserId {
    type Err = ParseError;
    fn from_str(raw: &str) -> Result<Self, ParseError> {
        parse_user_id("discord user id", raw).map(Self)
    }
}

impl std::fmt::Display for DiscordUserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A Telegram user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelegramUserId(pub i64);

impl std::str::FromStr for TelegramUserId {
    type Err = ParseError;
    fn from_str(raw: &str) -> Result<Self, ParseError> {
        parse_user_id("telegram user id", raw).map(Self)
    }
}

impl std::fmt::Display for TelegramUserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: MemberId,
    pub team_id: TeamId,
    pub name: MemberName,
    pub role: Role,
    pub discord_user_id: Option<DiscordUserId>,
    pub telegram_user_id: Option<TelegramUserId>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_forgivingly_and_only_the_top_three_may_reconnect() {
        let table = [
            ("primary_owner", Role::PrimaryOwner, true),
            ("Primary-Owner", Role::PrimaryOwner, true),
            ("owner", Role::Owner, true),
            ("ADMIN", Role::Admin, true),
            ("editor", Role::Editor, false),
            (" viewer ", Role::Viewer, false),
        ];
        for (raw, role, may) in table {
            let parsed: Role = raw.parse().unwrap();
            assert_eq!(parsed, role, "{raw}");
            assert_eq!(parsed.may_reconnect(), may, "{raw}");
        }
        let err = "boss".parse::<Role>().unwrap_err();
        assert_eq!(err.field, "role");
        assert!(err.message.contains("primary_owner, owner, admin, editor, viewer"), "{err}");
    }

    #[test]
    fn user_ids_must_be_positive_numbers() {
        assert_eq!("1234".parse::<DiscordUserId>().unwrap(), DiscordUserId(1234));
        assert_eq!("-5".parse::<TelegramUserId>().unwrap_err().field, "telegram user id");
        assert_eq!("@bob".parse::<DiscordUserId>().unwrap_err().field, "discord user id");
    }
}
