//! Discord delivery at the rate limits: N alerts (1,000 by default) to M channels (100) through
//! relink's Discord notifier, against the fake Discord REST server of the integration tests on
//! loopback, which enforces Discord's limits (5 messages per 5 s per channel, 50 requests per
//! second globally) and answers 429 when one is broken.
//!
//! Prints the requests per second relink sustained against the global cap, how many requests
//! were answered 429, and the long gaps between requests (where the time went). The target: at
//! least 97 % of the cap and no 429. Figures, not assertions.
//!
//! ```text
//! cargo bench --bench discord -- [--alerts 1000] [--channels 100]
//! ```

#[path = "../tests/it/support/discord.rs"]
mod fake;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use relink_bot::discord::DiscordSettings;
use relink_core::alerts::{
    Alert, AlertChannel, AlertId, AlertKind, AtRisk, Destination, IncidentId, Outgoing, ReconnectAction, Severity,
};
use relink_core::crypto::{KeyMaterial, Keyring};
use relink_core::provider::Providers;
use relink_core::store::{Db, Store};
use relink_core::{ChannelId, ChatPlatform, Clock as _, Language, Provider, SystemClock, TeamId};
use secrecy::SecretString;

use fake::{APPLICATION_ID, FakeDiscord, Limits};

struct Args {
    alerts: u32,
    channels: u32,
}

fn args() -> Args {
    let mut args = Args { alerts: 1_000, channels: 100 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--alerts" => args.alerts = value().parse().expect("--alerts: a number"),
            "--channels" => args.channels = value().parse().expect("--channels: a number"),
            // `cargo bench` passes --bench to every bench binary.
            "--bench" => {}
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

/// A disconnection alert as the engine writes it.
fn alert(id: i64) -> Alert {
    let now = Utc::now();
    Alert {
        id: AlertId(id),
        kind: AlertKind::Disconnected,
        severity: Severity::Critical,
        language: Language::En,
        team_id: TeamId(1),
        team: "Acme".into(),
        channels: vec![AlertChannel::new(ChannelId(id), format!("Page {id}"), Provider::Facebook)],
        incidents: vec![IncidentId(id)],
        reason: Some("password_changed".into()),
        detail: None,
        title: format!("Page {id} is disconnected"),
        explanation: "The password of the account that connected it was changed.".into(),
        remedy: "Reconnect the channel.".into(),
        authorised_by: Some("Alice".into()),
        at_risk: AtRisk { count: 2, first_due: Some(now + chrono::Duration::hours(5)) },
        deadline: None,
        reconnect: Some(ReconnectAction { team_id: TeamId(1), channel_ids: vec![ChannelId(id)] }),
        edits: None,
        unlisted: 0,
        zone: None,
        created_at: now,
    }
}

#[tokio::main]
async fn main() {
    let args = args();
    let fake = FakeDiscord::start(Limits::default()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.expect("database");
    db.migrate().await.expect("migrations");
    let keyring = Keyring::new([(1, KeyMaterial::generate())]).expect("keyring");
    let store = Store::open(db, keyring, SystemClock.now()).await.expect("store");
    let mut settings = DiscordSettings::new(SecretString::from("bench-bot-token"));
    settings.application_id = Some(APPLICATION_ID);
    settings.api_url = fake.api_url();
    // The Discord front-end as `relink serve` builds it (its tasks are not started: only the
    // notifier is measured).
    let web = relink_web::WebSettings::new("https://relink.test/".parse().expect("a URL"), Duration::from_secs(86_400));
    let app = relink::app::App::builder(store, Providers::new(HashMap::new()), Arc::new(SystemClock))
        .web(web)
        .commands_check(false)
        .alerts(None)
        .bots(relink_bot::Settings { discord: Some(settings), telegram: None })
        .build()
        .expect("the Discord front-end");
    let notifier = app.notifier(ChatPlatform::Discord).expect("the Discord notifier");
    println!(
        "relink Discord benchmark: {} alerts to {} channels; the fake allows 5 messages per 5 s per channel \
         and 50 requests/s in all",
        args.alerts, args.channels
    );

    // Every alert is handed to the notifier at once, so the limiter alone decides when each
    // request leaves and in what order. That is harder than a delivery batch: the delivery
    // workers send a destination's alerts one after another, one request of a channel at a time.
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.alerts)
        .map(|i| {
            let notifier = notifier.clone();
            tokio::spawn(async move {
                let alert = alert(i64::from(i) + 1);
                let key = format!("bench-{i}");
                let channel = Destination::DiscordChannel(i64::from(10_000 + i % args.channels));
                let message = Outgoing { alert: &alert, idempotency_key: &key, reconnect_links: &[] };
                notifier.send(channel, &message).await
            })
        })
        .collect();
    let mut failed = 0;
    for task in tasks {
        if task.await.expect("a send task").is_err() {
            failed += 1;
        }
    }
    let elapsed = started.elapsed();
    let calls = fake.calls();
    let requests = calls.len();
    // Measured from the first request Discord saw to the last, so start-up is not counted.
    let span = match (calls.first(), calls.last()) {
        (Some(first), Some(last)) => last.at.duration_since(first.at),
        _ => elapsed,
    };
    let rate = (requests.saturating_sub(1)) as f64 / span.as_secs_f64();
    let cap = f64::from(relink_bot::discord::limiter::DISCORD_GLOBAL_LIMIT);
    println!("sent: {} messages in {:.1} s ({failed} failed)", fake.messages().len(), elapsed.as_secs_f64());
    println!("requests: {requests}, {rate:.2} requests/s = {:.1} % of the cap of {cap:.0}/s", 100.0 * rate / cap);
    println!("429 answers: {}", fake.too_many_requests());
    // Where the time went: gaps between requests much longer than the limiter's pace, and the
    // route of the request that ended each.
    let slot = relink_bot::discord::limiter::GLOBAL_INTERVAL.as_secs_f64();
    let gaps: Vec<(f64, String)> = calls
        .windows(2)
        .map(|w| (w[1].at.duration_since(w[0].at).as_secs_f64(), w[1].path.clone()))
        .enumerate()
        .filter(|(_, (gap, _))| *gap > 3.0 * slot)
        .map(|(n, (gap, path))| (gap, format!("{gap:.2} s before request {} ({path})", n + 2)))
        .collect();
    let listed: Vec<&str> = gaps.iter().take(10).map(|(_, text)| text.as_str()).collect();
    println!(
        "{} gaps longer than three slots, {:.1} s in all{}{}",
        gaps.len(),
        gaps.iter().fold(0.0, |sum, (gap, _)| sum + gap),
        if listed.is_empty() { "" } else { ": " },
        listed.join(", ")
    );
}
