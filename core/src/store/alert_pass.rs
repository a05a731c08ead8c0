//! The alerts pass in the store: one transaction per engine pass that claims outbox events and
//! due incidents, reads what the plan needs ([`read_snapshot!`]), and writes the incidents,
//! alerts and deliveries the plan made ([`write_plan!`]), all or nothing; and how long the
//! unprocessed events have waited ([`Store::unprocessed_events_span`]).
//!
//! The pass takes PostgreSQL's transaction-scoped advisory lock first, so two relink processes
//! never plan from the same events; SQLite has one writer anyway, and the pass's first
//! statement is a write so it queues for the lock instead of failing on upgrade. The snapshot and
//! plan types are the domain's ([`crate::domain::alert`]).

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::alerts::{SETTINGS_COLUMNS, SettingsRow, id_list, insert_alert};
use super::channel::{CHANNEL_COLUMNS, ChannelRow};
use super::chat::BindingRow;
use super::incidents::{INCIDENT_COLUMNS, IncidentRow};
use super::member::{MEMBER_COLUMNS, MemberRow};
use super::team::{TEAM_COLUMNS, TeamRow};
use super::{Engine, Result, Store, StoreError, with_pool, with_writer};
use crate::domain::alert::{AlertPlan, AlertSnapshot, IncidentId, OutboxEvent, PendingEvents, SentDigest};
use crate::domain::{ChannelId, Event, HealthKind, Reason, TeamId};
use crate::time::{from_millis, to_millis};

/// The key of the advisory lock that makes one alerts pass at a time across processes.
const ALERTS_LOCK: i64 = 0x7265_6c69_6e6b_0001;

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    pub events: usize,
    pub due: usize,
    pub alerts: usize,
    pub deliveries: usize,
}

#[derive(sqlx::FromRow)]
struct SnapshotChannelRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    operator_problem: Option<String>,
}

/// Reads everything a plan needs about the claimed `events` and `due` incident rows, inside the
/// pass's transaction: the channels involved, their open incidents and operator problems, their
/// teams with settings, members and chats, and their pending posts. Evaluates to the
/// [`AlertSnapshot`]. A macro because each engine's transaction is its own type.
macro_rules! read_snapshot {
    ($tx:ident, $events:ident, $due:ident, $now_ms:ident) => {{
        let mut snapshot = AlertSnapshot::default();
        for (id, team_id, channel_id, kind, payload, created_at) in $events {
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
        snapshot.due = $due.iter().map(|row| IncidentId(row.id)).collect();
        let mut channel_ids: HashSet<i64> = snapshot
            .events
            .iter()
            .filter_map(|e| e.channel_id.map(|c| c.0))
            .chain($due.iter().map(|row| row.channel_id))
            .collect();
        // A team with a due incident may be due its daily digest, which lists every open problem
        // of the team: read them all.
        let due_teams = id_list($due.iter().map(|row| row.team_id).collect::<HashSet<_>>());
        if !due_teams.is_empty() {
            let sql = format!(
                "SELECT DISTINCT channel_id FROM incidents WHERE resolved_at IS NULL \
                 AND problem IN ('needs_reauth', 'expiring') AND team_id IN ({due_teams})"
            );
            let more: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *$tx).await?;
            channel_ids.extend(more);
        }
        let channels = id_list(channel_ids.iter().copied());

        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE resolved_at IS NULL AND channel_id IN ({channels}) \
             ORDER BY id"
        );
        let rows: Vec<IncidentRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *$tx).await?;
        snapshot.incidents = rows.into_iter().map(IncidentRow::into_incident).collect::<Result<_>>()?;
        snapshot.digests = read_digests!($tx, snapshot.incidents, $now_ms);

        let sql = format!("SELECT {CHANNEL_COLUMNS}, operator_problem FROM channels WHERE id IN ({channels})");
        let rows: Vec<SnapshotChannelRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *$tx).await?;
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
            let rows: Vec<TeamRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *$tx).await?;
            for row in rows {
                let team = row.into_team()?;
                snapshot.teams.insert(team.id, team);
            }
            let sql = format!("SELECT {SETTINGS_COLUMNS} FROM team_alert_settings WHERE team_id IN ({teams})");
            let rows: Vec<SettingsRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *$tx).await?;
            for row in rows {
                snapshot.settings.insert(TeamId(row.team_id), row.into_override()?);
            }
            let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE team_id IN ({teams}) ORDER BY id");
            let rows: Vec<MemberRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *$tx).await?;
            for row in rows {
                let member = row.into_member()?;
                snapshot.members.entry(member.team_id).or_default().push(member);
            }
            let sql = format!(
                "SELECT team_id, platform, chat_id, enabled, created_at FROM chat_bindings \
                 WHERE team_id IN ({teams}) ORDER BY id"
            );
            let rows: Vec<BindingRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *$tx).await?;
            for row in rows {
                let binding = row.into_binding()?;
                snapshot.bindings.entry(binding.team_id).or_default().push(binding);
            }
            let sql = format!(
                "SELECT channel_id, due_at, created_at FROM scheduled_posts WHERE status = 'pending' AND due_at >= $1 \
                 AND channel_id IN ({channels})"
            );
            let rows: Vec<(i64, i64, i64)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind($now_ms).fetch_all(&mut *$tx).await?;
            for (channel, due_at, created_at) in rows {
                snapshot.posts.entry(ChannelId(channel)).or_default().push(from_millis(due_at));
                let scheduled = (from_millis(due_at), from_millis(created_at));
                snapshot.posts_scheduled_at.entry(ChannelId(channel)).or_default().push(scheduled);
            }
        }
        snapshot
    }};
}

/// How far back a resolution looks for the reminder digest that listed it, to edit it.
const DIGEST_EDITABLE_MS: i64 = 24 * 3_600_000;

/// The reminder digests of the last day that list any of `incidents`, each in its latest
/// version (an edit is stored as a new alert that `edits` the first), with where it went and
/// which of its incidents are resolved by now.
macro_rules! read_digests {
    ($tx:ident, $incidents:expr, $now_ms:ident) => {{
        let ids = id_list($incidents.iter().filter_map(|i| i.id.map(|id| id.0)));
        let mut digests: Vec<SentDigest> = Vec::new();
        if !ids.is_empty() {
            let sql = format!(
                "SELECT id, body FROM alerts WHERE kind = 'reminder' AND created_at >= $1 AND id IN \
                 (SELECT alert_id FROM alert_incidents WHERE incident_id IN ({ids})) ORDER BY id"
            );
            let rows: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind($now_ms.saturating_sub(DIGEST_EDITABLE_MS))
                .fetch_all(&mut *$tx)
                .await?;
            // The latest version of each digest: later ids replace earlier ones.
            let mut latest: std::collections::BTreeMap<i64, crate::domain::alert::Alert> = Default::default();
            for (id, body) in rows {
                // A digest nobody can read is not edited; it must not hold up the pass.
                match super::alerts::alert_from_body(id, &body) {
                    Ok(alert) => {
                        latest.insert(alert.edits.map_or(id, |first| first.0), alert);
                    }
                    Err(error) => tracing::warn!(alert = id, %error, "alerts: an unreadable digest, not edited"),
                }
            }
            let versions = id_list(latest.values().map(|a| a.id.0));
            if !versions.is_empty() {
                let sql = format!("SELECT alert_id, destination FROM deliveries WHERE alert_id IN ({versions})");
                let sent: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *$tx).await?;
                let sql = format!(
                    "SELECT ai.alert_id, ai.incident_id FROM alert_incidents ai JOIN incidents i \
                     ON i.id = ai.incident_id WHERE ai.alert_id IN ({versions}) AND i.resolved_at IS NOT NULL"
                );
                let resolved: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *$tx).await?;
                for alert in latest.into_values() {
                    let destinations = sent
                        .iter()
                        .filter(|(id, _)| *id == alert.id.0)
                        .filter_map(|(_, to)| super::parse_column(to).ok())
                        .collect::<Vec<_>>();
                    let resolved =
                        resolved.iter().filter(|(id, _)| *id == alert.id.0).map(|(_, i)| IncidentId(*i)).collect();
                    digests.push(SentDigest { alert, destinations, resolved });
                }
            }
        }
        digests
    }};
}

/// The columns of an incident the engine owns, bound in the same order in the insert and the
/// update of [`write_plan!`].
macro_rules! bind_incident_state {
    ($incident:ident, $now_ms:ident, $query:expr) => {
        $query
            .bind($incident.reason.as_ref().map(Reason::as_str))
            .bind($incident.detail.as_deref())
            .bind($incident.deadline.map(to_millis))
            .bind($incident.warned_days.map(i64::from))
            .bind(i64::from($incident.reminders))
            .bind($incident.next_reminder_at.map(to_millis))
            .bind($incident.escalate_at.map(to_millis))
            .bind($incident.escalated_at.map(to_millis))
            .bind($incident.urgent)
            .bind($incident.urgent_told_at.map(to_millis))
            .bind($incident.last_alert_at.map(to_millis))
            .bind($incident.next_action_at.map(to_millis))
            .bind($incident.resolved_at.map(to_millis))
            .bind($now_ms)
    };
}

/// Writes a plan inside the pass's transaction: every incident it opened or changed, then its
/// alerts (linked to those incidents) with their deliveries, counted into `report`. A macro
/// because each engine's transaction is its own type.
macro_rules! write_plan {
    ($tx:ident, $plan:ident, $now_ms:ident, $report:ident) => {{
        let mut ids = Vec::with_capacity($plan.incidents.len());
        for incident in &$plan.incidents {
            let id = match incident.id {
                Some(id) => {
                    bind_incident_state!(
                        incident,
                        $now_ms,
                        sqlx::query(
                            "UPDATE incidents SET reason = $1, detail = $2, deadline = $3, warned_days = $4, \
                         reminders = $5, next_reminder_at = $6, escalate_at = $7, escalated_at = $8, urgent = $9, \
                         urgent_told_at = $10, last_alert_at = $11, next_action_at = $12, resolved_at = $13, \
                         updated_at = $14 WHERE id = $15",
                        )
                    )
                    .bind(id.0)
                    .execute(&mut *$tx)
                    .await?;
                    id
                }
                None => {
                    let id: i64 = bind_incident_state!(
                        incident,
                        $now_ms,
                        sqlx::query_scalar(
                            "INSERT INTO incidents (reason, detail, deadline, warned_days, reminders, \
                         next_reminder_at, escalate_at, escalated_at, urgent, urgent_told_at, last_alert_at, \
                         next_action_at, resolved_at, updated_at, team_id, channel_id, problem, opened_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
                         RETURNING id",
                        )
                    )
                    .bind(incident.team_id.0)
                    .bind(incident.channel_id.0)
                    .bind(incident.problem.as_str())
                    .bind(to_millis(incident.opened_at))
                    .fetch_one(&mut *$tx)
                    .await?;
                    IncidentId(id)
                }
            };
            ids.push(id);
        }
        for planned in $plan.alerts {
            let mut alert = planned.alert;
            alert.incidents = planned.incidents.iter().map(|i| ids[*i]).chain(planned.known.iter().copied()).collect();
            let send_ms = planned.send_at.map_or($now_ms, to_millis);
            let (_, enqueued) = insert_alert!($tx, &alert, &planned.destinations, $now_ms, send_ms);
            $report.alerts += 1;
            $report.deliveries += enqueued;
        }
    }};
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
                     (SELECT id FROM events WHERE processed_at IS NULL AND created_at <= $2 ORDER BY id LIMIT CAST($3 AS BIGINT)) \
                     RETURNING id, team_id, channel_id, kind, payload, created_at",
                )
                .bind(now_ms)
                .bind(to_millis(events_until))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
                let due_sql = format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE resolved_at IS NULL AND next_action_at <= $1 \
                     ORDER BY next_action_at LIMIT CAST($2 AS BIGINT)"
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

                let snapshot = read_snapshot!(tx, events, due, now_ms);
                let plan = plan(&snapshot);
                write_plan!(tx, plan, now_ms, report);
                tx.commit().await?;
                Ok(report)
            }
            .await
        });
        outcome
    }

    /// The creation times of the oldest and the newest unprocessed outbox events, if any, and
    /// whether none of them waits for company: no disconnection among them that a check found by
    /// itself (those found by a push signal were found together).
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
                    COUNT(CASE WHEN {disconnection} AND NOT ({pushed}) THEN 1 END) \
             FROM (SELECT created_at, CASE WHEN kind = 'health_changed' THEN {payload} END AS p \
                   FROM events WHERE processed_at IS NULL) AS pending"
        );
        let counted: std::result::Result<(Option<i64>, Option<i64>, i64), sqlx::Error> =
            with_pool!(self.db(), |pool| { sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_one(pool).await });
        let (oldest, newest, unpushed) = match counted {
            Ok(counted) => counted,
            // Only a payload that is not JSON (PostgreSQL's `invalid_text_representation`,
            // SQLite's "malformed JSON"); any other failure is the database's and is returned.
            Err(sqlx::Error::Database(error))
                if error.code().as_deref() == Some("22P02") || error.message().contains("malformed JSON") =>
            {
                tracing::warn!(%error, "alerts: an unprocessed outbox payload is not JSON; reading the outbox row by row");
                self.unprocessed_events_span_decoded().await?
            }
            Err(error) => return Err(error.into()),
        };
        Ok(oldest.zip(newest).map(|(oldest, newest)| PendingEvents {
            oldest: from_millis(oldest),
            newest: from_millis(newest),
            // A reconnection or a warning has nothing to be grouped with.
            nothing_to_group: unpushed == 0,
        }))
    }

    /// [`Store::unprocessed_events_span`]'s counts, decoding every unprocessed row here.
    async fn unprocessed_events_span_decoded(&self) -> Result<(Option<i64>, Option<i64>, i64)> {
        let rows: Vec<(i64, String, String)> = with_pool!(self.db(), |pool| {
            sqlx::query_as("SELECT created_at, kind, payload FROM events WHERE processed_at IS NULL")
                .fetch_all(pool)
                .await
        })?;
        let (mut oldest, mut newest, mut unpushed) = (None::<i64>, None::<i64>, 0);
        for (created_at, kind, payload) in rows {
            oldest = Some(oldest.map_or(created_at, |o| o.min(created_at)));
            newest = Some(newest.map_or(created_at, |n| n.max(created_at)));
            if let Ok(Event::HealthChanged(change)) = super::events::decode(&kind, &payload)
                && change.to.kind() == HealthKind::NeedsReauth
                && !change.pushed
            {
                unpushed += 1;
            }
        }
        Ok((oldest, newest, unpushed))
    }
}
