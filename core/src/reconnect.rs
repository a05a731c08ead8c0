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

use crate::domain::{ChannelId, MemberId, ReconnectLink};
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
/// member must belong to the channel's team and have a role that may reconnect.
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
    let ttl = chrono::Duration::from_std(settings.ttl).unwrap_or(chrono::Duration::days(1));
    let link = store.create_link(&token, channel, member, now, now + ttl).await?;
    Ok(MintedLink { url: SecretString::from(settings.link_url(&token).to_string()), link })
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
