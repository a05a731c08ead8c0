//! Google's Cross-Account Protection receiver (`POST /hooks/google/risc`) on SQLite and
//! PostgreSQL, against the simulator's published keys and signed Security Event Tokens: every
//! event about a Google account gets that account's YouTube and Business Profile channels
//! checked at once (and so `needs_reauth` with one alert when the grant is really gone); forged,
//! misaddressed, stale, replayed or malformed tokens are refused with 401 and change nothing; a
//! key set that cannot be fetched answers 503 and the event delivered again is not lost.

// These are test bodies run through `both_engines!` (not `#[test]` functions clippy recognises):
// a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use relink_core::alerts::AlertsConfig;
use relink_core::checker::{CheckerConfig, Progress, run_checker_observed};
use relink_core::store::NewMember;
use relink_core::token::TokenSet;
use relink_core::{Channel, Health, MemberId, MemberName, Provider, Role, Team, TelegramUserId};
use relink_simulator::risc::{EventType, SecurityEvent, TestKey, iss_sub};
use relink_simulator::{AccountOptions, CLIENT_ID};
use relink_web::RiscSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use url::Url;

use crate::support::app::TestApp;
use crate::support::{TestStore, both_engines, new_channel};

/// A store, the simulator (Google's keys and events), relink's web server and a running checker
/// that only the receiver's wake can hurry: nothing is due on the test clock unless a signal
/// makes it so.
struct Rig {
    app: TestApp,
    hook: Url,
    http: reqwest::Client,
    /// Rung after every group of checks the running checker writes.
    written: Arc<Notify>,
}

impl std::ops::Deref for Rig {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Rig {
    /// `jwks`: where relink fetches Google's keys (the simulator's by default); a key set that
    /// could not be fetched is asked again at the next delivery.
    async fn new(db: TestStore, jwks: Option<Url>) -> Self {
        Self::with_refetch(db, jwks, Duration::ZERO).await
    }

    async fn with_refetch(db: TestStore, jwks: Option<Url>, refetch_after: Duration) -> Self {
        let app = TestApp::builder(db)
            .checker(CheckerConfig { owner: "risc-test".into(), ..CheckerConfig::default() })
            .link_ttl(Duration::from_secs(3_600))
            .tune(|app| app.alerts(Some(AlertsConfig::default())))
            .web(move |settings, sim| {
                settings.risc = RiscSettings {
                    jwks_url: jwks.unwrap_or_else(|| sim.base_url().join("_sim/google/certs").expect("a URL")),
                    refetch_after,
                    ..RiscSettings::default()
                };
            })
            .spawn()
            .await;
        let hook = app.base.join("hooks/google/risc").expect("a URL");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("a client");
        Self { app, hook, http, written: Arc::new(Notify::new()) }
    }

    /// Starts the checker's loop on the test clock.
    fn run_checker(&self) {
        let written = self.written.clone();
        tokio::spawn(run_checker_observed(self.checker.clone(), self.db.clock.clone(), self.shutdown.clone(), {
            move |progress| {
                if let Progress::Written(_) = progress {
                    written.notify_waiters();
                }
            }
        }));
    }

    fn now(&self) -> DateTime<Utc> {
        self.db.now()
    }

    /// A team with an admin who hears alerts in Telegram and authorised its channels.
    async fn team(&self, name: &str) -> (Team, MemberId) {
        let team = self.db.team(name).await;
        let admin = NewMember {
            team_id: team.id,
            name: MemberName::parse("Ada").unwrap(),
            role: Role::Admin,
            discord_user_id: None,
            telegram_user_id: Some(TelegramUserId(4_242)),
        };
        let admin = self.db.store.add_member(&admin, self.now()).await.unwrap();
        (team, admin.id)
    }

    /// A Google account of `user` in the simulator and its channel in relink.
    async fn channel(&self, team: &(Team, MemberId), provider: Provider, account: &str, user: &str) -> Channel {
        let issued = self.sim.add_account(provider, account, AccountOptions::user(user)).unwrap();
        let tokens = TokenSet {
            access_token: issued.access_token.clone().into(),
            refresh_token: issued.refresh_token.clone().map(Into::into),
            expires_at: issued.expires_at,
            scopes: relink_core::Scopes::default(),
            refresh_expires_at: issued.refresh_expires_at,
        };
        let channel = new_channel(&team.0, provider, account, Some(team.1));
        self.db.store.add_channel(&channel, &tokens, self.now()).await.unwrap()
    }

    /// Checks whatever is due now, so every channel is healthy and next due hours from now.
    async fn settle(&self) {
        self.checker.check_due(self.now()).await.unwrap();
    }

    async fn post(&self, body: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.hook.clone())
            .header("content-type", "application/secevent+jwt")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Google's SET about `sub` as the simulator signs it now, for relink's client id.
    fn event(&self, event: EventType, sub: &str) -> SecurityEvent {
        SecurityEvent::new(event, sub, CLIENT_ID, self.now())
    }

    async fn channel_now(&self, channel: &Channel) -> Channel {
        self.db.store.channel(channel.id).await.unwrap()
    }

    /// Waits (at most 20 s) until every channel needs a reconnect; returns how long it took.
    async fn until_disconnected(&self, channels: &[&Channel]) -> Duration {
        let started = Instant::now();
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let written = self.written.notified();
                let mut all = true;
                for channel in channels {
                    all &= matches!(self.channel_now(channel).await.health, Health::NeedsReauth(_));
                }
                if all {
                    return;
                }
                written.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the channels were not checked within 20 s of the event (now {})", self.now()));
        started.elapsed()
    }

    /// Runs an alerts pass once the short quiet of pushed transitions is over (not the whole
    /// grouping window) and returns the team's alerts.
    async fn alerts_after_grouping(&self, team: &(Team, MemberId)) -> usize {
        self.db.clock.advance(relink_core::alerts::PUSHED_QUIET + chrono::Duration::seconds(1));
        self.engine.as_ref().expect("the rig's alerts engine").pass(self.now()).await.unwrap();
        self.db.store.alerts(Some(team.0.id), 100).await.unwrap().len()
    }
}

/// Every event about a Google account relink acts on, each about a different person whose
/// grant is already gone at the network: the receiver makes their two channels due, the
/// running checker is woken and finds them dead, and the team gets one alert.
async fn each_google_account_event_gets_the_accounts_channels_checked_at_once(db: TestStore) {
    let rig = Rig::new(db, None).await;
    let events = [
        EventType::TokensRevoked,
        EventType::TokenRevoked,
        EventType::SessionsRevoked,
        EventType::AccountDisabled,
        EventType::AccountPurged,
        EventType::AccountCredentialChangeRequired,
    ];
    let mut cases = Vec::new();
    for (n, event) in events.iter().enumerate() {
        let team = rig.team(&format!("Team {n}")).await;
        let user = format!("person-{n}");
        let youtube = rig.channel(&team, Provider::Youtube, &format!("yt-{n}"), &user).await;
        let business = rig.channel(&team, Provider::GoogleBusiness, &format!("gbp-{n}"), &user).await;
        cases.push((*event, team, user, youtube, business));
    }
    rig.settle().await;
    rig.run_checker();

    for (event, team, user, youtube, business) in &cases {
        for channel in [youtube, business] {
            let channel = rig.channel_now(channel).await;
            assert_eq!(channel.health, Health::Healthy, "{event:?}");
            assert!(channel.next_check_at > rig.now(), "{event:?}: nothing is due before the event");
        }
        // The grant dies without a word from the simulator (no hook is configured)…
        rig.sim.change_user_password(user).unwrap();
        // …then the event arrives, about each of the person's Google accounts.
        let started = Instant::now();
        for channel in [youtube, business] {
            // Every one of them with an `iss-sub` subject (token-revoked too, which Google may
            // also send about one token by its hash: see the verification test).
            let sub = channel.external_account_id.as_str();
            let set =
                SecurityEvent { events: json!({ event.uri(): { "subject": iss_sub(sub) } }), ..rig.event(*event, sub) };
            let set = set.sign(TestKey::Served).unwrap();
            let (status, body) = rig.post(&set).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{event:?}: {body}");
        }
        rig.until_disconnected(&[youtube, business]).await;
        println!("RISC {}: event to needs_reauth in {:?}", event.name(), started.elapsed());
        assert_eq!(rig.alerts_after_grouping(team).await, 1, "{event:?}: one alert for the person's two channels");
    }
}

/// The simulator plays Google end to end: a switch kills the grant, Google pushes its event to
/// relink's receiver, and the channel needs a reconnect within seconds. Prints the time.
async fn a_google_switch_reaches_the_alert_within_seconds(db: TestStore) {
    let rig = Rig::new(db, None).await;
    rig.sim.set_google_risc_hook(Some(rig.hook.clone()));
    let team = rig.team("Acme").await;
    let youtube = rig.channel(&team, Provider::Youtube, "yt-dana", "dana").await;
    let business = rig.channel(&team, Provider::GoogleBusiness, "gbp-dana", "dana").await;
    let other = rig.channel(&team, Provider::Youtube, "yt-erin", "erin").await;
    rig.settle().await;
    rig.run_checker();

    let started = Instant::now();
    rig.sim.change_user_password("dana").unwrap();
    rig.until_disconnected(&[&youtube, &business]).await;
    let detected = started.elapsed();
    assert_eq!(rig.alerts_after_grouping(&team).await, 1);
    println!(
        "RISC push (password change): switch to needs_reauth in {detected:?}; the alert follows {:?} of quiet later",
        relink_core::alerts::PUSHED_QUIET.to_std().unwrap()
    );
    assert_eq!(rig.channel_now(&other).await.health, Health::Healthy, "another person's channel is left alone");

    let started = Instant::now();
    rig.sim.revoke_app(Provider::Youtube, "yt-erin").unwrap();
    rig.until_disconnected(&[&other]).await;
    println!("RISC push (app access removed): switch to needs_reauth in {:?}", started.elapsed());
    assert_eq!(rig.sim.google_risc_pushes(), (3, 3), "every push was accepted once");
}

/// Every way a SET can be wrong: 401 with an RFC 8935 error, no receipt, no channel due.
async fn forged_misaddressed_stale_replayed_or_malformed_events_are_refused_and_change_nothing(db: TestStore) {
    let rig = Rig::new(db, None).await;
    let team = rig.team("Acme").await;
    let youtube = rig.channel(&team, Provider::Youtube, "yt-dana", "dana").await;
    rig.settle().await;
    let sub = youtube.external_account_id.as_str();

    // One genuine delivery first: accepted, the channel is due and then checked (still healthy).
    let genuine = rig.event(EventType::SessionsRevoked, sub).sign(TestKey::Served).unwrap();
    assert_eq!(rig.post(&genuine).await.0, StatusCode::ACCEPTED);
    assert!(rig.channel_now(&youtube).await.next_check_at <= rig.now(), "a true event makes the channel due");
    rig.settle().await;
    let before = rig.channel_now(&youtube).await;
    assert_eq!(before.health, Health::Healthy);
    assert!(before.next_check_at > rig.now());

    let now = rig.now();
    let event = rig.event(EventType::AccountDisabled, sub);
    let changed = |change: &dyn Fn(&mut SecurityEvent)| {
        let mut event = event.clone();
        change(&mut event);
        event.sign(TestKey::Served).unwrap()
    };
    let refusals: Vec<(&str, String, &str)> = vec![
        ("a replay", genuine.clone(), "invalid_request"),
        ("a forged signature", event.sign(TestKey::Unpublished).unwrap(), "invalid_key"),
        ("an unknown key id", changed(&|e| e.kid = Some("someone-elses-key".into())), "invalid_key"),
        ("no key id", changed(&|e| e.kid = None), "invalid_request"),
        ("another app's audience", changed(&|e| e.audience = json!("another-app")), "invalid_audience"),
        ("another issuer", changed(&|e| e.issuer = "https://accounts.example.com/".into()), "invalid_issuer"),
        ("a day-old token", changed(&|e| e.issued_at = now - chrono::Duration::hours(25)), "invalid_request"),
        ("a token from the future", changed(&|e| e.issued_at = now + chrono::Duration::hours(1)), "invalid_request"),
        ("a token with its payload swapped", swap_payload(&event.sign(TestKey::Served).unwrap()), "invalid_key"),
        ("garbage", "not a token at all".to_owned(), "invalid_request"),
        ("an empty body", String::new(), "invalid_request"),
        ("an unsigned token", unsigned(&event), "invalid_request"),
    ];
    for (what, body, err) in refusals {
        let (status, answer) = rig.post(&body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(answer["err"], err, "{what}: {answer}");
        assert!(answer["description"].is_string(), "{what}: {answer}");
        let after = rig.channel_now(&youtube).await;
        assert_eq!((&after.health, after.next_check_at), (&before.health, before.next_check_at), "{what}");
    }
    // None of the refused tokens was recorded: the same event, genuinely signed, is accepted.
    assert_eq!(rig.post(&event.sign(TestKey::Served).unwrap()).await.0, StatusCode::ACCEPTED);
}

/// The same SET with the payload of another one: the signature no longer matches.
fn swap_payload(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let other = SecurityEvent::new(EventType::AccountPurged, "someone-else", CLIENT_ID, Utc::now())
        .sign(TestKey::Served)
        .unwrap();
    let other_payload = other.split('.').nth(1).unwrap();
    format!("{}.{}.{}", parts[0], other_payload, parts[2])
}

/// `alg: none` with the claims of `event`.
fn unsigned(event: &SecurityEvent) -> String {
    use base64::Engine as _;
    let encode = |value: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    let header = encode(json!({ "alg": "none", "kid": relink_simulator::risc::SERVED_KID }));
    let claims = encode(json!({
        "iss": event.issuer, "aud": event.audience, "iat": event.issued_at.timestamp(),
        "jti": event.jti, "events": event.events,
    }));
    format!("{header}.{claims}.")
}

/// Google's keys cannot be fetched: 503 (deliver again later) and nothing recorded, so the
/// same event delivered again once the keys are back is accepted and acted on.
async fn a_key_set_that_cannot_be_fetched_answers_503_and_loses_nothing(db: TestStore) {
    let rig = Rig::new(db, None).await;
    let team = rig.team("Acme").await;
    let youtube = rig.channel(&team, Provider::Youtube, "yt-dana", "dana").await;
    rig.settle().await;
    let set = rig.event(EventType::TokensRevoked, youtube.external_account_id.as_str()).sign(TestKey::Served).unwrap();

    rig.sim.set_google_certs_down(true);
    let (status, answer) = rig.post(&set).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert_eq!(answer["err"], "temporarily_unavailable");
    assert!(rig.channel_now(&youtube).await.next_check_at > rig.now(), "nothing changed");

    rig.sim.set_google_certs_down(false);
    assert_eq!(rig.post(&set).await.0, StatusCode::ACCEPTED, "the retry is not taken for a replay");
    assert!(rig.channel_now(&youtube).await.next_check_at <= rig.now(), "the retried event made the channel due");
}

/// A key set at an address where nothing listens is as unavailable as one answering 503.
async fn a_key_set_nobody_serves_answers_503(db: TestStore) {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/certs", closed.local_addr().unwrap())).unwrap();
    drop(closed);
    let rig = Rig::new(db, Some(url)).await;
    let set = rig.event(EventType::TokensRevoked, "yt-dana").sign(TestKey::Served).unwrap();
    assert_eq!(rig.post(&set).await.0, StatusCode::SERVICE_UNAVAILABLE);
}

/// A verification event (what `stream:verify` asks Google to send) and events relink does not
/// act on are accepted and change nothing.
async fn verification_and_other_events_are_accepted_and_change_nothing(db: TestStore) {
    let rig = Rig::new(db, None).await;
    let team = rig.team("Acme").await;
    let youtube = rig.channel(&team, Provider::Youtube, "yt-dana", "dana").await;
    rig.settle().await;
    let before = rig.channel_now(&youtube).await.next_check_at;
    let sub = youtube.external_account_id.as_str();
    for set in [
        rig.event(EventType::Verification, "state-from-stream-verify"),
        rig.event(EventType::AccountEnabled, sub),
        // A refresh token named by its hash: relink cannot map it without opening every token.
        rig.event(EventType::TokenRevoked, "aGFzaCBvZiBhIHJlZnJlc2ggdG9rZW4"),
        SecurityEvent {
            events: json!({ "https://schemas.openid.net/secevent/risc/event-type/something-new": {} }),
            ..rig.event(EventType::Verification, "x")
        },
    ] {
        let (status, body) = rig.post(&set.sign(TestKey::Served).unwrap()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{:?}: {body}", set.events);
        assert_eq!(rig.channel_now(&youtube).await.next_check_at, before, "{:?}", set.events);
    }
}

/// Google's key set, counting how often it is fetched.
async fn counting_key_set() -> (Url, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let fetches = Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    let app = axum::Router::new().route(
        "/certs",
        axum::routing::get(move || async move {
            counted.fetch_add(1, Ordering::SeqCst);
            axum::Json(relink_simulator::risc::jwks())
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/certs", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, fetches)
}

/// A flood of tokens naming keys nobody published costs one fetch of Google's key set a minute,
/// and a known key none.
#[tokio::test]
async fn unknown_key_ids_fetch_the_key_set_at_most_once_a_minute() {
    use std::sync::atomic::Ordering;
    let db = TestStore::open(relink_core::store::Engine::Sqlite).await;
    let (url, fetches) = counting_key_set().await;
    let rig = Rig::with_refetch(db, Some(url), Duration::from_secs(60)).await;
    let event = rig.event(EventType::TokensRevoked, "yt-dana");
    assert_eq!(rig.post(&event.sign(TestKey::Served).unwrap()).await.0, StatusCode::ACCEPTED);
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "the first token fetches the key set");
    for n in 0..20 {
        let forged =
            SecurityEvent { kid: Some(format!("made-up-{n}")), ..rig.event(EventType::TokensRevoked, "yt-dana") };
        let (status, answer) = rig.post(&forged.sign(TestKey::Served).unwrap()).await;
        assert_eq!((status, answer["err"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_key")));
    }
    let known = rig.event(EventType::SessionsRevoked, "yt-dana");
    assert_eq!(rig.post(&known.sign(TestKey::Served).unwrap()).await.0, StatusCode::ACCEPTED);
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "no more fetches within the minute");
}

both_engines!(
    each_google_account_event_gets_the_accounts_channels_checked_at_once,
    a_google_switch_reaches_the_alert_within_seconds,
    forged_misaddressed_stale_replayed_or_malformed_events_are_refused_and_change_nothing,
    a_key_set_that_cannot_be_fetched_answers_503_and_loses_nothing,
    a_key_set_nobody_serves_answers_503,
    verification_and_other_events_are_accepted_and_change_nothing,
);
