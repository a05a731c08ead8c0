//! Incidents: one open per channel and problem (expiring, needs reconnecting, degraded for too
//! long, operator problem). Transitions update the open incident instead of opening another;
//! the incident remembers what was said and when to speak next, and who acknowledged or snoozed
//! it. Acknowledging and snoozing are for members who may reconnect ([`acknowledge`], [`snooze`]).

use chrono::{DateTime, Utc};

use crate::domain::alert::IncidentId;
pub use crate::domain::alert::{Incident, Problem};
use crate::domain::{Member, MemberId, Role};
use crate::store::{Store, StoreError};

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

/// Acknowledges every open incident of `channels` (of `team`) for `by`: what "I'm on it" does in
/// a chat and on the team page. Returns how many were acknowledged; incidents resolved meanwhile
/// are skipped.
pub async fn acknowledge_channels(
    store: &Store,
    team: crate::domain::TeamId,
    channels: &[crate::domain::ChannelId],
    by: MemberId,
    now: DateTime<Utc>,
) -> Result<usize, IncidentError> {
    let mut acknowledged = 0;
    for incident in store.incidents(Some(team), false).await? {
        let Some(id) = incident.id.filter(|_| channels.contains(&incident.channel_id)) else { continue };
        match acknowledge(store, id, by, now).await {
            Ok(_) => acknowledged += 1,
            Err(IncidentError::Resolved(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(acknowledged)
}

/// Snoozes every open incident of `channel` (of `team`) for `by` until `until`: what `/snooze`
/// and the team page's Snooze do. Returns how many were snoozed; incidents resolved meanwhile are
/// skipped.
pub async fn snooze_channel(
    store: &Store,
    team: crate::domain::TeamId,
    channel: crate::domain::ChannelId,
    by: MemberId,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize, IncidentError> {
    let mut snoozed = 0;
    for incident in store.incidents(Some(team), false).await? {
        let Some(id) = incident.id.filter(|_| incident.channel_id == channel) else { continue };
        match snooze(store, id, by, until, now).await {
            Ok(_) => snoozed += 1,
            Err(IncidentError::Resolved(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(snoozed)
}
