//! API keys of the HTTP API in the store: one row per key, found by the SHA-256 of its secret.
//!
//! The secret has 256 bits of entropy, so looking its hash up through the unique index leaks
//! nothing an attacker can use (timing can at best reveal a prefix of a hash, not of a key).

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, with_pool, with_writer};
use crate::domain::{ApiKey, ApiKeyId, ApiKeyName, TeamId};
use crate::opaque::OpaqueToken;
use crate::time::{from_millis, to_millis};

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: i64,
    team_id: i64,
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

const API_KEY_COLUMNS: &str = "id, team_id, name, created_at, last_used_at, revoked_at";

impl ApiKeyRow {
    fn into_key(self) -> Result<ApiKey> {
        Ok(ApiKey {
            id: ApiKeyId(self.id),
            team_id: TeamId(self.team_id),
            name: ApiKeyName::parse(&self.name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            created_at: from_millis(self.created_at),
            last_used_at: self.last_used_at.map(from_millis),
            revoked_at: self.revoked_at.map(from_millis),
        })
    }
}

/// `last_used_at` is written at most this often per key, so a busy tool does not turn every
/// read into a write.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

impl Store {
    /// Stores a new key by the hash of its secret.
    pub async fn create_api_key(
        &self,
        team: TeamId,
        name: &ApiKeyName,
        secret: &OpaqueToken,
        now: DateTime<Utc>,
    ) -> Result<ApiKey> {
        let sql = format!(
            "INSERT INTO api_keys (team_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {API_KEY_COLUMNS}"
        );
        let row: ApiKeyRow = with_writer!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(name.as_str())
                .bind(secret.hash().to_vec())
                .bind(to_millis(now))
                .fetch_one(pool)
                .await
        })
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(format!(
                "the team already has an API key named `{name}` (revoke it or choose another name)"
            )),
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound(format!("no team with id {team}"))
            }
            _ => e.into(),
        })?;
        row.into_key()
    }

    /// A team's keys, revoked ones included, by name.
    pub async fn api_keys(&self, team: TeamId) -> Result<Vec<ApiKey>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE team_id = $1 ORDER BY name");
        let rows: Vec<ApiKeyRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.0).fetch_all(pool).await
        })?;
        rows.into_iter().map(ApiKeyRow::into_key).collect()
    }

    /// Revokes a team's key by name; revoking a revoked key is a no-op that returns it.
    pub async fn revoke_api_key(&self, team: TeamId, name: &ApiKeyName, now: DateTime<Utc>) -> Result<ApiKey> {
        let sql = format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE team_id = $2 AND name = $3 \
             RETURNING {API_KEY_COLUMNS}"
        );
        let row: Option<ApiKeyRow> = with_writer!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(to_millis(now))
                .bind(team.0)
                .bind(name.as_str())
                .fetch_all(pool)
                .await
                .map(super::first_row)
        })?;
        row.ok_or_else(|| StoreError::NotFound(format!("the team has no API key named `{name}`")))?.into_key()
    }

    /// The team a key secret belongs to, if the key exists and is not revoked; notes its use.
    pub async fn authenticate_api_key(&self, secret: &OpaqueToken, now: DateTime<Utc>) -> Result<Option<ApiKey>> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL");
        let row: Option<ApiKeyRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(secret.hash().to_vec()).fetch_optional(pool).await
        })?;
        let Some(row) = row else { return Ok(None) };
        let now_ms = to_millis(now);
        if row.last_used_at.is_none_or(|at| now_ms - at >= LAST_USED_RESOLUTION_MS) {
            with_writer!(self.db(), |pool| {
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(now_ms)
                    .bind(row.id)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected())
            })?;
        }
        row.into_key().map(Some)
    }
}
