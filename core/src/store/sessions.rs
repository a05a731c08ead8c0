//! Sign-in links to the team page and the browser sessions they open, in the store.
//!
//! Both are kept by the SHA-256 hash of their secret. A link is spent by the one
//! `UPDATE … WHERE used_at IS NULL AND expires_at > now RETURNING …` of the transaction that
//! inserts its session, so of two browsers racing with one link, one gets a session and the
//! other nothing, on either engine. A session is read with its member's current row: a member
//! removed from the team has no session any more (the rows cascade), and a demoted one acts with
//! the new role from the next request on.

use chrono::{DateTime, Utc};

use super::member::{MEMBER_COLUMNS, MemberRow};
use super::{Result, Store, StoreError, with_pool, with_writer};
use crate::domain::{Member, MemberId, TeamId};
use crate::opaque::OpaqueToken;
use crate::time::{from_millis, to_millis};

/// A sign-in link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInLink {
    pub id: i64,
    pub team_id: TeamId,
    pub member_id: MemberId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct SignInRow {
    id: i64,
    team_id: i64,
    member_id: i64,
    created_at: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

impl From<SignInRow> for SignInLink {
    fn from(row: SignInRow) -> Self {
        Self {
            id: row.id,
            team_id: TeamId(row.team_id),
            member_id: MemberId(row.member_id),
            created_at: from_millis(row.created_at),
            expires_at: from_millis(row.expires_at),
            used_at: row.used_at.map(from_millis),
        }
    }
}

const SIGNIN_COLUMNS: &str = "id, team_id, member_id, created_at, expires_at, used_at";

/// A signed-in browser: who it acts as, in which team, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub team_id: TeamId,
    /// The member's row as it is now (role included).
    pub member: Member,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Stores a sign-in link for `member` (of the member's own team) by its token's hash.
    pub async fn create_signin_link(
        &self,
        token: &OpaqueToken,
        member: MemberId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<SignInLink> {
        let sql = format!(
            "INSERT INTO signin_links (token_hash, team_id, member_id, created_at, expires_at) \
             SELECT $1, team_id, id, $2, $3 FROM members WHERE id = $4 RETURNING {SIGNIN_COLUMNS}"
        );
        let row: Option<SignInRow> = with_writer!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token.hash().to_vec())
                .bind(to_millis(now))
                .bind(to_millis(expires_at))
                .bind(member.0)
                .fetch_all(pool)
                .await
                .map(super::first_row)
        })?;
        Ok(row.ok_or_else(|| StoreError::NotFound(format!("no member with id {member}")))?.into())
    }

    /// The sign-in link a token names, used or not (showing it never spends it).
    pub async fn signin_link(&self, token: &OpaqueToken) -> Result<Option<SignInLink>> {
        let sql = format!("SELECT {SIGNIN_COLUMNS} FROM signin_links WHERE token_hash = $1");
        let row: Option<SignInRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token.hash().to_vec()).fetch_optional(pool).await
        })?;
        Ok(row.map(Into::into))
    }

    /// Spends a sign-in link that is unused and unexpired at `now` and opens a session for its
    /// member under `session`'s hash until `session_expires_at`, in one transaction. `None` when
    /// the link cannot be used (nothing is written then).
    pub async fn open_session(
        &self,
        link: &OpaqueToken,
        session: &OpaqueToken,
        now: DateTime<Utc>,
        session_expires_at: DateTime<Utc>,
    ) -> Result<Option<(TeamId, MemberId)>> {
        let now_ms = to_millis(now);
        // A person waits on this write: it goes before the checker's bulk parts.
        let _first = self.db().urgent();
        let opened: Result<Option<(i64, i64)>, StoreError> = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let spent: Option<(i64, i64)> = sqlx::query_as(
                    "UPDATE signin_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
                     RETURNING team_id, member_id",
                )
                .bind(now_ms)
                .bind(link.hash().to_vec())
                .fetch_optional(&mut *tx)
                .await?;
                let Some((team, member)) = spent else { return Ok(None) };
                sqlx::query(
                    "INSERT INTO team_sessions (session_hash, team_id, member_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(session.hash().to_vec())
                .bind(team)
                .bind(member)
                .bind(now_ms)
                .bind(to_millis(session_expires_at))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Some((team, member)))
            }
            .await
        });
        Ok(opened?.map(|(team, member)| (TeamId(team), MemberId(member))))
    }

    /// The unexpired session a cookie names, with its member as the member is now; `None` for
    /// an unknown, ended or expired session, or a member no longer in the session's team.
    pub async fn session(&self, token: &OpaqueToken, now: DateTime<Utc>) -> Result<Option<Session>> {
        let found: Option<(i64, i64, i64, i64)> = with_pool!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT id, team_id, member_id, expires_at FROM team_sessions WHERE session_hash = $1 AND expires_at > $2",
            )
            .bind(token.hash().to_vec())
            .bind(to_millis(now))
            .fetch_optional(pool)
            .await
        })?;
        let Some((id, team_id, member_id, expires_at)) = found else { return Ok(None) };
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1 AND team_id = $2");
        let member: Option<MemberRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(member_id).bind(team_id).fetch_optional(pool).await
        })?;
        let Some(member) = member else { return Ok(None) };
        Ok(Some(Session {
            id,
            team_id: TeamId(team_id),
            member: member.into_member()?,
            expires_at: from_millis(expires_at),
        }))
    }

    /// Ends the session a cookie names; `true` if there was one.
    pub async fn end_session(&self, token: &OpaqueToken) -> Result<bool> {
        let deleted = with_writer!(self.db(), |pool| {
            sqlx::query("DELETE FROM team_sessions WHERE session_hash = $1")
                .bind(token.hash().to_vec())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(deleted > 0)
    }

    /// Deletes sign-in links and sessions that ended before `before`; returns how many rows went.
    pub async fn purge_expired_sessions(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = to_millis(before);
        let mut purged = 0;
        for sql in ["DELETE FROM signin_links WHERE expires_at < $1", "DELETE FROM team_sessions WHERE expires_at < $1"]
        {
            purged += with_writer!(self.db(), |pool| {
                sqlx::query(sql).bind(before).execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(purged)
    }
}
