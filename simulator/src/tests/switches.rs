//! Each switch produces the error shape CONTRACT.md gives for it.

use relink_core::Provider;

use super::{graph_error, harness, healthy};
use crate::Switch;

#[tokio::test]
async fn graph_switches_answer_code_190_with_the_cause_in_the_subcode() {
    let h = harness().await;
    for (switch, subcode) in [(Switch::RevokeApp, 458), (Switch::ChangePassword, 460), (Switch::Checkpoint, 459)] {
        let account = format!("ig-{subcode}");
        let issued = h.add(Provider::InstagramBusiness, &account);
        h.sim.apply(Provider::InstagramBusiness, &account, switch.clone()).unwrap();
        let got = h.probe(&issued).await;
        assert_eq!(got.status, 400, "{switch:?}");
        assert_eq!(graph_error(&got), (190, Some(subcode)), "{switch:?}: {got:?}");
    }
    let issued = h.add(Provider::Facebook, "page-1");
    h.sim.expire_now(Provider::Facebook, "page-1").unwrap();
    let got = h.probe(&issued).await;
    assert_eq!(got.status, 200, "debug_token answers 200 with the error inside");
    assert_eq!(got.body["data"]["is_valid"], false);
    assert_eq!(graph_error(&got).0, 190);
}

#[tokio::test]
async fn one_password_change_kills_every_grant_of_that_user_on_every_network() {
    let h = harness().await;
    let seeded = h.sim.seed("facebook:p@alice instagram_business:i@alice x:other@bob").unwrap();
    assert_eq!(h.sim.change_user_password("alice").unwrap(), 2);
    let alive: Vec<bool> = futures_all(&h, &seeded.accounts).await;
    assert_eq!(alive, [false, false, true]);
}

async fn futures_all(h: &super::Harness, accounts: &[crate::Issued]) -> Vec<bool> {
    let mut alive = Vec::new();
    for issued in accounts {
        alive.push(healthy(issued.provider, &h.probe(issued).await));
    }
    alive
}

#[tokio::test]
async fn losing_the_admin_role_is_a_permission_answer_not_a_dead_token() {
    let h = harness().await;
    let li = h.add(Provider::Linkedin, "acme");
    h.sim.drop_admin(Provider::Linkedin, "acme").unwrap();
    let got = h.probe(&li).await;
    assert_eq!((got.status, got.body["serviceErrorCode"].as_i64()), (403, Some(100)), "{got:?}");
    let fb = h.add(Provider::InstagramBusiness, "ig");
    h.sim.drop_admin(Provider::InstagramBusiness, "ig").unwrap();
    let got = h.probe(&fb).await;
    assert!(matches!(graph_error(&got).0, 10 | 200), "{got:?}");
}

#[tokio::test]
async fn restore_clears_roles_and_checkpoints_but_a_revocation_needs_a_new_grant() {
    let h = harness().await;
    let x = h.add(Provider::X, "brand");
    h.sim.require_checkpoint(Provider::X, "brand").unwrap();
    assert_eq!(h.probe(&x).await.status, 403);
    h.sim.apply(Provider::X, "brand", Switch::Restore).unwrap();
    assert!(healthy(Provider::X, &h.probe(&x).await));
    h.sim.revoke_app(Provider::X, "brand").unwrap();
    h.sim.apply(Provider::X, "brand", Switch::Restore).unwrap();
    assert_eq!(h.probe(&x).await.status, 401);
    let fresh = h.sim.reissue(Provider::X, "brand").unwrap();
    assert!(healthy(Provider::X, &h.probe(&fresh).await));
    assert_eq!(h.probe(&x).await.status, 401, "the old grant's token stays dead");
}

#[tokio::test]
async fn switches_that_make_no_sense_for_a_network_are_refused() {
    let h = harness().await;
    h.add(Provider::Telegram, "-1001");
    h.add(Provider::X, "brand");
    assert!(h.sim.change_password(Provider::Telegram, "-1001").is_err());
    assert!(h.sim.apply(Provider::X, "brand", Switch::KickBot).is_err());
    assert!(h.sim.require_checkpoint(Provider::Pinterest, "nobody").is_err());
}
