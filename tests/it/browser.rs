//! Headless Chromium follows a reconnect link end to end: the link page, the button, the
//! network's authorize step, the callback, the outcome page, and the channel healthy in the
//! store. Once against the provider simulator (X, with PKCE), once against oauth2-mock-server
//! (a third-party OAuth 2.0 server) configured as a generic OAuth 2.0 network.
//!
//! A real browser is what proves the cookie that binds the flow to it (`__Host-`, `Secure`,
//! `SameSite=Lax` on a loopback http origin) and the CSP's `form-action` (which browsers apply to
//! the redirect after the button) actually let a person through.

// These are test bodies run through `both_engines!` (not `#[test]` functions clippy recognises):
// a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use relink_core::provider::{ProviderConfig, Providers};
use relink_core::{Health, Provider, Reason};
use relink_simulator::{CLIENT_ID, CLIENT_SECRET, Simulator};
use secrecy::SecretString;

use crate::support::browser::{Browser, OAuthMock};
use crate::support::{TestStore, new_channel, tokens};
use crate::web::WebRig;

#[tokio::test]
async fn chromium_reconnects_a_channel_through_the_simulator() {
    let Some(browser) = Browser::start().await else { return };
    let rig = WebRig::new(TestStore::open(relink_core::store::Engine::Sqlite).await).await;
    let channel = rig.channel(Provider::X, "brand").await;
    let now = rig.db.now();
    rig.db.store.set_health(channel.id, &Health::NeedsReauth(Reason::Expired), None, now).await.unwrap();

    browser.goto(&rig.link(&channel).await).await;
    let page = browser.text().await;
    assert!(page.contains("Reconnect brand page") && page.contains("Continue to X"), "{page}");
    browser.click("button").await;
    let result = browser.wait_for_url("/oauth/result/").await;
    let page = browser.text().await;
    assert!(page.contains("brand page is connected again"), "{result}: {page}");
    assert!(!result.contains("code=") && !result.contains("state="));
    assert_eq!(rig.db.store.channel(channel.id).await.unwrap().health, Health::Healthy);
    assert_eq!(rig.access_token(&channel).await, rig.sim().tokens(Provider::X, "brand").unwrap().access_token);
    browser.quit().await;
}

#[tokio::test]
async fn chromium_reconnects_a_generic_oauth2_channel_through_oauth2_mock_server() {
    let Some(mock) = OAuthMock::start("mock-user-1") else { return };
    let Some(browser) = Browser::start().await else { return };
    let db = TestStore::open(relink_core::store::Engine::Sqlite).await;
    let sim = Simulator::new(std::sync::Arc::new(db.clock.clone())).spawn().await.expect("the simulator starts");
    let simulated = Providers::all_at(sim.base_url(), CLIENT_ID, CLIENT_SECRET, 1_000.0);
    let mut configs: HashMap<Provider, ProviderConfig> =
        Provider::ALL.iter().map(|p| (*p, simulated.config(*p).clone())).collect();
    configs.insert(
        Provider::GenericOauth2,
        ProviderConfig {
            api_base: mock.base.clone(),
            authorize_url: mock.base.join("authorize").unwrap(),
            token_url: mock.base.join("token").unwrap(),
            client_id: "relink".into(),
            client_secret: SecretString::from("relink-secret"),
            rate_per_second: 10.0,
            scopes: Some(vec!["openid".into(), "profile".into()]),
        },
    );
    let rig = WebRig::with_providers(db, sim, Providers::new(configs)).await;
    let old = tokens("old-access", Some("old-refresh"), None);
    let new = new_channel(&rig.team, Provider::GenericOauth2, "mock-user-1", None);
    let channel = rig.db.store.add_channel(&new, &old, rig.db.now()).await.unwrap();

    browser.goto(&rig.link(&channel).await).await;
    assert!(browser.text().await.contains("Continue to OAuth 2.0 network"));
    browser.click("button").await;
    browser.wait_for_url("/oauth/result/").await;
    let page = browser.text().await;
    assert!(page.contains("mock-user-1 page is connected again"), "{page}");
    let stored = rig.db.store.tokens(channel.id).await.unwrap();
    assert_ne!(secrecy::ExposeSecret::expose_secret(&stored.access_token), "old-access");
    assert_eq!(rig.db.store.channel(channel.id).await.unwrap().health, Health::Healthy);
    browser.quit().await;
    drop(mock);
}
