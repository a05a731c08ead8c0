//! `[discord]`: the Discord bot, on when `discord.token` is set: its application, how it hears
//! commands (gateway or interactions endpoint), where it registers them and Discord's REST base.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::report::{Description, Report};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawDiscord {
    token: Option<SecretString>,
    application_id: Option<RawId>,
    public_key: Option<String>,
    mode: Option<String>,
    guild_id: Option<RawId>,
    api_url: Option<String>,
}

/// A Discord id as text (TOML `"123"`) or as a number, which is how an environment variable
/// such as `RELINK_DISCORD__APPLICATION_ID=123` arrives.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawId {
    Text(String),
    Number(u64),
}

impl RawId {
    fn text(&self) -> String {
        match self {
            RawId::Text(text) => text.trim().to_owned(),
            RawId::Number(id) => id.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DiscordConfig {
    pub token: SecretString,
    pub application_id: Option<u64>,
    pub public_key: Option<String>,
    /// Gateway connection (default) or HTTP interactions endpoint.
    pub mode: relink_bot::discord::Mode,
    /// Register the slash commands in this guild only.
    pub guild_id: Option<u64>,
    /// Discord's REST base (tests point it at a local fake).
    pub api_url: url::Url,
}

/// `None` when no token is set: the Discord bot is off and the other keys are not read.
pub(super) fn resolve(raw: RawDiscord, report: &mut Report<'_>) -> Option<DiscordConfig> {
    let token = raw.token.filter(|t| !t.expose_secret().trim().is_empty())?;
    let application_id = raw.application_id.as_ref().map(RawId::text).and_then(|id| {
        id.parse::<u64>().ok().or_else(|| {
            report.problem("discord.application_id", format!("`{id}` is not a Discord application id (a number)"));
            None
        })
    });
    let public_key = raw.public_key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty());
    if let Some(key) = &public_key
        && relink_bot::discord::Verifier::from_hex(key).is_err()
    {
        report.problem("discord.public_key", "must be the 64 hexadecimal characters Discord shows".into());
    }
    let mode = match raw.mode.as_deref().map(|m| m.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "gateway") => relink_bot::discord::Mode::Gateway,
        Some("interactions" | "http") => relink_bot::discord::Mode::Interactions,
        Some(other) => {
            report.problem("discord.mode", format!("`{other}` is not gateway or interactions"));
            relink_bot::discord::Mode::Gateway
        }
    };
    if mode == relink_bot::discord::Mode::Interactions && public_key.is_none() {
        report.problem(
            "discord.public_key",
            "is needed when discord.mode = \"interactions\" (the Developer Portal's public key)".into(),
        );
    }
    let guild_id = raw.guild_id.as_ref().map(RawId::text).filter(|g| !g.is_empty()).and_then(|id| {
        id.parse::<u64>().ok().filter(|g| *g > 0).or_else(|| {
            report.problem("discord.guild_id", format!("`{id}` is not a Discord server (guild) id"));
            None
        })
    });
    let default_api = url::Url::parse(relink_bot::discord::DISCORD_API).expect("Discord's API URL parses");
    let api_url = match raw.api_url.as_deref().map(str::trim) {
        None | Some("") => default_api,
        Some(text) => match url::Url::parse(text) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https") && url.path().trim_end_matches('/').ends_with("/api") =>
            {
                url
            }
            _ => {
                report.problem("discord.api_url", format!("`{text}` is not an http(s) URL ending in /api"));
                default_api
            }
        },
    };
    Some(DiscordConfig { token, application_id, public_key, mode, guild_id, api_url })
}

pub(super) fn describe(discord: Option<&DiscordConfig>, out: &mut Description<'_>) {
    let Some(discord) = discord else {
        out.line("discord.token", "(not set: the Discord bot is off)".into());
        return;
    };
    out.line("discord.token", "[REDACTED]".into());
    out.line("discord.application_id", discord.application_id.map_or("(not set)".into(), |id| id.to_string()));
    out.line("discord.public_key", discord.public_key.clone().unwrap_or_else(|| "(not set)".into()));
    let mode = match discord.mode {
        relink_bot::discord::Mode::Gateway => "gateway",
        relink_bot::discord::Mode::Interactions => "interactions (POST /discord/interactions)",
    };
    out.line("discord.mode", mode.into());
    out.line("discord.guild_id", discord.guild_id.map_or("(not set: global commands)".into(), |g| g.to_string()));
    out.line("discord.api_url", discord.api_url.to_string());
}
