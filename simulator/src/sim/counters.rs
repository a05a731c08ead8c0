//! Observation: requests counted by network, account and endpoint kind, injected failures by
//! kind, everything the simulator knows about one account ([`AccountReport`]), and, when asked,
//! when each probe and refresh arrived in real time ([`Simulator::arrivals`],
//! [`Simulator::busiest_second`], [`Simulator::busiest_within`]).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use relink_core::Provider;
use serde::{Deserialize, Serialize};

use super::{Issued, N, SimError, Simulator};
use crate::account::{Chat, Revocation, Role};
use crate::rules::inactive;
use crate::switch::{Fail, Faults};
use crate::token::provider_index;

/// Requests by endpoint kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub probe: u64,
    pub refresh: u64,
    pub token_exchange: u64,
    pub authorize: u64,
}

/// Everything the simulator answered since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub probe: u64,
    pub refresh: u64,
    pub token_exchange: u64,
    pub authorize: u64,
    pub ping: u64,
    /// Failures injected by faults, by kind.
    pub server_errors: u64,
    pub rate_limited: u64,
    pub timeouts: u64,
    pub by_provider: BTreeMap<Provider, Counts>,
}

/// One account as the network sees it (the control API's `GET /_sim/account`).
#[derive(Debug, Clone, Serialize)]
pub struct AccountReport {
    pub provider: Provider,
    pub account: String,
    pub user: String,
    pub index: u32,
    pub grant: u32,
    pub grant_revoked: bool,
    pub revocation: Option<Revocation>,
    pub inactive: bool,
    pub role: Role,
    pub checkpoint: bool,
    pub chat: Option<Chat>,
    pub operator: bool,
    pub cancel_authorize: bool,
    pub faults: Option<Faults>,
    pub counts: Counts,
    pub tokens: Issued,
}

/// The endpoint kinds counted per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Probe = 0,
    Refresh = 1,
    TokenExchange = 2,
    Authorize = 3,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub by_provider: [[AtomicU64; 4]; N],
    pub ping: AtomicU64,
    pub faults: [AtomicU64; 3],
    /// Whether arrivals are recorded (off unless a test asks: benches send millions).
    pub recording: AtomicBool,
    /// Probes and refreshes as they arrived: the network's index and the real instant.
    pub arrivals: Mutex<Vec<(usize, Instant)>>,
}

impl Simulator {
    pub(crate) fn count(&self, provider: Provider, endpoint: Endpoint) {
        let counters = &self.inner.counters;
        counters.by_provider[provider_index(provider)][endpoint as usize].fetch_add(1, Ordering::Relaxed);
        if matches!(endpoint, Endpoint::Probe | Endpoint::Refresh) && counters.recording.load(Ordering::Relaxed) {
            let mut arrivals = counters.arrivals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            arrivals.push((provider_index(provider), Instant::now()));
        }
    }

    /// From now on, records when each probe and refresh arrives, for [`Simulator::busiest_second`].
    pub fn record_arrivals(&self) {
        self.inner.counters.recording.store(true, Ordering::Relaxed);
    }

    /// When each probe and refresh of `provider` arrived (real time) since
    /// [`Simulator::record_arrivals`], earliest first.
    pub fn arrivals(&self, provider: Provider) -> Vec<Instant> {
        let index = provider_index(provider);
        let arrivals = self.inner.counters.arrivals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut times: Vec<Instant> = arrivals.iter().filter(|(i, _)| *i == index).map(|(_, at)| *at).collect();
        times.sort();
        times
    }

    /// The most probes and refreshes of `provider` that arrived within any one second (real
    /// time) since [`Simulator::record_arrivals`]: what a network's rate limit counts.
    pub fn busiest_second(&self, provider: Provider) -> usize {
        self.busiest_within(provider, Duration::from_secs(1))
    }

    /// The most probes and refreshes of `provider` that arrived within any one `window` (real
    /// time) since [`Simulator::record_arrivals`].
    pub fn busiest_within(&self, provider: Provider, window: Duration) -> usize {
        let times = self.arrivals(provider);
        let mut busiest = 0;
        let mut first = 0;
        for (last, at) in times.iter().enumerate() {
            while at.duration_since(times[first]) >= window {
                first += 1;
            }
            busiest = busiest.max(last + 1 - first);
        }
        busiest
    }

    pub(crate) fn count_fault(&self, fail: Fail) {
        let kind = match fail {
            Fail::ServerError { .. } | Fail::Unavailable { .. } => 0,
            Fail::RateLimited { .. } => 1,
            Fail::Timeout => 2,
        };
        self.inner.counters.faults[kind].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_ping(&self) {
        self.inner.counters.ping.fetch_add(1, Ordering::Relaxed);
    }

    /// The requests one account received, by endpoint kind.
    pub fn counts(&self, provider: Provider, account: &str) -> Result<Counts, SimError> {
        let index = self.index_of(provider, account)?;
        self.peek(provider, index, |state, slot| Counts {
            probe: u64::from(slot.probes.load(Ordering::Relaxed)),
            refresh: u64::from(slot.refreshes.load(Ordering::Relaxed)),
            token_exchange: u64::from(state.exchanges),
            authorize: u64::from(state.authorizes),
        })
        .ok_or_else(|| SimError::UnknownAccount { provider, account: account.to_owned() })
    }

    /// Whether the account's grant is gone for good (revoked, or lapsed for inactivity): only a
    /// new authorization brings it back. `false` for an unknown account.
    pub fn grant_revoked(&self, provider: Provider, account: &str) -> bool {
        let now_ms = self.now_ms();
        self.find(provider, account)
            .and_then(|index| {
                self.peek(provider, index, |state, _| state.revoked.is_some() || inactive(provider, state, now_ms))
            })
            .unwrap_or(false)
    }

    /// Why the account's grant was revoked, if it was.
    pub fn revocation(&self, provider: Provider, account: &str) -> Option<Revocation> {
        let index = self.find(provider, account)?;
        self.peek(provider, index, |state, _| state.revoked).flatten()
    }

    /// Everything answered since the start.
    pub fn totals(&self) -> Totals {
        let counters = &self.inner.counters;
        let mut totals = Totals {
            ping: counters.ping.load(Ordering::Relaxed),
            server_errors: counters.faults[0].load(Ordering::Relaxed),
            rate_limited: counters.faults[1].load(Ordering::Relaxed),
            timeouts: counters.faults[2].load(Ordering::Relaxed),
            ..Totals::default()
        };
        for provider in Provider::ALL {
            let row = &counters.by_provider[provider_index(*provider)];
            let load = |endpoint: Endpoint| row[endpoint as usize].load(Ordering::Relaxed);
            let counts = Counts {
                probe: load(Endpoint::Probe),
                refresh: load(Endpoint::Refresh),
                token_exchange: load(Endpoint::TokenExchange),
                authorize: load(Endpoint::Authorize),
            };
            totals.probe += counts.probe;
            totals.refresh += counts.refresh;
            totals.token_exchange += counts.token_exchange;
            totals.authorize += counts.authorize;
            if counts != Counts::default() {
                totals.by_provider.insert(*provider, counts);
            }
        }
        totals
    }

    /// Everything the simulator knows about one account.
    pub fn report(&self, provider: Provider, account: &str) -> Result<AccountReport, SimError> {
        let index = self.index_of(provider, account)?;
        let bot = self.bot_token_for(provider);
        let now_ms = self.now_ms();
        self.peek(provider, index, |state, slot| {
            let tokens = self.issue(provider, index, state, bot.as_deref());
            AccountReport {
                provider,
                account: tokens.account.clone(),
                user: tokens.user.clone(),
                index,
                grant: state.grant,
                grant_revoked: state.revoked.is_some() || inactive(provider, state, now_ms),
                revocation: state.revoked,
                inactive: inactive(provider, state, now_ms),
                role: state.role,
                checkpoint: state.checkpoint,
                chat: (provider == Provider::Telegram).then_some(state.chat),
                operator: state.operator,
                cancel_authorize: state.cancel_authorize,
                faults: state.faults.as_deref().cloned(),
                counts: Counts {
                    probe: u64::from(slot.probes.load(Ordering::Relaxed)),
                    refresh: u64::from(slot.refreshes.load(Ordering::Relaxed)),
                    token_exchange: u64::from(state.exchanges),
                    authorize: u64::from(state.authorizes),
                },
                tokens,
            }
        })
        .ok_or_else(|| SimError::UnknownAccount { provider, account: account.to_owned() })
    }
}
