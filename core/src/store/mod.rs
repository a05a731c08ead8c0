//! The store: one API over SQLite (the embedded default) and PostgreSQL, chosen by the URL.
//!
//! sqlx's compile-time macros tie a crate to one database and its `Any` driver cannot carry
//! booleans or timestamps, so the store keeps one native pool per engine and runs the **same SQL
//! text** (`$1` parameters, `RETURNING`, partial indexes: both dialects agree) through
//! [`with_pool!`], which expands one body once per engine. Rows are read with runtime
//! `query_as` into `#[derive(FromRow)]` structs and turned into domain types here.
//!
//! [`Db`] is the connection and its migrations; [`Store`] is a `Db` plus the keyring that seals
//! tokens, checked against the database when it is opened.
//!
//! Instants are stored as milliseconds since the Unix epoch in `BIGINT` columns on both engines.

mod alerts;
mod api_keys;
mod channel;
mod chat;
mod checks;
mod invites;
mod keys;
mod links;
mod member;
mod platform;
mod post;
mod team;
mod telegram;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::crypto::{CryptoError, Keyring};
use crate::domain::ParseError;

pub use alerts::{
    AlertPlan, AlertSnapshot, ClaimedDelivery, DeliveryInfo, DeliveryResult, OutboxEvent, PassReport, PlannedAlert,
};
pub use channel::DueChannel;
pub use checks::{CheckResult, Claim};
pub use keys::ResealReport;
pub use links::{NewOAuthState, OAuthResult, OAuthState};
pub use member::NewMember;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Runs `$body` against whichever native pool `$db` holds, with `$pool` bound to it. The body
/// is expanded once per engine, so the same query text type-checks against each driver.
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &$db.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Errors of the store boundary. None of them carries a token or a key.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migration(#[source] sqlx::migrate::MigrateError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("{0}")]
    Keyring(String),
    #[error("a stored row makes no sense: {0}")]
    Corrupt(String),
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                StoreError::Unavailable(error.to_string())
            }
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    /// Turns a unique-constraint violation into a [`StoreError::Conflict`] with `message`.
    fn conflict_on_unique(error: sqlx::Error, message: impl FnOnce() -> String) -> Self {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(message()),
            _ => error.into(),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }
}

/// A database URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:[REDACTED]{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A connection pool to one database, and its migrations.
#[derive(Clone)]
pub struct Db {
    pub(crate) pool: Pool,
    url_for_display: String,
    /// SQLite has one writer: the checker's batch writes take turns here instead of meeting in
    /// SQLite's busy handler, which sleeps in growing steps and left claims waiting a second.
    write_turn: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("url", &self.url_for_display).finish()
    }
}

/// How long a connection attempt may take before the database counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Db {
    /// Connects to `url` (`sqlite://PATH` creates the file; `postgres://…`). SQLite runs in WAL
    /// mode with foreign keys on and a busy timeout.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = match Engine::of_url(url)? {
            Engine::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", redact_url(url))))?;
                Pool::Sqlite(pool)
            }
            Engine::Postgres => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Unavailable(format!("bad PostgreSQL URL: {e}")))?
                    .application_name("relink");
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("cannot connect to {}: {e}", redact_url(url))))?;
                Pool::Postgres(pool)
            }
        };
        Ok(Self { pool, url_for_display: redact_url(url), write_turn: Default::default() })
    }

    pub fn engine(&self) -> Engine {
        match self.pool {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// What a claim's inner `SELECT` appends so that several processes claim different rows
    /// without waiting on each other: `FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on SQLite,
    /// which has one writer anyway.
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.pool {
            Pool::Postgres(_) => "FOR UPDATE SKIP LOCKED",
            Pool::Sqlite(_) => "",
        }
    }

    /// Waits for this process's turn to write a batch on SQLite; `None` on PostgreSQL, whose
    /// row locks let writers proceed together.
    pub(crate) async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.pool {
            Pool::Sqlite(_) => Some(self.write_turn.lock().await),
            Pool::Postgres(_) => None,
        }
    }

    /// The URL with its password redacted.
    pub fn display_url(&self) -> &str {
        &self.url_for_display
    }

    /// Applies the migrations that have not run yet. Returns how many ran.
    pub async fn migrate(&self) -> Result<usize> {
        let before = self.applied_migrations().await;
        match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        }
        .map_err(StoreError::Migration)?;
        Ok(self.applied_migrations().await.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> usize {
        let count: Result<i64, sqlx::Error> = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE").fetch_one(pool).await
        });
        count.map(|n| n as usize).unwrap_or(0)
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        let _: i32 = with_pool!(self, |pool| sqlx::query_scalar("SELECT 1").fetch_one(pool).await)?;
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}

/// The store: a database and the keyring its tokens are sealed with.
#[derive(Clone)]
pub struct Store {
    db: Db,
    keyring: Arc<Keyring>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("db", &self.db).field("keyring", &self.keyring).finish()
    }
}

impl Store {
    /// Opens the store over a migrated database, checking that `keyring` holds every key the
    /// database has sealed tokens with and that each is the same key (not a regenerated one).
    pub async fn open(db: Db, keyring: Keyring, now: chrono::DateTime<chrono::Utc>) -> Result<Self> {
        keys::verify_and_register(&db, &keyring, now).await?;
        Ok(Self { db, keyring: Arc::new(keyring) })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }
}

/// Reads a stored keyword column back into its type, calling a bad value corruption.
pub(crate) fn parse_column<T: FromStr<Err = ParseError>>(value: &str) -> Result<T> {
    value.parse().map_err(|e: ParseError| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_engine_and_passwords_are_never_shown() {
        assert_eq!(Engine::of_url("sqlite://data/relink.db").unwrap(), Engine::Sqlite);
        assert_eq!(Engine::of_url("postgres://u:p@h/db").unwrap(), Engine::Postgres);
        assert_eq!(Engine::of_url("postgresql://h/db").unwrap(), Engine::Postgres);
        let err = Engine::of_url("mysql://root:hunter2@h/db").unwrap_err().to_string();
        assert!(err.contains("mysql://root:[REDACTED]@h/db") && !err.contains("hunter2"), "{err}");
        assert_eq!(redact_url("postgres://relink@127.0.0.1:5432/x"), "postgres://relink@127.0.0.1:5432/x");
    }
}
