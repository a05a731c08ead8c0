//! `log` and `log_format`: the tracing filter relink logs through (`info` unless set) and how
//! each line is written: `text` for people (the default) or `json`, one object a line, for log
//! shippers.

use super::report::{Description, Report};

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// tracing's human-readable lines.
    #[default]
    Text,
    /// One JSON object a line (timestamp, level, target, fields, spans).
    Json,
}

pub(super) fn resolve(raw: Option<String>, report: &mut Report<'_>) -> String {
    let log = raw.unwrap_or_else(|| "info".into());
    if let Err(error) = tracing_subscriber::EnvFilter::builder().parse(&log) {
        report.problem("log", format!("not a log filter ({error}); try info, debug, or relink=debug,info"));
    }
    log
}

pub(super) fn resolve_format(raw: Option<String>, report: &mut Report<'_>) -> LogFormat {
    match raw.as_deref().map(|f| f.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(_) => {
            report.problem("log_format", "must be \"text\" (the default) or \"json\" (one object a line)".into());
            LogFormat::Text
        }
    }
}

pub(super) fn describe(log: &str, format: LogFormat, out: &mut Description<'_>) {
    out.line("log", format!("{log:?}"));
    let format = match format {
        LogFormat::Text => "text",
        LogFormat::Json => "json",
    };
    out.line("log_format", format!("{format:?}"));
}
