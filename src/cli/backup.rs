//! `relink backup FILE`: a consistent copy of the SQLite database, taken while `relink serve`
//! runs (`VACUUM INTO` reads one snapshot of the WAL database and writes a compact copy), and a
//! reminder that the key file belongs with it. On PostgreSQL it says how to use `pg_dump`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use relink_core::store::{Db, Engine};
use secrecy::ExposeSecret as _;

use super::Usage;
use crate::config::{Config, KeySource};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy (a new file; the directory must exist).
    file: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
}

pub async fn run(args: BackupArgs, config: &Config) -> anyhow::Result<()> {
    let url = config.database_url.expose_secret();
    if Engine::of_url(url)? == Engine::Postgres {
        return Err(Usage(postgres_advice(url)).into());
    }
    let Some(source) = crate::open::sqlite_file(url) else {
        bail!("the database is in memory: there is nothing on disk to back up");
    };
    if !source.exists() {
        bail!("the database {} does not exist", source.display());
    }
    prepare_target(&args.file, args.force)?;
    let target = args.file.to_str().context("the backup file's path must be valid UTF-8")?;
    // Connecting does not migrate: a backup taken before an upgrade must be the old schema.
    let db = Db::connect(url).await?;
    let copied = db.vacuum_into(target).await;
    db.close().await;
    if let Err(error) = copied {
        // Leave no empty or partial file that looks like a backup.
        let _ = std::fs::remove_file(&args.file);
        return Err(error).with_context(|| format!("cannot copy the database to {}", args.file.display()));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "backed up {} to {}", source.display(), args.file.display())?;
    match &config.keys {
        KeySource::File(key_file) => writeln!(
            out,
            "Keep the key file {} with this backup (in a separate safe place): the tokens in it are sealed \
             with its keys, and without it they cannot be opened.",
            key_file.display()
        )?,
        KeySource::Configured(_) => writeln!(
            out,
            "Keep the value of encryption_keys with this backup (in a separate safe place): the tokens in it \
             are sealed with those keys, and without them they cannot be opened."
        )?,
    }
    Ok(())
}

/// Creates the backup file new and private (`VACUUM INTO` fills an empty file), or empties an
/// existing one with `--force`.
fn prepare_target(path: &Path, force: bool) -> anyhow::Result<()> {
    use std::fs::OpenOptions;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    if path.is_dir() {
        bail!("{} is a directory: name the backup file", path.display());
    }
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    options.mode(0o600);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(Usage(format!("{} already exists; choose another name or add --force to replace it", path.display()))
                .into())
        }
        Err(error) => Err(error).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// What to run instead on PostgreSQL: `pg_dump` with the URL's host, port, user and database,
/// never its password.
fn postgres_advice(url: &str) -> String {
    let example = url::Url::parse(url)
        .map(|mut url| {
            let _ = url.set_password(None);
            url.set_query(None);
            url.to_string()
        })
        .unwrap_or_else(|_| "postgres://USER@HOST:5432/DATABASE".into());
    format!(
        "relink backup copies SQLite databases only; this one is PostgreSQL, which pg_dump backs up consistently \
         while relink runs:\n  pg_dump --format=custom --file relink.dump '{example}'\n(the password from \
         PGPASSWORD or ~/.pgpass). Keep the key file or encryption_keys with the dump: without it the tokens \
         cannot be opened."
    )
}
