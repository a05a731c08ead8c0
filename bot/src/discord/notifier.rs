//! [`DiscordNotifier`]: relink's alerts as Discord messages (see `embed`), sent to bound
//! channels and to members' direct messages, edited once their incident is resolved.
//!
//! - **No duplicates**: every send carries a `nonce` derived from the delivery's idempotency
//!   key with `enforce_nonce`, so Discord drops a retried send it already accepted.
//! - **Gone chats**: 403 and 404 (deleted channel, missing access, a user who blocks the bot)
//!   are permanent: the delivery workers then disable the binding and tell the operators.
//!   Rate limits and 5xx are transient and retried.
//! - **One sender per bot**: sends happen only while this process holds the bot's delivery
//!   lease in the database (`platform_leases`), so several relink processes never spend one
//!   bot's rate budget at once; a process without the lease reports a transient failure and the
//!   delivery is retried, by whichever process holds it then.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use relink_core::ChatPlatform;
use relink_core::alerts::{Destination, Notifier, NotifyError, Outgoing, SentRef};
use relink_core::store::Store;
use serde::Deserialize;
use serenity::builder::{CreateMessage, EditMessage};
use serenity::http::{LightMethod, Route};
use serenity::model::channel::Nonce;
use serenity::model::id::{ChannelId, MessageId};
use sha2::{Digest as _, Sha256};

use super::embed;
use super::rest::{Rest, RestError};
use crate::lease::{Lease, Standing};

/// How long a delivery lease lasts; it is renewed when less than half is left.
pub const LEASE: Duration = crate::lease::TERM;

/// The bot's delivery lease: one relink process at a time sends alerts through a bot.
#[derive(Debug)]
pub struct DeliveryLease {
    lease: Lease,
}

impl DeliveryLease {
    /// The lease named `discord:<bot>` for this process (`owner`, unique per process).
    pub fn new(store: Store, bot: &str, owner: String) -> Self {
        Self { lease: Lease::new(store, format!("discord:{bot}"), owner) }
    }

    /// Ok when this process may send now, taking or renewing the lease when needed.
    pub async fn ensure(&self, now: DateTime<Utc>) -> Result<(), NotifyError> {
        match self.lease.keep(now).await {
            Ok(Standing::Held { .. }) => Ok(()),
            Ok(Standing::Elsewhere { .. }) => Err(NotifyError::Elsewhere { retry_after: LEASE / 2 }),
            Err(error) => Err(NotifyError::Transient {
                retry_after: None,
                detail: format!("cannot take the Discord delivery lease: {error}"),
            }),
        }
    }

    /// Gives the lease up (at shutdown), so another process takes over at once.
    pub async fn release(&self) {
        self.lease.release().await;
    }
}

/// Sends alerts through Discord's REST API.
#[derive(Debug)]
pub struct DiscordNotifier {
    rest: Rest,
    lease: DeliveryLease,
    /// Members' DM channels, by user id: Discord answers the same channel every time.
    dm_channels: Mutex<HashMap<i64, u64>>,
}

#[derive(Deserialize)]
struct Created {
    id: String,
}

impl DiscordNotifier {
    pub fn new(rest: Rest, lease: DeliveryLease) -> Self {
        Self { rest, lease, dm_channels: Mutex::new(HashMap::new()) }
    }

    pub fn lease(&self) -> &DeliveryLease {
        &self.lease
    }

    /// The channel a destination's messages go to (a member's DM channel is opened first).
    async fn channel_of(&self, to: Destination) -> Result<u64, NotifyError> {
        match to {
            Destination::DiscordChannel(id) => u64::try_from(id).map_err(|_| bad_destination(to)),
            Destination::DiscordUser(user) => {
                if let Some(channel) = self.dm_channels.lock().unwrap_or_else(|e| e.into_inner()).get(&user) {
                    return Ok(*channel);
                }
                let body = serde_json::json!({ "recipient_id": user.to_string() });
                let created: Created = self
                    .rest
                    .call(LightMethod::Post, Route::UserMeDmChannels, Some(&body))
                    .await
                    .map_err(notify_error)?;
                let channel = created.id.parse::<u64>().map_err(|_| bad_answer("a DM channel id"))?;
                self.dm_channels.lock().unwrap_or_else(|e| e.into_inner()).insert(user, channel);
                Ok(channel)
            }
            _ => Err(bad_destination(to)),
        }
    }
}

#[async_trait]
impl Notifier for DiscordNotifier {
    fn platform(&self) -> ChatPlatform {
        ChatPlatform::Discord
    }

    async fn send(&self, to: Destination, message: &Outgoing<'_>) -> Result<SentRef, NotifyError> {
        self.lease.ensure(Utc::now()).await?;
        let channel = self.channel_of(to).await?;
        let body = CreateMessage::new()
            .embed(embed::embed(message.alert))
            .components(embed::buttons(message.alert, message.reconnect_links, to.is_private()))
            .nonce(Nonce::String(nonce(message.idempotency_key)))
            .enforce_nonce(true);
        let route = Route::ChannelMessages { channel_id: ChannelId::new(channel) };
        let sent: Created = self.rest.call(LightMethod::Post, route, Some(&body)).await.map_err(notify_error)?;
        Ok(SentRef(format!("{channel}/{}", sent.id)))
    }

    async fn edit(&self, to: Destination, sent: &SentRef, message: &Outgoing<'_>) -> Result<(), NotifyError> {
        let (channel, id) = parse_sent(sent).ok_or(NotifyError::Unsupported)?;
        self.lease.ensure(Utc::now()).await?;
        // A resolution has no buttons; an edited digest keeps those of the channels still to
        // reconnect (this reader's links in a direct message).
        let body = EditMessage::new().embed(embed::embed(message.alert)).components(embed::buttons(
            message.alert,
            message.reconnect_links,
            to.is_private(),
        ));
        let route = Route::ChannelMessage { channel_id: ChannelId::new(channel), message_id: MessageId::new(id) };
        self.rest.call_ignoring_body(LightMethod::Patch, route, Some(&body)).await.map_err(notify_error)
    }
}

/// Discord's `nonce` for a delivery: at most 25 characters, the same for every attempt.
pub fn nonce(idempotency_key: &str) -> String {
    let digest = Sha256::digest(idempotency_key.as_bytes());
    hex::encode(digest)[..25].to_owned()
}

/// A [`SentRef`] of this notifier: `<channel id>/<message id>`.
fn parse_sent(sent: &SentRef) -> Option<(u64, u64)> {
    let (channel, message) = sent.0.split_once('/')?;
    let (channel, message) = (channel.parse::<u64>().ok()?, message.parse::<u64>().ok()?);
    (channel > 0 && message > 0).then_some((channel, message))
}

fn notify_error(error: RestError) -> NotifyError {
    match error {
        RestError::RateLimited { retry_after, .. } => {
            NotifyError::Transient { retry_after: Some(retry_after), detail: error.to_string() }
        }
        gone if gone.chat_is_gone() => NotifyError::Permanent(gone.to_string()),
        // Other refusals are relink's mistakes, not the chat's: retried, then dead-lettered,
        // never a reason to disable a binding.
        other => NotifyError::Transient { retry_after: None, detail: other.to_string() },
    }
}

fn bad_destination(to: Destination) -> NotifyError {
    NotifyError::Permanent(format!("{to} is not a Discord destination"))
}

fn bad_answer(what: &str) -> NotifyError {
    NotifyError::Transient { retry_after: None, detail: format!("Discord's answer has no {what}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_short_stable_and_distinct() {
        let a = nonce("relink-alert-12-discord:123456789012345678");
        assert_eq!(a.len(), 25);
        assert_eq!(a, nonce("relink-alert-12-discord:123456789012345678"));
        assert_ne!(a, nonce("relink-alert-13-discord:123456789012345678"));
    }

    #[test]
    fn sent_refs_name_a_channel_and_a_message() {
        assert_eq!(parse_sent(&SentRef("12/34".into())), Some((12, 34)));
        assert_eq!(parse_sent(&SentRef("log:5".into())), None);
        assert_eq!(parse_sent(&SentRef("0/1".into())), None);
    }

    #[test]
    fn gone_chats_are_permanent_and_the_rest_transient() {
        let refused = |status, code| RestError::Refused { status, code, message: "x".into() };
        assert!(matches!(notify_error(refused(404, 10_003)), NotifyError::Permanent(_)));
        assert!(matches!(notify_error(refused(403, 50_001)), NotifyError::Permanent(_)));
        assert!(matches!(notify_error(refused(400, 50_035)), NotifyError::Transient { .. }));
        assert!(matches!(notify_error(RestError::Server { status: 502 }), NotifyError::Transient { .. }));
        let limited = notify_error(RestError::RateLimited { retry_after: Duration::from_secs(2), global: false });
        assert_eq!(
            limited,
            NotifyError::Transient { retry_after: Some(Duration::from_secs(2)), detail: "rate limited for 2s".into() }
        );
    }
}
