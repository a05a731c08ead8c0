//! When to look at a channel next: rarely when calm, more often as an expiry or an inactivity
//! deadline approaches, always before its next scheduled post, sooner after a renewal is due,
//! with jitter so a million channels added at once do not come due in the same second.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::provider::{Policy, Renewal};
use crate::time::{after, before};

/// How long before a scheduled post its channel is checked: scheduling a post pulls the check
/// this far ahead of it, in the same transaction.
pub const BEFORE_POST: Duration = Duration::from_secs(3_600);

/// How long a calm channel waits between checks unless configured otherwise (`checks.every`).
pub const CALM_EVERY: Duration = Duration::from_secs(6 * 3_600);
/// The range `checks.every` (and a team's own cadence) must be in: often enough to matter,
/// rarely enough that the networks' rate budgets hold.
pub const CALM_EVERY_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(5 * 60)..=Duration::from_secs(7 * 86_400);

/// The knobs of scheduling.
#[derive(Debug, Clone)]
pub struct Cadence {
    /// How long a calm channel waits between checks.
    pub calm: Duration,
    /// Warnings are due at these distances before an expiry relink cannot renew.
    pub warnings: Vec<Duration>,
    /// A check this long before the first scheduled post.
    pub before_post: Duration,
    /// Never sooner than this after a check (except backoff on transient failures).
    pub min_gap: Duration,
    /// How long a channel that needs reconnecting waits between checks (to notice a fix made
    /// outside relink).
    pub disconnected: Duration,
    /// At most this fraction of the wait is taken off at random.
    pub jitter: f64,
}

impl Default for Cadence {
    fn default() -> Self {
        let day = Duration::from_secs(86_400);
        Self {
            calm: CALM_EVERY,
            warnings: vec![14 * day, 7 * day, 3 * day, day],
            before_post: BEFORE_POST,
            min_gap: Duration::from_secs(60),
            disconnected: Duration::from_secs(6 * 3_600),
            jitter: 0.1,
        }
    }
}

/// How long before expiry a renewable token is renewed.
pub fn renew_ahead(policy: &Policy) -> Duration {
    match policy.renewal {
        Renewal::None => Duration::ZERO,
        // About a day early: the network refuses once expired.
        Renewal::ExtendWhileValid { .. } => Duration::from_secs(86_400 + 3_600),
        // Late, but with room for a retry: a tenth of the lifetime, between 10 minutes and a day.
        Renewal::RotatingRefreshToken => policy.access_lifetime.map_or(Duration::from_secs(600), |life| {
            (life / 10).clamp(Duration::from_secs(600), Duration::from_secs(86_400))
        }),
        Renewal::RefreshToken => Duration::from_secs(300),
    }
}

/// What the next check depends on.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether relink renews this token itself (policy and a refresh token allow it).
    pub renewable: bool,
    /// When the inactivity rule will end the token, if the network has one.
    pub inactive_at: Option<DateTime<Utc>>,
    pub first_post_due: Option<DateTime<Utc>>,
}

/// The next check of a channel that just checked out fine (healthy or expiring).
pub fn next_check(
    now: DateTime<Utc>,
    policy: &Policy,
    deadlines: Deadlines,
    cadence: &Cadence,
    rng: &mut impl Rng,
) -> DateTime<Utc> {
    let mut next = after(now, cadence.calm);
    let mut consider = |at: DateTime<Utc>| {
        if at > now && at < next {
            next = at;
        }
    };
    if let Some(expiry) = deadlines.expires_at {
        if deadlines.renewable {
            let renew_at = before(expiry, renew_ahead(policy));
            // Renewal was due but did not happen (the token is too young to extend, say): retry
            // hourly until it does, rather than every minute.
            consider(if renew_at <= now && expiry > now { after(now, Duration::from_secs(3_600)) } else { renew_at });
        } else {
            for warning in &cadence.warnings {
                consider(before(expiry, *warning));
            }
        }
        consider(expiry);
    }
    if let Some(inactive) = deadlines.inactive_at {
        for warning in &cadence.warnings {
            consider(before(inactive, *warning));
        }
        consider(inactive);
    }
    if let Some(post) = deadlines.first_post_due {
        consider(before(post, cadence.before_post));
        consider(post);
    }
    // A deadline already passed (or right now) is handled by checking soon, not in a loop.
    let earliest = after(now, cadence.min_gap);
    if next < earliest {
        next = earliest;
    }
    jitter(now, next, cadence.jitter, rng)
}

/// Takes up to `fraction` of the wait off at random: early is always safe, late never is.
pub fn jitter(now: DateTime<Utc>, at: DateTime<Utc>, fraction: f64, rng: &mut impl Rng) -> DateTime<Utc> {
    let wait = (at - now).num_milliseconds();
    if wait <= 0 || fraction <= 0.0 {
        return at;
    }
    let off = (wait as f64 * fraction * rng.random::<f64>()) as i64;
    at - chrono::Duration::milliseconds(off)
}

/// The wait after `failures` transient failures in a row: 1 minute doubling to an hour,
/// never shorter than what the network asked for.
pub fn backoff(failures: u32, retry_after: Option<Duration>) -> Duration {
    let exponential =
        Duration::from_secs(60).saturating_mul(1 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(3_600));
    retry_after
        .map_or(exponential, |asked| asked.max(Duration::from_secs(1)).max(exponential.min(asked.saturating_mul(4))))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::domain::Provider;
    use crate::provider::Providers;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn plan(provider: Provider, deadlines: Deadlines) -> DateTime<Utc> {
        let providers = Providers::new(Default::default());
        let cadence = Cadence { jitter: 0.0, calm: Duration::from_secs(86_400), ..Cadence::default() };
        next_check(
            at("2026-03-01T00:00:00Z"),
            providers.policy(provider),
            deadlines,
            &cadence,
            &mut StdRng::seed_from_u64(1),
        )
    }

    const NONE: Deadlines = Deadlines { expires_at: None, renewable: false, inactive_at: None, first_post_due: None };

    #[test]
    fn calm_channels_are_checked_daily() {
        assert_eq!(plan(Provider::Telegram, NONE), at("2026-03-02T00:00:00Z"));
    }

    #[test]
    fn unrenewable_tokens_are_checked_at_each_warning_threshold_and_at_expiry() {
        let mut deadlines = NONE;
        deadlines.expires_at = Some(at("2026-03-08T12:00:00Z"));
        // 7 days before expiry is 2026-03-01T12:00, sooner than the calm day.
        assert_eq!(plan(Provider::Facebook, deadlines), at("2026-03-01T12:00:00Z"));
        deadlines.expires_at = Some(at("2026-03-01T06:00:00Z"));
        assert_eq!(plan(Provider::Facebook, deadlines), at("2026-03-01T06:00:00Z"));
    }

    #[test]
    fn renewable_tokens_are_checked_when_renewal_is_due() {
        let deadlines = Deadlines { expires_at: Some(at("2026-03-01T02:00:00Z")), renewable: true, ..NONE };
        // X: two-hour tokens, renewed 12 minutes before expiry.
        assert_eq!(plan(Provider::X, deadlines), at("2026-03-01T01:48:00Z"));
        // Instagram login: extended a day and an hour early.
        let deadlines = Deadlines { expires_at: Some(at("2026-03-10T00:00:00Z")), renewable: true, ..NONE };
        assert_eq!(plan(Provider::InstagramLogin, deadlines), at("2026-03-02T00:00:00Z"));
        let deadlines = Deadlines { expires_at: Some(at("2026-03-02T00:30:00Z")), renewable: true, ..NONE };
        assert_eq!(
            plan(Provider::InstagramLogin, deadlines),
            at("2026-03-01T01:00:00Z"),
            "overdue: hourly, not in a loop"
        );
    }

    #[test]
    fn a_scheduled_post_is_preceded_by_a_check() {
        let deadlines = Deadlines { first_post_due: Some(at("2026-03-01T10:00:00Z")), ..NONE };
        assert_eq!(plan(Provider::Linkedin, deadlines), at("2026-03-01T09:00:00Z"));
    }

    #[test]
    fn jitter_only_ever_brings_a_check_forward() {
        let now = at("2026-03-01T00:00:00Z");
        let due = at("2026-03-02T00:00:00Z");
        let mut rng = StdRng::seed_from_u64(7);
        let times: Vec<_> = (0..100).map(|_| jitter(now, due, 0.1, &mut rng)).collect();
        assert!(times.iter().all(|t| *t <= due && *t >= due - chrono::Duration::hours(3)));
        assert!(times.windows(2).any(|w| w[0] != w[1]), "jitter spreads checks");
    }

    #[test]
    fn deadlines_at_the_ends_of_time_do_not_stop_the_schedule() {
        let ends = [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC];
        for end in ends {
            for renewable in [true, false] {
                let deadlines =
                    Deadlines { expires_at: Some(end), renewable, inactive_at: Some(end), first_post_due: Some(end) };
                let next = plan(Provider::X, deadlines);
                assert!(next > at("2026-03-01T00:00:00Z"), "{end} {renewable}: {next}");
            }
        }
        assert_eq!(backoff(1, Some(Duration::MAX)), Duration::MAX);
    }

    #[test]
    fn backoff_doubles_to_an_hour_and_honours_the_networks_wait() {
        let table =
            [(1, None, 60), (2, None, 120), (3, None, 240), (7, None, 3_600), (30, None, 3_600), (1, Some(300), 300)];
        for (failures, asked, expected) in table {
            assert_eq!(backoff(failures, asked.map(Duration::from_secs)).as_secs(), expected, "{failures} {asked:?}");
        }
    }
}
