//! relink-bot: the chat front-ends, Discord and Telegram.
//!
//! [`start`] starts the front-ends that are configured and says, for each one that is not, how
//! to enable it; it returns their tasks, their alert notifiers and their web routes.
//!
//! - [`commands`]: the platform-neutral command layer and its `Reply` model.
//! - [`telegram`]: the Telegram bot (teloxide): renderer, notifier, polling and webhook.

pub mod commands;
pub mod telegram;

pub use commands::Services;

use std::sync::Arc;

use relink_core::alerts::Notifier;
use secrecy::SecretString;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Discord settings from the configuration.
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    pub token: SecretString,
    pub application_id: Option<u64>,
}

/// Which front-ends to run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub discord: Option<DiscordSettings>,
    pub telegram: Option<telegram::Settings>,
}

/// What the started front-ends give the rest of relink.
#[derive(Debug, Default)]
pub struct Started {
    /// Their tasks, which end when the shutdown token fires.
    pub tasks: Vec<JoinHandle<()>>,
    /// Their alert notifiers, for the delivery workers.
    pub notifiers: Vec<Arc<dyn Notifier>>,
    /// Routes to serve on the web server (the Telegram webhook).
    pub routes: Option<axum::Router>,
}

/// Starts the configured front-ends, each over the same command [`Services`].
pub fn start(settings: Settings, services: Services, shutdown: CancellationToken) -> Started {
    let mut started = Started::default();
    match settings.discord {
        None => tracing::info!(
            "Discord is not configured: set RELINK_DISCORD__TOKEN and RELINK_DISCORD__APPLICATION_ID \
             (or [discord] token and application_id in relink.toml) to enable the Discord bot"
        ),
        Some(_) => tracing::warn!(
            "a Discord token is configured, but this build of relink has no Discord bot yet; it is ignored"
        ),
    }
    match settings.telegram {
        None => tracing::info!(
            "Telegram is not configured: set RELINK_TELEGRAM__TOKEN (or [telegram] token in relink.toml) \
             to the token from @BotFather to enable the Telegram bot"
        ),
        Some(telegram) => match telegram::Telegram::new(telegram, services) {
            Ok(bot) => {
                started.notifiers.push(Arc::new(bot.notifier()));
                // Only webhook mode takes updates over HTTP; in polling mode the route is absent.
                if bot.mode() == telegram::Mode::Webhook {
                    started.routes = Some(telegram::router(bot.clone()));
                }
                started.tasks.push(tokio::spawn(bot.run(shutdown)));
            }
            Err(error) => tracing::error!(%error, "the Telegram bot cannot start"),
        },
    }
    started
}
