//! Accounts: adding them (one by one, or in cheap bulk runs), finding them, and the tokens
//! their state says they hold now ([`Issued`]); a new grant when someone authorises again.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use relink_core::Provider;
use serde::{Deserialize, Serialize};

use super::{SimError, Simulator};
use crate::account::{AccountName, Batch, MAX_ACCOUNTS, Role, Slot, State, bulk_index, lock, read, write};
use crate::rules::{
    LINKEDIN_REFRESH_MS, PINTEREST_REFRESH_MS, access_lifetime_ms, issues_refresh_tokens, ms_to_time, policy,
};
use crate::token::{Fields, Kind};

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

impl Simulator {
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
}
