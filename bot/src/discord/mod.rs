//! The Discord front-end (serenity's model, builders and gateway; relink's own REST execution).
//!
//! - [`Discord`] holds the services every part shares and hands out the three things `relink
//!   serve` wires: the [`DiscordNotifier`] for alerts, the interactions [`Discord::router`] for
//!   the web server (HTTP interactions mode), and the start-up tasks ([`Discord::start`]:
//!   command registration, the gateway client in gateway mode, the purge of seen interactions).
//! - `rest` + `limiter`: REST calls within the global and per-bucket rate limits.
//! - `notifier` + `embed` + `words`: alerts as embeds with buttons, nonce-deduplicated sends,
//!   resolution edits, the delivery lease.
//! - `verify` + `interactions` + `incoming`: the HTTP endpoint (signature, freshness, PING,
//!   one handling per interaction id, deferral), shared with the gateway through `respond`.
//! - `dispatch` + `render`: what each interaction gets: slash commands and buttons through the
//!   shared command layer (`crate::commands`), its replies rendered for Discord; autocomplete.
//! - `register`: the slash commands with their Italian and Japanese names, bulk-overwritten.
//! - `gateway`: the serenity client of gateway mode.

mod dispatch;
pub(crate) mod embed;
mod gateway;
pub mod incoming;
mod interactions;
pub mod limiter;
pub mod notifier;
pub mod register;
mod render;
mod respond;
pub mod rest;
pub mod verify;
mod words;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use relink_core::clock::Clock;
use relink_core::store::Store;
use relink_core::supervise::Task;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serenity::http::{LightMethod, Route};
use sha2::{Digest as _, Sha256};
use tokio_util::sync::CancellationToken;

use crate::commands;
pub use embed::colour;
pub use limiter::Limiter;
pub use notifier::{DeliveryLease, DiscordNotifier};
pub use rest::{DISCORD_API, Rest, RestError};
pub use verify::{KeyError, Verifier};

/// How interactions reach relink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// A gateway connection (serenity's client): nothing to expose to the internet.
    #[default]
    Gateway,
    /// Discord posts interactions to `<public_url>/discord/interactions` (behind a load balancer).
    Interactions,
}

/// The Discord front-end's settings (`[discord]` in the configuration).
#[derive(Clone)]
pub struct DiscordSettings {
    pub token: SecretString,
    /// The application's id; when unset, the bot user's id (the same for current applications).
    pub application_id: Option<u64>,
    /// Needed in interactions mode: the Ed25519 key requests are signed with.
    pub public_key: Option<String>,
    pub mode: Mode,
    /// Register the commands in this guild only (they appear at once) instead of globally.
    pub guild_id: Option<u64>,
    /// Discord's REST base, `https://discord.com/api` unless tests point it elsewhere.
    pub api_url: url::Url,
    /// Work that has not finished in this time is answered with a deferral first (zero: always).
    pub defer_after: Duration,
    /// This process's name in the delivery lease.
    pub owner: String,
}

impl fmt::Debug for DiscordSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordSettings")
            .field("token", &"[REDACTED]")
            .field("application_id", &self.application_id)
            .field("public_key", &self.public_key)
            .field("mode", &self.mode)
            .field("guild_id", &self.guild_id)
            .field("api_url", &self.api_url.as_str())
            .field("defer_after", &self.defer_after)
            .finish()
    }
}

impl DiscordSettings {
    /// Settings for a bot token with every default: gateway mode, global commands, Discord's API.
    pub fn new(token: SecretString) -> Self {
        Self {
            token,
            application_id: None,
            public_key: None,
            mode: Mode::Gateway,
            guild_id: None,
            api_url: url::Url::parse(DISCORD_API).expect("Discord's API URL parses"),
            defer_after: Duration::from_secs(1),
            owner: format!("relink-{}-{:08x}", std::process::id(), rand::random::<u32>()),
        }
    }
}

/// What the Discord parts share.
pub(crate) struct Services {
    /// What the command layer works with (store, links, checker, clock).
    pub commands: commands::Services,
    pub store: Store,
    pub rest: Rest,
    pub clock: Arc<dyn Clock>,
    pub settings: DiscordSettings,
    application_id: tokio::sync::OnceCell<u64>,
}

impl fmt::Debug for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Services").field("settings", &self.settings).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct CurrentUser {
    id: String,
}

impl Services {
    /// The application's id: configured, or the bot user's (`GET /users/@me`), read once.
    pub async fn application_id(&self) -> Result<u64, RestError> {
        if let Some(id) = self.settings.application_id {
            return Ok(id);
        }
        self.application_id
            .get_or_try_init(|| async {
                let me: CurrentUser = self.rest.call(LightMethod::Get, Route::UserMe, None::<&()>).await?;
                me.id.parse::<u64>().map_err(|_| RestError::Decode("the bot user's id is not a number".into()))
            })
            .await
            .copied()
    }
}

/// Why a Discord front-end could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    #[error("discord.mode = \"interactions\" needs discord.public_key")]
    NoPublicKey,
    #[error(transparent)]
    PublicKey(#[from] verify::KeyError),
}

/// The Discord front-end.
#[derive(Debug, Clone)]
pub struct Discord {
    services: Arc<Services>,
    notifier: Arc<DiscordNotifier>,
    verifier: Option<Verifier>,
}

impl Discord {
    /// The front-end over the command layer's services (store, links, checker, clock). Fails
    /// when interactions mode has no valid public key.
    pub fn new(settings: DiscordSettings, commands: commands::Services) -> Result<Self, StartError> {
        let (store, clock) = (commands.store.clone(), commands.clock.clone());
        let verifier = match (&settings.mode, settings.public_key.as_deref()) {
            (Mode::Interactions, None) => {
                return Err(StartError::NoPublicKey);
            }
            (_, Some(key)) => Some(Verifier::from_hex(key)?),
            (Mode::Gateway, None) => None,
        };
        let rest = Rest::new(&settings.token, &settings.api_url, Arc::new(Limiter::default()));
        let lease = DeliveryLease::new(store.clone(), &bot_identity(&settings.token), settings.owner.clone());
        let notifier = Arc::new(DiscordNotifier::new(rest.clone(), lease));
        let services =
            Arc::new(Services { commands, store, rest, clock, settings, application_id: tokio::sync::OnceCell::new() });
        Ok(Self { services, notifier, verifier })
    }

    /// The alerts' notifier, to register with the delivery workers.
    pub fn notifier(&self) -> Arc<DiscordNotifier> {
        self.notifier.clone()
    }

    /// Overwrites the registered slash commands now; returns how many Discord registered.
    pub async fn register_commands(&self) -> Result<usize, RestError> {
        register::register(&self.services).await
    }

    /// `POST /discord/interactions`, in interactions mode; `None` in gateway mode.
    pub fn router(&self) -> Option<axum::Router> {
        match (self.services.settings.mode, &self.verifier) {
            (Mode::Interactions, Some(verifier)) => Some(interactions::router(self.services.clone(), verifier.clone())),
            _ => None,
        }
    }

    /// The tasks that register the commands, run the gateway client (gateway mode), purge seen
    /// interactions hourly and release the delivery lease at shutdown, for the caller to run
    /// under supervision; they end when `shutdown` fires (registration when it is done).
    pub fn start(&self, shutdown: CancellationToken) -> Vec<Task> {
        let services = self.services.clone();
        let (register_services, register_stop) = (services.clone(), shutdown.clone());
        let mut tasks = vec![Task::once("discord_register", move || {
            register::register_at_start(register_services.clone(), register_stop.clone())
        })];
        let (purge_services, purge_stop) = (services.clone(), shutdown.clone());
        tasks.push(Task::service("discord_purge", move || {
            purge_interactions(purge_services.clone(), purge_stop.clone())
        }));
        let notifier = self.notifier.clone();
        let release = shutdown.clone();
        tasks.push(Task::service("discord_lease", move || {
            let (notifier, release) = (notifier.clone(), release.clone());
            async move {
                release.cancelled().await;
                notifier.lease().release().await;
            }
        }));
        if services.settings.mode == Mode::Gateway {
            tasks.push(Task::service("discord_gateway", move || gateway::run(services.clone(), shutdown.clone())));
        }
        tasks
    }
}

/// A name for the bot that is not its token: the first 16 hex digits of the token's SHA-256.
fn bot_identity(token: &SecretString) -> String {
    hex::encode(Sha256::digest(token.expose_secret().trim().as_bytes()))[..16].to_owned()
}

/// Interactions are remembered a day (Discord's tokens last 15 minutes), purged hourly.
async fn purge_interactions(services: Arc<Services>, shutdown: CancellationToken) {
    loop {
        let before = services.clock.now() - chrono::Duration::days(1);
        if let Err(error) = services.store.purge_interactions(before).await {
            tracing::warn!(%error, "cannot forget old Discord interactions");
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3_600)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
