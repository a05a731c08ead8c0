//! The networks' token rules: whether a presented token works, and what a refresh or an
//! extension does to the grant. Each check takes the account's slot lock once, counts the
//! request, adds the account's faults to the request's [`Gate`] and returns owned data, so no
//! lock outlives the call and nothing here awaits.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use relink_core::Provider;

use crate::account::{AccountName, Chat, Revocation, Role, State, lock, read};
use crate::answer::Condition;
use crate::rules::{
    GOOGLE_UNUSED_MS, LINKEDIN_REFRESH_MS, PINTEREST_REFRESH_MS, access_lifetime_ms, duration_ms, inactive,
    issues_refresh_tokens, policy, rotates_refresh_tokens,
};
use crate::sim::{Gate, Issued, Simulator};
use crate::switch::Fail;
use crate::token::{Fields, Kind, provider_index};

/// What the network rules about one presented token: it works (with what it gives), it is
/// refused for a reason the answer shows, or an injected fault fails the request first. (Not
/// `relink_core::provider::Verdict`, which is relink's reading of an answer.)
#[derive(Debug)]
pub(crate) enum Ruling<T> {
    Ok(T),
    Refused(Condition),
    Failed(Fail),
}

/// A working token's account, as the probe answers describe it.
#[derive(Debug)]
pub(crate) struct Live {
    pub name: AccountName,
    pub user: Option<Arc<str>>,
    pub scopes: Option<Arc<[String]>>,
    pub grant_ms: i64,
    pub issued_ms: i64,
    pub expires_ms: Option<i64>,
    pub role: Role,
}

impl Live {
    pub fn account(&self) -> String {
        self.name.to_string()
    }

    pub fn user(&self) -> String {
        self.user.as_deref().map_or_else(|| self.account(), str::to_owned)
    }

    /// The granted scopes, joined with `separator` (Google and X: space; LinkedIn, Pinterest: comma).
    pub fn scope_string(&self, provider: Provider, separator: &str) -> String {
        match &self.scopes {
            Some(scopes) => scopes.join(separator),
            None => policy(provider).scopes.join(separator),
        }
    }

    pub fn scope_list(&self, provider: Provider) -> Vec<&str> {
        match &self.scopes {
            Some(scopes) => scopes.iter().map(String::as_str).collect(),
            None => policy(provider).scopes.to_vec(),
        }
    }
}

/// What a token of an earlier grant or a revoked grant is refused as.
fn grant_condition(token: &Fields, state: &State) -> Option<Condition> {
    if token.grant != state.grant {
        return Some(state.revoked.map_or(Condition::Superseded, Condition::Revoked));
    }
    state.revoked.map(Condition::Revoked)
}

/// Adds the account's own faults to the request's; a counted failure that ran out is dropped.
fn add_account_faults(gate: &mut Gate, state: &mut State) {
    if let Some(faults) = state.faults.as_deref_mut() {
        gate.add(faults);
        if faults.is_none() {
            state.faults = None;
        }
    }
}

fn access_expired(provider: Provider, token: &Fields, state: &State, now_ms: i64) -> bool {
    state.expired_through.is_some_and(|through| token.serial <= through)
        || access_lifetime_ms(provider).is_some_and(|life| token.issued_ms.saturating_add(life) <= now_ms)
}

impl Simulator {
    fn decode(&self, provider: Provider, kind: Kind, raw: &str) -> Option<Fields> {
        self.inner.codec.decode(raw).filter(|f| f.provider == provider && f.kind == kind)
    }

    /// A probe: does this access token work, and whose is it?
    pub(crate) fn check_access(&self, provider: Provider, raw: &str, now_ms: i64, gate: &mut Gate) -> Ruling<Live> {
        let refused = |gate: &Gate, condition| gate.fail.map_or(Ruling::Refused(condition), Ruling::Failed);
        let Some(token) = self.decode(provider, Kind::Access, raw) else {
            return refused(gate, Condition::Invalid);
        };
        self.probe(provider, token.index, gate, |state| {
            let condition = if state.operator {
                Some(Condition::Operator)
            } else if let Some(condition) = grant_condition(&token, state) {
                Some(condition)
            } else if access_expired(provider, &token, state, now_ms) {
                Some(Condition::Expired)
            } else if inactive(provider, state, now_ms) {
                Some(Condition::Inactive)
            } else if state.checkpoint {
                Some(Condition::Checkpoint)
            } else if state.role != Role::Admin {
                Some(Condition::Permission)
            } else {
                None
            };
            if let Some(condition) = condition {
                return Ruling::Refused(condition);
            }
            Ruling::Ok(Live {
                name: AccountName::of(provider, token.index, Some(state)),
                user: state.user.clone(),
                scopes: state.scopes.clone(),
                grant_ms: token.grant_ms,
                issued_ms: token.issued_ms,
                expires_ms: access_lifetime_ms(provider).map(|life| token.issued_ms.saturating_add(life)),
                role: state.role,
            })
        })
        .unwrap_or_else(|| refused(gate, Condition::Invalid))
    }

    /// A Telegram chat probe: is the chat there, and what is the bot in it?
    pub(crate) fn check_chat(&self, index: u32, gate: &mut Gate) -> Ruling<Live> {
        let provider = Provider::Telegram;
        self.probe(provider, index, gate, |state| {
            let condition = match state.chat {
                _ if state.operator => Some(Condition::BotUnauthorized),
                Chat::Present => None,
                Chat::Kicked => Some(Condition::Kicked),
                Chat::Deleted => Some(Condition::ChatNotFound),
                Chat::Migrated(to) => Some(Condition::Migrated(to)),
            };
            if let Some(condition) = condition {
                return Ruling::Refused(condition);
            }
            Ruling::Ok(Live {
                name: AccountName::of(provider, index, Some(state)),
                user: None,
                scopes: None,
                grant_ms: state.grant_ms,
                issued_ms: state.grant_ms,
                expires_ms: None,
                role: state.role,
            })
        })
        .unwrap_or_else(|| gate.fail.map_or(Ruling::Refused(Condition::ChatNotFound), Ruling::Failed))
    }

    /// Counts a probe of the account at `index`, adds its faults to `gate` and, unless a fault
    /// fails the request, lets `decide` rule on its state (or its defaults). `None` when there
    /// is no account at `index`.
    fn probe<T>(
        &self,
        provider: Provider,
        index: u32,
        gate: &mut Gate,
        decide: impl FnOnce(&mut State) -> Ruling<T>,
    ) -> Option<Ruling<T>> {
        let table = read(&self.inner.tables[provider_index(provider)]);
        let slot = table.slots.get(usize::try_from(index).ok()?)?;
        slot.probes.fetch_add(1, Ordering::Relaxed);
        let mut guard = lock(&slot.state);
        let mut fresh;
        let state = match guard.as_deref_mut() {
            Some(state) => state,
            None => {
                fresh = table.fresh_state(index, issues_refresh_tokens(provider));
                &mut fresh
            }
        };
        add_account_faults(gate, state);
        if let Some(fail) = gate.fail {
            return Some(Ruling::Failed(fail));
        }
        Some(decide(state))
    }

    /// Instagram login and Threads: a still-valid token at least `min_age` old is exchanged for
    /// a new one of full life; a younger or expired one is refused.
    pub(crate) fn extend(
        &self,
        provider: Provider,
        raw: &str,
        min_age_ms: i64,
        now_ms: i64,
        gate: &mut Gate,
    ) -> Ruling<Issued> {
        let Some(token) = self.decode(provider, Kind::Access, raw) else {
            return gate.fail.map_or(Ruling::Refused(Condition::Invalid), Ruling::Failed);
        };
        let serial = self.next_serial();
        self.renew(provider, &token, gate, |state| {
            if let Some(condition) = grant_condition(&token, state) {
                return Err(condition);
            }
            if access_expired(provider, &token, state, now_ms) {
                return Err(Condition::Expired);
            }
            if now_ms.saturating_sub(token.issued_ms) < min_age_ms {
                return Err(Condition::TooYoung);
            }
            if state.checkpoint {
                return Err(Condition::Checkpoint);
            }
            state.access_serial = serial;
            state.access_issued_ms = now_ms;
            Ok(())
        })
    }

    /// An OAuth refresh grant. Rotating networks (X, Pinterest) issue a new refresh token each
    /// time and revoke the whole grant when an already used one comes back.
    pub(crate) fn refresh(
        &self,
        provider: Provider,
        raw: &str,
        scope: Option<&str>,
        now_ms: i64,
        gate: &mut Gate,
    ) -> Ruling<Issued> {
        let Some(token) = self.decode(provider, Kind::Refresh, raw) else {
            return gate.fail.map_or(Ruling::Refused(Condition::Invalid), Ruling::Failed);
        };
        let (access_serial, refresh_serial) = (self.next_serial(), self.next_serial());
        self.renew(provider, &token, gate, |state| {
            if let Some(condition) = grant_condition(&token, state) {
                return Err(condition);
            }
            if !state.has_refresh {
                return Err(Condition::Invalid);
            }
            let refresh_life_over = match provider {
                Provider::Linkedin => state.grant_ms.saturating_add(LINKEDIN_REFRESH_MS) <= now_ms,
                Provider::Pinterest => state.refresh_issued_ms.saturating_add(PINTEREST_REFRESH_MS) <= now_ms,
                Provider::Youtube | Provider::GoogleBusiness => {
                    state.last_refresh_ms.saturating_add(GOOGLE_UNUSED_MS) <= now_ms
                }
                _ => false,
            };
            if refresh_life_over {
                return Err(Condition::RefreshExpired);
            }
            if inactive(provider, state, now_ms) {
                return Err(Condition::Inactive);
            }
            if rotates_refresh_tokens(provider) && token.serial != state.refresh_serial {
                if token.serial < state.refresh_serial {
                    state.revoked = Some(Revocation::RefreshReused);
                    return Err(Condition::Revoked(Revocation::RefreshReused));
                }
                return Err(Condition::Invalid);
            }
            if let Some(asked) = scope {
                let granted: Vec<&str> = match &state.scopes {
                    Some(scopes) => scopes.iter().map(String::as_str).collect(),
                    None => policy(provider).scopes.to_vec(),
                };
                if asked.split([' ', ',']).filter(|s| !s.is_empty()).any(|s| !granted.contains(&s)) {
                    return Err(Condition::ScopeTooWide);
                }
            }
            state.access_serial = access_serial;
            state.access_issued_ms = now_ms;
            if rotates_refresh_tokens(provider) {
                state.refresh_serial = refresh_serial;
                state.refresh_issued_ms = now_ms;
            }
            state.last_refresh_ms = now_ms;
            Ok(())
        })
    }

    /// The shared part of a renewal: count, apply faults and the operator switch, run the
    /// network's rule on the account's state, and return the tokens it holds afterwards.
    fn renew(
        &self,
        provider: Provider,
        token: &Fields,
        gate: &mut Gate,
        rule: impl FnOnce(&mut State) -> Result<(), Condition>,
    ) -> Ruling<Issued> {
        let table = read(&self.inner.tables[provider_index(provider)]);
        let Some(slot) = usize::try_from(token.index).ok().and_then(|i| table.slots.get(i)) else {
            return gate.fail.map_or(Ruling::Refused(Condition::Invalid), Ruling::Failed);
        };
        slot.refreshes.fetch_add(1, Ordering::Relaxed);
        let mut guard = lock(&slot.state);
        let state =
            guard.get_or_insert_with(|| Box::new(table.fresh_state(token.index, issues_refresh_tokens(provider))));
        add_account_faults(gate, state);
        if let Some(fail) = gate.fail {
            return Ruling::Failed(fail);
        }
        if state.operator {
            return Ruling::Refused(Condition::Operator);
        }
        match rule(state) {
            Ok(()) => Ruling::Ok(self.issue(provider, token.index, state, None)),
            Err(condition) => Ruling::Refused(condition),
        }
    }
}

/// The minimum age before an extend-while-valid token may be extended, in milliseconds.
pub(crate) fn extend_min_age_ms(provider: Provider) -> Option<i64> {
    match policy(provider).renewal {
        relink_core::provider::Renewal::ExtendWhileValid { min_age } => Some(duration_ms(min_age)),
        _ => None,
    }
}
