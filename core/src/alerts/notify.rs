//! The boundary to chat platforms: a [`Notifier`] per platform (the bots implement them), the
//! [`Notifiers`] registry the delivery workers use, the [`ConsoleNotifier`] that writes alerts to
//! the log when no chat can take them, and the [`LinkMinter`] hook through which the web server
//! turns a reconnect action into a link.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::messages::render_text;
use super::model::{Alert, Destination, ReconnectAction};
pub use crate::domain::alert::{ChannelLink, SentRef};
use crate::domain::{ChannelId, ChatPlatform};
use crate::store::StoreError;

/// One message to send: the alert, and what this destination gets besides it.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub alert: &'a Alert,
    /// The same for every attempt of one delivery: platforms that can drop duplicates (Discord's
    /// `nonce`) should pass it on.
    pub idempotency_key: &'a str,
    /// The reconnect links for this reader, one per channel of the alert; only private
    /// destinations of members who may reconnect get them.
    pub reconnect_links: &'a [ChannelLink],
}

impl Outgoing<'_> {
    /// The alert as plain text with this reader's link, for platforms without richer layout.
    pub fn text(&self) -> String {
        render_text(self.alert, self.reconnect_links)
    }
}

/// How a send or an edit failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// Try again later (network trouble, 5xx, rate limit); `retry_after` when the platform said.
    #[error("temporary failure: {detail}")]
    Transient { retry_after: Option<Duration>, detail: String },
    /// Will never work (the chat is gone, the bot was removed, the user blocked it).
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The platform cannot do this (editing a sent message).
    #[error("not supported by this platform")]
    Unsupported,
    /// Another relink process delivers this platform's messages now (it holds the bot's
    /// delivery lease): not a failure, and not an attempt; look again after `retry_after`.
    #[error("another relink process is delivering for this platform")]
    Elsewhere { retry_after: Duration },
}

/// A chat platform's way of sending alerts. Object safe: the registry holds `Arc<dyn Notifier>`.
#[async_trait]
pub trait Notifier: Send + Sync + fmt::Debug {
    /// The platform whose destinations this notifier serves.
    fn platform(&self) -> ChatPlatform;

    /// Sends one alert to one destination of this platform.
    async fn send(&self, to: Destination, message: &Outgoing<'_>) -> Result<SentRef, NotifyError>;

    /// Edits an earlier message (`sent`) into `message`: used to mark an alert resolved. Once
    /// edited, no second "connected again" is sent; a platform that cannot edit (`Unsupported`)
    /// or an edit that fails gets the message sent instead, so nothing is lost.
    async fn edit(&self, to: Destination, sent: &SentRef, message: &Outgoing<'_>) -> Result<(), NotifyError> {
        let _ = (to, sent, message);
        Err(NotifyError::Unsupported)
    }
}

/// Writes alerts to relink's log: how `relink serve` without chat credentials still shows them,
/// and where alerts for platforms nobody configured go.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleNotifier;

impl ConsoleNotifier {
    /// Logs the alert (without any reconnect link: logs are read by more people than the link's
    /// owner) and returns a reference naming the destination.
    pub fn show(&self, to: Destination, message: &Outgoing<'_>) -> SentRef {
        let alert = message.alert;
        let text = render_text(alert, &[]);
        tracing::warn!(
            target: "relink::alerts",
            alert = %alert.id,
            kind = %alert.kind,
            severity = %alert.severity,
            team = %alert.team,
            destination = %to,
            "alert\n{text}"
        );
        SentRef(format!("log:{}", alert.id))
    }
}

/// The notifiers the delivery workers use, one per chat platform. A destination whose platform
/// has no notifier goes to the [`ConsoleNotifier`].
#[derive(Debug, Clone, Default)]
pub struct Notifiers {
    by_platform: HashMap<ChatPlatform, Arc<dyn Notifier>>,
    console: ConsoleNotifier,
}

impl Notifiers {
    /// Only the log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the notifier of its platform.
    pub fn register(&mut self, notifier: Arc<dyn Notifier>) -> &mut Self {
        self.by_platform.insert(notifier.platform(), notifier);
        self
    }

    /// The notifier for a destination, or `None` when it goes to the log.
    pub fn for_destination(&self, to: Destination) -> Option<&dyn Notifier> {
        to.platform().and_then(|p| self.by_platform.get(&p)).map(|n| n.as_ref())
    }

    pub fn console(&self) -> &ConsoleNotifier {
        &self.console
    }
}

/// Turns a reconnect action into links for one reader, one per channel: unguessable, expiring,
/// single-use tokens bound to the team, the channel and the reader (`reconnect::StoreLinks`
/// implements it). Links are minted at delivery time and never stored with the alert; an empty
/// list means "no links for this reader" (the message then points at `/reconnect`).
#[async_trait]
pub trait LinkMinter: Send + Sync + fmt::Debug {
    async fn mint(
        &self,
        action: &ReconnectAction,
        reader: Destination,
        now: DateTime<Utc>,
    ) -> Result<Vec<ChannelLink>, MintError>;
}

/// Why no links could be minted for a reader (the alert then goes without them). Neither
/// variant carries a link or a token.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The store could not say which member reads the destination.
    #[error("cannot find who reads the alert: {0}")]
    Reader(#[source] StoreError),
    /// The store could not make the link of one channel.
    #[error("cannot make a reconnect link for channel {channel}: {source}")]
    Link { channel: ChannelId, source: StoreError },
}

/// Mints no links: alerts tell the reader to ask the bot with `/reconnect` instead.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLinks;

#[async_trait]
impl LinkMinter for NoLinks {
    async fn mint(&self, _: &ReconnectAction, _: Destination, _: DateTime<Utc>) -> Result<Vec<ChannelLink>, MintError> {
        Ok(Vec::new())
    }
}
