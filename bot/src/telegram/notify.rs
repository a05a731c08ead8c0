//! The alerts [`Notifier`] for Telegram: a member's private chat or a team's chat gets the alert
//! as HTML with its buttons; the message is edited when the incident resolves (its buttons
//! removed) or when a digest changes later the same day (its buttons kept for the channels still
//! to reconnect). Telegram's
//! answers become the delivery workers' outcomes: a 429 is transient with its `retry_after`
//! (and pauses the bot's budget); a blocked bot or a deleted chat is permanent (the workers then
//! disable the binding and tell the operators); a group that became a supergroup has its
//! binding moved and the alert goes to the new chat.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use relink_core::alerts::{Destination, Notifier, NotifyError, Outgoing, SentRef};
use relink_core::domain::ChatPlatform;
use teloxide::payloads::EditMessageTextSetters as _;
use teloxide::prelude::Requester as _;
use teloxide::types::{ChatId, MessageId, ParseMode};
use teloxide::{ApiError, RequestError};

use super::{SendError, Telegram, chat_is_gone, no_preview, render};

/// Sends alerts through one [`Telegram`] bot.
#[derive(Clone)]
pub struct TelegramNotifier {
    telegram: Arc<Telegram>,
}

impl fmt::Debug for TelegramNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramNotifier").field("bot", &self.telegram.bot).finish()
    }
}

impl TelegramNotifier {
    pub fn new(telegram: Arc<Telegram>) -> Self {
        Self { telegram }
    }
}

/// The chat of a Telegram destination.
fn chat_of(to: Destination) -> Result<(i64, bool), NotifyError> {
    match to {
        Destination::TelegramUser(user) => Ok((user, true)),
        Destination::TelegramChat(chat) => Ok((chat, false)),
        _ => Err(NotifyError::Unsupported),
    }
}

/// What the delivery workers should do about a failed call.
fn outcome(error: SendError) -> NotifyError {
    match error {
        SendError::Store(error) => NotifyError::Transient { retry_after: None, detail: error.to_string() },
        SendError::Api(RequestError::RetryAfter(wait)) => NotifyError::Transient {
            retry_after: Some(relink_core::time::network_wait(wait.duration())),
            detail: "Telegram asked to slow down (429)".into(),
        },
        SendError::Api(error) if chat_is_gone(&error) => NotifyError::Permanent(format!("Telegram: {error}")),
        SendError::Api(error) => NotifyError::Transient { retry_after: None, detail: format!("Telegram: {error}") },
    }
}

#[async_trait]
impl Notifier for TelegramNotifier {
    fn platform(&self) -> ChatPlatform {
        ChatPlatform::Telegram
    }

    async fn send(&self, to: Destination, message: &Outgoing<'_>) -> Result<SentRef, NotifyError> {
        let (chat, private) = chat_of(to)?;
        let (html, keyboard) = render::alert(message, private);
        let telegram = &self.telegram;
        match telegram.send_html(chat, &html, keyboard.clone()).await {
            Ok(id) => Ok(SentRef(format!("{chat}:{id}"))),
            Err(SendError::Api(RequestError::MigrateToChatId(new))) => {
                let moved = telegram.services.store.move_chat(ChatPlatform::Telegram, chat, new.0).await;
                tracing::info!(from = chat, to = new.0, moved = ?moved.as_ref().ok(), "a Telegram group became a supergroup; its binding follows it");
                let id = telegram.send_html(new.0, &html, keyboard).await.map_err(outcome)?;
                Ok(SentRef(format!("{}:{id}", new.0)))
            }
            Err(error) => Err(outcome(error)),
        }
    }

    async fn edit(&self, to: Destination, sent: &SentRef, message: &Outgoing<'_>) -> Result<(), NotifyError> {
        let (_, private) = chat_of(to)?;
        let Some((chat, id)) =
            sent.0.split_once(':').and_then(|(c, m)| Some((c.parse::<i64>().ok()?, m.parse::<i32>().ok()?)))
        else {
            return Err(NotifyError::Unsupported);
        };
        // A resolution loses its buttons; an edited digest keeps those of the channels still to
        // reconnect (this reader's links in a private chat).
        let (html, keyboard) = render::alert(message, private);
        let telegram = &self.telegram;
        telegram.budget.acquire(chat).await.map_err(|e| outcome(e.into()))?;
        let request = telegram
            .api
            .edit_message_text(ChatId(chat), MessageId(id), html)
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview())
            .reply_markup(keyboard.unwrap_or_default());
        match request.await {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
            Err(error) => Err(outcome(SendError::Api(error))),
        }
    }
}

#[cfg(test)]
mod tests {
    use teloxide::types::Seconds;

    use super::*;

    #[test]
    fn a_telegram_retry_after_of_136_years_is_read_as_a_day() {
        let asked = SendError::Api(RequestError::RetryAfter(Seconds::from_seconds(u32::MAX)));
        match outcome(asked) {
            NotifyError::Transient { retry_after, .. } => {
                assert_eq!(retry_after, Some(relink_core::time::MAX_NETWORK_WAIT));
            }
            other => panic!("a 429 is transient, not {other:?}"),
        }
    }
}
