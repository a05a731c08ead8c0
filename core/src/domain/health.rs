//! A channel's health and the reasons a channel needs to be reconnected: the causes of
//! disconnection in the seeds (natural expiry, password change, app revoked, admin role lost,
//! inactivity, the network's security checks) plus an account that came back wrong on reconnect.

use chrono::{DateTime, Utc};

use super::{ChannelId, ParseError, keyword_enum};

keyword_enum! {
    /// Why a channel needs a person to reconnect it.
    ReasonKind, "reason", {
        Expired => "expired",
        PasswordChanged => "password_changed",
        AppRevoked => "app_revoked",
        PermissionLost => "permission_lost",
        Inactivity => "inactivity",
        SecurityCheckpoint => "security_checkpoint",
        AccountMismatch => "account_mismatch",
        Other => "other",
    }
}

/// Why a channel needs reconnecting; `Other` carries what the network said.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reason {
    Expired,
    PasswordChanged,
    AppRevoked,
    PermissionLost,
    Inactivity,
    SecurityCheckpoint,
    AccountMismatch,
    Other(String),
}

impl Reason {
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }

    fn kind(&self) -> ReasonKind {
        match self {
            Reason::Expired => ReasonKind::Expired,
            Reason::PasswordChanged => ReasonKind::PasswordChanged,
            Reason::AppRevoked => ReasonKind::AppRevoked,
            Reason::PermissionLost => ReasonKind::PermissionLost,
            Reason::Inactivity => ReasonKind::Inactivity,
            Reason::SecurityCheckpoint => ReasonKind::SecurityCheckpoint,
            Reason::AccountMismatch => ReasonKind::AccountMismatch,
            Reason::Other(_) => ReasonKind::Other,
        }
    }

    /// The detail that goes with `Other`, if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Reason::Other(detail) => Some(detail),
            _ => None,
        }
    }

    /// Rebuilds a reason from its stored spelling and detail.
    pub fn from_parts(reason: &str, detail: Option<&str>) -> Result<Self, ParseError> {
        Ok(match reason.parse::<ReasonKind>()? {
            ReasonKind::Expired => Reason::Expired,
            ReasonKind::PasswordChanged => Reason::PasswordChanged,
            ReasonKind::AppRevoked => Reason::AppRevoked,
            ReasonKind::PermissionLost => Reason::PermissionLost,
            ReasonKind::Inactivity => Reason::Inactivity,
            ReasonKind::SecurityCheckpoint => Reason::SecurityCheckpoint,
            ReasonKind::AccountMismatch => Reason::AccountMismatch,
            ReasonKind::Other => Reason::Other(detail.unwrap_or_default().to_owned()),
        })
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Other(detail) if !detail.is_empty() => write!(f, "other ({detail})"),
            reason => f.write_str(reason.as_str()),
        }
    }
}

keyword_enum! {
    /// The health states without their reason, as stored in the `health` column.
    HealthKind, "health", {
        Unknown => "unknown",
        Healthy => "healthy",
        Expiring => "expiring",
        NeedsReauth => "needs_reauth",
        Degraded => "degraded",
    }
}

/// A channel's health.
///
/// `Degraded` means checks fail transiently (timeouts, 5xx, rate limits): it is never treated as
/// disconnected and never tells a team to reconnect.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Health {
    /// Never checked.
    Unknown,
    Healthy,
    /// Inside the warning window before an expiry relink cannot renew by itself.
    Expiring,
    /// A person must reconnect the channel.
    NeedsReauth(Reason),
    /// Checks are failing transiently.
    Degraded,
}

impl Health {
    /// The order channels are listed in for people: what needs a person first (needs
    /// reconnecting, expiring, degraded, not yet checked, healthy).
    pub fn attention_rank(&self) -> u8 {
        match self {
            Health::NeedsReauth(_) => 0,
            Health::Expiring => 1,
            Health::Degraded => 2,
            Health::Unknown => 3,
            Health::Healthy => 4,
        }
    }

    pub fn kind(&self) -> HealthKind {
        match self {
            Health::Unknown => HealthKind::Unknown,
            Health::Healthy => HealthKind::Healthy,
            Health::Expiring => HealthKind::Expiring,
            Health::NeedsReauth(_) => HealthKind::NeedsReauth,
            Health::Degraded => HealthKind::Degraded,
        }
    }

    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Health::NeedsReauth(reason) => Some(reason),
            _ => None,
        }
    }

    /// Rebuilds a health from its stored columns.
    pub fn from_parts(health: &str, reason: Option<&str>, detail: Option<&str>) -> Result<Self, ParseError> {
        Ok(match health.parse::<HealthKind>()? {
            HealthKind::Unknown => Health::Unknown,
            HealthKind::Healthy => Health::Healthy,
            HealthKind::Expiring => Health::Expiring,
            HealthKind::Degraded => Health::Degraded,
            HealthKind::NeedsReauth => {
                let reason = reason.ok_or_else(|| ParseError::new("reason", "needs_reauth without a reason"))?;
                Health::NeedsReauth(Reason::from_parts(reason, detail)?)
            }
        })
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Health::NeedsReauth(reason) => write!(f, "needs_reauth ({reason})"),
            other => f.write_str(other.kind().as_str()),
        }
    }
}

/// One entry of a channel's history: a change of health at a time, with what caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub channel_id: ChannelId,
    pub at: DateTime<Utc>,
    pub from: Health,
    pub to: Health,
    /// What the network or the operator said, in plain words (never a token).
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_round_trips_through_its_stored_columns() {
        let all = [
            Health::Unknown,
            Health::Healthy,
            Health::Expiring,
            Health::Degraded,
            Health::NeedsReauth(Reason::Expired),
            Health::NeedsReauth(Reason::PasswordChanged),
            Health::NeedsReauth(Reason::AppRevoked),
            Health::NeedsReauth(Reason::PermissionLost),
            Health::NeedsReauth(Reason::Inactivity),
            Health::NeedsReauth(Reason::SecurityCheckpoint),
            Health::NeedsReauth(Reason::AccountMismatch),
            Health::NeedsReauth(Reason::Other("code 368".into())),
        ];
        for health in all {
            let reason = health.reason();
            let back =
                Health::from_parts(health.kind().as_str(), reason.map(Reason::as_str), reason.and_then(Reason::detail))
                    .unwrap();
            assert_eq!(back, health);
        }
    }

    #[test]
    fn stored_values_that_make_no_sense_are_refused() {
        assert_eq!(Health::from_parts("needs_reauth", None, None).unwrap_err().field, "reason");
        assert_eq!(Health::from_parts("sick", None, None).unwrap_err().field, "health");
        assert_eq!(Health::from_parts("needs_reauth", Some("bored"), None).unwrap_err().field, "reason");
    }
}
