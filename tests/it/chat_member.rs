//! Telegram's push signal, `my_chat_member`, on both engines: relink's bot asks for it in polling
//! and webhook mode; removed from a registered channel (through the provider simulator, which
//! sends the update the way Telegram does), the channel is checked within seconds and ends
//! `needs_reauth` with one alert; an update about an unknown chat changes nothing, a malformed
//! one is skipped, a replayed one is handled once (the fake Bot API, `support::telegram`).

// These are test bodies run through `both_engines!` (not `#[test]` functions clippy recognises):
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use relink_bot::commands::Services;
use relink_bot::telegram::{Caps, Mode, Settings, Telegram};
use secrecy::SecretString;
use serde_json::Value;

use crate::commands::link_settings;
use crate::support::telegram::{BOT_TOKEN, FakeTelegram, Limits};
use crate::support::{TestStore, both_engines};

both_engines!(polling_and_the_webhook_both_ask_telegram_for_my_chat_member,);

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
