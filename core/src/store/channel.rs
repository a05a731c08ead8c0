//! Channels in the store: their sealed tokens, health, history of transitions, and the index of
//! due checks.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, parse_column, with_pool, with_writer};
use crate::crypto::Binding;
use crate::domain::{
    Channel, ChannelId, DisplayName, ExternalAccountId, Health, MemberId, NewChannel, Reason, Scopes, TeamId,
    Transition,
};
use crate::time::{from_millis, to_millis};
use crate::token::TokenSet;

#[derive(sqlx::FromRow)]
pub(super) struct ChannelRow {
    id: i64,
    team_id: i64,
    provider: String,
    external_account_id: String,
    display_name: String,
    authorized_by: Option<i64>,
    token_expires_at: Option<i64>,
    scopes: String,
    last_activity_at: Option<i64>,
    health: String,
    health_reason: Option<String>,
    health_detail: Option<String>,
    next_check_at: i64,
    last_checked_at: Option<i64>,
    created_at: i64,
}

pub(super) const CHANNEL_COLUMNS: &str = "id, team_id, provider, external_account_id, display_name, authorized_by, \
    token_expires_at, scopes, last_activity_at, health, health_reason, health_detail, next_check_at, \
    last_checked_at, created_at";

pub(super) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl ChannelRow {
    pub(super) fn into_channel(self) -> Result<Channel> {
        Ok(Channel {
            id: ChannelId(self.id),
            team_id: TeamId(self.team_id),
            provider: parse_column(&self.provider)?,
            external_account_id: ExternalAccountId::parse(&self.external_account_id).map_err(corrupt)?,
            display_name: DisplayName::parse(&self.display_name).map_err(corrupt)?,
            authorized_by: self.authorized_by.map(MemberId),
            token_expires_at: self.token_expires_at.map(from_millis),
            scopes: Scopes::parse(&self.scopes).map_err(corrupt)?,
            last_activity_at: self.last_activity_at.map(from_millis),
            health: Health::from_parts(&self.health, self.health_reason.as_deref(), self.health_detail.as_deref())
                .map_err(corrupt)?,
            next_check_at: from_millis(self.next_check_at),
            last_checked_at: self.last_checked_at.map(from_millis),
            created_at: from_millis(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    token_key_id: i64,
    token_ciphertext: Vec<u8>,
    token_expires_at: Option<i64>,
    scopes: String,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    channel_id: i64,
    at: i64,
    from_health: String,
    from_reason: Option<String>,
    to_health: String,
    to_reason: Option<String>,
    reason_detail: Option<String>,
    detail: Option<String>,
}

/// A channel whose check is due, as the checker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueChannel {
    pub id: ChannelId,
    pub next_check_at: DateTime<Utc>,
}

/// Appends a transition to `health_history` and the outbox, inside the caller's transaction.
/// A macro because each engine's transaction is its own type.
macro_rules! insert_transition {
    ($tx:expr, $channel:expr, $team:expr, $at:expr, $from:expr, $to:expr, $detail:expr) => {{
        let (from, to): (&$crate::domain::Health, &$crate::domain::Health) = ($from, $to);
        let detail: Option<&str> = $detail;
        let (from_health, from_reason, _) = $crate::store::channel::health_columns(from);
        let (to_health, to_reason, reason_detail) = $crate::store::channel::health_columns(to);
        sqlx::query(
            "INSERT INTO health_history (channel_id, at, from_health, from_reason, to_health, to_reason, reason_detail, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($channel)
        .bind($at)
        .bind(from_health)
        .bind(from_reason)
        .bind(to_health)
        .bind(to_reason)
        .bind(reason_detail)
        .bind(detail)
        .execute(&mut *$tx)
        .await?;
        let event = $crate::domain::Event::HealthChanged($crate::domain::HealthChanged {
            from: from.clone(),
            to: to.clone(),
            detail: detail.map(str::to_owned),
            pushed: false,
        });
        $crate::store::events::insert_event!(&mut *$tx, $team, Some($channel), &event, $at);
    }};
}
pub(super) use insert_transition;

/// The stored columns of a health: (health, reason, reason detail).
pub(crate) fn health_columns(health: &Health) -> (&'static str, Option<&'static str>, Option<&str>) {
    let reason = health.reason();
    (health.kind().as_str(), reason.map(Reason::as_str), reason.and_then(Reason::detail))
}

impl Store {
    /// Registers a channel with its tokens, sealed under the active key and bound to the new
    /// row's id. The first check is due at once.
    pub async fn add_channel(&self, channel: &NewChannel, tokens: &TokenSet, now: DateTime<Utc>) -> Result<Channel> {
        let now_ms = to_millis(now);
        let secrets = tokens.secret_bytes();
        let added: Result<i64, sqlx::Error> = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                // The ciphertext is bound to the row id, which exists only after the insert.
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO channels (team_id, provider, external_account_id, display_name, authorized_by, \
                     token_key_id, token_ciphertext, token_expires_at, scopes, next_check_at, token_issued_at, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $9, $9, $9) RETURNING id",
                )
                .bind(channel.team_id.0)
                .bind(channel.provider.as_str())
                .bind(channel.external_account_id.as_str())
                .bind(channel.display_name.as_str())
                .bind(channel.authorized_by.map(|m| m.0))
                .bind(Vec::<u8>::new())
                .bind(tokens.expires_at.map(to_millis))
                .bind(tokens.scopes.to_string())
                .bind(now_ms)
                .fetch_one(&mut *tx)
                .await?;
                let sealed = self.keyring().seal(Binding::Channel(ChannelId(id)), &secrets);
                sqlx::query("UPDATE channels SET token_key_id = $1, token_ciphertext = $2 WHERE id = $3")
                    .bind(i64::from(sealed.key_id))
                    .bind(sealed.bytes)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(id)
            }
            .await
        });
        let id = added.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
                "the team already has a {} channel for account `{}`",
                channel.provider, channel.external_account_id
            )),
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound("the team or the authorising member does not exist".into())
            }
            _ => e.into(),
        })?;
        self.channel(ChannelId(id)).await
    }

    /// Registers many channels at once (an import from another tool), in transactions of a
    /// thousand; each channel's tokens are sealed and bound to its row as in [`Store::add_channel`].
    /// Returns how many were added. All the channels' first checks are due at once.
    pub async fn add_channels_bulk(&self, channels: &[(NewChannel, TokenSet)], now: DateTime<Utc>) -> Result<usize> {
        const CHUNK: usize = 1_000;
        let now_ms = to_millis(now);
        for chunk in channels.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO channels (team_id, provider, external_account_id, display_name, authorized_by, \
                 token_key_id, token_ciphertext, token_expires_at, scopes, next_check_at, token_issued_at, \
                 created_at, updated_at) VALUES ",
            );
            for n in 0..chunk.len() {
                let p = 2 + n * 7;
                if n > 0 {
                    sql.push(',');
                }
                let row = format!(
                    "(${}, ${}, ${}, ${}, ${}, 0, ${}, ${}, '', $1, $1, $1, $1)",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                );
                sql.push_str(&row);
            }
            sql.push_str(" RETURNING id");
            let done: Result<(), StoreError> = with_writer!(self.db(), |pool| {
                async {
                    let mut tx = pool.begin().await?;
                    let mut insert = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.clone())).bind(now_ms);
                    for (channel, tokens) in chunk {
                        insert = insert
                            .bind(channel.team_id.0)
                            .bind(channel.provider.as_str())
                            .bind(channel.external_account_id.as_str())
                            .bind(channel.display_name.as_str())
                            .bind(channel.authorized_by.map(|m| m.0))
                            .bind(Vec::<u8>::new())
                            .bind(tokens.expires_at.map(to_millis));
                    }
                    let ids = insert.fetch_all(&mut *tx).await.map_err(|e| {
                        StoreError::conflict_on_unique(e, || "one of the channels is already registered".into())
                    })?;
                    // RETURNING gives the ids in insertion order on both engines. The tokens are
                    // sealed to their channel's id, so they follow in one statement for the chunk.
                    let sealed: Vec<serde_json::Value> = ids
                        .iter()
                        .zip(chunk)
                        .map(|(id, (_, tokens))| {
                            let sealed = self.keyring().seal(Binding::Channel(ChannelId(*id)), &tokens.secret_bytes());
                            serde_json::json!({
                                "id": id, "key": sealed.key_id, "ct": hex::encode(sealed.bytes),
                                "scopes": tokens.scopes.to_string(),
                            })
                        })
                        .collect();
                    let sql = format!(
                        "UPDATE channels SET token_key_id = CAST(value ->> 'key' AS BIGINT), \
                         token_ciphertext = {}, scopes = value ->> 'scopes' \
                         FROM {} WHERE channels.id = CAST(value ->> 'id' AS BIGINT)",
                        self.db().unhex("value ->> 'ct'"),
                        self.json_elements(),
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(serde_json::Value::from(sealed).to_string())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }
                .await
            });
            done?;
        }
        Ok(channels.len())
    }

    pub async fn channel(&self, id: ChannelId) -> Result<Channel> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = $1");
        let row: Option<ChannelRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(pool).await
        })?;
        row.ok_or_else(|| StoreError::NotFound(format!("no channel with id {id}")))?.into_channel()
    }

    /// A team's channels, or every channel when `team` is `None`, ordered by team and name.
    pub async fn channels(&self, team: Option<TeamId>) -> Result<Vec<Channel>> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM channels WHERE ($1 IS NULL OR team_id = $1) ORDER BY team_id, display_name, id"
        );
        let rows: Vec<ChannelRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.map(|t| t.0)).fetch_all(pool).await
        })?;
        rows.into_iter().map(ChannelRow::into_channel).collect()
    }

    /// Removes a channel with its posts and history.
    pub async fn remove_channel(&self, id: ChannelId) -> Result<()> {
        let removed = with_writer!(self.db(), |pool| {
            sqlx::query("DELETE FROM channels WHERE id = $1").bind(id.0).execute(pool).await.map(|r| r.rows_affected())
        })?;
        if removed == 0 {
            return Err(StoreError::NotFound(format!("no channel with id {id}")));
        }
        Ok(())
    }

    /// Changes the network's id of a channel's account (a Telegram group that became a supergroup).
    pub async fn move_account(&self, id: ChannelId, external_account_id: &str, now: DateTime<Utc>) -> Result<()> {
        let account = ExternalAccountId::parse(external_account_id)?;
        with_writer!(self.db(), |pool| {
            sqlx::query("UPDATE channels SET external_account_id = $1, updated_at = $2 WHERE id = $3")
                .bind(account.as_str())
                .bind(to_millis(now))
                .bind(id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(|e| {
            StoreError::conflict_on_unique(e, || format!("another channel already has account `{account}`"))
        })?;
        Ok(())
    }

    /// Records publishing activity through the tool (Pinterest's inactivity rule counts from it).
    /// An older time never replaces a newer one.
    pub async fn record_activity(&self, id: ChannelId, at: DateTime<Utc>) -> Result<()> {
        let at = to_millis(at);
        let changed =
            with_writer!(self.db(), |pool| {
                sqlx::query(
                "UPDATE channels SET last_activity_at = CASE WHEN last_activity_at IS NULL OR last_activity_at < $1 \
                 THEN $1 ELSE last_activity_at END, updated_at = $1 WHERE id = $2",
            )
            .bind(at)
            .bind(id.0)
            .execute(pool).await.map(|r| r.rows_affected())
            })?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no channel with id {id}")));
        }
        Ok(())
    }

    /// Opens a channel's tokens.
    pub async fn tokens(&self, id: ChannelId) -> Result<TokenSet> {
        let row: Option<SealedRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT token_key_id, token_ciphertext, token_expires_at, scopes FROM channels WHERE id = $1",
            )
            .bind(id.0)
            .fetch_optional(pool)
            .await
        })?;
        let row = row.ok_or_else(|| StoreError::NotFound(format!("no channel with id {id}")))?;
        let key_id = u32::try_from(row.token_key_id).map_err(|_| corrupt(format!("key id {}", row.token_key_id)))?;
        self.ensure_key(key_id).await;
        let plain = self.keyring().open(Binding::Channel(id), key_id, &row.token_ciphertext)?;
        TokenSet::from_secret_bytes(
            &plain,
            row.token_expires_at.map(from_millis),
            Scopes::parse(&row.scopes).map_err(corrupt)?,
        )
        .map_err(|_| corrupt(format!("the sealed tokens of channel {id} are not a token set")))
    }

    /// Replaces a channel's tokens. A new set without a refresh token keeps the stored one:
    /// a refresh token is never overwritten with nothing.
    pub async fn replace_tokens(&self, id: ChannelId, tokens: &TokenSet, now: DateTime<Utc>) -> Result<()> {
        let mut merged = tokens.clone();
        if merged.refresh_token.is_none() {
            merged.keep_from(&self.tokens(id).await?);
        }
        let sealed = self.keyring().seal(Binding::Channel(id), &merged.secret_bytes());
        let changed = with_writer!(self.db(), |pool| {
            sqlx::query(
                "UPDATE channels SET token_key_id = $1, token_ciphertext = $2, token_expires_at = $3, scopes = $4, \
                 version = version + 1, token_issued_at = $5, refresh_uncertain_at = NULL, updated_at = $5 WHERE id = $6",
            )
            .bind(i64::from(sealed.key_id))
            .bind(sealed.bytes)
            .bind(merged.expires_at.map(to_millis))
            .bind(merged.scopes.to_string())
            .bind(to_millis(now))
            .bind(id.0)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("no channel with id {id}")));
        }
        Ok(())
    }

    /// The channels whose check is due at `now`, earliest first, found through the
    /// `next_check_at` index.
    pub async fn due_channels(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DueChannel>> {
        let rows: Vec<(i64, i64)> = with_pool!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT id, next_check_at FROM channels WHERE next_check_at <= $1 ORDER BY next_check_at LIMIT CAST($2 AS BIGINT)",
            )
            .bind(to_millis(now))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(|(id, at)| DueChannel { id: ChannelId(id), next_check_at: from_millis(at) }).collect())
    }

    /// The earliest `next_check_at` of all channels: when the checker should wake up next.
    /// How many channels a checker holds under a live lease at `now` (checks in flight). A scan:
    /// for the demo and the tests, not for a running relink.
    pub async fn checks_in_flight(&self, now: DateTime<Utc>) -> Result<u64> {
        let count: i64 = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE lease_owner IS NOT NULL AND lease_until > $1")
                .bind(to_millis(now))
                .fetch_one(pool)
                .await
        })?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT MIN(next_check_at) FROM channels").fetch_one(pool).await
        })?;
        Ok(next.map(from_millis))
    }

    /// Sets when a channel is checked next.
    pub async fn schedule_check(&self, id: ChannelId, at: DateTime<Utc>) -> Result<()> {
        with_writer!(self.db(), |pool| {
            sqlx::query("UPDATE channels SET next_check_at = $1 WHERE id = $2")
                .bind(to_millis(at))
                .bind(id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Sets a channel's health. When it changes, the transition is written to the channel's
    /// history and to the outbox of events in the same transaction, and returned.
    pub async fn set_health(
        &self,
        id: ChannelId,
        to: &Health,
        detail: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Transition>> {
        let now_ms = to_millis(now);
        let (to_health, to_reason, reason_detail) = health_columns(to);
        let result: Result<Option<(Health, i64)>, StoreError> = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let current: Option<(String, Option<String>, Option<String>, i64)> = sqlx::query_as(
                    "SELECT health, health_reason, health_detail, team_id FROM channels WHERE id = $1",
                )
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
                let (health, reason, old_detail, team_id) =
                    current.ok_or_else(|| StoreError::NotFound(format!("no channel with id {id}")))?;
                let from = Health::from_parts(&health, reason.as_deref(), old_detail.as_deref()).map_err(corrupt)?;
                sqlx::query("UPDATE channels SET last_checked_at = $1 WHERE id = $2")
                    .bind(now_ms)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                if from == *to {
                    tx.commit().await?;
                    return Ok(None);
                }
                sqlx::query(
                    "UPDATE channels SET health = $1, health_reason = $2, health_detail = $3, updated_at = $4 WHERE id = $5",
                )
                .bind(to_health)
                .bind(to_reason)
                .bind(reason_detail)
                .bind(now_ms)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                insert_transition!(tx, id.0, team_id, now_ms, &from, to, detail);
                tx.commit().await?;
                Ok(Some((from, team_id)))
            }
            .await
        });
        Ok(result?.map(|(from, _)| Transition {
            channel_id: id,
            at: from_millis(now_ms),
            from,
            to: to.clone(),
            detail: detail.map(str::to_owned),
        }))
    }

    /// A channel's health history, newest first.
    pub async fn history(&self, id: ChannelId, limit: u32) -> Result<Vec<Transition>> {
        let rows: Vec<HistoryRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT channel_id, at, from_health, from_reason, to_health, to_reason, reason_detail, detail \
                 FROM health_history WHERE channel_id = $1 ORDER BY at DESC, id DESC LIMIT CAST($2 AS BIGINT)",
            )
            .bind(id.0)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|row| {
                Ok(Transition {
                    channel_id: ChannelId(row.channel_id),
                    at: from_millis(row.at),
                    // A past state's `other` detail is not kept; the new state's is.
                    from: Health::from_parts(&row.from_health, row.from_reason.as_deref(), None).map_err(corrupt)?,
                    to: Health::from_parts(&row.to_health, row.to_reason.as_deref(), row.reason_detail.as_deref())
                        .map_err(corrupt)?,
                    detail: row.detail,
                })
            })
            .collect()
    }

    /// How many outbox events have not been processed yet.
    pub async fn pending_event_count(&self) -> Result<u64> {
        let n: i64 = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE processed_at IS NULL").fetch_one(pool).await
        })?;
        Ok(n as u64)
    }
}
