//! Alerts in the store: an alert's stored body and the insert every alert goes through
//! ([`insert_alert!`]: its incidents and one delivery per destination), operator notices that no
//! incident produced, alerts read back for people, and each team's alert settings. The pass that
//! plans alerts is in `alert_pass.rs`, their deliveries in `deliveries.rs`, incidents in
//! `incidents.rs`.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, with_pool, with_writer};
use crate::alerts::{LocalTime, QuietHours, Zone};
use crate::domain::TeamId;
use crate::domain::alert::{Alert, AlertId, Destination, SettingsOverride, format_warning_days, parse_warning_days};
use crate::time::to_millis;

/// The columns of `team_alert_settings` a [`SettingsRow`] reads: every SELECT of the table names
/// them through this, so none can fall behind a new column.
pub(super) const SETTINGS_COLUMNS: &str = "team_id, warning_days, first_reminder_ms, reminder_every_ms, \
     escalate_after_ms, check_every_ms, timezone, quiet_from_min, quiet_until_min";

#[derive(sqlx::FromRow)]
pub(super) struct SettingsRow {
    pub(super) team_id: i64,
    warning_days: Option<String>,
    first_reminder_ms: Option<i64>,
    reminder_every_ms: Option<i64>,
    escalate_after_ms: Option<i64>,
    check_every_ms: Option<i64>,
    timezone: Option<String>,
    quiet_from_min: Option<i64>,
    quiet_until_min: Option<i64>,
}

impl SettingsRow {
    /// The team's settings. A time zone this build's database does not know, or quiet hours the
    /// schema should have refused, are read as UTC and no quiet hours, with a warning: the alerts
    /// engine reads every team's settings in its pass, and one team's calendar must not stop it.
    pub(super) fn into_override(self) -> Result<SettingsOverride> {
        let span =
            |ms: Option<i64>| ms.map(|ms| chrono::Duration::try_milliseconds(ms).unwrap_or(chrono::Duration::MAX));
        let team = self.team_id;
        let timezone = self.timezone.as_deref().and_then(|name| {
            Zone::parse(name)
                .inspect_err(|_| {
                    tracing::warn!(
                        team,
                        zone = name,
                        "alerts: a stored time zone this build does not know, read as UTC"
                    )
                })
                .ok()
        });
        let quiet_hours = match (self.quiet_from_min, self.quiet_until_min) {
            (None, None) => None,
            (from, until) => {
                let pair = from.and_then(LocalTime::from_minutes).zip(until.and_then(LocalTime::from_minutes));
                let quiet = pair.filter(|(from, until)| from != until).map(|(from, until)| QuietHours { from, until });
                if quiet.is_none() {
                    tracing::warn!(team, from, until, "alerts: stored quiet hours out of range, read as none");
                }
                quiet
            }
        };
        Ok(SettingsOverride {
            warning_days: self.warning_days.as_deref().and_then(|raw| {
                parse_warning_days(raw)
                    .inspect_err(|error| {
                        tracing::warn!(team, %error, "alerts: stored warning days unreadable, read as the default")
                    })
                    .ok()
            }),
            first_reminder: span(self.first_reminder_ms),
            reminder_every: span(self.reminder_every_ms),
            escalate_after: span(self.escalate_after_ms),
            check_every: span(self.check_every_ms),
            timezone,
            quiet_hours,
        })
    }
}

/// Reads an alert's stored body back.
pub(super) fn alert_from_body(id: i64, body: &str) -> Result<Alert> {
    let mut alert: Alert = serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("alert {id} has an unreadable body: {e}")))?;
    alert.id = AlertId(id);
    Ok(alert)
}

/// Integer ids read from the database, as an SQL list: safe to inline.
pub(super) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    ids.into_iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",")
}

/// Inserts an alert, links it to its incidents (recording it as their first alert when they
/// had none) and enqueues one delivery per destination (due at once, or at `$send_ms`), inside
/// the caller's transaction.
/// Evaluates to the new alert's id. A macro because each engine's transaction is its own type.
macro_rules! insert_alert {
    ($tx:expr, $alert:expr, $destinations:expr, $now_ms:expr) => {
        $crate::store::alerts::insert_alert!($tx, $alert, $destinations, $now_ms, $now_ms)
    };
    ($tx:expr, $alert:expr, $destinations:expr, $now_ms:expr, $send_ms:expr) => {{
        let alert: &$crate::domain::alert::Alert = $alert;
        let body = serde_json::to_string(alert)
            .map_err(|e| $crate::store::StoreError::Corrupt(format!("cannot store an alert: {e}")))?;
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
            if alert.kind != $crate::domain::alert::AlertKind::Resolved {
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
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(alert_id)
            .bind(&destination)
            .bind(format!("relink-alert-{alert_id}-{destination}"))
            .bind($send_ms)
            .bind($now_ms)
            .execute(&mut *$tx)
            .await?
            .rows_affected() as usize;
        }
        (alert_id, enqueued)
    }};
}
pub(super) use insert_alert;

impl Store {
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

    /// Alerts, oldest first: a team's (or everyone's), the last `limit` of them.
    pub async fn alerts(&self, team: Option<TeamId>, limit: u32) -> Result<Vec<Alert>> {
        let rows: Vec<(i64, String)> = with_pool!(self.db(), |pool| {
            sqlx::query_as("SELECT id, body FROM alerts WHERE ($1 IS NULL OR team_id = $1) ORDER BY id DESC LIMIT CAST($2 AS BIGINT)")
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

    /// A team's own alert settings (empty when it has none).
    pub async fn team_alert_settings(&self, team: TeamId) -> Result<SettingsOverride> {
        let row: Option<SettingsRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SETTINGS_COLUMNS} FROM team_alert_settings WHERE team_id = $1"
            )))
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
                 escalate_after_ms, check_every_ms, timezone, quiet_from_min, quiet_until_min) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (team_id) DO UPDATE SET \
                 warning_days = excluded.warning_days, first_reminder_ms = excluded.first_reminder_ms, \
                 reminder_every_ms = excluded.reminder_every_ms, escalate_after_ms = excluded.escalate_after_ms, \
                 check_every_ms = excluded.check_every_ms, timezone = excluded.timezone, \
                 quiet_from_min = excluded.quiet_from_min, quiet_until_min = excluded.quiet_until_min",
            )
            .bind(team.0)
            .bind(settings.warning_days.as_deref().map(format_warning_days))
            .bind(ms(settings.first_reminder))
            .bind(ms(settings.reminder_every))
            .bind(ms(settings.escalate_after))
            .bind(ms(settings.check_every))
            .bind(settings.timezone.as_ref().map(|zone| zone.name().to_owned()))
            .bind(settings.quiet_hours.map(|quiet| i64::from(quiet.from.minutes())))
            .bind(settings.quiet_hours.map(|quiet| i64::from(quiet.until.minutes())))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(timezone: Option<&str>, from: Option<i64>, until: Option<i64>) -> SettingsRow {
        SettingsRow {
            team_id: 1,
            warning_days: Some("7,1".into()),
            first_reminder_ms: None,
            reminder_every_ms: None,
            escalate_after_ms: Some(3_600_000),
            check_every_ms: None,
            timezone: timezone.map(str::to_owned),
            quiet_from_min: from,
            quiet_until_min: until,
        }
    }

    #[test]
    fn a_calendar_the_schema_should_have_refused_is_read_as_utc_without_quiet_hours() {
        let good = row(Some("Europe/Rome"), Some(1200), Some(480)).into_override().unwrap();
        assert_eq!(good.timezone.map(|z| z.name().to_owned()).as_deref(), Some("Europe/Rome"));
        assert_eq!(good.quiet_hours.map(|q| q.to_string()).as_deref(), Some("20:00-08:00"));
        for (zone, from, until) in [
            (Some("Mars/Olympus"), Some(1440), Some(480)),
            (Some(""), Some(-1), Some(480)),
            (Some("Europe/Rome; DROP TABLE teams"), Some(1200), None),
            (None, None, Some(480)),
            (None, Some(480), Some(480)),
        ] {
            let read = row(zone, from, until).into_override().unwrap();
            assert_eq!((read.timezone, read.quiet_hours), (None, None), "{zone:?} {from:?}-{until:?}");
            assert_eq!(read.warning_days, Some(vec![7, 1]), "the rest stands");
            assert_eq!(read.escalate_after, Some(chrono::Duration::hours(1)));
        }
    }
}
