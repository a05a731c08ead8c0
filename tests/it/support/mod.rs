//! The harness every test module shares: real databases, a store over them, and relink built
//! over that store.
//!
//! - [`app`]: [`app::TestApp`], relink built the way `relink serve` builds it (`relink::app`)
//!   over a test store, the simulator and the test clock, its web server on a loopback port.
//! - [`browser`]: headless Chromium through ChromeDriver, and oauth2-mock-server on Node.
//! - [`postgres`]: a private PostgreSQL server per test process (or the one named by
//!   `RELINK_TEST_POSTGRES_URL`) and a fresh database per test.
//! - [`fresh_sqlite_url`]: a SQLite file in a directory the test owns.
//! - [`TestStore`]: a migrated database of either engine, a store with a fresh keyring and a
//!   [`TestClock`], ready for a test to use.
//! - [`both_engines!`]: runs one store test against SQLite and against PostgreSQL, so the two
//!   engines cannot drift apart unnoticed.
//! - [`digest`]: a reminder digest as the alerts planner builds one, for the renderers' edits.
//! - [`Raw`]: a connection of the test's own to the same database, for what the store API must
//!   not allow (tampering with rows, reading query plans).

pub mod app;
pub mod browser;
pub mod discord;
pub mod postgres;
pub mod telegram;

use std::path::Path;

use chrono::{DateTime, Utc};
use relink_core::crypto::{KeyMaterial, Keyring};
use relink_core::store::{Db, Engine, Store};
use relink_core::token::TokenSet;
use relink_core::{
    Channel, Clock as _, DisplayName, ExternalAccountId, Language, MemberId, NewChannel, Provider, Scopes, Team,
    TeamName, TestClock,
};
use secrecy::SecretString;
use sqlx::{Connection as _, Executor as _, PgConnection, Row as _, SqliteConnection};
use tempfile::TempDir;

/// The URL of a SQLite database file (created on connect) in `dir`.
pub fn fresh_sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("relink.db").display())
}

/// Where every test clock starts: a fixed instant, so failures reproduce.
pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").expect("a valid RFC 3339 instant").to_utc()
}

/// A fresh, migrated database of one engine and a store over it.
#[derive(Debug)]
pub struct TestStore {
    pub engine: Engine,
    /// The database's URL, for opening more connections or stores on it.
    pub url: String,
    pub store: Store,
    /// The keyring the store was opened with (key 1 only), for rotation tests.
    pub keyring: Keyring,
    pub clock: TestClock,
    /// How many migrations the first `migrate` applied.
    pub migrations_applied: usize,
    /// A directory the test owns: the SQLite file lives here; it is removed with the value.
    pub dir: TempDir,
    /// Has a PostgreSQL database dropped once the value is gone.
    _database: Option<postgres::DatabaseGuard>,
}

impl TestStore {
    pub async fn open(engine: Engine) -> Self {
        let dir = tempfile::Builder::new().prefix("relink-test-").tempdir().expect("a temporary directory");
        let (url, _database) = match engine {
            Engine::Sqlite => (fresh_sqlite_url(dir.path()), None),
            Engine::Postgres => {
                let (url, guard) = postgres::fresh_postgres_database().await;
                (url, Some(guard))
            }
        };
        let db = Db::connect(&url).await.unwrap_or_else(|e| panic!("cannot connect to the test database: {e}"));
        let migrations_applied = db.migrate().await.unwrap_or_else(|e| panic!("migrations fail on {engine:?}: {e}"));
        let keyring = Keyring::new([(1, KeyMaterial::generate())]).expect("a one-key keyring");
        let clock = TestClock::at(start_time());
        let store = Store::open(db, keyring.clone(), clock.now())
            .await
            .unwrap_or_else(|e| panic!("cannot open the store on a fresh database: {e}"));
        Self { engine, url, store, keyring, clock, migrations_applied, dir, _database }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Opens a new pool on the same database (the store's pool is the store's own).
    pub async fn connect_again(&self) -> Db {
        Db::connect(&self.url).await.unwrap_or_else(|e| panic!("cannot connect again: {e}"))
    }

    /// A connection of the test's own to the same database.
    pub async fn raw(&self) -> Raw {
        Raw::connect(self.engine, &self.url).await
    }

    pub async fn team(&self, name: &str) -> Team {
        let name = TeamName::parse(name).expect("a valid team name");
        self.store.create_team(&name, Language::En, self.now()).await.expect("create a team")
    }

    /// Adds a Facebook channel for `account` with the given tokens, authorised by nobody.
    pub async fn channel(&self, team: &Team, account: &str, tokens: &TokenSet) -> Channel {
        let channel = new_channel(team, Provider::Facebook, account, None);
        self.store.add_channel(&channel, tokens, self.now()).await.expect("add a channel")
    }
}

/// A channel to add; its display name is "<account> page".
pub fn new_channel(team: &Team, provider: Provider, account: &str, authorized_by: Option<MemberId>) -> NewChannel {
    NewChannel {
        team_id: team.id,
        provider,
        external_account_id: ExternalAccountId::parse(account).expect("a valid account id"),
        display_name: DisplayName::parse(&format!("{account} page")).expect("a valid display name"),
        authorized_by,
    }
}

/// A finished check of `channel` that keeps its health and learns nothing, next due at
/// `next_check_at`: tests that write results by hand change only the fields they are about.
pub fn unchanged_result(channel: &Channel, next_check_at: DateTime<Utc>) -> relink_core::store::CheckResult {
    relink_core::store::CheckResult {
        channel_id: channel.id,
        team_id: channel.team_id,
        provider: channel.provider,
        from: channel.health.clone(),
        to: channel.health.clone(),
        detail: None,
        next_check_at,
        consecutive_failures: 0,
        failure_days: 0,
        last_failure_day: None,
        learned_expiry: None,
        learned_scopes: None,
        learned_grantor: None,
        refresh_uncertain_at: None,
        operator_problem: None,
        previous_operator_problem: None,
        pushed: false,
        learned_nothing_at: None,
    }
}

/// A reminder digest of `team` about three Facebook channels (ids 1 to 3) as the planner builds
/// one, and the same digest edited after the second was connected again.
pub fn digest(team: &Team, at: DateTime<Utc>) -> (relink_core::alerts::Alert, relink_core::alerts::Alert) {
    use relink_core::alerts::messages::{DigestLine, catalog};
    use relink_core::alerts::{Alert, AlertChannel, AlertId, AlertKind, AtRisk, ReconnectAction, Severity};
    use relink_core::{ChannelId, Reason};
    let words = catalog(team.language);
    let channels: Vec<AlertChannel> = (1..=3)
        .map(|i| {
            let mut channel = AlertChannel::new(ChannelId(i), format!("Acme {i}"), Provider::Facebook);
            let line = DigestLine::NeedsReauth { reason: &Reason::PasswordChanged, since: at };
            channel.status = Some(words.digest_status(Provider::Facebook, line, None));
            channel.authorised_by = Some("Dana".into());
            channel.at_risk = AtRisk { count: 1, first_due: Some(at + chrono::Duration::hours(i)) };
            channel.urgent = i == 1;
            channel
        })
        .collect();
    let (title, texts) = words.digest(channels.len());
    let first = Alert {
        id: AlertId(500),
        kind: AlertKind::Reminder,
        severity: Severity::Urgent,
        language: team.language,
        team_id: team.id,
        team: team.name.as_str().to_owned(),
        reconnect: Some(ReconnectAction { team_id: team.id, channel_ids: channels.iter().map(|c| c.id).collect() }),
        at_risk: channels.iter().fold(AtRisk::default(), |sum, c| sum.plus(c.at_risk)),
        channels,
        incidents: Vec::new(),
        reason: None,
        detail: None,
        title,
        explanation: texts.explanation.into(),
        remedy: texts.remedy.into(),
        authorised_by: None,
        deadline: None,
        edits: None,
        unlisted: 0,
        zone: None,
        created_at: at,
    };
    let mut edited = first.clone();
    edited.id = AlertId(501);
    edited.edits = Some(first.id);
    edited.channels[1].resolved = true;
    edited.reconnect = Some(ReconnectAction { team_id: team.id, channel_ids: vec![ChannelId(1), ChannelId(3)] });
    (first, edited)
}

/// A reconnect link per channel id, as the link minter gives a private reader.
pub fn links(ids: &[i64]) -> Vec<relink_core::alerts::ChannelLink> {
    ids.iter()
        .map(|i| relink_core::alerts::ChannelLink {
            channel_id: relink_core::ChannelId(*i),
            url: SecretString::from(format!("https://relink.test/r/{i}")),
        })
        .collect()
}

/// A token set with the given secrets, expiring at `expires_at`.
pub fn tokens(access: &str, refresh: Option<&str>, expires_at: Option<DateTime<Utc>>) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(access.to_owned()),
        refresh_token: refresh.map(|r| SecretString::from(r.to_owned())),
        expires_at,
        scopes: Scopes::parse("pages_show_list pages_manage_posts").expect("valid scopes"),
        refresh_expires_at: None,
    }
}

/// A plain sqlx connection to a test database, beside the store.
#[derive(Debug)]
pub enum Raw {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Raw {
    pub async fn connect(engine: Engine, url: &str) -> Self {
        match engine {
            Engine::Sqlite => Raw::Sqlite(SqliteConnection::connect(url).await.expect("a raw SQLite connection")),
            Engine::Postgres => Raw::Postgres(PgConnection::connect(url).await.expect("a raw PostgreSQL connection")),
        }
    }

    /// Runs statements (several may be separated by `;`), returning the rows they affected.
    pub async fn execute(&mut self, sql: &str) -> u64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let result = match self {
            Raw::Sqlite(connection) => connection.execute(sql).await.map(|r| r.rows_affected()),
            Raw::Postgres(connection) => connection.execute(sql).await.map(|r| r.rows_affected()),
        };
        result.unwrap_or_else(|e| panic!("raw SQL failed: {e}"))
    }

    /// The error the database answers to statements it must refuse.
    pub async fn refused(&mut self, sql: &str) -> String {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let result = match self {
            Raw::Sqlite(connection) => connection.execute(sql).await.map(drop),
            Raw::Postgres(connection) => connection.execute(sql).await.map(drop),
        };
        result.expect_err("the database accepted a statement it must refuse").to_string()
    }

    /// The single integer a query returns, such as a `COUNT(*)`.
    pub async fn number(&mut self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let result = match self {
            Raw::Sqlite(connection) => sqlx::query_scalar(sql).fetch_one(connection).await,
            Raw::Postgres(connection) => sqlx::query_scalar(sql).fetch_one(connection).await,
        };
        result.unwrap_or_else(|e| panic!("raw query failed: {e}"))
    }

    /// The engine's query plan for `select`, one line per plan node.
    pub async fn plan(&mut self, select: &str) -> String {
        let lines: Result<Vec<String>, sqlx::Error> = match self {
            Raw::Sqlite(connection) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {select}")))
                    .fetch_all(connection)
                    .await;
                rows.and_then(|rows| rows.iter().map(|row| row.try_get("detail")).collect())
            }
            Raw::Postgres(connection) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {select}"))).fetch_all(connection).await;
                rows.and_then(|rows| rows.iter().map(|row| row.try_get(0)).collect())
            }
        };
        lines.unwrap_or_else(|e| panic!("EXPLAIN failed: {e}")).join("\n")
    }
}

/// Declares, for each named `async fn(TestStore)` of the calling module, a module of that name
/// with two tests, `on_sqlite` and `on_postgres`, each running it on a fresh database.
macro_rules! both_engines {
    ($($test:ident),+ $(,)?) => {
        $(
            mod $test {
                #[tokio::test]
                async fn on_sqlite() {
                    let db = $crate::support::TestStore::open(relink_core::store::Engine::Sqlite).await;
                    super::$test(db).await;
                }

                #[tokio::test]
                async fn on_postgres() {
                    let db = $crate::support::TestStore::open(relink_core::store::Engine::Postgres).await;
                    super::$test(db).await;
                }
            }
        )+
    };
}
pub(crate) use both_engines;

/// Gives a team a fixed-offset time zone in which it is now about 15:00, with no quiet hours, so
/// its daily digest (09:00 local) is far away whenever the suite runs. Tests that run relink on
/// the real clock need it: between 08:00 and 09:00 a team's new disconnections rightly wait for
/// that morning's digest, and such a test would fail one hour a day.
pub async fn keep_the_digest_away(store: &Store, team: relink_core::TeamId, now: DateTime<Utc>) {
    let hour = i64::from(chrono::Timelike::hour(&now));
    let offset = (15 - hour).rem_euclid(24);
    let offset = if offset > 12 { offset - 24 } else { offset };
    // POSIX-style names: Etc/GMT-3 is three hours ahead of UTC.
    let zone = match offset {
        0 => "Etc/UTC".to_owned(),
        ahead if ahead > 0 => format!("Etc/GMT-{ahead}"),
        behind => format!("Etc/GMT+{}", -behind),
    };
    let settings = relink_core::alerts::SettingsOverride {
        timezone: Some(relink_core::alerts::Zone::parse(&zone).expect("a zone")),
        ..Default::default()
    };
    store.set_team_alert_settings(team, &settings).await.expect("the team's calendar");
}

/// A broken proxy or a hostile server on loopback: every request gets a `200` whose chunked JSON
/// body never ends. Its base URL, and the task serving it (stopped when dropped).
pub async fn endless_answers() -> (url::Url, tokio_util::task::AbortOnDropHandle<()>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port on loopback");
    let base = format!("http://{}/", listener.local_addr().expect("its address")).parse().expect("a URL");
    let served = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0_u8; 8192];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                let piece = format!("10000\r\n{}\r\n", "[".repeat(0x10000));
                let mut sent = socket.write_all(head.as_bytes()).await;
                while sent.is_ok() {
                    sent = socket.write_all(piece.as_bytes()).await;
                }
            });
        }
    });
    (base, tokio_util::task::AbortOnDropHandle::new(served))
}
