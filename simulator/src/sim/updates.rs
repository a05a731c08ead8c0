//! The updates the simulator's Telegram bots receive: when a switch changes a bot's place in a
//! chat (removed, demoted, its posting right taken, promoted back), Telegram sends the bot a
//! `my_chat_member` update, and so does the simulator. A bot reads its updates with `getUpdates`
//! (long polling, `offset` confirms what it has), or, once it called `setWebhook`, the simulator
//! POSTs each one to that URL with the `X-Telegram-Bot-Api-Secret-Token` header, in order,
//! retrying a refused one, as Telegram does. `allowed_updates` is honoured as Telegram documents
//! it: the latest list given to either call, an empty list meaning every kind but
//! `chat_member`, `message_reaction` and `message_reaction_count` (which `my_chat_member` is
//! part of), and no list meaning the previous one; it applies to updates made after it was set.
//!
//! Also here: the few other calls a bot makes on start-up and when it answers (`setMyCommands`,
//! `deleteWebhook`, `sendMessage`, `editMessageText`, `answerCallbackQuery`), accepted as
//! Telegram accepts them, so relink's bot can run against the simulator.
//!
//! Sources: <https://core.telegram.org/bots/api#getupdates>,
//! <https://core.telegram.org/bots/api#setwebhook>, <https://core.telegram.org/bots/api#chatmemberupdated>

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value, json};
use url::Url;

use crate::account::{Chat, Role, lock, read};
use crate::sim::Simulator;

/// The most updates one `getUpdates` returns, and its default `limit` (Telegram's).
const MAX_BATCH: usize = 100;
/// The longest `getUpdates` holds a request (Telegram allows 50 s).
const MAX_POLL: Duration = Duration::from_secs(50);
/// Updates a bot keeps unread before the oldest are dropped (Telegram keeps them 24 hours).
const MAX_PENDING: usize = 10_000;
/// How many times a webhook POST is tried before the update is given up.
const WEBHOOK_ATTEMPTS: u32 = 8;
/// The update kinds a bot receives when it never said (or gave an empty list).
const NOT_BY_DEFAULT: [&str; 3] = ["chat_member", "message_reaction", "message_reaction_count"];
/// The header Telegram sends the webhook's secret token in.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// Where a bot asked its updates to be posted.
#[derive(Debug, Clone)]
struct Webhook {
    url: Url,
    secret: Option<String>,
}

/// One bot's updates and delivery settings.
#[derive(Debug, Default)]
struct Queue {
    /// The `update_id` the next update gets.
    next_id: i64,
    pending: VecDeque<Value>,
    /// `None`: every kind but [`NOT_BY_DEFAULT`].
    allowed: Option<Vec<String>>,
    webhook: Option<Webhook>,
    /// A task is posting this bot's updates to its webhook.
    posting: bool,
}

impl Queue {
    fn allows(&self, kind: &str) -> bool {
        match &self.allowed {
            Some(kinds) => kinds.iter().any(|k| k == kind),
            None => !NOT_BY_DEFAULT.contains(&kind),
        }
    }

    /// `allowed_updates` as a request gave it: absent keeps the last, empty means the default.
    fn set_allowed(&mut self, given: Option<Vec<String>>) {
        if let Some(kinds) = given {
            self.allowed = (!kinds.is_empty()).then_some(kinds);
        }
    }
}

/// Every bot's updates. Guarded by one lock, never held across an `await`.
#[derive(Debug, Default)]
pub(crate) struct Updates {
    bots: Mutex<HashMap<u64, Queue>>,
    /// Wakes the long polls when an update is queued.
    arrived: tokio::sync::Notify,
}

/// The bot's standing in a chat as `ChatMember` JSON; `None` where Telegram sends no
/// `my_chat_member` (a deleted chat, a group that moved to a supergroup).
pub(crate) fn standing(bot_user: &Value, chat: Chat, role: Role) -> Option<Value> {
    let member = match (chat, role) {
        (Chat::Kicked, _) => json!({ "status": "kicked", "user": bot_user, "until_date": 0 }),
        (Chat::Present, Role::Member) => json!({ "status": "member", "user": bot_user }),
        (Chat::Present, Role::Admin | Role::AdminWithoutPostRight) => {
            let post = role == Role::Admin;
            json!({
                "status": "administrator", "user": bot_user, "can_be_edited": false, "is_anonymous": false,
                "can_manage_chat": true, "can_change_info": false, "can_post_messages": post,
                "can_edit_messages": post, "can_delete_messages": true, "can_manage_video_chats": false,
                "can_invite_users": true, "can_restrict_members": false, "can_promote_members": false,
                "can_post_stories": post, "can_edit_stories": post, "can_delete_stories": post,
            })
        }
        (Chat::Deleted | Chat::Migrated(_), _) => return None,
    };
    Some(member)
}

/// The simulator's user for a bot (what `getMe` answers).
pub(crate) fn bot_user(bot_id: u64) -> Value {
    json!({ "id": bot_id, "is_bot": true, "first_name": "relink simulator", "username": "relink_sim_bot" })
}

impl Simulator {
    /// A switch moved every bot's standing in `chat` from `before` to `after` (`(chat, role)`):
    /// each bot gets a `my_chat_member` update, as Telegram sends when an admin changes it.
    pub(crate) fn chat_member_changed(&self, chat: &str, before: (Chat, Role), after: (Chat, Role)) {
        let Ok(chat_id) = chat.parse::<i64>() else { return };
        let bots: Vec<u64> = read(&self.inner.bots).iter().filter(|b| !b.revoked).map(|b| b.id).collect();
        for bot in bots {
            let user = bot_user(bot);
            let (Some(old), Some(new)) = (standing(&user, before.0, before.1), standing(&user, after.0, after.1))
            else {
                continue;
            };
            if old == new {
                continue;
            }
            let change = json!({
                "chat": { "id": chat_id, "title": format!("Sim channel {chat}"), "type": "channel" },
                "from": { "id": 1_000_001, "is_bot": false, "first_name": "Channel admin" },
                "date": self.now().timestamp(),
                "old_chat_member": old,
                "new_chat_member": new,
            });
            self.queue_update(bot, "my_chat_member", change);
        }
    }

    /// Queues an update of `kind` for a bot, if the bot asked for that kind, and posts it to
    /// the bot's webhook when it has one.
    pub(crate) fn queue_update(&self, bot: u64, kind: &str, body: Value) {
        let updates = &self.inner.updates;
        let post = {
            let mut bots = lock(&updates.bots);
            let queue = bots.entry(bot).or_default();
            if !queue.allows(kind) {
                tracing::debug!(bot, kind, "the bot did not ask for this kind of update");
                return;
            }
            if queue.next_id == 0 {
                queue.next_id = first_update_id(self.now().timestamp());
            }
            let mut update = Map::new();
            update.insert("update_id".into(), json!(queue.next_id));
            update.insert(kind.into(), body);
            queue.next_id = queue.next_id.saturating_add(1);
            queue.pending.push_back(Value::Object(update));
            while queue.pending.len() > MAX_PENDING {
                queue.pending.pop_front();
            }
            let post = queue.webhook.is_some() && !queue.posting;
            queue.posting |= post;
            post
        };
        updates.arrived.notify_waiters();
        if post {
            self.start_posting(bot);
        }
    }

    /// Spawns the task that posts a bot's pending updates to its webhook (outside a Tokio
    /// runtime they wait for the next update, or for `getUpdates` after `deleteWebhook`).
    fn start_posting(&self, bot: u64) {
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(self.clone().post_updates(bot));
            }
            Err(_) => {
                if let Some(queue) = lock(&self.inner.updates.bots).get_mut(&bot) {
                    queue.posting = false;
                }
            }
        }
    }

    /// Posts a bot's pending updates to its webhook, oldest first, until none is left; an update
    /// refused or unanswered is tried again with a growing pause, then given up.
    async fn post_updates(self, bot: u64) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let mut attempts = 0u32;
        loop {
            let next = {
                let mut bots = lock(&self.inner.updates.bots);
                let Some(queue) = bots.get_mut(&bot) else { return };
                match (queue.pending.front(), &queue.webhook) {
                    (Some(update), Some(webhook)) => (update.clone(), webhook.clone()),
                    _ => {
                        queue.posting = false;
                        return;
                    }
                }
            };
            let (update, webhook) = next;
            let mut request = client.post(webhook.url.clone()).json(&update);
            if let Some(secret) = &webhook.secret {
                request = request.header(SECRET_HEADER, secret);
            }
            let delivered = match request.send().await {
                Ok(response) if response.status().is_success() => true,
                Ok(response) => {
                    tracing::debug!(bot, status = %response.status(), "the webhook refused an update");
                    false
                }
                Err(error) => {
                    tracing::debug!(bot, %error, "the webhook is unreachable");
                    false
                }
            };
            attempts = if delivered { 0 } else { attempts.saturating_add(1) };
            if delivered || attempts >= WEBHOOK_ATTEMPTS {
                if !delivered {
                    tracing::warn!(bot, "an update the webhook never took is given up");
                }
                let mut bots = lock(&self.inner.updates.bots);
                if let Some(queue) = bots.get_mut(&bot)
                    && queue.pending.front() == Some(&update)
                {
                    queue.pending.pop_front();
                }
                attempts = 0;
                continue;
            }
            // 100 ms, doubling: the eighth and last try comes about 13 s after the first.
            tokio::time::sleep(Duration::from_millis(100u64 << attempts.min(7))).await;
        }
    }

    /// `getUpdates`: confirms the updates before `offset`, then answers the pending ones (up to
    /// `limit`), holding the request up to `timeout` seconds while there are none.
    /// `Err` is a refusal: a webhook is set.
    pub(crate) async fn get_updates(
        &self,
        bot: u64,
        params: &Map<String, Value>,
        stopping: &tokio_util::sync::CancellationToken,
    ) -> Result<Vec<Value>, &'static str> {
        let offset = params.get("offset").and_then(number);
        let limit = params
            .get("limit")
            .and_then(number)
            .and_then(|l| usize::try_from(l).ok())
            .map_or(MAX_BATCH, |l| l.clamp(1, MAX_BATCH));
        let timeout = params.get("timeout").and_then(number).and_then(|t| u64::try_from(t).ok()).unwrap_or(0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout).min(MAX_POLL);
        {
            let mut bots = lock(&self.inner.updates.bots);
            let queue = bots.entry(bot).or_default();
            if queue.webhook.is_some() {
                return Err(
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                );
            }
            queue.set_allowed(kinds(params.get("allowed_updates")));
            if let Some(offset) = offset.filter(|offset| *offset > queue.next_id) {
                // The bot saw ids up to `offset - 1` from an earlier simulator: go on from there.
                queue.next_id = offset;
                for update in &mut queue.pending {
                    update["update_id"] = json!(queue.next_id);
                    queue.next_id = queue.next_id.saturating_add(1);
                }
            }
            if let Some(offset) = offset {
                queue.pending.retain(|u| u.get("update_id").and_then(Value::as_i64).is_some_and(|id| id >= offset));
            }
        }
        loop {
            let arrived = self.inner.updates.arrived.notified();
            let found: Vec<Value> = lock(&self.inner.updates.bots)
                .get(&bot)
                .map(|queue| queue.pending.iter().take(limit).cloned().collect())
                .unwrap_or_default();
            if !found.is_empty() {
                return Ok(found);
            }
            tokio::select! {
                () = arrived => {}
                () = tokio::time::sleep_until(deadline) => return Ok(Vec::new()),
                () = stopping.cancelled() => return Ok(Vec::new()),
            }
        }
    }

    /// `setWebhook`: updates go to `url` from now on, with the secret token header.
    pub(crate) fn set_webhook(&self, bot: u64, params: &Map<String, Value>) -> Result<(), &'static str> {
        let url = params.get("url").and_then(Value::as_str).unwrap_or_default().trim();
        if url.is_empty() {
            self.delete_webhook(bot, params);
            return Ok(());
        }
        let url = Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or("Bad Request: bad webhook: invalid URL")?;
        let secret = params.get("secret_token").and_then(Value::as_str).map(str::to_owned);
        let post = {
            let mut bots = lock(&self.inner.updates.bots);
            let queue = bots.entry(bot).or_default();
            queue.set_allowed(kinds(params.get("allowed_updates")));
            if truthy(params.get("drop_pending_updates")) {
                queue.pending.clear();
            }
            queue.webhook = Some(Webhook { url, secret });
            let post = !queue.pending.is_empty() && !queue.posting;
            queue.posting |= post;
            post
        };
        if post {
            self.start_posting(bot);
        }
        Ok(())
    }

    /// `deleteWebhook`: back to `getUpdates`.
    pub(crate) fn delete_webhook(&self, bot: u64, params: &Map<String, Value>) {
        let mut bots = lock(&self.inner.updates.bots);
        let queue = bots.entry(bot).or_default();
        queue.webhook = None;
        if truthy(params.get("drop_pending_updates")) {
            queue.pending.clear();
        }
    }

    /// The webhook URL a bot set, if any (`getWebhookInfo`'s `url`).
    pub fn telegram_webhook(&self, bot: u64) -> Option<Url> {
        lock(&self.inner.updates.bots).get(&bot).and_then(|q| q.webhook.as_ref()).map(|w| w.url.clone())
    }

    /// The updates a bot has not confirmed yet (for tests and the control API).
    pub fn telegram_pending_updates(&self, bot: u64) -> Vec<Value> {
        lock(&self.inner.updates.bots).get(&bot).map(|q| q.pending.iter().cloned().collect()).unwrap_or_default()
    }
}

/// Where a bot's update ids start: seconds since 2020, so a restarted simulator goes on above
/// the ids a relink database remembers (a webhook drops an id it has seen); within `i32`
/// (teloxide's `offset`) until about 2054, with room left for the updates themselves.
fn first_update_id(now_secs: i64) -> i64 {
    now_secs.saturating_sub(1_577_836_800).clamp(1, i64::from(i32::MAX) / 2)
}

/// A number given as a JSON number or as text (forms and multipart send text).
fn number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim() == "true",
        _ => false,
    }
}

/// `allowed_updates`: a JSON array, or its JSON text (forms and multipart send text).
fn kinds(value: Option<&Value>) -> Option<Vec<String>> {
    let parsed;
    let list = match value? {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).ok()?;
            &parsed
        }
        other => other,
    };
    Some(list.as_array()?.iter().filter_map(Value::as_str).map(str::to_owned).collect())
}

/// The text fields of a `multipart/form-data` body (teloxide sends `setWebhook` that way),
/// given its `Content-Type`. Hand-read rather than with a multipart crate: the fields are a few
/// short texts, the body is already in memory, and the crates stream asynchronously and bring
/// their own text-encoding tables.
pub(crate) fn multipart_fields(content_type: &str, body: &[u8]) -> Option<Map<String, Value>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))?;
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut fields = Map::new();
    for part in text.split(delimiter.as_str()).skip(1) {
        let Some((headers, value)) = part.split_once("\r\n\r\n") else { continue };
        let Some(name) = headers.split("name=\"").nth(1).and_then(|rest| rest.split('"').next()) else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        fields.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_text_fields_read_as_teloxide_sends_them() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\nhttp://127.0.0.1:1/telegram/webhook\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"allowed_updates\"\r\n\r\n[\"message\",\"my_chat_member\"]\r\n--XyZ--\r\n";
        let fields = multipart_fields("multipart/form-data; boundary=XyZ", body.as_bytes()).unwrap();
        assert_eq!(fields["url"], "http://127.0.0.1:1/telegram/webhook");
        assert_eq!(kinds(fields.get("allowed_updates")).unwrap(), ["message", "my_chat_member"]);
        assert!(multipart_fields("multipart/form-data", body.as_bytes()).is_none());
    }

    #[test]
    fn allowed_updates_follow_telegrams_defaults() {
        let mut queue = Queue::default();
        assert!(queue.allows("my_chat_member") && !queue.allows("chat_member"));
        queue.set_allowed(Some(vec!["message".into()]));
        assert!(!queue.allows("my_chat_member"));
        queue.set_allowed(None);
        assert!(!queue.allows("my_chat_member"), "no list keeps the last one");
        queue.set_allowed(Some(Vec::new()));
        assert!(queue.allows("my_chat_member"), "an empty list is the default");
    }
}
