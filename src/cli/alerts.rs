//! `relink alerts list|show|failed|retry|settings`: what relink told whom, the deliveries that
//! failed for good, and a team's warning and reminder settings and its calendar (time zone and
//! quiet hours).

use chrono::Utc;
use clap::Subcommand;
use relink_core::alerts::messages::render_text;
use relink_core::alerts::{
    AlertId, DeliveryId, QuietHours, SettingsOverride, TeamSettings, Zone, check_team_span, format_warning_days,
    parse_warning_days,
};
use relink_core::checker::schedule::CALM_EVERY_RANGE;
use relink_core::domain::ParseError;
use relink_core::time::parse_duration;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List recent alerts, oldest first, with how many of their deliveries went out.
    List {
        /// Only this team's alerts.
        #[arg(long)]
        team: Option<String>,
        /// How many of the most recent alerts.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Show one alert as the log notifier writes it, and where it went.
    Show {
        /// The alert's id (from `alerts list`).
        id: String,
    },
    /// List deliveries that failed for good (the dead letters).
    Failed {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send failed deliveries again: one by its id, or all of them.
    Retry {
        /// The delivery's id (from `alerts failed`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Show or change when a team is warned, reminded and escalated, and its time zone and quiet
    /// hours (unset values follow the configuration).
    Settings {
        #[arg(long)]
        team: String,
        /// Days before an expiry at which to warn, e.g. 14,7,3,1.
        #[arg(long, value_name = "DAYS")]
        warning_days: Option<String>,
        /// The first reminder after a disconnection, e.g. 1d.
        #[arg(long, value_name = "DURATION")]
        first_reminder: Option<String>,
        /// Then a reminder this often, e.g. 2d.
        #[arg(long, value_name = "DURATION")]
        reminder_every: Option<String>,
        /// How long the authoriser has before every admin and the team's chats are told, e.g. 4h.
        #[arg(long, value_name = "DURATION")]
        escalate_after: Option<String>,
        /// How long the team's calm channels wait between checks, from 5m to 7d, e.g. 1h (a
        /// team of ten channels can afford hourly checks; the networks' rate budgets still cap
        /// the total).
        #[arg(long, value_name = "DURATION")]
        check_every: Option<String>,
        /// The team's time zone, an IANA name such as Europe/Rome or Asia/Tokyo, which its quiet
        /// hours and daily digest follow; UTC (the default) clears it.
        #[arg(long, value_name = "ZONE")]
        timezone: Option<String>,
        /// When only urgent alerts go out, in the team's time zone, e.g. 20:00-08:00 (across
        /// midnight); `none` clears them.
        #[arg(long, value_name = "FROM-UNTIL")]
        quiet_hours: Option<String>,
        /// Forget the team's own settings: follow the configuration again.
        #[arg(
            long,
            conflicts_with_all = [
                "warning_days", "first_reminder", "reminder_every", "escalate_after", "check_every", "timezone",
                "quiet_hours",
            ]
        )]
        reset: bool,
    },
}

pub async fn run(command: AlertsCommand, config: &Config) -> anyhow::Result<()> {
    let now = Utc::now();
    match command {
        AlertsCommand::List { team, limit } => {
            let store = crate::open::store(config).await?;
            let team = match team {
                Some(name) => Some(store.team_by_name(&name).await?.id),
                None => None,
            };
            let alerts = store.alerts(team, limit).await?;
            if alerts.is_empty() {
                println!("no alerts yet");
                return Ok(());
            }
            let mut table = super::table(&["ID", "WHEN", "TEAM", "KIND", "SEVERITY", "TITLE", "SENT"]);
            for alert in alerts {
                let deliveries = store.deliveries(false, Some(alert.id), 1_000).await?;
                let sent = deliveries.iter().filter(|d| d.status == "sent").count();
                table.add_row(vec![
                    alert.id.to_string(),
                    super::when(Some(alert.created_at)),
                    alert.team.clone(),
                    alert.kind.to_string(),
                    alert.severity.to_string(),
                    alert.title.clone(),
                    format!("{sent}/{}", deliveries.len()),
                ]);
            }
            println!("{table}");
        }
        AlertsCommand::Show { id } => {
            let id: AlertId = id.parse()?;
            let store = crate::open::store(config).await?;
            let alert = store.alert(id).await?;
            println!("{}\n", render_text(&alert, &[]));
            let mut table = super::table(&["DELIVERY", "DESTINATION", "STATUS", "ATTEMPTS", "SENT", "LAST ERROR"]);
            for delivery in store.deliveries(false, Some(id), 1_000).await? {
                table.add_row(vec![
                    delivery.id.to_string(),
                    delivery.destination.to_string(),
                    delivery.status.clone(),
                    delivery.attempts.to_string(),
                    super::when(delivery.sent_at),
                    delivery.last_error.unwrap_or_else(|| "-".into()),
                ]);
            }
            println!("{table}");
        }
        AlertsCommand::Failed { limit } => {
            let store = crate::open::store(config).await?;
            let failed = store.deliveries(true, None, limit).await?;
            if failed.is_empty() {
                println!("no failed deliveries");
                return Ok(());
            }
            let mut table =
                super::table(&["DELIVERY", "ALERT", "TEAM", "KIND", "DESTINATION", "ATTEMPTS", "LAST ERROR"]);
            for delivery in failed {
                table.add_row(vec![
                    delivery.id.to_string(),
                    delivery.alert_id.to_string(),
                    delivery.team.clone(),
                    delivery.kind.to_string(),
                    delivery.destination.to_string(),
                    delivery.attempts.to_string(),
                    delivery.last_error.unwrap_or_else(|| "-".into()),
                ]);
            }
            println!("{table}");
            println!("send them again with `relink alerts retry ID` or `relink alerts retry --all`");
        }
        AlertsCommand::Retry { id, all } => {
            let id = if all { None } else { id.as_deref().map(str::parse::<DeliveryId>).transpose()? };
            let store = crate::open::store(config).await?;
            let retried = store.retry_deliveries(id, now).await?;
            println!(
                "{retried} deliver{} queued again; a running `relink serve` sends them",
                if retried == 1 { "y" } else { "ies" }
            );
        }
        AlertsCommand::Settings {
            team,
            warning_days,
            first_reminder,
            reminder_every,
            escalate_after,
            check_every,
            timezone,
            quiet_hours,
            reset,
        } => {
            let duration = |field, raw: Option<String>, zero_allowed| {
                raw.map(|raw| check_team_span(field, parse_duration(field, &raw)?, zero_allowed)).transpose()
            };
            let given = SettingsOverride {
                warning_days: warning_days
                    .as_deref()
                    .map(parse_warning_days)
                    .transpose()
                    .map_err(|e| ParseError::new("--warning-days", e.message))?,
                first_reminder: duration("--first-reminder", first_reminder, false)?,
                reminder_every: duration("--reminder-every", reminder_every, false)?,
                escalate_after: duration("--escalate-after", escalate_after, true)?,
                check_every: check_every.as_deref().map(parse_check_every).transpose()?,
                timezone: None,
                quiet_hours: None,
            };
            // `Some(None)`: the flag clears the setting.
            let timezone = timezone.as_deref().map(parse_timezone).transpose()?;
            let quiet_hours = quiet_hours.as_deref().map(parse_quiet_hours).transpose()?;
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let mut own = store.team_alert_settings(team.id).await?;
            if reset {
                own = SettingsOverride::default();
            }
            let changing = reset || given != SettingsOverride::default() || timezone.is_some() || quiet_hours.is_some();
            own.warning_days = given.warning_days.or(own.warning_days);
            own.first_reminder = given.first_reminder.or(own.first_reminder);
            own.reminder_every = given.reminder_every.or(own.reminder_every);
            own.escalate_after = given.escalate_after.or(own.escalate_after);
            own.check_every = given.check_every.or(own.check_every);
            own.timezone = timezone.unwrap_or(own.timezone);
            own.quiet_hours = quiet_hours.unwrap_or(own.quiet_hours);
            if changing {
                store.set_team_alert_settings(team.id, &own).await?;
            }
            print_settings(&team.name.to_string(), &config.alerts.engine.defaults, &own);
            let every = own.check_every.and_then(|d| d.to_std().ok()).unwrap_or(config.checker.every);
            let whose = if own.check_every.is_some() { "(this team)" } else { "(configuration)" };
            println!("  {:<15} {:<12} {whose}", "check every", humantime::format_duration(every).to_string());
            print_calendar(&config.alerts.engine.defaults, &own);
        }
    }
    Ok(())
}

/// `--check-every`: a duration within the range `checks.every` allows.
fn parse_check_every(raw: &str) -> Result<chrono::Duration, ParseError> {
    let field = "--check-every";
    let every = parse_duration(field, raw)?;
    match every.to_std() {
        Ok(std) if CALM_EVERY_RANGE.contains(&std) => Ok(every),
        _ => Err(ParseError::new(field, format!("`{}` is not between 5m and 7d", raw.trim()))),
    }
}

/// `--timezone`: an IANA name the bundled database knows; UTC, the default, is `None`.
fn parse_timezone(raw: &str) -> Result<Option<Zone>, ParseError> {
    let zone = Zone::parse(raw).map_err(|e| ParseError::new("--timezone", e.message))?;
    Ok((!zone.name().eq_ignore_ascii_case(Zone::utc().name())).then_some(zone))
}

/// `--quiet-hours`: `20:00-08:00`, or `none`.
fn parse_quiet_hours(raw: &str) -> Result<Option<QuietHours>, ParseError> {
    if raw.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    QuietHours::parse(raw)
        .map(Some)
        .map_err(|e| ParseError::new("--quiet-hours", format!("{}; `none` clears them", e.message)))
}

/// A team's time zone and quiet hours, saying which are its own.
fn print_calendar(defaults: &TeamSettings, own: &SettingsOverride) {
    let calendar = defaults.with(own).calendar;
    let whose = |is_own: bool| if is_own { "(this team)" } else { "(default)" };
    let quiet = calendar.quiet.map_or_else(|| "none".to_owned(), |quiet| quiet.to_string());
    println!("  {:<15} {:<12} {}", "time zone", calendar.zone.to_string(), whose(own.timezone.is_some()));
    println!("  {:<15} {:<12} {}", "quiet hours", quiet, whose(own.quiet_hours.is_some()));
}

/// A team's effective settings, saying which are its own.
fn print_settings(team: &str, defaults: &TeamSettings, own: &SettingsOverride) {
    let effective = defaults.with(own);
    let whose = |is_own: bool| if is_own { "(this team)" } else { "(configuration)" };
    let span = |d: chrono::Duration| humantime::format_duration(d.to_std().unwrap_or_default()).to_string();
    println!("alert settings of `{team}`:");
    let rows = [
        ("warning days", format_warning_days(&effective.warning_days), own.warning_days.is_some()),
        ("first reminder", span(effective.first_reminder), own.first_reminder.is_some()),
        ("reminder every", span(effective.reminder_every), own.reminder_every.is_some()),
        ("escalate after", span(effective.escalate_after), own.escalate_after.is_some()),
    ];
    for (name, value, is_own) in rows {
        println!("  {name:<15} {value:<12} {}", whose(is_own));
    }
}
