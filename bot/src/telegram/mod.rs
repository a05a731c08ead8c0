//! The Telegram front-end (teloxide's `Bot` for the API calls): the command layer's renderer,
//! the alerts [`TelegramNotifier`], long polling or a webhook, and the shared rate budget.
//!
//! Every update, from `getUpdates` or the webhook, is first stored in `telegram_updates`
//! (deduplicated by `update_id`), then handled from there under a lease: one path for both
//! modes, a replay handled once, a crash mid-update handled again after the lease. The loop is
//! [`Telegram::handle_pending`] around [`Telegram::handle_update`]; `teloxide`'s dispatcher is
//! not used because it would own the update loop and skip the store.
//!
//! - `rate`: the budget every relink process using the bot shares through the database.
//! - `render`: command replies and alerts as HTML with inline keyboards.
//! - `notify`: the [`Notifier`](relink_core::alerts::Notifier) the delivery workers call.
//! - `updates`: commands, button presses, migrated groups; polling.
//! - `webhook`: the axum route Telegram posts updates to.

mod notify;
pub mod rate;
mod render;
mod updates;
mod webhook;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use relink_core::domain::Language;
use relink_core::store::StoreError;
use secrecy::{ExposeSecret as _, SecretString};
use teloxide::payloads::SendMessageSetters as _;
use teloxide::prelude::Requester as _;
use teloxide::types::{BotCommand, ChatId, LinkPreviewOptions, MessageId, ParseMode};
use teloxide::{ApiError, Bot, RequestError};
use url::Url;

use crate::commands::{CommandName, Services};
use crate::lease::Lease;

pub use notify::TelegramNotifier;
pub use rate::{Budget, Caps};
pub use updates::PollTurn;
pub use webhook::{WEBHOOK_PATH, router};

/// How updates reach relink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// relink asks Telegram (`getUpdates`): no public URL needed.
    Polling,
    /// Telegram posts to `<public_url>/telegram/webhook` with the secret token header.
    Webhook,
}

/// The bot's settings (`[telegram]`).
#[derive(Clone)]
pub struct Settings {
    pub token: SecretString,
    /// The Bot API's base URL (tests point it at a local fake).
    pub api_url: Url,
    pub mode: Mode,
    /// Compared in constant time with the `X-Telegram-Bot-Api-Secret-Token` header.
    pub webhook_secret: Option<SecretString>,
    /// Where Telegram reaches the webhook: `web.public_url`.
    pub public_url: Url,
    pub caps: Caps,
    /// How long `getUpdates` waits for an update (long polling).
    pub poll_timeout: Duration,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("token", &"[REDACTED]")
            .field("api_url", &self.api_url.as_str())
            .field("mode", &self.mode)
            .field("webhook_secret", &self.webhook_secret.as_ref().map(|_| "[REDACTED]"))
            .field("caps", &self.caps)
            .finish()
    }
}

/// The bot id: the number before the colon of a token (public: it is the bot's user id).
pub fn bot_id(token: &SecretString) -> Option<i64> {
    let (id, _) = token.expose_secret().split_once(':')?;
    id.parse().ok().filter(|id| *id > 0)
}

/// A running Telegram bot: the API client, the command services and the budget.
pub struct Telegram {
    api: Bot,
    bot: i64,
    settings: Settings,
    services: Services,
    budget: Budget,
    /// In polling mode, only the holder of this lease (`telegram-poll:<bot id>`) calls
    /// `getUpdates`: Telegram ends one of two overlapping calls with 409 Conflict.
    poll_lease: Lease,
    /// Wakes the update loop when the webhook stored an update.
    pub(crate) stored: tokio::sync::Notify,
}

impl fmt::Debug for Telegram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telegram").field("bot", &self.bot).field("settings", &self.settings).finish()
    }
}

/// Why a Telegram front-end could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("telegram.token does not look like a bot token (123456:ABC…)")]
    BadToken,
    #[error("telegram.mode = \"webhook\" needs telegram.webhook_secret")]
    NoWebhookSecret,
}

impl Telegram {
    pub fn new(settings: Settings, services: Services) -> Result<Arc<Self>, StartError> {
        let bot = bot_id(&settings.token).ok_or(StartError::BadToken)?;
        if settings.mode == Mode::Webhook && settings.webhook_secret.is_none() {
            return Err(StartError::NoWebhookSecret);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(settings.poll_timeout + Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let api = Bot::with_client(settings.token.expose_secret(), client).set_api_url(settings.api_url.clone());
        let budget = Budget::new(services.store.clone(), bot, settings.caps);
        let owner = format!("relink-{}-{:08x}", std::process::id(), rand::random::<u32>());
        let poll_lease = Lease::new(services.store.clone(), format!("telegram-poll:{bot}"), owner);
        Ok(Arc::new(Self { api, bot, settings, services, budget, poll_lease, stored: tokio::sync::Notify::new() }))
    }

    pub fn bot_id(&self) -> i64 {
        self.bot
    }

    pub fn mode(&self) -> Mode {
        self.settings.mode
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The alerts notifier of this bot.
    pub fn notifier(self: &Arc<Self>) -> TelegramNotifier {
        TelegramNotifier::new(self.clone())
    }

    /// Registers the commands with `setMyCommands`: the default list in English, and one per
    /// language Telegram users may have set (Italian, Japanese).
    pub async fn register_commands(&self) -> Result<(), RequestError> {
        use teloxide::payloads::SetMyCommandsSetters as _;
        for language in Language::ALL {
            let commands: Vec<BotCommand> =
                CommandName::ALL.iter().map(|c| BotCommand::new(c.name(), c.describe(*language))).collect();
            let request = self.api.set_my_commands(commands);
            match language {
                Language::En => request.await?,
                other => request.language_code(other.as_str()).await?,
            };
        }
        Ok(())
    }

    /// Points Telegram at the webhook (webhook mode) or removes it (polling needs none).
    pub async fn configure_delivery(&self) -> Result<(), RequestError> {
        use teloxide::payloads::SetWebhookSetters as _;
        match (&self.settings.mode, &self.settings.webhook_secret) {
            (Mode::Webhook, Some(secret)) => {
                let mut url = self.settings.public_url.clone();
                url.path_segments_mut()
                    .expect("web.public_url is an http(s) URL, which has a path")
                    .pop_if_empty()
                    .extend(WEBHOOK_PATH.trim_start_matches('/').split('/'));
                self.api
                    .set_webhook(url)
                    .secret_token(secret.expose_secret().to_owned())
                    .allowed_updates(updates::ALLOWED_UPDATES)
                    .await?;
            }
            _ => {
                self.api.delete_webhook().await?;
            }
        }
        Ok(())
    }

    /// Sends HTML to a chat within the budget; honours one 429 by waiting and trying again.
    async fn send_html(
        &self,
        chat: i64,
        html: &str,
        keyboard: Option<teloxide::types::InlineKeyboardMarkup>,
    ) -> Result<MessageId, SendError> {
        let mut retried = false;
        loop {
            self.budget.acquire(chat).await?;
            let mut request = self
                .api
                .send_message(ChatId(chat), html)
                .parse_mode(ParseMode::Html)
                .link_preview_options(no_preview());
            if let Some(keyboard) = &keyboard {
                request = request.reply_markup(keyboard.clone());
            }
            match request.await {
                Ok(message) => return Ok(message.id),
                Err(RequestError::RetryAfter(wait)) if !retried => {
                    retried = true;
                    self.budget.pause(relink_core::time::network_wait(wait.duration())).await?;
                }
                Err(error) => return Err(SendError::Api(error)),
            }
        }
    }
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

/// A send that failed: the database (the budget) or Telegram.
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Api(RequestError),
}

/// Whether Telegram says the chat will never take a message from the bot: blocked, kicked,
/// deleted, or a user who never started a private chat.
fn chat_is_gone(error: &RequestError) -> bool {
    matches!(
        error,
        RequestError::Api(
            ApiError::BotBlocked
                | ApiError::ChatNotFound
                | ApiError::BotKicked
                | ApiError::BotKickedFromSupergroup
                | ApiError::UserDeactivated
                | ApiError::CantInitiateConversation
                | ApiError::GroupDeactivated
                | ApiError::NotEnoughRightsToPostMessages
        )
    ) || matches!(error, RequestError::Api(ApiError::Unknown(text)) if text.starts_with("Forbidden:"))
}
