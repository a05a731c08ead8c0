//! The one way a worker claims due rows under a lease: the checker its due channels, the
//! delivery workers their due deliveries.
//!
//! A claim sets `lease_owner` and `lease_until` and pushes the row's due time to the lease's
//! end in one `UPDATE … WHERE id IN (SELECT … ORDER BY due LIMIT n)`, so the due index skips
//! claimed rows and a crashed worker's rows come due again by themselves. On PostgreSQL the
//! inner select takes `FOR UPDATE SKIP LOCKED`, so several processes share the work without
//! waiting on each other; SQLite has one writer anyway.

use chrono::{DateTime, Utc};

use super::{Db, Result, with_writer};
use crate::time::to_millis;

/// The due rows `owner` claimed: at most `limit`, due at `now`, held until `lease_until`.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClaimArgs<'a> {
    pub owner: &'a str,
    pub now: DateTime<Utc>,
    pub limit: u32,
    pub lease_until: DateTime<Utc>,
}

/// A table whose due rows are claimed under a lease. The statement it builds takes the owner
/// as `$1`, the lease's end as `$2`, the time now as `$3` and the claim's limit as `$4` (the
/// most rows, times `rows_per_limit`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Leased {
    pub table: &'static str,
    /// The column that says when a row is due; the claim moves it to the lease's end.
    pub due: &'static str,
    /// What else a due row must satisfy.
    pub also: &'static str,
    /// The claim's order (earliest due first).
    pub order: &'static str,
    /// The claim takes at most this many rows per row of its limit `$4`: 1 unless `also` claims
    /// rows in groups (deliveries by destination), which may then come to more than `$4`.
    pub rows_per_limit: u32,
}

impl Leased {
    /// Claims the due rows, read as `R` from the `returning` columns, in one statement.
    pub(super) async fn claim<R>(&self, db: &Db, returning: &str, args: ClaimArgs<'_>) -> Result<Vec<R>>
    where
        R: Send + Unpin,
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let sql = self.claim_sql(db, returning);
        let _turn = db.bulk_turn().await;
        let rows = with_writer!(db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(args.owner)
                .bind(to_millis(args.lease_until))
                .bind(to_millis(args.now))
                .bind(i64::from(args.limit))
                .fetch_all(pool)
                .await
        })?;
        Ok(rows)
    }

    /// The claim statement, returning `returning` of each claimed row.
    fn claim_sql(&self, db: &Db, returning: &str) -> String {
        let Leased { table, due, also, order, rows_per_limit } = *self;
        let lock = db.skip_locked();
        // The limit is cast, never bound bare: SQLite would compile the claim anew each run.
        format!(
            "UPDATE {table} SET lease_owner = $1, lease_until = $2, {due} = $2 \
             WHERE id IN (SELECT id FROM {table} WHERE {due} <= $3 AND {also} ORDER BY {order} LIMIT CAST($4 AS BIGINT) * {rows_per_limit} {lock}) \
             RETURNING {returning}"
        )
    }
}
