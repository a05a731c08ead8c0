//! The store: one API over SQLite (the embedded default) and PostgreSQL, chosen by the URL.
//!
//! sqlx's compile-time macros tie a crate to one database and its `Any` driver cannot carry
//! booleans or timestamps, so the store keeps one native pool per engine and runs the **same SQL
//! text** (`$1` parameters, `RETURNING`, partial indexes: both dialects agree) through
//! [`with_pool!`] (reads) and [`with_writer!`] (writes), which expand one body once per engine. Rows are read with runtime
//! `query_as` into `#[derive(FromRow)]` structs and turned into domain types here.
//!
//! [`Db`] is the connection and its migrations; [`Store`] is a `Db` plus the keyring that seals
//! tokens, checked against the database when it is opened.
//!
//! Instants are stored as milliseconds since the Unix epoch in `BIGINT` columns on both engines.
//!
//! A bound row limit is written `LIMIT CAST($n AS BIGINT)`, never `LIMIT $n`: SQLite plans a
//! bare bound `LIMIT` as a constant and marks the statement to be planned again whenever that
//! binding is cleared, which sqlx does after every run, so every claim was compiled anew (a
//! percent of the checker's CPU). The cast keeps the limit a value read at run time.

mod alert_pass;
mod alerts;
mod api_keys;
mod budget;
mod channel;
mod chat;
mod checks;
mod context;
mod deliveries;
pub(crate) mod events;
mod gate;
mod incidents;
mod invites;
mod keys;
mod lease;
mod links;
mod member;
mod platform;
mod post;
mod presses;
mod sessions;
mod signals;
mod team;
mod telegram;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::crypto::{CryptoError, Keyring};
use crate::domain::ParseError;
use crate::supervise::Health;

pub use crate::domain::alert::{AlertPlan, AlertSnapshot, OutboxEvent, PendingEvents, PlannedAlert};
pub use alert_pass::PassReport;
pub use budget::Reserved;
pub use channel::DueChannel;
pub use checks::{CheckResult, Claim};
pub use context::{ChannelContext, LinkContext};
pub use deliveries::{ClaimedDelivery, DeliveryInfo, DeliveryResult};
pub use keys::{KEY_FILE_REREAD, ResealReport};
pub use links::{NewOAuthState, OAuthResult, OAuthState};
pub use member::NewMember;
pub use sessions::{Session, SignInLink};
pub use telegram::RateSlot;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Runs `$body` against whichever native pool `$db` holds for **reading**, with `$pool` bound
/// to it. The body is expanded once per engine, so the same query text type-checks against each
/// driver. On SQLite these connections are read-only: a write through them fails loudly.
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &$db.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
/// Like [`with_pool!`], for statements and transactions that **write**: on SQLite, the one
/// writer connection (see [`Db`]); on PostgreSQL, the same pool.
macro_rules! with_writer {
    ($db:expr, |$pool:ident| $body:expr) => {
        match &$db.writer {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;
pub(crate) use with_writer;

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
///
/// SQLite has one writer at a time. With writers spread over a pool, they met in SQLite's busy
/// handler, which sleeps in growing steps (1, 2, 5 … 100 ms): a button press waited behind a
/// checker batch for a tenth of a second, and a transaction that read before writing could fail
/// outright when another connection had written since its snapshot. So on SQLite every write
/// goes through **one writer connection**, where writers queue in order without sleeping, while
/// reads use a pool of read-only connections that WAL lets run beside it. On PostgreSQL, whose
/// row locks let writers proceed together, both are the same pool.
///
/// The writer never checkpoints the WAL itself: a checkpoint syncs the database file to disk,
/// and on the one writer connection every write waited for that sync (the reconnect button
/// fell from about 1,500 to 700 presses a second). A background task on a connection of its
/// own checkpoints instead, beside the writer ([`checkpoint_in_background`]).
#[derive(Clone)]
pub struct Db {
    /// Reads (on SQLite, read-only connections).
    pub(crate) pool: Pool,
    /// Writes (on SQLite, one connection kept open; on PostgreSQL, `pool` again).
    pub(crate) writer: Pool,
    url_for_display: String,
    /// On SQLite, the queue that writes reconnect-button presses in groups (`presses.rs`).
    presses: Option<Arc<presses::PressQueue>>,
    /// The store's own background tasks (the press queue's), for `/readyz`.
    tasks: Arc<Health>,
    /// Alive while any clone of this `Db` is: the checkpoint task stops when it is gone.
    _alive: Arc<()>,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("url", &self.url_for_display).finish()
    }
}

/// See [`Db::rows_per_write`].
const SQLITE_ROWS_PER_WRITE: usize = 256;

/// Rows SQLite's thread may hand over before the reader takes them: a checker claim's batch.
const ROW_CHANNEL: usize = 1_024;

/// How long a connection attempt may take before the database counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Db {
    /// Connects to `url` (`sqlite://PATH` creates the file; `postgres://…`). SQLite runs in WAL
    /// mode with foreign keys on and a busy timeout.
    pub async fn connect(url: &str) -> Result<Self> {
        let alive = Arc::new(());
        let tasks = Health::new();
        let mut presses = None;
        let (pool, writer) = match Engine::of_url(url)? {
            Engine::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Unavailable(format!("bad SQLite URL: {e}")))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    // A batch's statement journal stays in memory instead of a temporary file
                    // created, written and deleted on every checker batch.
                    .pragma("temp_store", "memory")
                    // Other relink processes (a CLI command beside `relink serve`) write too.
                    .busy_timeout(Duration::from_secs(10))
                    // SQLite runs on a thread of its own that hands rows over a bounded channel;
                    // at sqlx's 50 a claim of a thousand rows stalled that thread twenty times,
                    // each a round of thread wake-ups. A claim's batch fits at once.
                    .row_buffer_size(ROW_CHANNEL);
                let unavailable =
                    |e: sqlx::Error| StoreError::Unavailable(format!("cannot open {}: {e}", redact_url(url)));
                let on_disk = !(url.contains(":memory:") || url.contains("mode=memory"));
                let file = options.get_filename().to_path_buf();
                if on_disk {
                    private_sqlite_files(&file)
                        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", redact_url(url))))?;
                }
                // The writer opens first: it creates the file and switches it to WAL, and it
                // stays open, so the read-only connections always find the WAL index.
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options.clone().pragma("wal_autocheckpoint", "0"))
                    .await
                    .map_err(unavailable)?;
                let checkpointer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options.clone())
                    .await
                    .map_err(unavailable)?;
                checkpoint_in_background(checkpointer, writer.clone(), Arc::downgrade(&alive));
                // Four readers: a WAL database has four read marks for snapshots at different
                // points, and readers beyond them retried with sleeps under steady writes.
                let readers = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_with(options.read_only(true))
                    .await
                    .map_err(unavailable)?;
                if on_disk {
                    // The write-ahead log and index now exist; an older installation's may be open.
                    private_sqlite_files(&file)
                        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", redact_url(url))))?;
                }
                presses = Some(presses::PressQueue::start(writer.clone(), tasks.clone()));
                (Pool::Sqlite(readers), Pool::Sqlite(writer))
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
                (Pool::Postgres(pool.clone()), Pool::Postgres(pool))
            }
        };
        Ok(Self { pool, writer, url_for_display: redact_url(url), presses, tasks, _alive: alive })
    }

    /// The most rows one statement of a large batch writes (a checker's claim or results). On
    /// SQLite every write waits for the one writer, so a batch is written in parts of about ten
    /// milliseconds each at a million channels, and a reconnect button pressed meanwhile waits for
    /// one part, not for the batch. PostgreSQL's row locks let other writers go on beside it.
    pub(crate) fn rows_per_write(&self) -> usize {
        match self.pool {
            Pool::Sqlite(_) => SQLITE_ROWS_PER_WRITE,
            Pool::Postgres(_) => usize::MAX,
        }
    }

    pub fn engine(&self) -> Engine {
        match self.pool {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// On SQLite, the queue reconnect-button presses are written through.
    pub(crate) fn presses(&self) -> Option<&presses::PressQueue> {
        self.presses.as_deref()
    }

    /// On SQLite, waits for a bulk writer's turn at the one writer (a part of a checker's claim
    /// or results, a delivery claim): after the other bulk writers, and after the reconnect
    /// presses waiting now (`gate.rs`). Hold it until the part is written. On PostgreSQL,
    /// nothing to wait for.
    pub(crate) async fn bulk_turn(&self) -> Option<gate::BulkTurn<'_>> {
        match &self.presses {
            Some(presses) => Some(presses.gate().bulk().await),
            None => None,
        }
    }

    /// On SQLite, marks a write a person is waiting on (the OAuth callback's, a sign-in's) as
    /// going before the bulk parts until the returned guard is dropped, as a reconnect press
    /// does (`gate.rs`). Take it just before the write and drop it when the write is answered.
    pub(crate) fn urgent(&self) -> Option<gate::Urgent> {
        self.presses.as_ref().map(|presses| presses.urgent())
    }

    /// The store's own supervised background tasks (on SQLite, `presses`): `/readyz` lists
    /// those that are down beside the application's.
    pub fn tasks(&self) -> &Arc<Health> {
        &self.tasks
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

    /// An SQL expression turning the hex text `expr` into bytes.
    pub(crate) fn unhex(&self, expr: &str) -> String {
        match self.pool {
            Pool::Postgres(_) => format!("decode({expr}, 'hex')"),
            Pool::Sqlite(_) => format!("unhex({expr})"),
        }
    }

    /// The URL with its password redacted.
    pub fn display_url(&self) -> &str {
        &self.url_for_display
    }

    /// Applies the migrations that have not run yet. Returns how many ran.
    pub async fn migrate(&self) -> Result<usize> {
        let before = self.applied_migrations().await;
        match &self.writer {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        }
        .map_err(StoreError::Migration)?;
        Ok(self.applied_migrations().await.saturating_sub(before))
    }

    /// The migrations this build knows that the database has not applied (`0012 team page`),
    /// in order, read without applying anything: what `relink doctor` lists.
    pub async fn pending_migrations(&self) -> Result<Vec<String>> {
        let migrator = match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        // A database never migrated has no `_sqlx_migrations` table: everything is pending.
        let exists: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar(match self.engine() {
                Engine::Sqlite => {
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
                }
                Engine::Postgres => {
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '_sqlx_migrations' \
                                     AND table_schema = current_schema()"
                }
            })
            .fetch_one(pool)
            .await
        })?;
        let applied: Vec<i64> = if exists > 0 {
            with_pool!(self, |pool| {
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE").fetch_all(pool).await
            })?
        } else {
            Vec::new()
        };
        Ok(migrator
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
            .map(|m| format!("{:04} {}", m.version, m.description))
            .collect())
    }

    async fn applied_migrations(&self) -> usize {
        let count: Result<i64, sqlx::Error> = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE").fetch_one(pool).await
        });
        count.map(|n| n as usize).unwrap_or(0)
    }

    /// Writes a consistent copy of an SQLite database to `path` (a new or empty file) with
    /// `VACUUM INTO`: one read snapshot, so writers in other processes go on meanwhile.
    pub async fn vacuum_into(&self, path: &str) -> Result<()> {
        match &self.writer {
            Pool::Sqlite(pool) => {
                sqlx::query("VACUUM INTO $1").bind(path).execute(pool).await?;
                Ok(())
            }
            Pool::Postgres(_) => Err(StoreError::Unavailable("VACUUM INTO is SQLite's; use pg_dump".into())),
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        let _: i32 = with_pool!(self, |pool| sqlx::query_scalar("SELECT 1").fetch_one(pool).await)?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(presses) = &self.presses {
            presses.stop();
        }
        with_pool!(self, |pool| pool.close().await);
        with_writer!(self, |pool| pool.close().await);
    }
}

/// How often the WAL is copied back into the SQLite database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// A WAL longer than this (in pages: 64 MiB of 4 KiB pages) is started over.
const WAL_RESTART_PAGES: i64 = 16_384;

/// A WAL tail short enough to copy while the writer waits: a few milliseconds of copying.
const WAL_TAIL_PAGES: i64 = 1_024;

/// How many passive checkpoints a restart may take to bring the tail down to [`WAL_TAIL_PAGES`]
/// before it holds the writer anyway.
const WAL_CATCH_UP_ROUNDS: u32 = 4;

/// Copies the WAL back into the database file every [`CHECKPOINT_EVERY`] on `connection`, a
/// connection of its own, so the writer never waits for the disk sync a checkpoint makes.
/// Passive checkpoints never block readers or the writer; they copy what no reader still
/// needs, and SQLite starts the WAL over once all of it is copied, at the next write.
///
/// Under steady writes that moment never comes: each checkpoint finds new pages appended since
/// it began, and the WAL grows without end (600 MB in a minute of checking a million channels),
/// with every read searching a longer index of it. Past [`WAL_RESTART_PAGES`] the checkpointer
/// therefore catches up with passive checkpoints until the pages appended meanwhile are a short
/// tail, then holds the writer connection (nothing is appended) while a `RESTART` checkpoint
/// copies that tail: the next write starts the log over at the beginning of the file, whose
/// space is reused. The writer waits for the tail, about 5 ms under the reconnect button's
/// heaviest load. A `TRUNCATE` checkpoint held it 40-70 ms (or more, when it also copied the
/// whole log): cutting a file of 64 MiB back to nothing is slow on the file system, and the
/// presses queued behind it made the button's p99. The file therefore keeps its largest size
/// (about what was written between two rounds past the limit) while relink runs; SQLite
/// removes it when the last connection closes.
///
/// Stops when the `Db` is closed or dropped; the last connection to close checkpoints whatever
/// is left.
fn checkpoint_in_background(connection: SqlitePool, writer: SqlitePool, alive: std::sync::Weak<()>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if alive.strong_count() == 0 || writer.is_closed() {
                break;
            }
            if let Err(e) = checkpoint(&connection, &writer).await {
                tracing::warn!(error = %e, "cannot checkpoint the SQLite write-ahead log; will try again");
            }
        }
        connection.close().await;
    });
}

/// One round of [`checkpoint_in_background`].
async fn checkpoint(connection: &SqlitePool, writer: &SqlitePool) -> Result<(), sqlx::Error> {
    // (busy, pages in the WAL, pages copied)
    let passive = || sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(connection);
    let (_, pages, _) = passive().await?;
    if pages <= WAL_RESTART_PAGES {
        return Ok(());
    }
    // Pages appended since the last round: copy them while the writer goes on.
    let mut rounds = 0;
    loop {
        let (_, pages, copied) = passive().await?;
        rounds += 1;
        if pages.saturating_sub(copied) <= WAL_TAIL_PAGES || rounds >= WAL_CATCH_UP_ROUNDS {
            break;
        }
    }
    // The tail, with the writer held: nothing is appended while it is copied, and the next
    // write starts the log over from its beginning, in the file's existing space.
    let held = writer.acquire().await?;
    let tail = sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(connection).await;
    drop(held);
    tail.map(drop)
}

/// Makes the SQLite database file and its `-wal` and `-shm` companions readable by the owner
/// only: a missing database file is created empty with mode 0600 (SQLite creates the other two
/// with the database file's mode), and existing ones are set to 0600. They hold sealed tokens,
/// but also hashes, names and chat ids nobody else on the machine needs.
fn private_sqlite_files(file: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let private = std::fs::Permissions::from_mode(0o600);
        if !file.as_os_str().is_empty() && std::fs::symlink_metadata(file).is_err() {
            match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file) {
                Ok(created) => created.set_permissions(private.clone())?,
                // Another process created it first: tightened below like any existing file.
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
                // A missing folder and the like: SQLite says it better when it tries.
                Err(_) => return Ok(()),
            }
        }
        let mut companions = vec![file.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = file.as_os_str().to_owned();
            name.push(suffix);
            companions.push(name.into());
        }
        for path in companions {
            if let Ok(meta) = std::fs::metadata(&path)
                && meta.is_file()
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&path, private.clone())?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// The store: a database and the keyring its tokens are sealed with.
///
/// The keyring can change under a running store: with a key file ([`Store::watching_key_file`]),
/// a sealed value under a key id the keyring lacks (another process rotated) makes the store
/// re-read the file, at most once per [`keys::KEY_FILE_REREAD`], and adopt it once every key in
/// it opens the database's check value.
#[derive(Clone)]
pub struct Store {
    db: Db,
    keyring: Arc<RwLock<Arc<Keyring>>>,
    key_file: Option<Arc<keys::KeyFileWatch>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("db", &self.db).field("keyring", &self.keyring()).finish()
    }
}

impl Store {
    /// Opens the store over a migrated database, checking that `keyring` holds every key the
    /// database has sealed tokens with and that each is the same key (not a regenerated one).
    pub async fn open(db: Db, keyring: Keyring, now: chrono::DateTime<chrono::Utc>) -> Result<Self> {
        keys::verify_and_register(&db, &keyring, now).await?;
        Ok(Self { db, keyring: Arc::new(RwLock::new(Arc::new(keyring))), key_file: None })
    }

    /// The same store, re-reading the key file at `path` when it meets a key id it does not know
    /// (a `relink keys rotate` while this process runs).
    pub fn watching_key_file(self, path: impl Into<std::path::PathBuf>) -> Self {
        Self { key_file: Some(Arc::new(keys::KeyFileWatch::new(path.into()))), ..self }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The keyring now (a later re-read of the key file may replace it).
    pub fn keyring(&self) -> Arc<Keyring> {
        Arc::clone(&self.keyring.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn replace_keyring(&self, keyring: Keyring) {
        *self.keyring.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keyring);
    }
}

/// The first row a writing statement returned. A single statement that writes is read with
/// `fetch_all` and this, never `fetch_optional`: on SQLite a statement's own commit runs when it
/// is stepped to its end, and `fetch_optional` stops at the first row, so a commit the database
/// refused would pass for a write that happened (a spent state still usable, a lease not held).
pub(crate) fn first_row<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
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

    /// Every store source that writes SQL: a bare `LIMIT $n` would have SQLite compile its
    /// statement anew on every run (see the module notes).
    #[test]
    fn no_statement_binds_its_row_limit_bare() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
        let mut read = 0;
        for entry in std::fs::read_dir(&dir).expect("the store's sources") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let text = std::fs::read_to_string(&path).expect("a source file");
            read += 1;
            for (number, line) in text.lines().enumerate() {
                let bare = line
                    .match_indices("LIMIT $")
                    .any(|(at, pattern)| line[at + pattern.len()..].starts_with(|c: char| c.is_ascii_digit()));
                assert!(!bare, "{name}:{}: a bare bound LIMIT: {}", number + 1, line.trim());
            }
        }
        assert!(read > 20, "only {read} sources read from {}", dir.display());
    }

    /// The wiring of `gate.rs`: a press waiting for the writer holds back the bulk parts (a
    /// claim, a part of results) until it is answered or gone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_press_holds_back_bulk_parts() {
        use futures_util::FutureExt as _;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("relink.db").display())).await.expect("open");
        assert!(db.bulk_turn().now_or_never().is_some(), "with no press waiting a bulk part goes at once");
        let Pool::Sqlite(writer) = &db.writer else { unreachable!("a SQLite database") };
        // The writer is busy (a part already running), so the press waits for it.
        let busy = writer.acquire().await.expect("the writer");
        let press = presses::Press {
            state_hash: vec![1; 32],
            provider: "facebook",
            browser_hash: vec![2; 32],
            verifier_key_id: None,
            verifier_ciphertext: None,
            now: 0,
            expires_at: 1,
            token_hash: vec![3; 32],
        };
        let mut pressing = Box::pin(db.presses().expect("SQLite writes presses in groups").press(press));
        assert!((&mut pressing).now_or_never().is_none(), "the press waits for the writer");
        assert!(db.bulk_turn().now_or_never().is_none(), "a bulk part waits for the press");
        let started = std::time::Instant::now();
        drop(db.bulk_turn().await);
        assert!(started.elapsed() >= gate::MAX_YIELD, "a bulk part waits at most MAX_YIELD, never less");
        drop(busy);
        // Answered (here with an error: this database has no tables), the press no longer waits.
        assert!(pressing.await.is_err());
        assert!(db.bulk_turn().now_or_never().is_some(), "an answered press holds nothing back");
    }

    /// The other writes a person waits on (the OAuth callback's spending of its state, a
    /// sign-in) hold back the bulk parts like a press while they wait for the writer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writes_a_person_waits_on_hold_back_bulk_parts() {
        use futures_util::FutureExt as _;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("relink.db").display())).await.expect("open");
        db.migrate().await.expect("migrations");
        let keyring = crate::crypto::Keyring::new([(1, crate::crypto::KeyMaterial::generate())]).expect("a keyring");
        let now = chrono::Utc::now();
        let store = Store::open(db.clone(), keyring, now).await.expect("the store");
        let Pool::Sqlite(writer) = &db.writer else { unreachable!("a SQLite database") };
        let token = crate::opaque::OpaqueToken::generate;
        let (state, link, session) = (token(), token(), token());
        let writes: [(&str, futures_util::future::BoxFuture<'_, bool>); 2] = [
            (
                "the callback's state",
                store.consume_oauth_state(&state, now).map(|r| r.expect("written").is_none()).boxed(),
            ),
            ("a sign-in", store.open_session(&link, &session, now, now).map(|r| r.expect("written").is_none()).boxed()),
        ];
        for (name, mut write) in writes {
            let busy = writer.acquire().await.expect("the writer");
            assert!((&mut write).now_or_never().is_none(), "{name}: waits for the writer");
            assert!(db.bulk_turn().now_or_never().is_none(), "{name}: a bulk part waits for it");
            drop(busy);
            assert!(write.await, "{name}: a forged token spends nothing");
            assert!(db.bulk_turn().now_or_never().is_some(), "{name}: once written it holds nothing back");
        }
    }

    /// `.cargo/config.toml` builds SQLite without its memory statistics, whose one process-wide
    /// mutex every allocation and free inside SQLite took (see that file).
    #[tokio::test]
    async fn sqlite_is_built_without_memory_statistics() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("relink.db").display())).await.expect("open");
        let Pool::Sqlite(writer) = &db.writer else { unreachable!("a SQLite database") };
        let options: Vec<String> =
            sqlx::query_scalar("PRAGMA compile_options").fetch_all(writer).await.expect("the compile options");
        assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_write_ahead_log_is_started_over() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("relink.db");
        let db = Db::connect(&format!("sqlite://{}", path.display())).await.expect("open");
        let wal = path.with_extension("db-wal");
        let wal_bytes = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        with_writer!(&db, |pool| sqlx::query("CREATE TABLE filler (b BLOB)").execute(pool).await.map(drop))
            .expect("table");
        // Writes past the limit, without a pause long enough for a passive checkpoint to finish.
        let limit = u64::try_from(WAL_RESTART_PAGES).expect("positive") * 4_096;
        let mut written = 0;
        while written < limit + limit / 4 {
            with_writer!(&db, |pool| sqlx::query("INSERT INTO filler VALUES (zeroblob(1048576))")
                .execute(pool)
                .await
                .map(drop))
            .expect("insert");
            written += 1 << 20;
        }
        // Started over while writes go on: the log's header gets a new salt (its first field
        // after the magic, version, page size and checkpoint number), and the file's space is
        // reused instead of grown.
        let salt = || std::fs::read(&wal).ok().and_then(|b| b.get(16..20).map(<[u8]>::to_vec));
        let before = salt();
        let started = std::time::Instant::now();
        while salt() == before && started.elapsed() < Duration::from_secs(20) {
            with_writer!(&db, |pool| sqlx::query("INSERT INTO filler VALUES (zeroblob(65536))")
                .execute(pool)
                .await
                .map(drop))
            .expect("insert");
        }
        assert_ne!(salt(), before, "the log is started over while writes go on");
        assert!(wal_bytes() <= limit * 2, "the log's file is reused: {} bytes", wal_bytes());
        let count: i64 =
            with_pool!(&db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM filler WHERE length(b) = 1048576")
                .fetch_one(pool)
                .await)
            .expect("count");
        assert_eq!(u64::try_from(count).expect("a count") << 20, written, "nothing written is lost");
    }
}
