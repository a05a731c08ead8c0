//! Push signals end to end, on SQLite and PostgreSQL: the provider simulator sends what the
//! network sends when its switches fire, relink's web server verifies it, and the running
//! checker (woken, not waiting for its next idle tick) finds the truth with the network.
//!
//! Meta: removing the app sends the deauthorize callback, and the person's Page and its
//! Instagram-via-Facebook sibling are reported together within seconds; a forged, re-signed,
//! stale or replayed `signed_request` is a 401 that changes no row; a data deletion request
//! deletes the person's tokens and leaves a status page in three languages that names nobody.

// These are test bodies run through `both_engines!` (not `#[test]` functions clippy recognises):
// a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use relink_core::alerts::{AlertKind, AlertsConfig, Destination};
use relink_core::checker::{CheckerConfig, Progress, run_checker_observed};
use relink_core::opaque::{OpaqueToken, api_key_text};
use relink_core::provider::Providers;
use relink_core::store::NewMember;
use relink_core::token::TokenSet;
use relink_core::{ApiKeyName, Channel, Health, Member, MemberName, Provider, Reason, Role, Team};
use relink_simulator::{AccountOptions, CLIENT_ID, CLIENT_SECRET, Hooks, Issued, Simulator, Switch};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::app::TestApp;
use crate::support::{TestStore, both_engines, new_channel};

both_engines!(
    removing_the_app_reports_the_page_and_its_instagram_together_within_seconds,
    a_forged_stale_or_replayed_deauthorize_is_refused_and_changes_nothing,
    a_data_deletion_request_deletes_the_persons_tokens_and_leaves_a_status_page,
    a_data_deletion_by_the_previous_grantor_spares_a_page_reconnected_since,
);

/// How long a test waits for the checker before it fails (never a pause: it waits on events).
const PATIENCE: Duration = Duration::from_secs(20);

/// A store, the simulator sending Meta's callbacks to relink's web server, and a checker that
/// runs in the background the way `relink serve` runs it, all on the test clock: a [`TestApp`]
/// with a team and its admin.
struct Rig {
    app: TestApp,
    team: Team,
    alice: Member,
}

impl std::ops::Deref for Rig {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Rig {
    async fn new(db: TestStore) -> Self {
        let sim = Simulator::new(Arc::new(db.clock.clone())).spawn().await.unwrap();
        let providers =
            Providers::all_at(sim.base_url(), CLIENT_ID, CLIENT_SECRET, 1_000.0).timeout(Duration::from_secs(5));
        // The claimer sleeps an hour when idle: only a wake makes it look sooner.
        let config =
            CheckerConfig { owner: "signals".into(), idle: Duration::from_secs(3_600), ..CheckerConfig::default() };
        let alerts = AlertsConfig { operators: Destination::TelegramChat(-999), ..AlertsConfig::default() };
        let app = TestApp::builder(db)
            .simulator(sim)
            .providers(providers)
            .checker(config)
            .tune(|app| app.alerts(Some(alerts)))
            .spawn()
            .await;
        app.sim.set_hooks(Hooks::relink_at(&app.base));
        let db = &app.db;
        let team = db.team("Acme").await;
        let alice = NewMember {
            team_id: team.id,
            name: MemberName::parse("Alice").unwrap(),
            role: Role::Admin,
            discord_user_id: None,
            telegram_user_id: None,
        };
        let alice = db.store.add_member(&alice, db.now()).await.unwrap();
        Self { app, team, alice }
    }

    fn sim(&self) -> &Simulator {
        self.sim.simulator()
    }

    /// A simulator account of `user` and its channel in relink, authorised by Alice.
    async fn connect(&self, provider: Provider, account: &str, user: &str) -> Channel {
        let issued = self.sim().add_account(provider, account, AccountOptions::user(user)).unwrap();
        let channel = new_channel(&self.team, provider, account, Some(self.alice.id));
        self.db.store.add_channel(&channel, &token_set(&issued), self.db.now()).await.unwrap()
    }

    /// Checks everything due now, once (the checks learn each channel's grantor).
    async fn check_all(&self) {
        while self.checker.check_due(self.db.now()).await.unwrap().claimed > 0 {}
    }

    async fn health(&self, channel: &Channel) -> Health {
        self.db.store.channel(channel.id).await.unwrap().health
    }

    /// Every channel row as text, to compare before and after a refused request.
    async fn rows(&self) -> Vec<String> {
        let channels = self.db.store.channels(Some(self.team.id)).await.unwrap();
        channels.iter().map(|c| format!("{c:?}")).collect()
    }

    async fn post_signed(&self, path: &str, signed_request: &str) -> (StatusCode, Value) {
        let body =
            url::form_urlencoded::Serializer::new(String::new()).append_pair("signed_request", signed_request).finish();
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Runs the checker in the background; each written group of checks is reported.
    fn run_checker(&self) -> mpsc::UnboundedReceiver<()> {
        let (written, rx) = mpsc::unbounded_channel();
        let observe = move |progress: Progress| {
            if let Progress::Written(_) = progress {
                let _ = written.send(());
            }
        };
        let run = run_checker_observed(self.checker.clone(), self.db.clock.clone(), self.shutdown.clone(), observe);
        tokio::spawn(run);
        rx
    }
}

fn token_set(issued: &Issued) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(issued.access_token.clone()),
        refresh_token: issued.refresh_token.clone().map(SecretString::from),
        expires_at: issued.expires_at,
        scopes: relink_core::Scopes::default(),
        refresh_expires_at: issued.refresh_expires_at,
    }
}

fn signed(payload: &Value, secret: &str) -> String {
    relink_simulator::sign_meta_request(payload, secret)
}

async fn removing_the_app_reports_the_page_and_its_instagram_together_within_seconds(db: TestStore) {
    let rig = Rig::new(db).await;
    let page = rig.connect(Provider::Facebook, "alice-page", "alice-fb").await;
    let instagram = rig.connect(Provider::InstagramBusiness, "alice-ig", "alice-fb").await;
    let other = rig.connect(Provider::Facebook, "bob-page", "bob-fb").await;
    rig.check_all().await;
    let window = AlertsConfig::default().grouping_window;
    let engine = rig.engine.clone().expect("the rig's alerts engine");
    engine.pass(rig.db.now()).await.unwrap();
    rig.db.clock.advance(chrono::Duration::hours(1));
    let mut written = rig.run_checker();

    // Alice removes relink's app on Facebook: Meta calls the deauthorize URL.
    let switched = Instant::now();
    rig.sim().apply(Provider::Facebook, "alice-page", Switch::RevokeApp).unwrap();
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            let healths = (rig.health(&page).await, rig.health(&instagram).await);
            if matches!(healths, (Health::NeedsReauth(_), Health::NeedsReauth(_))) {
                return healths;
            }
            written.recv().await;
        }
    })
    .await
    .expect("both channels are checked within seconds of the callback");
    let checked = switched.elapsed();
    assert_eq!(found, (Health::NeedsReauth(Reason::AppRevoked), Health::NeedsReauth(Reason::AppRevoked)));
    assert_eq!(rig.health(&other).await, Health::Healthy, "another person's Page is not touched");

    // The alerts engine runs as it does in `relink serve`; both channels are in one alert.
    let at = rig.db.now();
    engine.pass(at).await.unwrap();
    let mut alerted = None;
    while rig.db.now() <= at + window * 2 {
        rig.db.clock.advance(chrono::Duration::seconds(1));
        engine.pass(rig.db.now()).await.unwrap();
        let alerts = rig.db.store.alerts(Some(rig.team.id), 10).await.unwrap();
        if alerted.is_none() && alerts.iter().any(|a| a.kind == AlertKind::Disconnected) {
            alerted = Some((switched.elapsed(), rig.db.now() - at));
        }
    }
    let alerts = rig.db.store.alerts(Some(rig.team.id), 10).await.unwrap();
    let shape: Vec<(AlertKind, usize)> = alerts.iter().map(|a| (a.kind, a.channels.len())).collect();
    assert_eq!(shape, [(AlertKind::Disconnected, 2)], "{alerts:#?}");
    let (real, grouping) = alerted.unwrap();
    eprintln!(
        "facebook deauthorize ({:?}): switch → both channels needs_reauth in {checked:?}; alert written {real:?} after \
         the switch, of which the test clock skipped {} s of quiet",
        rig.db.engine,
        grouping.num_seconds()
    );
    assert!(
        grouping <= relink_core::alerts::PUSHED_QUIET + chrono::Duration::seconds(1),
        "a pushed disconnection waits its short quiet, not the grouping window: {grouping}"
    );
    assert!(checked < Duration::from_secs(10), "found in {checked:?}");
}

async fn a_forged_stale_or_replayed_deauthorize_is_refused_and_changes_nothing(db: TestStore) {
    let rig = Rig::new(db).await;
    rig.connect(Provider::Facebook, "alice-page", "alice-fb").await;
    rig.connect(Provider::InstagramBusiness, "alice-ig", "alice-fb").await;
    rig.check_all().await;
    rig.db.clock.advance(chrono::Duration::hours(1));
    let now = rig.db.now().timestamp();
    let payload = |algorithm: &str, issued_at: i64| json!({"algorithm": algorithm, "issued_at": issued_at, "user_id": "alice-fb"});
    let before = rig.rows().await;
    let forged: [(&str, String); 6] = [
        ("another app's secret", signed(&payload("HMAC-SHA256", now), "not-relinks-secret")),
        ("an empty secret", signed(&payload("HMAC-SHA256", now), "")),
        ("another algorithm", signed(&payload("HMAC-SHA1", now), CLIENT_SECRET)),
        ("a day and a second old", signed(&payload("HMAC-SHA256", now - 86_401), CLIENT_SECRET)),
        ("six minutes ahead", signed(&payload("HMAC-SHA256", now + 360), CLIENT_SECRET)),
        ("no user", signed(&json!({"algorithm": "HMAC-SHA256", "issued_at": now}), CLIENT_SECRET)),
    ];
    for (what, signed_request) in &forged {
        for path in ["hooks/facebook/deauthorize", "hooks/facebook/data-deletion"] {
            let (status, body) = rig.post_signed(path, signed_request).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what} to {path}: {body}");
            assert!(body["error"]["message"].is_string(), "{what}: a short JSON error: {body}");
        }
    }
    let (status, _) = rig.post_signed("hooks/facebook/deauthorize", "not a signed request").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let too_big = "a".repeat(64 * 1024);
    let (status, _) = rig.post_signed("hooks/facebook/deauthorize", &too_big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(rig.rows().await, before, "no refused request changed a row");

    // The genuine one makes both channels due now; the same one again is a replay.
    let genuine = rig.sim().signed_request("alice-fb");
    let (status, body) = rig.post_signed("hooks/facebook/deauthorize", &genuine).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = rig.rows().await;
    assert_ne!(after, before);
    let (status, body) = rig.post_signed("hooks/facebook/deauthorize", &genuine).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(rig.rows().await, after, "a replay changes nothing");
}

async fn a_data_deletion_request_deletes_the_persons_tokens_and_leaves_a_status_page(db: TestStore) {
    let rig = Rig::new(db).await;
    let page = rig.connect(Provider::Facebook, "alice-page", "alice-fb").await;
    let instagram = rig.connect(Provider::InstagramBusiness, "alice-ig", "alice-fb").await;
    let other = rig.connect(Provider::Facebook, "bob-page", "bob-fb").await;
    rig.check_all().await;
    let secret = OpaqueToken::generate();
    rig.db
        .store
        .create_api_key(rig.team.id, &ApiKeyName::parse("publisher").unwrap(), &secret, rig.db.now())
        .await
        .unwrap();
    let key = api_key_text(&secret);

    let answer = rig.sim().request_data_deletion(Provider::Facebook, "alice-page").await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let code = answer.body["confirmation_code"].as_str().unwrap().to_owned();
    let status_url = answer.body["url"].as_str().unwrap().to_owned();
    assert_eq!(status_url, rig.url(&format!("hooks/facebook/deletion/{code}")));
    assert!(
        code.len() >= 64 && code.chars().all(|c| c.is_ascii_alphanumeric()),
        "unguessable and alphanumeric: {code}"
    );

    for channel in [&page, &instagram] {
        assert_eq!(rig.health(channel).await, Health::NeedsReauth(Reason::AppRevoked));
        let tokens = rig.db.store.tokens(channel.id).await.unwrap();
        assert!(secrecy::ExposeSecret::expose_secret(&tokens.access_token).is_empty(), "no token is kept");
        let url = rig.url(&format!("api/v1/channels/{}/access-token", channel.id));
        let refused = rig.http.post(&url).bearer_auth(&key).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::CONFLICT);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "needs_reconnect", "{body}");
    }
    assert_eq!(rig.health(&other).await, Health::Healthy);

    for (language, words) in [("en", "2 connections"), ("it", "2 collegamenti"), ("ja", "2 件の接続")] {
        let page = rig.http.get(&status_url).header("accept-language", language).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("lang=\"{language}\"")) && html.contains(words), "{language}: {html}");
        for name in ["alice", "Alice", "bob"] {
            assert!(!html.contains(name), "the page names nobody: {html}");
        }
    }

    // The same request again is a replay; a later one gets another code; a code nobody was
    // given is a 404.
    let replayed = rig.post_signed("hooks/facebook/data-deletion", &rig.sim().signed_request("alice-fb")).await;
    assert_eq!(replayed.0, StatusCode::UNAUTHORIZED, "{}", replayed.1);
    rig.db.clock.advance(chrono::Duration::seconds(1));
    let again = rig.sim().request_data_deletion(Provider::Facebook, "alice-page").await.unwrap();
    assert_ne!(again.body["confirmation_code"].as_str().unwrap(), code);
    let unknown = hex_code();
    for path in [format!("hooks/facebook/deletion/{unknown}"), "hooks/facebook/deletion/1".into()] {
        let got = rig.http.get(rig.url(&path)).send().await.unwrap();
        assert_eq!(got.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

/// A well-formed confirmation code nobody was given.
fn hex_code() -> String {
    OpaqueToken::generate().hash().iter().map(|b| format!("{b:02x}")).collect()
}

async fn a_data_deletion_by_the_previous_grantor_spares_a_page_reconnected_since(db: TestStore) {
    let rig = crate::web::WebRig::new(db).await;
    rig.sim().set_hooks(Hooks::relink_at(&rig.base));
    rig.sim().add_account(Provider::Facebook, "alice-own-page", AccountOptions::user("alice-fb")).unwrap();
    // A check learned that Alice granted the shared Page; then it died and was reconnected
    // (by whoever manages it now: relink learns who at the next check).
    let shared = rig.channel(Provider::Facebook, "shared-page").await;
    let sql = format!("UPDATE channels SET grantor_id = 'alice-fb' WHERE id = {}", shared.id);
    assert_eq!(rig.db.raw().await.execute(&sql).await, 1);
    let now = rig.db.now();
    rig.db.store.set_health(shared.id, &Health::NeedsReauth(Reason::AppRevoked), None, now).await.unwrap();
    rig.sim().set_login_as(Provider::Facebook, "shared-page").unwrap();
    let link = rig.link(&shared).await;
    let (authorize, cookie) = rig.press(&link).await;
    let callback = rig.authorize(&authorize).await;
    let (status, _, page) = rig.finish(&callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");

    // Alice asks Meta to have her data deleted before the next check: the new grant is not hers.
    let answer = rig.sim().request_data_deletion(Provider::Facebook, "alice-own-page").await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(rig.db.store.channel(shared.id).await.unwrap().health, Health::Healthy);
    let tokens = rig.db.store.tokens(shared.id).await.unwrap();
    assert!(!secrecy::ExposeSecret::expose_secret(&tokens.access_token).is_empty(), "the new grant's token is kept");
}
