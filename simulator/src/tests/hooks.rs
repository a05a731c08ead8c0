//! Meta's callbacks as the simulator sends them: the right person, signed with the app secret,
//! to the URL set in `hooks`, only when set.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use relink_core::{Clock as _, Provider};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use url::Url;

use super::{harness, healthy};
use crate::{AccountOptions, CLIENT_SECRET, Hooks, Switch};

/// A stand-in for relink's two callbacks: records each form body it gets.
async fn receiver() -> (Url, mpsc::UnboundedReceiver<(String, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let tx = Arc::new(Mutex::new(tx));
    let route = |name: &'static str| {
        let tx = tx.clone();
        post(move |body: String| async move {
            let _ = tx.lock().unwrap().send((name.to_owned(), body));
            axum::Json(json!({"url": "https://relink.example/status", "confirmation_code": "abc123"}))
        })
    };
    let app = Router::new()
        .route("/hooks/facebook/deauthorize", route("deauthorize"))
        .route("/hooks/facebook/data-deletion", route("data-deletion"));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

/// The payload of a form body's `signed_request`, after checking its signature with the app secret.
fn verified_payload(form: &str) -> Value {
    let signed = url::form_urlencoded::parse(form.as_bytes())
        .find(|(k, _)| k == "signed_request")
        .map(|(_, v)| v.into_owned())
        .expect("a signed_request field");
    let (signature, payload) = signed.split_once('.').unwrap();
    let mut mac = hmac::Hmac::<sha2_v011::Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).unwrap();
    mac.update(payload.as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).expect("signed with the app secret");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn removing_the_meta_app_kills_the_persons_pages_and_instagram_and_tells_relink() {
    let h = harness().await;
    let (relink, mut received) = receiver().await;
    h.sim.set_hooks(Hooks::relink_at(&relink));
    let page = h.sim.add_account(Provider::Facebook, "page", AccountOptions::user("meta-user")).unwrap();
    let insta = h.sim.add_account(Provider::InstagramBusiness, "insta", AccountOptions::user("meta-user")).unwrap();
    let other = h.sim.add_account(Provider::Facebook, "other-page", AccountOptions::user("someone-else")).unwrap();
    let debugged = h.probe(&page).await;
    let user_id = debugged.body["data"]["user_id"].clone();

    h.sim.apply(Provider::Facebook, "page", Switch::RevokeApp).unwrap();

    let (hook, form) = received.recv().await.unwrap();
    assert_eq!(hook, "deauthorize");
    let payload = verified_payload(&form);
    assert_eq!(payload["algorithm"], "HMAC-SHA256");
    assert_eq!(payload["user_id"], user_id, "the id debug_token reports");
    assert_eq!(payload["issued_at"], h.clock.now().timestamp());
    assert!(!healthy(Provider::Facebook, &h.probe(&page).await));
    assert!(!healthy(Provider::InstagramBusiness, &h.probe(&insta).await));
    assert!(healthy(Provider::Facebook, &h.probe(&other).await), "another person's Page lives");

    let answer = h.sim.request_data_deletion(Provider::InstagramBusiness, "insta").await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["confirmation_code"], "abc123");
    let (hook, form) = received.recv().await.unwrap();
    assert_eq!(hook, "data-deletion");
    assert_eq!(verified_payload(&form)["user_id"], user_id);
}

#[tokio::test]
async fn nothing_is_sent_while_no_hook_is_set() {
    let h = harness().await;
    let (_relink, mut received) = receiver().await;
    h.add(Provider::Facebook, "page");
    h.sim.apply(Provider::Facebook, "page", Switch::RevokeApp).unwrap();
    assert!(h.sim.request_data_deletion(Provider::Facebook, "page").await.is_err());
    assert!(h.sim.send_deauthorize(Provider::X, "page").await.is_err(), "only Meta sends these");
    assert!(received.try_recv().is_err());
}

#[tokio::test]
async fn hooks_are_set_through_the_control_api() {
    let h = harness().await;
    let base = h.sim.base_url().clone();
    let set = json!({"hooks": {"facebook_deauthorize": "http://127.0.0.1:9/hooks/facebook/deauthorize"}});
    let got = h.http.post(base.join("_sim/settings").unwrap()).json(&set).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(
        h.sim.hooks().facebook_deauthorize.map(String::from).as_deref(),
        Some("http://127.0.0.1:9/hooks/facebook/deauthorize")
    );
    let typo = json!({"hooks": {"facebook_deauth": "http://127.0.0.1:9/"}});
    let got = h.http.post(base.join("_sim/settings").unwrap()).json(&typo).send().await.unwrap();
    assert!(got.status().is_client_error(), "a misspelt hook is refused, not ignored");
}
