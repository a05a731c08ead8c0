//! `relink team add|list|dashboard-link`.

use chrono::Utc;
use clap::Subcommand;
use relink_core::signin::mint_signin;
use relink_core::{Language, TeamName};
use secrecy::ExposeSecret as _;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum TeamCommand {
    /// Create a team.
    Add {
        /// The team's name (unique).
        name: String,
        /// Language of alerts and pages: en, it or ja.
        #[arg(long, default_value = "en")]
        language: String,
    },
    /// List teams.
    List,
    /// Print a single-use sign-in link to the team page (`/team`) for one member; it works for
    /// 15 minutes and signs one browser in for 12 hours.
    DashboardLink {
        #[arg(long)]
        team: String,
        /// The member who will open the link (any role; only owners and admins get buttons).
        #[arg(long, value_name = "MEMBER")]
        member: String,
    },
}

pub async fn run(command: TeamCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        TeamCommand::Add { name, language } => {
            let name = TeamName::parse(&name)?;
            let language: Language = language.parse()?;
            let store = crate::open::store(config).await?;
            let team = store.create_team(&name, language, Utc::now()).await?;
            println!("team `{}` created (id {}, language {})", team.name, team.id, team.language);
        }
        TeamCommand::List => {
            let store = crate::open::store(config).await?;
            let teams = store.teams().await?;
            if teams.is_empty() {
                println!("no teams yet: add one with `relink team add NAME`");
                return Ok(());
            }
            let mut table = super::table(&["ID", "NAME", "LANGUAGE", "MEMBERS", "CHANNELS", "CREATED"]);
            for team in teams {
                let members = store.members(team.id).await?.len();
                let channels = store.channels(Some(team.id)).await?.len();
                table.add_row(vec![
                    team.id.to_string(),
                    team.name.to_string(),
                    team.language.to_string(),
                    members.to_string(),
                    channels.to_string(),
                    super::when(Some(team.created_at)),
                ]);
            }
            println!("{table}");
        }
        TeamCommand::DashboardLink { team, member } => {
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let member = store.member_by_name(team.id, &member).await?;
            let minted = mint_signin(&store, &config.web.link_settings(), member.id, Utc::now()).await?;
            println!(
                "team page sign-in link for {} ({}) in `{}`, single use, until {}:",
                member.name,
                member.role,
                team.name,
                super::when(Some(minted.link.expires_at))
            );
            println!("{}", minted.url.expose_secret());
        }
    }
    Ok(())
}
