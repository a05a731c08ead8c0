//! Chat bindings in the store: which Discord channels and Telegram chats receive a team's alerts.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, parse_column, with_pool, with_writer};
use crate::domain::{ChatBinding, ChatPlatform, TeamId};
use crate::time::{from_millis, to_millis};

#[derive(sqlx::FromRow)]
pub(super) struct BindingRow {
    team_id: i64,
    platform: String,
    chat_id: i64,
    enabled: bool,
    created_at: i64,
}

impl BindingRow {
    pub(super) fn into_binding(self) -> Result<ChatBinding> {
        Ok(ChatBinding {
            team_id: TeamId(self.team_id),
            platform: parse_column(&self.platform)?,
            chat_id: self.chat_id,
            enabled: self.enabled,
            created_at: from_millis(self.created_at),
        })
    }
}

impl Store {
    /// Binds a chat to a team (again enabling it if it was disabled). Idempotent.
    pub async fn bind_chat(
        &self,
        team: TeamId,
        platform: ChatPlatform,
        chat_id: i64,
        now: DateTime<Utc>,
    ) -> Result<ChatBinding> {
        let row: BindingRow = with_writer!(self.db(), |pool| {
            sqlx::query_as(
                "INSERT INTO chat_bindings (team_id, platform, chat_id, enabled, created_at) VALUES ($1, $2, $3, TRUE, $4) \
                 ON CONFLICT (team_id, platform, chat_id) DO UPDATE SET enabled = TRUE \
                 RETURNING team_id, platform, chat_id, enabled, created_at",
            )
            .bind(team.0)
            .bind(platform.as_str())
            .bind(chat_id)
            .bind(to_millis(now))
            .fetch_one(pool)
            .await
        })
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound(format!("no team with id {team}")),
            _ => e.into(),
        })?;
        row.into_binding()
    }

    /// Enables or disables a binding (a chat that removed the bot is disabled, not forgotten).
    pub async fn set_chat_enabled(
        &self,
        team: TeamId,
        platform: ChatPlatform,
        chat_id: i64,
        enabled: bool,
    ) -> Result<bool> {
        let changed = with_writer!(self.db(), |pool| {
            sqlx::query("UPDATE chat_bindings SET enabled = $1 WHERE team_id = $2 AND platform = $3 AND chat_id = $4")
                .bind(enabled)
                .bind(team.0)
                .bind(platform.as_str())
                .bind(chat_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(changed > 0)
    }

    /// The bindings of one chat (a chat may receive the alerts of several teams), enabled ones
    /// first.
    pub async fn bindings_of_chat(&self, platform: ChatPlatform, chat_id: i64) -> Result<Vec<ChatBinding>> {
        let rows: Vec<BindingRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT team_id, platform, chat_id, enabled, created_at FROM chat_bindings \
                 WHERE platform = $1 AND chat_id = $2 ORDER BY enabled DESC, team_id",
            )
            .bind(platform.as_str())
            .bind(chat_id)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter().map(BindingRow::into_binding).collect()
    }

    /// Moves every binding of a chat to its new id (a Telegram group that became a supergroup
    /// gets a new chat id). Returns how many bindings moved.
    pub async fn move_chat(&self, platform: ChatPlatform, from: i64, to: i64) -> Result<u64> {
        let moved = with_writer!(self.db(), |pool| {
            sqlx::query(
                "UPDATE chat_bindings SET chat_id = $1 WHERE platform = $2 AND chat_id = $3 AND NOT EXISTS \
                 (SELECT 1 FROM chat_bindings AS other WHERE other.team_id = chat_bindings.team_id \
                 AND other.platform = $2 AND other.chat_id = $1)",
            )
            .bind(to)
            .bind(platform.as_str())
            .bind(from)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(moved)
    }

    pub async fn chat_bindings(&self, team: TeamId) -> Result<Vec<ChatBinding>> {
        let rows: Vec<BindingRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT team_id, platform, chat_id, enabled, created_at FROM chat_bindings WHERE team_id = $1 ORDER BY platform, chat_id",
            )
            .bind(team.0)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter().map(BindingRow::into_binding).collect()
    }
}
