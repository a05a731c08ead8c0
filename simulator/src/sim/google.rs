//! Google's Cross-Account Protection as the simulator plays it: where security events are
//! pushed, the published key set going down, and the events a switch on a Google account sends.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use relink_core::Provider;
use url::Url;

use super::Simulator;
use crate::account::{AccountName, lock};
use crate::risc::{self, EventType, SecurityEvent, TestKey};

/// Google's Cross-Account Protection: where security events go and how they fared.
#[derive(Debug, Default)]
pub(crate) struct RiscBoard {
    /// When set, the key set answers 503 (Google's certificates unreachable).
    pub certs_down: AtomicBool,
    pub sent: AtomicU64,
    /// Pushes the receiver answered 2xx.
    pub accepted: AtomicU64,
}

impl Simulator {
    /// Where Google's security events are pushed from now on (`None`: nowhere).
    pub fn set_google_risc_hook(&self, url: Option<Url>) {
        lock(&self.inner.hooks).google_risc = url;
    }

    pub fn google_risc_hook(&self) -> Option<Url> {
        lock(&self.inner.hooks).google_risc.clone()
    }

    /// Makes the published key set unreachable (503) or reachable again.
    pub fn set_google_certs_down(&self, down: bool) {
        self.inner.risc.certs_down.store(down, Ordering::Relaxed);
    }

    pub(crate) fn google_certs_down(&self) -> bool {
        self.inner.risc.certs_down.load(Ordering::Relaxed)
    }

    /// Security events pushed so far, and how many of them the receiver accepted (2xx).
    pub fn google_risc_pushes(&self) -> (u64, u64) {
        let risc = &self.inner.risc;
        (risc.sent.load(Ordering::Relaxed), risc.accepted.load(Ordering::Relaxed))
    }

    /// A signed Security Event Token about one Google account, as Google would send it to
    /// relink now: audience relink's client id here, issued at the simulator's clock.
    pub fn google_security_event(&self, event: EventType, sub: &str) -> Option<String> {
        SecurityEvent::new(event, sub, &self.inner.config.client_id, self.now()).sign(TestKey::Served)
    }

    /// Pushes `event` about a YouTube or Business Profile account to the configured receiver;
    /// nothing for other networks or when no receiver is configured. Google's `sub` for the
    /// account is its id here (the `sub` tokeninfo answers).
    pub(super) fn tell_google(&self, provider: Provider, index: u32, event: EventType) {
        if !matches!(provider, Provider::Youtube | Provider::GoogleBusiness) {
            return;
        }
        let Some(url) = self.google_risc_hook() else { return };
        let Some(sub) =
            self.peek(provider, index, |state, _| AccountName::of(provider, index, Some(state)).to_string())
        else {
            return;
        };
        let Some(set) = self.google_security_event(event, &sub) else {
            tracing::warn!("simulator: cannot sign a security event");
            return;
        };
        self.inner.risc.sent.fetch_add(1, Ordering::Relaxed);
        let sim = self.clone();
        tracing::debug!(%provider, sub, event = event.name(), "simulator: pushing a security event");
        risc::push(url, set, move |status| {
            if status.is_some_and(|s| (200..300).contains(&s)) {
                sim.inner.risc.accepted.fetch_add(1, Ordering::Relaxed);
            } else {
                tracing::warn!(?status, "simulator: the security event receiver did not accept a push");
            }
        });
    }
}
