//! `relink team add|list`.

use chrono::Utc;
use clap::Subcommand;
use relink_core::{Language, TeamName};

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
    }
    Ok(())
}
