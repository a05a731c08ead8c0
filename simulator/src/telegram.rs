//! The Telegram Bot API subset relink probes with: `getMe` (the bot token), `getChat` and
//! `getChatMember` (per channel: the chat exists and the bot is an admin that may post); and
//! what relink's chat bot calls (`getUpdates`, `setWebhook`, `deleteWebhook`, `setMyCommands`,
//! `sendMessage`, `editMessageText`, `answerCallbackQuery`), whose updates live in `updates`.
//! Parameters come as JSON, a form, multipart or the query string, as the Bot API accepts all.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use relink_core::Provider;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::account::{Role, read};
use crate::answer::{Condition, Family, json_response};
use crate::http::{App, Reply, param};
use crate::judge::{Live, Ruling};
use crate::sim::updates::{bot_user, multipart_fields};
use crate::sim::{Endpoint, Simulator};

const PROVIDER: Provider = Provider::Telegram;
const FAMILY: Family = Family::Telegram;

#[derive(Debug, Default, Deserialize)]
struct Params {
    chat_id: Option<Value>,
    user_id: Option<Value>,
}

/// A JSON id given as a number or a string, as text.
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_owned()),
        _ => None,
    }
}

fn params(query: &str, body: &[u8]) -> Params {
    let trimmed = body.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        return serde_json::from_slice(trimmed).unwrap_or_default();
    }
    let from = |encoded: &[u8]| Params {
        chat_id: param(encoded, "chat_id").map(|v| Value::String(v.into_owned())),
        user_id: param(encoded, "user_id").map(|v| Value::String(v.into_owned())),
    };
    if body.is_empty() { from(query.as_bytes()) } else { from(body) }
}

/// Every parameter of a call, whichever way it came: a JSON object, `multipart/form-data`, a
/// form, or the query string.
fn fields(headers: &HeaderMap, query: &str, body: &[u8]) -> Map<String, Value> {
    let trimmed = body.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        return serde_json::from_slice(trimmed).unwrap_or_default();
    }
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("multipart/form-data") {
        return multipart_fields(content_type, body).unwrap_or_default();
    }
    let encoded = if body.is_empty() { query.as_bytes() } else { body };
    url::form_urlencoded::parse(encoded).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect()
}

/// The live bot a `bot{token}/{method}` path names, and the method; `Err` for a path that
/// is a Bot API call with a token the simulator does not know (or revoked).
fn bot_call<'a>(sim: &Simulator, path: &'a str) -> Option<(Result<u64, ()>, &'a str)> {
    let (token, method) = path.strip_prefix("bot")?.rsplit_once('/')?;
    let bot = read(&sim.inner.bots).iter().find(|b| b.token == token).map(|b| (b.id, b.revoked));
    Some((bot.and_then(|(id, revoked)| (!revoked).then_some(id)).ok_or(()), method))
}

fn bot_answer(status: StatusCode, result: Result<Value, &str>) -> Response {
    match result {
        Ok(result) => json_response(status, &json!({ "ok": true, "result": result })),
        Err(description) => {
            json_response(status, &json!({ "ok": false, "error_code": status.as_u16(), "description": description }))
        }
    }
}

/// `getUpdates`, which may hold the request until an update comes: `None` for any other call.
pub(crate) async fn get_updates(
    app: &App,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let (bot, method) = bot_call(&app.sim, path)?;
    if !method.eq_ignore_ascii_case("getUpdates") {
        return None;
    }
    let Ok(bot) = bot else {
        return Some(bot_answer(StatusCode::UNAUTHORIZED, Err("Unauthorized")));
    };
    let params = fields(headers, query, body);
    Some(match app.sim.get_updates(bot, &params, &app.stopping).await {
        Ok(updates) => bot_answer(StatusCode::OK, Ok(Value::Array(updates))),
        Err(conflict) => bot_answer(StatusCode::CONFLICT, Err(conflict)),
    })
}

/// The calls relink's chat bot makes besides `getUpdates`, answered without faults or
/// counting (they are not probes); `None` for the probe methods.
fn bot_side(sim: &Simulator, bot_id: u64, method: &str, params: &Map<String, Value>) -> Option<Response> {
    let is = |name: &str| method.eq_ignore_ascii_case(name);
    let answer = if is("setMyCommands") || is("answerCallbackQuery") {
        Ok(json!(true))
    } else if is("deleteWebhook") {
        sim.delete_webhook(bot_id, params);
        Ok(json!(true))
    } else if is("setWebhook") {
        match sim.set_webhook(bot_id, params) {
            Ok(()) => Ok(json!(true)),
            Err(refusal) => return Some(bot_answer(StatusCode::BAD_REQUEST, Err(refusal))),
        }
    } else if is("getWebhookInfo") {
        let url = sim.telegram_webhook(bot_id).map(String::from).unwrap_or_default();
        let pending = sim.telegram_pending_updates(bot_id).len();
        Ok(json!({ "url": url, "has_custom_certificate": false, "pending_update_count": pending }))
    } else if is("sendMessage") || is("editMessageText") {
        let chat = params.get("chat_id").cloned().unwrap_or(Value::Null);
        let chat = id_text(&chat).and_then(|c| c.parse::<i64>().ok()).unwrap_or_default();
        let kind = if chat < 0 { "supergroup" } else { "private" };
        let message_id = params.get("message_id").and_then(id_text).and_then(|m| m.parse::<i64>().ok());
        Ok(json!({
            "message_id": message_id.unwrap_or_else(|| i64::try_from(sim.next_serial()).unwrap_or(i64::MAX)),
            "date": sim.now().timestamp(),
            "chat": { "id": chat, "type": kind, "title": "Sim chat", "first_name": "Sim" },
            "text": params.get("text").and_then(Value::as_str).unwrap_or_default(),
        }))
    } else {
        return None;
    };
    Some(bot_answer(StatusCode::OK, answer))
}

/// `api/bot{token}/{method}`; `None` for a path that is not a Bot API call.
pub(crate) fn api(sim: &Simulator, path: &str, query: &str, headers: &HeaderMap, body: &[u8]) -> Option<Reply> {
    let (bot, method) = bot_call(sim, path)?;
    let probe = ["getMe", "getChat", "getChatMember"].iter().any(|m| method.eq_ignore_ascii_case(m));
    if let Ok(bot_id) = bot
        && !probe
        && let Some(response) = bot_side(sim, bot_id, method, &fields(headers, query, body))
    {
        return Some(Reply::answer(FAMILY, &crate::sim::Gate::default(), response));
    }
    sim.count(PROVIDER, Endpoint::Probe);
    let mut gate = sim.gate(PROVIDER);
    let Ok(bot_id) = bot else {
        return Some(Reply::refused(sim, PROVIDER, FAMILY, &gate, Condition::BotUnauthorized));
    };
    let bot_user = bot_user(bot_id);
    if method == "getMe" {
        let mut me = bot_user;
        me["can_join_groups"] = json!(true);
        me["can_read_all_group_messages"] = json!(false);
        me["supports_inline_queries"] = json!(false);
        return Some(ok(&gate, me));
    }
    if method != "getChat" && method != "getChatMember" {
        let response = json_response(
            StatusCode::NOT_FOUND,
            &json!({ "ok": false, "error_code": 404, "description": "Not Found" }),
        );
        return Some(Reply::answer(FAMILY, &gate, response));
    }
    let params = params(query, body);
    let Some(chat) = params.chat_id.as_ref().and_then(id_text) else {
        let missing = Condition::BadRequest("chat_id is empty");
        return Some(Reply::refused(sim, PROVIDER, FAMILY, &gate, missing));
    };
    let Some(index) = sim.find(PROVIDER, &chat) else {
        return Some(Reply::refused(sim, PROVIDER, FAMILY, &gate, Condition::ChatNotFound));
    };
    let ruling = sim.check_chat(index, &mut gate);
    if method == "getChat" {
        return Some(Reply::from(sim, PROVIDER, FAMILY, &gate, ruling, |live: Live| {
            let account = live.account();
            let id: Value = account.parse::<i64>().map_or_else(|_| json!(account), |id| json!(id));
            json_response(
                StatusCode::OK,
                &json!({ "ok": true, "result": { "id": id, "title": format!("Sim channel {account}"), "type": "channel" } }),
            )
        }));
    }
    let asked = params.user_id.as_ref().and_then(id_text);
    let Some(asked) = asked.and_then(|user| user.parse::<u64>().ok()) else {
        let missing = Condition::BadRequest("user_id is empty");
        return Some(Reply::refused(sim, PROVIDER, FAMILY, &gate, missing));
    };
    let ruling = match ruling {
        Ruling::Ok(live) => Ruling::Ok(live.role),
        Ruling::Refused(condition) => Ruling::Refused(condition),
        Ruling::Failed(fail) => Ruling::Failed(fail),
    };
    Some(Reply::from(sim, PROVIDER, FAMILY, &gate, ruling, |role| {
        let member = if asked != bot_id {
            json!({ "user": { "id": asked, "is_bot": false, "first_name": "someone" }, "status": "left" })
        } else if role == Role::Member {
            json!({ "user": bot_user, "status": "member" })
        } else {
            let post = role == Role::Admin;
            json!({
                "user": bot_user, "status": "administrator", "can_be_edited": false, "is_anonymous": false,
                "can_manage_chat": true, "can_change_info": false, "can_post_messages": post,
                "can_edit_messages": post, "can_delete_messages": true, "can_invite_users": true,
                "can_restrict_members": false, "can_promote_members": false, "can_post_stories": post,
            })
        };
        json_response(StatusCode::OK, &json!({ "ok": true, "result": member }))
    }))
}

fn ok(gate: &crate::sim::Gate, result: Value) -> Reply {
    match gate.fail {
        Some(fail) => Reply::failed(FAMILY, gate, fail),
        None => Reply::answer(FAMILY, gate, json_response(StatusCode::OK, &json!({ "ok": true, "result": result }))),
    }
}
