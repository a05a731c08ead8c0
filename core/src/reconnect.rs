//! Minting reconnect links: what an alert, a chat command or `relink channel reconnect` puts in
//! front of the person who can reconnect a channel.
//!
//! [`mint_link`] stores a fresh link (its token hashed) bound to the channel, its team and,
//! when a member asked for it, that member, and returns the URL under the configured public
//! address. The URL is a bearer secret until used or expired: it is a [`SecretString`], so it
//! is never logged by accident; hand it only to the person it is for.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use url::Url;

use async_trait::async_trait;

use crate::alerts::{ChannelLink, Destination, LinkMinter, MintError, ReconnectAction};
use crate::domain::{ChannelId, DiscordUserId, MemberId, ReconnectLink, TelegramUserId};
use crate::opaque::OpaqueToken;
use crate::store::{Result, Store, StoreError};

/// How long a reconnect link lives unless configured otherwise.
pub const DEFAULT_LINK_TTL: Duration = Duration::from_secs(24 * 3_600);

/// Where reconnect links point and how long they live (`[web]` in the configuration).
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// The address people reach relink's web server at; links are `{public_url}/r/{token}`.
    pub public_url: Url,
    pub ttl: Duration,
}

impl LinkSettings {
    /// The page a link token opens.
    pub fn link_url(&self, token: &OpaqueToken) -> Url {
        let mut url = self.public_url.clone();
        url.path_segments_mut().expect("an http(s) URL has a path").pop_if_empty().extend(["r", token.expose()]);
        url
    }
}

/// A freshly minted link.
pub struct MintedLink {
    /// `{public_url}/r/{token}`: a secret until used or expired.
    pub url: SecretString,
    pub link: ReconnectLink,
}

impl fmt::Debug for MintedLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedLink").field("url", &"[REDACTED]").field("link", &self.link).finish()
    }
}

/// Mints a reconnect link for a channel, bound to `member` when a member asked for it. The
/// member must belong to the channel's team and have a role that may reconnect, and must still
/// when the link is opened and its button pressed: a link for no member (or whose member was
/// removed) is refused with a page that says so and starts no authorization
/// (`Store::begin_flow`).
pub async fn mint_link(
    store: &Store,
    settings: &LinkSettings,
    channel: ChannelId,
    member: Option<MemberId>,
    now: DateTime<Utc>,
) -> Result<MintedLink> {
    let target = store.channel(channel).await?;
    if let Some(member) = member {
        let member = store.member(member).await?;
        if member.team_id != target.team_id {
            return Err(StoreError::Conflict(format!("{} is not a member of the channel's team", member.name)));
        }
        if !member.role.may_reconnect() {
            return Err(StoreError::Conflict(format!(
                "{} is {}: only the primary owner, owners and admins may reconnect channels",
                member.name, member.role
            )));
        }
    }
    let token = OpaqueToken::generate();
    let link = store.create_link(&token, channel, member, now, crate::time::after(now, settings.ttl)).await?;
    Ok(MintedLink { url: SecretString::from(settings.link_url(&token).to_string()), link })
}

/// The [`LinkMinter`] of `relink serve`: links from the store, bound to the member who reads
/// the alert. A reader who is not a member of the team, or whose role may not reconnect, gets
/// no links (the alert still tells them what happened).
#[derive(Debug, Clone)]
pub struct StoreLinks {
    pub store: Store,
    pub settings: LinkSettings,
}

#[async_trait]
impl LinkMinter for StoreLinks {
    async fn mint(
        &self,
        action: &ReconnectAction,
        reader: Destination,
        now: DateTime<Utc>,
    ) -> std::result::Result<Vec<ChannelLink>, MintError> {
        let members = match reader {
            Destination::DiscordUser(user) => self.store.members_by_discord(DiscordUserId(user)).await,
            Destination::TelegramUser(user) => self.store.members_by_telegram(TelegramUserId(user)).await,
            Destination::DiscordChannel(_) | Destination::TelegramChat(_) | Destination::Log => return Ok(Vec::new()),
        }
        .map_err(MintError::Reader)?;
        let Some(member) = members.into_iter().find(|m| m.team_id == action.team_id && m.role.may_reconnect()) else {
            return Ok(Vec::new());
        };
        let mut links = Vec::with_capacity(action.channel_ids.len());
        for &channel_id in &action.channel_ids {
            let minted = mint_link(&self.store, &self.settings, channel_id, Some(member.id), now).await;
            let minted = minted.map_err(|source| MintError::Link { channel: channel_id, source })?;
            links.push(ChannelLink { channel_id, url: minted.url });
        }
        Ok(links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_live_under_the_public_url_with_or_without_a_path() {
        let token = OpaqueToken::generate();
        for (base, expected) in [
            ("https://relink.example", format!("https://relink.example/r/{}", token.expose())),
            ("https://relink.example/", format!("https://relink.example/r/{}", token.expose())),
            ("https://example.com/relink/", format!("https://example.com/relink/r/{}", token.expose())),
        ] {
            let settings = LinkSettings { public_url: Url::parse(base).unwrap(), ttl: DEFAULT_LINK_TTL };
            assert_eq!(settings.link_url(&token).as_str(), expected);
        }
    }
}
