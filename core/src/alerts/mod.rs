//! Alerts: health transitions turned into the right message to the right people, once, without
//! losing any.
//!
//! - [`incident`]: one open incident per channel and problem; acknowledge and snooze.
//! - [`model`]: the platform-neutral [`Alert`] and where deliveries go ([`Destination`]), kept in
//!   [`crate::domain::alert`] with the incident, a team's settings and a pass's snapshot and plan.
//! - [`messages`]: every explanation, remedy and title in English, Italian and Japanese.
//! - [`route`]: the authoriser first, then everyone who may reconnect and the team's chats.
//! - [`planner`]: the [`Planner`] consumes the `events` outbox and the clock (warnings,
//!   reminders, escalation); incidents, alerts and deliveries are written in the same transaction
//!   that marks the events done. [`access_ends`] dates an expiring channel for every caller.
//! - [`deliver`]: delivery workers: claim due deliveries under a lease, call the platform's
//!   [`Notifier`], retry with backoff, dead-letter after too many attempts.
//! - [`notify`]: the [`Notifier`] trait the bots implement, the [`Notifiers`] registry, the log
//!   notifier, and the [`LinkMinter`] hook through which a private alert gets its reconnect links
//!   (`reconnect::StoreLinks` mints them from the store; [`NoLinks`] where none can be made).

pub mod calendar;
pub mod deliver;
pub mod incident;
pub mod messages;
pub mod model;
pub mod notify;
pub mod planner;
pub mod route;

use chrono::Duration;

pub use crate::domain::alert::{MAX_WARNING_DAYS, SettingsOverride, format_warning_days, parse_warning_days};
pub use calendar::{Calendar, LocalTime, QuietHours, Zone};
pub use deliver::{Deliverer, DeliveryConfig, DeliveryOutcome};
pub use incident::{Incident, IncidentError, Problem, acknowledge, acknowledge_channels, snooze, snooze_channel};
pub use model::{
    Alert, AlertChannel, AlertId, AlertKind, AtRisk, DeliveryId, Destination, IncidentId, ReconnectAction, Severity,
};
pub use notify::{
    ChannelLink, ConsoleNotifier, LinkMinter, MintError, NoLinks, Notifier, Notifiers, NotifyError, Outgoing, SentRef,
};
pub use planner::{PUSHED_QUIET, Planner, access_ends, run_alerts};

use crate::domain::ParseError;

/// The longest first reminder, reminder interval or escalation delay a team (or the
/// configuration) may set: a year. Longer values are refused where they are typed, and a stored
/// value beyond it (written before the limit existed) is read as a year.
pub const MAX_TEAM_SPAN: Duration = Duration::days(365);

/// Refuses a team's reminder or escalation span outside zero (or, unless `zero_allowed`, more
/// than zero) to [`MAX_TEAM_SPAN`].
pub fn check_team_span(field: &'static str, span: Duration, zero_allowed: bool) -> Result<Duration, ParseError> {
    if span > MAX_TEAM_SPAN {
        return Err(ParseError::new(field, "must be at most a year (365d)"));
    }
    if span < Duration::zero() || (!zero_allowed && span == Duration::zero()) {
        return Err(ParseError::new(field, "must be longer than zero"));
    }
    Ok(span)
}

/// When a team is warned and reminded, and how long the authoriser has before everyone is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamSettings {
    /// Days before an expiry at which to warn, largest first.
    pub warning_days: Vec<u32>,
    /// The first reminder after a disconnection.
    pub first_reminder: Duration,
    /// Then a reminder this often until resolved.
    pub reminder_every: Duration,
    /// How long the authoriser has before everyone who may reconnect, and the chats, are told.
    pub escalate_after: Duration,
    /// The team's time zone and quiet hours, which place its daily digest.
    pub calendar: Calendar,
}

impl Default for TeamSettings {
    fn default() -> Self {
        Self {
            warning_days: vec![14, 7, 3, 1],
            first_reminder: Duration::days(1),
            reminder_every: Duration::days(2),
            escalate_after: Duration::hours(4),
            calendar: Calendar::default(),
        }
    }
}

impl TeamSettings {
    /// These settings with a team's own on top, each span within zero (a second for reminders)
    /// and [`MAX_TEAM_SPAN`] whatever was stored.
    pub fn with(&self, own: &SettingsOverride) -> Self {
        let within = |span: Duration, least: Duration| span.clamp(least, MAX_TEAM_SPAN);
        let second = Duration::seconds(1);
        Self {
            warning_days: own.warning_days.clone().unwrap_or_else(|| self.warning_days.clone()),
            first_reminder: within(own.first_reminder.unwrap_or(self.first_reminder), second),
            reminder_every: within(own.reminder_every.unwrap_or(self.reminder_every), second),
            escalate_after: within(own.escalate_after.unwrap_or(self.escalate_after), Duration::zero()),
            calendar: Calendar {
                zone: own.timezone.clone().unwrap_or_else(|| self.calendar.zone.clone()),
                quiet: own.quiet_hours.or(self.calendar.quiet),
            },
        }
    }
}

/// The alerts engine's settings.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// Every team's settings unless it has its own.
    pub defaults: TeamSettings,
    /// Transitions are held this long before they become alerts, so channels that fail for one
    /// shared cause in different check batches still share one message.
    pub grouping_window: Duration,
    /// How long a channel may be `degraded` before its team hears about it.
    pub degraded_after: Duration,
    /// Where operator problems go.
    pub operators: Destination,
    /// Events and due incidents taken per transaction.
    pub batch: u32,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            defaults: TeamSettings::default(),
            grouping_window: Duration::minutes(2),
            degraded_after: Duration::days(1),
            operators: Destination::Log,
            batch: 256,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_days_are_whole_days_largest_first() {
        assert_eq!(parse_warning_days("1, 7,14,3,7").unwrap(), [14, 7, 3, 1]);
        assert_eq!(format_warning_days(&[14, 7, 3, 1]), "14,7,3,1");
        for bad in ["", "0", "15", "seven", "3,-1"] {
            assert_eq!(parse_warning_days(bad).unwrap_err().field, "warning days", "{bad}");
        }
    }

    #[test]
    fn a_team_keeps_the_defaults_it_does_not_override() {
        let own = SettingsOverride { warning_days: Some(vec![3]), ..SettingsOverride::default() };
        let settings = TeamSettings::default().with(&own);
        assert_eq!(settings.warning_days, [3]);
        assert_eq!(settings.reminder_every, Duration::days(2));
    }
}
