//! Chat bindings in the store: which Discord channels and Telegram chats receive a team's alerts.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, parse_column, with_pool};
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
        let row: BindingRow = with_pool!(self.db(), |pool| {
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
        let changed = with_pool!(self.db(), |pool| {
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

    /// The teams whose alerts an enabled binding sends to this chat.
    pub async fn teams_bound_to(&self, platform: ChatPlatform, chat_id: i64) -> Result<Vec<TeamId>> {
        let teams: Vec<i64> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT team_id FROM chat_bindings WHERE platform = $1 AND chat_id = $2 AND enabled ORDER BY team_id",
            )
            .bind(platform.as_str())
            .bind(chat_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(teams.into_iter().map(TeamId).collect())
    }
}
