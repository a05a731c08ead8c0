//! Invites in the store: one-time codes that link a chat account to a member. Only the code's
//! hash is stored; redeeming consumes it and sets the member's chat identity in one transaction.

use chrono::{DateTime, Utc};

use super::member::{MEMBER_COLUMNS, MemberRow};
use super::{Result, Store, StoreError, with_writer};
use crate::domain::{ChatPlatform, Member, MemberId};
use crate::opaque::InviteCode;
use crate::time::to_millis;

impl Store {
    /// Stores a fresh invite for `member`, valid until `expires_at`. Earlier unused invites of
    /// the member stay valid until they expire or are used.
    pub async fn create_invite(
        &self,
        member: MemberId,
        code: &InviteCode,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        with_writer!(self.db(), |pool| {
            sqlx::query(
                "INSERT INTO member_invites (code_hash, member_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(code.hash().to_vec())
            .bind(member.0)
            .bind(to_millis(now))
            .bind(to_millis(expires_at))
            .execute(pool)
            .await
            .map(|_| ())
        })
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound(format!("no member with id {member}"))
            }
            _ => e.into(),
        })?;
        Ok(())
    }

    /// Redeems an invite: consumes it (at most once, while unexpired) and links the chat
    /// account `user_id` of `platform` to its member, in one transaction. `Ok(None)` when the
    /// code is unknown, used or expired; a conflict when that account already belongs to
    /// another member of the team (nothing is consumed then).
    pub async fn redeem_invite(
        &self,
        code: &InviteCode,
        platform: ChatPlatform,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<Member>> {
        let column = match platform {
            ChatPlatform::Discord => "discord_user_id",
            ChatPlatform::Telegram => "telegram_user_id",
        };
        let link_sql = format!("UPDATE members SET {column} = $1 WHERE id = $2 RETURNING {MEMBER_COLUMNS}");
        let row: Result<Option<MemberRow>> = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let member: Option<i64> = sqlx::query_scalar(
                    "UPDATE member_invites SET used_at = $1, used_platform = $2, used_user_id = $3 \
                     WHERE code_hash = $4 AND used_at IS NULL AND expires_at > $1 RETURNING member_id",
                )
                .bind(to_millis(now))
                .bind(platform.as_str())
                .bind(user_id)
                .bind(code.hash().to_vec())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(member) = member else { return Ok(None) };
                let row: MemberRow = sqlx::query_as(sqlx::AssertSqlSafe(link_sql))
                    .bind(user_id)
                    .bind(member)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| {
                        StoreError::conflict_on_unique(e, || {
                            format!("this {platform} account is already linked to another member of the team")
                        })
                    })?;
                tx.commit().await?;
                Ok(Some(row))
            }
            .await
        });
        row?.map(MemberRow::into_member).transpose()
    }
}
