//! What resolving and describing share across sections: [`Problem`]s found while resolving
//! (each naming its key and where the value came from), the [`Report`] sections add them to,
//! the [`Description`] they write their lines into, and the value parsers several sections use.

use std::fmt::Write as _;
use std::net::SocketAddr;

use super::Sources;

/// Rates (`providers.*.rate_per_second`, `telegram.caps.*`): from one request in about 17
/// minutes to ten thousand a second.
pub(super) const MIN_RATE: f64 = 0.001;
pub(super) const MAX_RATE: f64 = 10_000.0;

/// One invalid value.
#[derive(Debug, Clone)]
pub struct Problem {
    pub key: String,
    pub source: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (from {}): {}", self.key, self.source, self.message)
    }
}

/// Everything wrong with a configuration.
#[derive(Debug, Clone)]
pub struct Problems(pub Vec<Problem>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "the configuration has {} problem(s):", self.0.len())?;
        for problem in &self.0 {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The problems found so far: a section reports each bad value under its key and goes on with
/// the default, so one run names every problem.
#[derive(Debug)]
pub(super) struct Report<'a> {
    sources: &'a Sources,
    problems: Vec<Problem>,
}

impl<'a> Report<'a> {
    pub(super) fn new(sources: &'a Sources) -> Self {
        Self { sources, problems: Vec::new() }
    }

    /// `key` (dotted) holds a bad value; `message` says what is wrong, never the secret itself.
    pub(super) fn problem(&mut self, key: &str, message: String) {
        self.problems.push(Problem { key: key.into(), source: self.sources.source_of(key), message });
    }

    /// `Err` with every problem reported, if there was one.
    pub(super) fn finish(self) -> Result<(), Problems> {
        if self.problems.is_empty() { Ok(()) } else { Err(Problems(self.problems)) }
    }
}

/// `relink config check`'s listing: one line a setting, with where its value came from.
#[derive(Debug)]
pub(super) struct Description<'a> {
    sources: &'a Sources,
    out: String,
}

impl<'a> Description<'a> {
    pub(super) fn new(sources: &'a Sources) -> Self {
        Self { sources, out: String::new() }
    }

    /// One setting: `value` is shown as written here, so secrets must already be redacted.
    pub(super) fn line(&mut self, key: &str, value: String) {
        let _ = writeln!(self.out, "{key:<24} = {value:<44} # {}", self.sources.source_of(key));
    }

    pub(super) fn finish(self) -> String {
        self.out
    }
}

/// An http(s) URL, surrounding spaces ignored.
pub(super) fn http_url(text: &str) -> Option<url::Url> {
    url::Url::parse(text.trim()).ok().filter(|url| matches!(url.scheme(), "http" | "https"))
}

/// A duration as people write it (`24h`, `90s`) within `range`, surrounding spaces ignored.
pub(super) fn duration_within(
    text: &str,
    range: impl std::ops::RangeBounds<std::time::Duration>,
) -> Option<std::time::Duration> {
    humantime::parse_duration(text.trim()).ok().filter(|duration| range.contains(duration))
}

/// An address and port such as `127.0.0.1:8080`, surrounding spaces ignored.
pub(super) fn socket_addr(text: &str) -> Option<SocketAddr> {
    text.trim().parse().ok()
}

/// A duration shown as people write it in the configuration: `4h`, `2d`, `90s`.
pub(super) fn span(duration: chrono::Duration) -> String {
    humantime::format_duration(duration.to_std().unwrap_or_default()).to_string()
}

/// A `std` duration shown the same way, quoted as the configuration file writes it.
pub(super) fn quoted_span(duration: std::time::Duration) -> String {
    format!("{:?}", humantime::format_duration(duration).to_string())
}
