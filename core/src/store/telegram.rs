//! The Telegram bot's tables: updates stored before they are handled (deduplicated by
//! `update_id`, claimed under a lease, body cleared once handled) and the shared rate budget, a
//! virtual schedule per scope that every relink process using the bot reserves slots from.
//! Nothing here knows Telegram's types: bodies are the JSON as received.

use chrono::{DateTime, Utc};

use super::{Result, Store, with_pool, with_writer};
use crate::time::to_millis;

/// Reserves a scope's next slot at or after `$2` with spacing `$3`; returns the scope's new next
/// free instant (the slot is that minus `$3`). One statement, so it is atomic on both engines.
const RESERVE: &str = "INSERT INTO telegram_rate (scope, next_at) VALUES ($1, $2 + $3) ON CONFLICT (scope) DO UPDATE \
     SET next_at = (CASE WHEN telegram_rate.next_at > $2 THEN telegram_rate.next_at ELSE $2 END) + $3 \
     RETURNING next_at";

/// What [`Store::reserve_rate_slots`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateSlot {
    /// The message's slot, in microseconds since the epoch.
    Reserved(i64),
    /// The chat has no slot until this instant (another sender, perhaps another process, has
    /// just used it): nothing was reserved; ask again then.
    ChatBusyUntil(i64),
}

impl Store {
    /// Stores an update as received. `false` when it was already stored (a replay).
    pub async fn store_telegram_update(
        &self,
        bot: i64,
        update_id: i64,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let inserted = with_writer!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO telegram_updates (bot_id, update_id, body, received_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (bot_id, update_id) DO NOTHING",
            )
            .bind(bot)
            .bind(update_id)
            .bind(body)
            .bind(to_millis(now))
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(inserted > 0)
    }

    /// Claims up to `limit` stored updates nobody has handled or holds, oldest first, until
    /// `lease_until`.
    pub async fn claim_telegram_updates(
        &self,
        bot: i64,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(i64, String)>> {
        let sql = format!(
            "UPDATE telegram_updates SET lease_until = $1 WHERE bot_id = $2 AND update_id IN \
             (SELECT update_id FROM telegram_updates WHERE bot_id = $2 AND handled_at IS NULL \
             AND (lease_until IS NULL OR lease_until <= $3) ORDER BY update_id LIMIT CAST($4 AS BIGINT) {}) \
             RETURNING update_id, body",
            self.db().skip_locked()
        );
        let mut rows: Vec<(i64, Option<String>)> = with_writer!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(to_millis(lease_until))
                .bind(bot)
                .bind(to_millis(now))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })?;
        rows.sort_by_key(|(id, _)| *id);
        Ok(rows.into_iter().map(|(id, body)| (id, body.unwrap_or_default())).collect())
    }

    /// Marks an update handled and drops its body (it may hold a one-time code).
    pub async fn finish_telegram_update(&self, bot: i64, update_id: i64, now: DateTime<Utc>) -> Result<()> {
        with_writer!(self.db(), |pool| {
            sqlx::query(
                "UPDATE telegram_updates SET handled_at = $1, body = NULL, lease_until = NULL \
                 WHERE bot_id = $2 AND update_id = $3",
            )
            .bind(to_millis(now))
            .bind(bot)
            .bind(update_id)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// The highest update id stored for a bot: long polling asks for the ones after it.
    pub async fn last_telegram_update(&self, bot: i64) -> Result<Option<i64>> {
        let last: Option<i64> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT MAX(update_id) FROM telegram_updates WHERE bot_id = $1")
                .bind(bot)
                .fetch_one(pool)
                .await
        })?;
        Ok(last)
    }

    /// Deletes handled updates received before `before` (Telegram never resends an update
    /// older than a day, so a week of ids is plenty to drop replays).
    pub async fn purge_telegram_updates(&self, before: DateTime<Utc>) -> Result<u64> {
        let purged = with_writer!(self.db(), |pool| {
            sqlx::query("DELETE FROM telegram_updates WHERE handled_at IS NOT NULL AND received_at < $1")
                .bind(to_millis(before))
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(purged)
    }

    /// Reserves a message's slot in two scopes at once, in one transaction: the chat's next slot
    /// at or after `earliest`, then the bot's next slot at or after that; when the bot's slot is
    /// later, the chat's schedule moves after it. The chat's row stays locked until the end, so
    /// a concurrent sender to the same chat (another worker or process) reserves after this one
    /// and the chat's spacing holds. Rows are always locked chat first, then bot: no deadlock.
    ///
    /// When the chat's next slot is more than `slack` after `earliest`, nothing is reserved
    /// ([`RateSlot::ChatBusyUntil`]): the bot's schedule is one line for every chat, and a slot
    /// taken seconds ahead for a busy chat would move it there, leaving every other chat to wait
    /// out the busy chat's interval (the stalls of two processes each holding part of a chat's
    /// burst).
    pub async fn reserve_rate_slots(
        &self,
        chat: (&str, i64),
        bot: (&str, i64),
        earliest: i64,
        slack: i64,
    ) -> Result<RateSlot> {
        let slot: Result<RateSlot, sqlx::Error> = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let (chat_scope, chat_interval) = chat;
                let (bot_scope, bot_interval) = bot;
                let chat_next: i64 = sqlx::query_scalar(RESERVE)
                    .bind(chat_scope)
                    .bind(earliest)
                    .bind(chat_interval)
                    .fetch_one(&mut *tx)
                    .await?;
                let chat_slot = chat_next - chat_interval;
                if chat_slot > earliest.saturating_add(slack) {
                    tx.rollback().await?;
                    return Ok(RateSlot::ChatBusyUntil(chat_slot));
                }
                let bot_next: i64 = sqlx::query_scalar(RESERVE)
                    .bind(bot_scope)
                    .bind(chat_slot)
                    .bind(bot_interval)
                    .fetch_one(&mut *tx)
                    .await?;
                let slot = bot_next - bot_interval;
                if slot > chat_slot {
                    sqlx::query("UPDATE telegram_rate SET next_at = $2 WHERE scope = $1")
                        .bind(chat_scope)
                        .bind(slot + chat_interval)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(RateSlot::Reserved(slot))
            }
            .await
        });
        Ok(slot?)
    }

    /// Gives a chat's slot back, reserved by [`Store::reserve_rate_slots`] but not used (its
    /// sender came too late to it): the chat's schedule moves back to `slot` unless another
    /// sender has reserved after it since. The late sender then reserves again from now, and
    /// its chat is not made to wait a whole chat interval (3 s in a group) for a slot nobody
    /// used. The bot's slot is not given back: slots after it are taken.
    pub async fn give_back_rate_slot(&self, chat: (&str, i64), slot: i64) -> Result<()> {
        let (scope, interval) = chat;
        with_writer!(self.db(), |pool| {
            sqlx::query("UPDATE telegram_rate SET next_at = $2 WHERE scope = $1 AND next_at = $3")
                .bind(scope)
                .bind(slot)
                .bind(slot.saturating_add(interval))
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    /// Reserves the next slot of a rate scope: the earliest instant at or after `earliest`
    /// (microseconds since the epoch) that keeps `interval` microseconds after the previous
    /// reservation. Returns the slot; the scope's next free instant becomes `slot + interval`.
    pub async fn reserve_rate_slot(&self, scope: &str, earliest: i64, interval: i64) -> Result<i64> {
        let next: i64 = with_writer!(self.db(), |pool| {
            sqlx::query_scalar(RESERVE).bind(scope).bind(earliest).bind(interval).fetch_one(pool).await
        })?;
        Ok(next - interval)
    }
}
