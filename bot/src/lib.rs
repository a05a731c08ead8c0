//! relink-bot: the chat front-ends, Discord and Telegram.
//!
//! [`start`] starts the front-ends that are configured and says, for each one that is not, how
//! to enable it. The command layer and the two platform renderers live here as they arrive;
//! both talk to `relink-core` only through its store and services.

pub mod commands;

use relink_core::store::Store;
use secrecy::SecretString;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Discord settings from the configuration.
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    pub token: SecretString,
    pub application_id: Option<u64>,
}

/// Telegram settings from the configuration.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    pub token: SecretString,
}

/// Which front-ends to run.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub discord: Option<DiscordSettings>,
    pub telegram: Option<TelegramSettings>,
}

/// Starts the configured front-ends; returns their tasks, which end when `shutdown` fires.
pub fn start(settings: Settings, store: Store, shutdown: CancellationToken) -> Vec<JoinHandle<()>> {
    let _ = (&store, &shutdown);
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
        Some(_) => tracing::warn!(
            "a Telegram token is configured, but this build of relink has no Telegram bot yet; it is ignored"
        ),
    }
    Vec::new()
}
