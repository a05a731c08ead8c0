//! The Discord front-end on SQLite and PostgreSQL, against the fake Discord REST server
//! (`support::discord`) and through the HTTP interactions endpoint with requests signed by a
//! test key: alerts as embeds (nonce, resolution and digest edits, gone channels), the rate
//! limits, the command registration, every command for an admin and an editor, autocomplete,
//! the alert buttons ("Get reconnect link", "I'm on it" under single and grouped alerts, none
//! under a degraded one), deferral, and the refusals (forged signature, stale timestamp, replay).

// These are test bodies run through `both_engines!` (not `#[test]` functions clippy recognises):
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Duration as Days;
use ed25519_dalek::{Signer as _, SigningKey};
use relink_bot::commands;
use relink_bot::discord::{Discord, DiscordSettings, Mode};
use relink_core::alerts::{AlertsConfig, DeliveryConfig, Destination, Notifier as _, Planner};
use relink_core::alerts::{NotifyError, Outgoing};
use relink_core::opaque::InviteCode;
use relink_core::provider::Providers;
use relink_core::reconnect::LinkSettings;
use relink_core::store::NewMember;
use relink_core::{
    Channel, ChatPlatform, DiscordUserId, DisplayName, Health, Language, Member, MemberName, Provider, Reason, Role,
    Team, TeamName,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::discord::{APPLICATION_ID, FakeDiscord, Limits};
use crate::support::{TestStore, both_engines, digest, endless_answers, links, new_channel, tokens};

both_engines!(
    alerts_arrive_as_embeds_with_buttons_and_are_edited_when_resolved,
    a_retried_send_is_not_duplicated,
    a_deleted_or_forbidden_channel_disables_its_binding_and_tells_the_operators,
    sends_stay_within_the_announced_buckets_and_a_429_pauses_the_bucket,
    a_retry_after_of_ten_to_the_300_seconds_is_read_as_a_day_not_a_panic,
    commands_are_registered_by_bulk_overwrite_globally_or_in_one_guild,
    the_endpoint_answers_a_ping_and_refuses_forged_stale_and_unsigned_requests,
    an_unsigned_or_stale_interaction_with_a_huge_body_is_refused_without_reading_it,
    a_replayed_interaction_is_handled_once,
    every_command_answers_an_admin_and_an_editor,
    autocomplete_offers_the_channels_of_the_teams_in_context,
    the_alert_button_gives_an_admin_a_private_link_and_an_editor_a_private_refusal,
    a_grouped_alert_has_im_on_it_which_acknowledges_all_its_channels_for_an_admin_and_refuses_an_editor,
    a_degraded_alert_asks_nothing_and_carries_no_button,
    subscribe_binds_the_channel_for_a_member_who_may_reconnect,
    a_one_time_code_links_a_discord_account,
    slow_work_is_deferred_and_its_answer_replaces_the_deferral,
    any_signed_interaction_is_answered_or_refused_never_a_server_error,
    an_edited_digest_keeps_the_link_buttons_of_the_channels_still_to_reconnect,
    an_answer_without_end_is_refused_at_the_limit_and_the_alert_is_tried_again,
);

const ALICE: u64 = 1001;
const EDDIE: u64 = 1002;
const STRANGER: u64 = 1999;
const GUILD: u64 = 900;
const TEAM_CHANNEL: u64 = 7001;
const OTHER_CHANNEL: u64 = 7002;
const OPERATORS: u64 = 9999;
const ADMINISTRATOR: &str = "8";

/// A team with an admin (Alice) and an editor (Eddie) on Discord, the Discord channel
/// `TEAM_CHANNEL` bound to it, a disconnected and an expiring channel, the fake Discord, and the
/// front-end in interactions mode served on loopback.
struct Rig {
    db: TestStore,
    team: Team,
    alice: Member,
    facebook: Channel,
    fake: FakeDiscord,
    discord: Discord,
    key: SigningKey,
    endpoint: String,
    http: reqwest::Client,
    next_id: AtomicU64,
}

fn link_settings() -> LinkSettings {
    LinkSettings { public_url: "https://relink.test/".parse().unwrap(), ttl: std::time::Duration::from_secs(86_400) }
}

impl Rig {
    async fn new(db: TestStore) -> Self {
        Self::with(db, Limits::default(), |_| {}).await
    }

    async fn with(db: TestStore, limits: Limits, adjust: impl FnOnce(&mut DiscordSettings)) -> Self {
        let store = db.store.clone();
        let now = db.now();
        let team = store.create_team(&TeamName::parse("Acme").unwrap(), Language::En, now).await.unwrap();
        let member = |name: &str, role, discord: u64| NewMember {
            team_id: team.id,
            name: MemberName::parse(name).unwrap(),
            role,
            discord_user_id: Some(DiscordUserId(discord as i64)),
            telegram_user_id: None,
        };
        let alice = store.add_member(&member("Alice", Role::Admin, ALICE), now).await.unwrap();
        store.add_member(&member("Eddie", Role::Editor, EDDIE), now).await.unwrap();
        store.bind_chat(team.id, ChatPlatform::Discord, TEAM_CHANNEL as i64, now).await.unwrap();
        let add = async |provider, account: &str, name: &str| {
            // Authorised by nobody: alerts go to everyone who may reconnect and the bound chats.
            let mut channel = new_channel(&team, provider, account, None);
            channel.display_name = DisplayName::parse(name).unwrap();
            store.add_channel(&channel, &tokens("access", None, Some(now + Days::days(5))), now).await.unwrap()
        };
        let facebook = add(Provider::Facebook, "fb1", "Acme Facebook").await;
        let instagram = add(Provider::InstagramBusiness, "ig1", "Acme Instagram").await;
        store.set_health(facebook.id, &Health::NeedsReauth(Reason::PasswordChanged), None, now).await.unwrap();
        store.set_health(instagram.id, &Health::Expiring, None, now).await.unwrap();
        store.schedule_post(facebook.id, now + Days::hours(3), Some("post-1"), now).await.unwrap();
        // The incidents (and their alerts, not delivered yet) exist, as in a running relink.
        let engine =
            Planner::new(store.clone(), AlertsConfig { grouping_window: Days::zero(), ..AlertsConfig::default() });
        engine.pass(now + Days::seconds(1)).await.unwrap();
        db.clock.advance(Days::seconds(2));

        let fake = FakeDiscord::start(limits).await;
        let key = SigningKey::from_bytes(&[7; 32]);
        let mut settings = settings(&key, &fake);
        adjust(&mut settings);
        let services =
            commands::Services { store, links: link_settings(), checker: None, clock: Arc::new(db.clock.clone()) };
        let discord = Discord::new(settings, services).unwrap();
        let endpoint = serve_endpoint(&discord).await;
        let facebook = db.store.channel(facebook.id).await.unwrap();
        Self {
            db,
            team,
            alice,
            facebook,
            fake,
            discord,
            key,
            endpoint,
            http: reqwest::Client::new(),
            next_id: AtomicU64::new(1_100_000),
        }
    }

    /// The front-end's settings as this rig starts it.
    fn settings(&self) -> DiscordSettings {
        settings(&self.key, &self.fake)
    }

    /// The Facebook channel's health changes; a little later its alerts go out.
    async fn facebook_becomes(&self, health: Health) {
        self.db.store.set_health(self.facebook.id, &health, None, self.db.now()).await.unwrap();
        self.db.clock.advance(Days::seconds(5));
        self.alert_and_deliver().await;
    }

    /// Runs the alerts engine, then delivers through the Discord notifier with real links.
    async fn alert_and_deliver(&self) {
        let app = self.alerting();
        app.engine.as_ref().expect("an alerts engine").pass(self.db.now()).await.unwrap();
        app.deliverer.as_ref().expect("a deliverer").deliver_due(self.db.now()).await.unwrap();
    }

    async fn deliver(&self) {
        self.alerting().deliverer.as_ref().expect("a deliverer").deliver_due(self.db.now()).await.unwrap();
    }

    /// relink's alerts engine and deliverer as `relink serve` builds them, with the Discord
    /// notifier and real links (no loop runs: the test calls them).
    fn alerting(&self) -> relink::app::App {
        let links = link_settings();
        let delivery = DeliveryConfig {
            owner: "worker-a".into(),
            operators: Destination::DiscordChannel(OPERATORS as i64),
            ..DeliveryConfig::default()
        };
        relink::app::App::builder(
            self.db.store.clone(),
            Providers::new(Default::default()),
            Arc::new(self.db.clock.clone()),
        )
        .web(relink_web::WebSettings::new(links.public_url, links.ttl))
        .alerts(Some(AlertsConfig { grouping_window: Days::zero(), ..AlertsConfig::default() }))
        .delivery(delivery)
        .notifier(self.discord.notifier())
        .build()
        .unwrap()
    }

    /// Posts `body` signed at `timestamp` (seconds) by `key`; returns the status and JSON body.
    async fn post_signed(&self, key: &SigningKey, timestamp: i64, body: &Value) -> (u16, Value) {
        self.post_signed_to(&self.endpoint, key, timestamp, body).await
    }

    async fn post_signed_to(&self, endpoint: &str, key: &SigningKey, timestamp: i64, body: &Value) -> (u16, Value) {
        let body = serde_json::to_vec(body).unwrap();
        let timestamp = timestamp.to_string();
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(&body);
        let signature = hex::encode(key.sign(&message).to_bytes());
        self.post_to(endpoint, Some(&signature), Some(&timestamp), body).await
    }

    async fn post(&self, signature: Option<&str>, timestamp: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        self.post_to(&self.endpoint, signature, timestamp, body).await
    }

    async fn post_to(
        &self,
        endpoint: &str,
        signature: Option<&str>,
        timestamp: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut request = self.http.post(endpoint).header("content-type", "application/json").body(body);
        if let Some(signature) = signature {
            request = request.header("x-signature-ed25519", signature);
        }
        if let Some(timestamp) = timestamp {
            request = request.header("x-signature-timestamp", timestamp);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends an interaction signed now by the application's key.
    async fn interact(&self, body: &Value) -> (u16, Value) {
        self.post_signed(&self.key, self.db.now().timestamp(), body).await
    }

    /// `/relink <command>` by `user` in `channel` of the guild (with `permissions`), or in a DM
    /// when `channel` is `None`.
    fn command(&self, user: u64, channel: Option<u64>, name: &str, options: &[(&str, &str)]) -> Value {
        let options: Vec<Value> =
            options.iter().map(|(name, value)| json!({ "name": name, "type": 3, "value": value })).collect();
        self.interaction(user, channel, 2, relink_command(name, options))
    }

    fn interaction(&self, user: u64, channel: Option<u64>, kind: u8, data: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut body = json!({
            "id": id.to_string(),
            "type": kind,
            "token": format!("interaction-token-{id}"),
            "application_id": APPLICATION_ID.to_string(),
            "locale": "en-US",
            "data": data,
            "version": 1,
        });
        match channel {
            Some(channel) => {
                body["guild_id"] = json!(GUILD.to_string());
                body["channel_id"] = json!(channel.to_string());
                body["member"] = json!({ "user": { "id": user.to_string() }, "permissions": ADMINISTRATOR });
            }
            None => {
                body["channel_id"] = json!((50_000 + user).to_string());
                body["user"] = json!({ "id": user.to_string() });
            }
        }
        body
    }

    /// Runs a slash command and returns the immediate response (`type` 4: a message).
    async fn run(&self, user: u64, channel: Option<u64>, name: &str, options: &[(&str, &str)]) -> Value {
        let (status, response) = self.interact(&self.command(user, channel, name, options)).await;
        assert_eq!(status, 200, "/{name}: {response}");
        assert_eq!(response["type"], 4, "/{name} is answered with a message: {response}");
        response
    }

    /// Waits until the fake has seen a call matching `wanted` (follow-ups are sent after the
    /// response); returns its body.
    async fn wait_for_call(&self, wanted: impl Fn(&crate::support::discord::Call) -> bool) -> Value {
        for _ in 0..200 {
            if let Some(call) = self.fake.calls().into_iter().find(|c| wanted(c)) {
                return call.body;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the fake Discord never saw the expected call; it saw {:#?}", self.fake.calls());
    }
}

/// Interactions mode with the test key, against the fake; answers not deferred unless a test
/// says so.
fn settings(key: &SigningKey, fake: &FakeDiscord) -> DiscordSettings {
    let mut settings = DiscordSettings::new(SecretString::from("test-bot-token"));
    settings.application_id = Some(APPLICATION_ID);
    settings.public_key = Some(hex::encode(key.verifying_key().to_bytes()));
    settings.mode = Mode::Interactions;
    settings.api_url = fake.api_url();
    settings.defer_after = Duration::from_secs(30);
    settings
}

/// Serves the front-end's interactions endpoint on a loopback port; returns its URL.
async fn serve_endpoint(discord: &Discord) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/discord/interactions", listener.local_addr().unwrap());
    let router = discord.router().expect("interactions mode has an endpoint");
    tokio::spawn(async move { axum::serve(listener, router).await });
    endpoint
}

/// The data of `/relink <name>` with `options`, as Discord sends it.
fn relink_command(name: &str, options: Vec<Value>) -> Value {
    json!({ "id": "1", "name": "relink", "type": 1, "options": [{ "name": name, "type": 1, "options": options }] })
}

fn ephemeral(message: &Value) -> bool {
    message["flags"].as_u64().is_some_and(|f| f & 64 != 0)
}

/// The buttons in a message's components.
fn buttons(message: &Value) -> Vec<Value> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The URLs of the link buttons in a message.
fn link_urls(message: &Value) -> Vec<String> {
    buttons(message).iter().filter_map(|b| b["url"].as_str().map(str::to_owned)).collect()
}

/// The `custom_id`s of the other buttons.
fn custom_ids(message: &Value) -> Vec<String> {
    buttons(message).iter().filter_map(|b| b["custom_id"].as_str().map(str::to_owned)).collect()
}

async fn alerts_arrive_as_embeds_with_buttons_and_are_edited_when_resolved(db: TestStore) {
    let rig = Rig::new(db).await;
    rig.alert_and_deliver().await;
    let messages = rig.fake.messages();
    let shared: Vec<_> = messages.iter().filter(|m| m.channel == TEAM_CHANNEL).collect();
    let direct: Vec<_> = messages.iter().filter(|m| m.channel != TEAM_CHANNEL).collect();
    assert_eq!(shared.len(), 2, "one message per alert in the bound channel: {messages:#?}");
    assert_eq!(direct.len(), 2, "and in Alice's direct messages (Eddie the editor gets none)");
    assert!(rig.fake.calls().iter().any(|c| c.path == "/users/@me/channels" && c.body["recipient_id"] == "1001"));

    let disconnected =
        shared.iter().find(|m| m.body["embeds"][0]["title"].as_str().unwrap().contains("Facebook")).unwrap();
    let embed = &disconnected.body["embeds"][0];
    assert!([0xE7_4C_3C, 0x99_2D_22].contains(&embed["color"].as_u64().unwrap()), "red for a disconnection: {embed}");
    let fields: Vec<&str> = embed["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(fields, ["Reason", "Posts at risk", "Authorised by"]);
    assert_eq!(disconnected.body["enforce_nonce"], true);
    assert_eq!(disconnected.body["nonce"].as_str().unwrap().len(), 25);
    // The shared channel's buttons name the alert and the channel, never a link.
    let ids = custom_ids(&disconnected.body);
    assert_eq!(ids, [format!("ra:{}", ids[0].trim_start_matches("ra:")), format!("k:{}", rig.facebook.id.0)]);
    assert!(link_urls(&disconnected.body).is_empty());
    assert!(!disconnected.body.to_string().contains("https://relink.test/"));
    // The admin's direct message carries her own link as a link button.
    let dm = direct.iter().find(|m| m.body["embeds"][0]["title"].as_str().unwrap().contains("Facebook")).unwrap();
    let urls = link_urls(&dm.body);
    assert_eq!(urls.len(), 1);
    assert!(urls[0].starts_with("https://relink.test/"), "{urls:?}");
    let expiring = shared.iter().find(|m| m.id != disconnected.id).unwrap();
    assert_eq!(expiring.body["embeds"][0]["fields"][1]["name"], "Access ends", "{}", expiring.body);

    // Reconnected: the earlier messages turn green and lose their buttons.
    rig.facebook_becomes(Health::Healthy).await;
    let messages = rig.fake.messages();
    let edited = messages.iter().find(|m| m.id == disconnected.id).unwrap();
    assert_eq!(edited.edits.len(), 1, "{edited:#?}");
    assert_eq!(edited.edits[0]["embeds"][0]["color"], 0x2E_CC_71);
    assert_eq!(edited.edits[0]["components"], json!([]));
    assert!(messages.iter().find(|m| m.id == dm.id).unwrap().edits.len() == 1, "the direct message too");
    assert_eq!(rig.fake.too_many_requests(), 0);
}

async fn a_retried_send_is_not_duplicated(db: TestStore) {
    let rig = Rig::new(db).await;
    let engine =
        Planner::new(rig.db.store.clone(), AlertsConfig { grouping_window: Days::zero(), ..AlertsConfig::default() });
    engine.pass(rig.db.now()).await.unwrap();
    let now = rig.db.now();
    let claims = rig.db.store.claim_deliveries(now, 10, "worker-a", now + Days::minutes(2)).await.unwrap();
    let claim = claims.iter().find(|c| c.destination == Destination::DiscordChannel(TEAM_CHANNEL as i64)).unwrap();
    let notifier = rig.discord.notifier();
    let message = Outgoing { alert: &claim.alert, idempotency_key: &claim.idempotency_key, reconnect_links: &[] };
    // A worker that died after Discord accepted the message sends it again after its lease.
    let first = notifier.send(claim.destination, &message).await.unwrap();
    let again = notifier.send(claim.destination, &message).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(rig.fake.messages().len(), 1);
    let posts = rig.fake.calls().iter().filter(|c| c.path == format!("/channels/{TEAM_CHANNEL}/messages")).count();
    assert_eq!(posts, 2, "both attempts reached Discord, which kept one message");
}

async fn a_deleted_or_forbidden_channel_disables_its_binding_and_tells_the_operators(db: TestStore) {
    let rig = Rig::new(db).await;
    rig.db.store.bind_chat(rig.team.id, ChatPlatform::Discord, OTHER_CHANNEL as i64, rig.db.now()).await.unwrap();
    rig.fake.make_gone(TEAM_CHANNEL);
    rig.fake.make_forbidden(OTHER_CHANNEL);
    // A new reason: a new alert, for both bound channels.
    rig.facebook_becomes(Health::NeedsReauth(Reason::AppRevoked)).await;
    for channel in [TEAM_CHANNEL, OTHER_CHANNEL] {
        let bindings = rig.db.store.bindings_of_chat(ChatPlatform::Discord, channel as i64).await.unwrap();
        assert_eq!(bindings.len(), 1);
        assert!(!bindings[0].enabled, "the binding of {channel} is disabled");
    }
    // The operators' notices are deliveries of their own.
    rig.deliver().await;
    let mut notices: Vec<String> = rig
        .fake
        .messages()
        .iter()
        .filter(|m| m.channel == OPERATORS)
        .map(|m| m.body["embeds"][0]["title"].as_str().unwrap().to_owned())
        .collect();
    // One notice per alert that failed there (the alerts were queued before the first failure
    // disabled the binding), so one or more per channel.
    notices.sort();
    notices.dedup();
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices.iter().any(|t| t.contains(&TEAM_CHANNEL.to_string())), "{notices:?}");
    assert!(notices.iter().any(|t| t.contains(&OTHER_CHANNEL.to_string())), "{notices:?}");
    // A disabled binding gets nothing more.
    let before = rig.fake.calls().iter().filter(|c| c.path.contains(&TEAM_CHANNEL.to_string())).count();
    rig.facebook_becomes(Health::NeedsReauth(Reason::PermissionLost)).await;
    let after = rig.fake.calls().iter().filter(|c| c.path.contains(&TEAM_CHANNEL.to_string())).count();
    assert_eq!(before, after);
}

/// Discord, or a proxy in front of it, answering with a body that never ends: relink reads at
/// most `MAX_ANSWER_BYTES` of it, counts a failed attempt ("cannot reach Discord") and keeps
/// the alert for a retry; nothing is sent twice and nothing is lost.
async fn an_answer_without_end_is_refused_at_the_limit_and_the_alert_is_tried_again(db: TestStore) {
    let (endless, _served) = endless_answers().await;
    let api = endless.join("api").unwrap();
    let rig = Rig::with(db, Limits::default(), |settings| settings.api_url = api).await;
    rig.alert_and_deliver().await;
    let mut raw = rig.db.raw().await;
    let attempted = raw.number("SELECT COUNT(*) FROM deliveries WHERE attempts > 0").await;
    assert!(attempted > 0, "a delivery was attempted");
    let too_large =
        "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND last_error LIKE '%larger than 1024 KiB%'";
    assert_eq!(raw.number(too_large).await, attempted, "every attempt is left to try again, and says why");
}

async fn sends_stay_within_the_announced_buckets_and_a_429_pauses_the_bucket(db: TestStore) {
    let limits = Limits { bucket_limit: 2, bucket_window: Duration::from_millis(300), global_limit: 50 };
    let rig = Rig::with(db, limits, |_| {}).await;
    let engine =
        Planner::new(rig.db.store.clone(), AlertsConfig { grouping_window: Days::zero(), ..AlertsConfig::default() });
    engine.pass(rig.db.now()).await.unwrap();
    let now = rig.db.now();
    let claims = rig.db.store.claim_deliveries(now, 10, "worker-a", now + Days::minutes(2)).await.unwrap();
    let claim = claims.into_iter().find(|c| c.destination == Destination::DiscordChannel(TEAM_CHANNEL as i64)).unwrap();
    let claim = Arc::new(claim);
    let notifier = rig.discord.notifier();
    // Eight sends to one channel at once: the bucket allows two per window.
    let sends: Vec<_> = (0..8)
        .map(|i| {
            let (notifier, claim) = (notifier.clone(), claim.clone());
            tokio::spawn(async move {
                let key = format!("burst-{i}");
                let message = Outgoing { alert: &claim.alert, idempotency_key: &key, reconnect_links: &[] };
                notifier.send(claim.destination, &message).await
            })
        })
        .collect();
    for send in sends {
        send.await.unwrap().unwrap();
    }
    assert_eq!(rig.fake.too_many_requests(), 0, "{:#?}", rig.fake.calls());
    assert_eq!(rig.fake.messages().len(), 8);

    // A 429 anyway (another client of the bot, a limit relink did not know): the send is a
    // transient failure with Discord's retry_after, and the next one waits and goes through.
    rig.fake.refuse_next(1);
    let message = Outgoing { alert: &claim.alert, idempotency_key: "refused", reconnect_links: &[] };
    match notifier.send(claim.destination, &message).await {
        Err(NotifyError::Transient { retry_after: Some(after), .. }) => assert!(after <= Duration::from_secs(1)),
        other => panic!("a 429 is a transient failure with its retry_after, not {other:?}"),
    }
    notifier.send(claim.destination, &message).await.unwrap();
    assert_eq!(rig.fake.too_many_requests(), 1);
}

async fn a_retry_after_of_ten_to_the_300_seconds_is_read_as_a_day_not_a_panic(db: TestStore) {
    let limits = Limits { bucket_limit: 2, bucket_window: Duration::from_millis(300), global_limit: 50 };
    let rig = Rig::with(db, limits, |_| {}).await;
    let engine =
        Planner::new(rig.db.store.clone(), AlertsConfig { grouping_window: Days::zero(), ..AlertsConfig::default() });
    engine.pass(rig.db.now()).await.unwrap();
    let now = rig.db.now();
    let claims = rig.db.store.claim_deliveries(now, 10, "worker-a", now + Days::minutes(2)).await.unwrap();
    let claim = claims.into_iter().find(|c| c.destination == Destination::DiscordChannel(TEAM_CHANNEL as i64)).unwrap();
    let notifier = rig.discord.notifier();
    // Before the fix, reading this wait panicked the delivery worker.
    rig.fake.refuse_next_asking(1, "1e300");
    let message = Outgoing { alert: &claim.alert, idempotency_key: "forever", reconnect_links: &[] };
    match notifier.send(claim.destination, &message).await {
        Err(NotifyError::Transient { retry_after: Some(after), .. }) => {
            assert_eq!(after, relink_core::time::MAX_NETWORK_WAIT);
        }
        other => panic!("a 429 is a transient failure with its retry_after, not {other:?}"),
    }
}

async fn commands_are_registered_by_bulk_overwrite_globally_or_in_one_guild(db: TestStore) {
    let rig = Rig::new(db).await;
    assert_eq!(rig.discord.register_commands().await.unwrap(), 1, "one /relink command");
    assert_eq!(rig.discord.register_commands().await.unwrap(), 1, "registering again changes nothing");
    let puts: Vec<_> = rig.fake.calls().into_iter().filter(|c| c.method == "PUT").collect();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[0].path, format!("/applications/{APPLICATION_ID}/commands"));
    assert_eq!(puts[0].body, puts[1].body, "the same list every time");
    let global = rig.fake.commands("global").unwrap();
    assert_eq!(global[0]["name"], "relink");
    let subcommands = global[0]["options"].as_array().unwrap();
    let names: Vec<&str> = subcommands.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "status",
            "channel",
            "reconnect",
            "refresh",
            "check",
            "snooze",
            "ack",
            "history",
            "dashboard",
            "subscribe",
            "link"
        ]
    );
    let reconnect = &subcommands[2];
    assert_eq!(reconnect["name_localizations"]["it"], "ricollega");
    assert_eq!(reconnect["name_localizations"]["ja"], "再接続");
    assert!(!reconnect["description_localizations"]["ja"].as_str().unwrap().is_empty());
    assert_eq!(reconnect["options"][0]["autocomplete"], true);
    assert!(rig.fake.commands(&format!("guild:{GUILD}")).is_none());

    let in_guild =
        Rig::with(TestStore::open(rig.db.engine).await, Limits::default(), |s| s.guild_id = Some(GUILD)).await;
    assert_eq!(in_guild.discord.register_commands().await.unwrap(), 1);
    assert!(in_guild.fake.commands(&format!("guild:{GUILD}")).is_some());
    assert!(in_guild.fake.commands("global").is_none());
}

async fn the_endpoint_answers_a_ping_and_refuses_forged_stale_and_unsigned_requests(db: TestStore) {
    let rig = Rig::new(db).await;
    let ping = json!({ "id": "1", "type": 1, "application_id": APPLICATION_ID.to_string(), "token": "t" });
    assert_eq!(rig.interact(&ping).await, (200, json!({ "type": 1 })));

    let status = rig.command(ALICE, Some(TEAM_CHANNEL), "status", &[]);
    let now = rig.db.now().timestamp();
    let forger = SigningKey::from_bytes(&[9; 32]);
    assert_eq!(rig.post_signed(&forger, now, &status).await.0, 401, "signed by another key");
    assert_eq!(rig.post_signed(&rig.key, now - 600, &status).await.0, 401, "ten minutes old");
    assert_eq!(rig.post_signed(&rig.key, now + 600, &status).await.0, 401, "ten minutes ahead");
    assert_eq!(rig.post(None, None, serde_json::to_vec(&status).unwrap()).await.0, 401, "unsigned");
    // A valid signature over another body.
    let body = serde_json::to_vec(&status).unwrap();
    let mut message = now.to_string().into_bytes();
    message.extend_from_slice(&body);
    let signature = hex::encode(rig.key.sign(&message).to_bytes());
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(rig.post(Some(&signature), Some(&now.to_string()), tampered).await.0, 401, "a tampered body");
    assert_eq!(rig.post(Some("zz"), Some(&now.to_string()), body).await.0, 401, "a malformed signature");
    // None of them reached the commands; a fresh, signed request does.
    assert!(rig.fake.calls().is_empty());
    let (code, answer) = rig.interact(&status).await;
    assert_eq!((code, answer["type"].as_u64()), (200, Some(4)));
}

async fn an_unsigned_or_stale_interaction_with_a_huge_body_is_refused_without_reading_it(db: TestStore) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rig = Rig::new(db).await;
    let address = rig.endpoint.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let now = rig.db.now().timestamp();
    // Announces 1.5 MB and sends a kilobyte: an endpoint that read the body first would wait.
    let answer = |headers: String| {
        let address = address.clone();
        async move {
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            let head = format!(
                "POST /discord/interactions HTTP/1.1\r\nHost: relink.test\r\nContent-Type: application/json\r\n\
                 {headers}Content-Length: 1500000\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(&[b' '; 1_024]).await.unwrap();
            let mut status = [0u8; 12];
            let read = tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut status)).await;
            read.expect("answered without waiting for the body").unwrap();
            String::from_utf8_lossy(&status).into_owned()
        }
    };
    let signature = "ab".repeat(64);
    assert_eq!(answer(String::new()).await, "HTTP/1.1 401", "unsigned");
    let stale = format!("X-Signature-Ed25519: {signature}\r\nX-Signature-Timestamp: {}\r\n", now - 600);
    assert_eq!(answer(stale).await, "HTTP/1.1 401", "ten minutes old");
    let fresh = format!("X-Signature-Ed25519: {signature}\r\nX-Signature-Timestamp: {now}\r\n");
    assert_eq!(answer(fresh).await, "HTTP/1.1 413", "more than the limit");
    assert!(rig.fake.calls().is_empty());
}

async fn a_replayed_interaction_is_handled_once(db: TestStore) {
    let rig = Rig::new(db).await;
    let ack = rig.command(ALICE, Some(TEAM_CHANNEL), "ack", &[("channel", &rig.facebook.id.0.to_string())]);
    let (first, answer) = rig.interact(&ack).await;
    assert_eq!(first, 200, "{answer}");
    // The same request again, within the freshness window (a replay or a redelivery).
    let (again, _) = rig.interact(&ack).await;
    assert_eq!(again, 409);
    // Another process on the same database (its own endpoint) refuses it as well.
    let mut settings = rig.settings();
    settings.owner = "another-process".into();
    let services = commands::Services {
        store: rig.db.store.clone(),
        links: link_settings(),
        checker: None,
        clock: Arc::new(rig.db.clock.clone()),
    };
    let elsewhere = serve_endpoint(&Discord::new(settings, services).unwrap()).await;
    let (status, _) = rig.post_signed_to(&elsewhere, &rig.key, rig.db.now().timestamp(), &ack).await;
    assert_eq!(status, 409);
    let acks = rig.db.store.incidents(Some(rig.team.id), false).await.unwrap();
    assert!(acks.iter().any(|i| i.acknowledged_at.is_some()), "the first one was handled");
}

async fn every_command_answers_an_admin_and_an_editor(db: TestStore) {
    let rig = Rig::new(db).await;
    let fb = rig.facebook.id.0.to_string();
    let in_channel = Some(TEAM_CHANNEL);

    // status, channel and history: anyone of the team sees them, in the channel.
    for user in [ALICE, EDDIE] {
        let status = rig.run(user, in_channel, "status", &[]).await;
        let text = status["data"]["content"].as_str().unwrap();
        assert!(text.contains("Acme Facebook") && text.contains("Acme Instagram"), "{text}");
        assert!(!ephemeral(&status["data"]));
        let channel = rig.run(user, in_channel, "channel", &[("channel", &fb)]).await;
        let text = channel["data"]["content"].as_str().unwrap();
        assert!(text.contains("Acme Facebook") && text.contains("password"), "{text}");
        // Buttons only for someone who may press them: an editor would only be refused.
        let buttons = channel["data"]["components"].as_array().map_or(0, Vec::len);
        assert_eq!(buttons > 0, user == ALICE, "{user}: {channel}");
        let history = rig.run(user, in_channel, "history", &[("channel", &fb)]).await;
        assert!(!history["data"]["content"].as_str().unwrap().is_empty());
    }

    // reconnect: the admin's link only she sees, in the answer itself, which says nothing of a
    // private message (none is sent); the editor is refused, privately.
    let reconnect = rig.run(ALICE, in_channel, "reconnect", &[("channel", "acme face")]).await;
    assert!(ephemeral(&reconnect["data"]), "{reconnect}");
    let urls = link_urls(&reconnect["data"]);
    assert_eq!(urls.len(), 1, "{reconnect}");
    assert!(urls[0].starts_with("https://relink.test/"));
    let said = reconnect["data"]["content"].as_str().unwrap_or_default();
    assert!(!said.contains("private message"), "{said}");
    let refused = rig.run(EDDIE, in_channel, "reconnect", &[("channel", &fb)]).await;
    assert!(ephemeral(&refused["data"]), "{refused}");
    assert!(link_urls(&refused["data"]).is_empty());
    // In a direct message the link is the answer itself, ephemeral.
    let private = rig.run(ALICE, None, "reconnect", &[("channel", &fb)]).await;
    assert!(ephemeral(&private["data"]) && link_urls(&private["data"]).len() == 1, "{private}");

    // dashboard: a sign-in link for anyone of the team, seen only by them, in a channel too.
    for user in [ALICE, EDDIE] {
        let dashboard = rig.run(user, in_channel, "dashboard", &[]).await;
        assert!(ephemeral(&dashboard["data"]), "{dashboard}");
        let urls = link_urls(&dashboard["data"]);
        assert!(urls.len() == 1 && urls[0].starts_with("https://relink.test/team/sign-in/"), "{dashboard}");
    }

    // refresh, snooze and ack: the admin may, the editor is refused privately.
    let refresh = rig.run(ALICE, in_channel, "refresh", &[("channel", &fb)]).await;
    assert!(!refresh["data"]["content"].as_str().unwrap().is_empty());
    let snooze = rig.run(ALICE, in_channel, "snooze", &[("channel", &fb), ("for", "2d")]).await;
    assert!(!ephemeral(&snooze["data"]), "{snooze}");
    let ack = rig.run(ALICE, in_channel, "ack", &[("channel", &rig.facebook.id.0.to_string())]).await;
    assert!(!ephemeral(&ack["data"]), "{ack}");
    let incidents = rig.db.store.incidents(Some(rig.team.id), false).await.unwrap();
    let facebook = incidents.iter().find(|i| i.channel_id == rig.facebook.id).unwrap();
    assert!(facebook.snoozed_until.is_some() && facebook.acknowledged_at.is_some(), "{facebook:?}");
    for (name, options) in [
        ("refresh", vec![("channel", fb.as_str())]),
        ("snooze", vec![("channel", fb.as_str()), ("for", "2d")]),
        ("ack", vec![("channel", fb.as_str())]),
        ("subscribe", vec![]),
    ] {
        let refused = rig.run(EDDIE, in_channel, name, &options).await;
        assert!(ephemeral(&refused["data"]), "/{name} refused privately: {refused}");
    }

    // link: a wrong code is refused privately; a stranger sees nothing of the team.
    let link = rig.run(STRANGER, None, "link", &[("code", "NOPE-NOPE")]).await;
    assert!(ephemeral(&link["data"]), "{link}");
    let stranger = rig.run(STRANGER, Some(OTHER_CHANNEL), "status", &[]).await;
    assert!(!stranger["data"]["content"].as_str().unwrap().contains("Acme Facebook"), "{stranger}");
    let _ = &rig.alice;
}

async fn autocomplete_offers_the_channels_of_the_teams_in_context(db: TestStore) {
    let rig = Rig::new(db).await;
    let typing = |user, channel, typed: &str| {
        rig.interaction(
            user,
            channel,
            4,
            relink_command("reconnect", vec![json!({ "name": "channel", "type": 3, "value": typed, "focused": true })]),
        )
    };
    let (status, answer) = rig.interact(&typing(ALICE, Some(TEAM_CHANNEL), "face")).await;
    assert_eq!((status, answer["type"].as_u64()), (200, Some(8)), "{answer}");
    let choices = answer["data"]["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1, "{answer}");
    assert_eq!(choices[0]["name"], "Acme Facebook (Facebook)");
    assert_eq!(choices[0]["value"], rig.facebook.id.0.to_string());
    let (_, all) = rig.interact(&typing(EDDIE, None, "")).await;
    assert_eq!(all["data"]["choices"].as_array().unwrap().len(), 2, "an editor's DM: the team's channels");
    let (_, none) = rig.interact(&typing(ALICE, Some(OTHER_CHANNEL), "")).await;
    assert_eq!(none["data"]["choices"], json!([]), "an unbound channel shows no team's channels");
    let (_, stranger) = rig.interact(&typing(STRANGER, None, "acme")).await;
    assert_eq!(stranger["data"]["choices"], json!([]));
    // Autocomplete is never deferred and sends nothing else.
    assert!(rig.fake.calls().is_empty());
}

async fn the_alert_button_gives_an_admin_a_private_link_and_an_editor_a_private_refusal(db: TestStore) {
    let rig = Rig::new(db).await;
    rig.alert_and_deliver().await;
    let button = rig
        .fake
        .messages()
        .iter()
        .filter(|m| m.channel == TEAM_CHANNEL)
        .flat_map(|m| custom_ids(&m.body))
        .next()
        .unwrap();
    let press =
        |user| rig.interaction(user, Some(TEAM_CHANNEL), 3, json!({ "custom_id": button, "component_type": 2 }));
    let (status, answer) = rig.interact(&press(ALICE)).await;
    assert_eq!(status, 200);
    assert_eq!(answer["type"], 4, "{answer}");
    let links: Vec<String> = if link_urls(&answer["data"]).is_empty() {
        let followup = rig.wait_for_call(|c| c.method == "POST" && c.path.starts_with("/webhooks/")).await;
        assert!(ephemeral(&followup));
        link_urls(&followup)
    } else {
        assert!(ephemeral(&answer["data"]), "{answer}");
        link_urls(&answer["data"])
    };
    assert_eq!(links.len(), 1);
    assert!(links[0].starts_with("https://relink.test/"));
    let (_, refused) = rig.interact(&press(EDDIE)).await;
    assert!(ephemeral(&refused["data"]), "{refused}");
    assert!(link_urls(&refused["data"]).is_empty());
}

/// Two Facebook Pages an editor connected lose their token to one password change: one alert
/// about both goes to the team's channel (the editor may not reconnect, so everyone hears it).
async fn a_grouped_alert_has_im_on_it_which_acknowledges_all_its_channels_for_an_admin_and_refuses_an_editor(
    db: TestStore,
) {
    let rig = Rig::new(db).await;
    rig.alert_and_deliver().await;
    let store = &rig.db.store;
    let now = rig.db.now();
    let eddie = store.members_by_discord(DiscordUserId(EDDIE as i64)).await.unwrap().remove(0);
    let mut pages = Vec::new();
    for (account, name) in [("fb2", "Acme Shop"), ("fb3", "Acme Blog")] {
        let mut channel = new_channel(&rig.team, Provider::Facebook, account, Some(eddie.id));
        channel.display_name = DisplayName::parse(name).unwrap();
        let channel =
            store.add_channel(&channel, &tokens("access", None, Some(now + Days::days(5))), now).await.unwrap();
        store.set_health(channel.id, &Health::NeedsReauth(Reason::PasswordChanged), None, now).await.unwrap();
        pages.push(channel.id);
    }
    rig.db.clock.advance(Days::seconds(5));
    rig.alert_and_deliver().await;

    let messages = rig.fake.messages();
    let grouped = messages
        .iter()
        .filter(|m| m.channel == TEAM_CHANNEL)
        .find(|m| m.body["embeds"][0]["fields"].as_array().unwrap().iter().any(|f| f["name"] == "Channels"))
        .unwrap_or_else(|| panic!("one alert names both Pages: {messages:#?}"));
    let ids = custom_ids(&grouped.body);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids[0].starts_with("ra:"), "{ids:?}");
    assert_eq!(ids[1], ids[0].replacen("ra:", "ka:", 1), "I'm on it names the same alert");

    let open = async || {
        let incidents = rig.db.store.incidents(Some(rig.team.id), false).await.unwrap();
        let of = |channel| incidents.iter().find(|i| i.channel_id == channel && i.resolved_at.is_none()).cloned();
        (pages.iter().map(|page| of(*page).unwrap()).collect::<Vec<_>>(), of(rig.facebook.id).unwrap())
    };
    let press =
        |user| rig.interaction(user, Some(TEAM_CHANNEL), 3, json!({ "custom_id": ids[1], "component_type": 2 }));
    let (status, refused) = rig.interact(&press(EDDIE)).await;
    assert_eq!(status, 200);
    assert!(ephemeral(&refused["data"]), "an editor's press is refused privately: {refused}");
    let (grouped_incidents, _) = open().await;
    assert!(grouped_incidents.iter().all(|i| i.acknowledged_at.is_none()), "{grouped_incidents:?}");

    let (status, answer) = rig.interact(&press(ALICE)).await;
    assert_eq!(status, 200);
    assert_eq!(answer["type"], 4, "{answer}");
    assert!(!ephemeral(&answer["data"]), "the team sees who took it on: {answer}");
    let content = answer["data"]["content"].as_str().unwrap();
    assert!(content.contains("Acme Shop") && content.contains("Acme Blog"), "{content}");
    let (grouped_incidents, other) = open().await;
    for incident in &grouped_incidents {
        assert_eq!(incident.acknowledged_by, Some(rig.alice.id), "{incident:?}");
    }
    assert!(other.acknowledged_at.is_none(), "another alert's channel is left alone: {other:?}");
}

/// A channel whose network has not been answering for a day: the team is told, and nothing is
/// asked of anyone, so the message carries neither "Get reconnect link" nor "I'm on it".
async fn a_degraded_alert_asks_nothing_and_carries_no_button(db: TestStore) {
    let rig = Rig::new(db).await;
    rig.alert_and_deliver().await;
    let store = &rig.db.store;
    let now = rig.db.now();
    let mut channel = new_channel(&rig.team, Provider::Facebook, "fb4", None);
    channel.display_name = DisplayName::parse("Acme Stats").unwrap();
    let channel = store.add_channel(&channel, &tokens("access", None, Some(now + Days::days(5))), now).await.unwrap();
    store.set_health(channel.id, &Health::Degraded, None, now).await.unwrap();
    rig.db.clock.advance(Days::seconds(5));
    rig.alert_and_deliver().await;
    rig.db.clock.advance(AlertsConfig::default().degraded_after + Days::minutes(1));
    rig.alert_and_deliver().await;

    let messages = rig.fake.messages();
    let degraded: Vec<_> = messages
        .iter()
        .filter(|m| m.body["embeds"][0]["title"].as_str().is_some_and(|t| t.contains("Acme Stats")))
        .collect();
    assert!(degraded.iter().any(|m| m.channel == TEAM_CHANNEL), "the team hears of it: {messages:#?}");
    for message in degraded {
        assert!(buttons(&message.body).is_empty(), "{:#}", message.body);
    }
}

async fn subscribe_binds_the_channel_for_a_member_who_may_reconnect(db: TestStore) {
    let rig = Rig::new(db).await;
    let editor = rig.run(EDDIE, Some(OTHER_CHANNEL), "subscribe", &[]).await;
    assert!(ephemeral(&editor["data"]), "{editor}");
    assert!(rig.db.store.bindings_of_chat(ChatPlatform::Discord, OTHER_CHANNEL as i64).await.unwrap().is_empty());
    let admin = rig.run(ALICE, Some(OTHER_CHANNEL), "subscribe", &[]).await;
    assert!(!ephemeral(&admin["data"]), "{admin}");
    let bindings = rig.db.store.bindings_of_chat(ChatPlatform::Discord, OTHER_CHANNEL as i64).await.unwrap();
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0].team_id, rig.team.id);
    // A server member without the permission to manage the channel may not bind it.
    let mut body = rig.command(ALICE, Some(8003), "subscribe", &[]);
    body["member"]["permissions"] = json!("0");
    let (_, refused) = rig.interact(&body).await;
    assert!(ephemeral(&refused["data"]), "{refused}");
    assert!(rig.db.store.bindings_of_chat(ChatPlatform::Discord, 8003).await.unwrap().is_empty());
}

async fn a_one_time_code_links_a_discord_account(db: TestStore) {
    let rig = Rig::new(db).await;
    let now = rig.db.now();
    let nina = NewMember {
        team_id: rig.team.id,
        name: MemberName::parse("Nina").unwrap(),
        role: Role::Owner,
        discord_user_id: None,
        telegram_user_id: None,
    };
    let nina = rig.db.store.add_member(&nina, now).await.unwrap();
    let code = InviteCode::generate();
    rig.db.store.create_invite(nina.id, &code, now, now + Days::days(1)).await.unwrap();
    let linked = rig.run(STRANGER, None, "link", &[("code", &code.expose())]).await;
    assert!(ephemeral(&linked["data"]), "{linked}");
    let members = rig.db.store.members_by_discord(DiscordUserId(STRANGER as i64)).await.unwrap();
    assert_eq!(members.iter().map(|m| m.id).collect::<Vec<_>>(), [nina.id]);
    let again = rig.run(4242, None, "link", &[("code", &code.expose())]).await;
    assert!(ephemeral(&again["data"]));
    assert!(rig.db.store.members_by_discord(DiscordUserId(4242)).await.unwrap().is_empty());
}

async fn slow_work_is_deferred_and_its_answer_replaces_the_deferral(db: TestStore) {
    let rig = Rig::with(db, Limits::default(), |s| s.defer_after = Duration::ZERO).await;
    let (status, answer) = rig.interact(&rig.command(ALICE, Some(TEAM_CHANNEL), "status", &[])).await;
    assert_eq!((status, answer["type"].as_u64()), (200, Some(5)), "deferred: {answer}");
    assert!(!ephemeral(&answer["data"]));
    let edit = rig
        .wait_for_call(|c| {
            c.method == "PATCH" && c.path == format!("/webhooks/{APPLICATION_ID}/{{token}}/messages/@original")
        })
        .await;
    assert!(edit["content"].as_str().unwrap().contains("Acme Facebook"), "{edit}");

    // A private command defers privately and its link arrives in the edit.
    let (_, answer) = rig.interact(&rig.command(ALICE, None, "reconnect", &[("channel", "acme facebook")])).await;
    assert_eq!(answer["type"], 5);
    assert!(ephemeral(&answer["data"]), "{answer}");
    let edits = || {
        rig.fake.calls().into_iter().filter(|c| c.method == "PATCH" && c.path.ends_with("/messages/@original")).count()
    };
    for _ in 0..200 {
        if edits() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let calls = rig.fake.calls();
    let last = calls.iter().rev().find(|c| c.method == "PATCH" && c.path.ends_with("/messages/@original")).unwrap();
    assert_eq!(link_urls(&last.body).len(), 1, "{:?}", last.body);
    assert!(calls.iter().all(|c| !c.path.contains("interaction-token")), "tokens never recorded in paths");
}

/// Property, sampled: whatever JSON Discord (or whoever holds the key) signs and posts to the
/// endpoint — any type, any data, options of any shape, any user and channel fields — the
/// endpoint answers it or refuses it with a 4xx; never a 5xx, never a dropped connection.
async fn any_signed_interaction_is_answered_or_refused_never_a_server_error(db: TestStore) {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree as _;
    use proptest::test_runner::TestRunner;

    let rig = Rig::new(db).await;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(|n| Value::from(n.to_string())),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec!["relink", "status", "channel", "reconnect", "snooze", "ack", "r:1", "z:1:24"])
            .prop_map(Value::from),
    ];
    let keys = vec!["name", "type", "value", "options", "focused", "custom_id", "id", "user", "permissions"];
    let value = leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(keys.clone()), inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    });
    let strategy = (value.clone(), value, 0_u8..7, any::<bool>(), any::<bool>());
    let mut runner = TestRunner::default();
    for _ in 0..48 {
        let (data, extra, kind, in_guild, as_admin) = strategy.new_tree(&mut runner).unwrap().current();
        let user = if as_admin { ALICE } else { EDDIE };
        let mut body = rig.interaction(user, in_guild.then_some(TEAM_CHANNEL), kind, data);
        if !as_admin {
            body["member"] = extra;
        }
        let (status, answer) = rig.interact(&body).await;
        assert!(status < 500, "{status} for {body}: {answer}");
    }
}

async fn an_edited_digest_keeps_the_link_buttons_of_the_channels_still_to_reconnect(db: TestStore) {
    let rig = Rig::new(db).await;
    let notifier = rig.discord.notifier();
    let (first, edited) = digest(&rig.team, rig.db.now());
    let to = Destination::DiscordUser(ALICE as i64);
    let all = links(&[1, 2, 3]);
    let sent =
        notifier.send(to, &Outgoing { alert: &first, idempotency_key: "d1", reconnect_links: &all }).await.unwrap();
    let open = links(&[1, 3]);
    notifier
        .edit(to, &sent, &Outgoing { alert: &edited, idempotency_key: "d2", reconnect_links: &open })
        .await
        .unwrap();
    let messages = rig.fake.messages();
    let message = messages.iter().find(|m| m.body["embeds"][0]["title"] == first.title).unwrap();
    assert_eq!(link_urls(&message.body).len(), 3);
    assert_eq!(message.edits.len(), 1, "{message:#?}");
    let urls = link_urls(&message.edits[0]);
    assert_eq!(urls, ["https://relink.test/r/1", "https://relink.test/r/3"]);
    let description = message.edits[0]["embeds"][0]["description"].as_str().unwrap();
    assert!(description.contains("✅ ~~Acme 2"), "{description}");
}
