//! `relink member add|list|remove|invite`.

use chrono::Utc;
use clap::Subcommand;
use relink_core::opaque::InviteCode;
use relink_core::store::NewMember;
use relink_core::{DiscordUserId, MemberName, Role, TelegramUserId};

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Add a member to a team.
    Add {
        #[arg(long)]
        team: String,
        /// The member's name within the team.
        name: String,
        /// primary_owner, owner, admin, editor or viewer (only the first three may reconnect).
        #[arg(long)]
        role: String,
        /// The member's Discord user id.
        #[arg(long, value_name = "ID")]
        discord: Option<String>,
        /// The member's Telegram user id.
        #[arg(long, value_name = "ID")]
        telegram: Option<String>,
    },
    /// List a team's members.
    List {
        #[arg(long)]
        team: String,
    },
    /// Print a one-time code the member sends to the bot (`/link CODE`) to link their Discord
    /// or Telegram account.
    Invite {
        #[arg(long)]
        team: String,
        name: String,
        /// How long the code works (5m to 7d).
        #[arg(long, default_value = "24h", value_name = "DURATION")]
        ttl: String,
    },
    /// Remove a member from a team.
    Remove {
        #[arg(long)]
        team: String,
        name: String,
    },
}

pub async fn run(command: MemberCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        MemberCommand::Add { team, name, role, discord, telegram } => {
            let name = MemberName::parse(&name)?;
            let role: Role = role.parse()?;
            let discord_user_id = discord.as_deref().map(str::parse::<DiscordUserId>).transpose()?;
            let telegram_user_id = telegram.as_deref().map(str::parse::<TelegramUserId>).transpose()?;
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let member = store
                .add_member(&NewMember { team_id: team.id, name, role, discord_user_id, telegram_user_id }, Utc::now())
                .await?;
            println!("{} added to `{}` as {}", member.name, team.name, member.role);
            if !member.role.may_reconnect() {
                println!(
                    "note: a{} {} receives no reconnect links and cannot reconnect channels",
                    if member.role == Role::Editor { "n" } else { "" },
                    member.role
                );
            }
        }
        MemberCommand::List { team } => {
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let members = store.members(team.id).await?;
            if members.is_empty() {
                println!(
                    "`{}` has no members yet: add one with `relink member add --team '{}' NAME --role admin`",
                    team.name, team.name
                );
                return Ok(());
            }
            let mut table = super::table(&["ID", "NAME", "ROLE", "MAY RECONNECT", "DISCORD", "TELEGRAM"]);
            for member in members {
                table.add_row(vec![
                    member.id.to_string(),
                    member.name.to_string(),
                    member.role.to_string(),
                    if member.role.may_reconnect() { "yes" } else { "no" }.to_string(),
                    member.discord_user_id.map_or("-".into(), |id| id.to_string()),
                    member.telegram_user_id.map_or("-".into(), |id| id.to_string()),
                ]);
            }
            println!("{table}");
        }
        MemberCommand::Invite { team, name, ttl } => {
            let ttl = relink_core::time::parse_duration("--ttl", &ttl)?;
            if ttl < chrono::Duration::minutes(5) || ttl > chrono::Duration::days(7) {
                anyhow::bail!("ttl: must be from 5m to 7d");
            }
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let member = store.member_by_name(team.id, &name).await?;
            let code = InviteCode::generate();
            let now = Utc::now();
            store.create_invite(member.id, &code, now, now + ttl).await?;
            println!("{}", code.expose());
            eprintln!(
                "{} sends `/link {}` to the relink bot in a private chat (Telegram) or uses /link (Discord) \
                 before {}; the code works once.",
                member.name,
                code.expose(),
                (now + ttl).format("%Y-%m-%d %H:%M UTC")
            );
        }
        MemberCommand::Remove { team, name } => {
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let member = store.member_by_name(team.id, &name).await?;
            let authorised: Vec<String> = store
                .channels(Some(team.id))
                .await?
                .into_iter()
                .filter(|c| c.authorized_by == Some(member.id))
                .map(|c| c.display_name.to_string())
                .collect();
            store.remove_member(member.id).await?;
            println!("{} removed from `{}`", member.name, team.name);
            if !authorised.is_empty() {
                println!(
                    "note: {} authorised {}; those channels keep working until their tokens end, then another admin must reconnect them",
                    member.name,
                    authorised.join(", ")
                );
            }
        }
    }
    Ok(())
}
