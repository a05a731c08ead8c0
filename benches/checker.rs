//! The checker at scale: N channels (a million by default) in SQLite or PostgreSQL, checked
//! against the provider simulator running in its own process on loopback, by one or several
//! checker processes on the one database.
//!
//! The bench fills the database once and checks every channel a first time (not measured in the
//! table: a first check learns each token's person, which the fill cannot know). Each run (`--processes 1,2,3`: one run per entry) makes
//! every channel healthy and due, measures the ceiling — a bare HTTP loop sending the checker's
//! probe to the same simulator with the same total concurrency — then starts that many checker
//! processes (this binary again, as workers: separate OS processes, each with its own pool and
//! its own share of the networks' budgets, as `relink serve` processes would be) and lets them
//! check every channel once. It prints sustained checks per second in all and per process, the
//! share of the ceiling, each process's peak RSS while checking, the p50 and p99 of the claim
//! query and of a group's write over all processes, and, counted in the database, how many
//! channels were checked and whether any was checked twice. Figures, not assertions: the
//! machines are shared.
//!
//! ```text
//! cargo bench --bench checker -- [--channels 1000000] [--engine sqlite|postgres]
//!     [--postgres-url URL] [--processes 1] [--concurrency 128] [--batch 1024] [--seconds 300]
//! ```
//! PostgreSQL: give `--postgres-url` (a fresh database the bench may fill) or
//! RELINK_BENCH_POSTGRES_URL; without either, the bench starts a private server the way the tests
//! do (`tests/it/support/postgres.rs`: loopback, durability off) and a fresh database on it.
//! Several processes need PostgreSQL: relink runs several processes on PostgreSQL only.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use relink_core::checker::{CheckerConfig, Progress, run_checker_observed};
use relink_core::crypto::{KeyMaterial, Keyring};
use relink_core::provider::Providers;
use relink_core::store::{Db, Store};
use relink_core::{Clock as _, Language, Provider, SystemClock, TeamName};
use relink_simulator::{CLIENT_ID, CLIENT_SECRET};
use tokio_util::sync::CancellationToken;

#[allow(dead_code, unreachable_pub, unused_imports)]
#[path = "../tests/it/support/postgres.rs"]
mod postgres;
mod support;

use support::{SimProcess, fill};

struct Args {
    channels: u32,
    engine: String,
    postgres_url: Option<String>,
    concurrency: usize,
    batch: u32,
    seconds: u64,
    /// One run per entry: how many checker processes share the database.
    processes: Vec<usize>,
    /// The tokens of the first channels, for the ceiling's probes (filled, not a flag).
    tokens: Vec<String>,
    /// A worker's own flags: it checks on `database_url` against `simulator` with `key_file`.
    worker: bool,
    database_url: Option<String>,
    key_file: Option<std::path::PathBuf>,
    simulator: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        channels: 1_000_000,
        engine: "sqlite".into(),
        postgres_url: std::env::var("RELINK_BENCH_POSTGRES_URL").ok(),
        concurrency: 128,
        batch: 1_024,
        seconds: 300,
        processes: vec![1],
        tokens: Vec::new(),
        worker: false,
        database_url: None,
        key_file: None,
        simulator: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--channels" => args.channels = value().parse().expect("--channels: a number"),
            "--engine" => args.engine = value(),
            "--postgres-url" => args.postgres_url = Some(value()),
            "--concurrency" => args.concurrency = value().parse().expect("--concurrency: a number"),
            "--batch" => args.batch = value().parse().expect("--batch: a number"),
            "--seconds" => args.seconds = value().parse().expect("--seconds: a number"),
            "--processes" => {
                args.processes = value()
                    .split(',')
                    .map(|n| n.trim().parse().ok().filter(|n| *n > 0).expect("--processes: numbers from 1, e.g. 1,2,3"))
                    .collect();
            }
            "--worker" => args.worker = true,
            "--database-url" => args.database_url = Some(value()),
            "--key-file" => args.key_file = Some(value().into()),
            "--simulator" => args.simulator = Some(value()),
            "--bench" => {}
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// CPU seconds (user and system) a process has used so far, from `/proc/PID/stat` (`self` for
/// this one): clock ticks, which Linux reports at 100 a second whatever the kernel's own rate.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |n: usize| fields.get(n).and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The CPU seconds this process's SQLite threads have used: sqlx runs each SQLite connection on
/// a thread of its own (`sqlx-sqlite-worker-N`, cut to 15 characters by the kernel), where its
/// statements run.
fn sqlite_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|name| name.starts_with("sqlx-sqlite"))
        })
        .map(|task| cpu_seconds(&format!("self/task/{}", task.file_name().to_string_lossy())))
        .sum()
}

/// Resets the peak RSS so the figure covers the checking phase only (Linux `clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// A connection of the bench's own, beside relink's pool.
enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Raw {
    async fn connect(url: &str) -> Self {
        use sqlx::Connection as _;
        if url.starts_with("sqlite:") {
            Self::Sqlite(sqlx::SqliteConnection::connect(url).await.expect("a connection"))
        } else {
            Self::Postgres(sqlx::PgConnection::connect(url).await.expect("a connection"))
        }
    }

    async fn execute(&mut self, sql: &'static str, now: Option<i64>) {
        let done = match self {
            Self::Sqlite(c) => match now {
                Some(now) => sqlx::query(sql).bind(now).execute(c).await.map(drop),
                None => sqlx::raw_sql(sql).execute(c).await.map(drop),
            },
            Self::Postgres(c) => match now {
                Some(now) => sqlx::query(sql).bind(now).execute(c).await.map(drop),
                None => sqlx::raw_sql(sql).execute(c).await.map(drop),
            },
        };
        done.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn number(&mut self, sql: &'static str) -> i64 {
        let n = match self {
            Self::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await,
            Self::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await,
        };
        n.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Counts every written check (a change of `last_checked_at`) in `bench_checks`, so a run can
    /// tell from the database how many times each channel was checked. PostgreSQL: a statement
    /// trigger over the statement's transition tables (one insert per group written, not one per
    /// row); SQLite: a row trigger.
    async fn count_checks(&mut self) {
        match self {
            Self::Sqlite(_) => {
                self.execute(
                    "CREATE TABLE bench_checks (channel_id INTEGER NOT NULL);
                     CREATE TRIGGER bench_count_checks AFTER UPDATE OF last_checked_at ON channels
                     WHEN NEW.last_checked_at IS NOT OLD.last_checked_at
                     BEGIN INSERT INTO bench_checks (channel_id) VALUES (NEW.id); END;",
                    None,
                )
                .await;
            }
            Self::Postgres(_) => {
                self.execute(
                    "CREATE UNLOGGED TABLE bench_checks (channel_id BIGINT NOT NULL);
                     CREATE FUNCTION bench_count_checks() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN
                         INSERT INTO bench_checks (channel_id)
                         SELECT n.id FROM bench_new n JOIN bench_old o ON o.id = n.id
                         WHERE n.last_checked_at IS DISTINCT FROM o.last_checked_at;
                         RETURN NULL;
                     END $$;
                     CREATE TRIGGER bench_count_checks AFTER UPDATE ON channels
                     REFERENCING OLD TABLE AS bench_old NEW TABLE AS bench_new
                     FOR EACH STATEMENT EXECUTE FUNCTION bench_count_checks();",
                    None,
                )
                .await;
            }
        }
    }
}

/// Marks every channel as checked once and healthy, and due now: the bench measures the
/// checker's steady state, where a check that finds a healthy token changes nothing but the
/// schedule. (A channel's very first check also writes a history row and an outbox event.)
/// Between runs it also clears the check count and, on PostgreSQL, vacuums the previous run's
/// dead rows away, so each run starts from the same table.
async fn settle(raw: &mut Raw) {
    let now = SystemClock.now().timestamp_millis();
    raw.execute(
        "UPDATE channels SET health = 'healthy', health_reason = NULL, health_detail = NULL, \
         last_checked_at = $1, next_check_at = $1, consecutive_failures = 0, lease_owner = NULL, lease_until = NULL",
        Some(now),
    )
    .await;
    raw.execute("DELETE FROM bench_checks", None).await;
    if matches!(raw, Raw::Postgres(_)) {
        raw.execute("VACUUM ANALYZE channels", None).await;
    }
    println!("every channel healthy and due, as after its first check");
}

/// A ceiling: a bare HTTP loop (no database, no decryption, no verdict) sending `urls` round
/// and round with the checker's concurrency; returns requests per second.
async fn ceiling(urls: Vec<url::Url>, concurrency: usize, seconds: u64) -> f64 {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("client");
    let urls = Arc::new(urls);
    let next = Arc::new(AtomicU64::new(0));
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, urls, next, count, stop) =
                (client.clone(), urls.clone(), next.clone(), count.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let url = &urls[next.fetch_add(1, Ordering::Relaxed) as usize % urls.len()];
                    let answer = client.get(url.clone()).send().await.and_then(|r| r.error_for_status());
                    if let Ok(answer) = answer
                        && answer.bytes().await.is_ok()
                    {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// A checker process of a run: this binary started with `--worker`.
struct Worker {
    child: Child,
    stdin: ChildStdin,
}

impl Worker {
    fn start(n: usize, args: &Args, url: &str, key_file: &std::path::Path, sim: &url::Url, lines: &Lines) -> Self {
        let exe = std::env::current_exe().expect("the bench's own path");
        let mut child = Command::new(exe)
            .args(["--worker", "--database-url", url, "--simulator", sim.as_str()])
            .arg("--key-file")
            .arg(key_file)
            .args(["--concurrency", &args.concurrency.to_string(), "--batch", &args.batch.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("a worker starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send((n, line)).is_err() {
                    break;
                }
            }
        });
        Self { child, stdin }
    }

    fn say(&mut self, word: &str) {
        // A worker that died is found when its report never comes.
        let _ = writeln!(self.stdin, "{word}").and_then(|()| self.stdin.flush());
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the workers print, with the worker's number.
type Lines = std::sync::mpsc::Sender<(usize, String)>;

/// A worker's end of a run: its checks, its claim and write times (ms), its peak RSS (MiB).
struct Report {
    checked: u64,
    claims: Vec<f64>,
    writes: Vec<f64>,
    rss: f64,
    /// CPU seconds the worker used while checking.
    cpu: f64,
    /// Of which its SQLite threads (none on PostgreSQL, whose work is the server's).
    sqlite_cpu: f64,
}

fn percentile_ms(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// One run's figures, for the closing table.
struct Run {
    processes: usize,
    rate: f64,
    per_process: Vec<f64>,
    ceiling: f64,
    claim_p99: f64,
    write_p99: f64,
    checked: i64,
    twice: i64,
}

/// One run: `processes` checker processes check every channel once. `title` names a run that
/// is not one of the table's.
async fn run(
    args: &Args,
    title: Option<&str>,
    processes: usize,
    url: &str,
    key_file: &std::path::Path,
    sim: &SimProcess,
    raw: &mut Raw,
) -> Run {
    println!();
    match title {
        Some(title) => println!("--- {title} ---"),
        None => println!("--- {processes} checker process{} ---", if processes == 1 { "" } else { "es" }),
    }
    settle(raw).await;
    let sim_pid = sim.child.id().to_string();
    let (sim_cpu, own_cpu, timer) = (cpu_seconds(&sim_pid), cpu_seconds("self"), Instant::now());
    let ceiling = ceiling(probes(sim, &args.tokens), args.concurrency * processes, 10).await;
    let requests = ceiling * timer.elapsed().as_secs_f64();
    let ceiling_cpu = (cpu_seconds("self") - own_cpu + cpu_seconds(&sim_pid) - sim_cpu) / requests;
    println!(
        "ceiling: bare HTTP loop, the checker's probe, concurrency {}: {ceiling:.0} requests/s \
         (CPU per request: the loop {:.1} µs, the simulator {:.1} µs)",
        args.concurrency * processes,
        1e6 * (cpu_seconds("self") - own_cpu) / requests,
        1e6 * (cpu_seconds(&sim_pid) - sim_cpu) / requests,
    );

    let (lines, heard) = std::sync::mpsc::channel();
    let mut workers: Vec<Worker> =
        (0..processes).map(|n| Worker::start(n, args, url, key_file, &sim.base, &lines)).collect();
    drop(lines);
    let wait = Duration::from_secs(120);
    let mut ready = 0;
    while ready < processes {
        let (n, line) = heard.recv_timeout(wait).expect("every worker gets ready");
        if line == "ready" {
            ready += 1;
        } else {
            println!("worker {n}: {line}");
        }
    }
    for worker in &mut workers {
        worker.say("go");
    }
    let sim_cpu = cpu_seconds(&sim_pid);
    let started = Instant::now();
    let target = u64::from(args.channels);
    let mut progress = vec![0u64; processes];
    let deadline = started + Duration::from_secs(args.seconds);
    while progress.iter().sum::<u64>() < target && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((n, line)) = heard.recv_timeout(left) else { break };
        match line.strip_prefix("progress ").and_then(|n| n.parse().ok()) {
            Some(checked) => progress[n] = checked,
            None => println!("worker {n}: {line}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let sim_cpu = cpu_seconds(&sim_pid) - sim_cpu;
    for worker in &mut workers {
        worker.say("stop");
    }
    let mut reports: Vec<Option<Report>> = (0..processes).map(|_| None).collect();
    while reports.iter().any(Option::is_none) {
        let (n, line) = heard.recv_timeout(wait).expect("every worker reports");
        let Some(json) = line.strip_prefix("report ") else { continue };
        let json: serde_json::Value = serde_json::from_str(json).expect("a report");
        let list = |key: &str| -> Vec<f64> {
            json[key].as_array().map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect()).unwrap_or_default()
        };
        reports[n] = Some(Report {
            checked: json["checked"].as_u64().unwrap_or(0),
            claims: list("claims"),
            writes: list("writes"),
            rss: json["rss"].as_f64().unwrap_or(0.0),
            cpu: json["cpu"].as_f64().unwrap_or(0.0),
            sqlite_cpu: json["sqlite_cpu"].as_f64().unwrap_or(0.0),
        });
    }
    drop(workers);
    let reports: Vec<Report> = reports.into_iter().flatten().collect();

    let checked: u64 = reports.iter().map(|r| r.checked).sum();
    let rate = checked as f64 / elapsed;
    let per_process: Vec<f64> = reports.iter().map(|r| r.checked as f64 / elapsed).collect();
    let mut claims: Vec<f64> = reports.iter().flat_map(|r| r.claims.iter().copied()).collect();
    let mut writes: Vec<f64> = reports.iter().flat_map(|r| r.writes.iter().copied()).collect();
    claims.sort_by(f64::total_cmp);
    writes.sort_by(f64::total_cmp);
    println!("checked {checked} channels in {elapsed:.1} s");
    println!(
        "sustained: {rate:.0} checks/s in all ({:.0} % of the ceiling); per process: {}",
        100.0 * rate / ceiling,
        per_process.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", ")
    );
    let cpu: f64 = reports.iter().map(|r| r.cpu).sum();
    let sqlite_cpu: f64 = reports.iter().map(|r| r.sqlite_cpu).sum();
    let check_cpu = (cpu + sim_cpu) / checked.max(1) as f64;
    println!(
        "CPU per check: the checkers {:.1} µs (SQLite's threads {:.1} µs of it, on SQLite), the simulator {:.1} µs \
         per probe; share of the ceiling by CPU (what a machine of its own would give, whatever else runs here): {:.0} %",
        1e6 * cpu / checked.max(1) as f64,
        1e6 * sqlite_cpu / checked.max(1) as f64,
        1e6 * sim_cpu / checked.max(1) as f64,
        100.0 * ceiling_cpu / check_cpu
    );
    println!(
        "peak RSS per process while checking: {}",
        reports.iter().map(|r| format!("{:.1} MiB", r.rss)).collect::<Vec<_>>().join(", ")
    );
    println!(
        "claim query ({} claims of up to {}, all processes): p50 {:.1} ms, p99 {:.1} ms",
        claims.len(),
        args.batch,
        percentile_ms(&claims, 0.5),
        percentile_ms(&claims, 0.99)
    );
    println!(
        "writing a group of results (all processes): p50 {:.1} ms, p99 {:.1} ms",
        percentile_ms(&writes, 0.5),
        percentile_ms(&writes, 0.99)
    );
    let written = raw.number("SELECT COUNT(*) FROM bench_checks").await;
    let distinct = raw.number("SELECT COUNT(DISTINCT channel_id) FROM bench_checks").await;
    let twice = raw
        .number(
            "SELECT COUNT(*) FROM (SELECT channel_id FROM bench_checks GROUP BY channel_id HAVING COUNT(*) > 1) AS t",
        )
        .await;
    println!(
        "in the database: {written} checks written for {distinct} channels; {twice} channels checked more than once, {} not checked",
        i64::from(args.channels) - distinct
    );
    Run {
        processes,
        rate,
        per_process,
        ceiling,
        claim_p99: percentile_ms(&claims, 0.99),
        write_p99: percentile_ms(&writes, 0.99),
        checked: distinct,
        twice,
    }
}

/// The checker's probe (`debug_token` with a channel's token), for the first channels' tokens.
fn probes(sim: &SimProcess, tokens: &[String]) -> Vec<url::Url> {
    let providers = Providers::all_at(&sim.base, CLIENT_ID, CLIENT_SECRET, 1.0e9);
    let api = &providers.config(Provider::Facebook).api_base;
    tokens
        .iter()
        .map(|token| {
            let mut url = api.join("debug_token").expect("url");
            url.query_pairs_mut()
                .append_pair("input_token", token)
                .append_pair("access_token", &format!("{CLIENT_ID}|{CLIENT_SECRET}"));
            url
        })
        .collect()
}

/// A worker: one checker as `relink serve` runs it, started on "go" and stopped on "stop" (or
/// when its stdin closes), printing its progress after each group written and its report last.
async fn worker(args: &Args) {
    let url = args.database_url.as_deref().expect("--database-url");
    let key_file = args.key_file.as_deref().expect("--key-file");
    let sim = url::Url::parse(args.simulator.as_deref().expect("--simulator")).expect("a URL");
    let keyring = relink_core::keyfile::load(key_file).expect("the key file");
    let db = Db::connect(url).await.expect("database");
    let store = Store::open(db, keyring, SystemClock.now()).await.expect("store");
    let providers = Providers::all_at(&sim, CLIENT_ID, CLIENT_SECRET, 1.0e9);
    let config = CheckerConfig {
        owner: format!("bench-{}", std::process::id()),
        batch: args.batch,
        concurrency: args.concurrency,
        ..CheckerConfig::default()
    };
    let checker = relink::app::App::builder(store, providers, Arc::new(SystemClock))
        .web(relink_web::WebSettings::new(
            url::Url::parse("http://127.0.0.1:9/").expect("a URL"),
            Duration::from_secs(24 * 3_600),
        ))
        .checker(config)
        .alerts(None)
        .build()
        .expect("relink builds")
        .checker;
    let (said, mut heard) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if said.send(line).is_err() {
                return;
            }
        }
        let _ = said.send("stop".to_owned());
    });
    println!("ready");
    while heard.recv().await.is_some_and(|line| line != "go") {}
    reset_peak_rss();
    let (cpu_at_go, sqlite_at_go) = (cpu_seconds("self"), sqlite_cpu_seconds());
    let shutdown = CancellationToken::new();
    let stopper = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            while heard.recv().await.is_some_and(|line| line != "stop") {}
            shutdown.cancel();
        })
    };
    // The checker runs as a task of the runtime, as `relink serve` runs it, not on the thread
    // that blocks on `main`: there every finished check would wake that thread from its sleep
    // in the kernel, a cost `relink serve` does not pay.
    let checking = tokio::spawn(async move {
        let mut checked = 0u64;
        let (mut claims, mut writes) = (Vec::new(), Vec::new());
        let observe = |progress| match progress {
            Progress::Claimed { took, .. } => claims.push(took.as_secs_f64() * 1e3),
            Progress::Written(outcome) => {
                checked += (outcome.claimed - outcome.deferred) as u64;
                writes.push(outcome.finish_time.as_secs_f64() * 1e3);
                println!("progress {checked}");
            }
        };
        run_checker_observed(checker, SystemClock, shutdown, observe).await;
        (checked, claims, writes)
    });
    let (checked, claims, writes) = checking.await.expect("the checker ends");
    stopper.abort();
    let cpu = cpu_seconds("self") - cpu_at_go;
    let sqlite_cpu = sqlite_cpu_seconds() - sqlite_at_go;
    let report = serde_json::json!({
        "checked": checked, "claims": claims, "writes": writes, "rss": peak_rss_mib(), "cpu": cpu, "sqlite_cpu": sqlite_cpu,
    });
    println!("report {report}");
}

#[tokio::main]
async fn main() {
    let mut args = args();
    if args.worker {
        worker(&args).await;
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match args.engine.as_str() {
        "sqlite" => format!("sqlite://{}", dir.path().join("bench.db").display()),
        "postgres" => match args.postgres_url.clone() {
            Some(url) => url,
            None => postgres::fresh_postgres_url().await,
        },
        other => panic!("--engine: {other} is not sqlite or postgres"),
    };
    assert!(
        args.engine == "postgres" || args.processes.iter().all(|n| *n == 1),
        "--processes above 1 needs --engine postgres: relink runs several processes on PostgreSQL only"
    );
    println!(
        "relink checker benchmark: {} channels on {}, processes {:?}, concurrency {} and batch {} each",
        args.channels, args.engine, args.processes, args.concurrency, args.batch
    );
    let sim = SimProcess::start(args.channels);
    let db = Db::connect(&url).await.expect("database");
    db.migrate().await.expect("migrations");
    let keyring = Keyring::new([(1, KeyMaterial::generate())]).expect("keyring");
    let key_file = dir.path().join("bench.key");
    relink_core::keyfile::save(&key_file, &keyring).expect("the key file");
    let store = Store::open(db, keyring, SystemClock.now()).await.expect("store");
    let team = store.create_team(&TeamName::parse("Bench").expect("name"), Language::En, SystemClock.now()).await;
    args.tokens = fill(&store, team.expect("team").id, args.channels).await;
    let mut raw = Raw::connect(&url).await;
    raw.count_checks().await;

    // The simulator's ping: the least a request can cost. Each run measures the ceiling, the
    // very probe the checker sends, which costs the simulator more: the checkers cannot be
    // faster than the network answers.
    let ping = ceiling(vec![sim.base.join("_sim/ping").expect("url")], args.concurrency, 10).await;
    println!("bare HTTP loop, simulator ping: {ping:.0} requests/s");

    // A channel's first check learns what the fill cannot know (the person behind each token,
    // the expiry and scopes the network states); a first pass does that, so the measured runs
    // see the steady state, where a check that finds a healthy token changes only its schedule.
    let first = "the first check of every channel, which learns each token's person (not in the table)";
    run(&args, Some(first), 1, &url, &key_file, &sim, &mut raw).await;
    let mut runs = Vec::new();
    for processes in args.processes.clone() {
        runs.push(run(&args, None, processes, &url, &key_file, &sim, &mut raw).await);
    }
    println!();
    println!(
        "| processes | checks/s in all | per process | ceiling | claim p99 | write p99 | channels checked | checked twice |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for run in &runs {
        println!(
            "| {} | {:.0} | {} | {:.0} | {:.1} ms | {:.1} ms | {} | {} |",
            run.processes,
            run.rate,
            run.per_process.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(", "),
            run.ceiling,
            run.claim_p99,
            run.write_p99,
            run.checked,
            run.twice
        );
    }
    let health = store.health_counts().await.expect("health");
    println!("health after the runs: {health:?}");
}
