//! Incidents: one open per channel and problem (expiring, needs reconnecting, degraded for too
//! long, operator problem). Transitions update the open incident instead of opening another;
//! the incident remembers what was said and when to speak next, and who acknowledged or snoozed
//! it. Acknowledging and snoozing are for members who may reconnect ([`acknowledge`], [`snooze`]).

use chrono::{DateTime, Utc};

use super::model::{AlertId, IncidentId};
use crate::domain::{ChannelId, Member, MemberId, Reason, Role, TeamId, keyword_enum};
use crate::store::{Store, StoreError};

keyword_enum! {
    /// What is wrong with a channel: its token ends soon and relink cannot renew it; a person
    /// must reconnect it; checks have been failing transiently; relink's own app or bot has a
    /// problem (for operators).
    Problem, "problem", {
        Expiring => "expiring",
        NeedsReauth => "needs_reauth",
        Degraded => "degraded",
        OperatorProblem => "operator_problem",
    }
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// `None` until the engine's transaction inserts it.
    pub id: Option<IncidentId>,
    pub team_id: TeamId,
    pub channel_id: ChannelId,
    pub problem: Problem,
    pub reason: Option<Reason>,
    pub detail: Option<String>,
    /// When an expiring token ends.
    pub deadline: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    /// The smallest warning threshold, in days, already passed.
    pub warned_days: Option<u32>,
    pub reminders: u32,
    pub next_reminder_at: Option<DateTime<Utc>>,
    pub escalate_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub urgent: bool,
    pub last_alert_at: Option<DateTime<Utc>>,
    pub first_alert_id: Option<AlertId>,
    pub first_alert_shared: bool,
    pub acknowledged_by: Option<MemberId>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub snoozed_by: Option<MemberId>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub next_action_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl Incident {
    /// A new, open incident.
    pub fn open(team_id: TeamId, channel_id: ChannelId, problem: Problem, at: DateTime<Utc>) -> Self {
        Self {
            id: None,
            team_id,
            channel_id,
            problem,
            reason: None,
            detail: None,
            deadline: None,
            opened_at: at,
            warned_days: None,
            reminders: 0,
            next_reminder_at: None,
            escalate_at: None,
            escalated_at: None,
            urgent: false,
            last_alert_at: None,
            first_alert_id: None,
            first_alert_shared: false,
            acknowledged_by: None,
            acknowledged_at: None,
            snoozed_by: None,
            snoozed_until: None,
            next_action_at: None,
            resolved_at: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    pub fn is_snoozed(&self, now: DateTime<Utc>) -> bool {
        self.snoozed_until.is_some_and(|until| until > now)
    }
}

/// Why a member may not act on an incident.
#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error("{name} is {article} {role}: only the primary owner, owners and admins may acknowledge or snooze alerts")]
    NotAllowed { name: String, article: &'static str, role: Role },
    #[error("incident {0} belongs to another team")]
    OtherTeam(IncidentId),
    #[error("incident {0} is already resolved")]
    Resolved(IncidentId),
    #[error("a snooze must end in the future")]
    SnoozeInThePast,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks that `member` may act on `incident`: same team, a role that may reconnect, and the
/// incident still open.
fn may_act(member: &Member, incident: &Incident) -> Result<IncidentId, IncidentError> {
    let id = incident.id.expect("a stored incident has an id");
    if member.team_id != incident.team_id {
        return Err(IncidentError::OtherTeam(id));
    }
    if !member.role.may_reconnect() {
        let article = if member.role == Role::Editor { "an" } else { "a" };
        return Err(IncidentError::NotAllowed { name: member.name.to_string(), article, role: member.role });
    }
    if !incident.is_open() {
        return Err(IncidentError::Resolved(id));
    }
    Ok(id)
}

/// "I'm on it": stops the escalation of an incident; reminders go on until it is resolved.
pub async fn acknowledge(
    store: &Store,
    incident: IncidentId,
    by: MemberId,
    now: DateTime<Utc>,
) -> Result<Incident, IncidentError> {
    let member = store.member(by).await?;
    let current = store.incident(incident).await?;
    let id = may_act(&member, &current)?;
    store.acknowledge_incident(id, by, now).await?;
    Ok(store.incident(id).await?)
}

/// Silences an incident's reminders, warnings and escalation until `until`. A new, worse
/// problem (another incident, or a new reason) and posts due within 24 hours still speak.
pub async fn snooze(
    store: &Store,
    incident: IncidentId,
    by: MemberId,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Incident, IncidentError> {
    if until <= now {
        return Err(IncidentError::SnoozeInThePast);
    }
    let member = store.member(by).await?;
    let current = store.incident(incident).await?;
    let id = may_act(&member, &current)?;
    store.snooze_incident(id, by, until, now).await?;
    Ok(store.incident(id).await?)
}
