//! The networks' request budgets shared by every relink process (`network_budget`): a virtual
//! schedule per network that a checker reserves blocks of request slots from, and the instant
//! until which the network asked relink to wait. See `checker::budget` for how they are spent.

use chrono::{DateTime, Utc};

use super::{Result, Store, with_writer};
use crate::domain::Provider;
use crate::time::{from_millis, to_millis};

/// Reserves `$3` microseconds of the network's schedule at or after `$2`, unless the network is
/// paused past `$4` (milliseconds); returns the schedule's next free instant and the pause. One
/// statement, so it is atomic on both engines.
const RESERVE: &str = "INSERT INTO network_budget (network, next_at, paused_until) VALUES ($1, $2 + $3, NULL) \
     ON CONFLICT (network) DO UPDATE SET next_at = CASE WHEN network_budget.paused_until > $4 \
     THEN network_budget.next_at \
     ELSE (CASE WHEN network_budget.next_at > $2 THEN network_budget.next_at ELSE $2 END) + $3 END \
     RETURNING next_at, paused_until";

/// What a reservation got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// The first slot of the block, in microseconds since the epoch; the block ends `span` later.
    From(i64),
    /// The network asked relink to wait until then: nothing was reserved.
    Paused(DateTime<Utc>),
}

impl Store {
    /// Reserves the next `span` microseconds of `provider`'s request schedule at or after
    /// `earliest` (microseconds since the epoch). While the network is paused past `now` nothing is
    /// reserved and the pause is returned; with `now` `None` the block is reserved anyway (the
    /// further requests of a check already started).
    pub async fn reserve_network_slots(
        &self,
        provider: Provider,
        earliest: i64,
        span: i64,
        now: Option<DateTime<Utc>>,
    ) -> Result<Reserved> {
        let now_ms = now.map_or(i64::MAX, to_millis);
        let (next, paused): (i64, Option<i64>) = with_writer!(self.db(), |pool| {
            sqlx::query_as(RESERVE).bind(provider.as_str()).bind(earliest).bind(span).bind(now_ms).fetch_one(pool).await
        })?;
        Ok(match paused.filter(|until| *until > now_ms) {
            Some(until) => Reserved::Paused(from_millis(until)),
            None => Reserved::From(next.saturating_sub(span)),
        })
    }

    /// Records that `provider` asked relink to wait until `until` (a later pause already stored
    /// stands): every process's checker sees it at its next reservation.
    pub async fn pause_network(&self, provider: Provider, until: DateTime<Utc>) -> Result<()> {
        with_writer!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO network_budget (network, next_at, paused_until) VALUES ($1, 0, $2) \
                 ON CONFLICT (network) DO UPDATE SET paused_until = CASE \
                 WHEN network_budget.paused_until > $2 THEN network_budget.paused_until ELSE $2 END",
            )
            .bind(provider.as_str())
            .bind(to_millis(until))
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }
}
