//! The checker at scale: N channels (a million by default) in SQLite or PostgreSQL, checked
//! against the provider simulator running in its own process on loopback.
//!
//! Prints sustained checks per second, the peak RSS of this process while checking, the p50 and
//! p99 of the claim query, and — in the same run — the ceiling: a bare HTTP loop against the same
//! simulator with the same concurrency. Figures, not assertions: the machines are shared.
//!
//! ```text
//! cargo bench --bench checker -- [--channels 1000000] [--engine sqlite|postgres]
//!     [--postgres-url URL] [--concurrency 128] [--batch 1024] [--seconds 300]
//! ```
//! PostgreSQL: give `--postgres-url` (a database the bench may fill) or RELINK_BENCH_POSTGRES_URL.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use relink_core::checker::{CheckerConfig, Progress, run_checker_observed};
use relink_core::crypto::{KeyMaterial, Keyring};
use relink_core::provider::Providers;
use relink_core::store::{Db, Store};
use relink_core::token::TokenSet;
use relink_core::{
    Clock as _, DisplayName, ExternalAccountId, Language, NewChannel, Provider, Scopes, SystemClock, TeamName,
};
use relink_simulator::{CLIENT_ID, CLIENT_SECRET, SimConfig, Simulator};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

const TOKEN_SEED: u64 = 7;

struct Args {
    channels: u32,
    engine: String,
    postgres_url: Option<String>,
    concurrency: usize,
    batch: u32,
    seconds: u64,
}

fn args() -> Args {
    let mut args = Args {
        channels: 1_000_000,
        engine: "sqlite".into(),
        postgres_url: std::env::var("RELINK_BENCH_POSTGRES_URL").ok(),
        concurrency: 128,
        batch: 1_024,
        seconds: 300,
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
            "--bench" => {}
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

/// The simulator in a process of its own, so its memory and CPU are not counted as relink's.
struct SimProcess {
    child: Child,
    base: url::Url,
}

impl SimProcess {
    fn start(channels: u32) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_relink"))
            .args(["simulate", "--listen", "127.0.0.1:0", "--token-seed", &TOKEN_SEED.to_string()])
            .args(["--accounts", &format!("facebook*{channels}")])
            .env("RELINK_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("relink simulate starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("the simulator says where it listens");
        // Keep reading what it prints later, so it never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let base = line.trim().rsplit(' ').next().expect("an address").to_owned();
        Self { child, base: url::Url::parse(&base).expect("a URL") }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

/// Resets the peak RSS so the figure covers the checking phase only (Linux `clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Fills the store; returns the access tokens of the first few channels (for the probe ceiling).
async fn fill(store: &Store, channels: u32) -> Vec<String> {
    let team = store.create_team(&TeamName::parse("Bench").expect("name"), Language::En, SystemClock.now()).await;
    let team = team.expect("team");
    // The same seed mints the same tokens as the simulator process.
    let minter = Simulator::with_config(
        SimConfig { token_seed: Some(TOKEN_SEED), ..SimConfig::default() },
        Arc::new(SystemClock),
    );
    let bulk = minter.add_accounts_bulk(Provider::Facebook, channels).expect("bulk accounts");
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut rows = Vec::with_capacity(10_000);
    for n in 0..channels {
        let issued = minter.tokens_at(Provider::Facebook, bulk.first_index + n).expect("tokens");
        let account = bulk.account_id(n);
        if samples.len() < 10_000 {
            samples.push(issued.access_token.clone());
        }
        rows.push((
            NewChannel {
                team_id: team.id,
                provider: Provider::Facebook,
                external_account_id: ExternalAccountId::parse(&account).expect("account"),
                display_name: DisplayName::parse(&account).expect("name"),
                authorized_by: None,
            },
            TokenSet {
                access_token: SecretString::from(issued.access_token),
                refresh_token: None,
                expires_at: issued.expires_at,
                scopes: Scopes::default(),
                refresh_expires_at: None,
            },
        ));
        if rows.len() == 10_000 || n + 1 == channels {
            store.add_channels_bulk(&rows, SystemClock.now()).await.expect("bulk insert");
            rows.clear();
        }
    }
    println!("filled {channels} channels in {:.1} s", started.elapsed().as_secs_f64());
    samples
}

/// Marks every channel as checked once and healthy, still due now: the bench measures the
/// checker's steady state, where a check that finds a healthy token changes nothing but the
/// schedule. (A channel's very first check also writes a history row and an outbox event.)
async fn settle(url: &str) {
    use sqlx::Connection as _;
    let sql = "UPDATE channels SET health = 'healthy', last_checked_at = $1";
    let now = SystemClock.now().timestamp_millis();
    let done = if url.starts_with("sqlite:") {
        let mut connection = sqlx::SqliteConnection::connect(url).await.expect("a connection");
        sqlx::query(sql).bind(now).execute(&mut connection).await.map(drop)
    } else {
        let mut connection = sqlx::PgConnection::connect(url).await.expect("a connection");
        sqlx::query(sql).bind(now).execute(&mut connection).await.map(drop)
    };
    done.expect("channels marked healthy");
    println!("every channel starts healthy and due, as after its first check");
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

#[tokio::main]
async fn main() {
    let args = args();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match args.engine.as_str() {
        "sqlite" => format!("sqlite://{}", dir.path().join("bench.db").display()),
        "postgres" => args.postgres_url.clone().expect("--postgres-url or RELINK_BENCH_POSTGRES_URL"),
        other => panic!("--engine: {other} is not sqlite or postgres"),
    };
    println!(
        "relink checker benchmark: {} channels on {}, concurrency {}, batch {}",
        args.channels, args.engine, args.concurrency, args.batch
    );
    let sim = SimProcess::start(args.channels);
    let db = Db::connect(&url).await.expect("database");
    db.migrate().await.expect("migrations");
    let keyring = Keyring::new([(1, KeyMaterial::generate())]).expect("keyring");
    let store = Store::open(db, keyring, SystemClock.now()).await.expect("store");
    let tokens = fill(&store, args.channels).await;
    settle(&url).await;
    let providers = Providers::all_at(&sim.base, CLIENT_ID, CLIENT_SECRET, 1.0e9);

    // Two bare loops: the simulator's ping (the least a request can cost), and the very probe
    // the checker sends (`debug_token` with a channel's token), which costs the simulator more.
    // The checker is held to the second: it cannot be faster than the network answers.
    let ping = ceiling(vec![sim.base.join("_sim/ping").expect("url")], args.concurrency, 10).await;
    println!("bare HTTP loop, simulator ping: {ping:.0} requests/s");
    let api = &providers.config(Provider::Facebook).api_base;
    let probes = tokens
        .iter()
        .map(|token| {
            let mut url = api.join("debug_token").expect("url");
            url.query_pairs_mut()
                .append_pair("input_token", token)
                .append_pair("access_token", &format!("{CLIENT_ID}|{CLIENT_SECRET}"));
            url
        })
        .collect();
    let ceiling = ceiling(probes, args.concurrency, 10).await;
    println!("ceiling: bare HTTP loop, the checker's probe: {ceiling:.0} requests/s");

    reset_peak_rss();
    let config = CheckerConfig {
        owner: "bench".into(),
        batch: args.batch,
        concurrency: args.concurrency,
        ..CheckerConfig::default()
    };
    // The checker as `relink serve` runs it, stopped once every channel has been checked (or
    // after --seconds).
    let checker = relink::app::App::builder(store.clone(), providers, Arc::new(SystemClock))
        .web(relink_web::WebSettings::new(
            url::Url::parse("http://127.0.0.1:9/").expect("a URL"),
            Duration::from_secs(24 * 3_600),
        ))
        .checker(config)
        .alerts(None)
        .build()
        .expect("relink builds")
        .checker;
    let shutdown = CancellationToken::new();
    let target = u64::from(args.channels);
    let mut checked = 0u64;
    let (mut times, mut finishes) = (Vec::new(), Vec::new());
    let observe = |progress| {
        match progress {
            Progress::Claimed { took, .. } => times.push(took),
            Progress::Written(outcome) => {
                checked += (outcome.claimed - outcome.deferred) as u64;
                finishes.push(outcome.finish_time);
            }
        }
        if checked >= target {
            shutdown.cancel();
        }
    };
    let deadline = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(args.seconds)).await;
            shutdown.cancel();
        })
    };
    let started = Instant::now();
    run_checker_observed(checker, SystemClock, shutdown.clone(), observe).await;
    deadline.abort();
    let elapsed = started.elapsed().as_secs_f64();
    let rss = peak_rss_mib();
    times.sort();
    finishes.sort();
    let rate = checked as f64 / elapsed;
    println!("checked {checked} channels in {elapsed:.1} s");
    println!("sustained: {rate:.0} checks/s ({:.0} % of the ceiling)", 100.0 * rate / ceiling);
    println!("peak RSS while checking: {rss:.1} MiB");
    println!(
        "claim query ({} claims of up to {}): p50 {:.1} ms, p99 {:.1} ms",
        times.len(),
        args.batch,
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "writing a group of results: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&finishes, 0.5).as_secs_f64() * 1e3,
        percentile(&finishes, 0.99).as_secs_f64() * 1e3
    );
    let health = store.health_counts().await.expect("health");
    println!("health after the run: {health:?}");
}
