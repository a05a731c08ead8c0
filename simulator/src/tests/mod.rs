//! Tests against a running simulator on port 0, through reqwest, one module per feature. The
//! [`Harness`] speaks each network's probe and refresh exactly as CONTRACT.md writes them, so a
//! failing test here means the simulator left the contract.

mod control;
mod faults;
mod hooks;
mod layers;
mod oauth;
mod probes;
mod renewal;
mod risc;
mod switches;
mod telegram;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use relink_core::{Provider, TestClock};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::{AccountOptions, CLIENT_ID, CLIENT_SECRET, Issued, Running, Simulator};

pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc()
}

/// An answer, read whatever its shape.
#[derive(Debug)]
pub(crate) struct Got {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Got {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub(crate) struct Harness {
    pub sim: Running,
    pub clock: TestClock,
    pub http: reqwest::Client,
}

pub(crate) async fn harness() -> Harness {
    let clock = TestClock::at(t0());
    let sim = Simulator::new(Arc::new(clock.clone())).spawn().await.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    Harness { sim, clock, http }
}

/// The account id tests use for a provider (Telegram: a chat id).
pub(crate) fn sample_account(provider: Provider) -> &'static str {
    if provider == Provider::Telegram { "-1001234567890" } else { "acct-1" }
}

pub(crate) async fn read(response: reqwest::Response) -> Got {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Got { status, headers, body }
}

impl Harness {
    pub fn url(&self, provider: Provider, path: &str) -> String {
        format!("{}{path}", self.sim.provider_url(provider))
    }

    pub fn add(&self, provider: Provider, account: &str) -> Issued {
        self.sim.add_account(provider, account, AccountOptions::default()).unwrap()
    }

    /// The contract's probe for `provider` with `issued`'s token (Telegram: `getChat`).
    pub async fn probe(&self, issued: &Issued) -> Got {
        self.probe_with(issued.provider, &issued.account, &issued.access_token).await
    }

    pub async fn probe_with(&self, provider: Provider, account: &str, token: &str) -> Got {
        let http = &self.http;
        let request = match provider {
            Provider::Facebook => http
                .get(self.url(provider, "api/debug_token"))
                .query(&[("input_token", token), ("access_token", &format!("{CLIENT_ID}|{CLIENT_SECRET}"))]),
            Provider::InstagramBusiness => http
                .get(self.url(provider, &format!("api/{account}")))
                .query(&[("fields", "id,username"), ("access_token", token)]),
            Provider::InstagramLogin => {
                http.get(self.url(provider, "api/me")).query(&[("fields", "user_id,username"), ("access_token", token)])
            }
            Provider::Threads => {
                http.get(self.url(provider, "api/me")).query(&[("fields", "id,username"), ("access_token", token)])
            }
            Provider::Linkedin => http.post(self.url(provider, "api/introspectToken")).form(&[
                ("token", token),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ]),
            Provider::X => http.get(self.url(provider, "api/2/users/me")).bearer_auth(token),
            Provider::Pinterest => http.get(self.url(provider, "api/user_account")).bearer_auth(token),
            Provider::GenericOauth2 => http.get(self.url(provider, "api/userinfo")).bearer_auth(token),
            Provider::Youtube | Provider::GoogleBusiness => {
                http.get(self.url(provider, "api/tokeninfo")).query(&[("access_token", token)])
            }
            Provider::Telegram => http
                .post(self.url(provider, &format!("api/bot{token}/getChat")))
                .json(&json!({ "chat_id": account.parse::<i64>().unwrap() })),
        };
        read(request.send().await.unwrap()).await
    }

    /// Telegram `getChatMember(chat, bot)`.
    pub async fn chat_member(&self, chat: &str) -> Got {
        let bot = self.sim.telegram_bot();
        let url = self.url(Provider::Telegram, &format!("api/bot{}/getChatMember", bot.token));
        let body = json!({ "chat_id": chat.parse::<i64>().unwrap(), "user_id": bot.id });
        read(self.http.post(url).json(&body).send().await.unwrap()).await
    }

    /// The contract's renewal: the refresh grant, or Graph's `refresh_access_token`.
    pub async fn renew(&self, provider: Provider, token: &str) -> Got {
        let request = match provider {
            Provider::InstagramLogin | Provider::Threads => {
                let grant = if provider == Provider::Threads { "th_refresh_token" } else { "ig_refresh_token" };
                self.http
                    .get(self.url(provider, "api/refresh_access_token"))
                    .query(&[("grant_type", grant), ("access_token", token)])
            }
            _ => self
                .http
                .post(self.url(provider, "token"))
                .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", token)]),
        };
        read(request.send().await.unwrap()).await
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }
}

/// Whether a probe answer says the token works, per the contract's healthy shapes.
pub(crate) fn healthy(provider: Provider, got: &Got) -> bool {
    got.status == 200
        && match provider {
            Provider::Facebook => got.body["data"]["is_valid"] == json!(true),
            Provider::Linkedin => got.body["active"] == json!(true),
            Provider::Telegram => got.body["ok"] == json!(true),
            _ => true,
        }
}

/// The Graph error object of an answer, wherever the endpoint puts it.
pub(crate) fn graph_error(got: &Got) -> (i64, Option<i64>) {
    let error = if got.body["data"]["error"].is_object() { &got.body["data"]["error"] } else { &got.body["error"] };
    let subcode = error.get("error_subcode").or_else(|| error.get("subcode")).and_then(Value::as_i64);
    (error["code"].as_i64().unwrap_or(-1), subcode)
}
