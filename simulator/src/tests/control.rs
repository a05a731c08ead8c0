//! The control API drives the same simulator a separate process would.

use relink_core::Provider;
use serde_json::json;

use super::{harness, healthy, read};
use crate::Issued;

#[tokio::test]
async fn accounts_switches_and_faults_through_http() {
    let h = harness().await;
    let base = h.sim.base_url().clone();
    let post = |path: &str, body: serde_json::Value| h.http.post(base.join(path).unwrap()).json(&body).send();

    let got = read(post("_sim/accounts", json!({"provider": "pinterest", "account": "pin"})).await.unwrap()).await;
    assert_eq!(got.status, 200, "{got:?}");
    let issued: Issued = serde_json::from_value(got.body).unwrap();
    assert!(healthy(Provider::Pinterest, &h.probe(&issued).await));

    let got = read(
        post("_sim/switch", json!({"provider": "pinterest", "account": "pin", "switch": "revoke_app"})).await.unwrap(),
    )
    .await;
    assert_eq!(got.body["grant_revoked"], true);
    assert_eq!(h.probe(&issued).await.status, 401);

    let got =
        read(post("_sim/faults", json!({"provider": "x", "fail": {"kind": "server_error"}})).await.unwrap()).await;
    assert_eq!(got.body["fail"]["kind"], "server_error");

    let bad = read(
        post("_sim/switch", json!({"provider": "myspace", "account": "tom", "switch": "revoke_app"})).await.unwrap(),
    )
    .await;
    assert!(bad.status >= 400 && bad.status < 500, "bad input is the caller's fault: {bad:?}");
    let unknown =
        read(post("_sim/switch", json!({"provider": "x", "account": "nobody", "switch": "revoke_app"})).await.unwrap())
            .await;
    assert_eq!(unknown.status, 404, "{unknown:?}");

    let stats = read(h.http.get(base.join("_sim/stats").unwrap()).send().await.unwrap()).await;
    assert!(stats.body["probe"].as_u64().unwrap() >= 2);
    let ping = h.http.get(base.join("_sim/ping").unwrap()).send().await.unwrap();
    assert_eq!(ping.status(), 200);
}
