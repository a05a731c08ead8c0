//! Telegram channels. One bot token serves every channel and never expires; @BotFather alone
//! revokes it (a 401: every Telegram channel at once, an operator matter). Per channel, the bot
//! must still be in the chat as an administrator allowed to post: `getChat`, then
//! `getChatMember(chat, bot)`. There is no OAuth flow: a channel is connected by adding the bot.
//!
//! The bot token is part of every URL (`bot<TOKEN>/getChat`): URLs never reach a detail (see
//! `http`), and every detail is redacted of the token besides.
//! Sources: <https://core.telegram.org/bots/api#getchat>, <https://core.telegram.org/bots/api#getchatmember>

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use url::Url;

use super::classify::{self, Context, Family};
use super::{Adapter, Connected, Ctx, Renewed, Validity, Verdict, held_secrets, http, not_renewable};
use crate::domain::{Channel, Provider};
use crate::token::TokenSet;

#[derive(Debug)]
pub(super) struct Telegram;

#[async_trait::async_trait]
impl Adapter for Telegram {
    fn provider(&self) -> Provider {
        Provider::Telegram
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
