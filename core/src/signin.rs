//! Sign-in links to the team page (`/team`): what the chat command `dashboard` and `relink team
//! dashboard-link` hand a member.
//!
//! [`mint_signin`] stores a fresh single-use link (its token hashed) bound to one member of one
//! team and returns `{public_url}/team/sign-in/{token}`. The link lives [`SIGNIN_TTL`]: it is a
//! bearer secret that signs a browser in for [`SESSION_TTL`], so unlike a reconnect link (which
//! still needs the network's own sign-in) it should be used at once, and a link left in a chat's
//! history is soon worthless. Every role may sign in; only those that may reconnect get the
//! page's buttons.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::domain::MemberId;
use crate::opaque::OpaqueToken;
use crate::reconnect::LinkSettings;
use crate::store::{Result, SignInLink, Store};

/// How long a sign-in link works: long enough to open it from a chat on the same device, short
/// enough that a link found later in a chat's history or a forwarded message opens nothing.
pub const SIGNIN_TTL: Duration = Duration::from_secs(15 * 60);

/// How long a signed-in browser stays signed in: a working day.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3_600);

/// A freshly minted sign-in link.
pub struct MintedSignIn {
    /// `{public_url}/team/sign-in/{token}`: a secret until used or expired.
    pub url: SecretString,
    pub link: SignInLink,
}

impl fmt::Debug for MintedSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedSignIn").field("url", &"[REDACTED]").field("link", &self.link).finish()
    }
}

/// The page a sign-in token opens.
pub fn signin_url(settings: &LinkSettings, token: &OpaqueToken) -> url::Url {
    let mut url = settings.public_url.clone();
    url.set_query(None);
    url.path_segments_mut().expect("an http(s) URL has a path").pop_if_empty().extend([
        "team",
        "sign-in",
        token.expose(),
    ]);
    url
}

/// Mints a sign-in link for `member`, to their own team's page.
pub async fn mint_signin(
    store: &Store,
    settings: &LinkSettings,
    member: MemberId,
    now: DateTime<Utc>,
) -> Result<MintedSignIn> {
    let token = OpaqueToken::generate();
    let link = store.create_signin_link(&token, member, now, crate::time::after(now, SIGNIN_TTL)).await?;
    Ok(MintedSignIn { url: SecretString::from(signin_url(settings, &token).to_string()), link })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_links_live_under_the_public_url() {
        let token = OpaqueToken::generate();
        for (base, expected) in [
            ("https://relink.example", format!("https://relink.example/team/sign-in/{}", token.expose())),
            ("https://example.com/relink/", format!("https://example.com/relink/team/sign-in/{}", token.expose())),
        ] {
            let settings =
                LinkSettings { public_url: url::Url::parse(base).unwrap(), ttl: crate::reconnect::DEFAULT_LINK_TTL };
            assert_eq!(signin_url(&settings, &token).as_str(), expected);
        }
    }
}
