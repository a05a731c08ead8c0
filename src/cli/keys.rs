//! `relink keys list|rotate`: the keys that seal tokens at rest.

use chrono::Utc;
use clap::Subcommand;
use relink_core::crypto::Keyring;
use relink_core::keyfile;
use relink_core::store::Store;

use crate::config::{Config, KeySource};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the keys (by fingerprint, never the key) and how many channels each seals.
    List,
    /// Add a new key (to the key file; with encryption_keys, add it there first) and re-seal every
    /// channel's tokens with it.
    Rotate,
}

pub async fn run(command: KeysCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        KeysCommand::List => {
            let store = crate::open::store(config).await?;
            let counts = store.channels_per_key().await?;
            let ring = store.keyring();
            let mut table = super::table(&["KEY", "FINGERPRINT", "CHANNELS", "USE"]);
            for id in ring.ids() {
                let count = counts.iter().find(|(k, _)| *k == id).map_or(0, |(_, n)| *n);
                let fingerprint = ring.key(id).map(|k| k.fingerprint()).unwrap_or_default();
                let role = if id == ring.active_id() { "seals new tokens" } else { "opens older tokens" };
                table.add_row(vec![id.to_string(), fingerprint, count.to_string(), role.to_string()]);
            }
            println!("{table}");
        }
        KeysCommand::Rotate => {
            let store = crate::open::store(config).await?;
            let store = match &config.keys {
                KeySource::File(path) => {
                    let mut ring = Keyring::clone(&store.keyring());
                    let new_id = ring.add_generated();
                    // The new key is safely on disk before any token is sealed with it.
                    keyfile::save(path, &ring)?;
                    println!("key {new_id} added to {}", path.display());
                    Store::open(store.db().clone(), ring, Utc::now()).await?
                }
                KeySource::Configured(ring) => {
                    let active = ring.active_id();
                    if store.channels_per_key().await?.iter().all(|(id, _)| *id == active) {
                        println!(
                            "every channel is already sealed with key {active}, the highest in encryption_keys; \
                             to rotate, add a new entry `{}:BASE64` (32 random bytes, e.g. `openssl rand -base64 32`) \
                             to encryption_keys and run this again",
                            active + 1
                        );
                        return Ok(());
                    }
                    store
                }
            };
            let report = store.reseal_all().await?;
            println!(
                "key {} now seals tokens: {} channel(s) re-sealed, {} already current",
                store.keyring().active_id(),
                report.resealed,
                report.already_current
            );
            println!(
                "older keys stay so backups keep opening; drop one only when no channel uses it (`relink keys list`)"
            );
        }
    }
    Ok(())
}
