//! relink-bot: the chat front-ends, Discord and Telegram.
//!
//! [`start`] starts the front-ends that are configured and says, for each one that is not, how
//! to enable it; it returns their (restartable) tasks, their alert notifiers and their web routes (the Discord
//! interactions endpoint, the Telegram webhook). Every front-end talks to `relink-core` only
//! through the command [`Services`].
//!
//! - [`commands`]: the platform-neutral command layer and its `Reply` model.
//! - [`discord`]: the Discord front-end (serenity): gateway or signed interactions endpoint,
//!   `/relink` commands, alert embeds, REST within Discord's limits.
//! - [`telegram`]: the Telegram bot (teloxide): renderer, notifier, polling and webhook.
//! - [`lease`]: the roles one process at a time plays for a bot (Discord sender, Telegram poller).

pub mod commands;
pub mod discord;
pub mod lease;
pub mod telegram;

pub use commands::Services;

use std::sync::Arc;

use relink_core::alerts::Notifier;
use relink_core::supervise::Task;
use tokio_util::sync::CancellationToken;

/// Why [`start`] refused to start a configured front-end. Its text names the platform and the
/// setting to fix, never a secret. The platform's reason is part of the text, not a separate
/// source, so `relink serve`'s `error: {:#}` says it once.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("Discord: {0}")]
    Discord(discord::StartError),
    #[error("Telegram: {0}")]
    Telegram(telegram::StartError),
}

impl From<discord::StartError> for StartError {
    fn from(error: discord::StartError) -> Self {
        Self::Discord(error)
    }
}

impl From<telegram::StartError> for StartError {
    fn from(error: telegram::StartError) -> Self {
        Self::Telegram(error)
    }
}

/// Which front-ends to run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub discord: Option<discord::DiscordSettings>,
    pub telegram: Option<telegram::Settings>,
}

/// What the started front-ends give the rest of relink.
#[derive(Debug, Default)]
pub struct Started {
    /// Their tasks, to run under `relink_core::supervise` (restarted when they fail); they end
    /// when the shutdown token fires.
    pub tasks: Vec<Task>,
    /// Their alert notifiers, for the delivery workers.
    pub notifiers: Vec<Arc<dyn Notifier>>,
    /// Routes to serve on the web server (the Discord interactions endpoint, the Telegram
    /// webhook), when their mode takes updates over HTTP.
    pub routes: Option<axum::Router>,
}

impl Started {
    fn route(&mut self, routes: axum::Router) {
        self.routes = Some(match self.routes.take() {
            Some(existing) => existing.merge(routes),
            None => routes,
        });
    }
}

/// Starts the configured front-ends, each over the same command [`Services`]. A front-end that
/// is configured but cannot start (an interactions endpoint without its public key, a bad API
/// URL) is an error: relink does not run half-configured.
pub fn start(settings: Settings, services: Services, shutdown: CancellationToken) -> Result<Started, StartError> {
    let mut started = Started::default();
    match settings.discord {
        None => tracing::info!(
            "Discord is not configured: set RELINK_DISCORD__TOKEN and RELINK_DISCORD__APPLICATION_ID \
             (or [discord] token and application_id in relink.toml) to enable the Discord bot"
        ),
        Some(discord) => {
            let bot = discord::Discord::new(discord, services.clone())?;
            started.notifiers.push(bot.notifier());
            if let Some(routes) = bot.router() {
                tracing::info!("Discord interactions endpoint served at /discord/interactions");
                started.route(routes);
            }
            started.tasks.extend(bot.start(shutdown.clone()));
        }
    }
    match settings.telegram {
        None => tracing::info!(
            "Telegram is not configured: set RELINK_TELEGRAM__TOKEN (or [telegram] token in relink.toml) \
             to the token from @BotFather to enable the Telegram bot"
        ),
        Some(telegram) => {
            let bot = telegram::Telegram::new(telegram, services)?;
            started.notifiers.push(Arc::new(bot.notifier()));
            // Only webhook mode takes updates over HTTP; in polling mode the route is absent.
            if bot.mode() == telegram::Mode::Webhook {
                started.route(telegram::router(bot.clone()));
            }
            started.tasks.push(Task::service("telegram", move || bot.clone().run(shutdown.clone())));
        }
    }
    Ok(started)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_front_end_that_cannot_start_says_which_and_why_once() {
        let errors = [
            (
                StartError::from(discord::StartError::NoPublicKey),
                "Discord: discord.mode = \"interactions\" needs discord.public_key",
            ),
            (
                StartError::from(discord::StartError::from(discord::KeyError::NotHex)),
                "Discord: discord.public_key must be 64 hexadecimal characters",
            ),
            (
                StartError::from(telegram::StartError::NoWebhookSecret),
                "Telegram: telegram.mode = \"webhook\" needs telegram.webhook_secret",
            ),
        ];
        for (error, text) in errors {
            assert_eq!(error.to_string(), text);
            // Nothing chained under it: an error chain printed in full repeats nothing.
            assert!(std::error::Error::source(&error).is_none(), "{error}");
        }
    }
}
