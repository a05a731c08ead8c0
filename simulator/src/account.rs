//! Accounts and what the network remembers about each one.
//!
//! Each provider has a [`Table`] of [`Slot`]s indexed by the number inside its tokens. A slot is
//! 24 bytes: two request counters and a lock around an optional boxed [`State`]. Bulk accounts
//! start without a state (their defaults follow from the [`Batch`] that made them) and get one
//! only when something changes them; named accounts get one at once. Account ids of bulk
//! accounts are computed from the index, so a million of them hold no strings.
//!
//! **Lock order:** the directory, then a table, then a slot. No lock is held across an `await`.

use std::collections::HashMap;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use relink_core::Provider;
use serde::Serialize;

use crate::switch::Faults;

/// The numeric ids of bulk accounts start here (Graph-like 14-digit ids)…
const BULK_BASE: u64 = 90_000_000_000_000;
/// …and Telegram's bulk chats are `-1009…`, inside the real `-100…` channel range.
const TELEGRAM_BULK_BASE: i64 = 1_009_000_000_000;
/// The most accounts one provider may hold (keeps bulk ids inside their ranges).
pub(crate) const MAX_ACCOUNTS: u32 = 999_999_999;

/// Why a grant died.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Revocation {
    /// The person removed the app.
    AppRemoved,
    /// The user changed their password.
    PasswordChanged,
    /// An already used (rotated) refresh token was presented: the whole grant is revoked.
    RefreshReused,
}

/// The authorising person's role on the account (Telegram: the bot's role in the chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    AdminWithoutPostRight,
    Member,
}

/// A Telegram chat as the bot sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Chat {
    Present,
    Kicked,
    Deleted,
    Migrated(i64),
}

/// What the network remembers about one account beyond its defaults.
#[derive(Debug, Clone)]
pub(crate) struct State {
    /// `None`: a bulk account, named after its index.
    pub name: Option<Arc<str>>,
    /// `None`: the account is its own user.
    pub user: Option<Arc<str>>,
    /// `None`: the policy's scopes.
    pub scopes: Option<Arc<[String]>>,
    pub grant: u32,
    pub grant_ms: i64,
    pub revoked: Option<Revocation>,
    pub has_refresh: bool,
    pub access_serial: u64,
    pub access_issued_ms: i64,
    pub refresh_serial: u64,
    pub refresh_issued_ms: i64,
    /// Access tokens with a serial up to this one have been expired by a switch.
    pub expired_through: Option<u64>,
    pub last_activity_ms: i64,
    pub last_refresh_ms: i64,
    pub role: Role,
    pub checkpoint: bool,
    pub chat: Chat,
    pub operator: bool,
    pub cancel_authorize: bool,
    pub faults: Option<Box<Faults>>,
    pub authorizes: u32,
    pub exchanges: u32,
}

impl State {
    /// The state every account starts with: granted at `at`, healthy, untouched. Allocates nothing.
    pub fn fresh(at_ms: i64, has_refresh: bool) -> Self {
        Self {
            name: None,
            user: None,
            scopes: None,
            grant: 0,
            grant_ms: at_ms,
            revoked: None,
            has_refresh,
            access_serial: 0,
            access_issued_ms: at_ms,
            refresh_serial: 0,
            refresh_issued_ms: at_ms,
            expired_through: None,
            last_activity_ms: at_ms,
            last_refresh_ms: at_ms,
            role: Role::Admin,
            checkpoint: false,
            chat: Chat::Present,
            operator: false,
            cancel_authorize: false,
            faults: None,
            authorizes: 0,
            exchanges: 0,
        }
    }

    /// Starts a new grant (an authorization or a programmatic reissue) at `now_ms`.
    pub fn regrant(&mut self, now_ms: i64, access_serial: u64, refresh_serial: u64) {
        self.grant = self.grant.wrapping_add(1);
        self.grant_ms = now_ms;
        self.revoked = None;
        self.access_serial = access_serial;
        self.access_issued_ms = now_ms;
        self.refresh_serial = refresh_serial;
        self.refresh_issued_ms = now_ms;
        self.expired_through = None;
        self.last_activity_ms = now_ms;
        self.last_refresh_ms = now_ms;
    }
}

/// One account's place in its table.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    pub probes: AtomicU32,
    pub refreshes: AtomicU32,
    pub state: Mutex<Option<Box<State>>>,
}

/// A run of bulk accounts created together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batch {
    pub first: u32,
    pub created_ms: i64,
}

/// One provider's accounts.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub slots: Vec<Slot>,
    pub batches: Vec<Batch>,
}

impl Table {
    /// When the bulk account at `index` was created (its grant, token and activity time).
    pub fn created_ms(&self, index: u32) -> i64 {
        let at = self.batches.partition_point(|b| b.first <= index);
        at.checked_sub(1).and_then(|i| self.batches.get(i)).map_or(0, |b| b.created_ms)
    }

    /// The state of a bulk account that has none yet, as it would be created.
    pub fn fresh_state(&self, index: u32, has_refresh: bool) -> State {
        State::fresh(self.created_ms(index), has_refresh)
    }
}

/// The named side of the accounts: ids to indexes, users to their accounts, who logs in.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    pub by_name: HashMap<Provider, HashMap<Arc<str>, u32>>,
    /// Named accounts per provider, in the order they were added.
    pub named: HashMap<Provider, Vec<u32>>,
    pub users: HashMap<Arc<str>, Vec<(Provider, u32)>>,
    pub login_as: HashMap<Provider, u32>,
}

/// An account's id, without allocating for bulk accounts.
#[derive(Debug, Clone)]
pub(crate) enum AccountName {
    Named(Arc<str>),
    Bulk(Provider, u32),
}

impl AccountName {
    pub fn of(provider: Provider, index: u32, state: Option<&State>) -> Self {
        match state.and_then(|s| s.name.clone()) {
            Some(name) => AccountName::Named(name),
            None => AccountName::Bulk(provider, index),
        }
    }
}

impl std::fmt::Display for AccountName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountName::Named(name) => f.write_str(name),
            AccountName::Bulk(Provider::Telegram, index) => write!(f, "{}", -(TELEGRAM_BULK_BASE + i64::from(*index))),
            AccountName::Bulk(_, index) => write!(f, "{}", BULK_BASE + u64::from(*index)),
        }
    }
}

/// The index a bulk account id names, if it has the bulk shape.
pub(crate) fn bulk_index(provider: Provider, account: &str) -> Option<u32> {
    let offset = if provider == Provider::Telegram {
        let id: i64 = account.parse().ok()?;
        id.checked_neg()?.checked_sub(TELEGRAM_BULK_BASE)?
    } else {
        if account.starts_with('+') || account.starts_with('0') {
            return None;
        }
        let id: u64 = account.parse().ok()?;
        i64::try_from(id.checked_sub(BULK_BASE)?).ok()?
    };
    u32::try_from(offset).ok().filter(|i| *i <= MAX_ACCOUNTS)
}

/// Locks, shrugging off poisoning: a panicking test must not wedge the simulator.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_stays_small_because_a_million_of_them_are_allocated() {
        assert!(std::mem::size_of::<Slot>() <= 24, "{}", std::mem::size_of::<Slot>());
    }

    #[test]
    fn bulk_ids_read_back_as_their_index_and_nothing_else_does() {
        for provider in [Provider::Facebook, Provider::Telegram] {
            for index in [0, 1, 999_999, MAX_ACCOUNTS] {
                let id = AccountName::Bulk(provider, index).to_string();
                assert_eq!(bulk_index(provider, &id), Some(index), "{id}");
            }
        }
        assert_eq!(AccountName::Bulk(Provider::Telegram, 7).to_string(), "-1009000000007");
        for other in ["alice", "-1001234567890", "1234", "090000000000001", "+90000000000001"] {
            assert_eq!(bulk_index(Provider::Facebook, other), None, "{other}");
        }
        assert_eq!(bulk_index(Provider::Telegram, "-1001234567890"), None);
    }
}
