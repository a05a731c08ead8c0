//! Where relink keeps its data: `data_dir`, `database_url`, and the encryption keys
//! (`key_file` or `encryption_keys`). The database URL and the keys are secrets: the URL is shown
//! with its password redacted, the keys only by id.

use std::path::{Path, PathBuf};

use relink_core::crypto::Keyring;
use relink_core::store::Engine;
use secrecy::{ExposeSecret, SecretString};

use super::report::{Description, Report};

/// The top-level storage keys, as read.
#[derive(Debug, Default)]
pub(super) struct RawStorage {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<SecretString>,
    pub key_file: Option<PathBuf>,
    pub encryption_keys: Option<SecretString>,
}

/// Where the encryption keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A key file, created on first start when missing.
    File(PathBuf),
    /// `encryption_keys` from the configuration.
    Configured(Keyring),
}

/// The resolved storage settings ([`super::Config`] holds them as fields of its own).
#[derive(Debug)]
pub(super) struct Storage {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub keys: KeySource,
}

pub(super) fn resolve(raw: RawStorage, report: &mut Report<'_>) -> Storage {
    let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("relink-data"));
    if data_dir.as_os_str().is_empty() {
        report.problem("data_dir", "must not be empty".into());
    }
    let database_url = raw
        .database_url
        .map(|u| u.expose_secret().trim().to_owned())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("relink.db").display()));
    let engine = match Engine::of_url(&database_url) {
        Ok(engine) => Some(engine),
        Err(error) => {
            report.problem("database_url", error.to_string());
            None
        }
    };
    let keys = match raw.encryption_keys {
        Some(spec) => match Keyring::parse_spec(spec.expose_secret()) {
            Ok(ring) => KeySource::Configured(ring),
            Err(error) => {
                report.problem("encryption_keys", error.to_string());
                KeySource::File(PathBuf::new())
            }
        },
        None => KeySource::File(raw.key_file.unwrap_or_else(|| default_key_file(&data_dir, &database_url, engine))),
    };
    Storage { data_dir, database_url, keys }
}

/// The database URL is shown with its password redacted, the keys by id only.
pub(super) fn describe(config: &super::Config, out: &mut Description<'_>) {
    out.line("data_dir", format!("{:?}", config.data_dir.display().to_string()));
    out.line("database_url", format!("{:?}", config.database_url_for_display()));
    match &config.keys {
        KeySource::File(path) => {
            out.line("key_file", format!("{:?}", path.display().to_string()));
            out.line("encryption_keys", "(not set: keys come from key_file)".into());
        }
        KeySource::Configured(ring) => {
            let ids: Vec<String> = ring.ids().map(|id| id.to_string()).collect();
            out.line("encryption_keys", format!("[REDACTED] (key ids {})", ids.join(", ")));
        }
    }
}

/// The key file sits beside an SQLite database, else in the data directory.
fn default_key_file(data_dir: &Path, database_url: &str, engine: Option<Engine>) -> PathBuf {
    if engine == Some(Engine::Sqlite) {
        let path = database_url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or_default();
        if let Some(dir) = Path::new(path).parent() {
            return dir.join("relink.key");
        }
    }
    data_dir.join("relink.key")
}
