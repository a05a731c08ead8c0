//! [`Simulator`]: the networks' memory (accounts, grants, switches, faults, counters) and the
//! programmatic API tests, benchmarks and the CLI drive it with. The HTTP side lives in
//! `gateway`, `oauth`, `telegram` and `control`; the token rules in `judge`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use relink_core::Clock;
use relink_core::Provider;
use relink_core::provider::{Policy, Providers, Renewal};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::account::{
    AccountName, Batch, Chat, Directory, MAX_ACCOUNTS, Revocation, Role, Slot, State, Table, bulk_index, lock, read,
    write,
};
use crate::oauth::PendingCode;
use crate::risc::{self, EventType, SecurityEvent, TestKey};
use crate::switch::{Fail, Faults, Scope, Switch};
use crate::token::{Codec, Fields, Kind, provider_index};

/// The app credentials the simulator accepts unless configured otherwise (CONTRACT.md).
pub const CLIENT_ID: &str = "relink-sim";
pub const CLIENT_SECRET: &str = "relink-sim-secret";

/// How many providers there are; tables are arrays indexed by `provider_index`.
pub(crate) const N: usize = 11;
const _: () = assert!(Provider::ALL.len() == N, "a new provider needs a table: raise N");

const DAY_MS: i64 = 86_400_000;
/// Google refresh tokens die after six months without use.
pub(crate) const GOOGLE_UNUSED_MS: i64 = 180 * DAY_MS;
/// LinkedIn refresh tokens live 365 days from the first grant, not extended by refreshing.
pub(crate) const LINKEDIN_REFRESH_MS: i64 = 365 * DAY_MS;
/// Pinterest refresh tokens live 365 days from their issue; continuous refresh issues a new one
/// with each renewal. Both networks say when in `refresh_token_expires_in`.
pub(crate) const PINTEREST_REFRESH_MS: i64 = 365 * DAY_MS;

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

/// Choices for one named account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountOptions {
    /// The person who authorised the account. One password change kills every account of a
    /// user, on every provider. `None`: the account is its own user.
    pub user: Option<String>,
    /// The granted scopes. `None`: the policy's.
    pub scopes: Option<Vec<String>>,
    /// Whether a refresh token is issued. `None`: when the network's renewal uses one (turn it
    /// off for a LinkedIn app that is not a refresh-token partner).
    pub refresh_token: Option<bool>,
}

impl AccountOptions {
    pub fn user(user: impl Into<String>) -> Self {
        Self { user: Some(user.into()), ..Self::default() }
    }

    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    pub fn without_refresh_token(mut self) -> Self {
        self.refresh_token = Some(false);
        self
    }
}

/// The tokens an account holds now, as relink would store them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issued {
    pub provider: Provider,
    pub account: String,
    pub user: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// `None`: no time expiry (Facebook Page tokens, Telegram bot tokens).
    pub expires_at: Option<DateTime<Utc>>,
    /// When the refresh token itself ends, where the network says (LinkedIn).
    pub refresh_expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
}

/// A run of accounts made by [`Simulator::add_accounts_bulk`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bulk {
    pub provider: Provider,
    /// The index of the first account; the others follow without gaps.
    pub first_index: u32,
    pub count: u32,
    pub first_account: String,
}

impl Bulk {
    /// The id of the `n`th account of the run (0-based).
    pub fn account_id(&self, n: u32) -> String {
        AccountName::Bulk(self.provider, self.first_index + n).to_string()
    }

    pub fn indexes(&self) -> std::ops::Range<u32> {
        self.first_index..self.first_index + self.count
    }
}

/// A Telegram bot: its id and token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramBot {
    pub id: u64,
    pub token: String,
}

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

/// What went wrong with a programmatic or control request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    UnknownAccount {
        provider: Provider,
        account: String,
    },
    UnknownUser(String),
    UnknownBot(u64),
    Duplicate {
        provider: Provider,
        account: String,
    },
    /// The switch or option does not exist on this network.
    NotApplicable {
        provider: Provider,
        what: String,
    },
    BadInput(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::UnknownAccount { provider, account } => write!(f, "no {provider} account `{account}`"),
            SimError::UnknownUser(user) => write!(f, "no user `{user}`"),
            SimError::UnknownBot(id) => write!(f, "no Telegram bot {id}"),
            SimError::Duplicate { provider, account } => write!(f, "the {provider} account `{account}` exists"),
            SimError::NotApplicable { provider, what } => write!(f, "{what} is not modelled for {provider}"),
            SimError::BadInput(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for SimError {}

/// The endpoint kinds counted per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Probe = 0,
    Refresh = 1,
    TokenExchange = 2,
    Authorize = 3,
}

#[derive(Debug)]
pub(crate) struct Bot {
    pub id: u64,
    pub token: String,
    pub revoked: bool,
}

/// Faults of wider scope than an account. `active` lets the hot path skip both locks.
#[derive(Debug, Default)]
pub(crate) struct FaultBoard {
    pub active: AtomicBool,
    pub global: Mutex<Option<Faults>>,
    pub providers: [Mutex<Option<Faults>>; N],
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub by_provider: [[AtomicU64; 4]; N],
    pub ping: AtomicU64,
    pub faults: [AtomicU64; 3],
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
    pub hooks: Mutex<crate::hooks::Hooks>,
    pub updates: crate::updates::Updates,
    pub risc: RiscBoard,
}

/// Google's Cross-Account Protection: where security events go and how they fared.
#[derive(Debug, Default)]
pub(crate) struct RiscBoard {
    /// When set, the key set answers 503 (Google's certificates unreachable).
    pub certs_down: AtomicBool,
    pub sent: AtomicU64,
    /// Pushes the receiver answered 2xx.
    pub accepted: AtomicU64,
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

/// The network's token facts, read from relink's policies.
pub(crate) fn policy(provider: Provider) -> &'static Policy {
    static PROVIDERS: OnceLock<Providers> = OnceLock::new();
    PROVIDERS.get_or_init(|| Providers::new(HashMap::new())).policy(provider)
}

/// How long an access token lives, in milliseconds. Facebook and Instagram-via-Facebook tokens
/// are Page tokens, which have no time expiry (`expires_at: 0`); Telegram's bot token neither.
pub(crate) fn access_lifetime_ms(provider: Provider) -> Option<i64> {
    match provider {
        Provider::Facebook | Provider::InstagramBusiness | Provider::Telegram => None,
        _ => policy(provider).access_lifetime.map(duration_ms),
    }
}

pub(crate) fn issues_refresh_tokens(provider: Provider) -> bool {
    matches!(policy(provider).renewal, Renewal::RefreshToken | Renewal::RotatingRefreshToken)
}

pub(crate) fn rotates_refresh_tokens(provider: Provider) -> bool {
    policy(provider).renewal == Renewal::RotatingRefreshToken
}

pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn ms_to_time(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// Whether a Pinterest-style grant lapsed for want of publishing activity.
pub(crate) fn inactive(provider: Provider, state: &State, now_ms: i64) -> bool {
    policy(provider)
        .inactivity
        .is_some_and(|limit| state.last_activity_ms.max(state.grant_ms).saturating_add(duration_ms(limit)) <= now_ms)
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
                updates: crate::updates::Updates::default(),
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

    // ----- accounts -----

    /// Adds an account (Telegram: a chat id, where every bot is an admin that may post) and
    /// returns the tokens it was granted now.
    pub fn add_account(&self, provider: Provider, account: &str, options: AccountOptions) -> Result<Issued, SimError> {
        let account = account.trim();
        if account.is_empty() || account.len() > 200 || account.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(SimError::BadInput(format!("`{account}` is not an account id (1–200 characters, no spaces)")));
        }
        if bulk_index(provider, account).is_some() {
            return Err(SimError::BadInput(format!("`{account}` is in the range of bulk account ids")));
        }
        if provider == Provider::Telegram {
            if account.parse::<i64>().is_err() {
                return Err(SimError::BadInput(format!("a Telegram chat id is a number, not `{account}`")));
            }
            if options.user.is_some() {
                return Err(SimError::NotApplicable { provider, what: "a user".to_owned() });
            }
            self.telegram_bot();
        }
        let has_refresh = issues_refresh_tokens(provider) && options.refresh_token.unwrap_or(true);
        let now_ms = self.now_ms();
        let name: Arc<str> = Arc::from(account);
        let user = options.user.as_deref().map(Arc::<str>::from);
        let mut state = State::fresh(now_ms, has_refresh);
        state.name = Some(name.clone());
        state.user = user.clone();
        state.scopes = options.scopes.map(Arc::from);

        let mut directory = write(&self.inner.directory);
        let names = directory.by_name.entry(provider).or_default();
        if names.contains_key(account) {
            return Err(SimError::Duplicate { provider, account: account.to_owned() });
        }
        let index = {
            let mut table = write(self.table(provider));
            let index = u32::try_from(table.slots.len()).unwrap_or(u32::MAX);
            if index >= MAX_ACCOUNTS {
                return Err(SimError::BadInput(format!("{provider} holds the most accounts it can")));
            }
            table.slots.push(Slot { state: Mutex::new(Some(Box::new(state))), ..Slot::default() });
            index
        };
        names.insert(name, index);
        directory.named.entry(provider).or_default().push(index);
        if let Some(user) = user {
            directory.users.entry(user).or_default().push((provider, index));
        }
        drop(directory);
        self.tokens_at(provider, index).ok_or_else(|| SimError::BadInput("the account vanished".to_owned()))
    }

    /// Adds `count` accounts at once, cheaply: 24 bytes each and no strings. Their ids are
    /// [`Bulk::account_id`], their tokens [`Simulator::tokens_at`] (or `GET /_sim/accounts`).
    pub fn add_accounts_bulk(&self, provider: Provider, count: u32) -> Result<Bulk, SimError> {
        if provider == Provider::Telegram {
            self.telegram_bot();
        }
        let created_ms = self.now_ms();
        let mut table = write(self.table(provider));
        let first = u32::try_from(table.slots.len()).unwrap_or(u32::MAX);
        if first.checked_add(count).is_none_or(|end| end > MAX_ACCOUNTS) {
            return Err(SimError::BadInput(format!("{provider} can hold at most {MAX_ACCOUNTS} accounts")));
        }
        let count_usize = usize::try_from(count).unwrap_or(usize::MAX);
        table.slots.reserve_exact(count_usize);
        table.slots.extend((0..count).map(|_| Slot::default()));
        if count > 0 {
            table.batches.push(Batch { first, created_ms });
        }
        drop(table);
        Ok(Bulk { provider, first_index: first, count, first_account: AccountName::Bulk(provider, first).to_string() })
    }

    /// How many accounts a provider holds (their indexes are `0..count`).
    pub fn account_count(&self, provider: Provider) -> u32 {
        u32::try_from(read(self.table(provider)).slots.len()).unwrap_or(u32::MAX)
    }

    /// The index of an account: where it sits in [`Simulator::tokens_at`] order.
    pub fn index_of(&self, provider: Provider, account: &str) -> Result<u32, SimError> {
        self.find(provider, account).ok_or_else(|| SimError::UnknownAccount { provider, account: account.to_owned() })
    }

    pub(crate) fn find(&self, provider: Provider, account: &str) -> Option<u32> {
        if let Some(index) = bulk_index(provider, account) {
            let table = read(self.table(provider));
            let slot = table.slots.get(usize::try_from(index).ok()?)?;
            let named = lock(&slot.state).as_ref().is_some_and(|state| state.name.is_some());
            return (!named).then_some(index);
        }
        read(&self.inner.directory).by_name.get(&provider)?.get(account).copied()
    }

    /// The tokens an account holds now.
    pub fn tokens(&self, provider: Provider, account: &str) -> Result<Issued, SimError> {
        let index = self.index_of(provider, account)?;
        self.tokens_at(provider, index)
            .ok_or_else(|| SimError::UnknownAccount { provider, account: account.to_owned() })
    }

    /// The tokens of the account at `index` (bulk runs are read this way).
    pub fn tokens_at(&self, provider: Provider, index: u32) -> Option<Issued> {
        let bot = self.bot_token_for(provider);
        let table = read(self.table(provider));
        let slot = table.slots.get(usize::try_from(index).ok()?)?;
        let guard = lock(&slot.state);
        let fresh;
        let state = match guard.as_deref() {
            Some(state) => state,
            None => {
                fresh = table.fresh_state(index, issues_refresh_tokens(provider));
                &fresh
            }
        };
        Some(self.issue(provider, index, state, bot.as_deref()))
    }

    /// Grants the account anew, as a reconnect through the browser would (tokens of earlier
    /// grants die; revocations, role loss and checkpoint are cleared), and returns the tokens.
    pub fn reissue(&self, provider: Provider, account: &str) -> Result<Issued, SimError> {
        let index = self.index_of(provider, account)?;
        self.regrant(provider, index, None, false)
            .ok_or_else(|| SimError::UnknownAccount { provider, account: account.to_owned() })
    }

    pub(crate) fn regrant(
        &self,
        provider: Provider,
        index: u32,
        scopes: Option<Arc<[String]>>,
        exchange: bool,
    ) -> Option<Issued> {
        let bot = self.bot_token_for(provider);
        let now_ms = self.now_ms();
        let (access, refresh) = (self.next_serial(), self.next_serial());
        self.with_state(provider, index, |state| {
            state.regrant(now_ms, access, refresh);
            // The person who just authorised holds the role and passed any checkpoint, or the
            // network would not have let them through.
            state.role = Role::Admin;
            state.checkpoint = false;
            if scopes.is_some() {
                state.scopes = scopes;
            }
            if exchange {
                state.exchanges = state.exchanges.saturating_add(1);
            }
            self.issue(provider, index, state, bot.as_deref())
        })
    }

    /// Builds what an account's state says its tokens are.
    pub(crate) fn issue(&self, provider: Provider, index: u32, state: &State, bot_token: Option<&str>) -> Issued {
        let account = AccountName::of(provider, index, Some(state)).to_string();
        let user = state.user.as_deref().map_or_else(|| account.clone(), str::to_owned);
        let scopes = match &state.scopes {
            Some(scopes) => scopes.to_vec(),
            None => policy(provider).scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        if provider == Provider::Telegram {
            return Issued {
                provider,
                account,
                user,
                access_token: bot_token.unwrap_or_default().to_owned(),
                refresh_token: None,
                expires_at: None,
                refresh_expires_at: None,
                scopes,
            };
        }
        let codec = &self.inner.codec;
        let base = Fields {
            provider,
            kind: Kind::Access,
            index,
            grant: state.grant,
            serial: state.access_serial,
            grant_ms: state.grant_ms,
            issued_ms: state.access_issued_ms,
        };
        let refresh_token = state.has_refresh.then(|| {
            codec.encode(&Fields {
                kind: Kind::Refresh,
                serial: state.refresh_serial,
                issued_ms: state.refresh_issued_ms,
                ..base
            })
        });
        let refresh_expires_at = match provider {
            Provider::Linkedin if state.has_refresh => ms_to_time(state.grant_ms.saturating_add(LINKEDIN_REFRESH_MS)),
            Provider::Pinterest if state.has_refresh => {
                ms_to_time(state.refresh_issued_ms.saturating_add(PINTEREST_REFRESH_MS))
            }
            _ => None,
        };
        Issued {
            provider,
            account,
            user,
            access_token: codec.encode(&base),
            refresh_token,
            expires_at: access_lifetime_ms(provider).and_then(|l| ms_to_time(state.access_issued_ms.saturating_add(l))),
            refresh_expires_at,
            scopes,
        }
    }

    /// Runs `change` on an account's state, creating it from its defaults first.
    pub(crate) fn with_state<R>(
        &self,
        provider: Provider,
        index: u32,
        change: impl FnOnce(&mut State) -> R,
    ) -> Option<R> {
        let table = read(self.table(provider));
        let slot = table.slots.get(usize::try_from(index).ok()?)?;
        let mut guard = lock(&slot.state);
        let state = guard.get_or_insert_with(|| Box::new(table.fresh_state(index, issues_refresh_tokens(provider))));
        Some(change(state))
    }

    /// Reads an account's state (or its defaults) without creating it.
    pub(crate) fn peek<R>(&self, provider: Provider, index: u32, look: impl FnOnce(&State, &Slot) -> R) -> Option<R> {
        let table = read(self.table(provider));
        let slot = table.slots.get(usize::try_from(index).ok()?)?;
        let guard = lock(&slot.state);
        match guard.as_deref() {
            Some(state) => Some(look(state, slot)),
            None => Some(look(&table.fresh_state(index, issues_refresh_tokens(provider)), slot)),
        }
    }

    /// Who logs in at `/{provider}/authorize` when the request does not say (`login_as`).
    pub fn set_login_as(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        let index = self.index_of(provider, account)?;
        write(&self.inner.directory).login_as.insert(provider, index);
        Ok(())
    }

    // ----- Telegram bots -----

    /// Adds a bot; it is an admin that may post in every chat.
    pub fn add_telegram_bot(&self) -> TelegramBot {
        let mut bots = write(&self.inner.bots);
        let id = 7_000_000_001 + bots.len() as u64;
        let token = self.inner.codec.bot_token(id);
        bots.push(Bot { id, token: token.clone(), revoked: false });
        TelegramBot { id, token }
    }

    /// The first bot, created on first use: the token Telegram accounts are issued.
    pub fn telegram_bot(&self) -> TelegramBot {
        if let Some(bot) = read(&self.inner.bots).first() {
            return TelegramBot { id: bot.id, token: bot.token.clone() };
        }
        let mut bots = write(&self.inner.bots);
        if bots.is_empty() {
            let id = 7_000_000_001;
            bots.push(Bot { id, token: self.inner.codec.bot_token(id), revoked: false });
        }
        let bot = &bots[0];
        TelegramBot { id: bot.id, token: bot.token.clone() }
    }

    /// @BotFather revoked the token: every request with it answers 401, in every chat.
    pub fn revoke_telegram_bot(&self, bot_id: u64) -> Result<(), SimError> {
        let mut bots = write(&self.inner.bots);
        let bot = bots.iter_mut().find(|b| b.id == bot_id).ok_or(SimError::UnknownBot(bot_id))?;
        bot.revoked = true;
        Ok(())
    }

    fn bot_token_for(&self, provider: Provider) -> Option<String> {
        (provider == Provider::Telegram).then(|| self.telegram_bot().token)
    }

    // ----- switches -----

    /// Flips a switch on an account. See [`Switch`] for what each one does.
    pub fn apply(&self, provider: Provider, account: &str, switch: Switch) -> Result<(), SimError> {
        let index = self.index_of(provider, account)?;
        let telegram = provider == Provider::Telegram;
        let not_here = |what: &str| Err(SimError::NotApplicable { provider, what: what.to_owned() });
        match &switch {
            Switch::ExpireNow | Switch::RevokeApp | Switch::ChangePassword | Switch::CancelAuthorize if telegram => {
                return not_here(&format!("{switch:?} (a Telegram chat has no user token: kick or demote the bot)"));
            }
            Switch::KickBot | Switch::DeleteChat | Switch::MigrateChat { .. } if !telegram => {
                return not_here(&format!("{switch:?}"));
            }
            Switch::Checkpoint if matches!(provider, Provider::Linkedin | Provider::Pinterest | Provider::Telegram) => {
                return not_here("a security checkpoint (the contract has no account-level answer)");
            }
            Switch::ChangePassword => {
                self.change_password_at(provider, index);
                return Ok(());
            }
            Switch::RevokeApp if crate::hooks::meta_app(provider) => {
                self.remove_meta_app(provider, index);
                return Ok(());
            }
            _ => {}
        }
        tracing::debug!(%provider, account, ?switch, "simulator switch");
        // Google tells relink after the change, as the network would.
        let google_event = match &switch {
            Switch::RevokeApp => Some(EventType::TokensRevoked),
            Switch::Checkpoint => Some(EventType::AccountDisabled),
            _ => None,
        };
        let standing = |state: &State| (state.chat, state.role);
        let before = if telegram { self.peek(provider, index, |state, _| standing(state)) } else { None };
        self.with_state(provider, index, |state| match switch {
            Switch::ExpireNow => state.expired_through = Some(state.access_serial),
            Switch::RevokeApp => {
                state.revoked.get_or_insert(Revocation::AppRemoved);
            }
            Switch::DropAdmin => state.role = Role::Member,
            Switch::DropPostRight if telegram => state.role = Role::AdminWithoutPostRight,
            Switch::DropPostRight => state.role = Role::Member,
            Switch::Checkpoint => state.checkpoint = true,
            Switch::KickBot => state.chat = Chat::Kicked,
            Switch::DeleteChat => state.chat = Chat::Deleted,
            Switch::MigrateChat { to } => state.chat = Chat::Migrated(to),
            Switch::Operator => state.operator = true,
            Switch::CancelAuthorize => state.cancel_authorize = true,
            Switch::Restore => {
                state.role = Role::Admin;
                state.checkpoint = false;
                state.chat = Chat::Present;
                state.operator = false;
                state.cancel_authorize = false;
                state.faults = None;
            }
            Switch::ChangePassword => {}
        });
        if let Some(before) = before
            && let Some(after) = self.peek(provider, index, |state, _| standing(state))
        {
            self.chat_member_changed(account, before, after);
        }
        if let Some(event) = google_event {
            self.tell_google(provider, index, event);
        }
        Ok(())
    }

    pub fn expire_now(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::ExpireNow)
    }

    pub fn revoke_app(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::RevokeApp)
    }

    /// The account's user changes their password: every grant of that user dies.
    pub fn change_password(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::ChangePassword)
    }

    /// A user (as given in [`AccountOptions::user`]) changes their password. Returns how many
    /// accounts lost their grant.
    pub fn change_user_password(&self, user: &str) -> Result<usize, SimError> {
        let targets = read(&self.inner.directory).users.get(user).cloned();
        let targets = targets.ok_or_else(|| SimError::UnknownUser(user.to_owned()))?;
        for (provider, index) in &targets {
            self.revoke_at(*provider, *index, Revocation::PasswordChanged);
            self.tell_google(*provider, *index, EventType::SessionsRevoked);
        }
        Ok(targets.len())
    }

    fn change_password_at(&self, provider: Provider, index: u32) {
        let user = self.peek(provider, index, |state, _| state.user.clone()).flatten();
        let targets = match user {
            Some(user) => read(&self.inner.directory).users.get(&user).cloned().unwrap_or_default(),
            None => vec![(provider, index)],
        };
        for (provider, index) in targets {
            self.revoke_at(provider, index, Revocation::PasswordChanged);
            self.tell_google(provider, index, EventType::SessionsRevoked);
        }
    }

    // ----- Google Cross-Account Protection -----

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
    fn tell_google(&self, provider: Provider, index: u32, event: EventType) {
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

    pub(crate) fn revoke_at(&self, provider: Provider, index: u32, why: Revocation) {
        self.with_state(provider, index, |state| {
            state.revoked.get_or_insert(why);
        });
    }

    pub fn drop_admin(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::DropAdmin)
    }

    pub fn require_checkpoint(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::Checkpoint)
    }

    pub fn kick_bot(&self, chat: &str) -> Result<(), SimError> {
        self.apply(Provider::Telegram, chat, Switch::KickBot)
    }

    pub fn cancel_authorize(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::CancelAuthorize)
    }

    pub fn restore(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        self.apply(provider, account, Switch::Restore)
    }

    /// The account published something: resets the inactivity clock (Pinterest).
    pub fn record_activity(&self, provider: Provider, account: &str) -> Result<(), SimError> {
        let index = self.index_of(provider, account)?;
        let now_ms = self.now_ms();
        self.with_state(provider, index, |state| state.last_activity_ms = now_ms);
        Ok(())
    }

    // ----- faults -----

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

    // ----- observation -----

    pub(crate) fn count(&self, provider: Provider, endpoint: Endpoint) {
        self.inner.counters.by_provider[provider_index(provider)][endpoint as usize].fetch_add(1, Ordering::Relaxed);
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
