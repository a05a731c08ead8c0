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
