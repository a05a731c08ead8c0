//! `[checker]`: whether the checker runs, how many channels it claims at once and how many it
//! checks in parallel. The cadence it checks calm channels at is `[checks]` (see `checks`).

use serde::Deserialize;

use super::checks::{self, RawChecks};
use super::report::{Description, Report};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawChecker {
    enabled: Option<bool>,
    batch: Option<u32>,
    concurrency: Option<usize>,
}

/// The checker's settings.
#[derive(Debug, Clone)]
pub struct CheckerSettings {
    pub enabled: bool,
    pub batch: u32,
    pub concurrency: usize,
    /// How long a calm channel waits between checks (`checks.every`); a team may ask for its own.
    pub every: std::time::Duration,
}

/// Resolves `[checker]`, then `[checks]` for the cadence.
pub(super) fn resolve(raw: RawChecker, cadence: RawChecks, report: &mut Report<'_>) -> CheckerSettings {
    let defaults = relink_core::checker::CheckerConfig::default();
    CheckerSettings {
        enabled: raw.enabled.unwrap_or(true),
        batch: raw.batch.filter(|b| (1..=10_000).contains(b)).unwrap_or_else(|| {
            if let Some(bad) = raw.batch {
                report.problem("checker.batch", format!("{bad} is not between 1 and 10000"));
            }
            defaults.batch
        }),
        concurrency: raw.concurrency.filter(|c| (1..=4_096).contains(c)).unwrap_or_else(|| {
            if let Some(bad) = raw.concurrency {
                report.problem("checker.concurrency", format!("{bad} is not between 1 and 4096"));
            }
            defaults.concurrency
        }),
        every: checks::resolve(cadence, report),
    }
}

pub(super) fn describe(checker: &CheckerSettings, out: &mut Description<'_>) {
    out.line("checker.enabled", checker.enabled.to_string());
    out.line("checker.batch", checker.batch.to_string());
    out.line("checker.concurrency", checker.concurrency.to_string());
}
