//! The alerts' side of the store: one transaction per engine pass (claim outbox events and due
//! incidents, read what the plan needs, write incidents, alerts and deliveries, all or nothing),
//! the delivery outbox (claimed under a lease like due checks), incidents for people, and
//! each team's alert settings.
//!
//! The pass takes PostgreSQL's transaction-scoped advisory lock first, so two relink processes
//! never plan from the same events; SQLite has one writer anyway, and the pass's first
//! statement is a write so it queues for the lock instead of failing on upgrade.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::channel::{CHANNEL_COLUMNS, ChannelRow, corrupt};
use super::chat::BindingRow;
use super::member::{MEMBER_COLUMNS, MemberRow};
use super::team::{TEAM_COLUMNS, TeamRow};
use super::{Engine, Result, Store, StoreError, with_pool, with_writer};
use crate::alerts::{
    Alert, AlertId, AlertKind, DeliveryId, Destination, Incident, IncidentId, SentRef, SettingsOverride,
    format_warning_days, parse_warning_days,
};
use crate::domain::{Channel, ChannelId, ChatBinding, Event, HealthKind, Member, MemberId, Reason, Team, TeamId};
use crate::time::{from_millis, to_millis};

/// The key of the advisory lock that makes one alerts pass at a time across processes.
const ALERTS_LOCK: i64 = 0x7265_6c69_6e6b_0001;

/// An event of the outbox, as the engine reads it: decoded once, by the store.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    pub id: i64,
    pub team_id: TeamId,
    pub channel_id: Option<ChannelId>,
    pub event: Event,
    pub created_at: DateTime<Utc>,
}

/// Everything one engine pass plans from, read inside its transaction.
#[derive(Debug, Default)]
pub struct AlertSnapshot {
    /// The claimed events, in id order.
    pub events: Vec<OutboxEvent>,
    /// Incidents whose next action is due.
    pub due: Vec<IncidentId>,
    /// The open incidents of every channel involved (those of `due` among them).
    pub incidents: Vec<Incident>,
    pub channels: HashMap<ChannelId, Channel>,
    /// Each involved channel's current operator problem, if any.
    pub operator_problems: HashMap<ChannelId, String>,
    pub teams: HashMap<TeamId, Team>,
    pub settings: HashMap<TeamId, SettingsOverride>,
    pub members: HashMap<TeamId, Vec<Member>>,
    pub bindings: HashMap<TeamId, Vec<ChatBinding>>,
    /// Due times of each involved channel's pending posts, from now on.
    pub posts: HashMap<ChannelId, Vec<DateTime<Utc>>>,
}

/// What a pass writes: every incident it opened or changed, and the alerts with their
/// destinations. Alerts name their incidents by index into `incidents` (new ones have no id yet).
#[derive(Debug, Default)]
pub struct AlertPlan {
    pub incidents: Vec<Incident>,
    pub alerts: Vec<PlannedAlert>,
}

#[derive(Debug)]
pub struct PlannedAlert {
    pub alert: Alert,
    pub incidents: Vec<usize>,
    pub destinations: Vec<Destination>,
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub events: usize,
    pub due: usize,
    pub alerts: usize,
    pub deliveries: usize,
}

/// A delivery claimed by a worker.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: DeliveryId,
    pub alert: Alert,
    pub destination: Destination,
    pub idempotency_key: String,
    /// Attempts before this one.
    pub attempts: u32,
    /// For a resolution: the message to edit at this destination, if it was sent.
    pub edit: Option<SentRef>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Sent(SentRef),
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    Dead {
        error: String,
    },
    /// Not attempted (another process delivers for the platform): due again at `at`, without
    /// counting an attempt.
    Defer {
        at: DateTime<Utc>,
    },
}

/// A delivery as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryInfo {
    pub id: DeliveryId,
    pub alert_id: AlertId,
    pub team: String,
    pub kind: AlertKind,
    pub destination: Destination,
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct IncidentRow {
    id: i64,
    team_id: i64,
    channel_id: i64,
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

const INCIDENT_COLUMNS: &str = "id, team_id, channel_id, problem, reason, detail, deadline, opened_at, warned_days, \
    reminders, next_reminder_at, escalate_at, escalated_at, urgent, last_alert_at, first_alert_id, \
    first_alert_shared, acknowledged_by, acknowledged_at, snoozed_by, snoozed_until, next_action_at, resolved_at";

impl IncidentRow {
    fn into_incident(self) -> Result<Incident> {
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

#[derive(sqlx::FromRow)]
struct SnapshotChannelRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    operator_problem: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    team_id: i64,
    warning_days: Option<String>,
    first_reminder_ms: Option<i64>,
    reminder_every_ms: Option<i64>,
    escalate_after_ms: Option<i64>,
    check_every_ms: Option<i64>,
}

impl SettingsRow {
    fn into_override(self) -> Result<SettingsOverride> {
        let span =
            |ms: Option<i64>| ms.map(|ms| chrono::Duration::try_milliseconds(ms).unwrap_or(chrono::Duration::MAX));
        Ok(SettingsOverride {
            warning_days: self.warning_days.as_deref().map(parse_warning_days).transpose().map_err(corrupt)?,
            first_reminder: span(self.first_reminder_ms),
            reminder_every: span(self.reminder_every_ms),
            escalate_after: span(self.escalate_after_ms),
            check_every: span(self.check_every_ms),
        })
    }
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    alert_id: i64,
    destination: String,
    idempotency_key: String,
    attempts: i64,
}

#[derive(sqlx::FromRow)]
struct DeliveryInfoRow {
    id: i64,
    alert_id: i64,
    team: String,
    kind: String,
    destination: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    next_attempt_at: i64,
    sent_at: Option<i64>,
}

impl DeliveryInfoRow {
    fn into_info(self) -> Result<DeliveryInfo> {
        Ok(DeliveryInfo {
            id: DeliveryId(self.id),
            alert_id: AlertId(self.alert_id),
            team: self.team,
            kind: super::parse_column(&self.kind)?,
            destination: super::parse_column(&self.destination)?,
            status: self.status,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            last_error: self.last_error,
            next_attempt_at: from_millis(self.next_attempt_at),
            sent_at: self.sent_at.map(from_millis),
        })
    }
}

/// Reads an alert's stored body back.
fn alert_from_body(id: i64, body: &str) -> Result<Alert> {
    let mut alert: Alert = serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("alert {id} has an unreadable body: {e}")))?;
    alert.id = AlertId(id);
    Ok(alert)
}

/// Integer ids read from the database, as an SQL list: safe to inline.
fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}

/// Inserts an alert, links it to its incidents (recording it as their first alert when they
/// had none) and enqueues one delivery per destination, inside the caller's transaction.
/// Evaluates to the new alert's id. A macro because each engine's transaction is its own type.
macro_rules! insert_alert {
    ($tx:expr, $alert:expr, $destinations:expr, $now_ms:expr) => {{
        let alert: &Alert = $alert;
        let body =
            serde_json::to_string(alert).map_err(|e| StoreError::Corrupt(format!("cannot store an alert: {e}")))?;
        let alert_id: i64 = sqlx::query_scalar(
            "INSERT INTO alerts (team_id, kind, severity, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(alert.team_id.0)
        .bind(alert.kind.as_str())
        .bind(alert.severity.as_str())
        .bind(body)
        .bind($now_ms)
        .fetch_one(&mut *$tx)
        .await?;
        let shared = alert.incidents.len() > 1;
        for incident in &alert.incidents {
            sqlx::query("INSERT INTO alert_incidents (alert_id, incident_id) VALUES ($1, $2)")
                .bind(alert_id)
                .bind(incident.0)
                .execute(&mut *$tx)
                .await?;
            if alert.kind != AlertKind::Resolved {
                sqlx::query(
                    "UPDATE incidents SET first_alert_id = $1, first_alert_shared = $2 \
                     WHERE id = $3 AND first_alert_id IS NULL",
                )
                .bind(alert_id)
                .bind(shared)
                .bind(incident.0)
                .execute(&mut *$tx)
                .await?;
            }
        }
        let mut enqueued = 0usize;
        for destination in $destinations {
            let destination = destination.to_string();
            enqueued += sqlx::query(
                "INSERT INTO deliveries (alert_id, destination, idempotency_key, next_attempt_at, created_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(alert_id)
            .bind(&destination)
            .bind(format!("relink-alert-{alert_id}-{destination}"))
            .bind($now_ms)
            .execute(&mut *$tx)
            .await?
            .rows_affected() as usize;
        }
        (alert_id, enqueued)
    }};
}

/// The outbox events not yet planned: when the oldest and newest were written, and whether
/// every health change among them comes from a check a push signal caused (and there is one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingEvents {
    pub oldest: DateTime<Utc>,
    pub newest: DateTime<Utc>,
    pub all_pushed: bool,
}

impl Store {
    /// One alerts pass in one transaction: claims up to `limit` outbox events created at or
    /// before `events_until` (in id order) and up to `limit` incidents due at `now`, reads
    /// what `plan` needs, and writes the plan. Nothing is written if anything fails, so an event
    /// is either processed with all its alerts and deliveries, or not at all.
    pub async fn alert_pass(
        &self,
        now: DateTime<Utc>,
        events_until: DateTime<Utc>,
        limit: u32,
        plan: impl FnOnce(&AlertSnapshot) -> AlertPlan,
    ) -> Result<PassReport> {
        let now_ms = to_millis(now);
        let engine = self.db().engine();
        let outcome: Result<PassReport, StoreError> = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                if engine == Engine::Postgres {
                    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(ALERTS_LOCK).execute(&mut *tx).await?;
                }
                let events: Vec<(i64, i64, Option<i64>, String, String, i64)> = sqlx::query_as(
                    "UPDATE events SET processed_at = $1 WHERE processed_at IS NULL AND id IN \
                     (SELECT id FROM events WHERE processed_at IS NULL AND created_at <= $2 ORDER BY id LIMIT $3) \
                     RETURNING id, team_id, channel_id, kind, payload, created_at",
                )
                .bind(now_ms)
                .bind(to_millis(events_until))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
                let due_sql = format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE resolved_at IS NULL AND next_action_at <= $1 \
                     ORDER BY next_action_at LIMIT $2"
                );
                let due: Vec<IncidentRow> = sqlx::query_as(sqlx::AssertSqlSafe(due_sql))
                    .bind(now_ms)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                let mut report = PassReport { events: events.len(), due: due.len(), ..PassReport::default() };
                if events.is_empty() && due.is_empty() {
                    tx.commit().await?;
                    return Ok(report);
                }

                let mut snapshot = AlertSnapshot::default();
                for (id, team_id, channel_id, kind, payload, created_at) in events {
                    // Claimed all the same: a row nobody can read must not hold the outbox up.
                    let event = match super::events::decode(&kind, &payload) {
                        Ok(event) => event,
                        Err(error) => {
                            tracing::warn!(event = id, %error, "alerts: an outbox event that cannot be read, skipped");
                            continue;
                        }
                    };
                    snapshot.events.push(OutboxEvent {
                        id,
                        team_id: TeamId(team_id),
                        channel_id: channel_id.map(ChannelId),
                        event,
                        created_at: from_millis(created_at),
                    });
                }
                snapshot.events.sort_by_key(|e| e.id);
                snapshot.due = due.iter().map(|row| IncidentId(row.id)).collect();
                let channel_ids: HashSet<i64> = snapshot
                    .events
                    .iter()
                    .filter_map(|e| e.channel_id.map(|c| c.0))
                    .chain(due.iter().map(|row| row.channel_id))
                    .collect();
                let channels = id_list(channel_ids.iter().copied());

                let sql = format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE resolved_at IS NULL AND channel_id IN ({channels}) \
                     ORDER BY id"
                );
                let rows: Vec<IncidentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
                snapshot.incidents = rows.into_iter().map(IncidentRow::into_incident).collect::<Result<_>>()?;

                let sql = format!("SELECT {CHANNEL_COLUMNS}, operator_problem FROM channels WHERE id IN ({channels})");
                let rows: Vec<SnapshotChannelRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
                for row in rows {
                    let channel = row.channel.into_channel()?;
                    if let Some(problem) = row.operator_problem {
                        snapshot.operator_problems.insert(channel.id, problem);
                    }
                    snapshot.channels.insert(channel.id, channel);
                }
                let teams = id_list(snapshot.channels.values().map(|c| c.team_id.0).collect::<HashSet<_>>());
                if !teams.is_empty() {
                    let sql = format!("SELECT {TEAM_COLUMNS} FROM teams WHERE id IN ({teams})");
                    let rows: Vec<TeamRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
                    for row in rows {
                        let team = row.into_team()?;
                        snapshot.teams.insert(team.id, team);
                    }
                    let sql = format!(
                        "SELECT team_id, warning_days, first_reminder_ms, reminder_every_ms, escalate_after_ms, check_every_ms \
                         FROM team_alert_settings WHERE team_id IN ({teams})"
                    );
                    let rows: Vec<SettingsRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
                    for row in rows {
                        snapshot.settings.insert(TeamId(row.team_id), row.into_override()?);
                    }
                    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE team_id IN ({teams}) ORDER BY id");
                    let rows: Vec<MemberRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
                    for row in rows {
                        let member = row.into_member()?;
                        snapshot.members.entry(member.team_id).or_default().push(member);
                    }
                    let sql = format!(
                        "SELECT team_id, platform, chat_id, enabled, created_at FROM chat_bindings \
                         WHERE team_id IN ({teams}) ORDER BY id"
                    );
                    let rows: Vec<BindingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *tx).await?;
                    for row in rows {
                        let binding = row.into_binding()?;
                        snapshot.bindings.entry(binding.team_id).or_default().push(binding);
                    }
                    let sql = format!(
                        "SELECT channel_id, due_at FROM scheduled_posts WHERE status = 'pending' AND due_at >= $1 \
                         AND channel_id IN ({channels})"
                    );
                    let rows: Vec<(i64, i64)> =
                        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(now_ms).fetch_all(&mut *tx).await?;
                    for (channel, due_at) in rows {
                        snapshot.posts.entry(ChannelId(channel)).or_default().push(from_millis(due_at));
                    }
                }

                let plan = plan(&snapshot);
                let mut ids = Vec::with_capacity(plan.incidents.len());
                for incident in &plan.incidents {
                    // The columns the engine owns, in the same order in both statements.
                    macro_rules! bind_state {
                        ($query:expr) => {
                            $query
                                .bind(incident.reason.as_ref().map(Reason::as_str))
                                .bind(incident.detail.as_deref())
                                .bind(incident.deadline.map(to_millis))
                                .bind(incident.warned_days.map(i64::from))
                                .bind(i64::from(incident.reminders))
                                .bind(incident.next_reminder_at.map(to_millis))
                                .bind(incident.escalate_at.map(to_millis))
                                .bind(incident.escalated_at.map(to_millis))
                                .bind(incident.urgent)
                                .bind(incident.last_alert_at.map(to_millis))
                                .bind(incident.next_action_at.map(to_millis))
                                .bind(incident.resolved_at.map(to_millis))
                                .bind(now_ms)
                        };
                    }
                    let id = match incident.id {
                        Some(id) => {
                            bind_state!(sqlx::query(
                                "UPDATE incidents SET reason = $1, detail = $2, deadline = $3, warned_days = $4, \
                                 reminders = $5, next_reminder_at = $6, escalate_at = $7, escalated_at = $8, urgent = $9, \
                                 last_alert_at = $10, next_action_at = $11, resolved_at = $12, updated_at = $13 \
                                 WHERE id = $14",
                            ))
                            .bind(id.0)
                            .execute(&mut *tx)
                            .await?;
                            id
                        }
                        None => {
                            let id: i64 = bind_state!(sqlx::query_scalar(
                                "INSERT INTO incidents (reason, detail, deadline, warned_days, reminders, \
                                 next_reminder_at, escalate_at, escalated_at, urgent, last_alert_at, next_action_at, \
                                 resolved_at, updated_at, team_id, channel_id, problem, opened_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                                 RETURNING id",
                            ))
                            .bind(incident.team_id.0)
                            .bind(incident.channel_id.0)
                            .bind(incident.problem.as_str())
                            .bind(to_millis(incident.opened_at))
                            .fetch_one(&mut *tx)
                            .await?;
                            IncidentId(id)
                        }
                    };
                    ids.push(id);
                }
                for planned in plan.alerts {
                    let mut alert = planned.alert;
                    alert.incidents = planned.incidents.iter().map(|i| ids[*i]).collect();
                    let (_, enqueued) = insert_alert!(tx, &alert, &planned.destinations, now_ms);
                    report.alerts += 1;
                    report.deliveries += enqueued;
                }
                tx.commit().await?;
                Ok(report)
            }
            .await
        });
        outcome
    }

    /// When the earliest open incident's next action is due.
    pub async fn next_incident_action(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT MIN(next_action_at) FROM incidents WHERE resolved_at IS NULL")
                .fetch_one(pool)
                .await
        })?;
        Ok(next.map(from_millis))
    }

    /// The creation times of the oldest and the newest unprocessed outbox events, if any, and
    /// whether every disconnection among them was found by a check a push signal caused.
    ///
    /// What grouping is for is disconnections (one cause, one message); other events ride
    /// along. The filter reads the payload's `to` and `pushed` with each engine's JSON operator;
    /// should a payload not be JSON (nothing relink writes), the statement fails and the rows
    /// are read and decoded here instead until the pass has taken the bad one.
    pub async fn unprocessed_events_span(&self) -> Result<Option<PendingEvents>> {
        let payload = match self.db().engine() {
            Engine::Sqlite => "jsonb(payload)",
            Engine::Postgres => "CAST(payload AS jsonb)",
        };
        let (disconnection, pushed) = match self.db().engine() {
            Engine::Sqlite => ("p ->> 'to' = 'needs_reauth'", "COALESCE(p ->> 'pushed', 0) = 1"),
            Engine::Postgres => ("p ->> 'to' = 'needs_reauth'", "COALESCE(p ->> 'pushed', 'false') = 'true'"),
        };
        let sql = format!(
            "SELECT MIN(created_at), MAX(created_at), \
                    COUNT(CASE WHEN {disconnection} AND {pushed} THEN 1 END), \
                    COUNT(CASE WHEN {disconnection} AND NOT ({pushed}) THEN 1 END) \
             FROM (SELECT created_at, CASE WHEN kind = 'health_changed' THEN {payload} END AS p \
                   FROM events WHERE processed_at IS NULL) AS pending"
        );
        let counted: std::result::Result<(Option<i64>, Option<i64>, i64, i64), sqlx::Error> =
            with_pool!(self.db(), |pool| { sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_one(pool).await });
        let (oldest, newest, pushed, unpushed) = match counted {
            Ok(counted) => counted,
            Err(sqlx::Error::Database(error)) => {
                tracing::warn!(%error, "alerts: an unprocessed outbox payload is not JSON; reading the outbox row by row");
                self.unprocessed_events_span_decoded().await?
            }
            Err(error) => return Err(error.into()),
        };
        Ok(oldest.zip(newest).map(|(oldest, newest)| PendingEvents {
            oldest: from_millis(oldest),
            newest: from_millis(newest),
            all_pushed: pushed > 0 && unpushed == 0,
        }))
    }

    /// [`Store::unprocessed_events_span`]'s counts, decoding every unprocessed row here.
    async fn unprocessed_events_span_decoded(&self) -> Result<(Option<i64>, Option<i64>, i64, i64)> {
        let rows: Vec<(i64, String, String)> = with_pool!(self.db(), |pool| {
            sqlx::query_as("SELECT created_at, kind, payload FROM events WHERE processed_at IS NULL")
                .fetch_all(pool)
                .await
        })?;
        let (mut oldest, mut newest, mut pushed, mut unpushed) = (None::<i64>, None::<i64>, 0, 0);
        for (created_at, kind, payload) in rows {
            oldest = Some(oldest.map_or(created_at, |o| o.min(created_at)));
            newest = Some(newest.map_or(created_at, |n| n.max(created_at)));
            if let Ok(Event::HealthChanged(change)) = super::events::decode(&kind, &payload)
                && change.to.kind() == HealthKind::NeedsReauth
            {
                if change.pushed {
                    pushed += 1;
                } else {
                    unpushed += 1;
                }
            }
        }
        Ok((oldest, newest, pushed, unpushed))
    }

    /// Stores an alert that no incident produced (an operator notice) and enqueues its deliveries.
    pub async fn enqueue_alert(
        &self,
        alert: &Alert,
        destinations: &[Destination],
        now: DateTime<Utc>,
    ) -> Result<AlertId> {
        let now_ms = to_millis(now);
        let id: Result<i64, StoreError> = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let (id, _) = insert_alert!(tx, alert, destinations, now_ms);
                tx.commit().await?;
                Ok(id)
            }
            .await
        });
        Ok(AlertId(id?))
    }

    /// Claims up to `limit` deliveries due at `now` for `owner` until `lease_until`, earliest
    /// first, through the `deliveries_due` index. The claim pushes `next_attempt_at` to the
    /// lease's end, so a crashed worker's deliveries come due again by themselves.
    pub async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<ClaimedDelivery>> {
        let lock = self.db().skip_locked();
        let sql = format!(
            "UPDATE deliveries SET lease_owner = $1, lease_until = $2, next_attempt_at = $2 \
             WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $3 \
                          ORDER BY next_attempt_at, id LIMIT $4 {lock}) \
             RETURNING id, alert_id, destination, idempotency_key, attempts"
        );
        let mut rows: Vec<ClaimRow> = with_writer!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(to_millis(lease_until))
                .bind(to_millis(now))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        rows.sort_by_key(|row| row.id);
        let sql = format!(
            "SELECT id, body FROM alerts WHERE id IN ({})",
            id_list(rows.iter().map(|r| r.alert_id).collect::<HashSet<_>>())
        );
        let bodies: Vec<(i64, String)> =
            with_pool!(self.db(), |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        let alerts: HashMap<i64, Alert> =
            bodies.iter().map(|(id, body)| Ok((*id, alert_from_body(*id, body)?))).collect::<Result<_>>()?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let alert = alerts.get(&row.alert_id).cloned().ok_or_else(|| corrupt(format!("alert {}", row.alert_id)))?;
            let edit = match alert.edits {
                Some(original) => self.sent_ref(original, &row.destination).await?,
                None => None,
            };
            claimed.push(ClaimedDelivery {
                id: DeliveryId(row.id),
                destination: super::parse_column(&row.destination)?,
                alert,
                idempotency_key: row.idempotency_key,
                attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
                edit,
            });
        }
        Ok(claimed)
    }

    /// The platform's reference to `alert`'s message at `destination`, if it was sent.
    async fn sent_ref(&self, alert: AlertId, destination: &str) -> Result<Option<SentRef>> {
        let found: Option<Option<String>> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT sent_ref FROM deliveries WHERE alert_id = $1 AND destination = $2 AND status = 'sent'",
            )
            .bind(alert.0)
            .bind(destination)
            .fetch_optional(pool)
            .await
        })?;
        Ok(found.flatten().map(SentRef))
    }

    /// Records how an attempt ended, if `owner` still holds the delivery's lease. Returns whether
    /// it did.
    pub async fn finish_delivery(
        &self,
        id: DeliveryId,
        owner: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let now_ms = to_millis(now);
        let (status, next_attempt_at, error, sent_ref, sent_at) = match result {
            DeliveryResult::Sent(sent) => ("sent", now_ms, None, Some(sent.0.as_str()), Some(now_ms)),
            DeliveryResult::Retry { at, error } => ("pending", to_millis(*at), Some(error.as_str()), None, None),
            DeliveryResult::Dead { error } => ("dead", now_ms, Some(error.as_str()), None, None),
            DeliveryResult::Defer { at } => ("pending", to_millis(*at), None, None, None),
        };
        let attempted = i64::from(!matches!(result, DeliveryResult::Defer { .. }));
        let changed = with_writer!(self.db(), |pool| {
            sqlx::query(
                "UPDATE deliveries SET status = $1, attempts = attempts + $8, next_attempt_at = $2, \
                 last_error = COALESCE($3, last_error), \
                 sent_ref = $4, sent_at = $5, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $6 AND lease_owner = $7",
            )
            .bind(status)
            .bind(next_attempt_at)
            .bind(error)
            .bind(sent_ref)
            .bind(sent_at)
            .bind(id.0)
            .bind(owner)
            .bind(attempted)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// The earliest pending delivery's next attempt: when delivery workers should wake up.
    pub async fn next_delivery_at(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending'")
                .fetch_one(pool)
                .await
        })?;
        Ok(next.map(from_millis))
    }

    /// Deliveries, newest first: the dead letters only (`dead`), or those of one alert.
    pub async fn deliveries(&self, dead_only: bool, alert: Option<AlertId>, limit: u32) -> Result<Vec<DeliveryInfo>> {
        let rows: Vec<DeliveryInfoRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT d.id, d.alert_id, t.name AS team, a.kind, d.destination, d.status, d.attempts, d.last_error, \
                 d.next_attempt_at, d.sent_at FROM deliveries d JOIN alerts a ON a.id = d.alert_id \
                 JOIN teams t ON t.id = a.team_id \
                 WHERE (NOT $1 OR d.status = 'dead') AND ($2 IS NULL OR d.alert_id = $2) ORDER BY d.id DESC LIMIT $3",
            )
            .bind(dead_only)
            .bind(alert.map(|a| a.0))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter().map(DeliveryInfoRow::into_info).collect()
    }

    /// Puts dead deliveries (one, or all with `None`) back in the queue, due now with a fresh
    /// count of attempts. Returns how many.
    pub async fn retry_deliveries(&self, id: Option<DeliveryId>, now: DateTime<Utc>) -> Result<u64> {
        let retried = with_writer!(self.db(), |pool| {
            sqlx::query(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_owner = NULL, \
                 lease_until = NULL WHERE status = 'dead' AND ($2 IS NULL OR id = $2)",
            )
            .bind(to_millis(now))
            .bind(id.map(|d| d.0))
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if retried == 0
            && let Some(id) = id
        {
            return Err(StoreError::NotFound(format!(
                "no failed delivery with id {id} (`relink alerts failed` lists them)"
            )));
        }
        Ok(retried)
    }

    /// Alerts, oldest first: a team's (or everyone's), the last `limit` of them.
    pub async fn alerts(&self, team: Option<TeamId>, limit: u32) -> Result<Vec<Alert>> {
        let rows: Vec<(i64, String)> = with_pool!(self.db(), |pool| {
            sqlx::query_as("SELECT id, body FROM alerts WHERE ($1 IS NULL OR team_id = $1) ORDER BY id DESC LIMIT $2")
                .bind(team.map(|t| t.0))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })?;
        rows.iter().rev().map(|(id, body)| alert_from_body(*id, body)).collect()
    }

    pub async fn alert(&self, id: AlertId) -> Result<Alert> {
        let row: Option<String> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT body FROM alerts WHERE id = $1").bind(id.0).fetch_optional(pool).await
        })?;
        let body = row
            .ok_or_else(|| StoreError::NotFound(format!("no alert with id {id} (`relink alerts list` shows them)")))?;
        alert_from_body(id.0, &body)
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

    /// A team's own alert settings (empty when it has none).
    pub async fn team_alert_settings(&self, team: TeamId) -> Result<SettingsOverride> {
        let row: Option<SettingsRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT team_id, warning_days, first_reminder_ms, reminder_every_ms, escalate_after_ms \
                 FROM team_alert_settings WHERE team_id = $1",
            )
            .bind(team.0)
            .fetch_optional(pool)
            .await
        })?;
        row.map_or_else(|| Ok(SettingsOverride::default()), SettingsRow::into_override)
    }

    /// Replaces a team's own alert settings.
    pub async fn set_team_alert_settings(&self, team: TeamId, settings: &SettingsOverride) -> Result<()> {
        let ms = |span: Option<chrono::Duration>| span.map(|s| s.num_milliseconds());
        with_writer!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO team_alert_settings (team_id, warning_days, first_reminder_ms, reminder_every_ms, \
                 escalate_after_ms, check_every_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (team_id) DO UPDATE SET \
                 warning_days = excluded.warning_days, first_reminder_ms = excluded.first_reminder_ms, \
                 reminder_every_ms = excluded.reminder_every_ms, escalate_after_ms = excluded.escalate_after_ms, \
                 check_every_ms = excluded.check_every_ms",
            )
            .bind(team.0)
            .bind(settings.warning_days.as_deref().map(format_warning_days))
            .bind(ms(settings.first_reminder))
            .bind(ms(settings.reminder_every))
            .bind(ms(settings.escalate_after))
            .bind(ms(settings.check_every))
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound(format!("no team with id {team}"))
            }
            _ => e.into(),
        })?;
        Ok(())
    }
}
