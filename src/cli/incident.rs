//! `relink incident list|ack|snooze`: what is wrong with a team's channels now, and acting on it
//! on behalf of a member (the member's role decides whether they may).

use anyhow::Context as _;
use chrono::Utc;
use clap::Subcommand;
use relink_core::alerts::{Incident, IncidentId, acknowledge, snooze};
use relink_core::time::parse_instant;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// List open incidents (all of them with --all), oldest first.
    List {
        /// Only this team's incidents.
        #[arg(long)]
        team: Option<String>,
        /// Include resolved incidents.
        #[arg(long)]
        all: bool,
    },
    /// Acknowledge an incident ("I'm on it"): nobody else is escalated to; reminders go on.
    Ack {
        #[arg(long)]
        team: String,
        /// The incident's id (from `incident list`).
        id: String,
        /// The member acknowledging (primary owner, owner or admin).
        #[arg(long, value_name = "MEMBER")]
        by: String,
    },
    /// Silence an incident's reminders, warnings and escalation until a time. A new reason and
    /// posts due within 24 hours still speak.
    Snooze {
        #[arg(long)]
        team: String,
        id: String,
        #[arg(long, value_name = "MEMBER")]
        by: String,
        /// Until when (e.g. +2d, 2026-12-01 09:00).
        #[arg(long, value_name = "WHEN")]
        until: String,
    },
}

pub async fn run(command: IncidentCommand, config: &Config) -> anyhow::Result<()> {
    let now = Utc::now();
    match command {
        IncidentCommand::List { team, all } => {
            let store = crate::open::store(config).await?;
            let team = match team {
                Some(name) => Some(store.team_by_name(&name).await?.id),
                None => None,
            };
            let incidents = store.incidents(team, all).await?;
            if incidents.is_empty() {
                println!("no {}incidents", if all { "" } else { "open " });
                return Ok(());
            }
            let channels = store.channels(team).await?;
            let mut table = super::table(&["ID", "CHANNEL", "PROBLEM", "REASON", "OPENED", "STATE"]);
            for incident in incidents {
                let channel = channels
                    .iter()
                    .find(|c| c.id == incident.channel_id)
                    .map_or_else(|| incident.channel_id.to_string(), |c| c.display_name.to_string());
                table.add_row(vec![
                    incident.id.map_or_else(String::new, |id| id.to_string()),
                    channel,
                    incident.problem.to_string(),
                    incident.reason.as_ref().map_or_else(|| "-".into(), ToString::to_string),
                    super::when(Some(incident.opened_at)),
                    state(&store, &incident, now).await?,
                ]);
            }
            println!("{table}");
        }
        IncidentCommand::Ack { team, id, by } => {
            let id: IncidentId = id.parse()?;
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let member = store.member_by_name(team.id, &by).await?;
            acknowledge(&store, id, member.id, now)
                .await
                .with_context(|| format!("cannot acknowledge incident {id}"))?;
            println!("incident {id} acknowledged by {}: nobody else is escalated to", member.name);
        }
        IncidentCommand::Snooze { team, id, by, until } => {
            let id: IncidentId = id.parse()?;
            let until = parse_instant("--until", &until, now)?;
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let member = store.member_by_name(team.id, &by).await?;
            snooze(&store, id, member.id, until, now).await.with_context(|| format!("cannot snooze incident {id}"))?;
            println!("incident {id} snoozed by {} until {}", member.name, super::when(Some(until)));
        }
    }
    Ok(())
}

/// Where an incident stands, in words.
async fn state(
    store: &relink_core::store::Store,
    incident: &Incident,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<String> {
    let name = |id| async move {
        store.member(id).await.map(|m| m.name.to_string()).unwrap_or_else(|_| "a former member".into())
    };
    Ok(if let Some(at) = incident.resolved_at {
        format!("resolved {}", super::when(Some(at)))
    } else if let (Some(until), Some(by)) = (incident.snoozed_until.filter(|u| *u > now), incident.snoozed_by) {
        format!("snoozed by {} until {}", name(by).await, super::when(Some(until)))
    } else if let Some(by) = incident.acknowledged_by {
        format!("acknowledged by {}", name(by).await)
    } else if incident.escalated_at.is_some() {
        "escalated to every admin".into()
    } else {
        "open".into()
    })
}
