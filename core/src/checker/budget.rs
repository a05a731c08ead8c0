//! Each network's request budget, one across every relink process on the database.
//!
//! The budget is a virtual schedule per network in the database (`network_budget`): request
//! slots `1 / rate_per_second` apart, like the Telegram budget. A checker does not reserve a slot
//! per request, which would put a database round trip on every probe: it reserves a block of a
//! tenth of a second's slots in one statement and spends them in memory, each request waiting for
//! its slot. Slots a process leaves unused go to waste (they are never moved later, where they
//! would crowd another process's), so all processes together never send more than the rate, and
//! a process that cannot reach the database sends nothing beyond the block it holds: it retries
//! with backoff, then gives the check up (its channel comes due again after its lease).
//!
//! A network's pause (`Retry-After`, usage headers) is stored beside its schedule: a process
//! that sees it pauses at once, the others at their next reservation (within a tenth of a second
//! of checks) and start no check of that network until it ends.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

use crate::domain::Provider;
use crate::provider::Providers;
use crate::store::{Reserved, Result, Store};

/// How much of a network's budget one reservation takes: a tenth of a second's slots, at least
/// one. At most ten round trips a second per network and process, whatever the rate.
const BLOCK: Duration = Duration::from_millis(100);

/// The timer's grain, in microseconds: a shorter wait is not waited.
const GRAIN: i64 = 1_000;

/// How many times a request that woke too late for its slot takes another.
const LATE_RETRIES: u32 = 3;

/// How late after its slot a request may still go, in microseconds: up to the next slot (then
/// any one second holds at most one request more than the rate), and at least the timer's grain.
fn late_by(interval: i64) -> i64 {
    interval.max(GRAIN)
}

/// Microseconds since the Unix epoch on the system clock: every process's schedule is on it.
fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// A network's slot interval and the span of one reservation, in microseconds, for `rate`
/// requests a second: slots at least a microsecond apart, rounded up so the rate is never passed,
/// and as many whole slots as fit in a [`BLOCK`], at least one. (Counting the block's slots from
/// the rate instead would make a rate above a million a second, whose interval rounds up to a
/// microsecond, reserve a thousand times a block's time, and every other process wait for it.)
fn schedule(rate: f64) -> (i64, i64) {
    let rate = if rate.is_nan() { 0.001 } else { rate.clamp(0.001, 1.0e9) };
    // Truncation is intended: whole microseconds, and a rate of at least 0.001 gives at most 1e9.
    #[allow(clippy::cast_possible_truncation)]
    let interval = ((1_000_000.0 / rate).ceil() as i64).max(1);
    let block = i64::try_from(BLOCK.as_micros()).unwrap_or(i64::MAX);
    let slots = (block / interval).max(1);
    (interval, interval.saturating_mul(slots))
}

/// Whether a request may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    /// Its slot has come.
    Go,
    /// The network asked relink to wait until then.
    Paused(DateTime<Utc>),
}

/// The slots a process holds of one network's schedule: `next`, `next + interval`, … before `end`.
#[derive(Debug, Default)]
struct Block {
    next: i64,
    end: i64,
}

#[derive(Debug)]
struct Network {
    /// Microseconds between two requests.
    interval: i64,
    /// Microseconds of the schedule one reservation takes: whole slots.
    span: i64,
    block: tokio::sync::Mutex<Block>,
}

/// The budgets of every network, as this process spends them.
#[derive(Debug)]
pub struct Budgets {
    store: Store,
    networks: HashMap<Provider, Network>,
    /// Networks that asked relink to wait, until when, as this process last heard.
    paused: Mutex<HashMap<Provider, DateTime<Utc>>>,
    /// How long a process that cannot reach the database keeps trying before giving a check up.
    patience: Duration,
}

impl Budgets {
    pub fn new(store: Store, providers: &Providers, patience: Duration) -> Self {
        let networks = Provider::ALL
            .iter()
            .map(|provider| {
                let (interval, span) = schedule(providers.config(*provider).rate_per_second);
                (*provider, Network { interval, span, block: tokio::sync::Mutex::default() })
            })
            .collect();
        Self { store, networks, paused: Mutex::new(HashMap::new()), patience }
    }

    /// Until when `provider` asked relink to wait, as this process knows it.
    pub fn paused_until(&self, provider: Provider, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let paused = self.paused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        paused.get(&provider).copied().filter(|until| *until > now)
    }

    fn note_pause(&self, provider: Provider, until: DateTime<Utc>) {
        let mut paused = self.paused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = paused.entry(provider).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// `provider` asked relink to wait until `until`: this process stops at once, and the pause is
    /// stored for the others. Failing to store it only delays the others.
    pub async fn pause(&self, provider: Provider, until: DateTime<Utc>) {
        self.note_pause(provider, until);
        if let Some(network) = self.networks.get(&provider) {
            // The slots held are given up: the next request reserves, and sees the pause.
            *network.block.lock().await = Block::default();
        }
        if let Err(error) = self.store.pause_network(provider, until).await {
            tracing::warn!(%error, %provider, "checker: the network's pause could not be stored for other processes");
        }
    }

    /// Waits for `provider`'s next request slot. With `gate`, a paused network gives
    /// [`Permit::Paused`] instead (the first request of a check); without, the slot is taken
    /// anyway (the further requests of a check already started). An error when the database
    /// stayed unreachable for the patience: nothing may be sent.
    pub async fn take(&self, provider: Provider, now: DateTime<Utc>, gate: bool) -> Result<Permit> {
        self.take_for(provider, now, gate, 1).await
    }

    /// [`Budgets::take`] for `requests` requests sent one after the other as soon as it returns
    /// (a probe of two requests): it takes that many consecutive slots and returns at the first,
    /// so the requests fall within their slots' time, never two on one slot.
    ///
    /// A request that wakes late for its slot (a busy machine, a slow reservation) would go close
    /// behind the next requests, which are on time, and several missed slots would go as one
    /// burst: past [`late_by`] it gives its slot up, like any unused slot, and takes the next free
    /// one ([`LATE_RETRIES`] times at most; then it goes late, on its slot).
    pub async fn take_for(&self, provider: Provider, now: DateTime<Utc>, gate: bool, requests: u32) -> Result<Permit> {
        let mut late = 0;
        loop {
            if gate && let Some(until) = self.paused_until(provider, now) {
                return Ok(Permit::Paused(until));
            }
            let Some(network) = self.networks.get(&provider) else { return Ok(Permit::Go) };
            let slot = match self.slot(provider, network, now, gate, requests).await? {
                Ok(slot) => slot,
                Err(until) => return Ok(Permit::Paused(until)),
            };
            // A wait shorter than the timer's grain (a millisecond) would last a whole
            // millisecond and hold back every request of a fast network: such a request goes at
            // once, at most a millisecond early, which adds at most a millisecond's worth to any
            // second's count.
            let wait = slot.saturating_sub(now_micros());
            if wait > GRAIN {
                tokio::time::sleep(Duration::from_micros(wait.unsigned_abs())).await;
            }
            if now_micros().saturating_sub(slot) <= late_by(network.interval) || late == LATE_RETRIES {
                return Ok(Permit::Go);
            }
            late += 1;
        }
    }

    /// Takes `requests` consecutive slots of `network`'s schedule and gives the first, reserving
    /// a block when what this process holds is too short; or until when the network is paused.
    async fn slot(
        &self,
        provider: Provider,
        network: &Network,
        now: DateTime<Utc>,
        gate: bool,
        requests: u32,
    ) -> Result<std::result::Result<i64, DateTime<Utc>>> {
        let need = network.interval.saturating_mul(i64::from(requests.max(1)));
        let mut block = network.block.lock().await;
        let current = now_micros();
        // Slots already past are dropped, never spent late in a burst.
        let mut slot = block.next;
        if slot < current {
            let behind = current.saturating_sub(slot);
            let skipped = behind.saturating_add(network.interval - 1) / network.interval;
            slot = slot.saturating_add(skipped.saturating_mul(network.interval));
        }
        if slot.saturating_add(need) > block.end {
            // What is left of the block is too short: it goes to waste, like any unused slot.
            let span = network.span.max(need);
            match self.reserve(provider, span, now, gate).await? {
                Reserved::Paused(until) => {
                    self.note_pause(provider, until);
                    return Ok(Err(until));
                }
                Reserved::From(start) => {
                    block.end = start.saturating_add(span);
                    slot = start;
                }
            }
        }
        block.next = slot.saturating_add(need);
        Ok(Ok(slot))
    }

    /// Reserves a block, retrying with backoff while the database cannot be reached.
    async fn reserve(&self, provider: Provider, span: i64, now: DateTime<Utc>, gate: bool) -> Result<Reserved> {
        let started = tokio::time::Instant::now();
        let mut backoff = Duration::from_millis(50);
        loop {
            let earliest = now_micros();
            match self.store.reserve_network_slots(provider, earliest, span, gate.then_some(now)).await {
                Ok(reserved) => return Ok(reserved),
                Err(error) if started.elapsed() < self.patience => {
                    tracing::warn!(%error, %provider, retry_in = ?backoff, "checker: the network's budget cannot be read; waiting");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                Err(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_above_a_million_a_second_reserves_a_tenth_of_a_second_not_a_hundred_seconds() {
        for rate in [1.0e9, 1.0e7, f64::INFINITY] {
            let (interval, span) = schedule(rate);
            assert_eq!(interval, 1, "{rate}");
            assert_eq!(span, 100_000, "{rate}: a block is a tenth of a second of the schedule");
        }
    }

    #[test]
    fn a_block_holds_a_tenth_of_a_seconds_slots_and_never_more_than_the_rate() {
        // (rate, interval µs, span µs)
        let table = [
            (1_000.0, 1_000, 100_000),
            (20.0, 50_000, 100_000),
            (3.0, 333_334, 333_334),
            (0.001, 1_000_000_000, 1_000_000_000),
            (100_000.0, 10, 100_000),
            (f64::NAN, 1_000_000_000, 1_000_000_000),
        ];
        for (rate, interval, span) in table {
            assert_eq!(schedule(rate), (interval, span), "{rate}");
        }
    }
}
