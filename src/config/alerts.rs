//! `[alerts]`: the alerts engine's defaults (warning days, reminders, escalation, grouping,
//! when a degraded channel is worth a word), where operators hear about problems, and how hard
//! delivery tries.

use relink_core::alerts::{AlertsConfig, DeliveryConfig, Destination, format_warning_days, parse_warning_days};
use relink_core::time::parse_duration;
use serde::Deserialize;

use super::report::{Description, Report, span};

/// `alerts.grouping_window`: at most an hour (a pass waits up to five windows for quiet).
const MAX_GROUPING_WINDOW: chrono::Duration = chrono::Duration::hours(1);
/// `alerts.degraded_after`: at most 30 days.
const MAX_DEGRADED_AFTER: chrono::Duration = chrono::Duration::days(30);

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawAlerts {
    enabled: Option<bool>,
    warning_days: Option<RawDays>,
    first_reminder: Option<String>,
    reminder_every: Option<String>,
    escalate_after: Option<String>,
    grouping_window: Option<String>,
    degraded_after: Option<String>,
    max_attempts: Option<u32>,
    operator: Option<String>,
}

/// Warning days as people write them: `"14,7,3,1"`, `[14, 7, 3, 1]`, or one number (which is
/// also how an environment variable such as `RELINK_ALERTS__WARNING_DAYS=7` arrives).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawDays {
    Text(String),
    One(u32),
    List(Vec<u32>),
}

impl RawDays {
    fn text(self) -> String {
        match self {
            RawDays::Text(text) => text,
            RawDays::One(day) => day.to_string(),
            RawDays::List(days) => format_warning_days(&days),
        }
    }
}

/// The alerts' settings: the engine's, and how hard delivery tries.
#[derive(Debug, Clone)]
pub struct AlertsSettings {
    pub enabled: bool,
    pub engine: AlertsConfig,
    pub max_attempts: u32,
}

/// Builds the alerts' settings over their defaults, reporting each bad value under its key.
pub(super) fn resolve(raw: RawAlerts, report: &mut Report<'_>) -> AlertsSettings {
    let mut engine = AlertsConfig::default();
    let defaults = &mut engine.defaults;
    if let Some(text) = raw.warning_days {
        match parse_warning_days(&text.text()) {
            Ok(days) => defaults.warning_days = days,
            Err(error) => report.problem("alerts.warning_days", error.message),
        }
    }
    let team_span = relink_core::alerts::MAX_TEAM_SPAN;
    let durations = [
        ("alerts.first_reminder", raw.first_reminder, &mut defaults.first_reminder, false, team_span),
        ("alerts.reminder_every", raw.reminder_every, &mut defaults.reminder_every, false, team_span),
        ("alerts.escalate_after", raw.escalate_after, &mut defaults.escalate_after, true, team_span),
        ("alerts.grouping_window", raw.grouping_window, &mut engine.grouping_window, true, MAX_GROUPING_WINDOW),
        ("alerts.degraded_after", raw.degraded_after, &mut engine.degraded_after, false, MAX_DEGRADED_AFTER),
    ];
    for (key, text, slot, zero_allowed, max) in durations {
        let Some(text) = text else { continue };
        let too_long = humantime::parse_duration(text.trim()).is_ok_and(|d| relink_core::time::delta(d) > max);
        if too_long {
            report.problem(key, format!("`{}` is longer than {}", text.trim(), span(max)));
            continue;
        }
        match parse_duration("duration", &text) {
            Ok(value) if zero_allowed || value > chrono::Duration::zero() => *slot = value,
            Ok(_) => report.problem(key, "must be longer than zero".into()),
            Err(error) => report.problem(key, error.message),
        }
    }
    if let Some(text) = raw.operator {
        match Destination::parse_operator(&text) {
            Ok(destination) => engine.operators = destination,
            Err(error) => report.problem("alerts.operator", error.message),
        }
    }
    let defaults = DeliveryConfig::default();
    let max_attempts = match raw.max_attempts {
        Some(n) if (1..=100).contains(&n) => n,
        Some(bad) => {
            report.problem("alerts.max_attempts", format!("{bad} is not between 1 and 100"));
            defaults.max_attempts
        }
        None => defaults.max_attempts,
    };
    AlertsSettings { enabled: raw.enabled.unwrap_or(true), engine, max_attempts }
}

pub(super) fn describe(alerts: &AlertsSettings, out: &mut Description<'_>) {
    let defaults = &alerts.engine.defaults;
    out.line("alerts.enabled", alerts.enabled.to_string());
    out.line("alerts.warning_days", format!("{:?}", format_warning_days(&defaults.warning_days)));
    out.line("alerts.first_reminder", format!("{:?}", span(defaults.first_reminder)));
    out.line("alerts.reminder_every", format!("{:?}", span(defaults.reminder_every)));
    out.line("alerts.escalate_after", format!("{:?}", span(defaults.escalate_after)));
    out.line("alerts.grouping_window", format!("{:?}", span(alerts.engine.grouping_window)));
    out.line("alerts.degraded_after", format!("{:?}", span(alerts.engine.degraded_after)));
    out.line("alerts.max_attempts", alerts.max_attempts.to_string());
    out.line("alerts.operator", format!("{:?}", alerts.engine.operators.to_string()));
}
