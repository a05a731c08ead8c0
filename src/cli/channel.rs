//! `relink channel add|list|show|remove|refresh|reconnect|activity`.

use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use relink_core::alerts::messages::{Catalog, catalog};
use relink_core::channels::{self, RegisterError, Verification};
use relink_core::checker::{CheckNow, RefreshNow};
use relink_core::reconnect::mint_link;
use relink_core::store::{Store, StoreError};
use relink_core::time::parse_instant;
use relink_core::token::TokenSet;
use relink_core::{
    Channel, DisplayName, ExternalAccountId, Health, Language, NewChannel, Provider, Reason, Scopes, Team, find_channel,
};
use secrecy::ExposeSecret as _;

use super::Usage;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Register a connected channel. Tokens are read from standard input (or --token-file):
    /// a bare access token, or the JSON a token endpoint answers.
    Add {
        #[arg(long)]
        team: String,
        /// facebook, instagram_business, instagram_login, linkedin, x, pinterest, youtube,
        /// google_business or telegram.
        #[arg(long)]
        provider: String,
        /// The network's id of the account (page id, user id, channel id; a Telegram channel's
        /// id is negative: `--account -1001234567890`).
        #[arg(long, value_name = "ID", allow_hyphen_values = true)]
        account: String,
        /// The name people know the channel by.
        #[arg(long)]
        name: String,
        /// The member who authorised relink on the network.
        #[arg(long, value_name = "MEMBER")]
        authorized_by: Option<String>,
        /// Read the tokens from this file instead of standard input.
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// When the access token expires, if the token input does not say (e.g. 2026-12-01 or +60d).
        #[arg(long, value_name = "WHEN")]
        expires_at: Option<String>,
        /// Granted scopes, if the token input does not say (comma or space separated).
        #[arg(long)]
        scopes: Option<String>,
        /// Register even if the network rejects the token (the channel starts as needing a
        /// reconnect) or cannot be reached (the checker asks later). A token the network says
        /// belongs to another account is refused regardless.
        #[arg(long)]
        unverified: bool,
    },
    /// List channels with their health.
    List {
        /// Only this team's channels.
        #[arg(long)]
        team: Option<String>,
    },
    /// Show one channel: health, reason, expiry, posts at risk, who authorised it, history.
    Show {
        #[arg(long)]
        team: String,
        /// Channel id or name (a unique part of it is enough).
        channel: String,
    },
    /// Remove a channel, its tokens, posts and history.
    Remove {
        #[arg(long)]
        team: String,
        channel: String,
        /// Confirm the removal (tokens cannot be recovered).
        #[arg(long)]
        yes: bool,
    },
    /// Renew a channel's access now, before it expires (where the network allows it).
    Refresh {
        #[arg(long)]
        team: String,
        channel: String,
    },
    /// Print a fresh single-use reconnect link for a channel, bound to the member who will use it
    /// (an owner or admin; by default the member who authorised the channel, if they may).
    Reconnect {
        #[arg(long)]
        team: String,
        /// Channel id or name (a unique part of it is enough).
        channel: String,
        /// The member who will open the link (default: the channel's authoriser).
        #[arg(long, value_name = "MEMBER")]
        member: Option<String>,
    },
    /// Check a channel with its network now and show the result (exit status 1 when it needs
    /// reconnecting): a pre-flight before publishing.
    Check {
        #[arg(long)]
        team: String,
        channel: String,
    },
    /// Record publishing activity on a channel (Pinterest tokens lapse without it).
    Activity {
        #[arg(long)]
        team: String,
        channel: String,
        /// When the activity happened (default: now).
        #[arg(long, value_name = "WHEN", default_value = "now")]
        at: String,
    },
}

pub async fn run(command: ChannelCommand, config: &Config) -> anyhow::Result<()> {
    let now = Utc::now();
    match command {
        ChannelCommand::Add {
            team,
            provider,
            account,
            name,
            authorized_by,
            token_file,
            expires_at,
            scopes,
            unverified,
        } => {
            let provider: Provider = provider.parse()?;
            let external_account_id = ExternalAccountId::parse(&account)?;
            let display_name = DisplayName::parse(&name)?;
            let expires_at = expires_at.as_deref().map(|raw| parse_instant("--expires-at", raw, now)).transpose()?;
            let scopes = scopes.as_deref().map(Scopes::parse).transpose()?;
            let input = read_tokens(token_file.as_ref())?;
            let mut tokens = TokenSet::parse_input(&input, now)?;
            drop(zeroize::Zeroizing::new(input));
            if let Some(at) = expires_at {
                if tokens.expires_at.is_some() {
                    bail!("--expires-at: the token input already gives the expiry");
                }
                tokens.expires_at = Some(at);
            }
            if let Some(scopes) = scopes {
                if !tokens.scopes.is_empty() {
                    bail!("--scopes: the token input already gives the scopes");
                }
                tokens.scopes = scopes;
            }
            let store = crate::open::store(config).await?;
            let team = store.team_by_name(&team).await?;
            let authorized_by = match authorized_by {
                Some(name) => Some(store.member_by_name(team.id, &name).await?.id),
                None => None,
            };
            let new = NewChannel { team_id: team.id, provider, external_account_id, display_name, authorized_by };
            let verification = if unverified { Verification::Unverified } else { Verification::Required };
            let registered = match channels::register(&store, &config.providers, &new, tokens, verification, now).await
            {
                Ok(registered) => registered,
                Err(error @ RegisterError::OtherAccount { .. }) => {
                    return Err(Usage(format!("--account: {error}")).into());
                }
                Err(error @ (RegisterError::Rejected { .. } | RegisterError::Unconfirmed { .. })) => {
                    bail!("{error}; to register it anyway (checked later), add --unverified")
                }
                Err(RegisterError::Store(error)) => return Err(error.into()),
            };
            let channel = registered.channel;
            match &registered.unverified {
                None => println!(
                    "channel #{} `{}` ({}) added to `{}`; {} confirms the token is account {}'s; its first check is due now",
                    channel.id,
                    channel.display_name,
                    channel.provider.label(),
                    team.name,
                    channel.provider.label(),
                    channel.external_account_id,
                ),
                Some(why) => println!(
                    "channel #{} `{}` ({}) added to `{}` unverified ({why}); its health is {}",
                    channel.id,
                    channel.display_name,
                    channel.provider.label(),
                    team.name,
                    channel.health,
                ),
            }
            if authorized_by.is_none() {
                println!(
                    "note: say who authorised it (--authorized-by) so admins know whom to ask when it disconnects"
                );
            }
        }
        ChannelCommand::List { team } => {
            let store = crate::open::store(config).await?;
            let (channels, teams) = match team {
                Some(name) => {
                    let team = store.team_by_name(&name).await?;
                    (store.channels(Some(team.id)).await?, vec![team])
                }
                None => (store.channels(None).await?, store.teams().await?),
            };
            if channels.is_empty() {
                println!("no channels yet: add one with `relink channel add`");
                return Ok(());
            }
            let mut table =
                super::table(&["ID", "TEAM", "CHANNEL", "NETWORK", "HEALTH", "REASON", "EXPIRES", "NEXT CHECK"]);
            for channel in channels {
                let team = teams.iter().find(|t| t.id == channel.team_id).map_or("?".into(), |t| t.name.to_string());
                table.add_row(vec![
                    channel.id.to_string(),
                    team,
                    channel.display_name.to_string(),
                    channel.provider.label().to_string(),
                    channel.health.kind().to_string(),
                    channel.health.reason().map_or("-".into(), ToString::to_string),
                    super::when(channel.token_expires_at),
                    super::when(Some(channel.next_check_at)),
                ]);
            }
            println!("{table}");
        }
        ChannelCommand::Show { team, channel } => {
            let store = crate::open::store(config).await?;
            let (team, channel) = lookup(&store, &team, &channel).await?;
            show(&store, &team, &channel).await?;
        }
        ChannelCommand::Remove { team, channel, yes } => {
            let store = crate::open::store(config).await?;
            let (team, channel) = lookup(&store, &team, &channel).await?;
            if !yes {
                bail!(
                    "this removes channel #{} `{}` of `{}` with its tokens, posts and history; run again with --yes to confirm",
                    channel.id,
                    channel.display_name,
                    team.name
                );
            }
            store.remove_channel(channel.id).await?;
            println!("channel #{} `{}` removed from `{}`", channel.id, channel.display_name, team.name);
        }
        ChannelCommand::Refresh { team, channel } => {
            let store = crate::open::store(config).await?;
            let (team, channel) = lookup(&store, &team, &channel).await?;
            let checker = crate::app::checker(store.clone(), config);
            let outcome = checker.refresh_now(channel.id, now).await?;
            let after = store.channel(channel.id).await?;
            match refreshed(&team, &after, outcome, now) {
                Ok(line) => println!("{line}"),
                Err(error) => bail!(error),
            }
        }
        ChannelCommand::Reconnect { team, channel, member } => {
            let store = crate::open::store(config).await?;
            let (team, channel) = lookup(&store, &team, &channel).await?;
            let member = match member {
                Some(name) => store.member_by_name(team.id, &name).await?,
                None => {
                    let authoriser = match channel.authorized_by {
                        Some(id) => Some(store.member(id).await?),
                        None => None,
                    };
                    match authoriser {
                        Some(authoriser) if authoriser.role.may_reconnect() => authoriser,
                        Some(authoriser) => {
                            return Err(Usage(format!(
                                "--member: `{}` was authorised by {}, who is {} and may not reconnect it; \
                                 name an owner or admin of `{}`",
                                channel.display_name, authoriser.name, authoriser.role, team.name
                            ))
                            .into());
                        }
                        None => {
                            return Err(Usage(format!(
                                "--member: nobody is recorded as having authorised `{}`; name the owner or admin of `{}` who will reconnect it",
                                channel.display_name, team.name
                            ))
                            .into());
                        }
                    }
                }
            };
            let minted = mint_link(&store, &config.web.link_settings(), channel.id, Some(member.id), now)
                .await
                .map_err(|error| match error {
                    StoreError::Conflict(message) => anyhow::Error::new(Usage(format!("--member: {message}"))),
                    other => other.into(),
                })?;
            println!(
                "reconnect link for `{}` ({}), for {} only, single use, until {}:",
                channel.display_name,
                channel.provider.label(),
                member.name,
                super::when(Some(minted.link.expires_at))
            );
            println!("{}", minted.url.expose_secret());
        }
        ChannelCommand::Check { team, channel } => {
            let store = crate::open::store(config).await?;
            let (_, channel) = lookup(&store, &team, &channel).await?;
            let checker = crate::app::checker(store, config);
            let name = &channel.display_name;
            match checker.check_now(channel.id, now).await? {
                CheckNow::Busy => bail!("`{name}` is being checked right now; try again in a minute"),
                CheckNow::Checked { health: health @ Health::NeedsReauth(_), detail } => {
                    let said = detail.map(|d| format!(": {d}")).unwrap_or_default();
                    bail!("`{name}` needs reconnecting ({health}){said}")
                }
                CheckNow::Checked { health, detail } => {
                    let said = detail.map(|d| format!(" ({d})")).unwrap_or_default();
                    println!("`{name}` checked: {health}{said}");
                }
            }
        }
        ChannelCommand::Activity { team, channel, at } => {
            let at = parse_instant("--at", &at, now)?;
            let store = crate::open::store(config).await?;
            let (_, channel) = lookup(&store, &team, &channel).await?;
            store.record_activity(channel.id, at).await?;
            println!("publishing activity on `{}` recorded at {}", channel.display_name, super::when(Some(at)));
        }
    }
    Ok(())
}

/// Finds a team by name and one of its channels by id or (part of its) name.
pub(super) async fn lookup(store: &Store, team: &str, channel: &str) -> anyhow::Result<(Team, Channel)> {
    let team = store.team_by_name(team).await?;
    let channels = store.channels(Some(team.id)).await?;
    let channel = find_channel(&channels, channel)?.clone();
    Ok((team, channel))
}

async fn show(store: &Store, team: &Team, channel: &Channel) -> anyhow::Result<()> {
    let authorised_by = match channel.authorized_by {
        Some(id) => {
            let member = store.member(id).await?;
            format!("{} ({})", member.name, member.role)
        }
        None => "unknown".into(),
    };
    let posts = store.pending_posts(channel.id, Utc::now()).await?;
    let history = store.history(channel.id, 10).await?;
    println!("channel      #{} {}", channel.id, channel.display_name);
    println!("team         {}", team.name);
    println!("network      {} (account {})", channel.provider.label(), channel.external_account_id);
    println!("health       {}", channel.health);
    println!("expires      {}", super::when(channel.token_expires_at));
    println!("scopes       {}", if channel.scopes.is_empty() { "-".into() } else { channel.scopes.to_string() });
    println!("authorised   {authorised_by}");
    println!("last active  {}", super::when(channel.last_activity_at));
    println!("last check   {}", super::when(channel.last_checked_at));
    println!("next check   {}", super::when(Some(channel.next_check_at)));
    match posts.first() {
        Some(first) => {
            println!("posts        {} pending, the first due {}", posts.len(), super::when(Some(first.due_at)))
        }
        None => println!("posts        none pending"),
    }
    if !history.is_empty() {
        println!("history");
        for transition in history {
            let detail = transition.detail.map(|d| format!(" — {d}")).unwrap_or_default();
            println!("  {}  {} -> {}{detail}", super::when(Some(transition.at)), transition.from, transition.to);
        }
    }
    Ok(())
}

/// What `relink channel refresh` did to `channel` (as stored after it), in words: the line to
/// print, or the error to exit with when something is left for the operator to do.
fn refreshed(team: &Team, channel: &Channel, outcome: RefreshNow, now: DateTime<Utc>) -> Result<String, String> {
    let name = channel.display_name.as_str();
    let texts = catalog(Language::En);
    let network = texts.network(channel.provider);
    let reconnect = format!("`relink channel reconnect --team {} {}` prints the link", team.name, channel.id);
    let ends = channel.token_expires_at.filter(|at| *at > now).map(|at| super::when(Some(at)));
    let refused = |reason: &Reason, detail: Option<&str>| {
        let words = texts.reason_on(channel.provider, reason);
        let said = detail
            .filter(|d| !d.is_empty() && !Catalog::explains(channel.provider, reason))
            .map(|d| format!(" ({network} said: {d})"))
            .unwrap_or_default();
        format!("{}{said} {} {reconnect}.", words.explanation, words.remedy)
    };
    match outcome {
        RefreshNow::Renewed(Health::Healthy | Health::Unknown) => Ok(match ends {
            Some(until) => format!("`{name}` renewed: {network} accepts the new token; access now lasts until {until}"),
            None => format!("`{name}` renewed: {network} accepts the new token"),
        }),
        RefreshNow::Renewed(Health::Degraded) => Ok(format!(
            "`{name}`: the token was renewed and saved, but {network} is not answering right now, so the new token \
             is not confirmed yet; nothing to do: relink checks it again by itself at {}",
            super::when(Some(channel.next_check_at))
        )),
        RefreshNow::Renewed(Health::Expiring) => Ok(format!(
            "`{name}` renewed, but its access still ends on {}: {network} does not let relink carry it further; \
             reconnect it before then: {reconnect}",
            ends.unwrap_or_else(|| "soon".into())
        )),
        RefreshNow::Renewed(Health::NeedsReauth(reason)) => {
            Err(format!("`{name}` was renewed, but {network} then refused the new token: {}", refused(&reason, None)))
        }
        RefreshNow::NotYet(from) => Ok(format!(
            "`{name}` was not renewed yet: {network} extends a token only from {}; it works as it is until then, \
             so there is nothing to do",
            super::when(Some(from))
        )),
        RefreshNow::NotRenewable => {
            Err(format!("{network} does not let relink renew `{name}` by itself: reconnect it instead: {reconnect}"))
        }
        RefreshNow::Busy => Err(format!("`{name}` is being checked right now; try again in a minute")),
        RefreshNow::Failed { health: Health::NeedsReauth(reason), detail } => {
            Err(format!("`{name}` was not renewed: {network} refused it. {}", refused(&reason, Some(&detail))))
        }
        RefreshNow::Failed { detail, .. } => Err(match ends {
            Some(until) => format!(
                "`{name}` was not renewed: {network} did not renew it this time ({detail}). The token it has works \
                 until {until}, and relink tries again by itself before then; nothing to do unless this goes on"
            ),
            None => format!(
                "`{name}` was not renewed: {network} did not renew it this time ({detail}); relink tries again by \
                 itself, or run this again later"
            ),
        }),
    }
}

/// Reads the token input from a file or standard input; refuses an interactive terminal
/// without a prompt, so a token is never echoed by mistake into shell history.
fn read_tokens(file: Option<&PathBuf>) -> anyhow::Result<String> {
    if let Some(path) = file {
        return std::fs::read_to_string(path).with_context(|| format!("cannot read the token file {}", path.display()));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Paste the access token (or the token JSON), then press Ctrl-D:");
    }
    let mut input = String::new();
    stdin.lock().read_to_string(&mut input).context("cannot read the tokens from standard input")?;
    Ok(input)
}
