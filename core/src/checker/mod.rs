//! The checker: finds due channels through the `next_check_at` index, claims them under a
//! lease, renews what is due for renewal, validates each token with its network, and writes
//! the results back a batch at a time (see [`Store::finish_checks`]).
//!
//! [`Checker::check_due`] is one pass (tests call it directly with a test clock);
//! [`run_checker`] is the loop around it. [`Checker::refresh_now`] is an admin's "refresh
//! access" before expiry, under the same lease.
//!
//! Renewal rules (PROVIDERS.md): extend-while-valid tokens about a day early; rotating refresh
//! tokens late, under the lease, new tokens saved before anything else; a refresh token is never
//! replaced by nothing; a refresh whose answer was lost is not retried blindly; a refusal is
//! believed only after re-reading the row (a sibling process may have rotated the tokens first).
//! A rotating refresh token is marked as possibly spent before it is sent; one still marked
//! (a lost answer, a crash mid-renewal) is never sent again, and its channel is warned about
//! and left to expire like one nobody can renew.

pub mod budget;
pub mod decide;
pub mod schedule;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::supervise::Wake;

use chrono::{DateTime, Utc};
use futures_util::{FutureExt as _, StreamExt as _};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use self::budget::{Budgets, Permit};
use self::decide::{Decision, Observed, Rules, decide, describe};
use crate::clock::Clock;
use crate::domain::{Channel, ChannelId, Health, Provider, Reason};
use crate::provider::{Providers, Renewal, Renewed, Validity, Verdict};
use crate::store::{CheckResult, Claim, Result, Store, StoreError};
use crate::token::TokenSet;

/// The checker's settings.
#[derive(Debug, Clone)]
pub struct CheckerConfig {
    /// This process's name in leases; unique per process.
    pub owner: String,
    /// Channels claimed per pass.
    pub batch: u32,
    /// Checks in flight at once.
    pub concurrency: usize,
    /// How long a claim holds a channel; a crashed process's channels come due after it.
    pub lease: Duration,
    /// How long to wait before retrying a refresh whose answer was lost (reusable refresh tokens
    /// only: a rotating one is never retried).
    pub uncertain_retry: Duration,
    /// The longest [`run_checker`] sleeps without looking for due work, so channels added or
    /// changed by another process are seen.
    pub idle: Duration,
    pub rules: Rules,
}

impl Default for CheckerConfig {
    fn default() -> Self {
        Self {
            owner: format!("relink-{}-{:08x}", std::process::id(), rand::random::<u32>()),
            batch: 512,
            concurrency: 64,
            lease: Duration::from_secs(120),
            uncertain_retry: Duration::from_secs(120),
            idle: Duration::from_secs(30),
            rules: Rules::default(),
        }
    }
}

/// What one pass did, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Channels claimed by a pass; in [`Progress::Written`], the checks written.
    pub claimed: usize,
    pub valid: usize,
    pub needs_reauth: usize,
    pub operator: usize,
    pub transient: usize,
    pub unknown: usize,
    pub renewed: usize,
    /// Channels skipped because their network asked relink to wait.
    pub deferred: usize,
    /// Health changes written.
    pub transitions: usize,
    /// How long the claim query took.
    pub claim_time: Duration,
    /// How long writing the batch's results took.
    pub finish_time: Duration,
}

impl Outcome {
    /// Adds the pass to the process's metrics (the `metrics` facade; the web server exports them).
    fn record_metrics(&self) {
        let classes = [
            ("valid", self.valid),
            ("needs_reauth", self.needs_reauth),
            ("operator", self.operator),
            ("transient", self.transient),
            ("unknown", self.unknown),
        ];
        for (class, count) in classes {
            metrics::counter!("relink_checks_total", "outcome" => class).increment(count as u64);
        }
        metrics::counter!("relink_renewals_total").increment(self.renewed as u64);
        metrics::counter!("relink_health_transitions_total").increment(self.transitions as u64);
    }

    /// Counts a finished check; returns what it writes.
    fn add(&mut self, checked: Checked) -> CheckResult {
        match &checked.verdict {
            Some(verdict) => self.count(verdict),
            None => self.deferred += 1,
        }
        self.renewed += usize::from(checked.renewed);
        self.transitions += usize::from(checked.result.from != checked.result.to);
        checked.result
    }

    fn count(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::Valid(_) => self.valid += 1,
            Verdict::Dead(_) | Verdict::Permission(_) | Verdict::Account(_) => self.needs_reauth += 1,
            Verdict::Operator(_) => self.operator += 1,
            Verdict::Transient { .. } => self.transient += 1,
            Verdict::Unknown(_) => self.unknown += 1,
        }
    }
}

/// The result of an admin's "refresh now".
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshNow {
    /// Renewed and saved; the channel's health after checking the new token: healthy, or
    /// degraded when the network did not answer that check (nothing to do: the token is new).
    Renewed(Health),
    /// The network extends this token only from this time on (Threads and Instagram login, a
    /// day after issuing it); the token still works until its end, so nothing is wrong.
    NotYet(DateTime<Utc>),
    /// The network does not let relink renew this token: reconnect instead.
    NotRenewable,
    /// A check or refresh of this channel is running: try again in a moment.
    Busy,
    /// The network refused or failed; the channel's health now.
    Failed { health: Health, detail: String },
}

/// What a check run on demand found ([`Checker::check_now`]).
#[derive(Debug, Clone, PartialEq)]
pub enum CheckNow {
    /// The channel's health after the check, and what the network said when it was not fine
    /// (plain words, never a token).
    Checked { health: Health, detail: Option<String> },
    /// A check or refresh of this channel is running: try again in a moment.
    Busy,
}

/// The checker.
#[derive(Debug)]
pub struct Checker {
    store: Store,
    providers: Providers,
    config: CheckerConfig,
    /// Every network's request budget and pause, shared with the other processes.
    budgets: Budgets,
    /// Rung when channels were made due from outside (a push signal): the claimer stops sleeping.
    wake: Wake,
    /// Rung when a written check changed a channel's health: the alerts engine looks now.
    transitions: Wake,
}

/// One check's result and what the pass counts.
struct Checked {
    result: CheckResult,
    verdict: Option<Verdict>,
    renewed: bool,
    /// From when the network extends the token, when it said "not yet".
    not_yet: Option<DateTime<Utc>>,
    /// Until when the network asked relink to wait, when it did.
    pause: Option<DateTime<Utc>>,
}

impl Checker {
    pub fn new(store: Store, providers: Providers, config: CheckerConfig) -> Self {
        let budgets = Budgets::new(store.clone(), &providers, config.lease / 4);
        Self { store, providers, config, budgets, wake: Wake::default(), transitions: Wake::default() }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    /// One pass: claims the channels due at `now` and checks them.
    pub async fn check_due(&self, now: DateTime<Utc>) -> Result<Outcome> {
        let lease_until = crate::time::after(now, self.config.lease);
        let started = std::time::Instant::now();
        let claims = self.store.claim_due(now, self.config.batch, &self.config.owner, lease_until).await?;
        let mut outcome = Outcome { claimed: claims.len(), claim_time: started.elapsed(), ..Outcome::default() };
        if claims.is_empty() {
            return Ok(outcome);
        }
        let checked: Vec<Result<Checked>> = futures_util::stream::iter(claims)
            .map(|claim| self.check_claim(claim, now))
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        let results =
            checked.into_iter().map(|item| item.map(|checked| outcome.add(checked))).collect::<Result<Vec<_>>>()?;
        let finishing = std::time::Instant::now();
        self.store.finish_checks(&self.config.owner, &results, now).await?;
        self.written(&results);
        outcome.finish_time = finishing.elapsed();
        outcome.record_metrics();
        Ok(outcome)
    }

    /// An admin's "refresh access": renews a channel's token now, if its network allows it.
    pub async fn refresh_now(&self, id: ChannelId, now: DateTime<Utc>) -> Result<RefreshNow> {
        let channel = self.store.channel(id).await?;
        let policy = self.providers.policy(channel.provider);
        if !policy.renews_itself() {
            return Ok(RefreshNow::NotRenewable);
        }
        let lease_until = crate::time::after(now, self.config.lease);
        let Some(claim) = self.store.acquire_lease(id, &self.config.owner, now, lease_until).await? else {
            return Ok(RefreshNow::Busy);
        };
        if claim.tokens.as_ref().is_ok_and(|t| !self.renewable_now(&claim, t)) {
            self.store.release_lease(id, &self.config.owner, channel.next_check_at).await?;
            return Ok(RefreshNow::NotRenewable);
        }
        let checked = self.check(claim, now, true).await?;
        let health = checked.result.to.clone();
        let not_yet = checked.not_yet;
        let failure = checked.result.detail.clone();
        let renewed = checked.renewed;
        let changed = checked.result.from != checked.result.to;
        let results = [checked.result];
        self.store.finish_checks(&self.config.owner, &results, now).await?;
        self.written(&results);
        metrics::counter!("relink_renewals_total").increment(u64::from(renewed));
        metrics::counter!("relink_health_transitions_total").increment(u64::from(changed));
        Ok(if renewed {
            RefreshNow::Renewed(health)
        } else if let Some(from) = not_yet {
            RefreshNow::NotYet(from)
        } else {
            RefreshNow::Failed {
                health,
                detail: failure.unwrap_or_else(|| "the network did not renew the token".into()),
            }
        })
    }

    /// Checks one channel now, under the same lease and rules as the scheduled checks (a
    /// publishing tool's pre-flight, an admin's `check`), and writes the result the same way,
    /// alerts and all. A network that asked relink to wait is not asked; the health is then
    /// the last one known.
    /// Rings `wake` whenever a written check changed a channel's health, so the alerts engine
    /// (`Engine::woken_by`) plans at once instead of at its next look.
    pub fn ringing_on_transitions(mut self, wake: Wake) -> Self {
        self.transitions = wake;
        self
    }

    /// Tells the alerts engine that results with transitions were written.
    fn written(&self, results: &[CheckResult]) {
        if results.iter().any(|result| result.from != result.to) {
            self.transitions.wake();
        }
    }

    /// The handle that wakes this checker's claimer (see [`Wake`]).
    pub fn wake_handle(&self) -> Wake {
        self.wake.clone()
    }

    pub async fn check_now(&self, id: ChannelId, now: DateTime<Utc>) -> Result<CheckNow> {
        let lease_until = crate::time::after(now, self.config.lease);
        let Some(claim) = self.store.acquire_lease(id, &self.config.owner, now, lease_until).await? else {
            return Ok(CheckNow::Busy);
        };
        let checked = self.check(claim, now, false).await?;
        let health = checked.result.to.clone();
        let detail = checked.result.detail.clone();
        let mut outcome = Outcome { claimed: 1, ..Outcome::default() };
        let results = [outcome.add(checked)];
        self.store.finish_checks(&self.config.owner, &results, now).await?;
        self.written(&results);
        outcome.record_metrics();
        Ok(CheckNow::Checked { health, detail })
    }

    /// Whether relink can carry the grant past the access token's expiry. A refresh token that
    /// ends before the access token (LinkedIn's 365 days from the grant) cannot: the team is
    /// warned ahead of that expiry like for a token nobody can renew.
    fn renewable(&self, provider: Provider, tokens: &TokenSet) -> bool {
        match self.providers.policy(provider).renewal {
            Renewal::None => false,
            Renewal::ExtendWhileValid { .. } => true,
            Renewal::RefreshToken | Renewal::RotatingRefreshToken => {
                let outlives_access = match (tokens.refresh_expires_at, tokens.expires_at) {
                    (Some(end), Some(access_end)) => end > access_end,
                    _ => true,
                };
                tokens.refresh_token.is_some() && outlives_access
            }
        }
    }

    /// Whether the network's refresh tokens are single-use (X, Pinterest).
    fn rotates(&self, provider: Provider) -> bool {
        self.providers.policy(provider).renewal == Renewal::RotatingRefreshToken
    }

    /// [`Checker::renewable`], and not a rotating refresh token that a refresh whose answer never
    /// arrived (a lost answer, or a process that died mid-renewal) may have spent: sending it again
    /// could make the network revoke the whole grant, so the channel lives on its access token and
    /// the team is warned ahead of its end, as for a token nobody can renew.
    fn renewable_now(&self, claim: &Claim, tokens: &TokenSet) -> bool {
        let provider = claim.channel.provider;
        self.renewable(provider, tokens) && !(self.rotates(provider) && claim.refresh_uncertain_at.is_some())
    }

    fn renewal_due(&self, claim: &Claim, tokens: &TokenSet, now: DateTime<Utc>) -> bool {
        let policy = self.providers.policy(claim.channel.provider);
        if !self.renewable_now(claim, tokens) {
            return false;
        }
        if let Some(uncertain) = claim.refresh_uncertain_at
            && (now - uncertain).to_std().unwrap_or(Duration::ZERO) < self.config.uncertain_retry
        {
            return false;
        }
        let Some(expiry) = tokens.expires_at else { return false };
        let ahead = crate::time::delta(schedule::renew_ahead(policy));
        match policy.renewal {
            Renewal::ExtendWhileValid { min_age } => {
                let old_enough = claim
                    .token_issued_at
                    .is_none_or(|issued| (now - issued).to_std().unwrap_or(Duration::ZERO) >= min_age);
                expiry > now && expiry - now <= ahead && old_enough
            }
            _ => expiry - now <= ahead,
        }
    }

    async fn check_claim(&self, claim: Claim, now: DateTime<Utc>) -> Result<Checked> {
        self.check(claim, now, false).await
    }

    /// Checks one claimed channel; `force_renewal` renews even if not yet due. A pause the
    /// network asked for is stored for every process.
    async fn check(&self, claim: Claim, now: DateTime<Utc>, force_renewal: bool) -> Result<Checked> {
        let provider = claim.channel.provider;
        let checked = self.check_claimed(claim, now, force_renewal).await?;
        if let Some(until) = checked.pause {
            self.budgets.pause(provider, until).await;
        }
        Ok(checked)
    }

    async fn check_claimed(&self, mut claim: Claim, now: DateTime<Utc>, force_renewal: bool) -> Result<Checked> {
        let provider = claim.channel.provider;
        let rotates = self.rotates(provider);
        // A rotating refresh token that may have been spent: re-read the row first, since the
        // answer's write or another process may have saved new tokens (which clears the mark).
        if rotates && claim.refresh_uncertain_at.is_some() {
            let uncertain = self.store.refresh_uncertain_at(claim.channel.id).await?;
            if uncertain.is_none() {
                let (version, fresh) = self.store.reread_tokens(claim.channel.id).await?;
                // The claim stays one row at one version: its channel's expiry and scopes too.
                claim.version = version;
                claim.channel.token_expires_at = fresh.expires_at;
                claim.channel.scopes = fresh.scopes.clone();
                claim.tokens = Ok(fresh);
            }
            claim.refresh_uncertain_at = uncertain;
        }
        let tokens = match &claim.tokens {
            Ok(tokens) => tokens.clone(),
            Err(problem) => {
                let verdict = Verdict::Operator(format!("the stored tokens cannot be opened: {problem}"));
                return Ok(self.conclude(&claim, None, verdict, false, now));
            }
        };
        // The check's first request takes its slot of the network's budget now, so a paused
        // network is found before anything is sent; the further requests wait for theirs.
        // The slots are the probe's (two for a probe of two requests); a renewal spends them
        // instead when it comes first, and the probe takes its own after it.
        let probe_requests = self.providers.adapter(provider).probe_requests();
        if let Permit::Paused(until) = self.budgets.take_for(provider, now, true, probe_requests).await? {
            let result = self.unchanged(&claim, until);
            return Ok(Checked { result, verdict: None, renewed: false, not_yet: None, pause: None });
        }
        let prepaid = &mut true;

        let mut tokens = tokens;
        let mut version = claim.version;
        let mut renewed = false;
        // The mark written with the result: a rotating token's lasts until new tokens are saved
        // or the network refuses; a reusable token's only delays the next retry.
        let mut refresh_uncertain_at = claim.refresh_uncertain_at.filter(|_| rotates);
        let mut not_yet = None;
        if (force_renewal && self.renewable_now(&claim, &tokens)) || self.renewal_due(&claim, &tokens, now) {
            match self.renew(&claim.channel, &mut tokens, &mut version, now, prepaid).await? {
                RenewalEnd::Done => {
                    renewed = true;
                    refresh_uncertain_at = None;
                    // The decision plans the next check from the channel's expiry: the new
                    // token's, not the one it replaced (a probe seldom says when a token ends).
                    claim.channel.token_expires_at = tokens.expires_at;
                }
                // Not an outage: the token still works, so the check goes on with it.
                RenewalEnd::NotYet(from) => not_yet = Some(from),
                RenewalEnd::Verdict(verdict) => {
                    let mut checked = self.conclude(&claim, None, verdict, false, now);
                    checked.result.refresh_uncertain_at = None;
                    return Ok(checked);
                }
                // Marked before the request left: not sent again; the check goes on with the
                // access token the channel still has, and the team is warned ahead of its end.
                RenewalEnd::Uncertain(detail) if rotates => {
                    tracing::warn!(channel = %claim.channel.id, %provider, %detail, "checker: a rotating refresh token may have been spent; it will not be sent again");
                    claim.refresh_uncertain_at = Some(now);
                    refresh_uncertain_at = Some(now);
                }
                RenewalEnd::Uncertain(detail) => {
                    refresh_uncertain_at = Some(now);
                    let verdict = Verdict::transient(format!("the refresh answer was lost ({detail}); retrying later"));
                    let mut checked = self.conclude(&claim, None, verdict, false, now);
                    checked.result.refresh_uncertain_at = refresh_uncertain_at;
                    checked.result.next_check_at = crate::time::after(now, self.config.uncertain_retry);
                    return Ok(checked);
                }
            }
        }

        let mut verdict = self.validate(&claim.channel, &tokens, now, prepaid).await?;
        // A grant that is alive but whose access token has run out (Google's tokeninfo) is
        // renewed now, once.
        if !renewed
            && let Verdict::Valid(validity) = &verdict
            && self.renewable_now(&claim, &tokens)
            && validity.expires_at.is_some_and(|at| at <= now)
        {
            match self.renew(&claim.channel, &mut tokens, &mut version, now, prepaid).await? {
                RenewalEnd::Done => {
                    renewed = true;
                    refresh_uncertain_at = None;
                    claim.channel.token_expires_at = tokens.expires_at;
                    verdict = self.validate(&claim.channel, &tokens, now, prepaid).await?;
                }
                RenewalEnd::Verdict(refused) => {
                    refresh_uncertain_at = None;
                    verdict = refused;
                }
                RenewalEnd::NotYet(from) => not_yet = Some(from),
                RenewalEnd::Uncertain(detail) if rotates => {
                    tracing::warn!(channel = %claim.channel.id, %provider, %detail, "checker: a rotating refresh token may have been spent; it will not be sent again");
                    claim.refresh_uncertain_at = Some(now);
                    refresh_uncertain_at = Some(now);
                }
                RenewalEnd::Uncertain(detail) => {
                    refresh_uncertain_at = Some(now);
                    verdict = Verdict::transient(format!("the refresh answer was lost ({detail})"));
                }
            }
        }
        // The network (or the adapter, for a token within minutes of its end) wants the access
        // token renewed, and its refresh token may be spent. Until the stored end the token still
        // works: the team is warned with that deadline. After it, or when the network refused a
        // token that had time left, nothing relink may send would bring the channel back.
        let stuck = rotates && refresh_uncertain_at.is_some();
        if stuck && !renewed && verdict.wants_renewal(now) {
            let ends_soon = |at: DateTime<Utc>| {
                at > now && (at - now).to_std().is_ok_and(|left| left <= crate::provider::SPENT_MARGIN)
            };
            verdict = match tokens.expires_at.filter(|at| ends_soon(*at)) {
                Some(at) => Verdict::Valid(Validity { expires_at: Some(at), ..Validity::default() }),
                None => Verdict::Dead(Reason::Expired),
            };
        }
        // A token the network refuses right after renewing it would otherwise be renewed again on
        // every check, silently: count it as an unrecognised answer, which does end in an alert.
        if renewed && verdict.wants_renewal(now) {
            verdict = Verdict::Unknown("the network refused a token it had just renewed".into());
        }
        // A Telegram group that became a supergroup has a new id: follow it instead of
        // disconnecting the channel.
        if let Some(new_id) = crate::provider::classify::moved_chat_id(&verdict) {
            let new_id = new_id.to_owned();
            self.store.move_account(claim.channel.id, &new_id, now).await?;
            let mut result = self.unchanged(&claim, now + chrono::Duration::minutes(1));
            result.detail = Some(format!("the chat moved to {new_id}; following it"));
            return Ok(Checked {
                result,
                verdict: Some(Verdict::transient("chat moved")),
                renewed,
                not_yet,
                pause: None,
            });
        }
        let mut checked = self.conclude(&claim, Some(&tokens), verdict, renewed, now);
        checked.result.refresh_uncertain_at = refresh_uncertain_at;
        checked.not_yet = not_yet;
        if stuck
            && matches!(checked.result.to, Health::Expiring | Health::NeedsReauth(Reason::Expired))
            && let Some(detail) = checked.result.detail.as_mut()
        {
            *detail = format!(
                "relink cannot renew this token: a refresh's answer was lost and the network may have used up \
                 the refresh token, whose reuse can revoke the grant; {detail}"
            );
        }
        if renewed {
            // The renewal wrote the expiry with the tokens; the probe may know better.
            checked.result.learned_expiry = checked.result.learned_expiry.or(tokens.expires_at);
            checked.result.learned_nothing_at = None;
        }
        Ok(checked)
    }

    /// Validates, and confirms a definitive or unrecognised answer with a second probe: one
    /// odd answer never tells a team to reconnect.
    /// A token that works for an account other than the channel's is `account_mismatch`, never
    /// healthy: the network's answer is compared with the stored account on every probe.
    async fn validate(
        &self,
        channel: &Channel,
        tokens: &TokenSet,
        now: DateTime<Utc>,
        prepaid: &mut bool,
    ) -> Result<Verdict> {
        let adapter = self.providers.adapter(channel.provider);
        let account = channel.external_account_id.as_str();
        let against_account = |verdict: Verdict| match verdict.named_other_account(account) {
            Some(named) => {
                tracing::warn!(channel = %channel.id, provider = %channel.provider, %named, "the token belongs to another account");
                Verdict::Dead(Reason::AccountMismatch)
            }
            None => verdict,
        };
        // A probe of two requests (Instagram via Facebook, Telegram) takes two slots: on one,
        // the network would get twice its budget.
        let requests = adapter.probe_requests();
        self.slot_for(channel.provider, requests, now, prepaid).await?;
        let first = against_account(adapter.validate(self.providers.ctx(channel.provider, now), channel, tokens).await);
        if !(first.is_definitive() || matches!(first, Verdict::Unknown(_))) {
            return Ok(first);
        }
        self.slot_for(channel.provider, requests, now, prepaid).await?;
        Ok(against_account(adapter.validate(self.providers.ctx(channel.provider, now), channel, tokens).await))
    }

    /// Waits for a request slot of the network's budget: the one the check took first, or the next.
    async fn slot(&self, provider: Provider, now: DateTime<Utc>, prepaid: &mut bool) -> Result<()> {
        self.slot_for(provider, 1, now, prepaid).await
    }

    /// Waits for the slots of `requests` requests: those the check took first, or the next.
    async fn slot_for(&self, provider: Provider, requests: u32, now: DateTime<Utc>, prepaid: &mut bool) -> Result<()> {
        if !std::mem::take(prepaid) {
            self.budgets.take_for(provider, now, false, requests).await?;
        }
        Ok(())
    }

    /// Renews `tokens` under the lease; on success the new tokens are already saved.
    async fn renew(
        &self,
        channel: &Channel,
        tokens: &mut TokenSet,
        version: &mut i64,
        now: DateTime<Utc>,
        prepaid: &mut bool,
    ) -> Result<RenewalEnd> {
        let adapter = self.providers.adapter(channel.provider);
        self.slot(channel.provider, now, prepaid).await?;
        let rotates = self.rotates(channel.provider);
        // A single-use refresh token is recorded as possibly spent before it leaves, so a lost
        // answer or a crash before the new tokens are saved never leads to sending it again. Saving
        // the new tokens clears the mark in the same statement; a refusal clears it below. One more
        // round trip per renewal: renewals are rare next to checks.
        if rotates && !self.store.mark_refresh_uncertain(channel.id, &self.config.owner, *version, now).await? {
            return Ok(RenewalEnd::Verdict(Verdict::transient("another relink process took over this channel")));
        }
        let renewed = adapter.renew(self.providers.ctx(channel.provider, now), channel, tokens).await;
        // An answer that refuses issued nothing (OAuth servers hand out the new refresh token in
        // the success answer only), and a request that never reached the network spent nothing.
        if rotates && matches!(renewed, Renewed::Refused(_) | Renewed::NotYet(_)) {
            self.store.clear_refresh_uncertain(channel.id, &self.config.owner).await?;
        }
        match renewed {
            Renewed::Tokens(new) => {
                match self
                    .store
                    .save_renewed_tokens(channel.id, &self.config.owner, *version, &new, tokens, now)
                    .await?
                {
                    Some(next_version) => {
                        let previous = std::mem::replace(tokens, new);
                        tokens.keep_from(&previous);
                        *version = next_version;
                        Ok(RenewalEnd::Done)
                    }
                    None => {
                        // Another process took over this channel: its result wins.
                        let (current, fresh) = self.store.reread_tokens(channel.id).await?;
                        *version = current;
                        *tokens = fresh;
                        Ok(RenewalEnd::Verdict(Verdict::transient("another relink process renewed this channel first")))
                    }
                }
            }
            Renewed::Refused(verdict) if verdict.is_definitive() => {
                // Re-read before believing it: a sibling may have rotated the token first.
                let (current, fresh) = self.store.reread_tokens(channel.id).await?;
                if current != *version {
                    *version = current;
                    *tokens = fresh;
                    return Ok(RenewalEnd::Done);
                }
                Ok(RenewalEnd::Verdict(verdict))
            }
            Renewed::Refused(verdict) => Ok(RenewalEnd::Verdict(verdict)),
            Renewed::NotYet(from) => Ok(RenewalEnd::NotYet(from)),
            Renewed::Uncertain(detail) => Ok(RenewalEnd::Uncertain(detail)),
        }
    }

    /// What the decision rests on; `tokens` are the channel's tokens now when a renewal
    /// replaced the claimed ones (whose refresh token may outlive the new access token or not).
    fn observed<'a>(&self, claim: &'a Claim, tokens: Option<&TokenSet>) -> Observed<'a> {
        let tokens = tokens.or(claim.tokens.as_ref().ok());
        let renewable = tokens.is_some_and(|t| self.renewable_now(claim, t));
        Observed {
            policy: self.providers.policy(claim.channel.provider),
            channel: &claim.channel,
            consecutive_failures: claim.consecutive_failures,
            failure_days: claim.failure_days,
            last_failure_day: claim.last_failure_day,
            renewable,
            first_post_due: claim.first_post_due,
            calm: claim.check_every,
        }
    }

    fn conclude(
        &self,
        claim: &Claim,
        tokens: Option<&TokenSet>,
        verdict: Verdict,
        renewed: bool,
        now: DateTime<Utc>,
    ) -> Checked {
        let decision = decide(self.observed(claim, tokens), verdict.clone(), now, &self.config.rules, &mut rand::rng());
        let pause = decision.pause_provider.map(|wait| crate::time::after(now, wait));
        if !matches!(verdict, Verdict::Valid(_) | Verdict::Transient { .. }) {
            tracing::info!(channel = %claim.channel.id, provider = %claim.channel.provider, verdict = %describe(&verdict), "check");
        }
        Checked { result: self.result(claim, decision), verdict: Some(verdict), renewed, not_yet: None, pause }
    }

    fn result(&self, claim: &Claim, decision: Decision) -> CheckResult {
        // What the probe learned is what the row held at the version the claim read (the
        // claim's channel is that row): writing it again would change nothing.
        let learned_nothing = decision.learned_expiry.is_none_or(|at| claim.channel.token_expires_at == Some(at))
            && decision.learned_scopes.as_ref().is_none_or(|scopes| *scopes == claim.channel.scopes)
            && decision.learned_grantor.as_deref().is_none_or(|grantor| claim.grantor.as_deref() == Some(grantor));
        CheckResult {
            channel_id: claim.channel.id,
            team_id: claim.channel.team_id,
            provider: claim.channel.provider,
            from: claim.channel.health.clone(),
            to: decision.to,
            detail: decision.detail,
            next_check_at: decision.next_check_at,
            consecutive_failures: decision.consecutive_failures,
            failure_days: decision.failure_days,
            last_failure_day: decision.last_failure_day,
            learned_expiry: decision.learned_expiry,
            learned_scopes: decision.learned_scopes,
            learned_grantor: decision.learned_grantor,
            refresh_uncertain_at: claim.refresh_uncertain_at,
            operator_problem: decision.operator_problem,
            previous_operator_problem: claim.operator_problem.clone(),
            pushed: claim.signalled,
            learned_nothing_at: learned_nothing.then_some(claim.version),
        }
    }

    /// A result that changes nothing but the next check (the network asked relink to wait).
    fn unchanged(&self, claim: &Claim, next_check_at: DateTime<Utc>) -> CheckResult {
        CheckResult {
            channel_id: claim.channel.id,
            team_id: claim.channel.team_id,
            provider: claim.channel.provider,
            from: claim.channel.health.clone(),
            to: claim.channel.health.clone(),
            detail: None,
            next_check_at,
            consecutive_failures: claim.consecutive_failures,
            failure_days: claim.failure_days,
            last_failure_day: claim.last_failure_day,
            learned_expiry: None,
            learned_scopes: None,
            learned_grantor: None,
            refresh_uncertain_at: claim.refresh_uncertain_at,
            operator_problem: claim.operator_problem.clone(),
            previous_operator_problem: claim.operator_problem.clone(),
            pushed: claim.signalled,
            learned_nothing_at: Some(claim.version),
        }
    }
}

/// How one renewal attempt ended, as the check goes on from it (the policy's `Renewal` is how a
/// network renews at all; [`Renewed`] is what its adapter answered).
enum RenewalEnd {
    /// New tokens, already saved (by this process or, found on re-reading, by another).
    Done,
    /// The network extends the token only from then on; it stays valid and the check goes on.
    NotYet(DateTime<Utc>),
    /// The renewal was refused or could not be tried: this verdict stands for the check.
    Verdict(Verdict),
    /// The request may have reached the network: a rotating refresh token may be spent.
    Uncertain(String),
}

/// What the running checker reports as it goes ([`run_checker_observed`]).
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// A claim query ran: how many channels it claimed and how long it took.
    Claimed { channels: usize, took: Duration },
    /// A group of finished checks was written.
    Written(Outcome),
}

/// Runs the checker until `shutdown`: see [`run_checker_observed`].
pub async fn run_checker(checker: Arc<Checker>, clock: impl Clock + Clone, shutdown: CancellationToken) {
    run_checker_observed(checker, clock, shutdown, |_| {}).await;
}

/// Runs the checker until `shutdown` as a pipeline of three stages that never wait for each
/// other's batches:
///
/// - a claimer claims due channels a batch at a time into a queue of two batches, sleeping until
///   the next channel is due when there is nothing to do; a claimed channel waits in the queue
///   for at most two batches' worth of checks, well inside its lease;
/// - `concurrency` checks run at all times, each starting as soon as one ends;
/// - a writer writes finished checks as they come, all that arrived during its last write in one
///   transaction (so it writes few large groups when the database is slow, many small ones when
///   it is fast).
///
/// A batch-at-a-time loop (claim, check everything, write everything) left the network idle
/// while it claimed and wrote, and ran its last checks with little concurrency. On shutdown the
/// claimer stops, what is claimed is checked and written, then the function returns. A database
/// error is logged and retried with backoff; it never stops the checker (claimed channels whose
/// results could not be written come due again when their lease ends).
pub async fn run_checker_observed(
    checker: Arc<Checker>,
    clock: impl Clock + Clone,
    shutdown: CancellationToken,
    observe: impl FnMut(Progress) + Send,
) {
    let batch = checker.config.batch.max(1) as usize;
    // Room for two batches, claimed one at a time: checks go on from the one already queued
    // while the next is claimed.
    let (claims_tx, claims_rx) = tokio::sync::mpsc::channel::<Claim>(batch * 2);
    let (results_tx, results_rx) = tokio::sync::mpsc::channel::<Checked>(batch * 2);
    let observe = Mutex::new(observe);
    let report = |progress: Progress| (observe.lock().expect("the observer"))(progress);

    let claimer = claim_loop(&checker, clock.clone(), &shutdown, claims_tx, &report);
    // The channels this process is checking. A check that outlives its lease (a stalled
    // process, a clock that jumped) lets its channel be claimed again; a second check beside the
    // first would present the same refresh token twice, so the new claim is left to come due
    // again after its lease instead.
    let in_flight = Arc::new(Mutex::new(std::collections::HashSet::<ChannelId>::new()));
    let checks = async {
        let claims = futures_util::stream::unfold(claims_rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
        claims
            .filter(|claim| {
                let free = checker.lease_lasts(claim, clock.now()) && {
                    let fresh = in_flight.lock().expect("the channels in flight").insert(claim.channel.id);
                    if !fresh {
                        tracing::debug!(channel = %claim.channel.id, "checker: the channel is still being checked; left for a fresh claim");
                    }
                    fresh
                };
                std::future::ready(free)
            })
            .map(|claim| {
                // Each check is a task of its own, so the checks in flight run on every worker
                // thread (one stream polling them all ran them on one). A check that panics (a
                // bug an odd answer reaches) costs its own channel, not the checks in flight
                // beside it nor the checker; a checker that is dropped stops its checks.
                let channel = claim.channel.id;
                let in_flight = in_flight.clone();
                let (checker, now) = (checker.clone(), clock.now());
                let task = AbortOnDropHandle::new(tokio::spawn(async move { checker.check_claim(claim, now).await }));
                task.map(move |outcome| {
                    in_flight.lock().expect("the channels in flight").remove(&channel);
                    outcome.map_err(|error| {
                        if error.is_panic() {
                            tracing::error!(%channel, "checker: a check panicked; its channel is retried after its lease");
                            metrics::counter!("relink_check_panics_total").increment(1);
                        }
                    })
                })
            })
            .buffer_unordered(checker.config.concurrency.max(1))
            .for_each(|checked| {
                let results_tx = results_tx.clone();
                async move {
                    match checked {
                        Ok(Ok(checked)) => {
                            let _ = results_tx.send(checked).await;
                        }
                        // The lease runs out and the channel comes due again.
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "checker: a check failed; its channel is retried later");
                        }
                        Err(()) => {}
                    }
                }
            })
            .await;
        drop(results_tx);
    };
    let writer = write_loop(&checker, clock.clone(), results_rx, batch, &report);
    tokio::join!(claimer, checks, writer);
    tracing::info!("checker stopped");
}

async fn claim_loop(
    checker: &Checker,
    clock: impl Clock,
    shutdown: &CancellationToken,
    claims: tokio::sync::mpsc::Sender<Claim>,
    report: &(impl Fn(Progress) + Sync),
) {
    let config = &checker.config;
    let mut backoff = Duration::from_secs(1);
    while !shutdown.is_cancelled() {
        // Claim only when the queue has room for a whole batch: a claim waiting in the queue
        // holds its lease, so the queue stays short.
        let room = tokio::select! {
            () = shutdown.cancelled() => break,
            room = claims.reserve_many(config.batch.max(1) as usize) => room,
        };
        let Ok(room) = room else { break };
        let now = clock.now();
        let lease_until = crate::time::after(now, config.lease);
        let started = std::time::Instant::now();
        let pause = match checker.store.claim_due(now, config.batch, &config.owner, lease_until).await {
            Ok(claimed) => {
                backoff = Duration::from_secs(1);
                let full = claimed.len() >= config.batch as usize;
                if !claimed.is_empty() {
                    report(Progress::Claimed { channels: claimed.len(), took: started.elapsed() });
                }
                for (permit, claim) in room.zip(claimed) {
                    permit.send(claim);
                }
                if full { Duration::ZERO } else { checker.until_next_due(&clock).await }
            }
            Err(error) => {
                drop(room);
                let database_down = matches!(error, StoreError::Unavailable(_));
                tracing::warn!(%error, database_down, retry_in = ?backoff, "checker: claiming failed; retrying");
                let pause = backoff;
                backoff = (backoff * 2).min(config.idle.max(Duration::from_secs(1)));
                pause
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
                () = checker.wake.rung() => {}
            }
        }
    }
}

async fn write_loop(
    checker: &Checker,
    clock: impl Clock,
    mut results: tokio::sync::mpsc::Receiver<Checked>,
    batch: usize,
    report: &(impl Fn(Progress) + Sync),
) {
    let mut group = Vec::with_capacity(batch);
    let mut backoff = Duration::from_millis(100);
    while results.recv_many(&mut group, batch).await > 0 {
        let mut outcome = Outcome::default();
        let rows: Vec<CheckResult> = group.drain(..).map(|checked| outcome.add(checked)).collect();
        outcome.claimed = rows.len();
        let started = std::time::Instant::now();
        loop {
            match checker.store.finish_checks(&checker.config.owner, &rows, clock.now()).await {
                Ok(_) => {
                    checker.written(&rows);
                    break;
                }
                // Kept and written again while the leases last; past them the channels are
                // claimed again and the results would be stale.
                Err(error) if started.elapsed() < checker.config.lease / 2 => {
                    tracing::warn!(%error, retry_in = ?backoff, "checker: writing results failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(error) => {
                    tracing::warn!(%error, results = rows.len(), "checker: results dropped; their channels come due again");
                    break;
                }
            }
        }
        backoff = Duration::from_millis(100);
        outcome.finish_time = started.elapsed();
        outcome.record_metrics();
        report(Progress::Written(outcome));
    }
}

impl Checker {
    /// Whether a queued claim's lease leaves time for its check (half the lease). One that waited
    /// too long (a network slowed down by its rate budget or a `Retry-After`) is left alone: it
    /// is due again and will be claimed afresh, instead of being checked by two claims at once,
    /// which for a rotating refresh token would spend it twice and kill the grant.
    fn lease_lasts(&self, claim: &Claim, now: DateTime<Utc>) -> bool {
        let half = crate::time::delta(self.config.lease / 2);
        let lasts = claim.lease_until - now >= half;
        if !lasts {
            tracing::debug!(channel = %claim.channel.id, "checker: a claim waited past half its lease; left for a fresh claim");
        }
        lasts
    }

    /// How long the claimer may sleep: until the next channel is due, at most `idle`.
    async fn until_next_due(&self, clock: &impl Clock) -> Duration {
        let idle = self.config.idle;
        match self.store.next_due_at().await {
            Ok(Some(next)) => (next - clock.now()).to_std().unwrap_or(Duration::ZERO).min(idle),
            Ok(None) => idle,
            Err(error) => {
                tracing::warn!(%error, "checker: cannot read the next due time");
                idle
            }
        }
    }
}
