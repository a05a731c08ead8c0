//! Faults: 5xx, rate limits with the wait in each network's shape, timeouts, counted failures.

use std::time::{Duration, Instant};

use relink_core::Provider;

use super::{graph_error, harness, healthy};
use crate::{Fail, Faults, Scope};

#[tokio::test]
async fn rate_limits_carry_the_wait_where_each_network_puts_it() {
    let h = harness().await;
    let wait = Fail::RateLimited { retry_after: 17 };
    let x = h.add(Provider::X, "brand");
    let tg = h.add(Provider::Telegram, "-1001");
    let fb = h.add(Provider::Facebook, "page");
    h.sim.fail(Scope::All, wait).unwrap();

    let got = h.probe(&x).await;
    assert_eq!(got.status, 429);
    assert_eq!(got.header("retry-after"), Some("17"));
    let reset: i64 = got.header("x-rate-limit-reset").unwrap().parse().unwrap();
    assert_eq!(reset, h.sim.now().timestamp() + 17);

    let got = h.probe(&tg).await;
    assert_eq!(got.status, 429);
    assert_eq!(got.body["ok"], false);
    assert_eq!(got.body["parameters"]["retry_after"], 17);

    let got = h.probe(&fb).await;
    assert_eq!(graph_error(&got).0, 4, "Graph rate limits are code 4: {got:?}");
}

#[tokio::test]
async fn a_counted_failure_passes_and_the_account_answers_again() {
    let h = harness().await;
    let issued = h.add(Provider::Pinterest, "pin");
    h.sim.fail_times(Scope::Account(Provider::Pinterest, "pin"), Fail::ServerError { status: 502 }, 2).unwrap();
    assert_eq!(h.probe(&issued).await.status, 502);
    assert_eq!(h.probe(&issued).await.status, 502);
    assert!(healthy(Provider::Pinterest, &h.probe(&issued).await));
    assert_eq!(h.sim.totals().server_errors, 2);
}

#[tokio::test]
async fn a_timeout_holds_the_request_longer_than_the_client_waits() {
    let h = harness().await;
    h.sim.set_timeout_hold(Duration::from_secs(30));
    let issued = h.add(Provider::X, "brand");
    h.sim.fail(Scope::Provider(Provider::X), Fail::Timeout).unwrap();
    let client = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let started = Instant::now();
    let result = client.get(h.url(Provider::X, "api/2/users/me")).bearer_auth(&issued.access_token).send().await;
    assert!(result.unwrap_err().is_timeout());
    assert!(started.elapsed() < Duration::from_secs(5));
    h.sim.clear_faults(Scope::Provider(Provider::X)).unwrap();
    assert!(healthy(Provider::X, &h.probe(&issued).await));
}

#[tokio::test]
async fn a_fault_rate_fails_about_that_share_of_requests_and_never_kills_a_token() {
    let h = harness().await;
    let issued = h.add(Provider::Linkedin, "acme");
    h.sim.set_faults(Scope::All, Faults { rate: 0.5, ..Faults::default() }).unwrap();
    h.sim.set_timeout_hold(Duration::from_millis(10));
    let mut failed = 0;
    for _ in 0..200 {
        let got = h.probe(&issued).await;
        if !healthy(Provider::Linkedin, &got) {
            assert!(got.status == 429 || got.status >= 500, "a fault must look transient: {got:?}");
            failed += 1;
        }
    }
    assert!((50..=150).contains(&failed), "{failed} of 200 failed at rate 0.5");
}

#[tokio::test]
async fn facebook_reports_app_usage_in_its_header() {
    let h = harness().await;
    let page = h.add(Provider::Facebook, "page");
    h.sim.set_app_usage(Provider::Facebook, 85);
    let got = h.probe(&page).await;
    let usage: serde_json::Value = serde_json::from_str(got.header("x-app-usage").unwrap()).unwrap();
    assert_eq!(usage["call_count"], 85);
}
