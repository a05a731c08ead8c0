//! Faults: failures and delays set on the whole simulator, a network or one account, and the
//! [`Gate`] each request gathers from every scope that applies.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use relink_core::Provider;

use super::{N, SimError, Simulator};
use crate::account::lock;
use crate::switch::{Fail, Faults, Scope};
use crate::token::provider_index;

/// Faults of wider scope than an account. `active` lets the hot path skip both locks.
#[derive(Debug, Default)]
pub(crate) struct FaultBoard {
    pub active: AtomicBool,
    pub global: Mutex<Option<Faults>>,
    pub providers: [Mutex<Option<Faults>>; N],
}

/// The failure and delay one request carries, gathered from every scope that applies.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gate {
    pub fail: Option<Fail>,
    pub latency_ms: u64,
}

impl Gate {
    pub fn add(&mut self, faults: &mut Faults) {
        self.latency_ms = self.latency_ms.saturating_add(faults.latency_ms);
        if self.fail.is_none() {
            self.fail = faults.roll();
        }
    }
}

impl Simulator {
    /// Replaces the faults of a scope (`Faults::default()` clears them).
    pub fn set_faults(&self, scope: Scope<'_>, faults: Faults) -> Result<(), SimError> {
        self.update_faults(scope, |current| *current = faults)
    }

    /// The faults set on a scope.
    pub fn faults(&self, scope: Scope<'_>) -> Result<Faults, SimError> {
        let mut seen = Faults::default();
        self.update_faults(scope, |current| seen = current.clone())?;
        Ok(seen)
    }

    /// Every request in the scope fails this way until cleared.
    pub fn fail(&self, scope: Scope<'_>, fail: Fail) -> Result<(), SimError> {
        self.update_faults(scope, |faults| {
            faults.fail = Some(fail);
            faults.times = None;
        })
    }

    /// The next `times` requests in the scope fail this way.
    pub fn fail_times(&self, scope: Scope<'_>, fail: Fail, times: u32) -> Result<(), SimError> {
        self.update_faults(scope, |faults| {
            faults.fail = Some(fail);
            faults.times = Some(times);
        })
    }

    /// A share (0–1) of the requests in the scope fail with a random 5xx, 429 or timeout.
    pub fn fault_rate(&self, scope: Scope<'_>, rate: f64) -> Result<(), SimError> {
        self.update_faults(scope, |faults| faults.rate = rate.clamp(0.0, 1.0))
    }

    /// Every answer in the scope is delayed this much.
    pub fn latency(&self, scope: Scope<'_>, latency: Duration) -> Result<(), SimError> {
        self.update_faults(scope, |faults| faults.latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn clear_faults(&self, scope: Scope<'_>) -> Result<(), SimError> {
        self.set_faults(scope, Faults::default())
    }

    /// How long a `Timeout` holds a request from now on.
    pub fn set_timeout_hold(&self, hold: Duration) {
        self.inner.timeout_hold_ms.store(u64::try_from(hold.as_millis()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub(crate) fn timeout_hold(&self) -> Duration {
        Duration::from_millis(self.inner.timeout_hold_ms.load(Ordering::Relaxed))
    }

    /// The usage percentage Graph answers report in `X-App-Usage` (Facebook's early warning).
    pub fn set_app_usage(&self, provider: Provider, percent: u8) {
        self.inner.app_usage[provider_index(provider)].store(percent.min(100), Ordering::Relaxed);
    }

    pub(crate) fn app_usage(&self, provider: Provider) -> u8 {
        self.inner.app_usage[provider_index(provider)].load(Ordering::Relaxed)
    }

    fn update_faults(&self, scope: Scope<'_>, change: impl FnOnce(&mut Faults)) -> Result<(), SimError> {
        let board = &self.inner.faults;
        let apply = |slot: &mut Option<Faults>| {
            let mut faults = slot.take().unwrap_or_default();
            change(&mut faults);
            *slot = (!faults.is_none()).then_some(faults);
        };
        match scope {
            Scope::All => apply(&mut lock(&board.global)),
            Scope::Provider(provider) => apply(&mut lock(&board.providers[provider_index(provider)])),
            Scope::Account(provider, account) => {
                let index = self.index_of(provider, account)?;
                self.with_state(provider, index, |state| {
                    let mut faults = state.faults.take().map(|f| *f);
                    apply(&mut faults);
                    state.faults = faults.map(Box::new);
                });
            }
        }
        let active = lock(&board.global).is_some() || board.providers.iter().any(|p| lock(p).is_some());
        board.active.store(active, Ordering::Release);
        Ok(())
    }

    /// The failure and delay the global and provider scopes give this request.
    pub(crate) fn gate(&self, provider: Provider) -> Gate {
        let mut gate = Gate::default();
        let board = &self.inner.faults;
        if !board.active.load(Ordering::Acquire) {
            return gate;
        }
        for slot in [&board.global, &board.providers[provider_index(provider)]] {
            let mut slot = lock(slot);
            if let Some(faults) = slot.as_mut() {
                gate.add(faults);
                if faults.is_none() {
                    *slot = None;
                }
            }
        }
        gate
    }
}
