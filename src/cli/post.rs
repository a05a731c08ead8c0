//! `relink post schedule|list|cancel`: the posts alerts count as at risk.

use chrono::Utc;
use clap::Subcommand;
use relink_core::PostId;
use relink_core::time::parse_instant;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum PostCommand {
    /// Register a post due on a channel.
    Schedule {
        #[arg(long)]
        team: String,
        /// Channel id or name.
        #[arg(long)]
        channel: String,
        /// When the post is due (e.g. 2026-12-01 09:30, +2d).
        #[arg(long, value_name = "WHEN")]
        at: String,
        /// The publishing tool's id for the post; scheduling it again moves it.
        #[arg(long = "ref", value_name = "REF")]
        external_ref: Option<String>,
    },
    /// List a team's pending posts.
    List {
        #[arg(long)]
        team: String,
        #[arg(long)]
        channel: Option<String>,
        /// Include published and cancelled posts.
        #[arg(long)]
        all: bool,
    },
    /// Cancel a scheduled post.
    Cancel {
        #[arg(long)]
        team: String,
        /// The post's id (from `post list`).
        id: String,
    },
}

pub async fn run(command: PostCommand, config: &Config) -> anyhow::Result<()> {
    let now = Utc::now();
    match command {
        PostCommand::Schedule { team, channel, at, external_ref } => {
            let at = parse_instant("--at", &at, now)?;
            if at < now {
                anyhow::bail!("at: {} is in the past", super::when(Some(at)));
            }
            if let Some(reference) = &external_ref
                && (reference.trim().is_empty() || reference.len() > 200)
            {
                anyhow::bail!("ref: must be 1 to 200 characters");
            }
            let store = crate::open::store(config).await?;
            let (_, channel) = super::channel::lookup(&store, &team, &channel).await?;
            let post = store.schedule_post(channel.id, at, external_ref.as_deref().map(str::trim), now).await?;
            println!("post {} scheduled on `{}` for {}", post.id, channel.display_name, super::when(Some(post.due_at)));
        }
        PostCommand::List { team, channel, all } => {
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let channels = store.channels(Some(team.id)).await?;
            let only = channel.as_deref().map(|q| relink_core::find_channel(&channels, q)).transpose()?.map(|c| c.id);
            let posts = store.posts(team.id, only, all).await?;
            if posts.is_empty() {
                println!("no {}posts", if all { "" } else { "pending " });
                return Ok(());
            }
            let mut table = super::table(&["ID", "CHANNEL", "DUE", "STATUS", "REF"]);
            for post in posts {
                let name = channels
                    .iter()
                    .find(|c| c.id == post.channel_id)
                    .map_or("?".into(), |c| c.display_name.to_string());
                table.add_row(vec![
                    post.id.to_string(),
                    name,
                    super::when(Some(post.due_at)),
                    post.status.to_string(),
                    post.external_ref.unwrap_or_else(|| "-".into()),
                ]);
            }
            println!("{table}");
        }
        PostCommand::Cancel { team, id } => {
            let id: PostId = id.parse()?;
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let post = store.cancel_post(team.id, id).await?;
            println!("post {} cancelled", post.id);
        }
    }
    Ok(())
}
