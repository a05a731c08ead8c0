//! The authorization code flow: redirect with code and state, single-use codes, PKCE, cancel.

use base64::Engine;
use relink_core::Provider;
use sha2::{Digest, Sha256};
use url::Url;

use super::{harness, healthy, read};
use crate::{CLIENT_ID, CLIENT_SECRET, Issued, Switch};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback/x";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn authorize(h: &super::Harness, provider: Provider, extra: &[(&str, &str)]) -> Url {
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("state", "st-1"),
        ("scope", "tweet.read offline.access"),
    ];
    query.extend_from_slice(extra);
    let response = h.http.get(h.url(provider, "authorize")).query(&query).send().await.unwrap();
    assert_eq!(response.status(), 302);
    Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

fn param(url: &Url, key: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

async fn exchange(h: &super::Harness, provider: Provider, code: &str, verifier: Option<&str>) -> super::Got {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", REDIRECT)];
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    let request = h.http.post(h.url(provider, "token")).basic_auth(CLIENT_ID, Some(CLIENT_SECRET)).form(&form);
    read(request.send().await.unwrap()).await
}

#[tokio::test]
async fn a_code_with_pkce_is_exchanged_once_for_the_account_that_logged_in() {
    let h = harness().await;
    h.add(Provider::X, "first");
    let old = h.add(Provider::X, "brand");
    let verifier = "a-verifier-long-enough-to-satisfy-rfc-7636-requirements";
    let location = authorize(
        &h,
        Provider::X,
        &[("login_as", "brand"), ("code_challenge", &challenge(verifier)), ("code_challenge_method", "S256")],
    )
    .await;
    assert!(location.as_str().starts_with(REDIRECT));
    assert_eq!(param(&location, "state").as_deref(), Some("st-1"));
    let code = param(&location, "code").unwrap();

    let got = exchange(&h, Provider::X, &code, Some(verifier)).await;
    assert_eq!(got.status, 200, "{got:?}");
    let access = got.body["access_token"].as_str().unwrap().to_owned();
    let issued = Issued { access_token: access, ..old.clone() };
    let probe = h.probe(&issued).await;
    assert!(healthy(Provider::X, &probe));
    assert_eq!(probe.body["data"]["id"], "brand");
    assert_eq!(h.probe(&old).await.status, 401, "a new grant supersedes the old tokens");

    let again = exchange(&h, Provider::X, &code, Some(verifier)).await;
    assert_eq!((again.status, again.body["error"].as_str()), (400, Some("invalid_grant")), "codes are single-use");

    // A wrong verifier is refused, and the code it was presented with is spent.
    let pkce = [("code_challenge", challenge(verifier)), ("code_challenge_method", "S256".to_owned())];
    let pkce: Vec<(&str, &str)> = pkce.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let code = param(&authorize(&h, Provider::X, &pkce).await, "code").unwrap();
    let wrong = "another-verifier-long-enough-to-satisfy-rfc-7636-requirements";
    assert_eq!(exchange(&h, Provider::X, &code, Some(wrong)).await.body["error"], "invalid_grant");
    assert_eq!(exchange(&h, Provider::X, &code, Some(verifier)).await.body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_person_who_cancels_comes_back_with_access_denied() {
    let h = harness().await;
    h.add(Provider::Linkedin, "acme");
    h.sim.apply(Provider::Linkedin, "acme", Switch::CancelAuthorize).unwrap();
    let location = authorize(&h, Provider::Linkedin, &[]).await;
    assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&location, "state").as_deref(), Some("st-1"));
    assert!(param(&location, "code").is_none());
}

#[tokio::test]
async fn an_unknown_client_or_a_missing_redirect_is_refused_without_redirecting() {
    let h = harness().await;
    h.add(Provider::X, "brand");
    let response = h
        .http
        .get(h.url(Provider::X, "authorize"))
        .query(&[("response_type", "code"), ("client_id", "someone-else"), ("redirect_uri", REDIRECT)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let response = h
        .http
        .get(h.url(Provider::X, "authorize"))
        .query(&[("response_type", "code"), ("client_id", CLIENT_ID)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let got = exchange(&h, Provider::X, "never-issued", None).await;
    assert_eq!(got.body["error"], "invalid_grant");
}
