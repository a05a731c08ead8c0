//! The doctor's local checks: the public URL, the database (reachable, migrated) and the
//! permissions of the key file and the SQLite files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use relink_core::store::Db;
use secrecy::ExposeSecret as _;

use super::Check;
use crate::config::{Config, KeySource};

/// `web.public_url` must be https unless it is loopback: people open links and networks send
/// them back there, and the flow's cookie is `Secure`.
pub(super) fn public_url(config: &Config) -> Check {
    let text = &config.web.public_url;
    let Ok(url) = url::Url::parse(text) else {
        return Check::fail(format!("web.public_url `{text}` is not a URL"), "set web.public_url to https://…");
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match (url.scheme(), loopback) {
        ("https", _) => Check::pass(format!("web.public_url {text} is https")),
        (_, true) => Check::advice(
            format!("web.public_url {text} is loopback: fine on this machine only"),
            "in production set web.public_url to the https address people reach relink at",
        ),
        _ => Check::fail(
            format!("web.public_url {text} is not https"),
            "serve relink behind TLS and set web.public_url to its https address (e.g. https://relink.example.com)",
        ),
    }
}

/// The database (reachable, migrations), then the key file and the data files' permissions.
pub(super) async fn storage(config: &Config, timeout: Duration) -> Vec<Check> {
    let url = config.database_url.expose_secret();
    let shown = config.database_url_for_display();
    let file = crate::open::sqlite_file(url);
    let mut checks = Vec::new();
    let mut known_keys = None;
    // Read before connecting: opening the database makes its files private again.
    let open_before: Vec<(PathBuf, u32)> = file.as_deref().map(open_files).unwrap_or_default();
    if let Some(file) = file.as_ref().filter(|f| !f.exists()) {
        checks.push(Check::advice(
            format!("database {} does not exist yet", file.display()),
            "`relink serve` or `relink migrate` creates it",
        ));
    } else {
        // A PostgreSQL server that does not answer takes its own 10 s; the doctor waits less.
        let wait = timeout.saturating_mul(2);
        match tokio::time::timeout(wait, Db::connect(url)).await {
            Err(_) => checks.push(Check::fail(
                format!("database {shown}: could not reach it within {}", humantime::format_duration(wait)),
                "check database_url / RELINK_DATABASE_URL and that the server runs and accepts this host",
            )),
            Ok(Err(error)) => checks.push(Check::fail(
                format!("database {shown}: {error}"),
                "check database_url / RELINK_DATABASE_URL, the server, the user and its password",
            )),
            Ok(Ok(db)) => {
                checks.push(migrations(&db, &shown).await);
                known_keys = db.known_key_ids().await.ok();
                db.close().await;
            }
        }
    }
    checks.push(key_file(config, known_keys.as_deref()));
    if let Some(file) = file.filter(|f| f.exists()) {
        checks.extend(data_files(&file, &open_before));
    }
    checks
}

/// The database file and its `-wal` and `-shm` companions that exist.
fn companions(file: &Path) -> Vec<PathBuf> {
    let mut files = vec![file.to_path_buf()];
    for suffix in ["-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    files.retain(|f| f.exists());
    files
}

/// The database's files open to other users, with their modes.
fn open_files(file: &Path) -> Vec<(PathBuf, u32)> {
    companions(file).into_iter().filter_map(|path| Some((open_mode(&path)?, path))).map(|(m, p)| (p, m)).collect()
}

async fn migrations(db: &Db, shown: &str) -> Check {
    match db.pending_migrations().await {
        Ok(pending) if pending.is_empty() => Check::pass(format!("database {shown} is reachable and migrated")),
        Ok(pending) => {
            let mut check = Check::fail(
                format!("database {shown} is reachable; {} migration(s) pending", pending.len()),
                "run `relink migrate` (or restart `relink serve`, which migrates at start)",
            );
            for migration in pending {
                check = check.detail(migration);
            }
            check
        }
        Err(error) => Check::fail(
            format!("database {shown} is reachable but its migrations cannot be read: {error}"),
            "check that database_url names relink's database",
        ),
    }
}

/// The key file exists, is private, and holds every key the database has sealed tokens with.
fn key_file(config: &Config, known: Option<&[u32]>) -> Check {
    let path = match &config.keys {
        KeySource::Configured(_) => {
            return Check::pass("encryption keys come from encryption_keys (no key file)");
        }
        KeySource::File(path) => path,
    };
    let shown = path.display();
    if !path.exists() {
        return match known {
            Some(ids) if !ids.is_empty() => Check::fail(
                format!("key file {shown} is missing, and the database holds tokens sealed with key(s) {ids:?}"),
                format!("restore {shown} from the backup kept with the database (a new key cannot read them)"),
            ),
            _ => Check::advice(format!("key file {shown} does not exist yet"), "relink creates it on first start"),
        };
    }
    if let Some(check) = too_open(path, 0o600) {
        return check;
    }
    match relink_core::keyfile::load(path) {
        Err(error) => Check::fail(format!("key file {shown}: {error}"), "restore the key file from your backup"),
        Ok(ring) => {
            let missing: Vec<u32> =
                known.unwrap_or_default().iter().copied().filter(|id| !ring.ids().any(|have| have == *id)).collect();
            if missing.is_empty() {
                Check::pass(format!("key file {shown} is private (0600) and readable"))
            } else {
                Check::fail(
                    format!("key file {shown} lacks key(s) {missing:?} the database's tokens are sealed with"),
                    format!("restore the key file that goes with this database to {shown}"),
                )
            }
        }
    }
}

/// The database file, its `-wal` and `-shm` companions, and the directory holding them.
/// `open_before` are the files found open to others before the doctor connected (which makes
/// them private, as every relink command does).
fn data_files(file: &Path, open_before: &[(PathBuf, u32)]) -> Vec<Check> {
    let mut checks = Vec::new();
    for (path, mode) in open_before {
        checks.push(match too_open(path, 0o600) {
            Some(check) => check,
            None => Check::advice(
                format!("{} was open to other users (mode {mode:04o}); relink has made it 0600", path.display()),
                "find out who could read it and how it got that mode (a copy, a restore, a umask)",
            ),
        });
    }
    if open_before.is_empty() {
        checks.push(Check::pass(format!("database file {} is private (0600)", file.display())));
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        match too_open(dir, 0o700) {
            Some(check) => checks.push(check),
            None => checks.push(Check::pass(format!("data directory {} is private (0700)", dir.display()))),
        }
    }
    checks
}

/// The mode of `path` when its group or others have any access to it.
#[cfg(unix)]
fn open_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn open_mode(_path: &Path) -> Option<u32> {
    None
}

/// A failure when `path` can be read or written by its group or others.
fn too_open(path: &Path, wanted: u32) -> Option<Check> {
    open_mode(path).map(|mode| {
        Check::fail(
            format!("{} is open to other users (mode {mode:04o})", path.display()),
            format!("chmod {wanted:o} {}", path.display()),
        )
    })
}
