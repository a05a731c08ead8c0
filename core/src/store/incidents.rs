//! Incidents in the store: one open per channel and problem, as the alerts pass writes them;
//! read for people (`relink incident`, chat commands), acknowledged and snoozed by members (the
//! role checks are [`crate::alerts::acknowledge`]'s and [`crate::alerts::snooze`]'s).

use chrono::{DateTime, Utc};

use super::channel::corrupt;
use super::{Result, Store, StoreError, with_pool, with_writer};
use crate::domain::alert::{AlertId, Incident, IncidentId};
use crate::domain::{ChannelId, MemberId, Reason, TeamId};
use crate::time::{from_millis, to_millis};

#[derive(sqlx::FromRow)]
pub(super) struct IncidentRow {
    pub(super) id: i64,
    pub(super) team_id: i64,
    pub(super) channel_id: i64,
    problem: String,
    reason: Option<String>,
    detail: Option<String>,
    deadline: Option<i64>,
    opened_at: i64,
    warned_days: Option<i64>,
    reminders: i64,
    next_reminder_at: Option<i64>,
    escalate_at: Option<i64>,
    escalated_at: Option<i64>,
    urgent: bool,
    urgent_told_at: Option<i64>,
    last_alert_at: Option<i64>,
    first_alert_id: Option<i64>,
    first_alert_shared: bool,
    acknowledged_by: Option<i64>,
    acknowledged_at: Option<i64>,
    snoozed_by: Option<i64>,
    snoozed_until: Option<i64>,
    next_action_at: Option<i64>,
    resolved_at: Option<i64>,
}

pub(super) const INCIDENT_COLUMNS: &str = "id, team_id, channel_id, problem, reason, detail, deadline, opened_at, warned_days, \
    reminders, next_reminder_at, escalate_at, escalated_at, urgent, urgent_told_at, last_alert_at, first_alert_id, \
    first_alert_shared, acknowledged_by, acknowledged_at, snoozed_by, snoozed_until, next_action_at, resolved_at";

impl IncidentRow {
    pub(super) fn into_incident(self) -> Result<Incident> {
        let reason = self.reason.as_deref().map(|r| Reason::from_parts(r, self.detail.as_deref())).transpose();
        Ok(Incident {
            id: Some(IncidentId(self.id)),
            team_id: TeamId(self.team_id),
            channel_id: ChannelId(self.channel_id),
            problem: super::parse_column(&self.problem)?,
            reason: reason.map_err(corrupt)?,
            detail: self.detail,
            deadline: self.deadline.map(from_millis),
            opened_at: from_millis(self.opened_at),
            warned_days: self.warned_days.and_then(|d| u32::try_from(d).ok()),
            reminders: u32::try_from(self.reminders).unwrap_or(u32::MAX),
            next_reminder_at: self.next_reminder_at.map(from_millis),
            escalate_at: self.escalate_at.map(from_millis),
            escalated_at: self.escalated_at.map(from_millis),
            urgent: self.urgent,
            urgent_told_at: self.urgent_told_at.map(from_millis),
            last_alert_at: self.last_alert_at.map(from_millis),
            first_alert_id: self.first_alert_id.map(AlertId),
            first_alert_shared: self.first_alert_shared,
            acknowledged_by: self.acknowledged_by.map(MemberId),
            acknowledged_at: self.acknowledged_at.map(from_millis),
            snoozed_by: self.snoozed_by.map(MemberId),
            snoozed_until: self.snoozed_until.map(from_millis),
            next_action_at: self.next_action_at.map(from_millis),
            resolved_at: self.resolved_at.map(from_millis),
        })
    }
}

impl Store {
    /// When the earliest open incident's next action is due.
    pub async fn next_incident_action(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT MIN(next_action_at) FROM incidents WHERE resolved_at IS NULL")
                .fetch_one(pool)
                .await
        })?;
        Ok(next.map(from_millis))
    }

    pub async fn incident(&self, id: IncidentId) -> Result<Incident> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        let row: Option<IncidentRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(pool).await
        })?;
        row.ok_or_else(|| StoreError::NotFound(format!("no incident with id {id}")))?.into_incident()
    }

    /// How many incidents are open, over every team (the `relink_incidents_open` gauge).
    pub async fn open_incident_count(&self) -> Result<u64> {
        let count: i64 = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM incidents WHERE resolved_at IS NULL").fetch_one(pool).await
        })?;
        Ok(count.max(0) as u64)
    }

    /// A team's incidents (or everyone's), open ones only unless `all`, oldest first.
    pub async fn incidents(&self, team: Option<TeamId>, all: bool) -> Result<Vec<Incident>> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE ($1 IS NULL OR team_id = $1) \
             AND ($2 OR resolved_at IS NULL) ORDER BY id"
        );
        let rows: Vec<IncidentRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.map(|t| t.0)).bind(all).fetch_all(pool).await
        })?;
        rows.into_iter().map(IncidentRow::into_incident).collect()
    }

    /// Records an acknowledgement (the role check is [`crate::alerts::acknowledge`]'s).
    pub async fn acknowledge_incident(&self, id: IncidentId, by: MemberId, now: DateTime<Utc>) -> Result<()> {
        self.update_open_incident(
            "UPDATE incidents SET acknowledged_by = $1, acknowledged_at = $2, updated_at = $2 \
             WHERE id = $3 AND resolved_at IS NULL",
            id,
            by,
            now,
            None,
        )
        .await
    }

    /// Records a snooze until `until`; the engine looks at the incident again when it ends (the
    /// role check is [`crate::alerts::snooze`]'s).
    pub async fn snooze_incident(
        &self,
        id: IncidentId,
        by: MemberId,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.update_open_incident(
            "UPDATE incidents SET snoozed_by = $1, updated_at = $2, snoozed_until = $4, \
             next_action_at = CASE WHEN next_action_at IS NULL OR next_action_at < $4 THEN next_action_at ELSE $4 END \
             WHERE id = $3 AND resolved_at IS NULL",
            id,
            by,
            now,
            Some(until),
        )
        .await
    }

    async fn update_open_incident(
        &self,
        sql: &'static str,
        id: IncidentId,
        by: MemberId,
        now: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let changed = with_writer!(self.db(), |pool| {
            let query = sqlx::query(sql).bind(by.0).bind(to_millis(now)).bind(id.0);
            let query = match until {
                Some(until) => query.bind(to_millis(until)),
                None => query,
            };
            query.execute(pool).await.map(|r| r.rows_affected())
        })?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no open incident with id {id}")));
        }
        Ok(())
    }
}
