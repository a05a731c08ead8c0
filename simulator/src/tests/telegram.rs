//! Telegram: the bot's standing in a chat, kicked bots, migrated groups, revoked bot tokens.

use relink_core::Provider;

use super::harness;
use crate::Switch;

#[tokio::test]
async fn the_bot_is_an_admin_that_may_post_until_it_is_demoted_or_kicked() {
    let h = harness().await;
    let issued = h.add(Provider::Telegram, "-1001");
    let member = h.chat_member("-1001").await;
    assert_eq!(member.body["result"]["status"], "administrator");
    assert_eq!(member.body["result"]["can_post_messages"], true);

    h.sim.apply(Provider::Telegram, "-1001", Switch::DropPostRight).unwrap();
    assert_eq!(h.chat_member("-1001").await.body["result"]["can_post_messages"], false);

    h.sim.kick_bot("-1001").unwrap();
    let got = h.probe(&issued).await;
    assert_eq!((got.status, got.body["ok"].as_bool()), (403, Some(false)));
    assert!(got.body["description"].as_str().unwrap().contains("kicked"));
}

#[tokio::test]
async fn a_migrated_group_tells_its_new_id() {
    let h = harness().await;
    let issued = h.add(Provider::Telegram, "-1002");
    h.sim.apply(Provider::Telegram, "-1002", Switch::MigrateChat { to: -100_777 }).unwrap();
    let got = h.probe(&issued).await;
    assert_eq!(got.status, 400);
    assert_eq!(got.body["parameters"]["migrate_to_chat_id"], -100_777);
}

#[tokio::test]
async fn a_revoked_bot_token_is_unauthorized_everywhere() {
    let h = harness().await;
    let a = h.add(Provider::Telegram, "-1003");
    let b = h.add(Provider::Telegram, "-1004");
    h.sim.revoke_telegram_bot(h.sim.telegram_bot().id).unwrap();
    for issued in [a, b] {
        let got = h.probe(&issued).await;
        assert_eq!((got.status, got.body["error_code"].as_i64()), (401, Some(401)));
    }
}

impl super::Harness {
    /// A Bot API call of the simulator's bot with a JSON body.
    async fn bot_call(&self, method: &str, body: serde_json::Value) -> super::Got {
        let bot = self.sim.telegram_bot();
        let url = self.url(Provider::Telegram, &format!("api/bot{}/{method}", bot.token));
        super::read(self.http.post(url).json(&body).send().await.unwrap()).await
    }
}

#[tokio::test]
async fn a_kicked_bot_finds_a_my_chat_member_update_in_get_updates() {
    let h = harness().await;
    h.add(Provider::Telegram, "-1005");
    let nothing = h.bot_call("getUpdates", serde_json::json!({ "timeout": 0 })).await;
    assert_eq!(nothing.body["result"], serde_json::json!([]));

    h.sim.kick_bot("-1005").unwrap();
    let got = h.bot_call("getUpdates", serde_json::json!({ "timeout": 5 })).await;
    let updates = got.body["result"].as_array().unwrap().clone();
    assert_eq!(updates.len(), 1, "{got:?}");
    let change = &updates[0]["my_chat_member"];
    assert_eq!(change["chat"]["id"], -1005);
    assert_eq!(change["chat"]["type"], "channel");
    assert_eq!(change["old_chat_member"]["status"], "administrator");
    assert_eq!(change["new_chat_member"]["status"], "kicked");
    assert_eq!(change["new_chat_member"]["user"]["id"], h.sim.telegram_bot().id);

    // The next poll's offset confirms it; a second switch that changes nothing sends nothing.
    let next = updates[0]["update_id"].as_i64().unwrap() + 1;
    h.sim.kick_bot("-1005").unwrap();
    let got = h.bot_call("getUpdates", serde_json::json!({ "offset": next, "timeout": 0 })).await;
    assert_eq!(got.body["result"], serde_json::json!([]));

    // Promoted back: another update, administrator again.
    h.sim.restore(Provider::Telegram, "-1005").unwrap();
    let got = h.bot_call("getUpdates", serde_json::json!({ "offset": next, "timeout": 0 })).await;
    assert_eq!(got.body["result"][0]["update_id"], next);
    assert_eq!(got.body["result"][0]["my_chat_member"]["new_chat_member"]["can_post_messages"], true);
}

#[tokio::test]
async fn a_long_poll_is_answered_as_soon_as_the_post_right_is_taken() {
    let h = harness().await;
    h.add(Provider::Telegram, "-1006");
    let poll = h.bot_call("getUpdates", serde_json::json!({ "timeout": 30 }));
    let switch = async {
        tokio::task::yield_now().await;
        h.sim.apply(Provider::Telegram, "-1006", Switch::DropPostRight).unwrap();
    };
    let started = std::time::Instant::now();
    let (got, ()) = tokio::join!(poll, switch);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "answered when the update came");
    let change = &got.body["result"][0]["my_chat_member"];
    assert_eq!(change["new_chat_member"]["status"], "administrator");
    assert_eq!(change["new_chat_member"]["can_post_messages"], false);
}

#[tokio::test]
async fn a_bot_that_did_not_ask_for_my_chat_member_does_not_get_it() {
    let h = harness().await;
    h.add(Provider::Telegram, "-1007");
    let only_messages = serde_json::json!({ "timeout": 0, "allowed_updates": ["message", "callback_query"] });
    h.bot_call("getUpdates", only_messages).await;
    h.sim.drop_admin(Provider::Telegram, "-1007").unwrap();
    let got = h.bot_call("getUpdates", serde_json::json!({ "timeout": 0 })).await;
    assert_eq!(got.body["result"], serde_json::json!([]), "no list keeps the last one");

    h.bot_call("getUpdates", serde_json::json!({ "timeout": 0, "allowed_updates": ["my_chat_member"] })).await;
    h.sim.kick_bot("-1007").unwrap();
    let got = h.bot_call("getUpdates", serde_json::json!({ "timeout": 0 })).await;
    assert_eq!(got.body["result"][0]["my_chat_member"]["old_chat_member"]["status"], "member");
}

#[tokio::test]
async fn a_webhook_gets_the_update_with_its_secret_and_get_updates_is_refused() {
    use axum::http::HeaderMap;
    let h = harness().await;
    h.add(Provider::Telegram, "-1008");
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel::<(Option<String>, serde_json::Value)>();
    let hook = axum::Router::new().route(
        "/telegram/webhook",
        axum::routing::post(move |headers: HeaderMap, axum::Json(update): axum::Json<serde_json::Value>| {
            let secret = headers.get(crate::TELEGRAM_SECRET_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let _ = sender.send((secret, update));
            async { "" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/telegram/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, hook).await });

    // teloxide sends setWebhook as multipart/form-data.
    let bot = h.sim.telegram_bot();
    let fields = [
        ("url", url.as_str()),
        ("secret_token", "s3cret"),
        ("allowed_updates", r#"["message","callback_query","my_chat_member"]"#),
    ];
    let mut form = String::new();
    for (name, value) in fields {
        form += &format!("--b0und\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
    }
    form += "--b0und--\r\n";
    let set = h
        .http
        .post(h.url(Provider::Telegram, &format!("api/bot{}/setWebhook", bot.token)))
        .header("content-type", "multipart/form-data; boundary=b0und")
        .body(form);
    let set = super::read(set.send().await.unwrap()).await;
    assert_eq!(set.body["result"], true, "{set:?}");
    assert_eq!(h.sim.telegram_webhook(bot.id).map(String::from), Some(url));

    h.sim.kick_bot("-1008").unwrap();
    let (secret, update) =
        tokio::time::timeout(std::time::Duration::from_secs(10), received.recv()).await.unwrap().unwrap();
    assert_eq!(secret.as_deref(), Some("s3cret"));
    assert_eq!(update["my_chat_member"]["new_chat_member"]["status"], "kicked");
    let refused = h.bot_call("getUpdates", serde_json::json!({ "timeout": 0 })).await;
    assert_eq!(refused.status, 409);
}
