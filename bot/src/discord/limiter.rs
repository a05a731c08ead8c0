//! The REST rate limiter: every request waits here for its route's bucket and, unless it is an
//! interaction response, for the bot's global budget, so the bot stays under Discord's limits
//! *before* Discord answers 429.
//!
//! - **Global**: evenly spaced instants a little under Discord's 50 requests per second (49/s,
//!   one at a time), because requests that leave 20.4 ms apart can still arrive bunched. Only
//!   requests whose bucket is free queue for them, in order.
//! - **Per bucket**: what the last answer of a route's bucket announced
//!   (`X-RateLimit-Limit/Remaining/Reset-After`), minus the requests of that bucket still in
//!   flight; a request waits for the reset when nothing remains. Buckets are keyed as serenity
//!   keys them: the route and its major parameter (channel, application, interaction). A bucket
//!   nothing has been heard of yet lets one request through and holds the rest until its answer
//!   announces the limit, so a burst to a new channel cannot overrun a bucket it does not know.
//! - **429**: a request that is refused anyway pauses its bucket (or, when Discord says
//!   `global`, every request) for the `retry_after` it was given.
//!
//! One limiter per process: the delivery lease (see `notifier`) makes one process at a time the
//! one that sends alerts, which is how several relink processes share one bot's budget.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serenity::http::RatelimitingBucket;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Discord's global limit for a bot, requests per second.
pub const DISCORD_GLOBAL_LIMIT: u32 = 50;

/// The pace relink keeps: 49 requests per second, one at a time.
pub const GLOBAL_INTERVAL: Duration = Duration::from_micros(1_000_000 / 49 + 1);

/// What a bucket's last answer announced, and what this process has spent since.
#[derive(Debug, Default)]
struct Bucket {
    /// Requests left in the current window, after the ones in flight; `None` until announced.
    remaining: Option<u32>,
    /// When the current window ends.
    reset_at: Option<Instant>,
    /// The window's size, once announced.
    limit: Option<u32>,
    in_flight: u32,
}

/// The process's limiter for one bot token.
#[derive(Debug)]
pub struct Limiter {
    /// The global budget: one request per `interval`, at `next_global` at the earliest; the
    /// lock is the queue of requests waiting for it.
    interval: Duration,
    next_global: tokio::sync::Mutex<Instant>,
    buckets: Mutex<HashMap<RatelimitingBucket, Bucket>>,
    /// Set by a global 429: nothing is sent before then.
    paused_until: Mutex<Option<Instant>>,
    /// Fired by every answer, for requests waiting to hear a new bucket's limit.
    answered: Notify,
}

/// What a request waits for before it may go.
enum Wait {
    Until(Instant),
    /// The first answer of a bucket nothing is known of yet.
    Answer,
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
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64),
        }
    }
}

impl Limiter {
    /// A limiter whose global budget allows one request per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next_global: tokio::sync::Mutex::new(Instant::now()),
            buckets: Mutex::default(),
            paused_until: Mutex::default(),
            answered: Notify::new(),
        }
    }

    /// Waits until `bucket` (and, when `global`, the bot's global budget) allows one request,
    /// and counts it as in flight until [`Limiter::finished`].
    ///
    /// A request first waits for its bucket without taking anything, then queues (first come,
    /// first served) for the global budget; at the head of the queue it takes its bucket's slot
    /// and the next global instant together, or goes back to waiting for its bucket. So the
    /// global budget is only spent on requests that may go, and a bucket's slot is taken only
    /// just before its request leaves, in the window it will arrive in.
    pub async fn acquire(&self, bucket: RatelimitingBucket, global: bool) {
        loop {
            self.bucket_ready(bucket).await;
            if !global {
                if self.take(bucket) {
                    return;
                }
                continue;
            }
            let mut next = self.next_global.lock().await;
            if self.paused().is_some() || !self.take(bucket) {
                continue;
            }
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            // Held while waiting: the queue stays in order and the instants are spaced.
            tokio::time::sleep_until(at).await;
            return;
        }
    }

    /// Until a global pause is over.
    fn paused(&self) -> Option<Instant> {
        let paused = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        paused.filter(|until| *until > Instant::now())
    }

    /// Waits until `bucket` looks free, without taking a slot.
    async fn bucket_ready(&self, bucket: RatelimitingBucket) {
        loop {
            if let Some(until) = self.paused() {
                tokio::time::sleep_until(until).await;
                continue;
            }
            // Registered before the bucket is read, so an answer in between is not missed.
            let answered = self.answered.notified();
            tokio::pin!(answered);
            answered.as_mut().enable();
            let wait = {
                let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
                wait_for(buckets.entry(bucket).or_default(), Instant::now())
            };
            match wait {
                Some(Wait::Until(until)) => tokio::time::sleep_until(until).await,
                Some(Wait::Answer) => answered.await,
                None => return,
            }
        }
    }

    /// Takes a slot of `bucket` if it is free now.
    fn take(&self, bucket: RatelimitingBucket) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let state = buckets.entry(bucket).or_default();
        let now = Instant::now();
        if wait_for(state, now).is_some() {
            return false;
        }
        match (state.remaining, state.reset_at) {
            (Some(_), Some(reset)) if reset <= now => {
                // A new window: what the last announcement allowed, less this request.
                state.remaining = state.limit.map(|l| l.saturating_sub(state.in_flight + 1));
                state.reset_at = None;
            }
            (remaining, _) => state.remaining = remaining.map(|r| r.saturating_sub(1)),
        }
        state.in_flight += 1;
        true
    }

    /// Records the answer to a request of `bucket`: its announcement, and a 429's pause.
    pub fn finished(&self, bucket: RatelimitingBucket, announced: Announced, refused_for: Option<(Duration, bool)>) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let state = buckets.entry(bucket).or_default();
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
                let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
                *paused = Some(paused.map_or(now + after, |p| p.max(now + after)));
            }
            Some((after, false)) => {
                state.remaining = Some(0);
                state.reset_at = Some(state.reset_at.map_or(now + after, |r| r.max(now + after)));
            }
            None => {}
        }
        drop(buckets);
        self.answered.notify_waiters();
    }
}

/// What a request of a bucket in `state` must wait for at `now`, if anything.
fn wait_for(state: &Bucket, now: Instant) -> Option<Wait> {
    match (state.remaining, state.reset_at) {
        (None, _) if state.limit.is_none() && state.in_flight > 0 => Some(Wait::Answer),
        (Some(0), Some(reset)) if reset > now => Some(Wait::Until(reset)),
        // A new window whose requests are spent before its reset is known.
        (Some(0), None) if state.in_flight > 0 => Some(Wait::Answer),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serenity::http::Route;
    use serenity::model::id::ChannelId;

    fn bucket(channel: u64) -> RatelimitingBucket {
        Route::ChannelMessages { channel_id: ChannelId::new(channel) }.ratelimiting_bucket()
    }

    #[tokio::test(start_paused = true)]
    async fn an_exhausted_bucket_waits_for_its_reset_and_others_do_not() {
        let limiter = Limiter::new(Duration::from_millis(1));
        let announced = Announced { limit: Some(2), remaining: Some(0), reset_after: Some(Duration::from_secs(3)) };
        limiter.acquire(bucket(1), true).await;
        limiter.finished(bucket(1), announced, None);
        let start = Instant::now();
        limiter.acquire(bucket(2), true).await;
        assert!(start.elapsed() < Duration::from_millis(10), "another channel's bucket is free");
        limiter.acquire(bucket(1), true).await;
        assert!(start.elapsed() >= Duration::from_secs(3), "waited {:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn requests_in_flight_count_against_what_an_answer_announces() {
        let limiter = Limiter::new(Duration::from_millis(1));
        let window = Duration::from_secs(5);
        limiter.acquire(bucket(1), false).await;
        let first = Announced { limit: Some(5), remaining: Some(4), reset_after: Some(window) };
        limiter.finished(bucket(1), first, None);
        for _ in 0..3 {
            limiter.acquire(bucket(1), false).await;
        }
        // The second request's answer says three are left, but two more are on their way.
        let second = Announced { limit: Some(5), remaining: Some(3), reset_after: Some(window) };
        limiter.finished(bucket(1), second, None);
        let start = Instant::now();
        limiter.acquire(bucket(1), false).await;
        assert!(start.elapsed() < Duration::from_millis(10), "the fifth request fits the window");
        limiter.acquire(bucket(1), false).await;
        assert!(start.elapsed() >= window, "the sixth waits for the reset");
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_nothing_is_known_of_sends_one_request_until_it_is_announced() {
        let limiter = std::sync::Arc::new(Limiter::new(Duration::from_millis(1)));
        limiter.acquire(bucket(1), false).await;
        let second = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.acquire(bucket(1), false).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!second.is_finished(), "the second request waits for the first answer");
        let announced = Announced { limit: Some(5), remaining: Some(4), reset_after: Some(Duration::from_secs(5)) };
        limiter.finished(bucket(1), announced, None);
        second.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_global_refusal_pauses_every_bucket() {
        let limiter = Limiter::new(Duration::from_millis(1));
        limiter.acquire(bucket(1), true).await;
        let none = Announced { limit: None, remaining: None, reset_after: None };
        limiter.finished(bucket(1), none, Some((Duration::from_secs(2), true)));
        let start = Instant::now();
        limiter.acquire(bucket(9), true).await;
        assert!(start.elapsed() >= Duration::from_secs(2));
    }

    #[tokio::test]
    async fn the_global_budget_spaces_requests_under_fifty_a_second() {
        let limiter = Limiter::default();
        let start = std::time::Instant::now();
        for channel in 0..50 {
            limiter.acquire(bucket(channel + 1), true).await;
        }
        assert!(start.elapsed() >= Duration::from_secs(1), "50 requests took {:?}", start.elapsed());
    }
}
