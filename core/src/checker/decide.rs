//! From a network's verdict to a channel's new state: the rules that keep relink from crying
//! wolf and from staying silent.
//!
//! - A definitive verdict (dead, permission, account) that survived a second probe makes the
//!   channel `needs_reauth` with its reason.
//! - Transient answers make it `degraded` with exponential backoff, never `needs_reauth`; a
//!   channel that already needs reconnecting stays so.
//! - Unrecognised answers are `degraded` too, and count toward giving up at most once a day;
//!   only after `give_up_after_days` such days does relink say "reconnect".
//! - Operator problems (relink's own app or bot) are flagged for operators; the channel's health
//!   does not change, so no team is told to reconnect for something it cannot fix.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use super::schedule::{Cadence, Deadlines, backoff, jitter, next_check};
use crate::domain::{Channel, Health, Reason, Scopes};
use crate::provider::{Policy, Verdict};

/// What a check knows besides the verdict.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub policy: &'static Policy,
    pub channel: &'a Channel,
    pub consecutive_failures: u32,
    pub failure_days: u32,
    pub last_failure_day: Option<i64>,
    /// Whether relink renews this channel's token itself.
    pub renewable: bool,
    pub first_post_due: Option<DateTime<Utc>>,
    /// The team's own calm cadence, instead of the rules' one.
    pub calm: Option<Duration>,
}

/// The new state of a channel after a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub to: Health,
    pub detail: Option<String>,
    pub next_check_at: DateTime<Utc>,
    pub consecutive_failures: u32,
    pub failure_days: u32,
    pub last_failure_day: Option<i64>,
    pub operator_problem: Option<String>,
    pub learned_expiry: Option<DateTime<Utc>>,
    pub learned_scopes: Option<Scopes>,
    pub learned_grantor: Option<String>,
    /// The network asked relink to wait this long before calling again.
    pub pause_provider: Option<Duration>,
}

/// The rules' settings.
#[derive(Debug, Clone)]
pub struct Rules {
    pub cadence: Cadence,
    /// Days with unrecognised answers before relink gives up and asks for a reconnect.
    pub give_up_after_days: u32,
    /// Facebook-style usage (0.0–1.0) above which relink slows down before the network's limit.
    pub slow_down_at_usage: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Self { cadence: Cadence::default(), give_up_after_days: 3, slow_down_at_usage: 0.8 }
    }
}

impl Rules {
    /// The widest warning: a token ending within it is `expiring`.
    fn warning_window(&self) -> chrono::Duration {
        let widest = self.cadence.warnings.iter().max().copied().unwrap_or(Duration::ZERO);
        crate::time::delta(widest)
    }
}

/// When the inactivity rule will end a channel's token, if its network has one.
pub fn inactive_at(policy: &Policy, channel: &Channel) -> Option<DateTime<Utc>> {
    Some(crate::time::after(channel.last_activity_at.unwrap_or(channel.created_at), policy.inactivity?))
}

fn day_of(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(86_400)
}

fn after(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    crate::time::after(now, wait)
}

/// Decides a channel's new state from a (confirmed) verdict.
pub fn decide(
    observed: Observed<'_>,
    verdict: Verdict,
    now: DateTime<Utc>,
    rules: &Rules,
    rng: &mut impl Rng,
) -> Decision {
    let channel = observed.channel;
    let from = &channel.health;
    let mut decision = Decision {
        to: from.clone(),
        detail: None,
        next_check_at: now,
        consecutive_failures: 0,
        failure_days: 0,
        last_failure_day: None,
        operator_problem: None,
        learned_expiry: None,
        learned_scopes: None,
        learned_grantor: None,
        pause_provider: None,
    };
    match verdict {
        // The network's inactivity rule has already ended the token, whatever the probe says
        // today: a deadline in the past is a disconnect, not a warning.
        Verdict::Valid(_) if inactive_at(observed.policy, channel).is_some_and(|at| at <= now) => {
            let at = inactive_at(observed.policy, channel).unwrap_or(now);
            decision.detail =
                Some(format!("no publishing activity: the network ended the token around {}", at.format("%Y-%m-%d")));
            decision.to = Health::NeedsReauth(Reason::Inactivity);
            decision.next_check_at = jitter(now, after(now, rules.cadence.disconnected), rules.cadence.jitter, rng);
        }
        Verdict::Valid(validity) => {
            let expires_at = validity.expires_at.or(channel.token_expires_at);
            let inactive = inactive_at(observed.policy, channel);
            let window = rules.warning_window();
            let ending_soon = |at: Option<DateTime<Utc>>| at.is_some_and(|at| at - now <= window);
            decision.to = if (!observed.renewable && ending_soon(expires_at)) || ending_soon(inactive) {
                Health::Expiring
            } else {
                Health::Healthy
            };
            if decision.to == Health::Expiring && *from != Health::Expiring {
                decision.detail = Some(match (inactive, expires_at) {
                    (Some(at), _) if ending_soon(Some(at)) => {
                        format!("no publishing activity: the network ends the token around {}", at.format("%Y-%m-%d"))
                    }
                    (_, Some(at)) => format!("the token expires on {}", at.format("%Y-%m-%d %H:%M UTC")),
                    _ => "the token ends soon".into(),
                });
            }
            decision.learned_expiry = validity.expires_at;
            decision.learned_scopes = validity.scopes;
            decision.learned_grantor = validity.grantor_id;
            if validity.usage.is_some_and(|usage| usage >= rules.slow_down_at_usage) {
                decision.pause_provider = Some(Duration::from_secs(60));
            }
            let deadlines = Deadlines {
                expires_at,
                renewable: observed.renewable,
                inactive_at: inactive,
                first_post_due: observed.first_post_due,
            };
            let own;
            let cadence = match observed.calm {
                Some(calm) => {
                    own = Cadence { calm, ..rules.cadence.clone() };
                    &own
                }
                None => &rules.cadence,
            };
            decision.next_check_at = next_check(now, observed.policy, deadlines, cadence, rng);
        }
        Verdict::Dead(_) | Verdict::Permission(_) | Verdict::Account(_) => {
            let reason = verdict.reason().unwrap_or(Reason::Other("unrecognised".into()));
            decision.detail = Some(describe(&verdict));
            decision.to = Health::NeedsReauth(reason);
            decision.next_check_at = jitter(now, after(now, rules.cadence.disconnected), rules.cadence.jitter, rng);
        }
        Verdict::Operator(problem) => {
            decision.operator_problem = Some(problem);
            decision.consecutive_failures = observed.consecutive_failures;
            decision.failure_days = observed.failure_days;
            decision.last_failure_day = observed.last_failure_day;
            decision.next_check_at = after(now, Duration::from_secs(3_600));
        }
        Verdict::Transient { retry_after, detail } => {
            decision.consecutive_failures = observed.consecutive_failures.saturating_add(1);
            decision.failure_days = observed.failure_days;
            decision.last_failure_day = observed.last_failure_day;
            if !matches!(from, Health::NeedsReauth(_)) {
                decision.to = Health::Degraded;
            }
            decision.detail = Some(detail);
            // Adapters clamp what they read; a wait that still exceeds a day is clamped here.
            let retry_after = retry_after.map(crate::time::network_wait);
            decision.pause_provider = retry_after;
            decision.next_check_at = after(now, backoff(decision.consecutive_failures, retry_after));
        }
        Verdict::Unknown(detail) => {
            decision.consecutive_failures = observed.consecutive_failures.saturating_add(1);
            let today = day_of(now);
            let counted_today = observed.last_failure_day == Some(today);
            decision.failure_days =
                if counted_today { observed.failure_days } else { observed.failure_days.saturating_add(1) };
            decision.last_failure_day = Some(today);
            decision.to = if decision.failure_days >= rules.give_up_after_days {
                Health::NeedsReauth(Reason::Other(detail.clone()))
            } else if matches!(from, Health::NeedsReauth(_)) {
                from.clone()
            } else {
                Health::Degraded
            };
            decision.detail = Some(detail);
            decision.next_check_at = after(now, backoff(decision.consecutive_failures, None));
        }
    }
    decision
}

/// A verdict in plain words for the history (never a token).
pub fn describe(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Valid(_) => "the token works".into(),
        Verdict::Dead(Reason::AccountMismatch) => "the token works, but for another account than the channel's".into(),
        Verdict::Dead(reason) => format!("the network no longer accepts the token: {}", in_words(reason)),
        Verdict::Permission(detail) => format!("a role or permission was lost: {detail}"),
        Verdict::Account(reason) => format!("the account must act on the network: {}", in_words(reason)),
        Verdict::Operator(detail) => format!("relink's app or bot has a problem: {detail}"),
        Verdict::Transient { detail, .. } => format!("temporary failure: {detail}"),
        Verdict::Unknown(detail) => format!("unrecognised answer: {detail}"),
    }
}

/// A reason in a few English words for the history, never its stored spelling.
fn in_words(reason: &Reason) -> &str {
    match reason {
        Reason::Expired => "its access expired",
        Reason::PasswordChanged => "the password was changed",
        Reason::AppRevoked => "relink's access was removed",
        Reason::PermissionLost => "a role or permission was lost",
        Reason::Inactivity => "no publishing for too long",
        Reason::SecurityCheckpoint => "a security check, lock or suspension",
        Reason::AccountMismatch => "the token is another account's",
        Reason::Other(detail) if detail.is_empty() => "no reason given",
        Reason::Other(detail) => detail,
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::domain::{ChannelId, DisplayName, ExternalAccountId, Provider, TeamId};
    use crate::provider::{Providers, Validity};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn channel(provider: Provider, health: Health, expires: Option<&str>) -> Channel {
        Channel {
            id: ChannelId(1),
            team_id: TeamId(1),
            provider,
            external_account_id: ExternalAccountId::parse("1").unwrap(),
            display_name: DisplayName::parse("Acme").unwrap(),
            authorized_by: None,
            token_expires_at: expires.map(at),
            scopes: Scopes::default(),
            last_activity_at: None,
            health,
            next_check_at: at("2026-03-01T00:00:00Z"),
            last_checked_at: None,
            created_at: at("2026-02-20T00:00:00Z"),
        }
    }

    fn run(channel: &Channel, verdict: Verdict, failures: (u32, u32, Option<i64>)) -> Decision {
        let providers = Providers::new(Default::default());
        let observed = Observed {
            policy: providers.policy(channel.provider),
            channel,
            consecutive_failures: failures.0,
            failure_days: failures.1,
            last_failure_day: failures.2,
            renewable: providers.policy(channel.provider).renews_itself(),
            first_post_due: None,
            calm: None,
        };
        decide(observed, verdict, at("2026-03-01T00:00:00Z"), &Rules::default(), &mut StdRng::seed_from_u64(3))
    }

    #[test]
    fn transient_answers_degrade_and_never_disconnect() {
        let healthy = channel(Provider::Facebook, Health::Healthy, None);
        for n in 0..50 {
            let decision = run(&healthy, Verdict::transient("HTTP 503"), (n, 0, None));
            assert_eq!(decision.to, Health::Degraded);
            assert_eq!(decision.consecutive_failures, n + 1);
        }
        let disconnected = channel(Provider::Facebook, Health::NeedsReauth(Reason::Expired), None);
        assert_eq!(run(&disconnected, Verdict::transient("x"), (0, 0, None)).to, Health::NeedsReauth(Reason::Expired));
    }

    #[test]
    fn rate_limits_pause_the_network_for_as_long_as_it_asked() {
        let decision = run(
            &channel(Provider::X, Health::Healthy, None),
            Verdict::Transient { retry_after: Some(Duration::from_secs(900)), detail: "429".into() },
            (0, 0, None),
        );
        assert_eq!(decision.pause_provider, Some(Duration::from_secs(900)));
        assert_eq!(decision.next_check_at, at("2026-03-01T00:15:00Z"));
    }

    #[test]
    fn a_retry_after_of_a_million_years_does_not_stop_the_checker() {
        let decision = run(
            &channel(Provider::X, Health::Healthy, None),
            Verdict::Transient { retry_after: Some(Duration::from_secs(100_000_000_000_000)), detail: "503".into() },
            (0, 0, None),
        );
        assert_eq!(decision.pause_provider, Some(crate::time::MAX_NETWORK_WAIT));
        assert_eq!(decision.next_check_at, at("2026-03-02T00:00:00Z"));
        let decision = run(
            &channel(Provider::X, Health::Healthy, None),
            Verdict::Transient { retry_after: Some(Duration::MAX), detail: "503".into() },
            (7, 0, None),
        );
        assert_eq!(decision.next_check_at, at("2026-03-02T00:00:00Z"));
    }

    #[test]
    fn unknown_answers_count_once_a_day_before_giving_up() {
        let healthy = channel(Provider::Linkedin, Health::Healthy, None);
        let today = day_of(at("2026-03-01T00:00:00Z"));
        let first = run(&healthy, Verdict::Unknown("HTTP 418".into()), (0, 0, None));
        assert_eq!((first.to.clone(), first.failure_days), (Health::Degraded, 1));
        let same_day = run(&healthy, Verdict::Unknown("HTTP 418".into()), (5, 2, Some(today)));
        assert_eq!((same_day.to.clone(), same_day.failure_days), (Health::Degraded, 2), "a day counts once");
        let third_day = run(&healthy, Verdict::Unknown("HTTP 418".into()), (5, 2, Some(today - 1)));
        assert_eq!(third_day.to, Health::NeedsReauth(Reason::Other("HTTP 418".into())));
    }

    #[test]
    fn definitive_verdicts_disconnect_with_their_reason() {
        let healthy = channel(Provider::Facebook, Health::Healthy, None);
        let table = [
            (Verdict::Dead(Reason::PasswordChanged), Reason::PasswordChanged),
            (Verdict::Dead(Reason::AppRevoked), Reason::AppRevoked),
            (Verdict::Permission("no longer a Page admin".into()), Reason::PermissionLost),
            (Verdict::Account(Reason::SecurityCheckpoint), Reason::SecurityCheckpoint),
        ];
        for (verdict, reason) in table {
            let decision = run(&healthy, verdict, (3, 1, None));
            assert_eq!(decision.to, Health::NeedsReauth(reason));
            assert_eq!(decision.consecutive_failures, 0);
            assert!(decision.detail.is_some());
        }
    }

    #[test]
    fn the_history_says_a_reason_in_words_not_its_stored_spelling() {
        let detail = describe(&Verdict::Dead(Reason::PasswordChanged));
        assert_eq!(detail, "the network no longer accepts the token: the password was changed");
        assert!(!describe(&Verdict::Account(Reason::SecurityCheckpoint)).contains('_'));
    }

    #[test]
    fn operator_problems_leave_the_teams_channel_alone() {
        let healthy = channel(Provider::Telegram, Health::Healthy, None);
        let decision = run(&healthy, Verdict::Operator("bot token revoked".into()), (0, 0, None));
        assert_eq!(decision.to, Health::Healthy);
        assert_eq!(decision.operator_problem.as_deref(), Some("bot token revoked"));
    }

    #[test]
    fn a_valid_token_near_an_expiry_relink_cannot_renew_is_expiring() {
        let soon = channel(Provider::Facebook, Health::Healthy, Some("2026-03-10T00:00:00Z"));
        let decision = run(&soon, Verdict::Valid(Validity::default()), (2, 1, Some(1)));
        assert_eq!(decision.to, Health::Expiring);
        assert!(decision.detail.unwrap().contains("2026-03-10"));
        assert_eq!((decision.consecutive_failures, decision.failure_days), (0, 0), "a success resets failures");
        let renewable = channel(Provider::InstagramLogin, Health::Healthy, Some("2026-03-10T00:00:00Z"));
        assert_eq!(run(&renewable, Verdict::Valid(Validity::default()), (0, 0, None)).to, Health::Healthy);
        let far = channel(Provider::Facebook, Health::Expiring, Some("2026-06-10T00:00:00Z"));
        assert_eq!(run(&far, Verdict::Valid(Validity::default()), (0, 0, None)).to, Health::Healthy);
    }

    #[test]
    fn pinterest_without_publishing_activity_is_expiring_before_it_lapses() {
        // Last published 2026-02-05: the token lapses 2026-03-07, inside the 14-day window.
        let mut quiet = channel(Provider::Pinterest, Health::Healthy, None);
        quiet.last_activity_at = Some(at("2026-02-05T00:00:00Z"));
        let decision = run(&quiet, Verdict::Valid(Validity::default()), (0, 0, None));
        assert_eq!(decision.to, Health::Expiring);
        assert!(decision.detail.unwrap().contains("publishing activity"));
        // Created ten days ago with no activity yet: 20 days left, still healthy.
        let fresh = channel(Provider::Pinterest, Health::Healthy, None);
        assert_eq!(run(&fresh, Verdict::Valid(Validity::default()), (0, 0, None)).to, Health::Healthy);
    }

    #[test]
    fn a_pinterest_inactivity_deadline_in_the_past_is_a_disconnect_not_a_warning() {
        // Last published 31 days before the check: the 30-day rule ended the token yesterday.
        let mut lapsed = channel(Provider::Pinterest, Health::Expiring, None);
        lapsed.last_activity_at = Some(at("2026-01-29T00:00:00Z"));
        let decision = run(&lapsed, Verdict::Valid(Validity::default()), (0, 0, None));
        assert_eq!(decision.to, Health::NeedsReauth(Reason::Inactivity));
        assert!(decision.next_check_at > at("2026-03-01T00:00:00Z"));
    }
}
