//! The Telegram Bot API subset relink probes with: `getMe` (the bot token), `getChat` and
//! `getChatMember` (per channel: the chat exists and the bot is an admin that may post).
//! Parameters come as JSON, a form or the query string, as the Bot API accepts all three.

use axum::http::StatusCode;
use relink_core::Provider;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::account::{Role, read};
use crate::answer::{Condition, Family, json_response};
use crate::gateway::{Reply, param};
use crate::judge::{Live, Verdict};
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

/// `api/bot{token}/{method}`; `None` for a path that is not a Bot API call.
pub(crate) fn api(sim: &Simulator, path: &str, query: &str, body: &[u8]) -> Option<Reply> {
    let (token, method) = path.strip_prefix("bot")?.rsplit_once('/')?;
    sim.count(PROVIDER, Endpoint::Probe);
    let mut gate = sim.gate(PROVIDER);
    let bot = read(&sim.inner.bots).iter().find(|b| b.token == token).map(|b| (b.id, b.revoked));
    let bot_id = match bot {
        Some((id, false)) => id,
        _ => return Some(Reply::refused(sim, PROVIDER, FAMILY, &gate, Condition::BotUnauthorized)),
    };
    let bot_user =
        json!({ "id": bot_id, "is_bot": true, "first_name": "relink simulator", "username": "relink_sim_bot" });
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
    let verdict = sim.check_chat(index, &mut gate);
    if method == "getChat" {
        return Some(Reply::from(sim, PROVIDER, FAMILY, &gate, verdict, |live: Live| {
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
    let verdict = match verdict {
        Verdict::Ok(live) => Verdict::Ok(live.role),
        Verdict::Refused(condition) => Verdict::Refused(condition),
        Verdict::Failed(fail) => Verdict::Failed(fail),
    };
    Some(Reply::from(sim, PROVIDER, FAMILY, &gate, verdict, |role| {
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
