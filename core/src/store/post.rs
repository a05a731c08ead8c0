//! Scheduled posts in the store.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, parse_column, with_pool, with_writer};
use crate::checker::schedule::BEFORE_POST;
use crate::domain::{ChannelId, PostId, PostStatus, ScheduledPost, TeamId};
use crate::time::{before, from_millis, to_millis};

#[derive(sqlx::FromRow)]
struct PostRow {
    id: i64,
    channel_id: i64,
    due_at: i64,
    status: String,
    external_ref: Option<String>,
    created_at: i64,
}

impl PostRow {
    fn into_post(self) -> Result<ScheduledPost> {
        Ok(ScheduledPost {
            id: PostId(self.id),
            channel_id: ChannelId(self.channel_id),
            due_at: from_millis(self.due_at),
            status: parse_column(&self.status)?,
            external_ref: self.external_ref,
            created_at: from_millis(self.created_at),
        })
    }
}

const POST_COLUMNS: &str = "p.id, p.channel_id, p.due_at, p.status, p.external_ref, p.created_at";

impl Store {
    /// Schedules a post on a channel. With an `external_ref`, scheduling the same post again
    /// moves it instead of adding a second one.
    ///
    /// In the same transaction the channel's next check is pulled to [`BEFORE_POST`] ahead of
    /// the post when that is earlier (never later: a post moved away or cancelled leaves the
    /// check where it was). A channel being checked right now has its lease's end as
    /// `next_check_at`; pulling it below that end is what tells the check's writer to keep the
    /// earlier time (see `finish_checks`).
    pub async fn schedule_post(
        &self,
        channel: ChannelId,
        due_at: DateTime<Utc>,
        external_ref: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ScheduledPost> {
        let check_at = to_millis(before(due_at, BEFORE_POST).max(now));
        let pull = due_at > now;
        let row: Result<PostRow, sqlx::Error> = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let row: PostRow = sqlx::query_as(
                    "INSERT INTO scheduled_posts (channel_id, due_at, status, external_ref, created_at) \
                     VALUES ($1, $2, 'pending', $3, $4) \
                     ON CONFLICT (channel_id, external_ref) DO UPDATE SET due_at = excluded.due_at, status = 'pending' \
                     RETURNING id, channel_id, due_at, status, external_ref, created_at",
                )
                .bind(channel.0)
                .bind(to_millis(due_at))
                .bind(external_ref)
                .bind(to_millis(now))
                .fetch_one(&mut *tx)
                .await?;
                if pull {
                    sqlx::query("UPDATE channels SET next_check_at = $1 WHERE id = $2 AND next_check_at > $1")
                        .bind(check_at)
                        .bind(channel.0)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(row)
            }
            .await
        });
        let row = row.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound(format!("no channel with id {channel}"))
            }
            _ => e.into(),
        })?;
        row.into_post()
    }

    /// A team's posts (optionally of one channel), pending ones only unless `all`, by due time.
    pub async fn posts(&self, team: TeamId, channel: Option<ChannelId>, all: bool) -> Result<Vec<ScheduledPost>> {
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM scheduled_posts p JOIN channels c ON c.id = p.channel_id \
             WHERE c.team_id = $1 AND ($2 IS NULL OR p.channel_id = $2) AND ($3 OR p.status = 'pending') \
             ORDER BY p.due_at, p.id"
        );
        let rows: Vec<PostRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(team.0)
                .bind(channel.map(|c| c.0))
                .bind(all)
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(PostRow::into_post).collect()
    }

    /// Pending posts of a channel due at or after `from`: the posts a disconnect would put at risk.
    pub async fn pending_posts(&self, channel: ChannelId, from: DateTime<Utc>) -> Result<Vec<ScheduledPost>> {
        let sql = format!(
            "SELECT {POST_COLUMNS} FROM scheduled_posts p WHERE p.channel_id = $1 AND p.status = 'pending' AND p.due_at >= $2 \
             ORDER BY p.due_at, p.id"
        );
        let rows: Vec<PostRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(channel.0).bind(to_millis(from)).fetch_all(pool).await
        })?;
        rows.into_iter().map(PostRow::into_post).collect()
    }

    /// Cancels a pending post of `team`. Cancelling twice is not an error; another team's post is
    /// not found.
    pub async fn cancel_post(&self, team: TeamId, id: PostId) -> Result<ScheduledPost> {
        self.set_post_status(team, id, PostStatus::Cancelled).await
    }

    pub async fn set_post_status(&self, team: TeamId, id: PostId, status: PostStatus) -> Result<ScheduledPost> {
        let row: Option<PostRow> = with_writer!(self.db(), |pool| {
            sqlx::query_as(
                "UPDATE scheduled_posts SET status = $1 WHERE id = $2 \
                 AND channel_id IN (SELECT c.id FROM channels c WHERE c.team_id = $3) \
                 RETURNING id, channel_id, due_at, status, external_ref, created_at",
            )
            .bind(status.as_str())
            .bind(id.0)
            .bind(team.0)
            .fetch_all(pool)
            .await
            .map(super::first_row)
        })?;
        row.ok_or_else(|| StoreError::NotFound(format!("the team has no scheduled post {id}")))?.into_post()
    }
}
