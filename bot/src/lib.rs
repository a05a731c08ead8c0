//! relink-bot: the chat front-ends, Discord and Telegram.
//!
//! [`start`] starts the front-ends that are configured and says, for each one that is not, how
//! to enable it. [`discord`] is the Discord front-end (`relink serve` builds it, registers its
//! notifier and merges its interactions endpoint into the web server). The command layer and
//! the Telegram renderer live here as they arrive; every front-end talks to `relink-core` only
//! through its store and services.

pub mod discord;

pub mod commands;

use relink_core::store::Store;
use secrecy::SecretString;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Telegram settings from the configuration.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    pub token: SecretString,
}

/// Which front-ends to run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Whether the Discord front-end is configured (it is started through [`discord::Discord`]).
    pub discord: bool,
    pub telegram: Option<TelegramSettings>,
}

/// Starts the configured front-ends; returns their tasks, which end when `shutdown` fires.
pub fn start(settings: Settings, store: Store, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    let _ = (&store, &shutdown);
    if !settings.discord {
        tracing::info!(
            "Discord is not configured: set RELINK_DISCORD__TOKEN and RELINK_DISCORD__APPLICATION_ID \
             (or [discord] token and application_id in relink.toml) to enable the Discord bot"
        );
    }
    match settings.telegram {
        None => tracing::info!(
            "Telegram is not configured: set RELINK_TELEGRAM__TOKEN (or [telegram] token in relink.toml) \
             to the token from @BotFather to enable the Telegram bot"
        ),
        Some(_) => tracing::warn!(
            "a Telegram token is configured, but this build of relink has no Telegram bot yet; it is ignored"
        ),
    }
    Vec::new()
}
