//! Renewal regimes: rotating refresh tokens, Google-style refresh tokens, extend-while-valid.

use relink_core::Provider;

use super::{harness, healthy};
use crate::Revocation;

#[tokio::test]
async fn a_rotated_refresh_token_reused_revokes_the_whole_grant() {
    let h = harness().await;
    let issued = h.add(Provider::X, "brand");
    let old = issued.refresh_token.clone().expect("X issues refresh tokens");
    let got = h.renew(Provider::X, &old).await;
    assert_eq!(got.status, 200, "{got:?}");
    let new_refresh = got.body["refresh_token"].as_str().expect("rotated").to_owned();
    assert_ne!(new_refresh, old);
    assert!(!h.sim.grant_revoked(Provider::X, "brand"));

    let reused = h.renew(Provider::X, &old).await;
    assert_eq!(reused.status, 400);
    assert_eq!(reused.body["error"], "invalid_grant");
    assert!(h.sim.grant_revoked(Provider::X, "brand"));
    assert_eq!(h.sim.revocation(Provider::X, "brand"), Some(Revocation::RefreshReused));
    assert_eq!(h.renew(Provider::X, &new_refresh).await.status, 400, "the newest refresh token died too");
    assert_eq!(h.sim.counts(Provider::X, "brand").unwrap().refresh, 3);
}

#[tokio::test]
async fn google_keeps_the_refresh_token_and_an_expired_access_token_is_only_a_reason_to_refresh() {
    let h = harness().await;
    let issued = h.add(Provider::Youtube, "chan");
    h.sim.expire_now(Provider::Youtube, "chan").unwrap();
    let got = h.probe(&issued).await;
    assert_eq!((got.status, got.body["error"].as_str()), (400, Some("invalid_token")));
    let renewed = h.renew(Provider::Youtube, issued.refresh_token.as_deref().unwrap()).await;
    assert_eq!(renewed.status, 200, "{renewed:?}");
    assert!(renewed.body.get("refresh_token").is_none(), "Google keeps the refresh token");
    let tokens = h.sim.tokens(Provider::Youtube, "chan").unwrap();
    assert_eq!(tokens.refresh_token, issued.refresh_token);
    assert!(healthy(Provider::Youtube, &h.probe(&tokens).await));
}

#[tokio::test]
async fn instagram_login_extends_only_a_day_old_living_token() {
    let h = harness().await;
    let issued = h.add(Provider::InstagramLogin, "ig");
    let young = h.renew(Provider::InstagramLogin, &issued.access_token).await;
    assert_eq!(young.status, 400, "a token under 24 h old is not extended: {young:?}");
    h.advance(chrono::Duration::days(2));
    let got = h.renew(Provider::InstagramLogin, &issued.access_token).await;
    assert_eq!(got.status, 200, "{got:?}");
    assert_eq!(got.body["expires_in"], 5_184_000);
    h.advance(chrono::Duration::days(70));
    let tokens = h.sim.tokens(Provider::InstagramLogin, "ig").unwrap();
    let late = h.renew(Provider::InstagramLogin, &tokens.access_token).await;
    assert_eq!(late.status, 400, "an expired token cannot be extended: {late:?}");
}

#[tokio::test]
async fn a_revoked_grant_answers_invalid_grant_at_the_token_endpoint() {
    let h = harness().await;
    let issued = h.add(Provider::Linkedin, "acme");
    h.sim.revoke_app(Provider::Linkedin, "acme").unwrap();
    let got = h.renew(Provider::Linkedin, issued.refresh_token.as_deref().unwrap()).await;
    assert_eq!((got.status, got.body["error"].as_str()), (400, Some("invalid_grant")));
}
