//! Authorization codes `/{provider}/authorize` handed out, each waiting for its one exchange at
//! `/{provider}/token`, with what it was bound to (client, redirect URI, PKCE challenge, scopes).
//! The OAuth endpoints (`oauth`) make and check them; the simulator only keeps them.

use std::sync::Arc;

use relink_core::Provider;

use super::Simulator;
use crate::account::lock;

/// At most this many codes are kept before the expired ones are dropped.
const KEPT_CODES: usize = 10_000;

/// How a PKCE challenge was made (RFC 7636 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChallengeMethod {
    S256,
    Plain,
}

/// A code handed out by `authorize`, waiting for its one exchange.
#[derive(Debug)]
pub(crate) struct PendingCode {
    pub provider: Provider,
    pub index: u32,
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<(String, ChallengeMethod)>,
    pub scopes: Option<Arc<[String]>>,
    pub expires_ms: i64,
}

impl Simulator {
    /// Keeps `pending` under `code`, dropping expired codes first when there are many.
    pub(crate) fn keep_code(&self, code: String, pending: PendingCode, now_ms: i64) {
        let mut codes = lock(&self.inner.codes);
        if codes.len() > KEPT_CODES {
            codes.retain(|_, pending| pending.expires_ms > now_ms);
        }
        codes.insert(code, pending);
    }

    /// Takes the code out: a presented code is spent whatever happens next.
    pub(crate) fn take_code(&self, code: &str) -> Option<PendingCode> {
        lock(&self.inner.codes).remove(code)
    }
}
