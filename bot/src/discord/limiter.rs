//! The REST rate limiter: every request waits here for its route's bucket and, unless it is an
//! interaction response, for the bot's global budget, so the bot stays under Discord's limits
//! *before* Discord answers 429.
//!
//! - **Global**: evenly spaced instants a little under Discord's 50 requests per second (49/s,
//!   one at a time), because requests that leave 20.4 ms apart can still arrive bunched. Only a
//!   request whose bucket allows it gets an instant, so the budget is never spent on one that
//!   would have to wait.
//! - **Per bucket**: what the last answer of a route's bucket announced
//!   (`X-RateLimit-Limit/Remaining/Reset-After`), minus the requests of that bucket still in
//!   flight; a request waits for the reset when nothing remains. Buckets are keyed as serenity
//!   keys them: the route and its major parameter (channel, application, interaction). A bucket
//!   nothing has been heard of yet lets one request through and holds the rest until its answer
//!   announces the limit, so a burst to a new channel cannot overrun a bucket it does not know.
//! - **Order: round robin over buckets.** Waiting requests queue per bucket, first come first
//!   served within it. Each global instant goes to the first bucket, in turn order, whose next
//!   request may go; that bucket then goes to the back of the turns, while a bucket that has to
//!   wait keeps its place and is served first once it may send again. So the global budget is
//!   idle only when no waiting request's bucket allows one; a flooded channel gets one instant
//!   per round and never starves the others; and a channel's requests are spread over a busy
//!   period instead of being served together wherever they happened to queue. (First come,
//!   first served across buckets sent a channel's requests together when they had queued
//!   together, for instance behind the first answer of a bucket nothing was known of; at the
//!   end of a burst that was more than the channel's window allows, and the global budget sat
//!   idle while they waited for the channel's reset.)
//! - **429**: a request that is refused anyway pauses its bucket (or, when Discord says
//!   `global`, every request) for the `retry_after` it was given.
//!
//! The queue is served by the requests waiting in it, not by a task of its own (nothing to
//! spawn or stop, whatever runtime the limiter is used on): the waiting request that holds the
//! *seat* grants every request its instant as it comes, until its own turn, then hands the seat
//! to the next one waiting. A global instant is chosen when the request granted the previous
//! one leaves, so at most one request holds an instant ahead, it takes its bucket's slot as of
//! the instant it leaves, and a request that wakes late (a busy machine) delays the ones after
//! it instead of leaving bunched with them.
//!
//! One limiter per process: the delivery lease (see `notifier`) makes one process at a time the
//! one that sends alerts, which is how several relink processes share one bot's budget.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serenity::http::RatelimitingBucket;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

/// Discord's global limit for a bot, requests per second.
pub const DISCORD_GLOBAL_LIMIT: u32 = 50;

/// The pace relink keeps: 49 requests per second, one at a time.
pub const GLOBAL_INTERVAL: Duration = Duration::from_micros(1_000_000 / 49 + 1);

/// What a bucket's last answer announced, what this process has spent since, and who waits.
#[derive(Debug, Default)]
struct Bucket {
    /// Requests left in the current window, after the ones in flight; `None` until announced.
    remaining: Option<u32>,
    /// When the current window ends.
    reset_at: Option<Instant>,
    /// The window's size, once announced.
    limit: Option<u32>,
    in_flight: u32,
    /// The requests waiting for this bucket, in the order they came.
    waiting: VecDeque<Waiter>,
}

/// A request waiting in the queue.
#[derive(Debug)]
struct Waiter {
    /// Whether it needs a global instant (everything but interaction responses).
    global: bool,
    /// Receives the instant the request may leave at.
    grant: oneshot::Sender<Instant>,
}

/// The limiter's state: the buckets, the turns, the global budget.
#[derive(Debug)]
struct Queue {
    /// The space between two global instants.
    interval: Duration,
    buckets: HashMap<RatelimitingBucket, Bucket>,
    /// The buckets with waiting requests, in turn order: a bucket is here exactly when its
    /// `waiting` is not empty.
    turns: VecDeque<RatelimitingBucket>,
    /// The last global instant granted; the next one is `interval` later at the earliest.
    last_global: Option<Instant>,
    /// Whether the request granted `last_global` has yet to leave. The next instant is chosen
    /// only once it has, so a request that wakes late (a busy machine) delays the ones after
    /// it instead of leaving bunched with them.
    leaving: bool,
    /// Set by a global 429: nothing is granted before then.
    paused_until: Option<Instant>,
}

/// What a request must wait for before its bucket lets it go.
enum Wait {
    Until(Instant),
    /// The first answer of a bucket nothing is known of yet.
    Answer,
}

impl Queue {
    fn new(interval: Duration) -> Self {
        Self {
            interval,
            buckets: HashMap::new(),
            turns: VecDeque::new(),
            last_global: None,
            leaving: false,
            paused_until: None,
        }
    }

    /// Queues a request of `key`; the receiver gets its instant.
    fn enqueue(&mut self, key: RatelimitingBucket, global: bool) -> oneshot::Receiver<Instant> {
        let (grant, granted) = oneshot::channel();
        let bucket = self.buckets.entry(key).or_default();
        if bucket.waiting.is_empty() {
            self.turns.push_back(key);
        }
        bucket.waiting.push_back(Waiter { global, grant });
        granted
    }

    /// Grants, at `now`, every request that may go: the next global instant to the first
    /// bucket in turn order whose next request may take it, and an instant now to each
    /// interaction response its bucket allows. Returns when to serve again at the latest
    /// (`None`: only when something changes — a request comes, an answer arrives).
    fn serve(&mut self, now: Instant) -> Option<Instant> {
        if let Some(until) = self.paused_until.filter(|until| *until > now) {
            return Some(until);
        }
        // The next instant is chosen once the last one's request has left: what is known then
        // decides it.
        let mut global_at = match self.last_global {
            _ if self.leaving => None,
            Some(last) => Some((last + self.interval).max(now)),
            None => Some(now),
        };
        let mut wake: Option<Instant> = None;
        let mut served = None;
        for key in &self.turns {
            let Some(bucket) = self.buckets.get_mut(key) else { continue };
            // Requests given up while they waited leave the queue.
            while bucket.waiting.front().is_some_and(|w| w.grant.is_closed()) {
                bucket.waiting.pop_front();
            }
            while let Some(head) = bucket.waiting.front() {
                let at = match (head.global, global_at) {
                    (false, _) => now,
                    (true, Some(at)) => at,
                    (true, None) => break,
                };
                match wait_for(bucket, at) {
                    Some(Wait::Until(reset)) => {
                        wake = Some(wake.map_or(reset, |w| w.min(reset)));
                        break;
                    }
                    Some(Wait::Answer) => break,
                    None => {}
                }
                let Some(head) = bucket.waiting.pop_front() else { break };
                take(bucket, at);
                let sent = head.grant.send(at).is_ok();
                if !sent {
                    // Given up just now: the slot stays spent, the request is not in flight.
                    bucket.in_flight = bucket.in_flight.saturating_sub(1);
                }
                if head.global {
                    self.last_global = Some(at);
                    self.leaving = sent;
                    global_at = None;
                    served = Some(*key);
                    break;
                }
            }
        }
        // The bucket served goes to the back; the others keep their places; empty ones leave.
        let buckets = &self.buckets;
        let has_waiting = |key: &RatelimitingBucket| buckets.get(key).is_some_and(|b| !b.waiting.is_empty());
        self.turns.retain(|key| Some(*key) != served && has_waiting(key));
        if let Some(key) = served.filter(has_waiting) {
            self.turns.push_back(key);
        }
        wake
    }

    /// The request granted the last global instant has left, or given up.
    fn left(&mut self) {
        self.leaving = false;
    }

    /// Records the answer to a request of `key`, received at `now`: its announcement, and a
    /// 429's pause.
    fn answered(
        &mut self,
        key: RatelimitingBucket,
        now: Instant,
        announced: Announced,
        refused_for: Option<(Duration, bool)>,
    ) {
        let state = self.buckets.entry(key).or_default();
        state.in_flight = state.in_flight.saturating_sub(1);
        if let Some(limit) = announced.limit {
            state.limit = Some(limit);
        }
        if let Some(remaining) = announced.remaining {
            // The answer counted up to this request; the others in flight will spend more.
            state.remaining = Some(remaining.saturating_sub(state.in_flight));
        }
        if let Some(after) = announced.reset_after {
            state.reset_at = Some(now + after);
        }
        match refused_for {
            Some((after, true)) => {
                let until = now + after;
                self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
            }
            Some((after, false)) => {
                state.remaining = Some(0);
                state.reset_at = Some(state.reset_at.map_or(now + after, |r| r.max(now + after)));
            }
            None => {}
        }
    }
}

/// Takes a slot of `state` for a request that leaves at `at` (its bucket allows it then).
fn take(state: &mut Bucket, at: Instant) {
    match (state.remaining, state.reset_at) {
        (Some(_), Some(reset)) if reset <= at => {
            // A new window: what the last announcement allowed, less this request.
            state.remaining = state.limit.map(|l| l.saturating_sub(state.in_flight + 1));
            state.reset_at = None;
        }
        (remaining, _) => state.remaining = remaining.map(|r| r.saturating_sub(1)),
    }
    state.in_flight += 1;
}

/// What a request of a bucket in `state` leaving at `at` must wait for, if anything.
fn wait_for(state: &Bucket, at: Instant) -> Option<Wait> {
    match (state.remaining, state.reset_at) {
        (None, _) if state.limit.is_none() && state.in_flight > 0 => Some(Wait::Answer),
        (Some(0), Some(reset)) if reset > at => Some(Wait::Until(reset)),
        // A new window whose requests are spent before its reset is known.
        (Some(0), None) if state.in_flight > 0 => Some(Wait::Answer),
        _ => None,
    }
}

/// The process's limiter for one bot token.
#[derive(Debug)]
pub struct Limiter {
    queue: Mutex<Queue>,
    /// Held by the waiting request that serves the queue.
    seat: tokio::sync::Mutex<()>,
    /// Wakes the request in the seat: a request came, left or was answered. It keeps one
    /// wake-up for a seat holder that is busy, so none is missed.
    changed: Notify,
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new(GLOBAL_INTERVAL)
    }
}

/// A bucket's announcement, read from an answer's headers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Announced {
    pub limit: Option<u32>,
    pub remaining: Option<u32>,
    pub reset_after: Option<Duration>,
}

impl Announced {
    pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Self {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        Self {
            limit: text("x-ratelimit-limit").and_then(|v| v.parse().ok()),
            remaining: text("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            reset_after: text("x-ratelimit-reset-after")
                .and_then(|v| v.parse::<f64>().ok())
                .and_then(relink_core::time::network_wait_secs_f64),
        }
    }
}

/// A request allowed to go, counted in flight in its bucket until [`Permit::finished`] records
/// its answer. Dropped without one (the request failed before an answer, or its caller gave
/// up), it stops counting as in flight and its slot stays spent, so the bucket never waits for
/// an answer that will not come.
#[derive(Debug)]
#[must_use = "the request counts as in flight until its answer is recorded"]
pub struct Permit<'a> {
    limiter: &'a Limiter,
    bucket: RatelimitingBucket,
    /// Holds the last global instant and has not left yet.
    leaving: bool,
    answered: bool,
}

impl Permit<'_> {
    /// Lets the queue choose the next global instant: this request is on its way.
    fn leave(&mut self) {
        if std::mem::take(&mut self.leaving) {
            self.limiter.queue().left();
            self.limiter.changed.notify_one();
        }
    }

    /// Records the answer: the bucket's announcement and, for a 429, how long to pause (and
    /// whether Discord said the refusal was global).
    pub fn finished(mut self, announced: Announced, refused_for: Option<(Duration, bool)>) {
        self.answered = true;
        self.limiter.answered(self.bucket, announced, refused_for);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.leave();
        if !self.answered {
            self.limiter.answered(self.bucket, Announced::default(), None);
        }
    }
}

/// A request in the queue, from its caller's side. Dropped with its grant unread (the caller
/// gave up just as its instant came), it gives the slot back as a dropped [`Permit`] does;
/// dropped before, its waiter is skipped by the queue.
struct Ticket<'a> {
    limiter: &'a Limiter,
    bucket: RatelimitingBucket,
    global: bool,
    granted: oneshot::Receiver<Instant>,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.granted.try_recv().is_ok() {
            drop(Permit { limiter: self.limiter, bucket: self.bucket, leaving: self.global, answered: false });
        }
    }
}

impl Limiter {
    /// A limiter whose global budget allows one request per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self { queue: Mutex::new(Queue::new(interval)), seat: tokio::sync::Mutex::new(()), changed: Notify::new() }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `bucket` (and, when `global`, the bot's global budget) allows one request;
    /// the permit counts it as in flight until its answer is recorded.
    ///
    /// The request queues in its bucket and waits for its instant, serving the queue meanwhile
    /// if the seat is free (see the module's documentation).
    pub async fn acquire(&self, bucket: RatelimitingBucket, global: bool) -> Permit<'_> {
        let at = loop {
            let granted = self.queue().enqueue(bucket, global);
            let mut ticket = Ticket { limiter: self, bucket, global, granted };
            self.changed.notify_one();
            let at = tokio::select! {
                biased;
                at = &mut ticket.granted => at.ok(),
                seat = self.seat.lock() => self.serve_until_granted(seat, &mut ticket.granted).await,
            };
            // A grant is only ever dropped with the queue; queue again should it happen.
            if let Some(at) = at {
                break at;
            }
        };
        // From here the slot is this request's: a cancelled wait gives it back (see `Permit`).
        let mut permit = Permit { limiter: self, bucket, leaving: global, answered: false };
        tokio::time::sleep_until(at).await;
        permit.leave();
        permit
    }

    /// Serves the queue, holding the seat, until `granted` gets this request's instant.
    async fn serve_until_granted(
        &self,
        _seat: tokio::sync::MutexGuard<'_, ()>,
        granted: &mut oneshot::Receiver<Instant>,
    ) -> Option<Instant> {
        loop {
            let wake = self.queue().serve(Instant::now());
            match granted.try_recv() {
                Ok(at) => return Some(at),
                Err(oneshot::error::TryRecvError::Closed) => return None,
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            match wake {
                Some(wake) => tokio::select! {
                    () = tokio::time::sleep_until(wake) => {}
                    () = self.changed.notified() => {}
                },
                None => self.changed.notified().await,
            }
        }
    }

    /// Records the answer to a request of `bucket` and wakes the queue's server.
    fn answered(&self, bucket: RatelimitingBucket, announced: Announced, refused_for: Option<(Duration, bool)>) {
        self.queue().answered(bucket, Instant::now(), announced, refused_for);
        self.changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use serenity::http::Route;
    use serenity::model::id::ChannelId;

    fn bucket(channel: u64) -> RatelimitingBucket {
        Route::ChannelMessages { channel_id: ChannelId::new(channel) }.ratelimiting_bucket()
    }

    /// Discord's side of [`serve`]: fixed windows of a bucket, opened by their first request.
    struct Window {
        started: Instant,
        used: u32,
    }

    /// Serves `queue` from `start`, each time it asks to be served, until every request of
    /// `waiting` (channel, receiver) has its instant. Each request is answered at its instant
    /// as Discord would, the channel allowing `limit_of(channel)` requests per `window`; a
    /// request beyond that fails the test. Returns the instants (from `start`) and channels of
    /// the grants, in order.
    fn serve(
        queue: &mut Queue,
        mut waiting: Vec<(u64, oneshot::Receiver<Instant>)>,
        start: Instant,
        window: Duration,
        limit_of: impl Fn(u64) -> u32,
    ) -> Vec<(Duration, u64)> {
        let mut windows: HashMap<u64, Window> = HashMap::new();
        let mut grants = Vec::new();
        let mut now = start;
        while !waiting.is_empty() {
            let wake = queue.serve(now);
            let mut left_at = None;
            waiting.retain_mut(|(channel, granted)| {
                let Ok(at) = granted.try_recv() else { return true };
                left_at = Some(at);
                grants.push((at - start, *channel));
                let limit = limit_of(*channel);
                let current = windows.entry(*channel).or_insert(Window { started: at, used: 0 });
                if at - current.started >= window {
                    *current = Window { started: at, used: 0 };
                }
                current.used += 1;
                assert!(current.used <= limit, "channel {channel} sent {} in a window of {limit}", current.used);
                let announced = Announced {
                    limit: Some(limit),
                    remaining: Some(limit - current.used),
                    reset_after: Some(window - (at - current.started)),
                };
                queue.answered(bucket(*channel), at, announced, None);
                false
            });
            now = match left_at {
                Some(at) => {
                    queue.left();
                    at
                }
                None => wake.expect("requests wait, and no answer is awaited: a reset is"),
            };
        }
        grants
    }

    /// Queues `count` requests of each of `channels`, channel after channel.
    fn queue_all(queue: &mut Queue, channels: &[(u64, usize)]) -> Vec<(u64, oneshot::Receiver<Instant>)> {
        channels
            .iter()
            .flat_map(|&(channel, count)| std::iter::repeat_n(channel, count))
            .map(|channel| (channel, queue.enqueue(bucket(channel), true)))
            .collect()
    }

    /// Asserts that `grants` took every global instant from the first, none left unused.
    fn assert_every_instant_taken(grants: &[(Duration, u64)], interval: Duration) {
        let instants: Vec<Duration> = grants.iter().map(|(at, _)| *at).collect();
        let every: Vec<Duration> = (0..instants.len()).map(|k| interval * u32::try_from(k).unwrap()).collect();
        assert_eq!(instants, every, "one request every interval");
    }

    fn millis(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn channels_queued_one_after_another_are_served_in_turns_without_an_idle_instant() {
        // Eight channels of four requests, queued channel by channel: served first come first
        // served, the last channel's four would end the run waiting for its window.
        let mut queue = Queue::new(millis(100));
        let channels: Vec<(u64, usize)> = (1..=8).map(|channel| (channel, 4)).collect();
        let waiting = queue_all(&mut queue, &channels);
        let grants = serve(&mut queue, waiting, Instant::now(), Duration::from_secs(1), |_| 2);
        let order: Vec<u64> = grants.iter().map(|(_, channel)| *channel).collect();
        let rounds: Vec<u64> = (0..4).flat_map(|_| 1..=8).collect();
        assert_eq!(order, rounds);
        assert_every_instant_taken(&grants, millis(100));
    }

    #[test]
    fn a_flooded_channel_does_not_starve_the_others() {
        let mut queue = Queue::new(millis(100));
        let waiting = queue_all(&mut queue, &[(1, 20), (2, 1), (3, 1)]);
        let grants = serve(&mut queue, waiting, Instant::now(), Duration::from_secs(5), |_| 5);
        let first: Vec<u64> = grants.iter().take(3).map(|(_, channel)| *channel).collect();
        assert_eq!(first, [1, 2, 3]);
    }

    #[test]
    fn a_bucket_that_had_to_wait_goes_first_once_it_may_send() {
        // Channel 1 allows one request a second; channels 2 and 3 have a large bucket.
        let mut queue = Queue::new(millis(100));
        let waiting = queue_all(&mut queue, &[(1, 2), (2, 20), (3, 20)]);
        let limit_of = |channel| if channel == 1 { 1 } else { 100 };
        let grants = serve(&mut queue, waiting, Instant::now(), Duration::from_secs(1), limit_of);
        let ones: Vec<Duration> = grants.iter().filter(|(_, channel)| *channel == 1).map(|(at, _)| *at).collect();
        assert_eq!(ones, [Duration::ZERO, Duration::from_secs(1)], "the second at its window's reset");
        // The others fill the instants channel 1 cannot take.
        assert_every_instant_taken(&grants, millis(100));
    }

    #[test]
    fn the_next_instant_waits_for_the_last_request_to_leave() {
        let mut queue = Queue::new(millis(100));
        let start = Instant::now();
        let mut waiting = queue_all(&mut queue, &[(1, 1), (2, 1)]);
        queue.serve(start);
        assert_eq!(waiting[0].1.try_recv(), Ok(start));
        // The first request's task is late (a busy machine): it has not left 150 ms on.
        let late = start + millis(150);
        queue.serve(late);
        assert!(waiting[1].1.try_recv().is_err(), "not granted before the first has left");
        queue.left();
        queue.serve(late);
        assert_eq!(waiting[1].1.try_recv(), Ok(late), "no instant was granted while the first was late");
    }

    #[test]
    fn interaction_responses_do_not_wait_for_the_global_budget() {
        let mut queue = Queue::new(millis(100));
        let start = Instant::now();
        let mut messages = queue_all(&mut queue, &[(1, 1), (2, 1)]);
        let mut response = queue.enqueue(bucket(3), false);
        queue.serve(start);
        assert_eq!(messages[0].1.try_recv(), Ok(start));
        assert!(messages[1].1.try_recv().is_err(), "the second message waits for the next instant");
        assert_eq!(response.try_recv(), Ok(start));
    }

    #[test]
    fn a_request_given_up_while_waiting_leaves_the_queue() {
        let mut queue = Queue::new(millis(100));
        let start = Instant::now();
        drop(queue.enqueue(bucket(1), true));
        let mut next = queue.enqueue(bucket(2), true);
        queue.serve(start);
        assert_eq!(next.try_recv(), Ok(start), "the instant goes to the next request");
        assert_eq!(queue.buckets[&bucket(1)].in_flight, 0);
        assert!(queue.turns.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn an_exhausted_bucket_waits_for_its_reset_and_others_do_not() {
        let limiter = Limiter::new(millis(1));
        let announced = Announced { limit: Some(2), remaining: Some(0), reset_after: Some(Duration::from_secs(3)) };
        limiter.acquire(bucket(1), true).await.finished(announced, None);
        let start = Instant::now();
        drop(limiter.acquire(bucket(2), true).await);
        assert!(start.elapsed() < millis(10), "another channel's bucket is free");
        drop(limiter.acquire(bucket(1), true).await);
        assert!(start.elapsed() >= Duration::from_secs(3), "waited {:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_count_against_what_an_answer_announces() {
        let limiter = Limiter::new(millis(1));
        let window = Duration::from_secs(5);
        let first = Announced { limit: Some(5), remaining: Some(4), reset_after: Some(window) };
        limiter.acquire(bucket(1), false).await.finished(first, None);
        let mut in_flight = Vec::new();
        for _ in 0..3 {
            in_flight.push(limiter.acquire(bucket(1), false).await);
        }
        // The second request's answer says three are left, but two more are on their way.
        let second = Announced { limit: Some(5), remaining: Some(3), reset_after: Some(window) };
        in_flight.remove(0).finished(second, None);
        let start = Instant::now();
        in_flight.push(limiter.acquire(bucket(1), false).await);
        assert!(start.elapsed() < millis(10), "the fifth request fits the window");
        in_flight.push(limiter.acquire(bucket(1), false).await);
        assert!(start.elapsed() >= window, "the sixth waits for the reset");
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_nothing_is_known_of_sends_one_request_until_it_is_announced() {
        let limiter = Arc::new(Limiter::new(millis(1)));
        let first = limiter.acquire(bucket(1), false).await;
        let second = tokio::spawn({
            let limiter = limiter.clone();
            async move { drop(limiter.acquire(bucket(1), false).await) }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!second.is_finished(), "the second request waits for the first answer");
        let announced = Announced { limit: Some(5), remaining: Some(4), reset_after: Some(Duration::from_secs(5)) };
        first.finished(announced, None);
        second.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_dropped_before_its_answer_does_not_hold_its_bucket() {
        let limiter = Limiter::new(millis(1));
        drop(limiter.acquire(bucket(1), false).await);
        // Nothing is known of the bucket yet: without the release this would wait for ever.
        let next = tokio::time::timeout(Duration::from_secs(10), limiter.acquire(bucket(1), false)).await;
        assert!(next.is_ok(), "the bucket waits for no answer");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_given_up_before_its_instant_does_not_hold_its_bucket() {
        let limiter = Limiter::new(millis(100));
        drop(limiter.acquire(bucket(1), true).await);
        // Granted the next instant, 100 ms ahead, and given up while it waits for it.
        let gave_up = tokio::time::timeout(millis(10), limiter.acquire(bucket(2), true)).await;
        assert!(gave_up.is_err());
        let next = tokio::time::timeout(Duration::from_secs(10), limiter.acquire(bucket(2), true)).await;
        assert!(next.is_ok(), "nothing is known of the bucket and nothing of it is in flight");
    }

    #[test]
    fn a_grant_its_caller_never_read_gives_the_slot_back() {
        let limiter = Limiter::new(millis(100));
        let granted = limiter.queue().enqueue(bucket(1), true);
        let ticket = Ticket { limiter: &limiter, bucket: bucket(1), global: true, granted };
        limiter.queue().serve(Instant::now());
        assert_eq!(limiter.queue().buckets[&bucket(1)].in_flight, 1);
        assert!(limiter.queue().leaving);
        drop(ticket);
        assert_eq!(limiter.queue().buckets[&bucket(1)].in_flight, 0);
        assert!(!limiter.queue().leaving, "the next global instant may be chosen");
    }

    #[tokio::test(start_paused = true)]
    async fn a_global_refusal_pauses_every_bucket() {
        let limiter = Limiter::new(millis(1));
        let none = Announced { limit: None, remaining: None, reset_after: None };
        limiter.acquire(bucket(1), true).await.finished(none, Some((Duration::from_secs(2), true)));
        let start = Instant::now();
        drop(limiter.acquire(bucket(9), true).await);
        assert!(start.elapsed() >= Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn the_global_budget_spaces_requests_under_fifty_a_second() {
        let limiter = Arc::new(Limiter::default());
        let start = Instant::now();
        let requests: Vec<_> = (1..=50)
            .map(|channel| {
                let limiter = limiter.clone();
                tokio::spawn(async move { drop(limiter.acquire(bucket(channel), true).await) })
            })
            .collect();
        for request in requests {
            request.await.unwrap();
        }
        assert!(start.elapsed() >= Duration::from_secs(1), "50 requests took {:?}", start.elapsed());
    }
}
