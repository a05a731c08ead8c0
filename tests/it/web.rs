//! The web server on SQLite and PostgreSQL, driven over HTTP the way a browser would, against the
//! provider simulator: a reconnect link completes the OAuth flow; every way of cheating or
//! failing it is refused with nothing overwritten (a button posted from another site, a link
//! whose member left or was demoted, a leaked `state` in another browser); the API wants its team's key and names the
//! field of bad input; every path of the OpenAPI document answers.

// These are test bodies run through `both_engines!` (not `#[test]` functions clippy recognises):
// a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use relink_core::checker::CheckerConfig;
use relink_core::domain::Event;
use relink_core::opaque::{OpaqueToken, api_key_text};
use relink_core::provider::Providers;
use relink_core::reconnect::mint_link;
use relink_core::store::NewMember;
use relink_core::supervise::{self, Backoff, Task};
use relink_core::token::TokenSet;
use relink_core::{ApiKeyName, Channel, Health, Member, MemberName, Provider, Reason, Role, Team};
use relink_simulator::{AccountOptions, Running, Simulator};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::support::app::TestApp;
use crate::support::{TestStore, both_engines, new_channel};

fn checker_config() -> CheckerConfig {
    CheckerConfig { owner: "web-test".into(), ..CheckerConfig::default() }
}

/// A store, the simulator, and relink's web server on loopback, all on the test clock: a
/// [`TestApp`] with a team and its admin.
pub struct WebRig {
    pub app: TestApp,
    pub team: Team,
    /// The team's admin, whom the rig's links are made for.
    pub admin: Member,
}

impl std::ops::Deref for WebRig {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl WebRig {
    pub async fn new(db: TestStore) -> Self {
        Self::from_app(TestApp::builder(db).checker(checker_config()).spawn().await).await
    }

    pub async fn with_providers(db: TestStore, sim: Running, providers: Providers) -> Self {
        let app = TestApp::builder(db).simulator(sim).providers(providers).checker(checker_config()).spawn().await;
        Self::from_app(app).await
    }

    async fn from_app(app: TestApp) -> Self {
        let db = &app.db;
        let team = db.team("Acme").await;
        let admin = NewMember {
            team_id: team.id,
            name: MemberName::parse("Ada").expect("a name"),
            role: Role::Admin,
            discord_user_id: None,
            telegram_user_id: None,
        };
        let admin = db.store.add_member(&admin, db.now()).await.expect("add the admin");
        Self { app, team, admin }
    }

    pub fn sim(&self) -> &Simulator {
        self.sim.simulator()
    }

    /// A simulator account and its channel in relink, with the tokens the simulator issued.
    pub async fn channel(&self, provider: Provider, account: &str) -> Channel {
        let issued = self.sim().add_account(provider, account, AccountOptions::default()).expect("add the account");
        let tokens = TokenSet {
            access_token: issued.access_token.clone().into(),
            refresh_token: issued.refresh_token.clone().map(Into::into),
            expires_at: issued.expires_at,
            scopes: relink_core::Scopes::default(),
            refresh_expires_at: issued.refresh_expires_at,
        };
        let channel = new_channel(&self.team, provider, account, None);
        self.db.store.add_channel(&channel, &tokens, self.db.now()).await.expect("add the channel")
    }

    pub async fn link(&self, channel: &Channel) -> String {
        let minted = mint_link(&self.db.store, &self.settings.links, channel.id, Some(self.admin.id), self.db.now())
            .await
            .expect("mint a link");
        minted.url.expose_secret().to_owned()
    }

    /// The button as a browser posts it from relink's page (`Origin`, `Sec-Fetch-Site`).
    pub fn button(&self, link: &str) -> reqwest::RequestBuilder {
        let origin = self.base.origin().ascii_serialization();
        self.http.post(link).header(ORIGIN, origin).header("sec-fetch-site", "same-origin")
    }

    /// The button: returns the redirect to the network and the browser-binding cookie.
    pub async fn press(&self, link: &str) -> (String, String) {
        let response = self.button(link).send().await.expect("POST the link");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap_or_default());
        let cookie =
            response.headers()[SET_COOKIE].to_str().expect("text").split(';').next().expect("a pair").to_owned();
        (location(&response), cookie)
    }

    /// The network's authorize step: where it sends the browser back.
    pub async fn authorize(&self, url: &str) -> String {
        let response = self.http.get(url).send().await.expect("GET authorize");
        assert_eq!(response.status(), StatusCode::FOUND, "{}", response.text().await.unwrap_or_default());
        location(&response)
    }

    /// The callback with (or without) the cookie; follows the redirect to the outcome page.
    pub async fn finish(&self, callback: &str, cookie: Option<&str>) -> (StatusCode, String, String) {
        let mut request = self.http.get(callback);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.expect("GET the callback");
        if response.status() != StatusCode::SEE_OTHER {
            let status = response.status();
            return (status, String::new(), response.text().await.expect("a page"));
        }
        let result = location(&response);
        let page = self.http.get(&result).send().await.expect("GET the result");
        (page.status(), result, page.text().await.expect("a page"))
    }

    pub async fn access_token(&self, channel: &Channel) -> String {
        self.db.store.tokens(channel.id).await.expect("tokens").access_token.expose_secret().to_owned()
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().expect("a text Location").to_owned()
}

both_engines!(
    a_reconnect_link_completes_the_flow_and_the_channel_is_healthy,
    every_refusal_leaves_the_channel_untouched,
    a_different_account_is_refused_and_noted_for_the_incident,
    the_api_wants_its_teams_key_and_names_bad_fields,
    a_background_task_that_panics_is_counted_and_readyz_says_503_while_it_is_down,
    times_a_hundred_million_days_ahead_and_oversized_bodies_get_the_apis_json_error,
    a_button_posted_from_another_site_is_refused_and_the_link_stays_usable,
    a_link_stops_working_when_its_member_is_removed_or_demoted,
    a_leaked_state_in_another_browser_leaves_the_flow_to_the_person_who_started_it,
    a_team_cannot_register_another_accounts_channel_with_its_own_or_a_junk_token,
    a_pre_flight_check_answers_the_live_verdict,
    a_press_during_a_writer_outage_says_try_again_and_leaves_the_link_usable,
);

async fn a_press_during_a_writer_outage_says_try_again_and_leaves_the_link_usable(db: TestStore) {
    let rig = WebRig::new(db).await;
    let channel = rig.channel(Provider::X, "brand").await;
    let link = rig.link(&channel).await;
    let mut raw = rig.db.raw().await;
    crate::presses::writer_outage(&rig.db, &mut raw).await;
    let answer = rig.button(&link).send().await.expect("POST the link");
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.headers().get(LOCATION).is_none() && answer.headers().get(SET_COOKIE).is_none());
    assert!(answer.text().await.expect("a page").contains("relink is having trouble"));
    crate::presses::writer_back(&rig.db, &mut raw).await;
    let (redirect, _) = rig.press(&link).await;
    assert!(redirect.contains("state="), "the same link starts its flow once the writer is back: {redirect}");
}

async fn a_pre_flight_check_answers_the_live_verdict(db: TestStore) {
    let rig = WebRig::new(db).await;
    let page = rig.channel(Provider::Facebook, "preflight-page").await;
    let secret = OpaqueToken::generate();
    let name = ApiKeyName::parse("publisher").unwrap();
    rig.db.store.create_api_key(rig.team.id, &name, &secret, rig.db.now()).await.unwrap();
    let key = api_key_text(&secret);
    let check = rig.url(&format!("api/v1/channels/{}/check", page.id));

    let fine = rig.http.post(&check).bearer_auth(&key).send().await.unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
    let body: Value = fine.json().await.unwrap();
    assert_eq!((body["id"].as_i64(), body["health"].as_str()), (Some(page.id.0), Some("healthy")));
    let next = rig.db.store.channel(page.id).await.unwrap().next_check_at;
    assert!(next > rig.db.now() + chrono::Duration::hours(1), "a channel checked on demand is not left due: {next}");

    // Revoked a moment ago: the stored health still says healthy, the pre-flight does not.
    rig.sim().revoke_app(Provider::Facebook, "preflight-page").unwrap();
    let dead = rig.http.post(&check).bearer_auth(&key).send().await.unwrap();
    assert_eq!(dead.status(), StatusCode::CONFLICT);
    let error: Value = dead.json().await.unwrap();
    assert_eq!(
        (error["error"]["code"].as_str(), error["error"]["reason"].as_str()),
        (Some("needs_reconnect"), Some("app_revoked"))
    );
    let stored = rig.db.store.channel(page.id).await.unwrap().health;
    assert_eq!(stored, Health::NeedsReauth(Reason::AppRevoked), "the verdict is written like any check's");

    let other = rig.db.team("Other").await;
    let theirs = OpaqueToken::generate();
    rig.db.store.create_api_key(other.id, &name, &theirs, rig.db.now()).await.unwrap();
    let refused = rig.http.post(&check).bearer_auth(api_key_text(&theirs)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}

async fn times_a_hundred_million_days_ahead_and_oversized_bodies_get_the_apis_json_error(db: TestStore) {
    let rig = WebRig::new(db).await;
    let channel = rig.channel(Provider::Linkedin, "li-1").await;
    let secret = OpaqueToken::generate();
    let name = ApiKeyName::parse("publisher").unwrap();
    rig.db.store.create_api_key(rig.team.id, &name, &secret, rig.db.now()).await.unwrap();
    let key = api_key_text(&secret);
    let activity = rig.url(&format!("api/v1/channels/{}/activity", channel.id));
    let posts = rig.url(&format!("api/v1/channels/{}/posts", channel.id));
    let channels = rig.url("api/v1/channels");
    let far = "+100000000d";
    let new_channel = |tokens: Value| json!({ "provider": "x", "account_id": "x-1", "name": "X", "tokens": tokens });
    let cases = [
        (&activity, json!({ "at": far }), "at"),
        (&posts, json!({ "due_at": far }), "due_at"),
        (&channels, new_channel(json!({ "access_token": "t", "expires_in": i64::MAX })), "tokens.expires_in"),
        (&channels, new_channel(json!({ "access_token": "t", "expires_at": far })), "tokens.expires_at"),
        (
            &channels,
            new_channel(json!({ "access_token": "t", "refresh_token": "r", "refresh_token_expires_in": i64::MAX })),
            "tokens.refresh_token_expires_in",
        ),
    ];
    for (url, body, field) in cases {
        let got = rig.http.post(url.as_str()).bearer_auth(&key).json(&body).send().await.unwrap();
        assert_eq!(got.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = got.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    // Bodies past the limit, unknown paths and methods: the same JSON shape.
    let huge = vec![b' '; 3 * 1024 * 1024];
    for url in [&activity, &posts] {
        let got = rig.http.post(url.as_str()).bearer_auth(&key).body(huge.clone()).send().await.unwrap();
        assert_eq!(got.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let error: Value = got.json().await.unwrap();
        assert_eq!(
            (error["error"]["code"].as_str(), error["error"]["field"].as_str()),
            (Some("too_large"), Some("body"))
        );
    }
    let wrong_method = rig.http.put(&channels).bearer_auth(&key).send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.json::<Value>().await.unwrap()["error"]["code"], "method_not_allowed");
    let nowhere = rig.http.get(rig.url("api/v1/nowhere")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    assert_eq!(nowhere.json::<Value>().await.unwrap()["error"]["code"], "not_found");
    assert_eq!(rig.db.store.posts(rig.team.id, Some(channel.id), false).await.unwrap().len(), 0, "nothing stored");
}

async fn a_background_task_that_panics_is_counted_and_readyz_says_503_while_it_is_down(db: TestStore) {
    let rig = WebRig::new(db).await;
    let ready = rig.http.get(rig.url("readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let stop = CancellationToken::new();
    // Panics on every run; restarted only after an hour, so it stays down while we look.
    let task = Task::service("doomed_test_task", || async { panic!("a deliberate failure") });
    let backoff = Backoff { first: Duration::from_secs(3_600), max: Duration::from_secs(3_600) };
    let supervisor = supervise::spawn(task, rig.tasks.clone(), stop.clone(), backoff);
    tokio::time::timeout(Duration::from_secs(10), async {
        while rig.tasks.restarts("doomed_test_task") == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the panic is noticed at once");
    let answer = rig.http.get(rig.url("readyz")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["tasks_down"], json!(["doomed_test_task"]), "{body}");
    assert_eq!(body["database"], "ok", "{body}");
    let metrics = rig.http.get(rig.url("metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"relink_task_restarts_total{task="doomed_test_task"}"#), "{metrics}");
    stop.cancel();
    supervisor.await.unwrap();
}

async fn a_reconnect_link_completes_the_flow_and_the_channel_is_healthy(db: TestStore) {
    let rig = WebRig::new(db).await;
    let channel = rig.channel(Provider::X, "brand").await;
    let now = rig.db.now();
    rig.db.store.set_health(channel.id, &Health::NeedsReauth(Reason::PasswordChanged), None, now).await.unwrap();
    let old_access = rig.access_token(&channel).await;
    let link = rig.link(&channel).await;

    // Chat apps fetch links for previews: showing the page twice consumes nothing.
    for _ in 0..2 {
        let page = rig.http.get(&link).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["referrer-policy"], "no-referrer");
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self' http://127.0.0.1"), "{csp}");
        let html = page.text().await.unwrap();
        assert!(html.contains("Reconnect brand page") && html.contains("<form method=\"post\">"), "{html}");
    }

    let (authorize, cookie) = rig.press(&link).await;
    assert!(cookie.starts_with("__Host-relink_flow="), "loopback counts as secure: {cookie}");
    let authorize = Url::parse(&authorize).unwrap();
    let query: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    let get = |k: &str| query.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(get("code_challenge_method").as_deref(), Some("S256"), "X takes PKCE");
    assert_eq!(get("redirect_uri").unwrap(), rig.url("oauth/callback/x"), "built from the public URL");
    let callback = rig.authorize(authorize.as_str()).await;
    let (status, result, page) = rig.finish(&callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("brand page is connected again"), "{page}");
    assert!(!result.contains("code=") && !result.contains("state="), "the outcome lives at a clean URL: {result}");

    let after = rig.db.store.channel(channel.id).await.unwrap();
    assert_eq!(after.health, Health::Healthy);
    let new_access = rig.access_token(&channel).await;
    assert_ne!(new_access, old_access);
    assert_eq!(new_access, rig.sim().tokens(Provider::X, "brand").unwrap().access_token);
    let kinds: Vec<&str> = rig.db.store.channel_events(channel.id).await.unwrap().iter().map(Event::kind).collect();
    assert!(kinds.ends_with(&["health_changed", "reconnected"]), "{kinds:?}");
    let link_again = rig.http.post(&link).send().await.unwrap();
    assert_eq!(link_again.status(), StatusCode::GONE, "single-use");
}

async fn every_refusal_leaves_the_channel_untouched(db: TestStore) {
    let rig = WebRig::new(db).await;
    let channel = rig.channel(Provider::X, "brand").await;
    let before = rig.access_token(&channel).await;
    let untouched = || async {
        assert_eq!(rig.access_token(&channel).await, before, "the tokens were overwritten");
        assert_eq!(rig.db.store.channel(channel.id).await.unwrap().health, Health::Unknown);
    };

    // Unknown and malformed links.
    let unknown = rig.url(&format!("r/{}", OpaqueToken::generate().expose()));
    assert_eq!(rig.http.get(&unknown).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(rig.http.post(&unknown).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(rig.http.get(rig.url("r/not-a-token")).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // An expired link: shown as expired, and the button does nothing.
    let expired = rig.link(&channel).await;
    rig.db.clock.advance(chrono::Duration::hours(25));
    let page = rig.http.get(&expired).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page.text().await.unwrap().contains("This link has expired"));
    assert_eq!(rig.http.post(&expired).send().await.unwrap().status(), StatusCode::GONE);

    // A reused link.
    let link = rig.link(&channel).await;
    let (authorize, cookie) = rig.press(&link).await;
    let reused = rig.http.post(&link).send().await.unwrap();
    assert_eq!(reused.status(), StatusCode::GONE);
    assert!(reused.text().await.unwrap().contains("already used"));

    // A forged state.
    let callback = rig.authorize(&authorize).await;
    let forged = Url::parse(&callback).unwrap();
    let code = forged.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let forged_url = rig.url(&format!("oauth/callback/x?code={code}&state={}", OpaqueToken::generate().expose()));
    let (status, _, page) = rig.finish(&forged_url, Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("cannot be completed"), "{page}");

    // The state from another browser (no cookie, or another cookie): refused.
    let other_cookie = format!("__Host-relink_flow={}", OpaqueToken::generate().expose());
    for cookie in [None, Some(other_cookie.as_str())] {
        let (status, _, page) = rig.finish(&callback, cookie).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
        assert!(page.contains("Finish in the browser you started in"));
    }
    untouched().await;

    // The callback on the wrong network's path (mix-up).
    let (authorize, cookie) = rig.press(&rig.link(&channel).await).await;
    let callback = rig.authorize(&authorize).await.replace("/oauth/callback/x?", "/oauth/callback/pinterest?");
    let (status, _, page) = rig.finish(&callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("wrong network"), "{page}");
    untouched().await;

    // Authorization code injection: flow B's code replayed into flow A (A's state and cookie).
    let (authorize_a, cookie_a) = rig.press(&rig.link(&channel).await).await;
    let (authorize_b, _) = rig.press(&rig.link(&channel).await).await;
    let callback_a = Url::parse(&rig.authorize(&authorize_a).await).unwrap();
    let callback_b = Url::parse(&rig.authorize(&authorize_b).await).unwrap();
    let param = |url: &Url, key: &str| url.query_pairs().find(|(k, _)| k == key).unwrap().1.into_owned();
    let injected =
        rig.url(&format!("oauth/callback/x?code={}&state={}", param(&callback_b, "code"), param(&callback_a, "state")));
    let (status, _, page) = rig.finish(&injected, Some(&cookie_a)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "PKCE binds the code to its flow: {page}");
    assert!(page.contains("did not complete the sign-in"));
    untouched().await;

    // The person cancelled on the network.
    rig.sim().cancel_authorize(Provider::X, "brand").unwrap();
    let (authorize, cookie) = rig.press(&rig.link(&channel).await).await;
    let callback = rig.authorize(&authorize).await;
    assert!(callback.contains("error=access_denied"));
    let (status, _, page) = rig.finish(&callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Reconnection cancelled") && page.contains("Nothing was changed"), "{page}");
    untouched().await;
}

async fn a_button_posted_from_another_site_is_refused_and_the_link_stays_usable(db: TestStore) {
    let rig = WebRig::new(db).await;
    let channel = rig.channel(Provider::X, "brand").await;
    let link = rig.link(&channel).await;
    let origin = rig.base.origin().ascii_serialization();
    let refused = |response: reqwest::Response| async move {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers().get(LOCATION).is_none() && response.headers().get(SET_COOKIE).is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains("This request did not come from relink") && page.contains("The link was not used"));
    };

    // Another site makes the victim's browser submit the button.
    let forged = rig.http.post(&link).header(ORIGIN, "https://evil.example").header("sec-fetch-site", "cross-site");
    refused(forged.send().await.unwrap()).await;
    refused(rig.http.post(&link).header("sec-fetch-site", "same-site").send().await.unwrap()).await;
    refused(rig.http.post(&link).header(ORIGIN, "null").send().await.unwrap()).await;
    let lying = rig.http.post(&link).header(ORIGIN, "https://evil.example").header("sec-fetch-site", "same-origin");
    refused(lying.send().await.unwrap()).await;

    // A browser that vouches with neither header (`Origin: null` says nothing) must return the
    // page's own form token, with the form cookie the page set in that browser.
    let http = &rig.http;
    let open = |link: String| async move {
        let page = http.get(&link).send().await.unwrap();
        let cookie = page.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
        assert!(cookie.starts_with("__Host-relink_form="), "{cookie}");
        let html = page.text().await.unwrap();
        let token = html.split("name=\"form_token\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap();
        (token.to_owned(), cookie)
    };
    let (token, cookie) = open(link.clone()).await;
    let (other_token, other_cookie) = open(rig.link(&channel).await).await;
    let post = |token: &str, cookie: Option<&str>| {
        let mut request = rig
            .http
            .post(&link)
            .header(ORIGIN, "null")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("form_token={token}"));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send()
    };
    refused(rig.http.post(&link).header(COOKIE, &cookie).send().await.unwrap()).await;
    refused(post(&other_token, Some(&cookie)).await.unwrap()).await;
    refused(post(&token.replace('.', "x"), Some(&cookie)).await.unwrap()).await;
    // Whoever holds the link can load its page and read a token, but the victim's browser
    // does not carry the cookie that token was made for.
    refused(post(&token, None).await.unwrap()).await;
    refused(post(&token, Some(&other_cookie)).await.unwrap()).await;
    assert_eq!(rig.http.get(&link).send().await.unwrap().status(), StatusCode::OK, "the link is still usable");
    let accepted = post(&token, Some(&cookie)).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);

    // A browser that says the post came from relink's own origin needs no token.
    let link = rig.link(&channel).await;
    let own = rig.http.post(&link).header(ORIGIN, origin).header("sec-fetch-site", "same-origin");
    assert_eq!(own.send().await.unwrap().status(), StatusCode::SEE_OTHER);
}

async fn a_link_stops_working_when_its_member_is_removed_or_demoted(db: TestStore) {
    let rig = WebRig::new(db).await;
    let channel = rig.channel(Provider::X, "brand").await;
    let before = rig.access_token(&channel).await;
    let refused = |response: reqwest::Response| async move {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers().get(LOCATION).is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains("This link no longer works") && page.contains("no longer has a role"), "{page}");
    };
    let link = rig.link(&channel).await;
    let mut raw = rig.db.raw().await;
    for role in ["editor", "viewer"] {
        raw.execute(&format!("UPDATE members SET role = '{role}' WHERE id = {}", rig.admin.id)).await;
        refused(rig.http.get(&link).send().await.unwrap()).await;
        refused(rig.button(&link).send().await.unwrap()).await;
    }
    raw.execute(&format!("UPDATE members SET role = 'admin' WHERE id = {}", rig.admin.id)).await;
    let removed = rig.link(&channel).await;
    rig.db.store.remove_member(rig.admin.id).await.unwrap();
    refused(rig.http.get(&removed).send().await.unwrap()).await;
    refused(rig.button(&removed).send().await.unwrap()).await;
    assert_eq!(rig.access_token(&channel).await, before);
    let links: i64 = raw.number("SELECT COUNT(*) FROM reconnect_links WHERE used_at IS NOT NULL").await;
    assert_eq!(links, 0, "no refused link was spent");
}

async fn a_leaked_state_in_another_browser_leaves_the_flow_to_the_person_who_started_it(db: TestStore) {
    let rig = WebRig::new(db).await;
    let channel = rig.channel(Provider::X, "brand").await;
    rig.db
        .store
        .set_health(channel.id, &Health::NeedsReauth(Reason::PasswordChanged), None, rig.db.now())
        .await
        .unwrap();
    let (authorize, cookie) = rig.press(&rig.link(&channel).await).await;
    let callback = rig.authorize(&authorize).await;

    // Someone who saw the callback URL replays it, without the cookie or with their own.
    let other_cookie = format!("__Host-relink_flow={}", OpaqueToken::generate().expose());
    for cookie in [None, Some(other_cookie.as_str())] {
        let (status, _, page) = rig.finish(&callback, cookie).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
        assert!(page.contains("Finish in the browser you started in"), "{page}");
    }
    assert_ne!(rig.db.store.channel(channel.id).await.unwrap().health, Health::Healthy);

    // The person who started it still finishes it.
    let (status, _, page) = rig.finish(&callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("brand page is connected again"), "{page}");
    assert_eq!(rig.db.store.channel(channel.id).await.unwrap().health, Health::Healthy);
    let (status, _, _) = rig.finish(&callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "and only once");
}

async fn a_different_account_is_refused_and_noted_for_the_incident(db: TestStore) {
    let rig = WebRig::new(db).await;
    let channel = rig.channel(Provider::X, "brand").await;
    rig.sim().add_account(Provider::X, "someone-else", AccountOptions::default()).unwrap();
    rig.sim().set_login_as(Provider::X, "someone-else").unwrap();
    let before = rig.access_token(&channel).await;
    let (authorize, cookie) = rig.press(&rig.link(&channel).await).await;
    let callback = rig.authorize(&authorize).await;
    let (status, _, page) = rig.finish(&callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("A different account came back") && page.contains("someone-else"), "{page}");
    assert_eq!(rig.access_token(&channel).await, before);
    let events = rig.db.store.channel_events(channel.id).await.unwrap();
    let Some(Event::AccountMismatch(mismatch)) = events.last() else { panic!("an account mismatch: {events:?}") };
    assert_eq!((mismatch.expected_account.as_str(), mismatch.got_account.as_str()), ("brand", "someone-else"));
}

async fn the_api_wants_its_teams_key_and_names_bad_fields(db: TestStore) {
    let rig = WebRig::new(db).await;
    let channel = rig.channel(Provider::X, "brand").await;
    let other_team = rig.db.team("Other").await;
    let key = |team: &Team, name: &str| {
        let secret = OpaqueToken::generate();
        let store = rig.db.store.clone();
        let (team, name, now) = (team.id, ApiKeyName::parse(name).unwrap(), rig.db.now());
        async move {
            store.create_api_key(team, &name, &secret, now).await.unwrap();
            api_key_text(&secret)
        }
    };
    let acme_key = key(&rig.team, "publisher").await;
    let other_key = key(&other_team, "publisher").await;
    let channels = rig.url("api/v1/channels");
    let token_url = rig.url(&format!("api/v1/channels/{}/access-token", channel.id));

    // No key, a malformed key, an unknown key.
    let bare = rig.http.get(&channels).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(bare.headers()["www-authenticate"], "Bearer realm=\"relink\"");
    assert_eq!(bare.json::<Value>().await.unwrap()["error"]["code"], "unauthorized");
    for bad in ["Bearer nope", "Basic abc", &format!("Bearer {}", api_key_text(&OpaqueToken::generate()))] {
        let got = rig.http.get(&channels).header("authorization", bad).send().await.unwrap();
        assert_eq!(got.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }

    // The right key lists the team's channels; another team's key cannot see them.
    let listed: Value = rig.http.get(&channels).bearer_auth(&acme_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["channels"][0]["account_id"], "brand");
    assert_eq!(listed["channels"][0]["health"], "unknown");
    let theirs = rig.http.post(&token_url).bearer_auth(&other_key).send().await.unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND, "another team's channel does not exist for them");
    let other_list: Value = rig.http.get(&channels).bearer_auth(&other_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(other_list["channels"], json!([]));

    // A fresh access token, never cached.
    let token = rig.http.post(&token_url).bearer_auth(&acme_key).send().await.unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    assert_eq!(token.headers()["cache-control"], "no-store");
    let body: Value = token.json().await.unwrap();
    assert_eq!(body["access_token"], rig.access_token(&channel).await.as_str());

    // A spent token is refreshed first.
    rig.db.clock.advance(chrono::Duration::hours(3));
    let body: Value = rig.http.post(&token_url).bearer_auth(&acme_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["access_token"], rig.sim().tokens(Provider::X, "brand").unwrap().access_token.as_str());

    // A channel that needs a person: 409 with the reason.
    let now = rig.db.now();
    rig.db.store.set_health(channel.id, &Health::NeedsReauth(Reason::AppRevoked), None, now).await.unwrap();
    let refused = rig.http.post(&token_url).bearer_auth(&acme_key).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "needs_reconnect");
    assert_eq!(body["error"]["reason"], "app_revoked");

    // Malformed bodies name the field.
    let cases = [
        (json!({ "account_id": "a", "name": "A", "tokens": { "access_token": "t" } }), 400, "provider"),
        (json!({ "provider": 7, "account_id": "a", "name": "A", "tokens": {} }), 400, "provider"),
        (
            json!({ "provider": "myspace", "account_id": "a", "name": "A", "tokens": { "access_token": "t" } }),
            422,
            "provider",
        ),
        (
            json!({ "provider": "x", "account_id": "a b", "name": "A", "tokens": { "access_token": "t" } }),
            422,
            "account id",
        ),
        (
            json!({ "provider": "x", "account_id": "a", "name": "A", "tokens": { "expires_in": 5 } }),
            422,
            "tokens.access_token",
        ),
        (json!({ "provider": "x", "account_id": "a", "name": "A", "tokens": {}, "extra": 1 }), 400, "extra"),
    ];
    for (body, status, field) in cases {
        let got = rig.http.post(&channels).bearer_auth(&acme_key).json(&body).send().await.unwrap();
        assert_eq!(got.status().as_u16(), status, "{body}");
        let error: Value = got.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let not_json = rig.http.post(&channels).bearer_auth(&acme_key).body("{").send().await.unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);

    // Register (a token the network gives the account), schedule, cancel, record activity.
    let issued = rig.sim().add_account(Provider::Linkedin, "li-1", AccountOptions::default()).unwrap();
    let body = json!({ "provider": "linkedin", "account_id": "li-1", "name": "Acme LinkedIn",
                       "tokens": { "access_token": issued.access_token, "refresh_token": issued.refresh_token,
                                   "expires_in": 3600 } });
    let created = rig.http.post(&channels).bearer_auth(&acme_key).json(&body).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let posts = rig.url(&format!("api/v1/channels/{id}/posts"));
    let due = json!({ "due_at": "+3d", "ref": "post-1" });
    let post: Value =
        rig.http.post(&posts).bearer_auth(&acme_key).json(&due).send().await.unwrap().json().await.unwrap();
    assert_eq!(post["status"], "pending");
    let bad_due =
        rig.http.post(&posts).bearer_auth(&acme_key).json(&json!({ "due_at": "someday" })).send().await.unwrap();
    assert_eq!(bad_due.json::<Value>().await.unwrap()["error"]["field"], "due_at");
    let cancel = rig.url(&format!("api/v1/posts/{}", post["id"]));
    assert_eq!(rig.http.delete(&cancel).bearer_auth(&other_key).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let cancelled: Value = rig.http.delete(&cancel).bearer_auth(&acme_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    let not_an_id = rig.http.get(rig.url("api/v1/channels/acme")).bearer_auth(&acme_key).send().await.unwrap();
    assert_eq!(not_an_id.status(), StatusCode::BAD_REQUEST);
    assert_eq!(not_an_id.json::<Value>().await.unwrap()["error"]["field"], "id");
    let activity = rig.url(&format!("api/v1/channels/{id}/activity"));
    assert_eq!(rig.http.post(&activity).bearer_auth(&acme_key).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let revoked = rig.db.store.revoke_api_key(rig.team.id, &ApiKeyName::parse("publisher").unwrap(), now).await;
    assert!(revoked.is_ok());
    assert_eq!(rig.http.get(&channels).bearer_auth(&acme_key).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_path_of_the_openapi_document_is_served() {
    let rig = WebRig::new(TestStore::open(relink_core::store::Engine::Sqlite).await).await;
    let spec: Value = rig.http.get(rig.url("openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().expect("paths");
    assert!(paths.len() >= 6);
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let url = rig.url(path.trim_start_matches('/').replace("{id}", "1").as_str());
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = rig.http.request(method.clone(), &url).send().await.unwrap().status();
            // Without a key every documented operation exists and asks for one.
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        }
    }
    let metrics = rig.http.get(rig.url("metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("relink_http_request_duration_seconds"), "{metrics}");
    assert!(metrics.contains("relink_alerts_delivered_total") && metrics.contains("relink_incidents_open"));
}

/// A trivial router served within `limits` on a loopback port.
async fn limited_server(limits: relink_web::ServerLimits) -> (std::net::SocketAddr, CancellationToken) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let shutdown = CancellationToken::new();
    tokio::spawn(relink_web::serve_with(listener, router, limits, shutdown.clone()));
    (address, shutdown)
}

/// Reads until the server closes the connection, or panics after `bound`.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, bound: Duration) -> String {
    use tokio::io::AsyncReadExt as _;
    let mut answer = Vec::new();
    tokio::time::timeout(bound, stream.read_to_end(&mut answer))
        .await
        .expect("the server closed the connection in time")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_connection_that_sends_half_a_header_is_closed_after_the_header_timeout() {
    use tokio::io::AsyncWriteExt as _;
    let limits = relink_web::ServerLimits { header_timeout: Duration::from_millis(200), ..Default::default() };
    let (address, _shutdown) = limited_server(limits).await;
    let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: relink.test\r\nX-Slow: ").await.unwrap();
    let answer = read_until_closed(&mut slow, Duration::from_secs(10)).await;
    assert!(!answer.contains("200 OK"), "{answer}");

    // A connection that sends nothing at all is closed the same way.
    let mut silent = tokio::net::TcpStream::connect(address).await.unwrap();
    read_until_closed(&mut silent, Duration::from_secs(10)).await;

    // A whole request is still answered.
    let mut whole = tokio::net::TcpStream::connect(address).await.unwrap();
    whole.write_all(b"GET / HTTP/1.1\r\nHost: relink.test\r\nConnection: close\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut whole, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let limits = relink_web::ServerLimits { max_connections: 1, ..Default::default() };
    let (address, _shutdown) = limited_server(limits).await;
    let holder = tokio::net::TcpStream::connect(address).await.unwrap();
    // Make sure the holder was accepted (and holds the only slot) before the second connects.
    let mut first = holder;
    first.write_all(b"GET / HTTP/1.1\r\nHost: relink.test\r\n\r\n").await.unwrap();
    let mut head = [0u8; 15];
    first.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200 OK");

    let mut second = tokio::net::TcpStream::connect(address).await.unwrap();
    second.write_all(b"GET / HTTP/1.1\r\nHost: relink.test\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut byte = [0u8; 1];
    let waited = tokio::time::timeout(Duration::from_millis(300), second.read(&mut byte)).await;
    assert!(waited.is_err(), "the second connection was served while the first held the only slot");
    drop(first);
    let answer = read_until_closed(&mut second, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}

#[tokio::test]
async fn metrics_want_the_configured_bearer_token_or_their_own_listener() {
    let db = TestStore::open(relink_core::store::Engine::Sqlite).await;
    let app = TestApp::builder(db)
        .providers(Providers::new(Default::default()))
        .link_ttl(Duration::from_secs(3_600))
        .web(|settings, _| settings.metrics_token = Some("metrics-token-0123456789".to_owned().into()))
        .spawn()
        .await;
    let http = reqwest::Client::new();
    let metrics = app.base.join("metrics").unwrap();
    let scrape = |token: Option<&'static str>| {
        let mut request = http.get(metrics.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(scrape(None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(scrape(Some("metrics-token-012345678")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let scraped = scrape(Some("metrics-token-0123456789")).await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped.text().await.unwrap().contains("relink_"));

    // With a listener of its own, the public one has no /metrics.
    let mut settings = app.settings.clone();
    settings.metrics_on_main = false;
    settings.metrics_token = None;
    let (public, ops) =
        (TcpListener::bind("127.0.0.1:0").await.unwrap(), TcpListener::bind("127.0.0.1:0").await.unwrap());
    let (public_url, ops_url) = (public.local_addr().unwrap(), ops.local_addr().unwrap());
    let split = relink::app::App::builder(
        app.db.store.clone(),
        Providers::new(Default::default()),
        Arc::new(app.db.clock.clone()),
    )
    .listener(public)
    .metrics_listener(Some(ops))
    .web(settings)
    .checking(false)
    .alerts(None)
    .build()
    .unwrap()
    .spawn();
    let public = http.get(format!("http://{public_url}/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let ops = http.get(format!("http://{ops_url}/metrics")).send().await.unwrap();
    assert_eq!(ops.status(), StatusCode::OK);
    split.stop().await.unwrap();
    app.stop().await.unwrap();
}

/// The first link of the cross-team attack: team Beta registers a channel claiming the victim's
/// account with its own working token or with junk. The network is asked whose token it is.
async fn a_team_cannot_register_another_accounts_channel_with_its_own_or_a_junk_token(db: TestStore) {
    let rig = WebRig::new(db).await;
    let beta = rig.db.team("Beta").await;
    let secret = OpaqueToken::generate();
    let name = ApiKeyName::parse("publisher").unwrap();
    rig.db.store.create_api_key(beta.id, &name, &secret, rig.db.now()).await.unwrap();
    let beta_key = api_key_text(&secret);
    rig.sim().add_account(Provider::X, "victim", AccountOptions::default()).unwrap();
    let betas = rig.sim().add_account(Provider::X, "beta-brand", AccountOptions::default()).unwrap();
    let channels = rig.url("api/v1/channels");
    let register = |access_token: &str| {
        json!({ "provider": "x", "account_id": "victim", "name": "Not ours",
                "tokens": { "access_token": access_token, "expires_in": 3600 } })
    };

    let theirs = rig.http.post(&channels).bearer_auth(&beta_key).json(&register(&betas.access_token)).send().await;
    let theirs = theirs.unwrap();
    assert_eq!(theirs.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = theirs.json().await.unwrap();
    assert_eq!(error["error"]["field"], "account_id", "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("beta-brand"), "{error}");

    let junk = rig.http.post(&channels).bearer_auth(&beta_key).json(&register("junk-token")).send().await.unwrap();
    assert_eq!(junk.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = junk.json().await.unwrap();
    assert_eq!(error["error"]["field"], "tokens", "{error}");
    assert!(rig.db.store.channels(Some(beta.id)).await.unwrap().is_empty(), "nothing was registered");

    // Beta's own account with its own token is registered as before.
    let own = json!({ "provider": "x", "account_id": "beta-brand", "name": "Beta X",
                      "tokens": { "access_token": betas.access_token, "expires_in": 3600 } });
    let created = rig.http.post(&channels).bearer_auth(&beta_key).json(&own).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
}
