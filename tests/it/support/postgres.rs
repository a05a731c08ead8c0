//! A real PostgreSQL server for the tests, and a fresh database on it for each test.
//!
//! With `RELINK_TEST_POSTGRES_URL` set, the tests use that server (an admin URL: the tests
//! `CREATE DATABASE relink_test_…` on it). A [`TestStore`](super::TestStore)'s database is
//! dropped once its test has finished (by the next test that creates one), so a run's disk use
//! stays near what the tests running at once need, not ~8 MB per test ever run. Otherwise the first test that needs
//! PostgreSQL starts a private server, once per test process: Debian's binaries, a fresh data
//! directory, trust authentication on a free loopback port, durability switched off because the
//! data dies with the process.
//!
//! The server must not outlive the tests, even when they panic, are killed or never return, so it
//! runs under a small `sh` watchdog in its own process group: the watchdog polls the test process
//! every second and, once it is gone, stops PostgreSQL with a fast shutdown and deletes the data
//! directory. Nothing in the test process has to run at exit for that to happen.

use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use relink_core::store::redact_url;
use sqlx::{Connection as _, Executor as _, PgConnection};

/// An admin URL of a server the tests may create databases on; when unset, a private one starts.
const URL_VARIABLE: &str = "RELINK_TEST_POSTGRES_URL";

/// How long a private server may take to accept queries; it usually takes about a second.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How many times a private server is started on a new port when another process took the
/// port between our probe and the server's bind.
const START_ATTEMPTS: usize = 3;

const INSTALL_HINT: &str = "The PostgreSQL tests need a server: install Debian's `postgresql` package \
     (apt-get install postgresql; nothing has to be started), or set RELINK_TEST_POSTGRES_URL to the \
     admin URL of a server where the tests may CREATE DATABASE.";

/// Waits for the test process to end, then stops the server and removes its directory.
///
/// Arguments: the test process id, the directory to remove, then the server command line. The
/// server's exit status lands in `$base/exited`, so the test process notices a server that died
/// while starting. PostgreSQL's own pid comes from `postmaster.pid`, because `runuser` sits
/// between this shell and the server.
const WATCHDOG: &str = r#"
test_pid=$1
base=$2
shift 2
trap '' HUP INT
( "$@" >>"$base/postgres.log" 2>&1; echo "$?" >"$base/exited" ) &
while kill -0 "$test_pid" 2>/dev/null; do sleep 1; done
if [ -f "$base/data/postmaster.pid" ]; then
    server_pid=$(head -n 1 "$base/data/postmaster.pid")
    kill -INT "$server_pid" 2>/dev/null
    waited=0
    while kill -0 "$server_pid" 2>/dev/null && [ "$waited" -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    kill -KILL "$server_pid" 2>/dev/null
fi
wait
rm -rf "$base"
"#;

static ADMIN_URL: OnceLock<Result<String, String>> = OnceLock::new();

/// The admin URL of the test server, starting the private server on first use. Blocks, so
/// async callers go through [`fresh_postgres_url`].
pub fn admin_url() -> &'static str {
    let url = ADMIN_URL.get_or_init(|| match std::env::var(URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Ok(url.trim().to_owned()),
        _ => start_private_server(),
    });
    match url {
        Ok(url) => url,
        Err(message) => panic!("{message}"),
    }
}

/// Databases whose tests have finished, to drop before the next one is created.
static FINISHED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Marks its database finished when dropped (with the [`TestStore`](super::TestStore) that
/// owns it): the next [`fresh_postgres_database`] drops it.
#[derive(Debug)]
pub struct DatabaseGuard {
    name: String,
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        if let Ok(mut finished) = FINISHED.lock() {
            finished.push(std::mem::take(&mut self.name));
        }
    }
}

/// Creates an empty database `relink_test_<random>` on the test server and returns its URL; the
/// database is kept for the rest of the run (for tests that hand it to child processes).
pub async fn fresh_postgres_url() -> String {
    let (url, guard) = fresh_postgres_database().await;
    // Never dropped: its users may outlive this test's values.
    std::mem::forget(guard);
    url
}

/// Like [`fresh_postgres_url`], with a guard that has the database dropped after its test.
pub async fn fresh_postgres_database() -> (String, DatabaseGuard) {
    let admin = match tokio::task::spawn_blocking(admin_url).await {
        Ok(url) => url,
        // The start-up failed: repeat its panic message in this test rather than a JoinError.
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };
    let name = unique_database_name();
    let mut connection = PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL server {}: {e}", redact_url(admin)));
    let finished = FINISHED.lock().map(|mut names| std::mem::take(&mut *names)).unwrap_or_default();
    for old in finished {
        // FORCE ends the finished test's leftover pool connections. A failure only costs disk.
        if let Err(error) =
            connection.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)"))).await
        {
            eprintln!("relink tests: could not drop the finished test database {old}: {error}");
        }
    }
    connection
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
    // The database exists whatever happens to this admin connection now.
    let _ = connection.close().await;
    (with_database(admin, &name), DatabaseGuard { name })
}

/// `url` with its database replaced by `name`, keeping user, host, port and parameters.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let authority_start = base.find("://").map_or(0, |at| at + 3);
    let authority_end = base[authority_start..].find('/').map_or(base.len(), |at| authority_start + at);
    format!("{}/{name}{query}", &base[..authority_end])
}

/// A database name no other test (in this process or another) will pick.
fn unique_database_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is keyed from the OS's random source: enough to keep concurrent test runs
    // against one shared server apart without a random-number crate.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("relink_test_{:016x}", hasher.finish())
}

/// Why one start attempt failed, and whether another port may help.
struct StartFailure {
    message: String,
    port_taken: bool,
}

impl StartFailure {
    fn fatal(message: impl Into<String>) -> Self {
        Self { message: message.into(), port_taken: false }
    }
}

fn start_private_server() -> Result<String, String> {
    let bindir = find_bindir().map_err(|e| format!("{e}\n{INSTALL_HINT}"))?;
    let as_postgres_user = running_as_root();
    let started = Instant::now();
    let mut failure = StartFailure::fatal("no start attempt was made");
    for _ in 0..START_ATTEMPTS {
        match start_once(&bindir, as_postgres_user) {
            Ok(url) => {
                eprintln!(
                    "relink tests: private PostgreSQL from {} ready at {url} in {:.1?}",
                    bindir.display(),
                    started.elapsed()
                );
                return Ok(url);
            }
            Err(error) if error.port_taken => failure = error,
            Err(error) => {
                failure = error;
                break;
            }
        }
    }
    Err(format!("could not start a PostgreSQL server for the tests: {}\n{INSTALL_HINT}", failure.message))
}

/// The directory holding `initdb` and `postgres`: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin` (Debian keeps the server binaries off `PATH`).
fn find_bindir() -> Result<PathBuf, String> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut installed: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    installed.sort();
    installed.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "found no PostgreSQL server binaries (neither `pg_config --bindir` nor /usr/lib/postgresql/*/bin has initdb and postgres)"
            .to_owned()
    })
}

/// `initdb` and `postgres` refuse to run as root, so as root they run as the `postgres` user.
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// A command for a server binary, run as `postgres` through `runuser` when we are root.
fn server_command(binary: &Path, as_postgres_user: bool) -> Command {
    if as_postgres_user {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(binary);
        command
    } else {
        Command::new(binary)
    }
}

fn start_once(bindir: &Path, as_postgres_user: bool) -> Result<String, StartFailure> {
    let temp = tempfile::Builder::new()
        .prefix("relink-test-pg-")
        .tempdir()
        .map_err(|e| StartFailure::fatal(format!("cannot create a data directory: {e}")))?;
    let base = temp.path().to_path_buf();
    let data = base.join("data");
    let sockets = base.join("sockets");
    fs::create_dir(&sockets).map_err(|e| StartFailure::fatal(format!("cannot create {}: {e}", sockets.display())))?;
    if as_postgres_user {
        run(Command::new("chown").args(["-R", "postgres:"]).arg(&base), "chown the data directory to postgres")?;
    }

    let mut initdb = server_command(&bindir.join("initdb"), as_postgres_user);
    initdb
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
        // The server user may not be allowed into the directory the tests run from.
        .current_dir(&base);
    run(&mut initdb, "initdb")?;

    let port = free_port()?;
    let mut watchdog = Command::new("sh");
    watchdog
        .arg("-c")
        .arg(WATCHDOG)
        .arg("relink-test-postgres-watchdog")
        .arg(std::process::id().to_string())
        .arg(&base);
    if as_postgres_user {
        watchdog.args(["runuser", "-u", "postgres", "--"]);
    }
    watchdog
        .arg(bindir.join("postgres"))
        .arg("-D")
        .arg(&data)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(&sockets)
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
        .args(["-c", "max_connections=200"])
        .current_dir(&base)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Away from the terminal's process group, so Ctrl-C ends the tests and the watchdog
        // still gets to clean up after them.
        .process_group(0);
    watchdog.spawn().map_err(|e| StartFailure::fatal(format!("cannot start the watchdog shell: {e}")))?;
    // From here on the watchdog owns the directory and removes it when the tests end.
    let _ = temp.keep();

    wait_until_ready(bindir, &base, port)?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}

/// Runs a set-up command to completion, turning a failure into its output.
fn run(command: &mut Command, what: &str) -> Result<(), StartFailure> {
    let output =
        command.stdin(Stdio::null()).output().map_err(|e| StartFailure::fatal(format!("cannot run {what}: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    Err(StartFailure::fatal(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )))
}

/// A loopback port nothing listens on right now.
fn free_port() -> Result<u16, StartFailure> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| StartFailure::fatal(format!("cannot find a free loopback port: {e}")))
}

/// Waits until the server runs a query, or explains with its log why it did not.
fn wait_until_ready(bindir: &Path, base: &Path, port: u16) -> Result<(), StartFailure> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + START_TIMEOUT;
    let log_tail = || {
        let log = fs::read_to_string(base.join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    };
    loop {
        if base.join("exited").exists() {
            let log = log_tail();
            let port_taken = log.contains("could not bind") || log.contains("could not create any TCP/IP sockets");
            return Err(StartFailure { message: format!("postgres exited while starting:\n{log}"), port_taken });
        }
        // The port accepts connections a little before the server accepts queries, so the
        // connect is only a cheap gate before the real query.
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() && select_one(bindir, port) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(StartFailure::fatal(format!(
                "postgres did not accept queries on {address} within {START_TIMEOUT:?}; its log ends with:\n{}",
                log_tail()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `SELECT 1` succeeds through `psql`.
fn select_one(bindir: &Path, port: u16) -> bool {
    let psql = bindir.join("psql");
    let psql = if psql.is_file() { psql } else { PathBuf::from("psql") };
    Command::new(psql)
        .args(["-X", "-w", "-q", "-t", "-A", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-p"])
        .arg(port.to_string())
        .args(["-c", "SELECT 1"])
        .env("PGCONNECT_TIMEOUT", "2")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|output| output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_keep_everything_but_the_database() {
        let cases = [
            ("postgres://postgres@127.0.0.1:5432/postgres", "postgres://postgres@127.0.0.1:5432/x"),
            ("postgres://u:p@127.0.0.1:5432", "postgres://u:p@127.0.0.1:5432/x"),
            ("postgresql://127.0.0.1/admin?sslmode=disable", "postgresql://127.0.0.1/x?sslmode=disable"),
            ("postgres:///admin?host=/run/postgresql", "postgres:///x?host=/run/postgresql"),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "x"), expected, "{url}");
        }
    }

    #[test]
    fn database_names_are_unique_and_valid_identifiers() {
        let names: std::collections::HashSet<String> = (0..100).map(|_| unique_database_name()).collect();
        assert_eq!(names.len(), 100);
        assert!(names.iter().all(|n| n.len() < 63 && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')));
    }
}
