//! Teams in the store.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, parse_column, with_pool, with_writer};
use crate::domain::{Language, Team, TeamId, TeamName};
use crate::time::{from_millis, to_millis};

#[derive(sqlx::FromRow)]
pub(super) struct TeamRow {
    id: i64,
    name: String,
    language: String,
    created_at: i64,
}

impl TeamRow {
    pub(super) fn into_team(self) -> Result<Team> {
        Ok(Team {
            id: TeamId(self.id),
            name: TeamName::parse(&self.name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            language: parse_column(&self.language)?,
            created_at: from_millis(self.created_at),
        })
    }
}

pub(super) const TEAM_COLUMNS: &str = "id, name, language, created_at";

impl Store {
    pub async fn create_team(&self, name: &TeamName, language: Language, now: DateTime<Utc>) -> Result<Team> {
        let sql =
            format!("INSERT INTO teams (name, language, created_at) VALUES ($1, $2, $3) RETURNING {TEAM_COLUMNS}");
        let row: TeamRow = with_writer!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(name.as_str())
                .bind(language.as_str())
                .bind(to_millis(now))
                .fetch_one(pool)
                .await
        })
        .map_err(|e| StoreError::conflict_on_unique(e, || format!("a team named `{name}` already exists")))?;
        row.into_team()
    }

    pub async fn teams(&self) -> Result<Vec<Team>> {
        let sql = format!("SELECT {TEAM_COLUMNS} FROM teams ORDER BY name");
        let rows: Vec<TeamRow> =
            with_pool!(self.db(), |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await)?;
        rows.into_iter().map(TeamRow::into_team).collect()
    }

    pub async fn team(&self, id: TeamId) -> Result<Team> {
        let sql = format!("SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1");
        let row: Option<TeamRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(pool).await
        })?;
        row.ok_or_else(|| StoreError::NotFound(format!("no team with id {id}")))?.into_team()
    }

    /// Finds a team by its name in any case, or says which teams exist.
    pub async fn team_by_name(&self, name: &str) -> Result<Team> {
        let sql = format!("SELECT {TEAM_COLUMNS} FROM teams WHERE LOWER(name) = LOWER($1)");
        let row: Option<TeamRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(name.trim()).fetch_optional(pool).await
        })?;
        match row {
            Some(row) => row.into_team(),
            None => {
                let names: Vec<String> = self.teams().await?.into_iter().map(|t| t.name.to_string()).collect();
                let known = if names.is_empty() {
                    "there are no teams yet".to_owned()
                } else {
                    format!("teams: {}", names.join(", "))
                };
                Err(StoreError::NotFound(format!("no team named `{}` ({known})", name.trim())))
            }
        }
    }

    pub async fn set_team_language(&self, id: TeamId, language: Language) -> Result<()> {
        with_writer!(self.db(), |pool| {
            sqlx::query("UPDATE teams SET language = $1 WHERE id = $2")
                .bind(language.as_str())
                .bind(id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
