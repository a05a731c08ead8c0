//! The delivery outbox in the store: each alert's deliveries, one per destination, claimed by
//! the delivery workers under a lease (the same claim the checker uses for due channels,
//! `lease.rs`), finished once with the platform's reference or an error, dead-lettered
//! and retried by operators.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::alerts::{alert_from_body, id_list};
use super::channel::corrupt;
use super::lease::{ClaimArgs, Leased};
use super::{Result, Store, StoreError, with_pool, with_writer};
use crate::domain::alert::{Alert, AlertId, AlertKind, DeliveryId, Destination, SentRef};
use crate::time::{from_millis, to_millis};

/// Pending deliveries, claimed by the delivery workers through the `deliveries_due` index, a
/// destination at a time: the claim takes every due delivery of the destinations among the
/// first `$4` due ones (at most four times `$4` rows), and none of a destination another claim
/// still holds a delivery of. So one process sends a chat's alerts, in order, and a burst to a
/// group is never split between two processes each waiting out the group's limit.
const DUE_DELIVERIES: Leased = Leased {
    table: "deliveries",
    due: "next_attempt_at",
    also: "status = 'pending' \
           AND destination IN (SELECT destination FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $3 \
               ORDER BY next_attempt_at, id LIMIT CAST($4 AS BIGINT)) \
           AND destination NOT IN (SELECT destination FROM deliveries WHERE status = 'pending' \
               AND next_attempt_at > $3 AND lease_until > $3)",
    order: "next_attempt_at, id",
    // A destination's whole backlog comes along unless it is very long.
    rows_per_limit: 4,
};

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

impl Store {
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
        let args = ClaimArgs { owner, now, limit, lease_until };
        let returning = "id, alert_id, destination, idempotency_key, attempts";
        let mut rows: Vec<ClaimRow> = DUE_DELIVERIES.claim(self.db(), returning, args).await?;
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
                 WHERE (NOT $1 OR d.status = 'dead') AND ($2 IS NULL OR d.alert_id = $2) ORDER BY d.id DESC LIMIT CAST($3 AS BIGINT)",
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
}
