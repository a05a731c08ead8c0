//! The Telegram bot against a fake Bot API server on loopback (`support::telegram`), on both
//! engines: every command for an admin and for an editor, a group alert whose button a viewer
//! and an admin press, an edited digest's links, the webhook's secret and replays, blocked and
//! migrated chats, and the rate limits kept without a single 429.

// These are test bodies run through `both_engines!` (not `#[test]` functions clippy recognises):
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use relink::app::App;
use relink_bot::telegram::{Caps, Mode, PollTurn, Settings, Telegram};
use relink_core::alerts::{DeliveryConfig, Destination, NoLinks, Notifier as _, NotifyError, Outgoing};
use relink_core::provider::Providers;
use relink_core::store::{DeliveryResult, RateSlot};
use relink_core::{ChatPlatform, Language};
use secrecy::SecretString;

use crate::commands::{ADMIN, EDITOR, GROUP, Rig, VIEWER};
use crate::serve::Served;
use crate::support::telegram::{BOT_TOKEN, Call, FakeTelegram, Limits, message, press};
use crate::support::{TestStore, both_engines, digest, links};

both_engines!(
    every_command_answers_an_admin_and_refuses_an_editor_over_the_bot_api,
    a_group_alert_gives_its_button_presser_a_private_link_or_a_refusal,
    the_webhook_refuses_a_wrong_secret_and_handles_a_replayed_update_once,
    a_webhook_post_with_a_wrong_secret_and_a_huge_body_is_refused_without_reading_it,
    a_blocked_chat_is_permanent_and_a_migrated_group_takes_its_binding_along,
    bursts_to_one_chat_keep_the_limits_without_a_429,
    the_outbox_delivers_bursts_to_several_chats_in_order_without_a_429,
    an_edited_digest_keeps_the_link_buttons_of_the_channels_still_to_reconnect,
    a_chat_another_process_has_just_used_does_not_hold_up_the_bots_other_chats,
    two_processes_polling_one_bot_take_turns_by_lease_and_telegram_never_answers_409,
    a_dead_pollers_lease_runs_out_and_another_process_polls_within_it,
    a_poll_another_getupdates_call_ends_is_a_conflict_not_an_error,
    a_sender_too_late_for_its_slot_gives_it_back_and_its_group_does_not_wait_three_seconds,
    a_groups_burst_is_claimed_whole_by_one_process_and_kept_from_the_others,
    a_delivery_pass_claims_again_as_its_lanes_finish_instead_of_idling_until_the_slowest_ends,
    a_lane_that_runs_half_its_lease_hands_the_rest_back_due_at_once_not_leased_until_the_lease_ends,
);

const SECRET: &str = "webhook-secret-for-tests";

/// Fast caps so tests take milliseconds; the fake enforces the same.
fn caps() -> Caps {
    Caps { overall_per_second: 30.0, per_chat_per_second: 20.0, per_group_per_minute: 1200.0, headroom: 0.05 }
}

fn limits() -> Limits {
    Limits { overall_per_second: 30, per_chat_per_second: 20, per_group_per_minute: 1200 }
}

async fn bot(rig: &Rig, fake: &FakeTelegram, mode: Mode) -> Arc<Telegram> {
    poller(rig, fake.url.clone(), mode, Duration::ZERO)
}

/// A bot reaching the fake through `api_url` (one of its doors), long polling for `poll_timeout`.
fn poller(rig: &Rig, api_url: url::Url, mode: Mode, poll_timeout: Duration) -> Arc<Telegram> {
    let settings = Settings {
        token: SecretString::from(BOT_TOKEN),
        api_url,
        mode,
        webhook_secret: Some(SecretString::from(SECRET)),
        public_url: "https://relink.test/".parse().unwrap(),
        caps: caps(),
        poll_timeout,
    };
    Telegram::new(settings, rig.services.clone()).unwrap()
}

async fn every_command_answers_an_admin_and_refuses_an_editor_over_the_bot_api(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = bot(&rig, &fake, Mode::Polling).await;
    telegram.register_commands().await.unwrap();
    let registered = fake.accepted("setMyCommands");
    assert_eq!(registered.len(), 3, "English by default, Italian and Japanese");
    assert!(registered.iter().any(|c| c.body["language_code"] == "ja"
        && c.body["commands"].as_array().unwrap().iter().any(|cmd| cmd["command"] == "reconnect")));

    let commands = [
        "/start",
        "/help",
        "/status",
        "/channel facebok",
        "/reconnect facebook",
        "/refresh facebook",
        "/snooze facebook 2d",
        "/ack facebook",
        "/history facebook",
        "/subscribe",
        "/frobnicate",
        "/channel",
        "/dashboard",
    ];
    let mut id = 100;
    for user in [ADMIN, EDITOR] {
        for text in commands {
            id += 1;
            fake.push_update(message(id, user, user, text));
        }
    }
    assert_eq!(telegram.poll_once().await.unwrap(), commands.len() * 2);
    let sent = fake.accepted("sendMessage");
    assert_eq!(sent.len(), commands.len() * 2, "every command gets exactly one answer");
    let to = |user: i64| -> Vec<String> {
        sent.iter().filter(|c| c.chat() == Some(user)).map(|c| c.text().to_owned()).collect()
    };
    let admin = to(ADMIN);
    assert!(admin[0].contains(&format!("This chat's id: {ADMIN}")));
    assert!(admin[2].contains("<b>Acme: 3 channels</b>"), "{}", admin[2]);
    assert!(admin[4].contains("Reconnect Acme Facebook: <a href=\"https://relink.test/r/"), "{}", admin[4]);
    assert!(sent.iter().all(|c| c.body["link_preview_options"]["is_disabled"] == true));
    assert!(admin[10].contains("Did you mean") || admin[10].contains("/help"), "{}", admin[10]);
    assert_eq!(admin[11], "Usage: /channel NAME");
    // The sign-in link to the team page, in the admin's private chat with the bot.
    assert!(
        admin[12].contains("Open the team page of Acme: <a href=\"https://relink.test/team/sign-in/"),
        "{}",
        admin[12]
    );
    let editor = to(EDITOR);
    for (text, answer) in commands.iter().zip(&editor) {
        if ["/reconnect", "/refresh", "/snooze", "/ack", "/subscribe"].iter().any(|c| text.starts_with(c)) {
            assert!(answer.starts_with("Only the primary owner"), "{text}: {answer}");
        }
        assert!(!answer.contains("/r/"), "{text}: an editor never gets a link");
    }
    // A second poll asks only for newer updates and finds none.
    assert_eq!(telegram.poll_once().await.unwrap(), 0);

    // In a group, /subscribe asks Telegram whether the caller administers it.
    let group = -100_555;
    fake.push_update(message(500, group, ADMIN, "/subscribe@relink_bot"));
    fake.push_update(message(501, group, ADMIN, "good morning"));
    assert_eq!(telegram.poll_once().await.unwrap(), 2);
    fake.make_admin(group, ADMIN);
    fake.push_update(message(502, group, ADMIN, "/subscribe"));
    assert_eq!(telegram.poll_once().await.unwrap(), 1);
    let answers: Vec<String> =
        fake.accepted("sendMessage").iter().filter(|c| c.chat() == Some(group)).map(|c| c.text().to_owned()).collect();
    assert_eq!(answers.len(), 2, "plain chatter in a group gets no answer: {answers:?}");
    assert!(answers[0].contains("only the group's admins") && answers[1].contains("now receives Acme's alerts"));
    assert_eq!(fake.accepted("getChatMember").len(), 2);
    assert_eq!(fake.limited(), 0);
}

async fn a_group_alert_gives_its_button_presser_a_private_link_or_a_refusal(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = bot(&rig, &fake, Mode::Polling).await;
    let alerts = rig.services.store.alerts(Some(rig.team.id), 10).await.unwrap();
    let alert = alerts.iter().find(|a| a.reconnect.is_some()).expect("an alert with a reconnect action");
    let notifier = telegram.notifier();
    let outgoing = Outgoing { alert, idempotency_key: "k1", reconnect_links: &[] };
    let sent = notifier.send(Destination::TelegramChat(GROUP), &outgoing).await.unwrap();
    let call = fake.accepted("sendMessage").pop().unwrap();
    let keyboard = call.body["reply_markup"]["inline_keyboard"].to_string();
    let data = format!("ra:{}", alert.id);
    assert!(keyboard.contains(&data) && keyboard.contains("Get reconnect link"), "{keyboard}");
    assert!(!call.text().contains("/r/"), "a group alert carries no link");

    fake.push_update(press(201, GROUP, VIEWER, &data));
    fake.never_started(7777);
    rig.services
        .store
        .add_member(
            &relink_core::store::NewMember {
                team_id: rig.team.id,
                name: relink_core::MemberName::parse("Quiet").unwrap(),
                role: relink_core::Role::Owner,
                discord_user_id: None,
                telegram_user_id: Some(relink_core::TelegramUserId(7777)),
            },
            rig.db.now(),
        )
        .await
        .unwrap();
    fake.push_update(press(202, GROUP, 7777, &data));
    fake.push_update(press(203, GROUP, ADMIN, &data));
    fake.clear();
    assert_eq!(telegram.poll_once().await.unwrap(), 3);
    let answers = fake.accepted("answerCallbackQuery");
    assert_eq!(answers.len(), 3);
    assert!(answers[0].body["text"].as_str().unwrap().starts_with("Only the primary owner"), "{:?}", answers[0].body);
    assert_eq!(answers[0].body["show_alert"], true);
    assert!(answers[1].body["text"].as_str().unwrap().contains("open a private chat"), "{:?}", answers[1].body);
    let messages = fake.accepted("sendMessage");
    assert_eq!(messages.len(), 1, "only the admin gets a message: {messages:?}");
    assert_eq!(messages[0].chat(), Some(ADMIN));
    assert!(messages[0].text().contains("https://relink.test/r/"));
    assert!(fake.calls().iter().all(|c| c.chat() != Some(GROUP) || !c.text().contains("/r/")));

    // The incident resolves: the group's message is edited.
    notifier.edit(Destination::TelegramChat(GROUP), &sent, &outgoing).await.unwrap();
    let edit = fake.accepted("editMessageText").pop().unwrap();
    assert_eq!(edit.chat(), Some(GROUP));
}

async fn the_webhook_refuses_a_wrong_secret_and_handles_a_replayed_update_once(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = bot(&rig, &fake, Mode::Webhook).await;
    telegram.configure_delivery().await.unwrap();
    let webhook = fake.accepted("setWebhook").pop().unwrap();
    assert_eq!(webhook.body["url"], "https://relink.test/telegram/webhook");
    assert_eq!(webhook.body["secret_token"], SECRET);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = relink_bot::telegram::router(telegram.clone());
    tokio::spawn(async move { axum_serve(listener, router).await });
    let client = reqwest::Client::new();
    let url = format!("http://{address}/telegram/webhook");
    let update = message(301, ADMIN, ADMIN, "/status");
    let post = |secret: Option<&'static str>| {
        let mut request = client.post(&url).json(&update);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send()
    };
    assert_eq!(post(Some("wrong-secret-of-the-same-size!")).await.unwrap().status(), 401);
    assert_eq!(post(None).await.unwrap().status(), 401);
    assert_eq!(telegram.handle_pending().await.unwrap(), 0, "a refused update is not stored");
    for _ in 0..3 {
        assert_eq!(post(Some(SECRET)).await.unwrap().status(), 200);
    }
    assert_eq!(telegram.handle_pending().await.unwrap(), 1);
    assert_eq!(telegram.handle_pending().await.unwrap(), 0);
    assert_eq!(post(Some(SECRET)).await.unwrap().status(), 200, "a late replay is acknowledged…");
    assert_eq!(telegram.handle_pending().await.unwrap(), 0, "…and not handled again");
    let replies = fake.accepted("sendMessage");
    assert_eq!(replies.len(), 1);
    assert!(replies[0].text().contains("Acme: 3 channels"));
}

async fn a_webhook_post_with_a_wrong_secret_and_a_huge_body_is_refused_without_reading_it(db: TestStore) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = bot(&rig, &fake, Mode::Webhook).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(axum_serve(listener, relink_bot::telegram::router(telegram.clone())));
    // Announces 1.5 MB (under axum's usual 2 MB limit) and sends a kilobyte of it: a server that
    // read the body before the secret would wait for the rest.
    let answer = |secret: &'static str, length: usize| async move {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let head = format!(
            "POST /telegram/webhook HTTP/1.1\r\nHost: relink.test\r\nContent-Type: application/json\r\n\
             X-Telegram-Bot-Api-Secret-Token: {secret}\r\nContent-Length: {length}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&[b' '; 1_024]).await.unwrap();
        let mut status = [0u8; 12];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut status)).await;
        String::from_utf8_lossy(&read.expect("answered without waiting for the body").map(|_| status).unwrap())
            .into_owned()
    };
    assert_eq!(answer("wrong-secret-of-the-same-size!", 1_500_000).await, "HTTP/1.1 401");
    // The right secret with more than the limit: refused without storing anything.
    assert_eq!(answer(SECRET, 2 * 1024 * 1024).await, "HTTP/1.1 413");
    assert_eq!(telegram.handle_pending().await.unwrap(), 0);
}

async fn axum_serve(listener: tokio::net::TcpListener, router: axum::Router) {
    let shutdown = tokio_util::sync::CancellationToken::new();
    relink_web::serve(listener, router, shutdown).await.unwrap();
}

async fn a_blocked_chat_is_permanent_and_a_migrated_group_takes_its_binding_along(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = bot(&rig, &fake, Mode::Polling).await;
    let notifier = telegram.notifier();
    let alerts = rig.services.store.alerts(Some(rig.team.id), 10).await.unwrap();
    let outgoing = Outgoing { alert: &alerts[0], idempotency_key: "k", reconnect_links: &[] };

    fake.block(ADMIN);
    let blocked = notifier.send(Destination::TelegramUser(ADMIN), &outgoing).await.unwrap_err();
    assert!(matches!(blocked, NotifyError::Permanent(_)), "{blocked:?}");

    let supergroup = -100_999_000;
    fake.migrate(GROUP, supergroup);
    let sent = notifier.send(Destination::TelegramChat(GROUP), &outgoing).await.unwrap();
    assert!(sent.0.starts_with(&format!("{supergroup}:")), "{sent:?}");
    let store = &rig.services.store;
    assert!(store.bindings_of_chat(ChatPlatform::Telegram, GROUP).await.unwrap().is_empty());
    assert_eq!(store.bindings_of_chat(ChatPlatform::Telegram, supergroup).await.unwrap().len(), 1);

    // The service message Telegram posts in the old group moves bindings too.
    let newer = -100_999_001;
    let mut update = message(401, supergroup, ADMIN, "");
    update["message"].as_object_mut().unwrap().remove("text");
    update["message"]["migrate_to_chat_id"] = newer.into();
    fake.push_update(update);
    telegram.poll_once().await.unwrap();
    assert_eq!(store.bindings_of_chat(ChatPlatform::Telegram, newer).await.unwrap().len(), 1);
}

async fn bursts_to_one_chat_keep_the_limits_without_a_429(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = bot(&rig, &fake, Mode::Polling).await;
    let notifier = telegram.notifier();
    let alerts = rig.services.store.alerts(Some(rig.team.id), 10).await.unwrap();
    let outgoing = Outgoing { alert: &alerts[0], idempotency_key: "k", reconnect_links: &[] };
    let sends = (0..12).map(|_| notifier.send(Destination::TelegramChat(GROUP), &outgoing));
    for result in futures_util::future::join_all(sends).await {
        result.unwrap();
    }
    assert_eq!(fake.accepted("sendMessage").len(), 12);
    assert_eq!(fake.limited(), 0, "the budget keeps under the fake's limits");

    // The fake does answer 429 when a client ignores the limits.
    let client = reqwest::Client::new();
    let url = format!("{}bot{BOT_TOKEN}/sendMessage", fake.url);
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let answer: serde_json::Value = client
            .post(&url)
            .json(&serde_json::json!({"chat_id": 42, "text": "x"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        statuses.push(answer["error_code"].as_i64());
        if answer["error_code"] == 429 {
            assert_eq!(answer["parameters"]["retry_after"], 1);
        }
    }
    assert!(statuses.contains(&Some(429)), "{statuses:?}");
}

/// Waits (at most 30 s) until the fake has accepted a call `matching`.
async fn accepted_call(fake: &FakeTelegram, method: &str, matching: impl Fn(&Call) -> bool) -> Call {
    for _ in 0..1_500 {
        if let Some(call) = fake.accepted(method).into_iter().find(|c| matching(c)) {
            return call;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the fake never accepted {method}: {:?}", fake.calls());
}

// Multi-threaded: `Served` blocks its thread while it waits for log lines, and the fake Telegram
// runs on this runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_bot_by_long_polling_against_the_configured_api_url() {
    let fake = FakeTelegram::start(limits()).await;
    let dir = tempfile::tempdir().unwrap();
    let api_url = fake.url.to_string();
    let mut served = Served::start_with(
        dir.path(),
        &[("RELINK_TELEGRAM__TOKEN", BOT_TOKEN), ("RELINK_TELEGRAM__API_URL", &api_url)],
    );
    served.wait_for("Telegram bot started");
    assert_eq!(fake.accepted("setMyCommands").len(), 3);
    assert_eq!(fake.accepted("deleteWebhook").len(), 1, "polling removes any webhook");
    fake.push_update(message(1, 42, 42, "/start"));
    let reply = accepted_call(&fake, "sendMessage", |c| c.chat() == Some(42)).await;
    assert!(reply.text().contains("This chat's id: 42"), "{}", reply.text());
    let webhook = reqwest::Client::new().post(format!("http://{}/telegram/webhook", served.address)).body("{}").send();
    assert_eq!(webhook.await.unwrap().status(), 404, "no webhook route in polling mode");
    let (status, log) = served.stop("-TERM");
    assert!(status.success(), "{}", log.join("\n"));
    assert!(!log.join("\n").contains("fake-token-for-tests"), "the token never reaches the log");
}

// Multi-threaded: `Served` blocks its thread while it waits for log lines, and the fake Telegram
// runs on this runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_webhook_updates_with_the_secret_on_its_web_server() {
    let fake = FakeTelegram::start(limits()).await;
    let dir = tempfile::tempdir().unwrap();
    let api_url = fake.url.to_string();
    let mut served = Served::start_with(
        dir.path(),
        &[
            ("RELINK_TELEGRAM__TOKEN", BOT_TOKEN),
            ("RELINK_TELEGRAM__API_URL", &api_url),
            ("RELINK_TELEGRAM__MODE", "webhook"),
            ("RELINK_TELEGRAM__WEBHOOK_SECRET", SECRET),
            ("RELINK_WEB__PUBLIC_URL", "https://relink.example"),
        ],
    );
    served.wait_for("Telegram bot started");
    let webhook = fake.accepted("setWebhook").pop().unwrap();
    assert_eq!(webhook.body["url"], "https://relink.example/telegram/webhook");
    let url = format!("http://{}/telegram/webhook", served.address);
    let client = reqwest::Client::new();
    let update = message(7, 43, 43, "/help");
    let refused = client.post(&url).header("X-Telegram-Bot-Api-Secret-Token", "nope").json(&update).send();
    assert_eq!(refused.await.unwrap().status(), 401);
    for _ in 0..2 {
        let sent = client.post(&url).header("X-Telegram-Bot-Api-Secret-Token", SECRET).json(&update).send();
        assert_eq!(sent.await.unwrap().status(), 200);
    }
    accepted_call(&fake, "sendMessage", |c| c.chat() == Some(43)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.accepted("sendMessage").len(), 1, "the replay is answered once");
    let (status, log) = served.stop("-TERM");
    assert!(status.success(), "{}", log.join("\n"));
    let log = log.join("\n");
    assert!(!log.contains("fake-token-for-tests") && !log.contains(SECRET), "no secret in the log");
}

async fn the_outbox_delivers_bursts_to_several_chats_in_order_without_a_429(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = bot(&rig, &fake, Mode::Polling).await;
    let store = &rig.services.store;
    let template = store.alerts(Some(rig.team.id), 10).await.unwrap().remove(0);
    let chats = [-100_001, -100_002, -100_003, 4_242];
    // Each chat's alerts one after another in the outbox: a sequential worker would wait out
    // every chat's limit in turn.
    for chat in chats {
        for n in 0..5 {
            let mut alert = template.clone();
            alert.title = format!("Alert {n} for {chat}");
            store.enqueue_alert(&alert, &[Destination::TelegramChat(chat)], rig.db.now()).await.unwrap();
        }
    }
    // The deliverer `relink serve` would build, with this bot's notifier and no links.
    let config = DeliveryConfig { owner: "telegram-test".into(), ..DeliveryConfig::default() };
    let app = App::builder(store.clone(), Providers::new(HashMap::new()), Arc::new(rig.db.clock.clone()))
        .web(rig.settings.clone())
        .links(Arc::new(NoLinks))
        .notifier(Arc::new(telegram.notifier()))
        .delivery(config)
        .build()
        .unwrap();
    let deliverer = app.deliverer.unwrap();
    let outcome = deliverer.deliver_due(rig.db.now()).await.unwrap();
    // The rig's own alerts are in the outbox too.
    assert!(outcome.claimed >= 20 && outcome.sent == outcome.claimed, "{outcome:?}");
    assert_eq!(fake.limited(), 0);
    for chat in chats {
        let titles: Vec<String> = fake
            .accepted("sendMessage")
            .iter()
            .filter(|c| c.chat() == Some(chat))
            .map(|c| c.text().lines().next().unwrap_or_default().to_owned())
            .collect();
        let expected: Vec<String> = (0..5).map(|n| format!("<b>🚨 Alert {n} for {chat}</b>")).collect();
        assert_eq!(titles, expected, "a chat's alerts arrive in order");
    }
}

async fn an_edited_digest_keeps_the_link_buttons_of_the_channels_still_to_reconnect(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = bot(&rig, &fake, Mode::Polling).await;
    let notifier = telegram.notifier();
    let (first, edited) = digest(&rig.team, rig.db.now());
    let to = Destination::TelegramUser(ADMIN);
    let all = links(&[1, 2, 3]);
    let sent =
        notifier.send(to, &Outgoing { alert: &first, idempotency_key: "d1", reconnect_links: &all }).await.unwrap();
    let keyboard = fake.accepted("sendMessage").pop().unwrap().body["reply_markup"]["inline_keyboard"].to_string();
    assert!(["/r/1", "/r/2", "/r/3"].iter().all(|link| keyboard.contains(link)), "{keyboard}");

    // Acme 2 is connected again the same day: its line is struck through and loses its link.
    let open = links(&[1, 3]);
    notifier
        .edit(to, &sent, &Outgoing { alert: &edited, idempotency_key: "d2", reconnect_links: &open })
        .await
        .unwrap();
    let edit = fake.accepted("editMessageText").pop().unwrap();
    assert!(edit.text().contains("<s>Acme 2"), "{}", edit.text());
    let keyboard = edit.body["reply_markup"]["inline_keyboard"].to_string();
    assert!(keyboard.contains("/r/1") && keyboard.contains("/r/3") && !keyboard.contains("/r/2"), "{keyboard}");
}

/// Two processes' lanes for one group chat, and a lane for another chat (issue 21: two 3.06 s
/// stalls when the outbox split a chat's burst between two processes). The second lane for the
/// group finds the chat busy for a whole group interval; it must not take the bot's schedule
/// with it, so the other chat goes in the bot's next slot, not after the group's. Times are
/// given to the store, so the schedule is exact.
async fn a_chat_another_process_has_just_used_does_not_hold_up_the_bots_other_chats(db: TestStore) {
    let store = &db.store;
    let group = ("4242:-100", 3_060_000); // 20 messages a minute, with headroom
    let other = ("4242:-200", 3_060_000);
    let bot = ("4242", 34_000); // 30 messages a second, with headroom
    let slack = bot.1;
    let t0 = 1_800_000_000_000_000;

    let first = store.reserve_rate_slots(group, bot, t0, slack).await.unwrap();
    assert_eq!(first, RateSlot::Reserved(t0));
    // The other process's lane for the group, a millisecond later: the group is busy until
    // `t0 + 3.06 s`, and that lane is told so without taking a slot.
    let second = store.reserve_rate_slots(group, bot, t0 + 1_000, slack).await.unwrap();
    assert_eq!(second, RateSlot::ChatBusyUntil(t0 + 3_060_000));
    // A third lane, for another chat, two milliseconds after the first: the bot has room from
    // `t0 + 34 ms`.
    let elsewhere = store.reserve_rate_slots(other, bot, t0 + 2_000, slack).await.unwrap();
    assert_eq!(
        elsewhere,
        RateSlot::Reserved(t0 + 34_000),
        "the other chat takes the bot's next slot, not one after the busy group's"
    );
    // The waiting lane gets the group's next slot when it comes.
    let again = store.reserve_rate_slots(group, bot, t0 + 3_060_000, slack).await.unwrap();
    assert_eq!(again, RateSlot::Reserved(t0 + 3_060_000));
}

/// Two relink processes' Telegram front-ends in polling mode on one database, each through its
/// own door to the fake, run as `relink serve` runs them. Without the polling lease both call
/// `getUpdates` and Telegram ends one of every two overlapping calls with 409 Conflict.
async fn two_processes_polling_one_bot_take_turns_by_lease_and_telegram_never_answers_409(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let fronts =
        [fake.url.clone(), fake.door(1).await].map(|url| poller(&rig, url, Mode::Polling, Duration::from_secs(1)));
    let stops = [tokio_util::sync::CancellationToken::new(), tokio_util::sync::CancellationToken::new()];
    let runs: Vec<_> =
        fronts.iter().zip(&stops).map(|(front, stop)| tokio::spawn(front.clone().run(stop.clone()))).collect();
    let chats: Vec<i64> = (1..=6).map(|n| 5_000 + n).collect();
    for (n, chat) in chats.iter().enumerate() {
        fake.push_update(message(i64::try_from(n).unwrap() + 1, *chat, *chat, "/start"));
        accepted_call(&fake, "sendMessage", |c| c.chat() == Some(*chat)).await;
    }
    for stop in &stops {
        stop.cancel();
    }
    for run in runs {
        run.await.unwrap();
    }
    let calls = fake.calls();
    let refused: Vec<&Call> = calls.iter().filter(|c| c.refused == Some(409)).collect();
    assert!(refused.is_empty(), "Telegram never ends a poll with 409: {refused:?}");
    let mut doors: Vec<usize> =
        calls.iter().filter(|c| c.method.eq_ignore_ascii_case("getUpdates")).map(|c| c.door).collect();
    doors.dedup();
    assert_eq!(doors.len(), 1, "one process polls: getUpdates came through doors {doors:?}");
    for chat in chats {
        assert_eq!(fake.accepted("sendMessage").iter().filter(|c| c.chat() == Some(chat)).count(), 1, "chat {chat}");
    }
    let lease = rig.services.store.platform_lease("telegram-poll:4242").await.unwrap();
    assert_eq!(lease, None, "the holder gives the lease up at shutdown");
}

/// The process holding the polling lease dies (dropped, never giving the lease up): the other
/// process polls once the lease has run out, 30 s after the holder last renewed it, and not
/// before. Times are the test clock's.
async fn a_dead_pollers_lease_runs_out_and_another_process_polls_within_it(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let holder = poller(&rig, fake.url.clone(), Mode::Polling, Duration::ZERO);
    let other = poller(&rig, fake.door(1).await, Mode::Polling, Duration::ZERO);
    let t0 = rig.db.now();
    assert_eq!(holder.poll_turn().await.unwrap(), PollTurn::Polled(0));
    let until = Some(t0 + chrono::Duration::seconds(30));
    assert_eq!(other.poll_turn().await.unwrap(), PollTurn::Waiting { until });
    drop(holder);

    fake.push_update(message(1, 77, 77, "/start"));
    rig.db.clock.advance(chrono::Duration::seconds(29));
    assert_eq!(other.poll_turn().await.unwrap(), PollTurn::Waiting { until }, "the lease still runs");
    rig.db.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(other.poll_turn().await.unwrap(), PollTurn::Polled(1), "the other process polls when it ends");
    let reply = fake.accepted("sendMessage").pop().unwrap();
    assert_eq!((reply.chat(), reply.door), (Some(77), 1));
    let polls: Vec<usize> =
        fake.calls().iter().filter(|c| c.method.eq_ignore_ascii_case("getUpdates")).map(|c| c.door).collect();
    assert_eq!(polls, [0, 1], "one poll each, and no 409");
}

/// Another program polls with the bot's token while relink's long poll is held: Telegram ends
/// relink's with 409 Conflict, which is a turn that says so (the loop warns once and waits), not
/// a failure of the update loop.
async fn a_poll_another_getupdates_call_ends_is_a_conflict_not_an_error(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = poller(&rig, fake.url.clone(), Mode::Polling, Duration::from_secs(10));
    let turn = tokio::spawn({
        let telegram = telegram.clone();
        async move { telegram.poll_turn().await }
    });
    while fake.polls_started() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rival = reqwest::Client::new().post(format!("{}bot{BOT_TOKEN}/getUpdates", fake.door(2).await));
    assert_eq!(rival.json(&serde_json::json!({"timeout": 0})).send().await.unwrap().status(), 200);
    match turn.await.unwrap().unwrap() {
        PollTurn::Conflict(said) => assert!(said.contains("terminated by other getUpdates request"), "{said}"),
        other => panic!("a 409 is a conflict, not {other:?}"),
    }
}

/// A sender that wakes too late for its slot (a busy machine) gives it up and reserves again
/// from now. The chat's schedule had already moved a group interval on for that slot, so the
/// new reservation waited 3.06 s in a group for a message that never went (the 5 s stalls at
/// the end of a delivery run); given back, the chat's slot is free again at once.
async fn a_sender_too_late_for_its_slot_gives_it_back_and_its_group_does_not_wait_three_seconds(db: TestStore) {
    let store = &db.store;
    let group = ("4242:-100", 3_060_000);
    let bot = ("4242", 34_000);
    let t0 = 1_800_000_000_000_000;
    assert_eq!(store.reserve_rate_slots(group, bot, t0, bot.1).await.unwrap(), RateSlot::Reserved(t0));
    // The sender wakes 20 ms late, past the lateness it may send at, and gives the slot back.
    store.give_back_rate_slot(group, t0).await.unwrap();
    let again = store.reserve_rate_slots(group, bot, t0 + 20_000, bot.1).await.unwrap();
    assert_eq!(again, RateSlot::Reserved(t0 + 34_000), "the bot's next slot, not one a group interval on");
    // A slot given back after the chat has reserved another changes nothing.
    store.give_back_rate_slot(group, t0).await.unwrap();
    let busy = store.reserve_rate_slots(group, bot, t0 + 40_000, bot.1).await.unwrap();
    assert_eq!(busy, RateSlot::ChatBusyUntil(t0 + 34_000 + 3_060_000));
}

/// Two processes claim from one outbox holding a burst of five alerts to each of two groups.
/// A claim takes a destination's deliveries whole, and a destination another claim holds a
/// delivery of is left to it, even when more of its deliveries come due meanwhile: one process
/// sends a group's burst, in order, and the other never waits out the same group's limit.
async fn a_groups_burst_is_claimed_whole_by_one_process_and_kept_from_the_others(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let store = &rig.services.store;
    let now = rig.db.now();
    let lease = now + chrono::Duration::minutes(2);
    // The rig's own alerts are in the outbox: out of the way first.
    store.claim_deliveries(now, 1_000, "earlier", lease).await.unwrap();
    let template = store.alerts(Some(rig.team.id), 10).await.unwrap().remove(0);
    let (first, second) = (Destination::TelegramChat(-100_001), Destination::TelegramChat(-100_002));
    for to in [first, second] {
        for n in 0..5 {
            let mut alert = template.clone();
            alert.title = format!("Alert {n} for {to}");
            store.enqueue_alert(&alert, &[to], now).await.unwrap();
        }
    }
    let a = store.claim_deliveries(now, 3, "process-a", lease).await.unwrap();
    assert_eq!(a.iter().map(|c| c.destination).collect::<Vec<_>>(), [first; 5], "the first group's burst, whole");
    let b = store.claim_deliveries(now, 3, "process-b", lease).await.unwrap();
    assert_eq!(b.iter().map(|c| c.destination).collect::<Vec<_>>(), [second; 5], "the other group's, whole");
    // One of the first group's deliveries is due again (a transient failure) while process A
    // still holds the others: process B leaves it to A.
    let retry = DeliveryResult::Retry { at: now, error: "Telegram: 502".into() };
    assert!(store.finish_delivery(a[0].id, "process-a", &retry, now).await.unwrap());
    assert!(store.claim_deliveries(now, 10, "process-b", lease).await.unwrap().is_empty());
}

/// A pass of batch 4 over twelve chats' alerts: it claims again whenever it holds less than
/// three quarters of a batch, while earlier lanes still run, so one pass delivers them all. A
/// pass that claimed once idled the bot's budget while its slowest lane waited out its chat.
async fn a_delivery_pass_claims_again_as_its_lanes_finish_instead_of_idling_until_the_slowest_ends(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = bot(&rig, &fake, Mode::Polling).await;
    let store = &rig.services.store;
    let now = rig.db.now();
    let lease = now + chrono::Duration::minutes(2);
    store.claim_deliveries(now, 1_000, "earlier", lease).await.unwrap();
    let template = store.alerts(Some(rig.team.id), 10).await.unwrap().remove(0);
    for chat in 1..=12 {
        let mut alert = template.clone();
        alert.title = format!("Alert for chat {chat}");
        store.enqueue_alert(&alert, &[Destination::TelegramChat(-200_000 - chat)], now).await.unwrap();
    }
    let config =
        DeliveryConfig { owner: "telegram-test".into(), batch: 4, concurrency: 4, ..DeliveryConfig::default() };
    let app = App::builder(store.clone(), Providers::new(HashMap::new()), Arc::new(rig.db.clock.clone()))
        .web(rig.settings.clone())
        .links(Arc::new(NoLinks))
        .notifier(Arc::new(telegram.notifier()))
        .delivery(config)
        .build()
        .unwrap();
    let outcome = app.deliverer.unwrap().deliver_due(now).await.unwrap();
    assert_eq!((outcome.claimed, outcome.sent), (12, 12), "{outcome:?}");
    assert_eq!(fake.accepted("sendMessage").len(), 12);
    assert_eq!(fake.limited(), 0);
}

/// A chat's lane that has run for half the delivery lease stops. Its remaining deliveries were
/// left leased, so with many chats sharing the bot's budget (a backlog across three processes)
/// nobody sent them until the lease ended: a 43 s stall with 2,500 alerts. They are handed back,
/// due at once.
async fn a_lane_that_runs_half_its_lease_hands_the_rest_back_due_at_once_not_leased_until_the_lease_ends(
    db: TestStore,
) {
    let rig = Rig::new(db, Language::En).await;
    let fake = FakeTelegram::start(limits()).await;
    let telegram = bot(&rig, &fake, Mode::Polling).await;
    let store = &rig.services.store;
    let now = rig.db.now();
    store.claim_deliveries(now, 1_000, "earlier", now + chrono::Duration::minutes(2)).await.unwrap();
    let template = store.alerts(Some(rig.team.id), 10).await.unwrap().remove(0);
    let chat = Destination::TelegramChat(-300_001);
    for n in 0..8 {
        let mut alert = template.clone();
        alert.title = format!("Alert {n}");
        store.enqueue_alert(&alert, &[chat], now).await.unwrap();
    }
    // 20 messages a second in a chat: eight take 350 ms, more than half of a 400 ms lease.
    let lease = Duration::from_millis(400);
    let config = DeliveryConfig { owner: "telegram-test".into(), lease, ..DeliveryConfig::default() };
    let app = App::builder(store.clone(), Providers::new(HashMap::new()), Arc::new(rig.db.clock.clone()))
        .web(rig.settings.clone())
        .links(Arc::new(NoLinks))
        .notifier(Arc::new(telegram.notifier()))
        .delivery(config)
        .build()
        .unwrap();
    let outcome = app.deliverer.unwrap().deliver_due(now).await.unwrap();
    // The lane sent some and handed the others back. The pass claims again while its lanes
    // record, so on a loaded machine that claim may come back after the hand-back and take them
    // again (due at once, as they should be) for a lane of its own, which sends some more and
    // hands the rest back in turn: each claim ended sent or handed back, none left leased.
    assert!(outcome.sent >= 1 && outcome.deferred >= 1, "{outcome:?}");
    assert_eq!(outcome.claimed, outcome.sent + outcome.deferred, "{outcome:?}");
    assert_eq!(fake.accepted("sendMessage").len(), outcome.sent, "each sent once");
    // Before the lease would have ended, another process claims the rest.
    let soon = now + chrono::Duration::milliseconds(100);
    let rest = store.claim_deliveries(soon, 10, "process-b", soon + chrono::Duration::minutes(2)).await.unwrap();
    assert_eq!(rest.len(), 8 - outcome.sent, "the rest is claimable at once");
}
