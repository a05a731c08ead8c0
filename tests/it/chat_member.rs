//! Telegram's push signal, `my_chat_member`, on both engines: relink's bot asks for it in polling
//! and webhook mode; removed from a registered channel (through the provider simulator, which
//! sends the update the way Telegram does), the channel is checked within seconds and ends
//! `needs_reauth` with one alert; an update about an unknown chat changes nothing, a malformed
//! one is skipped, a replayed one is handled once (the fake Bot API, `support::telegram`).

// These are test bodies run through `both_engines!` (not `#[test]` functions clippy recognises):
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::DateTime;
use chrono::Utc;
use relink_bot::commands::Services;
use relink_bot::telegram::{Caps, Mode, Settings, Telegram};
use relink_core::alerts::{AlertKind, AlertsConfig, Destination};
use relink_core::checker::{CheckerConfig, Progress, run_checker_observed};
use relink_core::provider::Providers;
use relink_core::store::NewMember;
use relink_core::time::to_millis;
use relink_core::token::TokenSet;
use relink_core::{Channel, Health, MemberName, Provider, Reason, Role, Team, TelegramUserId};
use relink_simulator::{AccountOptions, CLIENT_ID, CLIENT_SECRET, Simulator};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::commands::link_settings;
use crate::serve::Served;
use crate::support::app::TestApp;
use crate::support::telegram::{BOT_TOKEN, FakeTelegram, Limits, bot_administrator, bot_kicked, my_chat_member};
use crate::support::{TestStore, both_engines, new_channel};

both_engines!(
    polling_and_the_webhook_both_ask_telegram_for_my_chat_member,
    a_bot_removed_from_a_registered_channel_brings_needs_reauth_and_one_alert_within_seconds,
    a_bot_removed_from_a_channel_reaches_relinks_webhook_and_brings_the_alert_within_seconds,
    a_bot_added_back_to_a_channel_that_needed_reconnecting_makes_it_healthy_within_seconds,
    a_my_chat_member_about_a_chat_no_channel_is_on_changes_nothing,
    a_malformed_my_chat_member_is_skipped_and_the_updates_after_it_are_handled,
    a_replayed_my_chat_member_on_the_webhook_is_handled_once,
);

const SECRET: &str = "webhook-secret-for-tests";

fn settings(api_url: url::Url, token: &str, mode: Mode) -> Settings {
    Settings {
        token: SecretString::from(token.to_owned()),
        api_url,
        mode,
        webhook_secret: Some(SecretString::from(SECRET)),
        public_url: "https://relink.test/".parse().unwrap(),
        caps: Caps::default(),
        poll_timeout: Duration::ZERO,
    }
}

fn services(db: &TestStore, checker: Option<Arc<relink_core::checker::Checker>>) -> Services {
    Services { store: db.store.clone(), links: link_settings(), checker, clock: Arc::new(db.clock.clone()) }
}

/// The update kinds a recorded call asked for (`allowed_updates`: a JSON array, or its text in
/// a multipart body).
fn allowed(body: &Value) -> Vec<String> {
    let list = match &body["allowed_updates"] {
        Value::String(text) => serde_json::from_str(text).unwrap(),
        other => other.clone(),
    };
    list.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

async fn polling_and_the_webhook_both_ask_telegram_for_my_chat_member(db: TestStore) {
    let fake = FakeTelegram::start(Limits::default()).await;
    let polling = Telegram::new(settings(fake.url.clone(), BOT_TOKEN, Mode::Polling), services(&db, None)).unwrap();
    polling.poll_once().await.unwrap();
    let asked = allowed(&fake.accepted("getUpdates").pop().unwrap().body);
    for kind in ["message", "callback_query", "my_chat_member"] {
        assert!(asked.iter().any(|k| k == kind), "getUpdates asks for {kind}: {asked:?}");
    }

    let webhook = Telegram::new(settings(fake.url.clone(), BOT_TOKEN, Mode::Webhook), services(&db, None)).unwrap();
    webhook.configure_delivery().await.unwrap();
    let asked = allowed(&fake.accepted("setWebhook").pop().unwrap().body);
    for kind in ["message", "callback_query", "my_chat_member"] {
        assert!(asked.iter().any(|k| k == kind), "setWebhook asks for {kind}: {asked:?}");
    }
}

/// A team with an admin who reaches relink on Telegram, and a Telegram channel on `account`.
async fn team_with_channel(db: &TestStore, account: &str, token: &str) -> (Team, Channel) {
    let team = db.team("Acme").await;
    let admin = NewMember {
        team_id: team.id,
        name: MemberName::parse("Alice").unwrap(),
        role: Role::Admin,
        discord_user_id: None,
        telegram_user_id: Some(TelegramUserId(5_001)),
    };
    let admin = db.store.add_member(&admin, db.now()).await.unwrap();
    let channel = new_channel(&team, Provider::Telegram, account, Some(admin.id));
    let tokens = TokenSet::parse_input(token, db.now()).unwrap();
    let channel = db.store.add_channel(&channel, &tokens, db.now()).await.unwrap();
    (team, channel)
}

/// Moves a channel's next check to `at`, as a check that just ran would.
async fn next_check(db: &TestStore, channel: &Channel, at: DateTime<Utc>) {
    let sql = format!("UPDATE channels SET next_check_at = {} WHERE id = {}", to_millis(at), channel.id);
    assert_eq!(db.raw().await.execute(&sql).await, 1);
}

async fn next_check_of(db: &TestStore, channel: &Channel) -> DateTime<Utc> {
    db.store.channel(channel.id).await.unwrap().next_check_at
}

async fn a_bot_removed_from_a_registered_channel_brings_needs_reauth_and_one_alert_within_seconds(db: TestStore) {
    removal_to_alert(db, Mode::Polling, false).await;
}

async fn a_bot_removed_from_a_channel_reaches_relinks_webhook_and_brings_the_alert_within_seconds(db: TestStore) {
    removal_to_alert(db, Mode::Webhook, false).await;
}

/// Adding the bot back is how a Telegram channel is reconnected (there is no link to follow):
/// the update that says so brings the check that makes the channel healthy, within seconds.
async fn a_bot_added_back_to_a_channel_that_needed_reconnecting_makes_it_healthy_within_seconds(db: TestStore) {
    removal_to_alert(db, Mode::Polling, true).await;
}

/// The bot is kicked from a registered channel in the simulator, which tells relink's bot
/// (polling its Bot API, or posting to relink's webhook): the channel is checked at once and
/// ends `needs_reauth` with one alert. Prints the time from the switch to the alert. Then, with
/// `add_back`, the bot is made an administrator again and the channel is healthy again.
async fn removal_to_alert(db: TestStore, mode: Mode, add_back: bool) {
    let sim = Simulator::new(Arc::new(db.clock.clone())).spawn().await.unwrap();
    let chat = "-1001234500001";
    sim.add_account(Provider::Telegram, chat, AccountOptions::default()).unwrap();
    let bot = sim.telegram_bot();
    let (team, channel) = team_with_channel(&db, chat, &bot.token).await;
    let providers =
        Providers::all_at(sim.base_url(), CLIENT_ID, CLIENT_SECRET, 100_000.0).timeout(Duration::from_secs(2));
    // The claimer would sleep an hour between looks: only the signal's wake can bring the check.
    let config =
        CheckerConfig { owner: "signals".into(), idle: Duration::from_secs(3_600), ..CheckerConfig::default() };
    let alerts = AlertsConfig {
        grouping_window: chrono::Duration::zero(),
        operators: Destination::TelegramChat(-999),
        ..AlertsConfig::default()
    };
    // relink's bot polls the simulator's Bot API (or takes its webhook on relink's own server),
    // as `relink serve` with `providers.simulator` does.
    let token = bot.token.clone();
    let app = TestApp::builder(db)
        .providers(providers)
        .simulator(sim)
        .checker(config)
        .bots(move |public_url, sim| {
            let api_url = sim.provider_url(Provider::Telegram).join("api").unwrap();
            let settings = settings(api_url, &token, mode);
            let telegram =
                Settings { poll_timeout: Duration::from_secs(5), public_url: public_url.clone(), ..settings };
            relink_bot::Settings { discord: None, telegram: Some(telegram) }
        })
        .tune(|builder| builder.alerts(Some(alerts)))
        .spawn()
        .await;
    let (db, sim, checker, shutdown) = (&app.db, &app.sim, app.checker.clone(), app.shutdown.clone());
    let engine = app.engine.as_deref().unwrap();
    let first = checker.check_due(db.now()).await.unwrap();
    assert_eq!((first.claimed, first.valid), (1, 1), "the channel starts healthy");
    assert!(next_check_of(db, &channel).await > db.now() + chrono::Duration::hours(1));
    engine.pass(db.now()).await.unwrap();
    let before = db.store.alerts(Some(team.id), 10).await.unwrap().len();

    let (written, mut checks) = tokio::sync::mpsc::unbounded_channel();
    let observe = move |progress| {
        if let Progress::Written(outcome) = progress {
            let _ = written.send(outcome);
        }
    };
    tokio::spawn(run_checker_observed(checker.clone(), db.clock.clone(), shutdown.clone(), observe));

    let switched = Instant::now();
    sim.kick_bot(chat).unwrap();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(outcome) = checks.recv().await {
            if outcome.needs_reauth > 0 {
                return outcome;
            }
        }
        panic!("the checker stopped");
    })
    .await
    .expect("the channel is checked within seconds of the removal");
    assert_eq!(found.needs_reauth, 1);
    engine.pass(db.now()).await.unwrap();
    let took = switched.elapsed();
    eprintln!(
        "telegram my_chat_member ({mode:?}, {:?}): from the simulator's switch to the alert in {took:?}",
        db.engine
    );

    assert_eq!(db.store.channel(channel.id).await.unwrap().health, Health::NeedsReauth(Reason::AppRevoked));
    let alerts = db.store.alerts(Some(team.id), 10).await.unwrap();
    let new: Vec<_> = alerts.iter().take(alerts.len() - before).map(|a| (a.kind, a.channels.len())).collect();
    assert_eq!(new, [(AlertKind::Disconnected, 1)], "{alerts:#?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    if !add_back {
        shutdown.cancel();
        return;
    }

    let switched = Instant::now();
    sim.restore(Provider::Telegram, chat).unwrap();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(outcome) = checks.recv().await {
            if outcome.valid > 0 {
                return outcome;
            }
        }
        panic!("the checker stopped");
    })
    .await
    .expect("the channel is checked within seconds of the bot's return");
    assert_eq!(found.valid, 1);
    let took = switched.elapsed();
    shutdown.cancel();
    eprintln!("telegram my_chat_member ({mode:?}, {:?}): from the bot's return to healthy in {took:?}", db.engine);
    assert_eq!(db.store.channel(channel.id).await.unwrap().health, Health::Healthy);
}

async fn a_my_chat_member_about_a_chat_no_channel_is_on_changes_nothing(db: TestStore) {
    let fake = FakeTelegram::start(Limits::default()).await;
    let (_, channel) = team_with_channel(&db, "@acme_news", BOT_TOKEN).await;
    let later = db.now() + chrono::Duration::hours(6);
    next_check(&db, &channel, later).await;
    let telegram = Telegram::new(settings(fake.url.clone(), BOT_TOKEN, Mode::Polling), services(&db, None)).unwrap();

    fake.push_update(my_chat_member(1, -100_999, Some("elsewhere"), bot_administrator(true), bot_kicked()));
    assert_eq!(telegram.poll_once().await.unwrap(), 1);
    let after = db.store.channel(channel.id).await.unwrap();
    assert_eq!((after.next_check_at, after.health), (later, channel.health.clone()), "another chat changes nothing");

    // The same change in the channel's own chat (named by its username) makes it due now.
    fake.push_update(my_chat_member(2, -100_777, Some("acme_news"), bot_administrator(true), bot_kicked()));
    assert_eq!(telegram.poll_once().await.unwrap(), 1);
    let after = db.store.channel(channel.id).await.unwrap();
    assert!(after.next_check_at <= db.now(), "due now: {}", after.next_check_at);
    assert_eq!(after.health, channel.health, "the signal alone changes no health");
}

async fn a_malformed_my_chat_member_is_skipped_and_the_updates_after_it_are_handled(db: TestStore) {
    let fake = FakeTelegram::start(Limits::default()).await;
    let (_, channel) = team_with_channel(&db, "-100777", BOT_TOKEN).await;
    let later = db.now() + chrono::Duration::hours(6);
    next_check(&db, &channel, later).await;
    let telegram = Telegram::new(settings(fake.url.clone(), BOT_TOKEN, Mode::Polling), services(&db, None)).unwrap();

    fake.push_update(json!({ "update_id": 1, "my_chat_member": { "chat": "nonsense" } }));
    fake.push_update(json!({ "update_id": 2, "my_chat_member": { "chat": { "id": -100_777 }, "new_chat_member": 5 } }));
    let mut sideways = my_chat_member(3, -100_777, None, bot_administrator(true), bot_kicked());
    sideways["my_chat_member"]["date"] = json!("yesterday");
    fake.push_update(sideways);
    assert_eq!(telegram.poll_once().await.unwrap(), 3, "each is handled (skipped) once");
    assert_eq!(next_check_of(&db, &channel).await, later, "nothing read from them");

    fake.push_update(my_chat_member(4, -100_777, None, bot_administrator(true), bot_administrator(false)));
    assert_eq!(telegram.poll_once().await.unwrap(), 1);
    assert!(next_check_of(&db, &channel).await <= db.now(), "the loop goes on to the next update");
}

async fn a_replayed_my_chat_member_on_the_webhook_is_handled_once(db: TestStore) {
    let fake = FakeTelegram::start(Limits::default()).await;
    let (_, channel) = team_with_channel(&db, "-100777", BOT_TOKEN).await;
    let telegram = Telegram::new(settings(fake.url.clone(), BOT_TOKEN, Mode::Webhook), services(&db, None)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/telegram/webhook", listener.local_addr().unwrap());
    let router = relink_bot::telegram::router(telegram.clone());
    tokio::spawn(relink_web::serve(listener, router, CancellationToken::new()));
    let client = reqwest::Client::new();
    let later = db.now() + chrono::Duration::hours(6);
    next_check(&db, &channel, later).await;
    let update = my_chat_member(301, -100_777, None, bot_administrator(true), bot_kicked());
    let post = |body: &Value| client.post(&url).header("X-Telegram-Bot-Api-Secret-Token", SECRET).json(body).send();

    for _ in 0..3 {
        assert_eq!(post(&update).await.unwrap().status(), 200);
    }
    assert_eq!(telegram.handle_pending().await.unwrap(), 1);
    assert!(next_check_of(&db, &channel).await <= db.now(), "the first made the channel due");
    // Checked since; Telegram sends the update again.
    next_check(&db, &channel, later).await;
    assert_eq!(post(&update).await.unwrap().status(), 200, "a late replay is acknowledged…");
    assert_eq!(telegram.handle_pending().await.unwrap(), 0, "…and not handled again");
    assert_eq!(next_check_of(&db, &channel).await, later);

    // Junk under a new id is stored, then skipped.
    let junk = json!({ "update_id": 302, "my_chat_member": { "chat": [] } });
    assert_eq!(post(&junk).await.unwrap().status(), 200);
    assert_eq!(telegram.handle_pending().await.unwrap(), 1);
    assert_eq!(next_check_of(&db, &channel).await, later);
}

/// Runs a relink command in `dir` with `env`, `stdin` on its standard input; its stdout.
fn relink_ok(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str], stdin: &str) -> String {
    use std::io::Write as _;
    let mut child = crate::cli::relink(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "relink {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// Multi-threaded: `Served` blocks its thread while it waits for log lines, and the simulator
// runs on this runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_the_simulator_hears_its_bot_removed_and_checks_the_channel_at_once() {
    let sim = Simulator::new(Arc::new(relink_core::SystemClock)).spawn().await.unwrap();
    let chat = "-1001234500002";
    sim.add_account(Provider::Telegram, chat, AccountOptions::default()).unwrap();
    let bot = sim.telegram_bot();
    let dir = tempfile::tempdir().unwrap();
    let simulator = sim.base_url().to_string();
    // Nothing but the simulator's URL and its bot's token: the bot finds the Bot API by itself.
    let env = [("RELINK_PROVIDERS__SIMULATOR", simulator.as_str()), ("RELINK_TELEGRAM__TOKEN", bot.token.as_str())];
    relink_ok(dir.path(), &env, &["team", "add", "Acme"], "");
    let add = ["channel", "add", "--team", "Acme", "--provider", "telegram", "--account", chat, "--name", "News"];
    relink_ok(dir.path(), &env, &add, &bot.token);
    // Checked now, so the next check is hours away: only the signal can bring one sooner.
    relink_ok(dir.path(), &env, &["channel", "check", "--team", "Acme", "News"], "");

    let mut served = Served::start_with(dir.path(), &env);
    served.wait_for("Telegram bot started");
    let switched = Instant::now();
    sim.kick_bot(chat).unwrap();
    let signal = served.wait_for("push signal");
    assert!(signal.contains("channels=1"), "{signal}");
    let check = served.wait_for("provider=telegram verdict=");
    let took = switched.elapsed();
    eprintln!("relink serve with the simulator: from the switch to the check in {took:?}: {check}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let (status, log) = served.stop("-TERM");
    assert!(status.success(), "{}", log.join("\n"));
    let listed = relink_ok(dir.path(), &env, &["channel", "list", "--team", "Acme"], "");
    assert!(listed.contains("needs_reauth") || listed.contains("reconnect"), "{listed}");
}
