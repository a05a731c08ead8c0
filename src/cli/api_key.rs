//! `relink api-key create|list|revoke`: the keys publishing tools use for a team's HTTP API.
//! A key is shown once, when created; relink keeps only its hash.

use chrono::Utc;
use clap::Subcommand;
use relink_core::ApiKeyName;
use relink_core::opaque::{OpaqueToken, api_key_text};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key for a team's publishing tool; it is printed once, keep it in the tool's secrets.
    Create {
        #[arg(long)]
        team: String,
        /// A name for the key, unique in the team (e.g. the tool's name).
        name: String,
    },
    /// List a team's keys (never the keys themselves).
    List {
        #[arg(long)]
        team: String,
    },
    /// Revoke a team's key: calls with it are refused from now on.
    Revoke {
        #[arg(long)]
        team: String,
        name: String,
    },
}

pub async fn run(command: ApiKeyCommand, config: &Config) -> anyhow::Result<()> {
    let now = Utc::now();
    let store = crate::open::store(config).await?;
    match command {
        ApiKeyCommand::Create { team, name } => {
            let name = ApiKeyName::parse(&name)?;
            let team = store.team_by_name(&team).await?;
            let secret = OpaqueToken::generate();
            store.create_api_key(team.id, &name, &secret, now).await?;
            eprintln!("API key `{name}` created for `{}`; it is shown only now:", team.name);
            println!("{}", api_key_text(&secret));
            eprintln!(
                "use it as `Authorization: Bearer <key>` against {}/api/v1 (see /openapi.json)",
                config.web.public_url
            );
        }
        ApiKeyCommand::List { team } => {
            let team = store.team_by_name(&team).await?;
            let keys = store.api_keys(team.id).await?;
            if keys.is_empty() {
                println!(
                    "`{}` has no API keys: create one with `relink api-key create --team {} NAME`",
                    team.name, team.name
                );
                return Ok(());
            }
            let mut table = super::table(&["NAME", "CREATED", "LAST USED", "STATE"]);
            for key in keys {
                let state = if key.revoked_at.is_some() { "revoked" } else { "active" };
                table.add_row(vec![
                    key.name.to_string(),
                    super::when(Some(key.created_at)),
                    super::when(key.last_used_at),
                    state.to_string(),
                ]);
            }
            println!("{table}");
        }
        ApiKeyCommand::Revoke { team, name } => {
            let name = ApiKeyName::parse(&name)?;
            let team = store.team_by_name(&team).await?;
            store.revoke_api_key(team.id, &name, now).await?;
            println!("API key `{name}` of `{}` revoked", team.name);
        }
    }
    Ok(())
}
