//! What push signals need of the store: the channels a signal names made due now, receipts that
//! refuse a replayed signal, and Meta's data deletion requests.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, parse_column, with_pool, with_writer};
use crate::crypto::Binding;
use crate::domain::{ChannelId, DataDeletion, Health, Reason, Scopes, Source, Subject};
use crate::time::{from_millis, to_millis};
use crate::token::TokenSet;

/// How long a receipt is kept: a signal older than this is refused for its age anyway.
const RECEIPTS_KEPT: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// What a deletion leaves in a channel's history (never shown as the network's words).
const DELETED: &str = "the person who granted access asked the network to delete their data; relink deleted the tokens";

/// `WHERE` text naming the subject's channels, its parameters starting at `$first`, and the
/// values to bind in order.
fn subject_filter(subject: &Subject, first: usize) -> (String, Vec<String>) {
    let mut values = Vec::new();
    let mut next = first;
    let mut placeholders = |items: Vec<String>, values: &mut Vec<String>| {
        let list: Vec<String> = items
            .into_iter()
            .map(|item| {
                values.push(item);
                next += 1;
                format!("${}", next - 1)
            })
            .collect();
        list.join(", ")
    };
    let providers = placeholders(subject.providers().iter().map(|p| p.as_str().to_owned()).collect(), &mut values);
    let accounts = placeholders(subject.account_ids(), &mut values);
    let mut filter = format!("provider IN ({providers}) AND (external_account_id IN ({accounts})");
    if let Some(grantor) = subject.grantor_id() {
        let grantor = placeholders(vec![grantor.to_owned()], &mut values);
        filter.push_str(&format!(" OR grantor_id = {grantor}"));
    }
    filter.push(')');
    (filter, values)
}

impl Store {
    /// Makes every channel the subject names due at `now` (earlier only; not those that already
    /// need a reconnect, except a Telegram chat's) and returns them. A channel being checked
    /// right now is checked again after: its check keeps a due time pulled ahead of its lease.
    ///
    /// A Telegram channel is reconnected by adding the bot back, not through a link, so a
    /// signal about its chat may be the fix: checking it can only find it healthy again.
    pub async fn make_due_for(&self, subject: &Subject, now: DateTime<Utc>) -> Result<Vec<ChannelId>> {
        let (filter, values) = subject_filter(subject, 2);
        let connected = match subject {
            Subject::TelegramChat { .. } => "",
            Subject::FacebookUser(_) | Subject::GoogleAccount(_) => " AND health <> 'needs_reauth'",
        };
        let sql = format!(
            "UPDATE channels SET next_check_at = CASE WHEN next_check_at > $1 THEN $1 ELSE next_check_at END, \
             signalled_at = $1 \
             WHERE {filter}{connected} RETURNING id"
        );
        let ids: Vec<i64> = with_writer!(self.db(), |pool| {
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(to_millis(now));
            for value in &values {
                query = query.bind(value);
            }
            query.fetch_all(pool).await
        })?;
        Ok(ids.into_iter().map(ChannelId).collect())
    }

    /// Records a signal's receipt; `false` when it was recorded before (a replay). Receipts
    /// older than 30 days are pruned on the way.
    pub async fn record_receipt(&self, source: Source, receipt: &str, now: DateTime<Utc>) -> Result<bool> {
        let now_ms = to_millis(now);
        let oldest = to_millis(crate::time::before(now, RECEIPTS_KEPT));
        let inserted = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                sqlx::query("DELETE FROM signal_receipts WHERE received_at < $1")
                    .bind(oldest)
                    .execute(&mut *tx)
                    .await?;
                let inserted = sqlx::query(
                    "INSERT INTO signal_receipts (source, receipt, received_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (source, receipt) DO NOTHING",
                )
                .bind(source.as_str())
                .bind(receipt)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok::<_, sqlx::Error>(inserted)
            }
            .await
        })?;
        Ok(inserted == 1)
    }

    /// Forgets a receipt recorded by [`Store::record_receipt`] whose work then failed (the
    /// database went away between the two), so the sender's retry is not refused as a replay.
    pub async fn forget_receipt(&self, source: Source, receipt: &str) -> Result<()> {
        with_writer!(self.db(), |pool| {
            sqlx::query("DELETE FROM signal_receipts WHERE source = $1 AND receipt = $2")
                .bind(source.as_str())
                .bind(receipt)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Deletes the tokens of every channel the subject names (whatever its health): an empty
    /// sealed token set, no grantor, a check due now; then each channel needs a reconnect, with
    /// the usual transition so its team is told. Records the request under `code` and returns
    /// how many channels it touched. A code already recorded changes nothing and answers 0.
    pub async fn delete_grants_of(&self, subject: &Subject, code: &str, now: DateTime<Utc>) -> Result<usize> {
        let now_ms = to_millis(now);
        let (filter, values) = subject_filter(subject, 1);
        let select = format!("SELECT id FROM channels WHERE {filter} ORDER BY id");
        let ids: Vec<i64> = with_pool!(self.db(), |pool| {
            let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(select.clone()));
            for value in &values {
                query = query.bind(value);
            }
            query.fetch_all(pool).await
        })?;
        let empty = TokenSet {
            access_token: secrecy::SecretString::from(String::new()),
            refresh_token: None,
            expires_at: None,
            scopes: Scopes::default(),
            refresh_expires_at: None,
        };
        let sealed: Vec<(i64, crate::crypto::Sealed)> = ids
            .iter()
            .map(|id| (*id, self.keyring().seal(Binding::Channel(ChannelId(*id)), &empty.secret_bytes())))
            .collect();
        let provider = subject.providers().first().map_or("", |p| p.as_str());
        let recorded = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let recorded = sqlx::query(
                    "INSERT INTO data_deletions (code, provider, requested_at, channels, completed_at) \
                     VALUES ($1, $2, $3, $4, $3) ON CONFLICT (code) DO NOTHING",
                )
                .bind(code)
                .bind(provider)
                .bind(now_ms)
                .bind(i64::try_from(sealed.len()).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if recorded == 0 {
                    return Ok::<_, sqlx::Error>(false);
                }
                for (id, sealed) in &sealed {
                    sqlx::query(
                        "UPDATE channels SET token_key_id = $1, token_ciphertext = $2, token_expires_at = NULL, \
                         scopes = '', grantor_id = NULL, version = version + 1, refresh_uncertain_at = NULL, \
                         next_check_at = $3, updated_at = $3 WHERE id = $4",
                    )
                    .bind(i64::from(sealed.key_id))
                    .bind(&sealed.bytes)
                    .bind(now_ms)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        if !recorded {
            return Ok(0);
        }
        let needs_reconnect = Health::NeedsReauth(Reason::AppRevoked);
        for id in &ids {
            self.set_health(ChannelId(*id), &needs_reconnect, Some(DELETED), now).await?;
        }
        Ok(ids.len())
    }

    /// A data deletion request by its confirmation code.
    pub async fn data_deletion(&self, code: &str) -> Result<Option<DataDeletion>> {
        let row: Option<(String, i64, i64, Option<i64>)> = with_pool!(self.db(), |pool| {
            sqlx::query_as("SELECT provider, requested_at, channels, completed_at FROM data_deletions WHERE code = $1")
                .bind(code)
                .fetch_optional(pool)
                .await
        })?;
        row.map(|(provider, requested_at, channels, completed_at)| {
            Ok(DataDeletion {
                provider: parse_column(&provider)?,
                requested_at: from_millis(requested_at),
                channels: usize::try_from(channels)
                    .map_err(|_| StoreError::Corrupt(format!("a deletion of {channels} channels")))?,
                completed_at: completed_at.map(from_millis),
            })
        })
        .transpose()
    }
}
