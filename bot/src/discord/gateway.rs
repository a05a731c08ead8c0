//! Gateway mode: serenity's client holds the gateway connection and hands each interaction to
//! the same code as the HTTP endpoint (`respond::handle` with `dispatch::answer`); the
//! immediate response goes back through the interaction callback route. No intents are asked
//! for: interactions arrive without any.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::ExposeSecret as _;
use serenity::all::{Context, EventHandler, GatewayIntents, Interaction, Ready};
use serenity::http::{HttpBuilder, LightMethod, Route};
use serenity::model::id::InteractionId;
use tokio_util::sync::CancellationToken;

use super::incoming::Incoming;
use super::respond::{Handled, handle};
use super::rest::DISCORD_API;
use super::{Services, dispatch};

struct Handler {
    services: Arc<Services>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _: Context, ready: Ready) {
        tracing::info!(bot = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord's gateway");
    }

    async fn interaction_create(&self, _: Context, interaction: Interaction) {
        let incoming: Incoming = match serde_json::to_value(&interaction).and_then(serde_json::from_value) {
            Ok(incoming) => incoming,
            Err(error) => {
                tracing::warn!(%error, "an interaction from the gateway relink cannot read");
                return;
            }
        };
        let (id, token) = (incoming.id, incoming.token.clone());
        if let Handled::Respond { response, responded } = handle(&self.services, incoming, dispatch::answer).await {
            let route = Route::InteractionResponse { interaction_id: InteractionId::new(id), token: &token };
            match self.services.rest.call_ignoring_body(LightMethod::Post, route, Some(&response)).await {
                Ok(()) => {
                    let _ = responded.send(());
                }
                Err(error) => tracing::warn!(%error, "cannot answer a Discord interaction"),
            }
        }
    }
}

/// Runs the gateway client until `shutdown`.
pub(super) async fn run(services: Arc<Services>, shutdown: CancellationToken) {
    let settings = &services.settings;
    let mut http = HttpBuilder::new(settings.token.expose_secret());
    let api = settings.api_url.as_str().trim_end_matches('/');
    if api != DISCORD_API {
        // serenity's own rate limiter ignores a proxy; the client makes one call (the gateway's
        // address) before connecting, everything else goes through relink's limiter.
        http = http.proxy(api.strip_suffix("/api").unwrap_or(api)).ratelimiter_disabled(true);
    }
    let handler = Handler { services: services.clone() };
    let built = serenity::client::ClientBuilder::new_with_http(http.build(), GatewayIntents::empty())
        .event_handler(handler)
        .await;
    let mut client = match built {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot start the Discord gateway client");
            return;
        }
    };
    let shards = client.shard_manager.clone();
    tokio::select! {
        result = client.start() => {
            if let Err(error) = result {
                tracing::error!(%error, "the Discord gateway connection ended");
            }
        }
        () = shutdown.cancelled() => shards.shutdown_all().await,
    }
}
