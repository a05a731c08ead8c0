//! Chat platforms' bookkeeping in the store, shared by every relink process on one database:
//! interactions already handled (so a redelivered or replayed one is handled once), and the
//! platform leases that let one process at a time drive a bot's rate-limited traffic.

use chrono::{DateTime, Utc};

use super::{Result, Store, with_pool, with_writer};
use crate::time::{from_millis, to_millis};

impl Store {
    /// Records a Discord interaction by its id; `true` the first time, `false` when any process
    /// has recorded it before.
    pub async fn record_interaction(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let inserted = with_writer!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO discord_interactions (id, received_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(to_millis(now))
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(inserted == 1)
    }

    /// Forgets interactions received before `before`; returns how many.
    pub async fn purge_interactions(&self, before: DateTime<Utc>) -> Result<u64> {
        let purged = with_writer!(self.db(), |pool| {
            sqlx::query("DELETE FROM discord_interactions WHERE received_at < $1")
                .bind(to_millis(before))
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(purged)
    }

    /// Takes or renews the lease `name` for `owner` until `until`: `true` when `owner` holds it
    /// now (it was free, expired, or already `owner`'s), `false` while another owner's lease runs.
    pub async fn hold_platform_lease(
        &self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let held: Option<String> = with_writer!(self.db(), |pool| {
            sqlx::query_scalar(
                "INSERT INTO platform_leases (name, owner, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
                 WHERE platform_leases.owner = excluded.owner OR platform_leases.expires_at <= $4 \
                 RETURNING owner",
            )
            .bind(name)
            .bind(owner)
            .bind(to_millis(until))
            .bind(to_millis(now))
            .fetch_all(pool)
            .await
            .map(super::first_row)
        })?;
        Ok(held.as_deref() == Some(owner))
    }

    /// Who holds the lease `name` and until when, if anyone ever took it (an expired lease is
    /// still listed: its end is in the past).
    pub async fn platform_lease(&self, name: &str) -> Result<Option<(String, DateTime<Utc>)>> {
        let row: Option<(String, i64)> = with_pool!(self.db(), |pool| {
            sqlx::query_as("SELECT owner, expires_at FROM platform_leases WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(|(owner, until)| (owner, from_millis(until))))
    }

    /// Gives the lease `name` up if `owner` holds it, so another process may take it at once.
    pub async fn drop_platform_lease(&self, name: &str, owner: &str) -> Result<()> {
        with_writer!(self.db(), |pool| {
            sqlx::query("DELETE FROM platform_leases WHERE name = $1 AND owner = $2")
                .bind(name)
                .bind(owner)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }
}
