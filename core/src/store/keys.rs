//! Keys in the database: the check values that recognise each key, and re-sealing every token
//! under the newest key after a rotation.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{Db, Result, Store, StoreError, with_pool, with_writer};
use crate::crypto::{Binding, Keyring};
use crate::domain::ChannelId;
use crate::time::to_millis;

/// What the check value holds; any constant works, it only has to open.
const CHECK_PLAINTEXT: &[u8] = b"relink key check";

/// Checks `keyring` against the keys the database knows and records the new ones.
pub(super) async fn verify_and_register(db: &Db, keyring: &Keyring, now: DateTime<Utc>) -> Result<()> {
    let known: Vec<(i64, Vec<u8>)> = with_pool!(db, |pool| {
        sqlx::query_as("SELECT id, check_value FROM encryption_keys ORDER BY id").fetch_all(pool).await
    })?;
    for (id, check_value) in &known {
        let id = u32::try_from(*id).map_err(|_| StoreError::Corrupt(format!("encryption key id {id}")))?;
        if keyring.key(id).is_none() {
            let in_use: i64 = with_pool!(db, |pool| {
                sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE token_key_id = $1")
                    .bind(i64::from(id))
                    .fetch_one(pool)
                    .await
            })?;
            if in_use > 0 {
                return Err(StoreError::Keyring(format!(
                    "{in_use} channel(s) hold tokens sealed with encryption key {id}, which the configured keyring lacks; \
                     restore that key (key file or encryption_keys) before starting"
                )));
            }
            continue;
        }
        if keyring.open(Binding::KeyCheck, id, check_value).is_err() {
            return Err(StoreError::Keyring(format!(
                "encryption key {id} is not the key this database was written with (was the key file replaced?); \
                 restore the original key file or encryption_keys"
            )));
        }
    }
    for id in keyring.ids() {
        if known.iter().any(|(known_id, _)| *known_id == i64::from(id)) {
            continue;
        }
        let sealed = keyring.seal_with(id, Binding::KeyCheck, CHECK_PLAINTEXT)?;
        with_writer!(db, |pool| {
            sqlx::query("INSERT INTO encryption_keys (id, check_value, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
                .bind(i64::from(id))
                .bind(sealed.bytes)
                .bind(to_millis(now))
                .execute(pool)
                .await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// How often a running store may re-read its key file when it meets an unknown key id: a row
/// sealed under a key nobody has must not turn every read into a file read.
pub const KEY_FILE_REREAD: Duration = Duration::from_secs(10);

/// The key file a running store re-reads after a rotation, and when it last did.
#[derive(Debug)]
pub(super) struct KeyFileWatch {
    path: PathBuf,
    last_read: Mutex<Option<Instant>>,
}

impl KeyFileWatch {
    pub(super) fn new(path: PathBuf) -> Self {
        Self { path, last_read: Mutex::new(None) }
    }

    /// Whether a re-read is allowed now; if so, counts it.
    fn may_reread(&self) -> bool {
        let mut last = self.last_read.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if last.is_some_and(|at| now.saturating_duration_since(at) < KEY_FILE_REREAD) {
            return false;
        }
        *last = Some(now);
        true
    }
}

impl Store {
    /// Makes sure the keyring holds `key_id` before opening something sealed with it: a key id
    /// the keyring lacks (another process rotated the keys) re-reads the key file, if the store
    /// watches one and has not re-read it within [`KEY_FILE_REREAD`]. The file's keyring is
    /// adopted only if every key in it opens the database's check value; otherwise the store
    /// keeps its keyring and logs why. Opening then fails as before if the key is still missing.
    pub(crate) async fn ensure_key(&self, key_id: u32) {
        if self.keyring().key(key_id).is_some() {
            return;
        }
        let Some(watch) = self.key_file.as_deref() else { return };
        if !watch.may_reread() {
            return;
        }
        let ring = match crate::keyfile::load(&watch.path) {
            Ok(ring) => ring,
            Err(error) => {
                tracing::error!(%error, "cannot re-read the key file for a newer key");
                return;
            }
        };
        if let Err(error) = verify_and_register(self.db(), &ring, Utc::now()).await {
            tracing::error!(%error, key_file = %watch.path.display(), "the re-read key file does not match this database; keeping the keys in use");
            return;
        }
        let found = ring.key(key_id).is_some();
        let active = ring.active_id();
        self.replace_keyring(ring);
        tracing::info!(key_file = %watch.path.display(), active, found, "re-read the key file after meeting key {key_id}");
    }
}

impl Db {
    /// The ids of the keys the database has seen: non-empty means tokens may be sealed here,
    /// and a missing key file must not be silently replaced by a new key.
    pub async fn known_key_ids(&self) -> Result<Vec<u32>> {
        let ids: Vec<i64> = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT id FROM encryption_keys ORDER BY id").fetch_all(pool).await
        })?;
        Ok(ids.into_iter().filter_map(|id| u32::try_from(id).ok()).collect())
    }
}

/// What a re-seal did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Channels whose tokens now use the active key.
    pub resealed: u64,
    /// Channels that already did.
    pub already_current: u64,
}

/// How many channels one re-seal transaction handles.
const RESEAL_BATCH: i64 = 500;

impl Store {
    /// Re-seals every channel's tokens that is not yet under the active key, in batches, each row
    /// guarded by its version so a concurrent token update is never overwritten with old tokens.
    pub async fn reseal_all(&self) -> Result<ResealReport> {
        let active = i64::from(self.keyring().active_id());
        let already_current: i64 = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE token_key_id = $1")
                .bind(active)
                .fetch_one(pool)
                .await
        })?;
        let mut report = ResealReport { resealed: 0, already_current: already_current as u64 };
        let mut after = 0_i64;
        loop {
            let batch: Vec<(i64, i64, Vec<u8>, i64)> = with_pool!(self.db(), |pool| {
                sqlx::query_as(
                    "SELECT id, token_key_id, token_ciphertext, version FROM channels \
                     WHERE id > $1 AND token_key_id <> $2 ORDER BY id LIMIT CAST($3 AS BIGINT)",
                )
                .bind(after)
                .bind(active)
                .bind(RESEAL_BATCH)
                .fetch_all(pool)
                .await
            })?;
            let Some(last) = batch.last() else { break };
            after = last.0;
            let mut resealed = Vec::with_capacity(batch.len());
            for (id, key_id, ciphertext, version) in batch {
                let key_id = u32::try_from(key_id).map_err(|_| StoreError::Corrupt(format!("key id {key_id}")))?;
                let binding = Binding::Channel(ChannelId(id));
                let plain = self.keyring().open(binding, key_id, &ciphertext)?;
                resealed.push((id, self.keyring().seal(binding, &plain), version));
            }
            let updated: u64 = with_writer!(self.db(), |pool| {
                async {
                    let mut tx = pool.begin().await?;
                    let mut updated = 0;
                    for (id, sealed, version) in &resealed {
                        updated += sqlx::query(
                            "UPDATE channels SET token_key_id = $1, token_ciphertext = $2 WHERE id = $3 AND version = $4",
                        )
                        .bind(i64::from(sealed.key_id))
                        .bind(&sealed.bytes)
                        .bind(id)
                        .bind(version)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    }
                    tx.commit().await?;
                    Ok::<_, sqlx::Error>(updated)
                }
                .await
            })?;
            report.resealed += updated;
        }
        Ok(report)
    }

    /// How many channels are sealed under each key id.
    pub async fn channels_per_key(&self) -> Result<Vec<(u32, u64)>> {
        let rows: Vec<(i64, i64)> = with_pool!(self.db(), |pool| {
            sqlx::query_as("SELECT token_key_id, COUNT(*) FROM channels GROUP BY token_key_id ORDER BY token_key_id")
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(|(id, n)| (id as u32, n as u64)).collect())
    }
}
