//! `relink doctor`: what can be checked without sending anything to teams, as a checklist.
//!
//! Each [`Check`] is ✓ (fine), ⚠ (advice, or something that cannot be checked from here) or ✗
//! (a failure, with the fix in one line); any ✗ makes the command exit 1. `local` looks at the
//! configuration, the files and the database; `remote` asks the networks, Telegram and Discord
//! whether relink's credentials are accepted, each call with a short timeout, through the
//! configured base URLs, and gathers their `Date` headers for the clock check. Nothing secret is
//! printed: tokens and secrets are sent, never shown, and answers are quoted only in part.

mod local;
mod remote;

use std::fmt::Write as _;
use std::time::Duration;

use clap::Args;

use crate::config::{Config, Problems};

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// How long each network call may take before it counts as unreachable (e.g. 5s).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_timeout)]
    timeout: Duration,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .ok()
        .filter(|d| (Duration::from_millis(100)..=Duration::from_secs(120)).contains(d))
        .ok_or_else(|| format!("`{text}` is not a duration between 100ms and 2m (e.g. 5s)"))
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    Pass,
    Advice,
    Fail,
}

/// One line of the checklist: what was checked, what was found, and for a failure the fix.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    mark: Mark,
    title: String,
    /// Further lines under the title (a redirect URI, pending migrations).
    details: Vec<String>,
    fix: Option<String>,
}

impl Check {
    pub(crate) fn pass(title: impl Into<String>) -> Self {
        Self { mark: Mark::Pass, title: title.into(), details: Vec::new(), fix: None }
    }

    pub(crate) fn advice(title: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { mark: Mark::Advice, title: title.into(), details: Vec::new(), fix: Some(fix.into()) }
    }

    pub(crate) fn fail(title: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { mark: Mark::Fail, title: title.into(), details: Vec::new(), fix: Some(fix.into()) }
    }

    pub(crate) fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    fn render(&self, out: &mut String) {
        let mark = match self.mark {
            Mark::Pass => "✓",
            Mark::Advice => "⚠",
            Mark::Fail => "✗",
        };
        let _ = writeln!(out, "{mark} {}", self.title);
        for line in &self.details {
            let _ = writeln!(out, "    {line}");
        }
        if let Some(fix) = &self.fix {
            let label = if self.mark == Mark::Fail { "fix" } else { "note" };
            let _ = writeln!(out, "    {label}: {fix}");
        }
    }
}

/// Prints the checklist and says whether it holds a failure.
fn report(checks: &[Check]) -> anyhow::Result<()> {
    let mut out = String::new();
    for check in checks {
        check.render(&mut out);
    }
    let failed = checks.iter().filter(|c| c.mark == Mark::Fail).count();
    let advice = checks.iter().filter(|c| c.mark == Mark::Advice).count();
    let _ = writeln!(out, "\n{} checks: {failed} failed, {advice} to look at", checks.len());
    print!("{out}");
    if failed > 0 { Err(anyhow::anyhow!("{failed} check(s) failed (✗ above, each with its fix)")) } else { Ok(()) }
}

/// The checklist when the configuration itself is invalid: nothing else can be checked.
pub fn invalid_configuration(problems: &Problems) -> std::process::ExitCode {
    let mut check = Check::fail(
        format!("configuration: {} problem(s)", problems.0.len()),
        "correct the values named above (`relink config check` shows every setting and where it came from)",
    );
    for problem in &problems.0 {
        check = check.detail(problem.to_string());
    }
    match report(&[check]) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

pub async fn run(args: DoctorArgs, config: &Config) -> anyhow::Result<()> {
    let mut checks = vec![Check::pass("configuration is valid")];
    checks.push(local::public_url(config));
    let (remote, database) = tokio::join!(remote::checks(config, args.timeout), local::storage(config, args.timeout));
    checks.extend(database);
    checks.extend(remote);
    report(&checks)
}
