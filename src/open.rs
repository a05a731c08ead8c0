//! Opening the database and the keyring, the same way for every command.
//!
//! With no key configured, the key file is created on first use and the log says so once. A
//! database that already holds sealed tokens never gets a fresh key silently: a missing key file
//! is an error that says what to restore.

use anyhow::{Context as _, bail};
use chrono::Utc;
use relink_core::crypto::Keyring;
use relink_core::keyfile;
use relink_core::store::{Db, Engine, Store};
use secrecy::ExposeSecret;

use crate::config::{Config, KeySource};

/// Connects to the configured database (creating the data directory for SQLite) and applies
/// pending migrations.
pub async fn database(config: &Config) -> anyhow::Result<Db> {
    let url = config.database_url.expose_secret();
    if url.starts_with("sqlite:") {
        let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let path = std::path::Path::new(path.split('?').next().unwrap_or_default());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Readable only by its owner: it holds the database and, by default, the key file.
            relink_core::keyfile::create_private_dir(dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        }
    }
    let db = Db::connect(url).await?;
    let applied = db.migrate().await?;
    if applied > 0 {
        tracing::info!(applied, database = %config.database_url_for_display(), "database migrated");
    }
    Ok(db)
}

/// Loads the keyring named by the configuration, creating the key file when it is missing and
/// the database has never held sealed tokens.
pub async fn keyring(config: &Config, db: &Db) -> anyhow::Result<Keyring> {
    match &config.keys {
        KeySource::Configured(ring) => Ok(ring.clone()),
        KeySource::File(path) => {
            if !path.exists() {
                let known = db.known_key_ids().await?;
                if !known.is_empty() {
                    bail!(
                        "the database holds tokens sealed with encryption key(s) {known:?}, but the key file {} does not exist; \
                         restore it from your backup (or set encryption_keys) — a new key could not read them",
                        path.display()
                    );
                }
            }
            let (ring, created) = keyfile::load_or_create(path)?;
            if created {
                tracing::info!(
                    key_file = %path.display(),
                    "generated a new encryption key; back this file up with the database: without it the stored tokens cannot be read"
                );
            } else if keyfile::is_too_open(path) {
                tracing::warn!(key_file = %path.display(), "the key file is readable by other users; run: chmod 600 on it");
            }
            Ok(ring)
        }
    }
}

/// The database, migrated, with its keyring checked: what every command but `migrate` uses.
pub async fn store(config: &Config) -> anyhow::Result<Store> {
    let db = database(config).await?;
    let ring = keyring(config, &db).await?;
    let store = Store::open(db, ring, Utc::now()).await?;
    Ok(match &config.keys {
        // A `relink keys rotate` beside a running process is picked up from the file; keys
        // configured in `encryption_keys` change only with a restart.
        KeySource::File(path) => store.watching_key_file(path),
        KeySource::Configured(_) => store,
    })
}

/// The SQLite database file a `sqlite:` URL names; `None` for PostgreSQL or an in-memory one.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if Engine::of_url(url).ok()? != Engine::Sqlite || url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    Some(std::path::PathBuf::from(path.split('?').next().unwrap_or_default()))
}
