//! The ways a token dies and a network misbehaves, as values: [`Switch`] changes one account for
//! good (until [`Switch::Restore`] or a new authorization), [`Faults`] make requests fail or slow
//! down for one account, one provider or everything. The same types travel as JSON through the
//! control API (`POST /_sim/switch`, `POST /_sim/faults`).

use std::time::Duration;

use relink_core::Provider;
use serde::{Deserialize, Serialize};

/// A lasting change to one account, as the network would make it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "switch", rename_all = "snake_case")]
pub enum Switch {
    /// Every access token issued so far expires now; refresh tokens live on.
    ExpireNow,
    /// The person removed the app: every token of this account's grant dies. On Facebook and
    /// Instagram via Facebook (one Meta app) every grant of the account's user dies on both, and
    /// Meta's deauthorize callback is sent when `hooks.facebook_deauthorize` is set.
    RevokeApp,
    /// The account's user changed their password: every grant that user authorised dies, on
    /// every provider (the seeds' "all channels managed through that profile at once").
    ChangePassword,
    /// The authorising person lost the admin role (Telegram: the bot is demoted to member).
    DropAdmin,
    /// Telegram: the bot stays admin but may no longer post. Elsewhere the same as `DropAdmin`.
    DropPostRight,
    /// The person must pass a security checkpoint (Graph 190/459, X user-suspended, Google
    /// `youtubeSignupRequired`). Not modelled for LinkedIn, Pinterest and Telegram.
    Checkpoint,
    /// Telegram: the bot was removed from the channel.
    KickBot,
    /// Telegram: the chat no longer exists.
    DeleteChat,
    /// Telegram: the group became a supergroup with a new id.
    MigrateChat { to: i64 },
    /// relink's app is at fault for this account (Graph code 3, X client-forbidden, a refresh
    /// answered `invalid_client`, Telegram 401).
    Operator,
    /// The person cancels on the authorization page (`error=access_denied`).
    CancelAuthorize,
    /// Clears every switch above that a new authorization would not clear (roles, checkpoint,
    /// chat state, operator, cancel) and the account's faults. Revocations stay: reconnect.
    Restore,
}

/// How a request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fail {
    /// A 5xx answer in the provider's shape.
    ServerError {
        #[serde(default = "default_status")]
        status: u16,
    },
    /// Rate limited, with the wait the provider asks for (`Retry-After`, `x-rate-limit-reset`,
    /// `parameters.retry_after`; Graph: code 4 as HTTP 400).
    RateLimited {
        #[serde(default = "default_wait")]
        retry_after: u32,
    },
    /// The request is held for the simulator's `timeout_hold` (longer than any client waits),
    /// then answered 504.
    Timeout,
    /// A 503 in the provider's shape with `Retry-After: <retry_after>`, however long: a network
    /// (or something posing as one) asking relink to go away for good.
    Unavailable { retry_after: u64 },
}

fn default_status() -> u16 {
    503
}

fn default_wait() -> u32 {
    30
}

/// The relative weights of the failures a random fault picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mix {
    pub server_error: u32,
    pub rate_limited: u32,
    pub timeout: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Self { server_error: 1, rate_limited: 1, timeout: 1 }
    }
}

/// Failures and slowness applied to requests in a [`Scope`]. The default is "none".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Every request fails this way…
    pub fail: Option<Fail>,
    /// …for this many requests, then `fail` clears itself; `None`: until cleared.
    pub times: Option<u32>,
    /// Added before every answer.
    pub latency_ms: u64,
    /// The probability (0–1) that a request fails with a random transient failure from `mix`.
    pub rate: f64,
    pub mix: Mix,
}

impl Faults {
    pub fn fail(fail: Fail) -> Self {
        Self { fail: Some(fail), ..Self::default() }
    }

    /// Fails the next `times` requests, then answers normally again.
    pub fn fail_times(fail: Fail, times: u32) -> Self {
        Self { fail: Some(fail), times: Some(times), ..Self::default() }
    }

    pub fn rate(rate: f64) -> Self {
        Self { rate: rate.clamp(0.0, 1.0), ..Self::default() }
    }

    pub fn latency(latency: Duration) -> Self {
        Self { latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX), ..Self::default() }
    }

    pub fn is_none(&self) -> bool {
        self.fail.is_none() && self.latency_ms == 0 && self.rate <= 0.0
    }

    /// Decides whether this request fails. Consumes one of `times`.
    pub(crate) fn roll(&mut self) -> Option<Fail> {
        if let Some(fail) = self.fail {
            match self.times {
                None => return Some(fail),
                Some(left) => {
                    let left = left.saturating_sub(1);
                    self.times = Some(left);
                    if left == 0 {
                        self.fail = None;
                        self.times = None;
                    }
                    return Some(fail);
                }
            }
        }
        if self.rate > 0.0 && rand::random::<f64>() < self.rate {
            return Some(self.mix.pick());
        }
        None
    }
}

impl Mix {
    fn pick(&self) -> Fail {
        let total = self.server_error + self.rate_limited + self.timeout;
        if total == 0 {
            return Fail::ServerError { status: 503 };
        }
        let roll = rand::random_range(0..total);
        if roll < self.server_error {
            // Real outages answer a mix of statuses; the classifier must treat them alike.
            const STATUSES: [u16; 3] = [500, 502, 503];
            Fail::ServerError { status: STATUSES[rand::random_range(0..STATUSES.len())] }
        } else if roll < self.server_error + self.rate_limited {
            Fail::RateLimited { retry_after: rand::random_range(1..=60) }
        } else {
            Fail::Timeout
        }
    }
}

/// Where faults apply: every request, one provider's, or one account's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    All,
    Provider(Provider),
    Account(Provider, &'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counted_failure_clears_itself_after_its_last_use() {
        let mut faults = Faults::fail_times(Fail::Timeout, 2);
        assert_eq!(faults.roll(), Some(Fail::Timeout));
        assert_eq!(faults.roll(), Some(Fail::Timeout));
        assert_eq!(faults.roll(), None);
        assert!(faults.is_none());
    }

    #[test]
    fn switches_and_faults_read_as_the_control_api_writes_them() {
        let switch: Switch = serde_json::from_str(r#"{"switch":"migrate_chat","to":-1002}"#).unwrap();
        assert_eq!(switch, Switch::MigrateChat { to: -1002 });
        let faults: Faults = serde_json::from_str(r#"{"fail":{"kind":"rate_limited"},"times":1}"#).unwrap();
        assert_eq!(faults.fail, Some(Fail::RateLimited { retry_after: 30 }));
        let faults: Faults = serde_json::from_str(r#"{"rate":0.3,"mix":{"timeout":0}}"#).unwrap();
        assert_eq!(faults.mix, Mix { server_error: 1, rate_limited: 1, timeout: 0 });
    }
}
