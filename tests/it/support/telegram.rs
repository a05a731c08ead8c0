//! A fake Telegram Bot API server on loopback: the methods relink calls (`getMe`,
//! `getUpdates`, `sendMessage`, `editMessageText`, `answerCallbackQuery`, `setMyCommands`,
//! `setWebhook`, `deleteWebhook`, `getChatMember`), every call recorded, Telegram's rate limits
//! enforced (overall per second, per chat per second, per group per minute) with a 429 and
//! `parameters.retry_after` when they are broken, and switches for blocked chats, users who
//! never opened a private chat, and groups that became supergroups.
//!
//! `getUpdates` is long polling as Telegram does it: held until an update is queued or its
//! `timeout` passes; a second call while one is held ends the held one with 409 Conflict
//! ("terminated by other getUpdates request"), and a call while a webhook is set is refused
//! with 409 too. Several processes reach it through doors ([`FakeTelegram::door`]): each door is
//! a URL of its own, and every call records the door it came through.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// One recorded call.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub body: Value,
    /// The `error_code` of a refusal (429 for a broken limit), `None` when accepted.
    pub refused: Option<u16>,
    /// Which limit a 429 enforced: `overall`, `per chat` or `per group`.
    pub broke: Option<&'static str>,
    /// When the fake received it (the Telegram bench measures its rate from these).
    #[allow(dead_code)]
    pub at: Instant,
    /// The door it came through: 0 for [`FakeTelegram::url`], then [`FakeTelegram::door`]'s.
    #[allow(dead_code)]
    pub door: usize,
}

impl Call {
    pub fn chat(&self) -> Option<i64> {
        self.body.get("chat_id").and_then(Value::as_i64)
    }

    pub fn text(&self) -> &str {
        self.body.get("text").and_then(Value::as_str).unwrap_or_default()
    }
}

/// The limits the fake enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub overall_per_second: usize,
    pub per_chat_per_second: usize,
    pub per_group_per_minute: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { overall_per_second: 30, per_chat_per_second: 1, per_group_per_minute: 20 }
    }
}

#[derive(Debug, Default)]
struct Fake {
    calls: Vec<Call>,
    updates: VecDeque<Value>,
    next_message: i64,
    limits: Limits,
    sent: VecDeque<Instant>,
    per_chat: HashMap<i64, VecDeque<Instant>>,
    blocked: HashSet<i64>,
    never_started: HashSet<i64>,
    migrated: HashMap<i64, i64>,
    admins: HashSet<(i64, i64)>,
    /// Counts `getUpdates` calls: a held call whose number is no longer the latest is ended.
    polls: u64,
    /// Whether `setWebhook` set a webhook (`deleteWebhook` removes it).
    webhook: bool,
}

/// A running fake; clones share it.
#[derive(Debug, Clone)]
pub struct FakeTelegram {
    pub url: url::Url,
    state: Arc<Mutex<Fake>>,
}

pub const BOT_TOKEN: &str = "4242:fake-token-for-tests-only-0123456789";

/// What a door's handler holds: the fake, and which door it is.
#[derive(Debug, Clone)]
struct Door {
    fake: Arc<Mutex<Fake>>,
    number: usize,
}

impl FakeTelegram {
    pub async fn start(limits: Limits) -> Self {
        let state = Arc::new(Mutex::new(Fake { limits, next_message: 1, ..Fake::default() }));
        let url = open_door(Door { fake: state.clone(), number: 0 }).await;
        Self { url, state }
    }

    /// Another URL to the same fake (another relink process's way in): calls through it are
    /// recorded with door `number`.
    #[allow(dead_code)]
    pub async fn door(&self, number: usize) -> url::Url {
        open_door(Door { fake: self.state.clone(), number }).await
    }

    fn with<T>(&self, f: impl FnOnce(&mut Fake) -> T) -> T {
        f(&mut self.state.lock().expect("the fake's state"))
    }

    pub fn push_update(&self, update: Value) {
        self.with(|f| f.updates.push_back(update));
    }

    pub fn block(&self, chat: i64) {
        self.with(|f| f.blocked.insert(chat));
    }

    pub fn never_started(&self, user: i64) {
        self.with(|f| f.never_started.insert(user));
    }

    pub fn migrate(&self, from: i64, to: i64) {
        self.with(|f| f.migrated.insert(from, to));
    }

    pub fn make_admin(&self, chat: i64, user: i64) {
        self.with(|f| f.admins.insert((chat, user)));
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.with(|f| f.calls.clone())
    }

    /// The accepted calls of one method (any case).
    pub fn accepted(&self, method: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method.eq_ignore_ascii_case(method) && c.refused.is_none()).collect()
    }

    /// How many calls were answered with a 429.
    pub fn limited(&self) -> usize {
        self.with(|f| f.calls.iter().filter(|c| c.refused == Some(429)).count())
    }

    /// How many `getUpdates` calls have arrived, held ones included.
    #[allow(dead_code)]
    pub fn polls_started(&self) -> u64 {
        self.with(|f| f.polls)
    }

    pub fn clear(&self) {
        self.with(|f| f.calls.clear());
    }
}

/// Serves a door on a loopback port of its own; returns its URL.
async fn open_door(door: Door) -> url::Url {
    let app = Router::new().route("/{bot}/{method}", post(call)).with_state(door);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the fake Telegram serves") });
    format!("http://{address}/").parse().expect("a URL")
}

fn ok(result: Value) -> axum::Json<Value> {
    axum::Json(json!({ "ok": true, "result": result }))
}

fn error(code: u16, description: &str, parameters: Option<Value>) -> axum::Json<Value> {
    let mut body = json!({ "ok": false, "error_code": code, "description": description });
    if let Some(parameters) = parameters {
        body["parameters"] = parameters;
    }
    axum::Json(body)
}

fn chat_json(id: i64) -> Value {
    if id < 0 {
        json!({ "id": id, "type": "supergroup", "title": "Team chat" })
    } else {
        json!({ "id": id, "type": "private", "first_name": "Someone" })
    }
}

fn user_json(id: i64) -> Value {
    json!({ "id": id, "is_bot": false, "first_name": "Someone" })
}

/// Which limit a message to `chat` now would break, if any; records it when it breaks none.
fn admit(fake: &mut Fake, chat: i64, now: Instant) -> Option<&'static str> {
    let second = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
    let minute = now.checked_sub(Duration::from_secs(60)).unwrap_or(now);
    while fake.sent.front().is_some_and(|t| *t <= second) {
        fake.sent.pop_front();
    }
    let limits = fake.limits;
    let history = fake.per_chat.entry(chat).or_default();
    while history.front().is_some_and(|t| *t <= minute) {
        history.pop_front();
    }
    let in_second = history.iter().filter(|t| **t > second).count();
    let broke = if fake.sent.len() >= limits.overall_per_second {
        Some("overall")
    } else if in_second >= limits.per_chat_per_second {
        Some("per chat")
    } else if chat < 0 && history.len() >= limits.per_group_per_minute {
        Some("per group")
    } else {
        None
    };
    if broke.is_none() {
        history.push_back(now);
        fake.sent.push_back(now);
    }
    broke
}

async fn call(
    State(door): State<Door>,
    Path((bot, method)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, axum::Json<Value>) {
    let state = &door.fake;
    let body: Value = serde_json::from_slice(&body).unwrap_or_else(|_| multipart_fields(&body));
    let mut terminated = false;
    if method.eq_ignore_ascii_case("getUpdates") && bot == format!("bot{BOT_TOKEN}") {
        terminated = !long_poll(state, &body).await;
    }
    let now = Instant::now();
    let mut fake = state.lock().expect("the fake's state");
    if bot != format!("bot{BOT_TOKEN}") {
        return (axum::http::StatusCode::UNAUTHORIZED, error(401, "Unauthorized", None));
    }
    let method_lower = method.to_lowercase();
    let chat = body.get("chat_id").and_then(Value::as_i64);
    let mut call =
        Call { method: method.clone(), body: body.clone(), refused: None, broke: None, at: now, door: door.number };
    let answer = match method_lower.as_str() {
        "getme" => ok(json!({ "id": 4242, "is_bot": true, "first_name": "relink", "username": "relink_bot" })),
        "getupdates" if fake.webhook => error(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            None,
        ),
        "getupdates" if terminated => error(
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            None,
        ),
        "getupdates" => {
            let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0);
            let updates: Vec<Value> = fake
                .updates
                .drain(..)
                .filter(|u| u.get("update_id").and_then(Value::as_i64).unwrap_or(0) >= offset)
                .collect();
            ok(Value::Array(updates))
        }
        "sendmessage" | "editmessagetext" => {
            let chat = chat.unwrap_or(0);
            if let Some(to) = fake.migrated.get(&chat) {
                error(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    Some(json!({ "migrate_to_chat_id": to })),
                )
            } else if fake.blocked.contains(&chat) {
                error(403, "Forbidden: bot was blocked by the user", None)
            } else if fake.never_started.contains(&chat) {
                error(403, "Forbidden: bot can't initiate conversation with a user", None)
            } else if let Some(limit) = admit(&mut fake, chat, now) {
                call.broke = Some(limit);
                error(429, "Too Many Requests: retry after 1", Some(json!({ "retry_after": 1 })))
            } else {
                let id = match body.get("message_id").and_then(Value::as_i64) {
                    Some(id) => id,
                    None => {
                        fake.next_message += 1;
                        fake.next_message
                    }
                };
                ok(json!({
                    "message_id": id,
                    "date": 1_772_366_400,
                    "chat": chat_json(chat),
                    "text": body.get("text").cloned().unwrap_or(Value::Null),
                }))
            }
        }
        "getchatmember" => {
            let user = body.get("user_id").and_then(Value::as_i64).unwrap_or(0);
            if fake.admins.contains(&(chat.unwrap_or(0), user)) {
                ok(json!({ "status": "creator", "user": user_json(user), "is_anonymous": false }))
            } else {
                ok(json!({ "status": "member", "user": user_json(user) }))
            }
        }
        "setwebhook" => {
            fake.webhook = true;
            ok(json!(true))
        }
        "deletewebhook" => {
            fake.webhook = false;
            ok(json!(true))
        }
        "answercallbackquery" | "setmycommands" => ok(json!(true)),
        "getwebhookinfo" => ok(json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 })),
        _ => error(404, "Not Found: method not found", None),
    };
    call.refused = answer.0.get("error_code").and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok());
    fake.calls.push(call);
    // Telegram answers a refusal with the HTTP status of its `error_code`, as here.
    let status = call_status(answer.0.get("error_code").and_then(Value::as_u64));
    (status, answer)
}

fn call_status(error_code: Option<u64>) -> axum::http::StatusCode {
    error_code
        .and_then(|code| u16::try_from(code).ok())
        .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
        .unwrap_or(axum::http::StatusCode::OK)
}

/// Holds a `getUpdates` call until an update is queued or its `timeout` (seconds) passes, as
/// Telegram does, so a polling bot does not spin. `false` when a later `getUpdates` call ended
/// it (Telegram then answers the held one 409 Conflict).
async fn long_poll(state: &Mutex<Fake>, body: &Value) -> bool {
    let timeout = Duration::from_secs(body.get("timeout").and_then(Value::as_u64).unwrap_or(0).min(30));
    let deadline = Instant::now() + timeout;
    let mine = {
        let mut fake = state.lock().expect("the fake's state");
        fake.polls += 1;
        fake.polls
    };
    loop {
        {
            let fake = state.lock().expect("the fake's state");
            if fake.polls != mine {
                return false;
            }
            if Instant::now() >= deadline || !fake.updates.is_empty() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The text fields of a `multipart/form-data` body (teloxide sends `setWebhook` that way).
fn multipart_fields(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let mut fields = serde_json::Map::new();
    for part in text.split("\r\n--") {
        let Some(start) = part.find("name=\"") else { continue };
        let rest = &part[start + 6..];
        let Some((name, rest)) = rest.split_once('"') else { continue };
        let Some((_, value)) = rest.split_once("\r\n\r\n") else { continue };
        fields.insert(name.to_owned(), Value::String(value.trim_end_matches("\r\n").to_owned()));
    }
    Value::Object(fields)
}

/// A text message update from `user` in `chat`.
pub fn message(update_id: i64, chat: i64, user: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_772_366_400,
            "chat": chat_json(chat),
            "from": { "id": user, "is_bot": false, "first_name": "Someone", "language_code": "en" },
            "text": text,
        }
    })
}

/// A button press by `user` under a message of the bot in `chat`.
pub fn press(update_id: i64, chat: i64, user: i64, data: &str) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("q{update_id}"),
            "from": { "id": user, "is_bot": false, "first_name": "Someone" },
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 1_772_366_400,
                "chat": chat_json(chat),
                "from": { "id": 4242, "is_bot": true, "first_name": "relink" },
                "text": "alert",
            }
        }
    })
}

/// The bot's id in the fake: the number before the colon of [`BOT_TOKEN`].
pub const BOT_ID: i64 = 4242;

/// A `my_chat_member` update: relink's bot went from `old` to `new` (`ChatMember` JSON) in the
/// channel `chat` (with its public `@username`, if any).
pub fn my_chat_member(update_id: i64, chat: i64, username: Option<&str>, old: Value, new: Value) -> Value {
    let mut chat = json!({ "id": chat, "type": "channel", "title": "News" });
    if let Some(username) = username {
        chat["username"] = json!(username);
    }
    json!({
        "update_id": update_id,
        "my_chat_member": {
            "chat": chat,
            "from": { "id": 1_000_001, "is_bot": false, "first_name": "Channel admin" },
            "date": 1_772_366_400,
            "old_chat_member": old,
            "new_chat_member": new,
        }
    })
}

/// The bot as an administrator of a channel, allowed to post or not.
pub fn bot_administrator(can_post_messages: bool) -> Value {
    json!({
        "status": "administrator", "user": bot_json(), "can_be_edited": false, "is_anonymous": false,
        "can_manage_chat": true, "can_change_info": false, "can_post_messages": can_post_messages,
        "can_edit_messages": can_post_messages, "can_delete_messages": true, "can_manage_video_chats": false,
        "can_invite_users": true, "can_restrict_members": false, "can_promote_members": false,
    })
}

/// The bot removed from a chat by an admin.
pub fn bot_kicked() -> Value {
    json!({ "status": "kicked", "user": bot_json(), "until_date": 0 })
}

fn bot_json() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "relink", "username": "relink_bot" })
}
