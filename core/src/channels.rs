//! Registering a channel: the one rule the HTTP API and `relink channel add` share. The account id
//! a caller claims is never taken on trust: the network is asked whose token this is (the same
//! probe the checker uses), and a token of another account is refused. Otherwise a team could
//! register another team's account with a junk token and later have that account's real token
//! stored on its own channel by a reconnect.
//!
//! - The network names the claimed account (or names none, see [`Verdict::named_account`]): the
//!   channel is added, unknown and due for its first check now, as before.
//! - It names another account: refused, whatever the caller says ([`RegisterError::OtherAccount`]).
//! - It rejects the token (dead, permission, account): refused, unless an operator registers it
//!   unverified; then the channel starts as `needs_reauth` with the network's reason.
//! - It cannot be asked (transient, unrecognised, relink's own app at fault): refused with a
//!   retry-later message, unless unverified; then it is added and the checker asks later.

use chrono::{DateTime, Utc};

use crate::checker::decide::describe;
use crate::domain::{Channel, ChannelId, Health, NewChannel, Reason};
use crate::provider::{Providers, Renewed, Verdict};
use crate::store::{Store, StoreError};
use crate::token::TokenSet;

/// Whether a token the network rejects or cannot judge may still be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Only a token the network accepts for the claimed account is registered.
    Required,
    /// An operator's choice: a rejected token is registered as `needs_reauth`, one the network
    /// could not judge as unknown. A token of another account is still refused.
    Unverified,
}

/// A registered channel and what the network said.
#[derive(Debug, Clone)]
pub struct Registered {
    pub channel: Channel,
    /// `None` when the network accepted the token for the claimed account; otherwise why the
    /// channel was registered without that (only with [`Verification::Unverified`]).
    pub unverified: Option<String>,
}

/// Why a channel was not registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The network says the token belongs to another account (account ids are not secret).
    #[error("{network} says this token belongs to account `{named}`, not `{claimed}`")]
    OtherAccount { network: &'static str, claimed: String, named: String },
    /// The network rejected the token.
    #[error("{network} rejects this token: {detail}")]
    Rejected { network: &'static str, reason: Reason, detail: String },
    /// The network could not say whether the token works; try again later.
    #[error("{network} could not confirm the token now ({detail}); try again later")]
    Unconfirmed { network: &'static str, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Asks the network whose token `tokens` is and registers the channel if it is the claimed
/// account's (see the module's rules). A spent access token with a refresh token is renewed
/// first, and the renewed tokens are the ones stored.
pub async fn register(
    store: &Store,
    providers: &Providers,
    new: &NewChannel,
    tokens: TokenSet,
    verification: Verification,
    now: DateTime<Utc>,
) -> Result<Registered, RegisterError> {
    let network = new.provider.label();
    let (tokens, verdict) = probe(providers, new, tokens, now).await;
    if let Some(named) = verdict.named_other_account(new.external_account_id.as_str()) {
        return Err(RegisterError::OtherAccount {
            network,
            claimed: new.external_account_id.to_string(),
            named: named.to_owned(),
        });
    }
    let unverified = match &verdict {
        Verdict::Valid(_) => None,
        Verdict::Dead(_) | Verdict::Permission(_) | Verdict::Account(_) => {
            let reason = verdict.reason().unwrap_or(Reason::Other("rejected".into()));
            if verification == Verification::Required {
                return Err(RegisterError::Rejected { network, reason, detail: describe(&verdict) });
            }
            Some((Some(reason), describe(&verdict)))
        }
        Verdict::Transient { .. } | Verdict::Unknown(_) | Verdict::Operator(_) => {
            if verification == Verification::Required {
                return Err(RegisterError::Unconfirmed { network, detail: describe(&verdict) });
            }
            Some((None, describe(&verdict)))
        }
    };
    let mut channel = store.add_channel(new, &tokens, now).await?;
    let unverified = match unverified {
        None => None,
        Some((reason, detail)) => {
            if let Some(reason) = reason {
                let health = Health::NeedsReauth(reason);
                let note = format!("registered unverified: {detail}");
                store.set_health(channel.id, &health, Some(&note), now).await?;
                channel.health = health;
            }
            Some(detail)
        }
    };
    Ok(Registered { channel, unverified })
}

/// The network's verdict on a token not yet stored, renewing a spent access token once.
async fn probe(providers: &Providers, new: &NewChannel, tokens: TokenSet, now: DateTime<Utc>) -> (TokenSet, Verdict) {
    let adapter = providers.adapter(new.provider);
    let ctx = providers.ctx(new.provider, now);
    let channel = provisional(new, &tokens, now);
    let verdict = adapter.validate(ctx, &channel, &tokens).await;
    if !verdict.wants_renewal(now) {
        return (tokens, verdict);
    }
    match adapter.renew(ctx, &channel, &tokens).await {
        Renewed::Tokens(mut renewed) => {
            renewed.keep_from(&tokens);
            let verdict = match adapter.validate(ctx, &channel, &renewed).await {
                verdict if verdict.wants_renewal(now) => {
                    Verdict::Unknown("the network refused a token it had just renewed".into())
                }
                verdict => verdict,
            };
            (renewed, verdict)
        }
        Renewed::Refused(verdict) => (tokens, verdict),
        Renewed::NotYet(_) => {
            let verdict = adapter.validate(ctx, &channel, &tokens).await;
            (tokens, verdict)
        }
        Renewed::Uncertain(detail) => (tokens, Verdict::transient(format!("the refresh answer was lost ({detail})"))),
    }
}

/// The channel as it would be stored, for the adapters' probes (which read its account, expiry
/// and activity); its id is 0 and never written.
fn provisional(new: &NewChannel, tokens: &TokenSet, now: DateTime<Utc>) -> Channel {
    Channel {
        id: ChannelId(0),
        team_id: new.team_id,
        provider: new.provider,
        external_account_id: new.external_account_id.clone(),
        display_name: new.display_name.clone(),
        authorized_by: new.authorized_by,
        token_expires_at: tokens.expires_at,
        scopes: tokens.scopes.clone(),
        last_activity_at: None,
        health: Health::Unknown,
        next_check_at: now,
        last_checked_at: None,
        created_at: now,
    }
}
