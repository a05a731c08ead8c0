//! A fake Discord REST API on loopback: the endpoints relink calls, with Discord's rate-limit
//! behaviour. relink's Discord client is pointed at it through `discord.api_url`
//! (`http://127.0.0.1:PORT/api`), so serenity's routes arrive as `/api/v10/...`.
//!
//! - Records every call (method, path without the interaction token, JSON body).
//! - Announces a bucket on every answer (`X-RateLimit-Limit/Remaining/Reset-After/Bucket`):
//!   per route and major parameter (channel, application, interaction), `bucket_limit`
//!   requests per `bucket_window`, and a global cap of `global_limit` requests per second
//!   (interaction routes exempt, as at Discord). A request beyond either is answered 429 with
//!   `{"message", "retry_after", "global"}` and `Retry-After`, and counted.
//! - Creating a message honours `nonce` + `enforce_nonce`: the same nonce in the same channel
//!   answers the message created first instead of a new one.
//! - Channels can be made gone (404, code 10003) or forbidden (403, code 50001).
//!
//! Also used by `benches/discord.rs` (included by path), so it depends on nothing else of the
//! test support.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The application (and bot user) id the fake answers with.
pub const APPLICATION_ID: u64 = 424_242_424_242;

/// The public key `GET /applications/@me` answers with: the Ed25519 key of the secret key of
/// thirty-two 7s (`ed25519_dalek::SigningKey::from_bytes(&[7; 32])`).
pub const VERIFY_KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

/// One call the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    /// The path under `/api/v10`, with an interaction token replaced by `{token}`.
    pub path: String,
    pub body: Value,
    pub at: Instant,
    /// The status the fake answered.
    pub status: u16,
}

/// A message the fake holds.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: u64,
    pub channel: u64,
    pub body: Value,
    pub edits: Vec<Value>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    used: u32,
}

#[derive(Debug)]
struct State_ {
    calls: Vec<Call>,
    messages: Vec<Message>,
    next_id: u64,
    dm_channels: HashMap<u64, u64>,
    commands: HashMap<String, Value>,
    buckets: HashMap<String, Window>,
    global: Window,
    too_many: u32,
    gone: HashSet<u64>,
    forbidden: HashSet<u64>,
    /// Refuse the next N requests with a 429 regardless of the buckets.
    refuse_next: u32,
    /// The wait (seconds, as written) the forced 429s ask for, instead of 0.2 s.
    forced_wait: Option<String>,
}

/// The fake's rules.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub bucket_limit: u32,
    pub bucket_window: Duration,
    pub global_limit: u32,
}

impl Default for Limits {
    /// Discord's message bucket (5 per 5 s per channel) and global cap (50 per second).
    fn default() -> Self {
        Self { bucket_limit: 5, bucket_window: Duration::from_secs(5), global_limit: 50 }
    }
}

/// A running fake.
#[derive(Clone)]
pub struct FakeDiscord {
    state: Arc<Mutex<State_>>,
    limits: Limits,
    pub address: std::net::SocketAddr,
}

impl std::fmt::Debug for FakeDiscord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDiscord").field("address", &self.address).finish()
    }
}

impl FakeDiscord {
    /// Starts a fake on a free loopback port; it runs until the test's runtime ends.
    pub async fn start(limits: Limits) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let address = listener.local_addr().expect("the bound address");
        let state = Arc::new(Mutex::new(State_ {
            calls: Vec::new(),
            messages: Vec::new(),
            next_id: 1_000_000,
            dm_channels: HashMap::new(),
            commands: HashMap::new(),
            buckets: HashMap::new(),
            global: Window { started: Instant::now(), used: 0 },
            too_many: 0,
            gone: HashSet::new(),
            forbidden: HashSet::new(),
            refuse_next: 0,
            forced_wait: None,
        }));
        let fake = Self { state, limits, address };
        let router = Router::new().fallback(handle).with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        fake
    }

    /// The value for `discord.api_url`.
    pub fn api_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/api", self.address)).expect("a valid URL")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State_> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }

    /// How many requests were answered 429.
    pub fn too_many_requests(&self) -> u32 {
        self.lock().too_many
    }

    /// The commands registered, by scope (`global` or `guild:ID`).
    pub fn commands(&self, scope: &str) -> Option<Value> {
        self.lock().commands.get(scope).cloned()
    }

    /// Makes a channel deleted (404) or closed to the bot (403).
    pub fn make_gone(&self, channel: u64) {
        self.lock().gone.insert(channel);
    }

    pub fn make_forbidden(&self, channel: u64) {
        self.lock().forbidden.insert(channel);
    }

    /// Answers the next `n` requests with a 429 (as a broken limit would).
    pub fn refuse_next(&self, n: u32) {
        self.lock().refuse_next = n;
    }

    /// Answers the next `n` requests with a 429 asking for `seconds` (any number, as written).
    pub fn refuse_next_asking(&self, n: u32, seconds: &str) {
        let mut state = self.lock();
        state.refuse_next = n;
        state.forced_wait = Some(seconds.to_owned());
    }
}

fn error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, axum::Json(json!({ "code": code, "message": message }))).into_response()
}

async fn handle(
    State(fake): State<FakeDiscord>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _ = headers;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().strip_prefix("/api/v10").unwrap_or(uri.path()).to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    // Interaction routes: /interactions/{id}/{token}/callback, /webhooks/{app}/{token}[/…].
    let (recorded, bucket, global) = match segments.as_slice() {
        ["interactions", id, _token, rest @ ..] => {
            (format!("/interactions/{id}/{{token}}/{}", rest.join("/")), format!("interaction:{id}"), false)
        }
        ["webhooks", app, _token, rest @ ..] => {
            let tail = if rest.is_empty() { String::new() } else { format!("/{}", rest.join("/")) };
            (format!("/webhooks/{app}/{{token}}{tail}"), format!("webhook:{app}"), false)
        }
        ["channels", channel, ..] => (path.clone(), format!("{method}:channel:{channel}"), true),
        ["applications", app, ..] => (path.clone(), format!("{method}:application:{app}"), true),
        _ => (path.clone(), format!("{method}:{path}"), true),
    };
    let limits = fake.limits;
    let mut state = fake.lock();
    let now = Instant::now();
    // The global cap: fixed one-second windows.
    if global {
        if now.duration_since(state.global.started) >= Duration::from_secs(1) {
            state.global = Window { started: now, used: 0 };
        }
        state.global.used += 1;
    }
    let window = state.buckets.entry(bucket.clone()).or_insert(Window { started: now, used: 0 });
    if now.duration_since(window.started) >= limits.bucket_window {
        *window = Window { started: now, used: 0 };
    }
    window.used += 1;
    let used = window.used;
    let reset_after = limits.bucket_window.saturating_sub(now.duration_since(window.started));
    let over_bucket = used > limits.bucket_limit;
    let over_global = global && state.global.used > limits.global_limit;
    let forced = state.refuse_next > 0;
    let announce = |response: &mut Response| {
        let headers = response.headers_mut();
        let mut set = |name: &'static str, value: String| {
            headers.insert(name, HeaderValue::from_str(&value).expect("a header value"));
        };
        set("x-ratelimit-limit", limits.bucket_limit.to_string());
        set("x-ratelimit-remaining", limits.bucket_limit.saturating_sub(used).to_string());
        set("x-ratelimit-reset-after", format!("{:.3}", reset_after.as_secs_f64()));
        set(
            "x-ratelimit-bucket",
            format!("{:x}", bucket.len() * 7919 + bucket.bytes().map(usize::from).sum::<usize>()),
        );
    };
    if over_bucket || over_global || forced {
        state.refuse_next = state.refuse_next.saturating_sub(1);
        state.too_many += 1;
        let global_refusal = over_global && !over_bucket;
        let retry_after = if global_refusal {
            Duration::from_secs(1).saturating_sub(now.duration_since(state.global.started))
        } else if forced {
            Duration::from_millis(200)
        } else {
            reset_after
        };
        state.calls.push(Call { method, path: recorded, body, at: now, status: 429 });
        let asked = match state.forced_wait.clone().filter(|_| forced) {
            Some(written) => written,
            None => format!("{:.3}", retry_after.as_secs_f64()),
        };
        let wait: serde_json::Value = serde_json::from_str(&asked).expect("a number");
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(
                json!({ "message": "You are being rate limited.", "retry_after": wait, "global": global_refusal }),
            ),
        )
            .into_response();
        announce(&mut response);
        response.headers_mut().insert("retry-after", HeaderValue::from_str(&asked).expect("a value"));
        if global_refusal {
            response.headers_mut().insert("x-ratelimit-global", HeaderValue::from_static("true"));
        }
        return response;
    }
    let (mut response, status) = answer(&mut state, &method, &segments, &body);
    state.calls.push(Call { method, path: recorded, body, at: now, status });
    announce(&mut response);
    response
}

/// The endpoint's answer and its status.
fn answer(state: &mut State_, method: &Method, segments: &[&str], body: &Value) -> (Response, u16) {
    let respond = |status: StatusCode, value: Value| ((status, axum::Json(value)).into_response(), status.as_u16());
    match (method.as_str(), segments) {
        ("GET", ["users", "@me"]) => {
            respond(StatusCode::OK, json!({ "id": APPLICATION_ID.to_string(), "username": "relink", "bot": true }))
        }
        ("GET", ["applications", "@me"]) => respond(
            StatusCode::OK,
            json!({ "id": APPLICATION_ID.to_string(), "name": "relink", "verify_key": VERIFY_KEY }),
        ),
        ("POST", ["users", "@me", "channels"]) => {
            let recipient: u64 = body["recipient_id"].as_str().and_then(|r| r.parse().ok()).unwrap_or(0);
            let next = state.next_id + 1;
            let channel = *state.dm_channels.entry(recipient).or_insert(next);
            state.next_id = state.next_id.max(channel);
            respond(StatusCode::OK, json!({ "id": channel.to_string(), "type": 1 }))
        }
        ("POST", ["channels", channel, "messages"]) | ("PATCH", ["channels", channel, "messages", _]) => {
            let channel: u64 = channel.parse().unwrap_or(0);
            if state.gone.contains(&channel) {
                return (error(StatusCode::NOT_FOUND, 10_003, "Unknown Channel"), 404);
            }
            if state.forbidden.contains(&channel) {
                return (error(StatusCode::FORBIDDEN, 50_001, "Missing Access"), 403);
            }
            if let ["channels", _, "messages", id] = segments {
                let id: u64 = id.parse().unwrap_or(0);
                return match state.messages.iter_mut().find(|m| m.id == id && m.channel == channel) {
                    Some(message) => {
                        message.edits.push(body.clone());
                        respond(StatusCode::OK, json!({ "id": id.to_string(), "channel_id": channel.to_string() }))
                    }
                    None => (error(StatusCode::NOT_FOUND, 10_008, "Unknown Message"), 404),
                };
            }
            let nonce = body["nonce"].as_str().map(str::to_owned);
            if body["enforce_nonce"].as_bool() == Some(true)
                && let Some(nonce) = &nonce
                && let Some(existing) =
                    state.messages.iter().find(|m| m.channel == channel && m.body["nonce"].as_str() == Some(nonce))
            {
                let id = existing.id;
                return respond(StatusCode::OK, json!({ "id": id.to_string(), "channel_id": channel.to_string() }));
            }
            state.next_id += 1;
            let id = state.next_id;
            state.messages.push(Message { id, channel, body: body.clone(), edits: Vec::new() });
            respond(StatusCode::OK, json!({ "id": id.to_string(), "channel_id": channel.to_string() }))
        }
        ("PUT", ["applications", _, "commands"]) | ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            let scope = match segments {
                [_, _, "guilds", guild, _] => format!("guild:{guild}"),
                _ => "global".to_owned(),
            };
            let registered: Vec<Value> = body
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, command)| {
                    let mut command = command.clone();
                    command["id"] = json!((900 + i).to_string());
                    command["application_id"] = json!(APPLICATION_ID.to_string());
                    command
                })
                .collect();
            state.commands.insert(scope, Value::Array(registered.clone()));
            respond(StatusCode::OK, Value::Array(registered))
        }
        ("POST", ["interactions", _, _, "callback"]) => (StatusCode::NO_CONTENT.into_response(), 204),
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => respond(StatusCode::OK, json!({ "id": "1" })),
        ("DELETE", ["webhooks", _, _, "messages", "@original"]) => (StatusCode::NO_CONTENT.into_response(), 204),
        ("POST", ["webhooks", _, _]) => {
            state.next_id += 1;
            respond(StatusCode::OK, json!({ "id": state.next_id.to_string() }))
        }
        _ => (error(StatusCode::NOT_FOUND, 0, "404: Not Found"), 404),
    }
}
