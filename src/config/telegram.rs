//! `[telegram]`: the Telegram bot, on when `telegram.token` is set: the Bot API it talks to,
//! polling or webhook (with its secret), and the send rate caps (`[telegram.caps]`).

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::report::{Description, MAX_RATE, MIN_RATE, Report};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawTelegram {
    token: Option<SecretString>,
    api_url: Option<String>,
    mode: Option<String>,
    webhook_secret: Option<SecretString>,
    caps: RawTelegramCaps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawTelegramCaps {
    overall_per_second: Option<f64>,
    per_chat_per_second: Option<f64>,
    per_group_per_minute: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct TelegramConfig {
    pub token: SecretString,
    /// The Bot API's base URL (`https://api.telegram.org`; tests use a local fake).
    pub api_url: url::Url,
    pub mode: relink_bot::telegram::Mode,
    pub webhook_secret: Option<SecretString>,
    pub caps: relink_bot::telegram::Caps,
}

/// `None` when no token is set: the Telegram bot is off and the other keys are not read.
/// `simulator` is `providers.simulator` as written: the Bot API defaults to the simulator's.
pub(super) fn resolve(raw: RawTelegram, simulator: Option<&str>, report: &mut Report<'_>) -> Option<TelegramConfig> {
    let token = raw.token.filter(|t| !t.expose_secret().trim().is_empty())?;
    let text = token.expose_secret().trim();
    let well_formed = text
        .split_once(':')
        .is_some_and(|(id, rest)| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) && rest.len() >= 20);
    if !well_formed {
        report.problem("telegram.token", "does not look like a bot token from @BotFather (123456:ABC…)".into());
    }
    // With the provider simulator, the bot talks to the simulator's Bot API too, so a switch
    // that removes it from a chat reaches it as Telegram's update would.
    let simulated = simulator.map(|sim| format!("{}/telegram/api", sim.trim().trim_end_matches('/')));
    let api_url = raw.api_url.as_deref().or(simulated.as_deref()).unwrap_or("https://api.telegram.org");
    let api_url = match url::Url::parse(api_url.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => without_trailing_slash(url),
        _ => {
            report.problem("telegram.api_url", format!("`{api_url}` is not an http(s) URL"));
            url::Url::parse("https://api.telegram.org").expect("a valid URL")
        }
    };
    let mode = match raw.mode.as_deref().map(str::trim) {
        None | Some("polling") => relink_bot::telegram::Mode::Polling,
        Some("webhook") => relink_bot::telegram::Mode::Webhook,
        Some(other) => {
            report.problem("telegram.mode", format!("`{other}` is not polling or webhook"));
            relink_bot::telegram::Mode::Polling
        }
    };
    let webhook_secret = raw.webhook_secret.filter(|s| !s.expose_secret().is_empty());
    if let Some(secret) = &webhook_secret {
        let text = secret.expose_secret();
        // Telegram's rule for secret_token.
        let allowed = text.len() <= 256 && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !allowed || text.len() < 16 {
            report.problem("telegram.webhook_secret", "must be 16–256 characters of A-Z, a-z, 0-9, _ and -".into());
        }
    }
    if mode == relink_bot::telegram::Mode::Webhook && webhook_secret.is_none() {
        report.problem("telegram.webhook_secret", "is required when telegram.mode = \"webhook\"".into());
    }
    let defaults = relink_bot::telegram::Caps::default();
    let mut cap = |field: &'static str, value: Option<f64>, default: f64| match value {
        Some(v) if (MIN_RATE..=MAX_RATE).contains(&v) => v,
        Some(_) => {
            report.problem(field, format!("must be a number from {MIN_RATE} to {MAX_RATE}"));
            default
        }
        None => default,
    };
    let caps = relink_bot::telegram::Caps {
        overall_per_second: cap(
            "telegram.caps.overall_per_second",
            raw.caps.overall_per_second,
            defaults.overall_per_second,
        ),
        per_chat_per_second: cap(
            "telegram.caps.per_chat_per_second",
            raw.caps.per_chat_per_second,
            defaults.per_chat_per_second,
        ),
        per_group_per_minute: cap(
            "telegram.caps.per_group_per_minute",
            raw.caps.per_group_per_minute,
            defaults.per_group_per_minute,
        ),
        headroom: defaults.headroom,
    };
    Some(TelegramConfig { token, api_url, mode, webhook_secret, caps })
}

pub(super) fn describe(telegram: Option<&TelegramConfig>, out: &mut Description<'_>) {
    let Some(telegram) = telegram else {
        out.line("telegram.token", "(not set: the Telegram bot is off)".into());
        return;
    };
    out.line("telegram.token", "[REDACTED]".into());
    out.line("telegram.api_url", telegram.api_url.to_string());
    out.line("telegram.mode", format!("{:?}", telegram.mode).to_lowercase());
    out.line(
        "telegram.webhook_secret",
        telegram.webhook_secret.as_ref().map_or("(not set)".into(), |_| "[REDACTED]".into()),
    );
    let caps = telegram.caps;
    out.line(
        "telegram.caps",
        format!(
            "{}/s overall, {}/s per chat, {}/min per group",
            caps.overall_per_second, caps.per_chat_per_second, caps.per_group_per_minute
        ),
    );
}

/// A Bot API base URL without the trailing slash of a path: the client appends `/bot…/method`,
/// and `…/api/` would become `…/api//bot…`.
fn without_trailing_slash(mut url: url::Url) -> url::Url {
    if url.path().len() > 1 && url.path().ends_with('/') {
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&path);
    }
    url
}
