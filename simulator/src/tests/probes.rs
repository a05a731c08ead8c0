//! Healthy probes answer in each network's shape and name the account the token belongs to.

use relink_core::Provider;
use serde_json::json;

use super::{harness, healthy, sample_account};

#[tokio::test]
async fn every_provider_answers_a_fresh_token_with_its_healthy_shape() {
    let h = harness().await;
    for provider in Provider::ALL.iter().copied() {
        let issued = h.add(provider, sample_account(provider));
        let got = h.probe(&issued).await;
        assert!(healthy(provider, &got), "{provider}: {got:?}");
        let account = match provider {
            Provider::Facebook => got.body["data"]["profile_id"].clone(),
            Provider::InstagramLogin => got.body["user_id"].clone(),
            Provider::Linkedin => got.body["member_id"].clone(),
            Provider::X => got.body["data"]["id"].clone(),
            Provider::Youtube | Provider::GoogleBusiness | Provider::GenericOauth2 => got.body["sub"].clone(),
            Provider::Telegram => json!(got.body["result"]["id"].as_i64().map(|id| id.to_string())),
            _ => got.body["id"].clone(),
        };
        assert_eq!(account, json!(issued.account), "{provider}: the probe names the account");
    }
}

#[tokio::test]
async fn a_token_the_network_never_issued_is_refused_not_crashed() {
    let h = harness().await;
    for provider in Provider::ALL.iter().copied() {
        let account = sample_account(provider);
        h.add(provider, account);
        let token = if provider == Provider::Telegram { "123:forged" } else { "forged-token" };
        let got = h.probe_with(provider, account, token).await;
        assert!(!healthy(provider, &got), "{provider} accepted a forged token: {got:?}");
        assert!(got.status < 500, "{provider}: a forged token is the caller's fault, not the network's");
    }
}

#[tokio::test]
async fn expiry_passes_with_the_clock_and_facebook_page_tokens_do_not_expire() {
    let h = harness().await;
    let x = h.add(Provider::X, "brand");
    let page = h.add(Provider::Facebook, "page-1");
    assert!(page.expires_at.is_none());
    h.advance(chrono::Duration::days(400));
    assert_eq!(h.probe(&x).await.status, 401);
    assert!(healthy(Provider::Facebook, &h.probe(&page).await));
}
