//! Telegram channels. One bot token serves every channel and never expires; @BotFather alone
//! revokes it (a 401: every Telegram channel at once, an operator matter). Per channel, the bot
//! must still be in the chat as an administrator allowed to post: `getChat`, then
//! `getChatMember(chat, bot)`. There is no OAuth flow: a channel is connected by adding the bot.
//!
//! The answer rules ([`rules`]) read both calls' answers, and say which chat-level answers mean
//! "the chat is gone" or "the chat moved" ([`chat_gone`], [`moved_chat_id`]).
//!
//! The bot token is part of every URL (`bot<TOKEN>/getChat`): URLs never reach a detail (see
//! `http`), and every detail is redacted of the token besides.
//! Sources: <https://core.telegram.org/bots/api#getchat>, <https://core.telegram.org/bots/api#getchatmember>

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use url::Url;

use super::classify::{self, Context, Family, fallback, fallback_with, id_of, int, text_at};
use super::http::Answer;
use super::policy::{Policy, Renewal};
use super::{Adapter, Connected, Ctx, Renewed, Validity, Verdict, held_secrets, http, not_renewable};
use crate::domain::{Channel, Provider, Reason};
use crate::token::TokenSet;

/// What Telegram does with tokens (see [`Policy`]).
pub(super) const POLICY: Policy = Policy {
    provider: Provider::Telegram,
    // The bot token never expires; @BotFather revokes it. Per channel: the bot must stay an admin
    // with the right to post.
    access_lifetime: None,
    renewal: Renewal::None,
    inactivity: None,
    probe: "POST /bot{token}/getChat and /bot{token}/getChatMember (chat, the bot)",
    default_api_base: "https://api.telegram.org/",
    default_authorize_url: "https://t.me/BotFather",
    default_token_url: "https://api.telegram.org/",
    scopes: &[],
    pkce: false,
    rate_per_second: 20.0,
    sources: &["https://core.telegram.org/bots/api#getchatmember", "https://core.telegram.org/bots/faq"],
};

#[derive(Debug)]
pub(super) struct Telegram;

#[async_trait::async_trait]
impl Adapter for Telegram {
    fn provider(&self) -> Provider {
        Provider::Telegram
    }

    /// `getChat`, then `getChatMember` for the bot's own standing.
    fn probe_requests(&self) -> u32 {
        2
    }

    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict {
        let token = tokens.access_token.expose_secret();
        // The bot's own user id is the token's part before the colon.
        let Some(bot_id) = token.split_once(':').and_then(|(id, _)| id.parse::<u64>().ok()) else {
            return Verdict::Operator(
                "Telegram: the stored bot token is malformed (expected <bot id>:<secret>)".into(),
            );
        };
        let cx = Context::for_channel(channel, tokens, ctx.now);
        let chat = chat_id(channel.external_account_id.as_str());
        let verdict = match call(ctx, &cx, token, "getChat", json!({ "chat_id": chat })).await {
            Verdict::Valid(found) => {
                match call(ctx, &cx, token, "getChatMember", json!({ "chat_id": chat, "user_id": bot_id })).await {
                    // getChat answers a numeric id; a chat stored as `@username` is not compared
                    // (the probe asked for that very chat, and the bot is an administrator there).
                    Verdict::Valid(_) => Verdict::Valid(Validity {
                        account_id: found.account_id.filter(|_| chat.is_i64()),
                        ..Validity::default()
                    }),
                    verdict => verdict,
                }
            }
            verdict => verdict,
        };
        classify::redact(verdict, &held_secrets(ctx, tokens))
    }

    async fn renew(&self, _ctx: Ctx<'_>, _channel: &Channel, _tokens: &TokenSet) -> Renewed {
        not_renewable(Provider::Telegram)
    }

    fn authorize_url(&self, _ctx: Ctx<'_>, _redirect: &Url, _state: &str, _pkce: Option<&str>) -> Option<Url> {
        None
    }

    async fn exchange_code(
        &self,
        _ctx: Ctx<'_>,
        _code: &str,
        _redirect_uri: &Url,
        _pkce_verifier: Option<&str>,
    ) -> Result<Connected, Verdict> {
        Err(Verdict::Operator(
            "Telegram has no OAuth flow: a channel is connected by adding the bot as an administrator".into(),
        ))
    }
}

/// A numeric chat id as a number, a `@channelusername` as text.
fn chat_id(account: &str) -> Value {
    account.parse::<i64>().map_or_else(|_| Value::String(account.to_owned()), Value::from)
}

/// `POST bot<TOKEN>/<method>` with a JSON body.
async fn call(ctx: Ctx<'_>, cx: &Context, token: &str, method: &str, body: Value) -> Verdict {
    let url = http::endpoint(&ctx.config.api_base, &[&format!("bot{token}"), method]);
    let secret_part = token.split_once(':').map_or(token, |(_, secret)| secret);
    http::probe(ctx.http.post(url).json(&body), Family::Telegram, cx, &[token, secret_part]).await.0
}

/// Telegram's "the chat moved" is `Account(Other("chat moved to <new id>"))`; this gives the new
/// id back so the checker can update the channel instead of alerting.
pub fn moved_chat_id(verdict: &Verdict) -> Option<&str> {
    match verdict {
        Verdict::Account(Reason::Other(detail)) => Some(detail.strip_prefix(CHAT_MOVED)?.trim()),
        _ => None,
    }
}

const CHAT_MOVED: &str = "chat moved to ";

/// Telegram's answers for a chat that no longer exists, as `Other` details.
pub const CHAT_DELETED: &str = "chat deleted";
pub const CHAT_NOT_FOUND: &str = "chat not found";

/// Whether a reason is Telegram's "the chat is gone" (deleted, or unknown to the Bot API).
pub fn chat_gone(reason: &Reason) -> bool {
    matches!(reason, Reason::Other(detail) if detail == CHAT_DELETED || detail == CHAT_NOT_FOUND)
}

/// The Bot API, per channel: `getChat` (the chat exists and the bot is in it) and `getChatMember`
/// (the bot is an administrator allowed to post). A 401 is the bot token itself: every channel.
/// Sources: <https://core.telegram.org/bots/api#making-requests>, <https://core.telegram.org/bots/api#chatmember>
pub(super) fn rules(_cx: &Context, answer: &Answer) -> Verdict {
    let Some(json) = answer.json() else { return fallback("Telegram", answer) };
    if json.get("ok") == Some(&Value::Bool(true)) {
        let result = json.get("result").unwrap_or(&Value::Null);
        return match result.get("status").and_then(Value::as_str) {
            Some(status) => bot_member(status, result),
            None => Verdict::Valid(Validity { account_id: id_of(result.get("id")), ..Validity::default() }),
        };
    }
    if let Some(new_id) = id_of(json.pointer("/parameters/migrate_to_chat_id")) {
        return Verdict::Account(Reason::Other(format!("{CHAT_MOVED}{new_id}")));
    }
    let description = text_at(&json, &["/description"]);
    let lower = description.to_lowercase();
    let detail = format!("Telegram {}: {description}", answer.status);
    let status = int(json.get("error_code")).and_then(|c| u16::try_from(c).ok()).unwrap_or(answer.status);
    match status {
        429 => {
            Verdict::Transient { retry_after: answer.telegram_retry_after().or_else(|| answer.retry_after()), detail }
        }
        401 => Verdict::Operator("Telegram: bot token revoked: every Telegram channel is affected".into()),
        // The Bot API answers 404 to a token it does not know at all.
        404 => Verdict::Operator("Telegram does not know the bot token: every Telegram channel is affected".into()),
        // The bot was removed from the chat: Telegram's form of "the app was removed".
        403 if ["kicked", "not a member", "bot was blocked"].iter().any(|w| lower.contains(w)) => {
            Verdict::Dead(Reason::AppRevoked)
        }
        403 if lower.contains("deleted") => Verdict::Dead(Reason::Other(CHAT_DELETED.into())),
        400 if lower.contains("chat not found") => Verdict::Dead(Reason::Other(CHAT_NOT_FOUND.into())),
        400 | 403
            if ["administrator rights", "not enough rights", "chat_admin_required", "have no rights"]
                .iter()
                .any(|w| lower.contains(w)) =>
        {
            Verdict::Permission(detail)
        }
        _ => fallback_with("Telegram", answer, detail),
    }
}

fn bot_member(status: &str, member: &Value) -> Verdict {
    match status {
        "creator" => Verdict::Valid(Validity::default()),
        // `can_post_messages` exists for channels only; a group administrator may always post.
        "administrator" if member.get("can_post_messages") == Some(&Value::Bool(false)) => {
            Verdict::Permission("Telegram: the bot is an administrator without the right to post".into())
        }
        "administrator" => Verdict::Valid(Validity::default()),
        "left" | "kicked" => Verdict::Dead(Reason::AppRevoked),
        other => Verdict::Permission(format!("Telegram: the bot is no longer an administrator (status {other})")),
    }
}

#[cfg(test)]
pub(super) mod tests {
    //! Telegram's rows of PROVIDERS.md's "What an answer means"; `classify`'s table test runs them
    //! again with every network's and the shared rules.

    use super::moved_chat_id;
    use crate::provider::classify::testing::*;

    /// Telegram's cells of the table, one row per line.
    #[rustfmt::skip]
    pub(in crate::provider) fn rows() -> Vec<Row> {
        vec![
            // ---- Telegram: dead
            (F::Telegram, Cx::Live, 403, &[], s(r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was kicked from the channel chat"}"#), Want::Dead(Reason::AppRevoked)),
            (F::Telegram, Cx::Live, 403, &[], s(r#"{"ok":false,"error_code":403,"description":"Forbidden: bot is not a member of the channel chat"}"#), Want::Dead(Reason::AppRevoked)),
            (F::Telegram, Cx::Live, 400, &[], s(r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#), Want::Dead(other("chat not found"))),
            (F::Telegram, Cx::Live, 200, &[], s(r#"{"ok":true,"result":{"status":"left","user":{"id":1}}}"#), Want::Dead(Reason::AppRevoked)),
            // ---- Telegram: permission
            (F::Telegram, Cx::Live, 200, &[], s(r#"{"ok":true,"result":{"status":"member","user":{"id":1,"is_bot":true}}}"#), Want::Permission),
            (F::Telegram, Cx::Live, 200, &[], s(r#"{"ok":true,"result":{"status":"administrator","can_post_messages":false,"user":{"id":1}}}"#), Want::Permission),
            // ---- Telegram: account (the chat moved: update its id)
            (F::Telegram, Cx::Live, 400, &[], s(r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234567890}}"#), Want::Account(other("chat moved to -1001234567890"))),
            // ---- Telegram: operator
            (F::Telegram, Cx::Live, 401, &[], s(r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#), Want::Operator),
            (F::Telegram, Cx::Live, 404, &[], s(r#"{"ok":false,"error_code":404,"description":"Not Found"}"#), Want::Operator),
            // ---- Telegram: transient
            (F::Telegram, Cx::Live, 429, &[], s(r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#), Want::Transient(Some(7))),
            (F::Telegram, Cx::Live, 502, &[], s(HTML), Want::Transient(None)),
            // ---- Telegram: healthy
            (F::Telegram, Cx::Live, 200, &[], s(r#"{"ok":true,"result":{"id":-1001,"type":"channel","title":"Acme"}}"#), Want::Valid),
            (F::Telegram, Cx::Live, 200, &[], s(r#"{"ok":true,"result":{"status":"administrator","can_post_messages":true,"user":{"id":1,"is_bot":true}}}"#), Want::Valid),
            (F::Telegram, Cx::Live, 200, &[], s(r#"{"ok":true,"result":{"status":"creator","user":{"id":1}}}"#), Want::Valid),
        ]
    }

    #[test]
    fn every_telegram_answer_gets_its_class() {
        check(&rows());
    }

    #[test]
    fn a_moved_telegram_chat_gives_its_new_id_back() {
        let body = r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded","parameters":{"migrate_to_chat_id":-100777}}"#;
        let verdict = answer(F::Telegram, &context(Cx::Live), &Answer::new(400, HeaderMap::new(), body));
        assert_eq!(moved_chat_id(&verdict), Some("-100777"));
        assert_eq!(moved_chat_id(&Verdict::Dead(Reason::Expired)), None);
    }
}
