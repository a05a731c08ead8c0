//! [`Simulator`]: the networks' memory and the programmatic API tests, benchmarks and the CLI
//! drive it with, with time from a [`relink_core::Clock`]. One module per noun:
//!
//! - `accounts`: adding and finding accounts, the tokens they hold ([`Issued`]), new grants.
//! - `bots`: Telegram bots ([`TelegramBot`]).
//! - `switches`: each way a token dies ([`crate::Switch`]) applied to an account.
//! - `faults`: failures and delays by scope, and the `Gate` a request gathers.
//! - `counters`: what was asked and answered ([`Counts`], [`Totals`], [`AccountReport`]).
//! - `codes`: authorization codes waiting for their one exchange.
//! - `google`: Google's Cross-Account Protection pushes.
//! - `hooks`: Meta's deauthorize and data deletion callbacks.
//! - `updates`: the updates Telegram bots receive (`getUpdates` or a webhook).
//! - `error`: [`SimError`].
//!
//! The HTTP side (`gateway`, `oauth`, `telegram`, `control`) sits above this module and the
//! token rules (`judge`) beside it; nothing here imports them.

mod accounts;
mod bots;
mod codes;
mod counters;
mod error;
mod faults;
mod google;
pub(crate) mod hooks;
mod switches;
pub(crate) mod updates;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use relink_core::Clock;
use relink_core::Provider;

use crate::account::{Directory, Table, read};
use crate::token::{Codec, provider_index};

pub use accounts::{AccountOptions, Bulk, Issued};
pub use bots::TelegramBot;
pub(crate) use codes::{ChallengeMethod, PendingCode};
pub(crate) use counters::Endpoint;
pub use counters::{AccountReport, Counts, Totals};
pub use error::SimError;
pub(crate) use faults::Gate;

use bots::Bot;
use counters::Counters;
use faults::FaultBoard;
use google::RiscBoard;
use hooks::Hooks;
use updates::Updates;

/// The app credentials the simulator accepts unless configured otherwise (CONTRACT.md).
pub const CLIENT_ID: &str = "relink-sim";
pub const CLIENT_SECRET: &str = "relink-sim-secret";

/// How many providers there are; tables are arrays indexed by `provider_index`.
pub(crate) const N: usize = 11;
const _: () = assert!(Provider::ALL.len() == N, "a new provider needs a table: raise N");

/// How the simulator is set up.
#[derive(Clone)]
pub struct SimConfig {
    pub client_id: String,
    pub client_secret: String,
    /// How long a `Timeout` fault holds a request before answering 504: longer than any client
    /// waits. Tests with a one-second client timeout can set it to two seconds.
    pub timeout_hold: Duration,
    /// How long an authorization code stays exchangeable.
    pub code_lifetime: Duration,
    /// A seed for the token key: the same seed issues the same tokens after a restart (the
    /// demo's database keeps working). `None`: a random key.
    pub token_seed: Option<u64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            timeout_hold: Duration::from_secs(30),
            code_lifetime: Duration::from_secs(600),
            token_seed: None,
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("timeout_hold", &self.timeout_hold)
            .field("code_lifetime", &self.code_lifetime)
            .field("token_seed", &self.token_seed.map(|_| "[set]"))
            .finish()
    }
}

/// The state every clone of a [`Simulator`] shares, each part owned by the module of its noun.
pub(crate) struct Inner {
    pub config: SimConfig,
    pub clock: Arc<dyn Clock>,
    pub codec: Codec,
    pub tables: [RwLock<Table>; N],
    pub directory: RwLock<Directory>,
    pub bots: RwLock<Vec<Bot>>,
    pub codes: Mutex<HashMap<String, PendingCode>>,
    serial: AtomicU64,
    pub faults: FaultBoard,
    pub counters: Counters,
    pub app_usage: [AtomicU8; N],
    pub timeout_hold_ms: AtomicU64,
    pub hooks: Mutex<Hooks>,
    pub updates: Updates,
    pub risc: RiscBoard,
}

/// The provider simulator. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct Simulator {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let accounts: Vec<(Provider, usize)> =
            Provider::ALL.iter().map(|p| (*p, read(&self.inner.tables[provider_index(*p)]).slots.len())).collect();
        f.debug_struct("Simulator").field("config", &self.inner.config).field("accounts", &accounts).finish()
    }
}

impl Simulator {
    /// A simulator with the default configuration, reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_config(SimConfig::default(), clock)
    }

    pub fn with_config(config: SimConfig, clock: Arc<dyn Clock>) -> Self {
        let codec = Codec::new(config.token_seed);
        let timeout_hold_ms = AtomicU64::new(u64::try_from(config.timeout_hold.as_millis()).unwrap_or(u64::MAX));
        Self {
            inner: Arc::new(Inner {
                config,
                clock,
                codec,
                tables: Default::default(),
                directory: RwLock::default(),
                bots: RwLock::default(),
                codes: Mutex::default(),
                serial: AtomicU64::new(1),
                faults: FaultBoard::default(),
                counters: Counters::default(),
                app_usage: Default::default(),
                timeout_hold_ms,
                hooks: Mutex::default(),
                updates: Updates::default(),
                risc: RiscBoard::default(),
            }),
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now().timestamp_millis()
    }

    pub(crate) fn next_serial(&self) -> u64 {
        self.inner.serial.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn table(&self, provider: Provider) -> &RwLock<Table> {
        &self.inner.tables[provider_index(provider)]
    }
}
