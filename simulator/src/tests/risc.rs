//! Google's Cross-Account Protection: the published key set verifies what the simulator signs
//! (and nothing signed with another key), and switches that kill a Google grant push the
//! matching Security Event Token to the configured receiver.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use relink_core::Provider;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::{harness, read};
use crate::risc::{EventType, RISC_ISSUER, SecurityEvent, TestKey};
use crate::{AccountOptions, CLIENT_ID};

fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[RISC_ISSUER]);
    validation.set_audience(&[CLIENT_ID]);
    validation.set_required_spec_claims(&["iss", "aud"]);
    validation.validate_exp = false;
    validation
}

async fn published_key(h: &super::Harness) -> DecodingKey {
    let got = read(h.http.get(h.sim.base_url().join("_sim/google/certs").unwrap()).send().await.unwrap()).await;
    assert_eq!(got.status, 200, "{got:?}");
    let key = &got.body["keys"][0];
    assert_eq!(key["kid"], crate::risc::SERVED_KID);
    DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn the_published_key_verifies_what_the_simulator_signs_and_not_a_forgery() {
    let h = harness().await;
    let key = published_key(&h).await;
    let event = SecurityEvent::new(EventType::TokensRevoked, "acct-1", CLIENT_ID, h.sim.now());
    let started = Instant::now();
    let signed = event.sign(TestKey::Served).unwrap();
    println!("one RS256 signature in this build: {:?}", started.elapsed());
    let claims: Value = jsonwebtoken::decode(&signed, &key, &validation()).unwrap().claims;
    assert_eq!(claims["events"][EventType::TokensRevoked.uri()]["subject"]["sub"], "acct-1");
    assert_eq!(claims["iat"], h.sim.now().timestamp());

    let forged = event.sign(TestKey::Unpublished).unwrap();
    let refused = jsonwebtoken::decode::<Value>(&forged, &key, &validation()).unwrap_err();
    assert_eq!(refused.kind(), &jsonwebtoken::errors::ErrorKind::InvalidSignature);

    h.sim.set_google_certs_down(true);
    let got = read(h.http.get(h.sim.base_url().join("_sim/google/certs").unwrap()).send().await.unwrap()).await;
    assert_eq!(got.status, 503);
}

/// A receiver on loopback that keeps every body it is sent.
async fn receiver() -> (url::Url, Arc<Mutex<Vec<String>>>, Arc<Notify>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let arrived = Arc::new(Notify::new());
    let (keep, tell) = (bodies.clone(), arrived.clone());
    let app = axum::Router::new().route(
        "/hooks/google/risc",
        post(move |body: String| async move {
            keep.lock().unwrap().push(body);
            tell.notify_one();
            axum::http::StatusCode::ACCEPTED
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url = url::Url::parse(&format!("http://{}/hooks/google/risc", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, bodies, arrived)
}

async fn wait_for(bodies: &Mutex<Vec<String>>, arrived: &Notify, count: usize) -> Vec<String> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let notified = arrived.notified();
            if bodies.lock().unwrap().len() >= count {
                return bodies.lock().unwrap().clone();
            }
            notified.await;
        }
    })
    .await
    .expect("the simulator pushes its security events within seconds")
}

#[tokio::test]
async fn switches_that_kill_a_google_grant_push_the_matching_security_event() {
    let h = harness().await;
    let key = published_key(&h).await;
    let (url, bodies, arrived) = receiver().await;
    let base = h.sim.base_url().clone();
    let got = read(
        h.http
            .post(base.join("_sim/settings").unwrap())
            .json(&json!({ "hooks": { "google_risc": url.as_str() } }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got.body["hooks"]["google_risc"], url.as_str(), "{got:?}");

    h.sim.add_account(Provider::Youtube, "yt-dana", AccountOptions::user("dana")).unwrap();
    h.sim.add_account(Provider::GoogleBusiness, "gbp-dana", AccountOptions::user("dana")).unwrap();
    h.sim.add_account(Provider::Facebook, "fb-dana", AccountOptions::user("dana")).unwrap();
    h.sim.add_account(Provider::Youtube, "yt-erin", AccountOptions::default()).unwrap();

    // Facebook has no RISC: only the two Google accounts hear of dana's password.
    h.sim.change_user_password("dana").unwrap();
    h.sim.revoke_app(Provider::Youtube, "yt-erin").unwrap();
    h.sim.require_checkpoint(Provider::GoogleBusiness, "gbp-dana").unwrap();
    let sets = wait_for(&bodies, &arrived, 4).await;
    let mut seen: Vec<(String, String)> = sets
        .iter()
        .map(|set| {
            let claims: Value = jsonwebtoken::decode(set, &key, &validation()).unwrap().claims;
            let (uri, body) = claims["events"].as_object().unwrap().iter().next().unwrap();
            (uri.rsplit('/').next().unwrap().to_owned(), body["subject"]["sub"].as_str().unwrap().to_owned())
        })
        .collect();
    seen.sort();
    let expected = [
        ("account-disabled", "gbp-dana"),
        ("sessions-revoked", "gbp-dana"),
        ("sessions-revoked", "yt-dana"),
        ("tokens-revoked", "yt-erin"),
    ];
    assert_eq!(seen, expected.map(|(a, b)| (a.to_owned(), b.to_owned())));
    tokio::time::timeout(Duration::from_secs(5), async {
        while h.sim.google_risc_pushes() != (4, 4) {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("every push is counted as accepted");

    // No receiver configured: nothing is sent.
    h.sim.set_google_risc_hook(None);
    h.sim.revoke_app(Provider::GoogleBusiness, "gbp-dana").unwrap();
    assert_eq!(h.sim.google_risc_pushes().0, 4);
}
