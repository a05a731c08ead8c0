//! The outbox's events: what the store records in the same transaction as a change (a channel's
//! health, an operator problem, a reconnect, a refused account) so the alerts engine can act on
//! it later. One variant per kind, each with its own payload.
//!
//! The serde form is the stored one (the `kind` column and the `payload` JSON, see
//! `store::events`), so rows written before these types existed read back unchanged; only the
//! store encodes and decodes it.

use serde::{Deserialize, Serialize};

use super::{Health, HealthKind, LinkId, MemberId, Provider, Reason};

/// An outbox event. Adjacently tagged: `kind` is the `kind` column, `payload` the `payload`
/// column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Event {
    /// A channel's health changed (a check, a reconnect, an operator, a push signal).
    HealthChanged(HealthChanged),
    /// A check found a problem only an operator can fix (a newly seen one).
    OperatorProblem(OperatorProblem),
    /// A person reconnected the channel: the audit record of who did (the health change
    /// written with it is what resolves the incidents).
    Reconnected(Reconnected),
    /// A reconnect brought back another account than the channel's; refused on the page.
    AccountMismatch(AccountMismatch),
}

impl Event {
    /// The stored `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::HealthChanged(_) => "health_changed",
            Event::OperatorProblem(_) => "operator_problem",
            Event::Reconnected(_) => "reconnected",
            Event::AccountMismatch(_) => "account_mismatch",
        }
    }
}

/// A change of health. The stored form keeps the reason's detail of the new health only (as
/// the history does), so the old health's `Other` reason reads back without its words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HealthChangedWire", into = "HealthChangedWire")]
pub struct HealthChanged {
    pub from: Health,
    pub to: Health,
    /// What the network or the operator said, in plain words (never a token).
    pub detail: Option<String>,
    /// Whether the check that found it was caused by a push signal (those wait less to be
    /// grouped, see `alerts::planner`).
    pub pushed: bool,
}

/// The stored payload of a health change: the health columns as the history stores them.
#[derive(Serialize, Deserialize)]
struct HealthChangedWire {
    from: HealthKind,
    from_reason: Option<String>,
    to: HealthKind,
    to_reason: Option<String>,
    reason_detail: Option<String>,
    detail: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pushed: bool,
}

impl TryFrom<HealthChangedWire> for HealthChanged {
    type Error = super::ParseError;

    fn try_from(wire: HealthChangedWire) -> Result<Self, Self::Error> {
        Ok(HealthChanged {
            from: Health::from_parts(wire.from.as_str(), wire.from_reason.as_deref(), None)?,
            to: Health::from_parts(wire.to.as_str(), wire.to_reason.as_deref(), wire.reason_detail.as_deref())?,
            detail: wire.detail,
            pushed: wire.pushed,
        })
    }
}

impl From<HealthChanged> for HealthChangedWire {
    fn from(event: HealthChanged) -> Self {
        let reason_detail = event.to.reason().and_then(Reason::detail).map(str::to_owned);
        HealthChangedWire {
            from: event.from.kind(),
            from_reason: event.from.reason().map(|r| r.as_str().to_owned()),
            to: event.to.kind(),
            to_reason: event.to.reason().map(|r| r.as_str().to_owned()),
            reason_detail,
            detail: event.detail,
            pushed: event.pushed,
        }
    }
}

/// A problem only an operator can fix, in the checker's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorProblem {
    pub problem: String,
}

/// Who reconnected a channel, and what its health was before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconnected {
    pub member_id: Option<MemberId>,
    /// The health before, as displayed (`needs_reauth (expired)`): a record for people.
    pub previous_health: String,
}

/// The account a reconnect brought back, and the one the channel holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMismatch {
    pub provider: Provider,
    pub expected_account: String,
    pub got_account: String,
    pub link_id: LinkId,
}
