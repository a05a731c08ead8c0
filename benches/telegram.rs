//! Telegram delivery at the platform's limits: N alerts (1,000 by default) to C group chats
//! (200) go out of the alerts outbox through the Telegram notifier to the fake Bot API server on
//! loopback, which enforces Telegram's limits (30 messages/s overall, 1/s per chat, 20/min per
//! group) and answers 429 when they are broken.
//!
//! Prints messages per second against the overall cap, the number of 429s and of messages sent
//! twice. Several delivery workers (each with its own bot client and budget handle, as separate
//! relink processes would have) share one database, so the figure also shows the shared budget
//! holding. `--workers` is a list: by default one run each with 1, 2 and 3 workers, each on a
//! fresh outbox and a fresh fake. Figures, not assertions: the machines are shared.
//!
//! ```text
//! cargo bench --bench telegram -- [--alerts 1000] [--chats 200] [--workers 1,2,3]
//!     [--order bursts|interleaved] [--engine sqlite|postgres] [--postgres-url URL]
//! ```
//! PostgreSQL: give `--postgres-url` (a database the bench may fill) or RELINK_BENCH_POSTGRES_URL.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use relink::app::App;
use relink_bot::telegram::{Caps, Mode, Settings};
use relink_core::alerts::{Alert, AlertId, AlertKind, AtRisk, DeliveryConfig, Destination, NoLinks, Severity};
use relink_core::crypto::{KeyMaterial, Keyring};
use relink_core::provider::Providers;
use relink_core::store::{Db, Store};
use relink_core::{Clock as _, Language, SystemClock, TeamName};
use relink_web::WebSettings;
use secrecy::SecretString;

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/it/support/telegram.rs"]
mod fake;

struct Args {
    alerts: usize,
    chats: i64,
    /// One run per entry: how many workers share the outbox.
    workers: Vec<usize>,
    /// `bursts`: each chat's alerts one after another in the outbox (a team whose channels fail
    /// together), the hard case for per-chat limits; `interleaved`: round-robin over the chats.
    order: String,
    engine: String,
    postgres_url: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        alerts: 1_000,
        chats: 200,
        workers: vec![1, 2, 3],
        order: "bursts".into(),
        engine: "sqlite".into(),
        postgres_url: std::env::var("RELINK_BENCH_POSTGRES_URL").ok(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--alerts" => args.alerts = value().parse().expect("--alerts: a number"),
            "--chats" => args.chats = value().parse().expect("--chats: a number"),
            "--workers" => {
                args.workers =
                    value().split(',').map(|n| n.trim().parse().expect("--workers: numbers, such as 1,2,3")).collect();
            }
            "--order" => args.order = value(),
            "--engine" => args.engine = value(),
            "--postgres-url" => args.postgres_url = Some(value()),
            // `cargo bench` passes `--bench`; anything else is a mistake worth saying.
            "--bench" => {}
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

fn alert(team: relink_core::TeamId, n: usize) -> Alert {
    Alert {
        id: AlertId::UNSAVED,
        kind: AlertKind::OperatorProblem,
        severity: Severity::Warning,
        language: Language::En,
        team_id: team,
        team: "Bench".into(),
        channels: Vec::new(),
        incidents: Vec::new(),
        reason: None,
        detail: None,
        title: format!("Bench alert {n}"),
        explanation: "A message of the Telegram delivery benchmark.".into(),
        remedy: "Nothing to do.".into(),
        authorised_by: None,
        at_risk: AtRisk::default(),
        deadline: None,
        reconnect: None,
        edits: None,
        unlisted: 0,
        zone: None,
        created_at: SystemClock.now(),
    }
}

#[tokio::main]
async fn main() {
    let args = args();
    for &workers in &args.workers {
        run(&args, workers).await;
    }
}

/// One run: a fresh outbox of `args.alerts` alerts delivered by `workers` workers.
async fn run(args: &Args, workers: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match args.engine.as_str() {
        "sqlite" => format!("sqlite://{}", dir.path().join("relink.db").display()),
        "postgres" => args.postgres_url.clone().expect("--postgres-url or RELINK_BENCH_POSTGRES_URL"),
        other => panic!("--engine sqlite|postgres, not {other}"),
    };
    let db = Db::connect(&url).await.expect("database");
    db.migrate().await.expect("migrations");
    let keyring = Keyring::new([(1, KeyMaterial::generate())]).expect("keyring");
    let store = Store::open(db, keyring, SystemClock.now()).await.expect("store");
    let team = store
        .create_team(&TeamName::parse(&format!("Bench {workers}")).expect("name"), Language::En, SystemClock.now())
        .await;
    let team = team.expect("team").id;

    let per_chat = (args.alerts as i64 + args.chats - 1) / args.chats;
    for n in 0..args.alerts {
        let index = match args.order.as_str() {
            "bursts" => n as i64 / per_chat,
            "interleaved" => n as i64 % args.chats,
            other => panic!("--order bursts|interleaved, not {other}"),
        };
        let chat = -1_000_000_000_000 - index;
        store
            .enqueue_alert(&alert(team, n), &[Destination::TelegramChat(chat)], SystemClock.now())
            .await
            .expect("enqueue");
    }

    // The fake gets a thread and runtime of its own, as Telegram's servers are elsewhere: its
    // clock then does not depend on how busy the senders' runtime is.
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let fake = fake::FakeTelegram::start(fake::Limits::default()).await;
            sender.send(fake).expect("the bench waits for the fake");
            std::future::pending::<()>().await;
        });
    });
    let fake = receiver.await.expect("the fake starts");
    let caps = Caps::default();
    let web = WebSettings::new("http://127.0.0.1:9/".parse().expect("url"), Duration::from_secs(3_600));
    let delivered = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|worker| {
            let settings = Settings {
                token: SecretString::from(fake::BOT_TOKEN),
                api_url: fake.url.clone(),
                mode: Mode::Polling,
                webhook_secret: None,
                public_url: "http://127.0.0.1:9/".parse().expect("url"),
                caps,
                poll_timeout: Duration::ZERO,
            };
            let config = DeliveryConfig { owner: format!("bench-{worker}"), ..DeliveryConfig::default() };
            // One relink process per worker, built as `relink serve` builds it: its own bot (and
            // limiter) and a deliverer that mints no links.
            let app = App::builder(store.clone(), Providers::new(HashMap::new()), Arc::new(SystemClock))
                .web(web.clone())
                .commands_check(false)
                .bots(relink_bot::Settings { discord: None, telegram: Some(settings) })
                .links(Arc::new(NoLinks))
                .delivery(config)
                .build()
                .expect("bot");
            let deliverer = app.deliverer.expect("a deliverer");
            let (delivered, total) = (delivered.clone(), args.alerts);
            tokio::spawn(async move {
                while delivered.load(Ordering::SeqCst) < total {
                    let outcome = deliverer.deliver_due(SystemClock.now()).await.expect("delivery pass");
                    delivered.fetch_add(outcome.sent, Ordering::SeqCst);
                    if outcome.claimed == 0 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("worker");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let accepted = fake.accepted("sendMessage");
    let sent = accepted.len();
    // The rate between the first and the last message Telegram accepted: N - 1 intervals.
    let span = match (accepted.first(), accepted.last()) {
        (Some(first), Some(last)) if sent > 1 => last.at.duration_since(first.at).as_secs_f64(),
        _ => elapsed,
    };
    let rate = (sent.saturating_sub(1)) as f64 / span;
    println!(
        "telegram: {sent} messages to {} chats ({}) by {} workers ({}) in {elapsed:.1} s \
         ({span:.1} s from the first accepted message to the last)",
        args.chats, args.order, workers, args.engine
    );
    let cap = caps.overall_per_second;
    let wall = sent as f64 / elapsed;
    println!(
        "telegram: {rate:.2} messages/s against a cap of {cap:.0}/s = {:.1} % of the cap \
         (wall clock including start-up: {wall:.2}/s = {:.1} %); 429 answers: {}",
        100.0 * rate / cap,
        100.0 * wall / cap,
        fake.limited()
    );
    // Where the time went: gaps between accepted messages much longer than a slot.
    let slot = 1.0 / cap;
    let gaps: Vec<(usize, f64)> = accepted
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at).as_secs_f64())
        .enumerate()
        .filter(|(_, g)| *g > 3.0 * slot)
        .collect();
    let listed: Vec<String> = gaps.iter().take(10).map(|(n, g)| format!("{g:.2} s after message {}", n + 1)).collect();
    println!(
        "telegram: {} gaps longer than three slots, {:.1} s in all{}{}",
        gaps.len(),
        gaps.iter().map(|(_, g)| g).sum::<f64>(),
        if listed.is_empty() { "" } else { ": " },
        listed.join(", ")
    );
    // Each alert's title is in its message: a title accepted twice is a message sent twice.
    let mut titles: Vec<String> = accepted.iter().filter_map(|c| c.text().lines().next().map(str::to_owned)).collect();
    titles.sort_unstable();
    titles.dedup();
    println!("telegram: {} messages sent twice", sent - titles.len());
    let mut broken: Vec<&str> = fake.calls().iter().filter_map(|c| c.broke).collect();
    broken.sort_unstable();
    broken.dedup();
    if !broken.is_empty() {
        println!("telegram: limits broken: {}", broken.join(", "));
    }
}
