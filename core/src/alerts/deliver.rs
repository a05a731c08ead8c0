//! Delivery workers: claim due deliveries under a lease (as the checker claims channels), send
//! each through its platform's [`Notifier`](super::Notifier), and record the outcome fenced by
//! the lease. Transient failures are retried with exponential backoff (or when the platform
//! asked); after `max_attempts`, or at once on a permanent failure, the delivery is dead-lettered
//! for operators to list and retry. A chat that is gone for good is disabled and operators are
//! told.
//!
//! A pass serves its claims in lanes, one per destination: a destination's deliveries go in
//! order, different destinations in parallel (`concurrency`), so a chat waiting out its
//! platform's per-chat limit never stalls the rest of the outbox.
//!
//! Delivery is at least once: a worker that dies after the platform accepted a message but
//! before recording it sends it again after the lease. Every attempt carries the delivery's
//! idempotency key, so platforms that can drop duplicates do.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Notify;

use super::model::{Alert, AlertId, AlertKind, AtRisk, Destination, Severity};
use super::notify::{LinkMinter, Notifiers, NotifyError, Outgoing, SentRef};
use crate::domain::Language;
use crate::store::{ClaimedDelivery, DeliveryResult, Result, Store};

/// The delivery workers' settings.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// This process's name in leases; unique per process.
    pub owner: String,
    /// Deliveries claimed per pass.
    pub batch: u32,
    /// How long a claim holds a delivery; a crashed worker's deliveries come due after it.
    pub lease: Duration,
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// The wait after the first failure, doubled after each further one…
    pub backoff_base: Duration,
    /// …up to this.
    pub backoff_max: Duration,
    /// Where operators are told about chats that are gone.
    pub operators: Destination,
    /// The longest the alerts loop sleeps without looking: events written by another process
    /// (the checker, the CLI) are noticed within this time.
    pub idle: Duration,
    /// Destinations served at once in a pass. Each destination's deliveries go in order, one
    /// after another; different destinations go in parallel, so one chat waiting for its
    /// platform's per-chat limit does not hold up the others. A lane mostly waits for its
    /// platform's budget, so hundreds cost little; with a batch as large, a pass keeps a
    /// platform's overall cap busy even when each chat has several alerts queued.
    pub concurrency: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            owner: format!("relink-{}-{:08x}", std::process::id(), rand::random::<u32>()),
            // A burst of five alerts to each of 200 Telegram groups is claimed whole: with fewer
            // groups in hand than the 90 that fill the bot's 30/s at one message per group every
            // 3 s, the last groups' bursts would end long after the others.
            batch: 1_024,
            lease: Duration::from_secs(120),
            max_attempts: 8,
            backoff_base: Duration::from_secs(30),
            backoff_max: Duration::from_secs(3_600),
            operators: Destination::Log,
            idle: Duration::from_secs(15),
            concurrency: 1_024,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
    /// Earlier messages edited to show their incident resolved.
    pub edited: usize,
    /// Left for the process that delivers for their platform, without counting an attempt.
    pub deferred: usize,
}

/// The wait before attempt `attempts + 1`, after `attempts` failures.
pub fn backoff(config: &DeliveryConfig, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    config.backoff_base.saturating_mul(1 << doublings).min(config.backoff_max)
}

/// Adds a lane's outcome to the pass's.
fn add(outcome: &mut DeliveryOutcome, lane: DeliveryOutcome) {
    outcome.sent += lane.sent;
    outcome.retried += lane.retried;
    outcome.dead += lane.dead;
    outcome.edited += lane.edited;
    outcome.deferred += lane.deferred;
}

/// A claim's deliveries as lanes, one per destination, each in claim order (a resolution after
/// the alert it resolves); the lanes in the order of their first claim (earliest due first).
fn lanes(claims: Vec<ClaimedDelivery>) -> Vec<Vec<ClaimedDelivery>> {
    let mut lanes: Vec<Vec<ClaimedDelivery>> = Vec::new();
    let mut lane_of: HashMap<Destination, usize> = HashMap::new();
    for claim in claims {
        match lane_of.get(&claim.destination) {
            Some(&lane) => lanes[lane].push(claim),
            None => {
                lane_of.insert(claim.destination, lanes.len());
                lanes.push(vec![claim]);
            }
        }
    }
    lanes
}

/// The delivery workers.
#[derive(Debug)]
pub struct Deliverer {
    store: Store,
    notifiers: Notifiers,
    minter: Arc<dyn LinkMinter>,
    config: DeliveryConfig,
}

impl Deliverer {
    pub fn new(store: Store, notifiers: Notifiers, minter: Arc<dyn LinkMinter>, config: DeliveryConfig) -> Self {
        Self { store, notifiers, minter, config }
    }

    /// One pass: claims the deliveries due at `now` and attempts each.
    ///
    /// The pass claims again whenever it holds less than three quarters of a batch (for the
    /// first quarter of a lease, or `idle` if longer, but never past half the lease; then it
    /// only finishes what it holds, and the alerts loop gets its turn): enough chats stay in
    /// hand to keep a platform's overall budget busy while each waits out its own limit (a
    /// Telegram group takes one message every 3 s: 30 messages a second need 90 groups at
    /// once), instead of idling until the slowest lane of a claim ends.
    ///
    /// A claim is made as late as it is, and past a whole lease it would find the pass's own
    /// earlier claims run out and take them again while their lanes still hold them: two lanes
    /// of one owner on one delivery, one sending it while the other hands it back as pending
    /// (sent twice). Half a lease keeps every claim of a pass clear of its earlier ones.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<DeliveryOutcome> {
        let started = std::time::Instant::now();
        let batch = usize::try_from(self.config.batch).unwrap_or(usize::MAX).max(1);
        let concurrency = self.config.concurrency.max(1);
        // Deliveries claimed and not yet recorded; lanes add to `done` as they record one.
        let done = AtomicUsize::new(0);
        let progress = Notify::new();
        let mut held = 0_usize;
        let mut waiting: VecDeque<Vec<ClaimedDelivery>> = VecDeque::new();
        let mut running = FuturesUnordered::new();
        let mut outcome = DeliveryOutcome::default();
        let mut claiming = true;
        let refill_for = self.config.idle.max(self.config.lease / 4).min(self.config.lease / 2);
        loop {
            let open = held.saturating_sub(done.load(Ordering::SeqCst));
            if claiming && open <= batch - batch / 4 && (outcome.claimed == 0 || started.elapsed() < refill_for) {
                // Later claims are made as late as they are: leases are counted from then.
                let at = crate::time::after(now, started.elapsed());
                let limit = u32::try_from(batch - open).unwrap_or(u32::MAX);
                let claim = self.store.claim_deliveries(
                    at,
                    limit,
                    &self.config.owner,
                    crate::time::after(at, self.config.lease),
                );
                tokio::pin!(claim);
                // The lanes go on meanwhile: one of them may hold the database connection the
                // claim waits for (SQLite has one writer).
                let claims = loop {
                    tokio::select! {
                        claims = &mut claim => break claims?,
                        Some(lane) = running.next() => add(&mut outcome, lane?),
                    }
                };
                if claims.is_empty() {
                    claiming = false;
                } else {
                    outcome.claimed += claims.len();
                    held += claims.len();
                    waiting.extend(lanes(claims));
                }
            } else if claiming && outcome.claimed > 0 && started.elapsed() >= refill_for {
                claiming = false;
            }
            while running.len() < concurrency
                && let Some(lane) = waiting.pop_front()
            {
                running.push(self.deliver_lane(lane, now, &done, &progress));
            }
            if running.is_empty() && !claiming {
                break;
            }
            tokio::select! {
                Some(lane) = running.next() => add(&mut outcome, lane?),
                () = progress.notified(), if claiming => {}
                else => break,
            }
        }
        Ok(outcome)
    }

    /// Attempts one destination's deliveries in order and records each.
    /// A lane that has run for half the lease hands its other claims back, due at once, instead
    /// of sending them after the lease and perhaps twice.
    async fn deliver_lane(
        &self,
        lane: Vec<ClaimedDelivery>,
        now: DateTime<Utc>,
        done: &AtomicUsize,
        progress: &Notify,
    ) -> Result<DeliveryOutcome> {
        let started = std::time::Instant::now();
        let mut outcome = DeliveryOutcome::default();
        let mut lane = lane.into_iter();
        while let Some(claim) = lane.next() {
            if started.elapsed() > self.config.lease / 2 {
                // Handed back due now rather than left leased: kept, they would wait out the
                // rest of the lease while the platform's budget idles.
                tracing::info!(destination = %claim.destination, "a busy destination's further deliveries are handed back for the next claim");
                for left in std::iter::once(claim).chain(lane.by_ref()) {
                    let handed_back = DeliveryResult::Defer { at: now };
                    self.store.finish_delivery(left.id, &self.config.owner, &handed_back, now).await?;
                    outcome.deferred += 1;
                    done.fetch_add(1, Ordering::SeqCst);
                    progress.notify_one();
                }
                break;
            }
            let (result, edited) = self.attempt(&claim, now).await;
            let platform = claim.destination.platform().map_or("console", |p| p.as_str());
            match &result {
                DeliveryResult::Sent(_) => {
                    outcome.sent += 1;
                    metrics::counter!("relink_alerts_delivered_total", "platform" => platform).increment(1);
                }
                DeliveryResult::Retry { error, .. } => {
                    outcome.retried += 1;
                    tracing::info!(delivery = %claim.id, destination = %claim.destination, %error, "delivery will be retried");
                }
                DeliveryResult::Dead { error } => {
                    outcome.dead += 1;
                    metrics::counter!("relink_alerts_failed_total", "platform" => platform).increment(1);
                    tracing::warn!(delivery = %claim.id, destination = %claim.destination, %error, "delivery failed for good; `relink alerts failed` lists it");
                }
                DeliveryResult::Defer { .. } => outcome.deferred += 1,
            }
            outcome.edited += usize::from(edited);
            if !self.store.finish_delivery(claim.id, &self.config.owner, &result, now).await? {
                tracing::warn!(delivery = %claim.id, "the delivery's lease ran out before it was recorded");
            }
            done.fetch_add(1, Ordering::SeqCst);
            progress.notify_one();
        }
        Ok(outcome)
    }

    /// The longest the alerts loop may sleep.
    pub fn idle(&self) -> Duration {
        self.config.idle
    }

    /// When the earliest pending delivery is due.
    pub async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>> {
        self.store.next_delivery_at().await
    }

    /// Attempts one delivery; returns its result and whether an earlier message was edited.
    async fn attempt(&self, claim: &ClaimedDelivery, now: DateTime<Utc>) -> (DeliveryResult, bool) {
        let to = claim.destination;
        let links = match &claim.alert.reconnect {
            Some(action) if to.is_private() => self.minter.mint(action, to, now).await.unwrap_or_else(|error| {
                tracing::warn!(delivery = %claim.id, %error, "cannot mint reconnect links; the alert goes without them");
                Vec::new()
            }),
            _ => Vec::new(),
        };
        let message =
            Outgoing { alert: &claim.alert, idempotency_key: &claim.idempotency_key, reconnect_links: &links };
        // A digest brought up to date later the same day changes the message people already
        // have; where it cannot (not sent yet, a platform that cannot edit, an edit refused),
        // the digest stays as it was rather than arriving twice.
        let edit_only = claim.alert.kind == AlertKind::Reminder && claim.alert.edits.is_some();
        let Some(notifier) = self.notifiers.for_destination(to) else {
            if edit_only {
                return (DeliveryResult::Sent(SentRef(String::new())), false);
            }
            return (DeliveryResult::Sent(self.notifiers.console().show(to, &message)), false);
        };
        if edit_only {
            let Some(sent) = &claim.edit else { return (DeliveryResult::Sent(SentRef(String::new())), false) };
            return match notifier.edit(to, sent, &message).await {
                Ok(()) => (DeliveryResult::Sent(sent.clone()), true),
                Err(NotifyError::Transient { retry_after, detail })
                    if claim.attempts + 1 < self.config.max_attempts =>
                {
                    let asked = retry_after.map(crate::time::network_wait).unwrap_or_default();
                    let at = crate::time::after(now, backoff(&self.config, claim.attempts + 1).max(asked));
                    (DeliveryResult::Retry { at, error: detail }, false)
                }
                Err(error) => {
                    tracing::info!(delivery = %claim.id, %error, "cannot bring the day's digest up to date; it stays as sent");
                    (DeliveryResult::Sent(sent.clone()), false)
                }
            };
        }
        if let Some(sent) = &claim.edit {
            match notifier.edit(to, sent, &message).await {
                // The edited message says it: a second "connected again" would say it twice.
                Ok(()) => return (DeliveryResult::Sent(sent.clone()), true),
                Err(NotifyError::Unsupported) => {}
                Err(error) => tracing::info!(delivery = %claim.id, %error, "cannot mark the earlier message resolved"),
            }
        }
        let result = match notifier.send(to, &message).await {
            Ok(sent) => DeliveryResult::Sent(sent),
            Err(NotifyError::Transient { retry_after, detail }) => {
                let attempts = claim.attempts + 1;
                if attempts >= self.config.max_attempts {
                    DeliveryResult::Dead { error: format!("gave up after {attempts} attempts: {detail}") }
                } else {
                    let asked = retry_after.map(crate::time::network_wait).unwrap_or_default();
                    let wait = backoff(&self.config, attempts).max(asked);
                    let at = crate::time::after(now, wait);
                    DeliveryResult::Retry { at, error: detail }
                }
            }
            Err(NotifyError::Permanent(detail)) => {
                self.chat_is_gone(claim, &detail, now).await;
                DeliveryResult::Dead { error: detail }
            }
            Err(NotifyError::Unsupported) => {
                DeliveryResult::Dead { error: format!("{} cannot deliver to {to}", notifier.platform()) }
            }
            Err(NotifyError::Elsewhere { retry_after }) => {
                DeliveryResult::Defer { at: crate::time::after(now, retry_after) }
            }
        };
        (result, false)
    }

    /// A team's chat refused for good (deleted, bot removed): disable its binding so no further
    /// alert goes there, and tell the operators.
    async fn chat_is_gone(&self, claim: &ClaimedDelivery, detail: &str, now: DateTime<Utc>) {
        let to = claim.destination;
        let (Some(platform), Destination::DiscordChannel(chat) | Destination::TelegramChat(chat)) = (to.platform(), to)
        else {
            return;
        };
        if to == self.config.operators {
            return;
        }
        let team = claim.alert.team_id;
        if let Err(error) = self.store.set_chat_enabled(team, platform, chat, false).await {
            tracing::warn!(%error, destination = %to, "cannot disable a chat that is gone");
            return;
        }
        let notice = Alert {
            id: AlertId::UNSAVED,
            kind: AlertKind::OperatorProblem,
            severity: Severity::Warning,
            language: Language::En,
            team_id: team,
            team: claim.alert.team.clone(),
            channels: Vec::new(),
            incidents: Vec::new(),
            reason: None,
            detail: Some(detail.to_owned()),
            title: format!("relink stopped sending to the {platform} chat {chat} of {}", claim.alert.team),
            explanation: format!("Sending an alert there failed for good ({detail}), so the chat's binding is disabled."),
            remedy: "Once the bot is back in the chat, bind it again (or bind another chat) so the team hears about its channels."
                .into(),
            authorised_by: None,
            at_risk: AtRisk::default(),
            deadline: None,
            reconnect: None,
            edits: None,
            unlisted: 0,
            zone: None,
            created_at: now,
        };
        if let Err(error) = self.store.enqueue_alert(&notice, &[self.config.operators], now).await {
            tracing::warn!(%error, "cannot tell the operators about a chat that is gone");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let config = DeliveryConfig::default();
        let waits: Vec<u64> = (1..=9).map(|n| backoff(&config, n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1_920, 3_600, 3_600]);
    }
}
