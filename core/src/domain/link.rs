//! Reconnect links and API keys as relink shows them: what a link is bound to and whether it can
//! still be used. The secrets themselves are [`crate::opaque::OpaqueToken`]s and never stored.

use chrono::{DateTime, Utc};

use super::{ChannelId, MemberId, ParseError, TeamId, id_type, parse_label};

id_type!(
    /// A reconnect link's row id (not its secret).
    LinkId, "link id"
);

id_type!(
    /// An API key's row id (not its secret).
    ApiKeyId, "api key id"
);

/// A reconnect link: single-use, expiring, bound to a team and a channel and, when a member
/// asked for it, to that member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectLink {
    pub id: LinkId,
    pub team_id: TeamId,
    pub channel_id: ChannelId,
    pub member_id: Option<MemberId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Whether a link can still start a reconnection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStatus {
    Usable,
    Used,
    Expired,
}

impl ReconnectLink {
    /// A used link stays used after it expires: the person is told it was used.
    pub fn status(&self, now: DateTime<Utc>) -> LinkStatus {
        if self.used_at.is_some() {
            LinkStatus::Used
        } else if self.expires_at <= now {
            LinkStatus::Expired
        } else {
            LinkStatus::Usable
        }
    }
}

/// An API key's name, unique within its team ("buffer-prod"): 1–64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiKeyName(String);

impl ApiKeyName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        parse_label("api key name", raw, 64).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ApiKeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A team's API key, as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub team_id: TeamId,
    pub name: ApiKeyName,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_usable_until_used_or_expired() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let link = ReconnectLink {
            id: LinkId(1),
            team_id: TeamId(1),
            channel_id: ChannelId(1),
            member_id: None,
            created_at: at("2026-03-01T00:00:00Z"),
            expires_at: at("2026-03-02T00:00:00Z"),
            used_at: None,
        };
        assert_eq!(link.status(at("2026-03-01T23:59:59Z")), LinkStatus::Usable);
        assert_eq!(link.status(at("2026-03-02T00:00:00Z")), LinkStatus::Expired);
        let used = ReconnectLink { used_at: Some(at("2026-03-01T10:00:00Z")), ..link };
        assert_eq!(used.status(at("2026-03-05T00:00:00Z")), LinkStatus::Used);
    }
}
