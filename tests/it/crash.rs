//! `relink serve` on SQLite killed with SIGKILL at random moments while it checks channels,
//! renews rotating refresh tokens and delivers alerts to a fake Discord, and restarted each
//! time. At the end no alert is lost, no Discord message was created twice, no grant was lost
//! (the simulator never saw a rotated refresh token used again; a channel whose renewal a kill
//! interrupted is renewed or its team warned with the deadline) and the database is intact.
//!
//! The kill moments come from a seed that the test prints; `RELINK_CRASH_SEED=N` replays them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ed25519_dalek::SigningKey;
use relink_core::crypto::{KeyMaterial, Keyring};
use relink_core::store::{Db, Store};
use relink_core::{ChatPlatform, Language, Provider, SystemClock, TeamName};
use relink_simulator::{AccountOptions, Revocation, Scope, Simulator};
use sqlx::{Connection as _, SqliteConnection};

use crate::serve::Served;
use crate::support::discord::{APPLICATION_ID, FakeDiscord, Limits};
use crate::support::{fresh_sqlite_url, new_channel, tokens};

/// The team's Discord channel, where its alerts go.
const TEAM_CHANNEL: u64 = 700_000_001;

const KILLS: usize = 20;

/// A small deterministic generator (xorshift64*), so a printed seed replays the kill moments.
struct Kills(u64);

impl Kills {
    fn next_wait(&mut self) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let n = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        Duration::from_millis(100 + n % 701)
    }
}

fn seed() -> u64 {
    std::env::var("RELINK_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        u64::try_from(nanos.as_nanos() % u128::from(u64::MAX)).unwrap_or(1) | 1
    })
}

async fn start(dir: std::path::PathBuf, env: Vec<(String, String)>) -> Served {
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Served::start_with(&dir, &env)
    })
    .await
    .expect("relink serve starts")
}

async fn kill(served: Served, signal: &'static str) -> Vec<String> {
    tokio::task::spawn_blocking(move || served.stop(signal).1).await.expect("relink serve stops")
}

async fn number(connection: &mut SqliteConnection, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(connection).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_twenty_times_loses_no_alert_sends_nothing_twice_and_keeps_every_token() {
    // Google-style refresh tokens are renewed on every run but do not rotate: a kill mid-renewal
    // leaves the stored one valid.
    killed_twenty_times(&[(Provider::Youtube, "yt", 12), (Provider::Linkedin, "li", 6)]).await;
}

/// A kill after X or Pinterest rotated a refresh token and before relink saved the new one used
/// to lose the grant: the next renewal presented the old token and the network (the simulator,
/// like X) revoked the whole grant for the reuse. A renewal is now marked before its request
/// leaves, and a marked token is never sent again: the channel lives on its access token and
/// its team is warned with the deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_mid_renewal_never_loses_a_rotating_refresh_token() {
    killed_twenty_times(&[(Provider::X, "x", 12), (Provider::Pinterest, "pin", 10)]).await;
}

/// Starts `relink serve` 21 times and kills it 20 times while it probes sixteen Facebook
/// channels (twelve of which die along the way, three every five kills) and renews the
/// channels of `renewing` (their tokens about to expire before every start), then lets it run
/// to quiet and checks what the crashes may not have done.
async fn killed_twenty_times(renewing: &[(Provider, &str, usize)]) {
    let seed = seed();
    println!("crash test seed: {seed} (RELINK_CRASH_SEED={seed} replays the kill moments)");
    let mut kills = Kills(seed);

    let dir = tempfile::Builder::new().prefix("relink-crash-").tempdir().expect("a temporary directory");
    let url = fresh_sqlite_url(dir.path());
    let key_file = dir.path().join("relink.key");
    let db = Db::connect(&url).await.expect("connect");
    db.migrate().await.expect("migrate");
    let keyring = Keyring::new([(1, KeyMaterial::generate())]).expect("a keyring");
    relink_core::keyfile::save(&key_file, &keyring).expect("the key file");
    let now = Utc::now();
    let store = Store::open(db, keyring, now).await.expect("the store");

    let sim = Simulator::new(Arc::new(SystemClock)).spawn().await.expect("the simulator starts");
    // Every answer takes 40 ms and relink checks four channels at a time, so a run's work lasts
    // about a second and the kills fall in the middle of it.
    sim.simulator().latency(Scope::All, Duration::from_millis(40)).expect("latency");
    let discord = FakeDiscord::start(Limits { bucket_limit: 50, ..Limits::default() }).await;

    let team = store.create_team(&TeamName::parse("Acme").expect("name"), Language::En, now).await.expect("team");
    crate::support::keep_the_digest_away(&store, team.id, now).await;
    store.bind_chat(team.id, ChatPlatform::Discord, TEAM_CHANNEL as i64, now).await.expect("bind");

    let mut channels = Vec::new();
    let renewals: usize = renewing.iter().map(|(_, _, count)| count).sum();
    for &(provider, prefix, count) in renewing.iter().chain(&[(Provider::Facebook, "fb", 16)]) {
        for n in 0..count {
            let account = format!("{prefix}-{n}");
            let issued = sim.simulator().add_account(provider, &account, AccountOptions::default()).expect("account");
            let expires_at = if provider == Provider::Facebook {
                issued.expires_at
            } else {
                Some(now + chrono::Duration::seconds(60))
            };
            let set = relink_core::token::TokenSet {
                refresh_expires_at: issued.refresh_expires_at,
                ..tokens(&issued.access_token, issued.refresh_token.as_deref(), expires_at)
            };
            let channel =
                store.add_channel(&new_channel(&team, provider, &account, None), &set, now).await.expect("channel");
            channels.push((provider, account, channel.id));
        }
    }
    // Three Facebook channels die before the first start, three more every five kills.
    let deaths: Vec<Vec<String>> = (0..4).map(|k| (3 * k..3 * k + 3).map(|n| format!("fb-{n}")).collect()).collect();
    drop(store);

    let public_key = hex::encode(SigningKey::from_bytes(&[3; 32]).verifying_key().to_bytes());
    let env: Vec<(String, String)> = [
        ("RELINK_DATABASE_URL", url.clone()),
        ("RELINK_KEY_FILE", key_file.display().to_string()),
        ("RELINK_PROVIDERS__SIMULATOR", sim.base_url().to_string()),
        ("RELINK_DISCORD__TOKEN", "crash-test-bot-token".to_owned()),
        ("RELINK_DISCORD__APPLICATION_ID", APPLICATION_ID.to_string()),
        ("RELINK_DISCORD__PUBLIC_KEY", public_key),
        ("RELINK_DISCORD__MODE", "interactions".to_owned()),
        ("RELINK_DISCORD__API_URL", discord.api_url().to_string()),
        ("RELINK_ALERTS__GROUPING_WINDOW", "0s".to_owned()),
        ("RELINK_CHECKER__CONCURRENCY", "4".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();

    let mut raw = SqliteConnection::connect(&url).await.expect("a raw connection");
    for round in 0..=KILLS {
        if let Some(dying) = deaths.get(round / 5).filter(|_| round % 5 == 0) {
            for account in dying {
                sim.simulator().revoke_app(Provider::Facebook, account).expect("revoke");
            }
        }
        // While relink is down: every channel is due again, and every rotating token is about
        // to expire, so each run probes and renews while it may be killed. The dead process's
        // leases (checks, deliveries, the Discord delivery lease) are made to have run out, as
        // they would have after their 30 s to a few minutes, so the next run works at once.
        sqlx::query(
            "UPDATE channels SET lease_until = 0 WHERE lease_until IS NOT NULL;
             UPDATE deliveries SET lease_until = 0, next_attempt_at = 0 WHERE status = 'pending';
             UPDATE platform_leases SET expires_at = 0",
        )
        .execute(&mut raw)
        .await
        .expect("leases run out");
        let soon = relink_core::time::to_millis(Utc::now() + chrono::Duration::seconds(60));
        sqlx::query(
            "UPDATE channels SET next_check_at = 0,
             token_expires_at = CASE WHEN provider <> 'facebook' THEN ? ELSE token_expires_at END",
        )
        .bind(soon)
        .execute(&mut raw)
        .await
        .expect("due again");
        if round == KILLS {
            break;
        }
        let served = start(dir.path().to_owned(), env.clone()).await;
        let wait = kills.next_wait();
        tokio::time::sleep(wait).await;
        kill(served, "-KILL").await;
        println!("kill {}: after {} ms", round + 1, wait.as_millis());
    }

    let before_last = sim.simulator().totals();
    let sent_before_last = number(&mut raw, "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'").await;
    println!(
        "while being killed: {} probes, {} refreshes, {} deliveries sent",
        before_last.probe, before_last.refresh, sent_before_last
    );
    assert!(before_last.refresh > 0 && before_last.probe > 0, "the kills must fall while relink works");

    // The last start runs until everything is quiet: every death seen and its alert delivered.
    let served = start(dir.path().to_owned(), env.clone()).await;
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let reauth = number(&mut raw, "SELECT COUNT(*) FROM channels WHERE health = 'needs_reauth'").await;
        // Unchecked: never checked, due now, or being checked (a lease is held until written).
        let now_ms = relink_core::time::to_millis(Utc::now());
        let unchecked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM channels WHERE health = 'unknown' OR next_check_at <= ? OR lease_owner IS NOT NULL",
        )
        .bind(now_ms)
        .fetch_one(&mut raw)
        .await
        .expect("unchecked");
        let pending = number(&mut raw, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'").await;
        let events = number(&mut raw, "SELECT COUNT(*) FROM events WHERE processed_at IS NULL").await;
        if reauth >= 12 && unchecked == 0 && pending == 0 && events == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never quiet: {reauth} need a reconnect, {unchecked} unchecked, {pending} deliveries pending, {events} events"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = kill(served, "-TERM").await;

    // No alert lost: nothing pending or given up, and every channel that needs a person has an
    // incident whose alert reached the team's Discord channel.
    assert_eq!(
        number(&mut raw, "SELECT COUNT(*) FROM deliveries WHERE status <> 'sent'").await,
        0,
        "{}",
        log.join("\n")
    );
    let unannounced = number(
        &mut raw,
        "SELECT COUNT(*) FROM channels c WHERE c.health = 'needs_reauth' AND NOT EXISTS (
            SELECT 1 FROM incidents i JOIN alert_incidents ai ON ai.incident_id = i.id
            JOIN deliveries d ON d.alert_id = ai.alert_id
            WHERE i.channel_id = c.id AND d.destination LIKE 'discord:%' AND d.status = 'sent')",
    )
    .await;
    assert_eq!(unannounced, 0, "a channel that needs a reconnect was never announced in Discord");

    // Nothing sent twice: one Discord message per delivery, whatever the retries after a kill.
    let messages: Vec<_> = discord.messages().into_iter().filter(|m| m.channel == TEAM_CHANNEL).collect();
    let sent =
        number(&mut raw, "SELECT COUNT(*) FROM deliveries WHERE destination LIKE 'discord:%' AND status = 'sent'")
            .await;
    assert_eq!(i64::try_from(messages.len()).unwrap_or(i64::MAX), sent, "Discord messages and sent deliveries differ");
    let mut nonces: Vec<_> = messages.iter().filter_map(|m| m.body["nonce"].as_str().map(str::to_owned)).collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), messages.len(), "every message carries its own nonce");

    // No grant lost: no rotated refresh token was used again, and every channel not revoked on
    // purpose is healthy, or (a kill fell between a rotating refresh leaving and its new tokens
    // being saved, so the refresh token may be spent) expiring, its team warned in Discord with
    // the access token's end as the deadline (the test moves that end forward before each start,
    // so the warning may name an earlier one).
    let revoked: Vec<&String> = deaths.iter().flatten().collect();
    let mut uncertain = 0;
    for (provider, account, id) in &channels {
        assert_ne!(
            sim.simulator().revocation(*provider, account),
            Some(Revocation::RefreshReused),
            "{account}: a rotated refresh token was lost in a crash and the old one used again"
        );
        let (health, marked, expires_at): (String, Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT health, refresh_uncertain_at, token_expires_at FROM channels WHERE id = ?")
                .bind(id.0)
                .fetch_one(&mut raw)
                .await
                .expect("health");
        if revoked.contains(&account) {
            assert_eq!(health, "needs_reauth", "{account}");
        } else if marked.is_some() && relink_core::provider::policy(*provider).renews_itself() {
            uncertain += 1;
            let history: Vec<(String, Option<String>)> =
                sqlx::query_as("SELECT to_health, detail FROM health_history WHERE channel_id = ? ORDER BY id")
                    .bind(id.0)
                    .fetch_all(&mut raw)
                    .await
                    .expect("history");
            assert_eq!(health, "expiring", "{account}: its renewal was uncertain: {history:?}");
            let warned: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM incidents i JOIN alert_incidents ai ON ai.incident_id = i.id
                 JOIN deliveries d ON d.alert_id = ai.alert_id
                 WHERE i.channel_id = ? AND i.problem = 'expiring' AND i.reason = 'expired' AND i.deadline <= ?
                 AND d.destination LIKE 'discord:%' AND d.status = 'sent'",
            )
            .bind(id.0)
            .bind(expires_at)
            .fetch_one(&mut raw)
            .await
            .expect("warnings");
            assert!(warned > 0, "{account}: its renewal was uncertain and its team was not warned of the deadline");
        } else {
            assert_eq!(health, "healthy", "{account}");
        }
    }
    println!("{uncertain} channels' renewals were left uncertain by a kill");

    // Every renewing channel was renewed at least once, through the kills.
    let refreshes = sim.simulator().totals().refresh;
    assert!(refreshes >= u64::try_from(renewals).unwrap_or(u64::MAX), "{refreshes} refreshes");

    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut raw).await.expect("integrity");
    assert_eq!(integrity, "ok");
}
