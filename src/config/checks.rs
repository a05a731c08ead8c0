//! `[checks]`: how often a calm channel is checked (`checks.every`, 6 hours unless set; a team
//! may ask for its own). The checker's other settings are `[checker]` (see `checker`).

use std::time::Duration;

use relink_core::checker::schedule::{CALM_EVERY, CALM_EVERY_RANGE};
use serde::Deserialize;

use super::report::{Description, Report, duration_within, quoted_span};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawChecks {
    every: Option<String>,
}

pub(super) fn resolve(raw: RawChecks, report: &mut Report<'_>) -> Duration {
    match raw.every.as_deref().map(str::trim) {
        None => CALM_EVERY,
        Some(text) => duration_within(text, CALM_EVERY_RANGE).unwrap_or_else(|| {
            report.problem("checks.every", format!("`{text}` is not a duration between 5m and 7d (e.g. 6h)"));
            CALM_EVERY
        }),
    }
}

pub(super) fn describe(every: Duration, out: &mut Description<'_>) {
    out.line("checks.every", quoted_span(every));
}
