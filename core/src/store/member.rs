//! Members and their chat identities in the store.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, parse_column, with_pool, with_writer};
use crate::domain::{DiscordUserId, Member, MemberId, MemberName, Role, TeamId, TelegramUserId};
use crate::time::{from_millis, to_millis};

#[derive(sqlx::FromRow)]
pub(super) struct MemberRow {
    id: i64,
    team_id: i64,
    name: String,
    role: String,
    discord_user_id: Option<i64>,
    telegram_user_id: Option<i64>,
    created_at: i64,
}

impl MemberRow {
    pub(super) fn into_member(self) -> Result<Member> {
        Ok(Member {
            id: MemberId(self.id),
            team_id: TeamId(self.team_id),
            name: MemberName::parse(&self.name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            role: parse_column(&self.role)?,
            discord_user_id: self.discord_user_id.map(DiscordUserId),
            telegram_user_id: self.telegram_user_id.map(TelegramUserId),
            created_at: from_millis(self.created_at),
        })
    }
}

pub(super) const MEMBER_COLUMNS: &str = "id, team_id, name, role, discord_user_id, telegram_user_id, created_at";

/// A member to add.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub team_id: TeamId,
    pub name: MemberName,
    pub role: Role,
    pub discord_user_id: Option<DiscordUserId>,
    pub telegram_user_id: Option<TelegramUserId>,
}

impl Store {
    pub async fn add_member(&self, member: &NewMember, now: DateTime<Utc>) -> Result<Member> {
        let sql = format!(
            "INSERT INTO members (team_id, name, role, discord_user_id, telegram_user_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {MEMBER_COLUMNS}"
        );
        let row: MemberRow = with_writer!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(member.team_id.0)
                .bind(member.name.as_str())
                .bind(member.role.as_str())
                .bind(member.discord_user_id.map(|id| id.0))
                .bind(member.telegram_user_id.map(|id| id.0))
                .bind(to_millis(now))
                .fetch_one(pool)
                .await
        })
        .map_err(|e| {
            StoreError::conflict_on_unique(e, || {
                format!(
                    "cannot add `{}`: the team already has a member with that name, Discord id or Telegram id{}",
                    member.name,
                    if member.role == Role::PrimaryOwner { ", or already has a primary owner" } else { "" }
                )
            })
        })?;
        row.into_member()
    }

    pub async fn members(&self, team: TeamId) -> Result<Vec<Member>> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE team_id = $1 ORDER BY name");
        let rows: Vec<MemberRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(team.0).fetch_all(pool).await
        })?;
        rows.into_iter().map(MemberRow::into_member).collect()
    }

    pub async fn member(&self, id: MemberId) -> Result<Member> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1");
        let row: Option<MemberRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(pool).await
        })?;
        row.ok_or_else(|| StoreError::NotFound(format!("no member with id {id}")))?.into_member()
    }

    /// Finds a member of `team` by name (case-insensitive), or lists the team's members.
    pub async fn member_by_name(&self, team: TeamId, name: &str) -> Result<Member> {
        let members = self.members(team).await?;
        let wanted = name.trim().to_lowercase();
        if let Some(found) = members.iter().find(|m| m.name.as_str().to_lowercase() == wanted) {
            return Ok(found.clone());
        }
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        let known = if names.is_empty() {
            "the team has no members yet".to_owned()
        } else {
            format!("members: {}", names.join(", "))
        };
        Err(StoreError::NotFound(format!("no member named `{}` ({known})", name.trim())))
    }

    /// Every membership of a Discord user, across teams.
    pub async fn members_by_discord(&self, user: DiscordUserId) -> Result<Vec<Member>> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE discord_user_id = $1 ORDER BY team_id");
        let rows: Vec<MemberRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user.0).fetch_all(pool).await
        })?;
        rows.into_iter().map(MemberRow::into_member).collect()
    }

    /// Every membership of a Telegram user, across teams.
    pub async fn members_by_telegram(&self, user: TelegramUserId) -> Result<Vec<Member>> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE telegram_user_id = $1 ORDER BY team_id");
        let rows: Vec<MemberRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(user.0).fetch_all(pool).await
        })?;
        rows.into_iter().map(MemberRow::into_member).collect()
    }

    /// Removes a member. Channels they authorised keep working and show no authoriser.
    pub async fn remove_member(&self, id: MemberId) -> Result<()> {
        let removed = with_writer!(self.db(), |pool| {
            sqlx::query("DELETE FROM members WHERE id = $1").bind(id.0).execute(pool).await.map(|r| r.rows_affected())
        })?;
        if removed == 0 {
            return Err(StoreError::NotFound(format!("no member with id {id}")));
        }
        Ok(())
    }
}
