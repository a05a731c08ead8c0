//! `log`: the tracing filter relink logs through (`info` unless set).

use super::report::{Description, Report};

pub(super) fn resolve(raw: Option<String>, report: &mut Report<'_>) -> String {
    let log = raw.unwrap_or_else(|| "info".into());
    if let Err(error) = tracing_subscriber::EnvFilter::builder().parse(&log) {
        report.problem("log", format!("not a log filter ({error}); try info, debug, or relink=debug,info"));
    }
    log
}

pub(super) fn describe(log: &str, out: &mut Description<'_>) {
    out.line("log", format!("{log:?}"));
}
