//! Adapter tests that need no network: authorization URLs, and the promise that no token, refresh
//! token, code or client secret ever reaches a verdict's words, even when a network echoes them.
//! A raw TCP stub answers with canned bodies; the provider simulator covers the real flows.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use super::*;
use crate::domain::{ChannelId, DisplayName, ExternalAccountId, Health, Scopes, TeamId};

const SECRET: &str = "client-SECRET-0123456789";
const ACCESS: &str = "access-SECRET-abcdefghij";
const REFRESH: &str = "refresh-SECRET-klmnopqrs";
const BOT: &str = "123456789:bot-SECRET-tuvwxyz";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc()
}

fn channel(provider: Provider, account: &str) -> Channel {
    Channel {
        id: ChannelId(1),
        team_id: TeamId(1),
        provider,
        external_account_id: ExternalAccountId::parse(account).unwrap(),
        display_name: DisplayName::parse("Acme").unwrap(),
        authorized_by: None,
        token_expires_at: None,
        scopes: Scopes::default(),
        last_activity_at: Some(now()),
        health: Health::Healthy,
        next_check_at: now(),
        last_checked_at: None,
        created_at: now() - chrono::Duration::days(40),
    }
}

/// Tokens 30 days into a 60-day life (old enough to extend), with a refresh token.
fn tokens(provider: Provider) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(if provider == Provider::Telegram { BOT } else { ACCESS }),
        refresh_token: Some(SecretString::from(REFRESH)),
        expires_at: Some(now() + chrono::Duration::days(30)),
        scopes: Scopes::default(),
        refresh_expires_at: None,
    }
}

type Route = Arc<dyn Fn(&str) -> Option<(u16, String)> + Send + Sync>;

/// An HTTP/1.1 stub: answers each request with `route(path)`, or never answers when it says `None`.
async fn stub(route: Route) -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let route = route.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let head_end = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break end;
                        }
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let Some((status, body)) = route(&path) else {
                    // Hold the connection open and never answer: a timeout after sending.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                };
                let response = format!(
                    "HTTP/1.1 {status} Stub\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Url::parse(&format!("http://{addr}/")).unwrap()
}

fn providers(base: &Url) -> Providers {
    Providers::all_at(base, "relink-sim", SECRET, 10.0).timeout(Duration::from_secs(1))
}

fn assert_no_secret(what: &str, text: &str) {
    assert_none_of(what, text, &[SECRET, ACCESS, REFRESH, BOT, "bot-SECRET", "code-SECRET", "verifier-SECRET"]);
}

fn assert_none_of(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{what} leaks {secret}: {text}");
    }
}

#[test]
fn configured_scopes_replace_the_networks_usual_ones() {
    let mut configs: std::collections::HashMap<Provider, ProviderConfig> = std::collections::HashMap::new();
    let root = Url::parse("http://sim.test/").unwrap();
    for provider in [Provider::GenericOauth2, Provider::Pinterest] {
        let mut config =
            policy::policy(provider).config_under(&root.join(&format!("{provider}/")).unwrap(), "id", SECRET, 1.0);
        config.scopes = Some(vec!["openid".into(), "boards:read".into()]);
        configs.insert(provider, config);
    }
    let providers = Providers::new(configs);
    let redirect = Url::parse("https://relink.test/oauth/callback").unwrap();
    for (provider, expected) in
        [(Provider::GenericOauth2, "openid boards:read"), (Provider::Pinterest, "openid,boards:read")]
    {
        let ctx = providers.ctx(provider, now());
        let url = providers.adapter(provider).authorize_url(ctx, &redirect, "s", Some("c")).unwrap();
        let scope = url.query_pairs().find(|(k, _)| k == "scope").map(|(_, v)| v.into_owned());
        assert_eq!(scope.as_deref(), Some(expected), "{provider}");
    }
}

#[test]
fn a_forged_reconnect_cannot_pass_silently_where_the_network_has_a_consent_parameter() {
    let providers = Providers::all_at(&Url::parse("http://sim.test/").unwrap(), "relink-sim", SECRET, 10.0);
    let redirect = Url::parse("https://relink.test/oauth/callback").unwrap();
    // The parameter each network documents for asking again; `None` where it documents none.
    let table = [
        (Provider::Facebook, Some(("auth_type", "rerequest"))),
        (Provider::InstagramBusiness, Some(("auth_type", "rerequest"))),
        (Provider::Youtube, Some(("prompt", "consent"))),
        (Provider::GoogleBusiness, Some(("prompt", "consent"))),
        (Provider::GenericOauth2, Some(("prompt", "consent"))),
        (Provider::InstagramLogin, None),
        (Provider::Threads, None),
        (Provider::Linkedin, None),
        (Provider::X, None),
        (Provider::Pinterest, None),
    ];
    for (provider, consent) in table {
        let ctx = providers.ctx(provider, now());
        let url = providers.adapter(provider).authorize_url(ctx, &redirect, "s", None).unwrap();
        let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        let asked = ["auth_type", "prompt"].into_iter().find_map(|k| query.get(k).map(|v| (k, v.as_str())));
        assert_eq!(asked, consent, "{provider}");
    }
}

#[test]
fn authorization_urls_carry_state_redirect_scopes_and_pkce_but_never_the_secret() {
    let providers = Providers::all_at(&Url::parse("http://sim.test/").unwrap(), "relink-sim", SECRET, 10.0);
    let redirect = Url::parse("https://relink.test/oauth/callback?x=1").unwrap();
    // (provider, scope separator, PKCE sent, Google's offline access)
    let table = [
        (Provider::Facebook, ",", false, false),
        (Provider::InstagramBusiness, ",", false, false),
        (Provider::InstagramLogin, ",", false, false),
        (Provider::Threads, ",", false, false),
        (Provider::Pinterest, ",", false, false),
        (Provider::Linkedin, " ", false, false),
        (Provider::X, " ", true, false),
        (Provider::Youtube, " ", true, true),
        (Provider::GoogleBusiness, " ", true, true),
    ];
    for (provider, separator, pkce, offline) in table {
        let ctx = providers.ctx(provider, now());
        let url = providers.adapter(provider).authorize_url(ctx, &redirect, "st4te-xyz", Some("chal-lenge")).unwrap();
        let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        let get = |k: &str| query.get(k).map(String::as_str);
        assert!(url.as_str().starts_with(&format!("http://sim.test/{}/authorize?", provider.as_str())), "{url}");
        assert_eq!(get("response_type"), Some("code"), "{provider}");
        assert_eq!(get("client_id"), Some("relink-sim"), "{provider}");
        assert_eq!(get("state"), Some("st4te-xyz"), "{provider}");
        assert_eq!(get("redirect_uri"), Some(redirect.as_str()), "{provider}");
        let scopes = providers.policy(provider).scopes.join(separator);
        assert_eq!(get("scope"), Some(scopes.as_str()), "{provider}");
        assert_eq!(get("code_challenge"), pkce.then_some("chal-lenge"), "{provider}");
        assert_eq!(get("code_challenge_method"), pkce.then_some("S256"), "{provider}");
        assert_eq!(get("access_type"), offline.then_some("offline"), "{provider}");
        assert_eq!(get("prompt"), offline.then_some("consent"), "{provider}");
        assert_no_secret(provider.as_str(), url.as_str());
        assert!(!url.as_str().contains("client_secret"), "{url}");
    }
    let ctx = providers.ctx(Provider::Telegram, now());
    assert!(providers.adapter(Provider::Telegram).authorize_url(ctx, &redirect, "s", None).is_none());
}

#[tokio::test]
async fn no_detail_ever_holds_a_token_or_the_client_secret_even_when_the_network_echoes_them() {
    let echo = format!("echo {ACCESS} {REFRESH} {BOT} {SECRET} code-SECRET verifier-SECRET");
    let body = serde_json::json!({
        "error": {"message": echo, "code": 200},
        "message": echo, "description": echo, "detail": echo, "title": echo,
        "serviceErrorCode": 100, "code": 3, "ok": false, "error_code": 403, "status": 403,
    })
    .to_string();
    let token_body = serde_json::json!({"error": "strange_code", "error_description": echo}).to_string();
    let route: Route = Arc::new(move |path: &str| {
        Some(if path.ends_with("/token") { (400, token_body.clone()) } else { (403, body.clone()) })
    });
    let providers = providers(&stub(route).await);
    let mut redacted = 0;
    for provider in Provider::ALL {
        let adapter = providers.adapter(*provider);
        let ctx = providers.ctx(*provider, now());
        let channel = channel(*provider, "-1001");
        // Validation and renewal hold the channel's tokens and the client secret.
        let tokens = tokens(*provider);
        let held = [SECRET, tokens.access_token.expose_secret(), REFRESH];
        let verdict = adapter.validate(ctx, &channel, &tokens).await;
        let text = format!("{verdict:?}");
        assert_none_of(&format!("{provider} validate"), &text, &held);
        redacted += usize::from(text.contains("[redacted]"));
        let renewed = adapter.renew(ctx, &channel, &tokens).await;
        assert_none_of(&format!("{provider} renew"), &format!("{renewed:?}"), &held);
        let redirect = Url::parse("https://relink.test/cb").unwrap();
        let exchanged = adapter.exchange_code(ctx, "code-SECRET", &redirect, Some("verifier-SECRET")).await;
        // A code exchange holds the code, the verifier and the client secret, nothing else.
        let exchanged = format!("{:?}", exchanged.map(|c| c.account_id));
        assert_none_of(&format!("{provider} exchange"), &exchanged, &[SECRET, "code-SECRET", "verifier-SECRET"]);
    }
    assert!(redacted >= 8, "the echo should reach most details, redacted: {redacted}");
}

#[tokio::test]
async fn a_refresh_that_may_have_reached_the_network_is_uncertain_and_one_that_did_not_is_refused() {
    let silent = providers(&stub(Arc::new(|_: &str| None)).await);
    let ctx = silent.ctx(Provider::X, now());
    let renewed = silent.adapter(Provider::X).renew(ctx, &channel(Provider::X, "1"), &tokens(Provider::X)).await;
    assert!(matches!(&renewed, Renewed::Uncertain(_)), "{renewed:?}");
    let verdict = silent.adapter(Provider::X).validate(ctx, &channel(Provider::X, "1"), &tokens(Provider::X)).await;
    assert!(matches!(verdict, Verdict::Transient { .. }), "{verdict:?}");

    // Nothing listens on port 9: the request never left.
    let closed = providers(&Url::parse("http://127.0.0.1:9/").unwrap());
    let ctx = closed.ctx(Provider::X, now());
    let renewed = closed.adapter(Provider::X).renew(ctx, &channel(Provider::X, "1"), &tokens(Provider::X)).await;
    assert!(matches!(&renewed, Renewed::Refused(Verdict::Transient { .. })), "{renewed:?}");
    let ctx = closed.ctx(Provider::Telegram, now());
    let verdict = closed
        .adapter(Provider::Telegram)
        .validate(ctx, &channel(Provider::Telegram, "-1001"), &tokens(Provider::Telegram))
        .await;
    assert!(matches!(&verdict, Verdict::Transient { .. }), "{verdict:?}");
    assert_no_secret("telegram transport failure", &format!("{verdict:?}"));
}

#[tokio::test]
async fn a_rotated_refresh_token_comes_back_with_expiry_and_scopes() {
    let route: Route = Arc::new(|path: &str| {
        path.ends_with("/token").then(|| {
            (200, r#"{"access_token":"new-a","refresh_token":"new-r","expires_in":"7200","scope":"tweet.read users.read","token_type":"bearer"}"#.to_owned())
        })
    });
    let providers = providers(&stub(route).await);
    let ctx = providers.ctx(Provider::X, now());
    let Renewed::Tokens(set) =
        providers.adapter(Provider::X).renew(ctx, &channel(Provider::X, "1"), &tokens(Provider::X)).await
    else {
        panic!("tokens expected")
    };
    assert_eq!(set.access_token.expose_secret(), "new-a");
    assert_eq!(set.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()).as_deref(), Some("new-r"));
    assert_eq!(set.expires_at, Some(now() + chrono::Duration::hours(2)));
    assert!(set.scopes.contains("users.read"));
}

#[tokio::test]
async fn a_refresh_token_expires_in_of_u64_max_is_read_as_ten_years() {
    let route: Route = Arc::new(|path: &str| {
        path.ends_with("/token").then(|| {
            (200, r#"{"access_token":"new-a","refresh_token":"new-r","expires_in":18446744073709551615,"refresh_token_expires_in":18446744073709551615,"token_type":"bearer"}"#.to_owned())
        })
    });
    let providers = providers(&stub(route).await);
    let ctx = providers.ctx(Provider::X, now());
    let Renewed::Tokens(set) =
        providers.adapter(Provider::X).renew(ctx, &channel(Provider::X, "1"), &tokens(Provider::X)).await
    else {
        panic!("tokens expected")
    };
    let ten_years = crate::time::after(now(), crate::time::MAX_TOKEN_LIFETIME);
    assert_eq!(set.expires_at, Some(ten_years));
    assert_eq!(set.refresh_expires_at, Some(ten_years));
}

#[tokio::test]
async fn spent_refreshable_tokens_are_renewed_not_probed_and_young_graph_tokens_are_not_extended() {
    // No stub at all: nothing may be sent.
    let providers = providers(&Url::parse("http://127.0.0.1:9/").unwrap());
    for provider in [Provider::X, Provider::Pinterest, Provider::Linkedin, Provider::Youtube] {
        let spent = TokenSet { expires_at: Some(now() + chrono::Duration::minutes(2)), ..tokens(provider) };
        let verdict =
            providers.adapter(provider).validate(providers.ctx(provider, now()), &channel(provider, "1"), &spent).await;
        assert!(verdict.wants_renewal(now()), "{provider}: {verdict:?}");
    }
    let young = TokenSet {
        expires_at: Some(now() + chrono::Duration::days(60) - chrono::Duration::hours(2)),
        ..tokens(Provider::Threads)
    };
    let ctx = providers.ctx(Provider::Threads, now());
    let renewed = providers.adapter(Provider::Threads).renew(ctx, &channel(Provider::Threads, "1"), &young).await;
    match renewed {
        // Issued two hours ago: the network extends it 22 hours from now.
        Renewed::NotYet(from) => assert_eq!(from, now() + chrono::Duration::hours(22)),
        other => panic!("a young token waits, got {other:?}"),
    }
    for provider in [Provider::Facebook, Provider::InstagramBusiness, Provider::Telegram] {
        let renewed = providers
            .adapter(provider)
            .renew(providers.ctx(provider, now()), &channel(provider, "1"), &tokens(provider))
            .await;
        assert!(matches!(renewed, Renewed::Refused(Verdict::Operator(_))), "{provider}: {renewed:?}");
    }
}

#[tokio::test]
async fn instagram_login_exchanges_a_short_lived_token_for_a_long_lived_one() {
    let route: Route = Arc::new(|path: &str| {
        Some(if path.ends_with("/token") {
            (
                200,
                r#"{"data":[{"access_token":"short","user_id":17841,"permissions":"instagram_business_basic"}]}"#
                    .to_owned(),
            )
        } else if path.contains("/api/access_token?") && path.contains("grant_type=ig_exchange_token") {
            (200, r#"{"access_token":"long","token_type":"bearer","expires_in":5184000}"#.to_owned())
        } else if path.contains("/api/me?") && path.contains("access_token=long") {
            (200, r#"{"user_id":"17841","username":"acme"}"#.to_owned())
        } else {
            (400, r#"{"error":{"message":"unexpected","code":100}}"#.to_owned())
        })
    });
    let providers = providers(&stub(route).await);
    let ctx = providers.ctx(Provider::InstagramLogin, now());
    let redirect = Url::parse("https://relink.test/cb").unwrap();
    let connected =
        providers.adapter(Provider::InstagramLogin).exchange_code(ctx, "code", &redirect, None).await.unwrap();
    assert_eq!(connected.account_id, "17841");
    assert_eq!(connected.display_name.as_deref(), Some("acme"));
    assert_eq!(connected.tokens.access_token.expose_secret(), "long");
    assert_eq!(connected.tokens.expires_at, Some(now() + chrono::Duration::days(60)));
    assert!(connected.tokens.scopes.contains("instagram_business_basic"));
}

#[test]
fn only_a_valid_verdict_naming_another_account_is_a_mismatch() {
    let naming = |account: Option<&str>| {
        Verdict::Valid(Validity { account_id: account.map(str::to_owned), ..Validity::default() })
    };
    assert_eq!(naming(Some("other")).named_other_account("mine"), Some("other"));
    assert_eq!(naming(Some("mine")).named_other_account("mine"), None);
    assert_eq!(naming(None).named_other_account("mine"), None, "a probe that names nobody");
    assert_eq!(Verdict::renew_now(now()).named_other_account("mine"), None);
    assert_eq!(Verdict::Dead(Reason::Expired).named_other_account("mine"), None);
}

#[test]
fn a_network_described_by_data_answers_as_itself_and_reads_answers_with_its_own_rules() {
    let registry = Providers::new(HashMap::new());
    for provider in Provider::ALL {
        assert_eq!(registry.adapter(*provider).provider(), *provider, "{provider}'s adapter is another network's");
        assert_eq!(policy::policy(*provider).provider, *provider, "{provider}'s policy row is another network's");
    }
    let rows = [
        &x::X,
        &pinterest::PINTEREST,
        &linkedin::LINKEDIN,
        &google::YOUTUBE,
        &google::GOOGLE_BUSINESS,
        &generic::GENERIC_OAUTH2,
    ];
    for row in rows {
        assert_eq!(
            row.family,
            classify::Family::api(row.provider),
            "{}: a row copied from another network",
            row.provider
        );
        assert!(!row.account_at.is_empty(), "{}: the probe must say whose the token is", row.provider);
    }
}
