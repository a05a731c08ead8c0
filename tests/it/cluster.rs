//! Three `relink serve` processes on one PostgreSQL database, one of them killed with SIGKILL
//! while it holds check claims, renewals and deliveries (slow: about two minutes and a quarter on
//! two busy cores, most of it the dead process's 120 s check and delivery leases running out; the
//! three check cycles run meanwhile).
//!
//! Around them: the provider simulator with a few thousand channels of every network (X and
//! Pinterest with rotating refresh tokens), a fake Discord and a fake Telegram, one team with a
//! member on each platform and a bound chat on each. The test runs three check cycles (it makes
//! every channel due and every rotating token about to expire at the start of each), kills tokens
//! in the simulator (revocations, password changes, expiries) so that alerts are produced, and
//! checks afterwards, from the database, the simulator's counters and the fakes' records:
//!
//! - every channel was checked in every cycle, each calm channel with exactly one check's worth
//!   of probes (on every network, Meta's included), and nobody touched the dead process's claimed
//!   channels before their lease ran out;
//! - each rotating token was renewed exactly once per cycle, and no grant was revoked for the
//!   reuse of a rotated refresh token;
//! - every Discord delivery is one Discord message (one nonce each), every Telegram chat got at
//!   most one message more than its sent deliveries per kill, nothing is left undelivered, and
//!   every channel that needs a reconnect was announced in Discord;
//! - the Discord delivery lease moved to a survivor within one lease time after it ran out;
//! - `/readyz` of the survivors answered 200 every time it was polled;
//! - no network received more requests in any one second, from the three processes together,
//!   than its one budget (LinkedIn and Instagram via Facebook get budgets low enough that the
//!   checking load would pass them: [`TIGHT_BUDGETS`]), counted from the simulator's arrival
//!   times, with one reservation block of slack.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use ed25519_dalek::SigningKey;
use relink_core::crypto::{KeyMaterial, Keyring};
use relink_core::store::{Db, NewMember, Store};
use relink_core::{
    ChatPlatform, DiscordUserId, Language, MemberName, Provider, Role, SystemClock, TeamName, TelegramUserId,
};
use relink_simulator::{AccountOptions, Revocation, Scope, Simulator};
use sqlx::{Connection as _, PgConnection};

use crate::serve::Served;
use crate::support::discord::{APPLICATION_ID, FakeDiscord, Limits as DiscordLimits};
use crate::support::postgres::fresh_postgres_url;
use crate::support::telegram::{BOT_TOKEN, FakeTelegram, Limits as TelegramLimits};
use crate::support::{new_channel, tokens};

/// The rate every network gets when relink is pointed at the simulator
/// (`providers.simulator`; see `src/config/providers.rs`).
const SIMULATOR_BUDGET_PER_SECOND: f64 = 1_000.0;

/// Budgets set low (`providers.NAME.rate_per_second`) so that the three processes' checking load
/// would pass them: 250 channels a cycle of a network otherwise go out at 200-450 requests a
/// second. LinkedIn sends one request a check, Instagram via Facebook two (the account through
/// the Page, then `debug_token`). Each costs a cycle about 12 s.
const TIGHT_BUDGETS: [(Provider, f64); 2] = [(Provider::Linkedin, 20.0), (Provider::InstagramBusiness, 40.0)];

/// The budget of `provider` in requests a second, as the processes are configured.
fn budget(provider: Provider) -> f64 {
    TIGHT_BUDGETS.iter().find(|(p, _)| *p == provider).map_or(SIMULATOR_BUDGET_PER_SECOND, |(_, rate)| *rate)
}

/// How many requests over its budget a network may see in a window: two reservation blocks (a
/// fifth of a second's slots, `relink_core::checker::budget`) and one probe's requests.
/// Processes reserve blocks from one schedule and never share a slot, so what the slack covers is
/// timing at the window's edges: the two requests of an Instagram probe leave together at the
/// first of their two slots, and on two cores shared by three relink processes, PostgreSQL and
/// this test (whose simulator notes each arrival), a request or its arrival's note is held up
/// by up to about a fifth of a second and lands beside later ones. Over five seconds the same
/// slack is a twenty-fifth of what a network could be sent beyond its budget.
fn slack(provider: Provider) -> usize {
    let blocks = (budget(provider) / 5.0).floor();
    // Truncation is intended: a whole number of requests, at least one.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let blocks = blocks.max(1.0) as usize;
    let probe = if provider == Provider::InstagramBusiness || provider == Provider::Telegram { 2 } else { 1 };
    blocks + probe
}

/// Channels per network: eleven networks, 2,750 channels.
const PER_NETWORK: usize = 250;

/// Check cycles: the first one is the one with the kill.
const CYCLES: usize = 3;

/// The checker's and the delivery workers' lease (`CheckerConfig::default`,
/// `DeliveryConfig::default`), which a killed process's claims wait out.
const WORK_LEASE: Duration = Duration::from_secs(120);

/// The Discord delivery lease (`relink_bot::discord::notifier::LEASE`).
const DISCORD_LEASE: Duration = Duration::from_secs(30);

/// The team's bound chats and its members' accounts.
const DISCORD_CHANNEL: u64 = 710_000_001;
const TELEGRAM_CHAT: i64 = -100_777;
const ALICE_DISCORD: i64 = 720_000_001;
const BOB_TELEGRAM: i64 = 730_000_001;

fn prefix(provider: Provider) -> &'static str {
    match provider {
        Provider::Facebook => "fb",
        Provider::InstagramBusiness => "igb",
        Provider::InstagramLogin => "igl",
        Provider::Linkedin => "li",
        Provider::X => "x",
        Provider::Pinterest => "pin",
        Provider::Youtube => "yt",
        Provider::GoogleBusiness => "gbp",
        Provider::Telegram => "tg",
        Provider::Threads => "th",
        Provider::GenericOauth2 => "oa",
    }
}

/// The account id of a network's `n`th channel (Telegram's are chat ids).
fn account(provider: Provider, n: usize) -> String {
    if provider == Provider::Telegram { format!("-100{:05}", n + 1) } else { format!("{}-{n}", prefix(provider)) }
}

fn rotates(provider: Provider) -> bool {
    matches!(provider, Provider::X | Provider::Pinterest)
}

fn ms(at: chrono::DateTime<Utc>) -> i64 {
    relink_core::time::to_millis(at)
}

async fn number(raw: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(raw)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn start(dir: std::path::PathBuf, env: Vec<(String, String)>) -> Served {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Served::start_with(&dir, &env)
    })
    .await
    .expect("relink serve starts")
}

async fn stop(served: Served, signal: &'static str) -> Vec<String> {
    tokio::task::spawn_blocking(move || served.stop(signal).1).await.expect("relink serve stops")
}

/// Polls a process's `/readyz` every 200 ms until `stop`, counting answers and refusals.
struct Readiness {
    stop: Arc<AtomicBool>,
    polls: Arc<AtomicU64>,
    refusals: Arc<Mutex<Vec<String>>>,
}

impl Readiness {
    fn watch(address: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let polls = Arc::new(AtomicU64::new(0));
        let refusals = Arc::new(Mutex::new(Vec::new()));
        let url = format!("http://{address}/readyz");
        let (stop_, polls_, refusals_) = (stop.clone(), polls.clone(), refusals.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("a client");
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            while !stop_.load(Ordering::SeqCst) {
                tick.tick().await;
                if stop_.load(Ordering::SeqCst) {
                    break;
                }
                let answer = client.get(&url).send().await;
                polls_.fetch_add(1, Ordering::SeqCst);
                match answer {
                    Ok(response) if response.status() == 200 => {}
                    Ok(response) => refusals_.lock().expect("refusals").push(format!("{}", response.status())),
                    Err(error) => refusals_.lock().expect("refusals").push(error.to_string()),
                }
            }
        });
        Self { stop, polls, refusals }
    }

    fn end(&self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        (self.polls.load(Ordering::SeqCst), self.refusals.lock().expect("refusals").clone())
    }
}

/// Every account's probe and refresh counts at one moment.
fn counts(sim: &Simulator, channels: &[(Provider, String, i64)]) -> HashMap<i64, (u64, u64)> {
    channels
        .iter()
        .map(|(provider, account, id)| {
            let c = sim.counts(*provider, account).expect("a known account");
            (*id, (c.probe, c.refresh))
        })
        .collect()
}

/// Makes every channel due now and every rotating token about to expire: a new cycle. Claimed
/// channels (the dead process's) keep their lease.
async fn new_cycle(raw: &mut PgConnection) -> i64 {
    let now = Utc::now();
    sqlx::query(
        "UPDATE channels SET next_check_at = $1,
         token_expires_at = CASE WHEN provider IN ('x', 'pinterest') THEN $2 ELSE token_expires_at END
         WHERE lease_owner IS NULL",
    )
    .bind(ms(now))
    .bind(ms(now + chrono::Duration::seconds(60)))
    .execute(raw)
    .await
    .expect("every channel due");
    ms(now)
}

/// What is watched while the cycles run: the dead process's claimed channels (untouched until
/// their lease ends) and the Discord delivery lease (whoever takes it after the kill).
struct Watch {
    orphan_ids: Vec<(Provider, String, i64)>,
    orphans_at_kill: HashMap<i64, (u64, u64)>,
    orphan_lease_ends: i64,
    /// `relink-<pid>-%`: the dead process's name in leases.
    victim: String,
    victim_pid: u32,
    discord_taken: Option<(String, i64, Instant)>,
}

impl Watch {
    async fn tick(&mut self, sim: &Simulator, raw: &mut PgConnection) {
        if Utc::now().timestamp_millis() < self.orphan_lease_ends - 1_000 {
            assert_eq!(
                counts(sim, &self.orphan_ids),
                self.orphans_at_kill,
                "a channel the dead process had claimed was checked within its lease"
            );
        }
        if self.discord_taken.is_none() {
            let holder: Option<(String, i64)> = sqlx::query_as(
                "SELECT owner, expires_at FROM platform_leases WHERE name LIKE 'discord:%' AND owner NOT LIKE $1",
            )
            .bind(&self.victim)
            .fetch_optional(raw)
            .await
            .expect("the Discord lease");
            if let Some((owner, until)) = holder {
                assert!(!owner.contains(&format!("-{}-", self.victim_pid)));
                self.discord_taken = Some((owner, until, Instant::now()));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_on_one_postgres_survive_a_kill() {
    let started = Instant::now();
    let dir = tempfile::Builder::new().prefix("relink-cluster-").tempdir().expect("a temporary directory");
    let url = fresh_postgres_url().await;
    let key_file = dir.path().join("relink.key");
    let db = Db::connect(&url).await.expect("connect");
    db.migrate().await.expect("migrate");
    let keyring = Keyring::new([(1, KeyMaterial::generate())]).expect("a keyring");
    relink_core::keyfile::save(&key_file, &keyring).expect("the key file");
    let now = Utc::now();
    let store = Store::open(db, keyring, now).await.expect("the store");

    let sim = Simulator::new(Arc::new(SystemClock)).spawn().await.expect("the simulator starts");
    // Answers take 20 ms, so probes and renewals are in flight whenever the kill falls.
    sim.simulator().latency(Scope::All, Duration::from_millis(20)).expect("latency");
    let discord = FakeDiscord::start(DiscordLimits { bucket_limit: 50, ..DiscordLimits::default() }).await;
    let telegram = FakeTelegram::start(TelegramLimits::default()).await;

    let team = store.create_team(&TeamName::parse("Acme").expect("name"), Language::En, now).await.expect("team");
    crate::support::keep_the_digest_away(&store, team.id, now).await;
    for (name, role, discord_id, telegram_id) in
        [("Alice", Role::PrimaryOwner, Some(ALICE_DISCORD), None), ("Bob", Role::Admin, None, Some(BOB_TELEGRAM))]
    {
        let member = NewMember {
            team_id: team.id,
            name: MemberName::parse(name).expect("a member name"),
            role,
            discord_user_id: discord_id.map(DiscordUserId),
            telegram_user_id: telegram_id.map(TelegramUserId),
        };
        store.add_member(&member, now).await.expect("a member");
    }
    store.bind_chat(team.id, ChatPlatform::Discord, DISCORD_CHANNEL as i64, now).await.expect("bind Discord");
    store.bind_chat(team.id, ChatPlatform::Telegram, TELEGRAM_CHAT, now).await.expect("bind Telegram");

    // The channels, every network; rotating tokens about to expire so the first cycle renews.
    let mut rows = Vec::new();
    for &provider in Provider::ALL {
        for n in 0..PER_NETWORK {
            let account = account(provider, n);
            // A person per account: a revocation or a password change found on one channel
            // makes the person's other channels due at once (Meta's app removal, say), which
            // would check them twice in a cycle on purpose.
            let options = if provider == Provider::Telegram {
                AccountOptions::default()
            } else {
                AccountOptions::user(format!("owner-of-{account}"))
            };
            let issued = sim.simulator().add_account(provider, &account, options).expect("an account");
            let expires_at =
                if rotates(provider) { Some(now + chrono::Duration::seconds(60)) } else { issued.expires_at };
            let set = relink_core::token::TokenSet {
                refresh_expires_at: issued.refresh_expires_at,
                ..tokens(&issued.access_token, issued.refresh_token.as_deref(), expires_at)
            };
            rows.push((new_channel(&team, provider, &account, None), set));
        }
    }
    let added = store.add_channels_bulk(&rows, now).await.expect("the channels");
    assert_eq!(added, rows.len());
    drop(store);
    let mut raw = PgConnection::connect(&url).await.expect("a raw connection");
    let listed: Vec<(i64, String, String)> = sqlx::query_as("SELECT id, provider, external_account_id FROM channels")
        .fetch_all(&mut raw)
        .await
        .expect("ids");
    let channels: Vec<(Provider, String, i64)> = listed
        .into_iter()
        .map(|(id, provider, account)| (provider.parse().expect("a provider"), account, id))
        .collect();
    println!("cluster: {} channels seeded in {:.1?}", channels.len(), started.elapsed());

    // Killed before the start, so the first cycle already has alerts to deliver.
    let mut killed: HashSet<(Provider, String)> = HashSet::new();
    for n in 0..4 {
        for (provider, kill) in [(Provider::Facebook, "revoke"), (Provider::Linkedin, "password")] {
            let account = account(provider, n);
            match kill {
                "revoke" => sim.simulator().revoke_app(provider, &account).expect("revoke"),
                _ => sim.simulator().change_password(provider, &account).expect("password"),
            }
            killed.insert((provider, account));
        }
    }

    let public_key = hex::encode(SigningKey::from_bytes(&[5; 32]).verifying_key().to_bytes());
    let env: Vec<(String, String)> = [
        ("RELINK_DATABASE_URL", url.clone()),
        ("RELINK_KEY_FILE", key_file.display().to_string()),
        ("RELINK_PROVIDERS__SIMULATOR", sim.base_url().to_string()),
        ("RELINK_DISCORD__TOKEN", "cluster-test-bot-token".to_owned()),
        ("RELINK_DISCORD__APPLICATION_ID", APPLICATION_ID.to_string()),
        ("RELINK_DISCORD__PUBLIC_KEY", public_key),
        ("RELINK_DISCORD__MODE", "interactions".to_owned()),
        ("RELINK_DISCORD__API_URL", discord.api_url().to_string()),
        ("RELINK_TELEGRAM__TOKEN", BOT_TOKEN.to_owned()),
        ("RELINK_TELEGRAM__API_URL", telegram.url.to_string()),
        ("RELINK_ALERTS__GROUPING_WINDOW", "0s".to_owned()),
        ("RELINK_CHECKER__CONCURRENCY", "16".to_owned()),
        ("RELINK_CHECKER__BATCH", "128".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .chain(TIGHT_BUDGETS.iter().map(|(provider, rate)| {
        (format!("RELINK_PROVIDERS__{}__RATE_PER_SECOND", provider.as_str().to_uppercase()), rate.to_string())
    }))
    .collect();

    sim.simulator().record_arrivals();
    // Before any process starts: the first one up checks while the others are still starting.
    let mut per_cycle: Vec<HashMap<i64, (u64, u64)>> = vec![counts(sim.simulator(), &channels)];
    let mut processes = Vec::new();
    for n in 0..3 {
        let home = dir.path().join(format!("process-{n}"));
        std::fs::create_dir(&home).expect("a directory per process");
        processes.push(start(home, env.clone()));
    }
    let mut processes: Vec<Served> = futures_util::future::join_all(processes).await;
    let readiness: Vec<Readiness> = processes.iter().map(|p| Readiness::watch(&p.address)).collect();
    println!("cluster: three processes up after {:.1?}", started.elapsed());

    let mut cycle_start = ms(now) - 1;

    // Cycle 1: wait for a burst, then kill the process holding the Discord delivery lease (or,
    // if none holds it yet, the one holding the most claims).
    let burst = u64::try_from(channels.len() / 4).unwrap_or(u64::MAX);
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim.simulator().totals().probe < burst {
        assert!(Instant::now() < deadline, "the cluster never started checking");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let owner_pid = |owner: &str| owner.split('-').nth(1).and_then(|pid| pid.parse::<u32>().ok());
    let discord_holder: Option<(String, i64)> =
        sqlx::query_as("SELECT owner, expires_at FROM platform_leases WHERE name LIKE 'discord:%'")
            .fetch_optional(&mut raw)
            .await
            .expect("the Discord lease");
    let busiest: Option<String> = sqlx::query_scalar(
        "SELECT lease_owner FROM channels WHERE lease_owner IS NOT NULL GROUP BY lease_owner ORDER BY COUNT(*) DESC LIMIT 1",
    )
    .fetch_optional(&mut raw)
    .await
    .expect("claims");
    let victim_pid = discord_holder
        .as_ref()
        .and_then(|(owner, _)| owner_pid(owner))
        .or_else(|| busiest.as_deref().and_then(owner_pid))
        .expect("someone holds work");
    let victim = processes.iter().position(|p| p.pid() == victim_pid).expect("the victim is one of the three");
    readiness[victim].end();
    let served = processes.remove(victim);
    let victim_log = stop(served, "-KILL").await;
    let killed_at = Instant::now();
    let killed_ms = ms(Utc::now());
    let like = format!("relink-{victim_pid}-%");
    let orphaned: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, lease_until FROM channels WHERE lease_owner LIKE $1 AND lease_until > $2")
            .bind(&like)
            .bind(killed_ms)
            .fetch_all(&mut raw)
            .await
            .expect("the dead process's claims");
    let orphaned_deliveries: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND lease_owner LIKE $1 AND lease_until > $2",
    )
    .bind(&like)
    .bind(killed_ms)
    .fetch_one(&mut raw)
    .await
    .expect("the dead process's deliveries");
    let held_discord = discord_holder.filter(|(owner, _)| owner_pid(owner) == Some(victim_pid));
    // Anything the dead process had on the wire has landed by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let orphan_ids: Vec<(Provider, String, i64)> = {
        let ids: HashSet<i64> = orphaned.iter().map(|(id, _)| *id).collect();
        channels.iter().filter(|(_, _, id)| ids.contains(id)).cloned().collect()
    };
    let orphans_at_kill = counts(sim.simulator(), &orphan_ids);
    let orphan_lease_ends = orphaned.iter().map(|(_, until)| *until).min().unwrap_or(killed_ms);
    println!(
        "cluster: killed process {victim} (pid {victim_pid}) after {:.1?}: {} channels claimed, {} deliveries claimed, Discord lease {}",
        started.elapsed(),
        orphaned.len(),
        orphaned_deliveries,
        if held_discord.is_some() { "held" } else { "not held" }
    );
    assert!(!orphaned.is_empty(), "the kill fell while the process held claims:\n{}", victim_log.join("\n"));

    // Tokens die while the cluster runs, and their channels are due at once: new alerts, which
    // a survivor must take the Discord lease to send.
    let mut dying = Vec::new();
    for n in 4..8 {
        dying.push((Provider::Facebook, account(Provider::Facebook, n), "revoke"));
        dying.push((Provider::InstagramLogin, account(Provider::InstagramLogin, n), "password"));
        dying.push((Provider::Threads, account(Provider::Threads, n), "expire"));
    }
    for (provider, account, kill) in &dying {
        match *kill {
            "revoke" => sim.simulator().revoke_app(*provider, account).expect("revoke"),
            "password" => sim.simulator().change_password(*provider, account).expect("password"),
            _ => sim.simulator().expire_now(*provider, account).expect("expire"),
        }
        killed.insert((*provider, account.clone()));
    }
    let dying_ids: Vec<i64> = channels
        .iter()
        .filter(|(p, a, _)| dying.iter().any(|(dp, da, _)| dp == p && da == a))
        .map(|(_, _, id)| *id)
        .collect();
    sqlx::query("UPDATE channels SET next_check_at = $1 WHERE id = ANY($2) AND lease_owner IS NULL")
        .bind(ms(Utc::now()))
        .bind(&dying_ids)
        .execute(&mut raw)
        .await
        .expect("due now");

    // Cycles 1 to 3 run while the dead process's claims wait out their lease: a cycle ends when
    // every channel but those claims was checked since it began and nothing else is claimed or
    // waiting to be delivered (but for the destinations the dead process holds a delivery of:
    // their later alerts rightly wait for it, so a chat's alerts keep their order). Throughout, the claims stay untouched until their lease ends and
    // the Discord lease is watched for its new holder.
    let mut watch = Watch {
        orphan_ids: orphan_ids.clone(),
        orphans_at_kill,
        orphan_lease_ends,
        victim: like.clone(),
        victim_pid,
        discord_taken: None,
    };
    for cycle in 1..=CYCLES {
        if cycle > 1 {
            cycle_start = new_cycle(&mut raw).await;
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            watch.tick(sim.simulator(), &mut raw).await;
            let pending = sqlx::query_scalar::<_, i64>(
                "SELECT (SELECT COUNT(*) FROM channels WHERE (lease_owner IS NULL OR lease_owner NOT LIKE $2)
                   AND (last_checked_at IS NULL OR last_checked_at < $1 OR lease_owner IS NOT NULL))
                 + (SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND (lease_owner IS NULL OR lease_owner NOT LIKE $2)
                      AND destination NOT IN (SELECT destination FROM deliveries
                          WHERE status = 'pending' AND lease_owner LIKE $2))
                 + (SELECT COUNT(*) FROM events WHERE processed_at IS NULL)",
            )
            .bind(cycle_start)
            .bind(&like)
            .fetch_one(&mut raw)
            .await
            .expect("what is left of the cycle");
            if pending == 0 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "cycle {cycle} never ended: {pending} checks, deliveries and events left"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        per_cycle.push(counts(sim.simulator(), &channels));
        println!("cluster: cycle {cycle} (from {cycle_start}) done after {:.1?}", started.elapsed());
    }

    // Then the dead process's claims come due again: checked after their lease, its deliveries
    // sent, nothing claimed, and the Discord lease with a survivor.
    let deadline = Instant::now() + WORK_LEASE + Duration::from_secs(60);
    loop {
        watch.tick(sim.simulator(), &mut raw).await;
        let pending = sqlx::query_scalar::<_, i64>(
            "SELECT (SELECT COUNT(*) FROM channels WHERE lease_owner IS NOT NULL OR (id = ANY($1) AND
                    (last_checked_at IS NULL OR last_checked_at < $2)))
             + (SELECT COUNT(*) FROM deliveries WHERE status = 'pending')
             + (SELECT COUNT(*) FROM events WHERE processed_at IS NULL)",
        )
        .bind(orphan_ids.iter().map(|(_, _, id)| *id).collect::<Vec<i64>>())
        .bind(orphan_lease_ends)
        .fetch_one(&mut raw)
        .await
        .expect("what is left of the dead process's work");
        if pending == 0 && watch.discord_taken.is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the dead process's work was never taken over: {pending} checks, deliveries and events left, Discord lease taken: {}",
            watch.discord_taken.is_some()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let after_takeover = counts(sim.simulator(), &channels);
    println!("cluster: the dead process's work taken over after {:.1?}", started.elapsed());

    let (_, _, taken_at) = watch.discord_taken.clone().expect("the Discord lease was taken");
    let takeover = taken_at.duration_since(killed_at);
    if let Some((_, expires_at)) = &held_discord {
        // The dead process's lease ran out at `expires_at`; a survivor must have it within one
        // lease time after that (it retries a refused send after half a lease).
        let ran_out_after = Duration::from_millis(u64::try_from((expires_at - killed_ms).max(0)).unwrap_or(0));
        assert!(
            takeover <= ran_out_after + DISCORD_LEASE,
            "the Discord lease was taken over {takeover:?} after the kill; it ran out {ran_out_after:?} after it"
        );
    } else {
        assert!(takeover <= DISCORD_LEASE + DISCORD_LEASE, "the Discord lease was taken {takeover:?} after the kill");
    }

    // The busiest second and the busiest five seconds of each network, from when each request
    // arrived.
    let peaks: BTreeMap<Provider, (usize, usize)> = Provider::ALL
        .iter()
        .map(|p| (*p, (sim.simulator().busiest_second(*p), sim.simulator().busiest_within(*p, Duration::from_secs(5)))))
        .collect();
    let mut ready = Vec::new();
    for (n, watch) in readiness.iter().enumerate() {
        if n != victim {
            ready.push(watch.end());
        }
    }
    let mut logs = Vec::new();
    for served in processes {
        logs.push(stop(served, "-TERM").await);
    }

    // Checked every cycle; calm channels exactly once per cycle (one check's worth of probes:
    // the network's usual count, the smallest any of its calm channels needed in a cycle).
    let states: HashMap<i64, (String, Option<i64>)> =
        sqlx::query_as::<_, (i64, String, Option<i64>)>("SELECT id, health, refresh_uncertain_at FROM channels")
            .fetch_all(&mut raw)
            .await
            .expect("health")
            .into_iter()
            .map(|(id, health, uncertain)| (id, (health, uncertain)))
            .collect();
    let orphan_set: HashSet<i64> = orphaned.iter().map(|(id, _)| *id).collect();
    let calm: Vec<&(Provider, String, i64)> =
        channels.iter().filter(|(p, a, id)| !killed.contains(&(*p, a.clone())) && states[id].0 == "healthy").collect();
    // Not from the dead process's claims: the kill may have cut one of their checks between its
    // requests (an Instagram or Telegram probe sends two), and a cut check's one request taken for
    // the usual count made every whole Instagram check look like two.
    let mut probes_per_check: HashMap<Provider, u64> = HashMap::new();
    for cycle in 1..per_cycle.len() {
        for (provider, _, id) in calm.iter().filter(|(_, _, id)| !orphan_set.contains(id)) {
            let delta = per_cycle[cycle][id].0 - per_cycle[cycle - 1][id].0;
            if delta > 0 {
                let usual = probes_per_check.entry(*provider).or_insert(delta);
                *usual = (*usual).min(delta);
            }
        }
    }
    let mut renewals = 0;
    let mut wrong = Vec::new();
    for cycle in 1..per_cycle.len() {
        for (provider, account, id) in &calm {
            let (probes, refreshes) = (
                per_cycle[cycle][id].0 - per_cycle[cycle - 1][id].0,
                per_cycle[cycle][id].1 - per_cycle[cycle - 1][id].1,
            );
            let usual = probes_per_check[provider];
            let orphan = orphan_set.contains(id);
            // The dead process's claims are checked when their lease ends, whichever cycle that
            // falls in (watched above: never before); every other calm channel once a cycle, on
            // every network.
            let checked_once = orphan || probes == usual;
            if !checked_once {
                wrong.push((*id, format!("{account}: {probes} probes in cycle {cycle}, {usual} per check")));
            }
            if rotates(*provider) {
                renewals += refreshes;
                // A renewal the kill interrupted leaves its token marked, never sent again.
                let renewed_once = if orphan || states[id].1.is_some() { refreshes <= 1 } else { refreshes == 1 };
                if !renewed_once {
                    wrong.push((*id, format!("{account}: renewed {refreshes} times in cycle {cycle}")));
                }
            }
        }
    }
    for (_, account, id) in &calm {
        let extra = after_takeover[id].0 - per_cycle[CYCLES][id].0;
        if !orphan_set.contains(id) && extra > 0 {
            wrong.push((*id, format!("{account}: {extra} probes after the last cycle")));
        }
    }
    if !wrong.is_empty() {
        for (id, what) in wrong.iter().take(5) {
            let history: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(
                "SELECT at, from_health, to_health, detail FROM health_history WHERE channel_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(&mut raw)
            .await
            .expect("history");
            let needle = format!("channel={id}");
            let logged: Vec<&String> =
                logs.iter().chain(std::iter::once(&victim_log)).flatten().filter(|l| l.contains(&needle)).collect();
            println!(
                "{what}
  history: {history:?}
  logged: {logged:?}"
            );
        }
        panic!("{} channels were not checked or renewed exactly once a cycle", wrong.len());
    }
    for (provider, account, _) in &channels {
        assert_ne!(
            sim.simulator().revocation(*provider, account),
            Some(Revocation::RefreshReused),
            "{account}: a rotated refresh token was used again"
        );
    }
    for (provider, account, id) in &channels {
        if killed.contains(&(*provider, account.clone())) {
            assert_ne!(states[id].0, "healthy", "{account}: its token was killed");
        }
    }

    // Every alert delivered: nothing left pending or given up; each channel that needs a
    // reconnect announced in Discord.
    assert_eq!(number(&mut raw, "SELECT COUNT(*) FROM deliveries WHERE status <> 'sent'").await, 0);
    let unannounced = number(
        &mut raw,
        "SELECT COUNT(*) FROM channels c WHERE c.health = 'needs_reauth' AND NOT EXISTS (
            SELECT 1 FROM incidents i JOIN alert_incidents ai ON ai.incident_id = i.id
            JOIN deliveries d ON d.alert_id = ai.alert_id
            WHERE i.channel_id = c.id AND d.destination LIKE 'discord%' AND d.status = 'sent')",
    )
    .await;
    assert_eq!(unannounced, 0, "a channel that needs a reconnect was never announced in Discord");
    let needs_reauth = number(&mut raw, "SELECT COUNT(*) FROM channels WHERE health = 'needs_reauth'").await;

    // Exactly once per Discord destination: one message per sent delivery, one nonce each.
    let messages = discord.messages();
    let discord_sent =
        number(&mut raw, "SELECT COUNT(*) FROM deliveries WHERE destination LIKE 'discord%' AND status = 'sent'").await;
    assert_eq!(
        i64::try_from(messages.len()).unwrap_or(i64::MAX),
        discord_sent,
        "Discord messages and sent deliveries differ"
    );
    let nonces: HashSet<String> = messages.iter().filter_map(|m| m.body["nonce"].as_str().map(str::to_owned)).collect();
    assert_eq!(nonces.len(), messages.len(), "a Discord message was created twice");
    assert!(discord_sent > 0, "alerts reached Discord");

    // At most once more per Telegram destination per kill (Telegram has no idempotency key).
    let sent_to: Vec<(String, i64)> = sqlx::query_as(
        "SELECT destination, COUNT(*) FROM deliveries WHERE destination LIKE 'telegram%' AND status = 'sent' GROUP BY destination",
    )
    .fetch_all(&mut raw)
    .await
    .expect("Telegram deliveries");
    let mut telegram_sent = 0;
    for (destination, sent) in &sent_to {
        let chat: i64 = destination.rsplit(':').next().and_then(|id| id.parse().ok()).expect("a chat id");
        let received = telegram.accepted("sendMessage").into_iter().filter(|c| c.chat() == Some(chat)).count();
        let received = i64::try_from(received).unwrap_or(i64::MAX);
        assert!((*sent..=*sent + 1).contains(&received), "{destination}: {sent} deliveries sent, {received} messages");
        telegram_sent += received;
    }
    assert!(telegram_sent > 0, "alerts reached Telegram");

    // The survivors were ready throughout.
    for (polls, refusals) in &ready {
        assert!(refusals.is_empty(), "/readyz refused {} of {polls} polls: {refusals:?}", refusals.len());
        assert!(*polls > 10, "/readyz was polled");
    }
    for log in &logs {
        let log = log.join("\n");
        assert!(!log.contains("panicked"), "a survivor panicked:\n{log}");
    }

    println!(
        "cluster summary after {:.1?}: {} channels, {CYCLES} cycles; killed 1 of 3 holding {} claims and {} deliveries; \
         Discord lease taken over {:.1?} after the kill; {} renewals of rotating tokens; {} need a reconnect; \
         {} Discord and {} Telegram messages; /readyz polled {} times, always 200; busiest second and five seconds per network (requests / budget): {:?}",
        started.elapsed(),
        channels.len(),
        orphaned.len(),
        orphaned_deliveries,
        takeover,
        renewals,
        needs_reauth,
        messages.len(),
        telegram_sent,
        ready.iter().map(|(polls, _)| polls).sum::<u64>(),
        peaks
            .iter()
            .map(|(p, (one, five))| format!("{p} {one}/{} {five}/{}", budget(*p), 5.0 * budget(*p)))
            .collect::<Vec<_>>(),
    );
    for (provider, (one, five)) in &peaks {
        let slack = slack(*provider) as f64;
        for (seconds, busiest) in [(1.0, *one), (5.0, *five)] {
            let allowed = seconds * budget(*provider) + slack;
            assert!(
                busiest as f64 <= allowed,
                "{provider}: {busiest} requests in {seconds} s across the three processes, over its one budget of {} \
                 a second (+{slack} of slack)",
                budget(*provider)
            );
        }
    }
    // The tight budgets were tested: the load kept them busy for whole seconds.
    for (provider, rate) in TIGHT_BUDGETS {
        assert!(
            peaks[&provider].1 as f64 >= 5.0 * rate * 0.75,
            "{provider}: the load never came near its budget: {peaks:?}"
        );
    }
}
