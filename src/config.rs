//! relink's configuration: one typed [`Config`] from a TOML file, `RELINK_*` environment
//! variables and command-line flags, in that order of precedence (figment merges them).
//!
//! Every field has a default, so `relink serve` runs with no configuration at all. Validation
//! collects every problem at once, each naming its key, where the value came from, and what is
//! wrong; secrets (tokens, keys, database passwords) are never printed.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::collections::{BTreeMap, HashMap};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use relink_core::Provider;
use relink_core::alerts::{AlertsConfig, DeliveryConfig, Destination, format_warning_days, parse_warning_days};
use relink_core::checker::schedule::{CALM_EVERY, CALM_EVERY_RANGE};
use relink_core::crypto::Keyring;
use relink_core::provider::{ProviderConfig, Providers};
use relink_core::store::{Engine, redact_url};
use relink_core::time::parse_duration;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The bounds of `web.link_ttl`: long enough to read a message, short enough to stay a secret.
const MIN_LINK_TTL: std::time::Duration = std::time::Duration::from_secs(5 * 60);
const MAX_LINK_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);
/// Rates (`providers.*.rate_per_second`, `telegram.caps.*`): from one request in about 17
/// minutes to ten thousand a second.
const MIN_RATE: f64 = 0.001;
const MAX_RATE: f64 = 10_000.0;
/// `alerts.grouping_window`: at most an hour (a pass waits up to five windows for quiet).
const MAX_GROUPING_WINDOW: chrono::Duration = chrono::Duration::hours(1);
/// `alerts.degraded_after`: at most 30 days.
const MAX_DEGRADED_AFTER: chrono::Duration = chrono::Duration::days(30);

/// The bounds of `web.header_timeout` and `web.request_timeout`, and of `web.max_connections`.
const MIN_WEB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
const MAX_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5 * 60);
const MAX_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10 * 60);
const MAX_CONNECTIONS: usize = 100_000;
/// The shortest `web.metrics_token`: a bearer token is a password.
const MIN_METRICS_TOKEN: usize = 16;

/// The file read when `--config` / `RELINK_CONFIG` names none, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "relink.toml";

/// Settings given as flags; they win over the file and the environment.
#[derive(Debug, Default, Clone)]
pub struct FlagOverrides {
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub log: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<SecretString>,
    key_file: Option<PathBuf>,
    encryption_keys: Option<SecretString>,
    log: Option<String>,
    web: RawWeb,
    discord: RawDiscord,
    telegram: RawTelegram,
    providers: RawProviders,
    checker: RawChecker,
    checks: RawChecks,
    alerts: RawAlerts,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawProviders {
    /// One base URL serving every network the simulator's way (`{url}/{provider}/…`).
    simulator: Option<String>,
    /// Google's Cross-Account Protection receiver (not a network of its own).
    google_risc: RawGoogleRisc,
    #[serde(flatten)]
    each: BTreeMap<String, RawProvider>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawGoogleRisc {
    jwks_url: Option<String>,
    issuer: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawProvider {
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    api_base: Option<String>,
    authorize_url: Option<String>,
    token_url: Option<String>,
    rate_per_second: Option<f64>,
    scopes: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawChecker {
    enabled: Option<bool>,
    batch: Option<u32>,
    concurrency: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawChecks {
    every: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAlerts {
    enabled: Option<bool>,
    warning_days: Option<RawDays>,
    first_reminder: Option<String>,
    reminder_every: Option<String>,
    escalate_after: Option<String>,
    grouping_window: Option<String>,
    degraded_after: Option<String>,
    max_attempts: Option<u32>,
    operator: Option<String>,
}

/// Warning days as people write them: `"14,7,3,1"`, `[14, 7, 3, 1]`, or one number (which is
/// also how an environment variable such as `RELINK_ALERTS__WARNING_DAYS=7` arrives).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawDays {
    Text(String),
    One(u32),
    List(Vec<u32>),
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

impl RawDays {
    fn text(self) -> String {
        match self {
            RawDays::Text(text) => text,
            RawDays::One(day) => day.to_string(),
            RawDays::List(days) => format_warning_days(&days),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawWeb {
    bind: Option<String>,
    public_url: Option<String>,
    link_ttl: Option<String>,
    header_timeout: Option<String>,
    request_timeout: Option<String>,
    max_connections: Option<i64>,
    metrics_token: Option<SecretString>,
    metrics_bind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawDiscord {
    token: Option<SecretString>,
    application_id: Option<RawId>,
    public_key: Option<String>,
    mode: Option<String>,
    guild_id: Option<RawId>,
    api_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawTelegram {
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

/// Where the encryption keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A key file, created on first start when missing.
    File(PathBuf),
    /// `encryption_keys` from the configuration.
    Configured(Keyring),
}

#[derive(Debug, Clone)]
pub struct WebConfig {
    pub bind: SocketAddr,
    /// The address people reach relink at: reconnect links and OAuth redirects are built from it.
    pub public_url: String,
    /// How long a reconnect link works.
    pub link_ttl: std::time::Duration,
    /// Header, body and request timeouts and the connection cap.
    pub limits: relink_web::ServerLimits,
    /// The bearer token `/metrics` wants, if any (redacted in `Debug` and `config check`).
    pub metrics_token: Option<SecretString>,
    /// A listener of its own for `/metrics`, off the public one.
    pub metrics_bind: Option<SocketAddr>,
}

impl WebConfig {
    /// What minting a reconnect link needs.
    pub fn link_settings(&self) -> relink_core::reconnect::LinkSettings {
        relink_core::reconnect::LinkSettings {
            public_url: url::Url::parse(&self.public_url).expect("web.public_url was validated"),
            ttl: self.link_ttl,
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

#[derive(Debug, Clone)]
pub struct TelegramConfig {
    pub token: SecretString,
    /// The Bot API's base URL (`https://api.telegram.org`; tests use a local fake).
    pub api_url: url::Url,
    pub mode: relink_bot::telegram::Mode,
    pub webhook_secret: Option<SecretString>,
    pub caps: relink_bot::telegram::Caps,
}

/// The checker's settings.
#[derive(Debug, Clone)]
pub struct CheckerSettings {
    pub enabled: bool,
    pub batch: u32,
    pub concurrency: usize,
    /// How long a calm channel waits between checks (`checks.every`); a team may ask for its own.
    pub every: std::time::Duration,
}

/// The alerts' settings: the engine's, and how hard delivery tries.
#[derive(Debug, Clone)]
pub struct AlertsSettings {
    pub enabled: bool,
    pub engine: AlertsConfig,
    pub max_attempts: u32,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Every network's endpoints and relink's app credentials there.
    pub providers: Providers,
    /// Where the networks were pointed, for `config check`: `None` for the public endpoints.
    pub provider_simulator: Option<String>,
    /// Google's Cross-Account Protection receiver (`providers.google_risc.*`): Google's key set
    /// and issuer, or the simulator's key set when `providers.simulator` is set.
    pub google_risc: relink_web::RiscSettings,
    pub checker: CheckerSettings,
    pub alerts: AlertsSettings,
    pub data_dir: PathBuf,
    /// May hold a password: show it through [`Config::database_url_for_display`].
    pub database_url: SecretString,
    pub keys: KeySource,
    pub log: String,
    pub web: WebConfig,
    pub discord: Option<DiscordConfig>,
    pub telegram: Option<TelegramConfig>,
}

impl Config {
    pub fn database_url_for_display(&self) -> String {
        redact_url(self.database_url.expose_secret())
    }
}

/// One invalid value.
#[derive(Debug, Clone)]
pub struct Problem {
    pub key: String,
    pub source: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (from {}): {}", self.key, self.source, self.message)
    }
}

/// Everything wrong with a configuration.
#[derive(Debug, Clone)]
pub struct Problems(pub Vec<Problem>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "the configuration has {} problem(s):", self.0.len())?;
        for problem in &self.0 {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The layered sources, kept to say where each value came from.
#[derive(Debug)]
pub struct Sources {
    figment: Figment,
    pub file: Option<PathBuf>,
}

impl Sources {
    /// Gathers the file (explicit `config_file`, else `relink.toml` when present), the
    /// environment and the flags.
    pub fn gather(config_file: Option<&Path>, flags: &FlagOverrides) -> Result<Self, Problems> {
        let file = match config_file {
            Some(path) if !path.is_file() => {
                return Err(Problems(vec![Problem {
                    key: "config".into(),
                    source: "--config / RELINK_CONFIG".into(),
                    message: format!("the file {} does not exist", path.display()),
                }]));
            }
            Some(path) => Some(path.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.is_file()),
        };
        let mut figment = Figment::new();
        if let Some(path) = &file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("RELINK_").split("__").ignore(&["config"]));
        let overrides = [
            ("data_dir", flags.data_dir.as_ref().map(|p| p.display().to_string())),
            ("database_url", flags.database_url.clone()),
            ("web.bind", flags.bind.clone()),
            ("log", flags.log.clone()),
        ];
        for (key, value) in overrides {
            if let Some(value) = value {
                figment = figment.merge(Flag(figment::providers::Serialized::default(key, value)));
            }
        }
        Ok(Self { figment, file })
    }

    /// Where the value of `key` (dotted) came from, in words.
    pub fn source_of(&self, key: &str) -> String {
        let Some(metadata) = self.figment.find_metadata(key) else { return "default".into() };
        let parts: Vec<&str> = key.split('.').collect();
        let native = metadata.interpolate(&figment::Profile::Default, &parts);
        match &metadata.source {
            Some(figment::Source::File(path)) => format!("{} in {}", native, path.display()),
            // figment's own spelling drops the prefix and the `__` nesting: rebuild the variable.
            _ if metadata.name.contains("environment") => {
                format!("environment variable RELINK_{}", parts.join("__").to_uppercase())
            }
            _ if metadata.name == FLAG_SOURCE => match key {
                "web.bind" => "command-line flag --bind".into(),
                other => format!("command-line flag --{}", other.replace('_', "-")),
            },
            _ => format!("{} {native}", metadata.name),
        }
    }

    /// Extracts and validates the configuration, reporting every problem.
    pub fn resolve(&self) -> Result<Config, Problems> {
        let mut raw: RawConfig = self.figment.extract().map_err(|error| {
            Problems(
                error
                    .into_iter()
                    .map(|e| {
                        let key = e.path.join(".");
                        let source = if key.is_empty() { "configuration".into() } else { self.source_of(&key) };
                        Problem { key, source, message: e.kind.to_string() }
                    })
                    .collect(),
            )
        })?;
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(Problem { key: key.into(), source: self.source_of(key), message });
        };

        let data_dir = raw.data_dir.unwrap_or_else(|| PathBuf::from("relink-data"));
        if data_dir.as_os_str().is_empty() {
            problem("data_dir", "must not be empty".into());
        }
        let database_url = raw
            .database_url
            .map(|u| u.expose_secret().trim().to_owned())
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("relink.db").display()));
        let engine = match Engine::of_url(&database_url) {
            Ok(engine) => Some(engine),
            Err(error) => {
                problem("database_url", error.to_string());
                None
            }
        };
        let keys = match raw.encryption_keys {
            Some(spec) => match Keyring::parse_spec(spec.expose_secret()) {
                Ok(ring) => KeySource::Configured(ring),
                Err(error) => {
                    problem("encryption_keys", error.to_string());
                    KeySource::File(PathBuf::new())
                }
            },
            None => KeySource::File(raw.key_file.unwrap_or_else(|| default_key_file(&data_dir, &database_url, engine))),
        };
        let log = raw.log.unwrap_or_else(|| "info".into());
        if let Err(error) = tracing_subscriber::EnvFilter::builder().parse(&log) {
            problem("log", format!("not a log filter ({error}); try info, debug, or relink=debug,info"));
        }
        let bind_text = raw.web.bind.unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind = bind_text.trim().parse::<SocketAddr>().unwrap_or_else(|_| {
            problem("web.bind", format!("`{bind_text}` is not an address and port such as 127.0.0.1:8080"));
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });
        let public_url = match raw.web.public_url {
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                let parsed = url::Url::parse(&url).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
                if parsed.is_none_or(|u| u.query().is_some() || u.fragment().is_some() || u.host().is_none()) {
                    problem("web.public_url", format!("`{url}` is not an http(s) URL without query or fragment"));
                    "http://127.0.0.1:8080".into()
                } else {
                    url
                }
            }
            None => format!("http://{bind}"),
        };
        let link_ttl = match raw.web.link_ttl.as_deref().map(str::trim) {
            None => relink_core::reconnect::DEFAULT_LINK_TTL,
            Some(text) => match humantime::parse_duration(text) {
                Ok(ttl) if (MIN_LINK_TTL..=MAX_LINK_TTL).contains(&ttl) => ttl,
                _ => {
                    problem("web.link_ttl", format!("`{text}` is not a duration between 5m and 30d (e.g. 24h)"));
                    relink_core::reconnect::DEFAULT_LINK_TTL
                }
            },
        };
        let defaults = relink_web::ServerLimits::default();
        let mut web_duration =
            |key: &str, raw: Option<String>, default, max: std::time::Duration| match raw.as_deref().map(str::trim) {
                None => default,
                Some(text) => match humantime::parse_duration(text) {
                    Ok(value) if (MIN_WEB_TIMEOUT..=max).contains(&value) => value,
                    _ => {
                        let max = humantime::format_duration(max);
                        problem(key, format!("`{text}` is not a duration between 1s and {max} (e.g. 10s)"));
                        default
                    }
                },
            };
        let header_timeout =
            web_duration("web.header_timeout", raw.web.header_timeout, defaults.header_timeout, MAX_HEADER_TIMEOUT);
        let request_timeout =
            web_duration("web.request_timeout", raw.web.request_timeout, defaults.request_timeout, MAX_REQUEST_TIMEOUT);
        let max_connections = match raw.web.max_connections {
            None => defaults.max_connections,
            Some(n) => match usize::try_from(n) {
                Ok(n) if (1..=MAX_CONNECTIONS).contains(&n) => n,
                _ => {
                    problem("web.max_connections", format!("`{n}` is not a number from 1 to {MAX_CONNECTIONS}"));
                    defaults.max_connections
                }
            },
        };
        let limits = relink_web::ServerLimits { header_timeout, request_timeout, max_connections };
        let metrics_token = raw.web.metrics_token.filter(|t| !t.expose_secret().trim().is_empty());
        if let Some(token) = &metrics_token {
            let token = token.expose_secret();
            if token.trim().chars().count() < MIN_METRICS_TOKEN || token.trim() != token || !token.is_ascii() {
                problem(
                    "web.metrics_token",
                    format!("must be at least {MIN_METRICS_TOKEN} ASCII characters without surrounding spaces"),
                );
            }
        }
        let metrics_bind = raw.web.metrics_bind.map(|text| {
            text.trim().parse::<SocketAddr>().unwrap_or_else(|_| {
                problem("web.metrics_bind", format!("`{text}` is not an address and port such as 127.0.0.1:9090"));
                SocketAddr::from(([127, 0, 0, 1], 9090))
            })
        });
        if metrics_bind.is_some_and(|metrics| metrics == bind) {
            problem("web.metrics_bind", "must differ from web.bind".into());
        }
        let discord = match raw.discord.token.filter(|t| !t.expose_secret().trim().is_empty()) {
            Some(token) => {
                let application_id = raw.discord.application_id.as_ref().map(RawId::text).and_then(|id| {
                    id.parse::<u64>().ok().or_else(|| {
                        problem("discord.application_id", format!("`{id}` is not a Discord application id (a number)"));
                        None
                    })
                });
                let public_key = raw.discord.public_key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty());
                if let Some(key) = &public_key
                    && relink_bot::discord::Verifier::from_hex(key).is_err()
                {
                    problem("discord.public_key", "must be the 64 hexadecimal characters Discord shows".into());
                }
                let mode = match raw.discord.mode.as_deref().map(|m| m.trim().to_ascii_lowercase()).as_deref() {
                    None | Some("" | "gateway") => relink_bot::discord::Mode::Gateway,
                    Some("interactions" | "http") => relink_bot::discord::Mode::Interactions,
                    Some(other) => {
                        problem("discord.mode", format!("`{other}` is not gateway or interactions"));
                        relink_bot::discord::Mode::Gateway
                    }
                };
                if mode == relink_bot::discord::Mode::Interactions && public_key.is_none() {
                    problem(
                        "discord.public_key",
                        "is needed when discord.mode = \"interactions\" (the Developer Portal's public key)".into(),
                    );
                }
                let guild_id =
                    raw.discord.guild_id.as_ref().map(RawId::text).filter(|g| !g.is_empty()).and_then(|id| {
                        id.parse::<u64>().ok().filter(|g| *g > 0).or_else(|| {
                            problem("discord.guild_id", format!("`{id}` is not a Discord server (guild) id"));
                            None
                        })
                    });
                let default_api = url::Url::parse(relink_bot::discord::DISCORD_API).expect("Discord's API URL parses");
                let api_url = match raw.discord.api_url.as_deref().map(str::trim) {
                    None | Some("") => default_api,
                    Some(text) => match url::Url::parse(text) {
                        Ok(url)
                            if matches!(url.scheme(), "http" | "https")
                                && url.path().trim_end_matches('/').ends_with("/api") =>
                        {
                            url
                        }
                        _ => {
                            problem("discord.api_url", format!("`{text}` is not an http(s) URL ending in /api"));
                            default_api
                        }
                    },
                };
                Some(DiscordConfig { token, application_id, public_key, mode, guild_id, api_url })
            }
            None => None,
        };
        let telegram = match raw.telegram.token.filter(|t| !t.expose_secret().trim().is_empty()) {
            Some(token) => {
                let text = token.expose_secret().trim();
                let well_formed = text.split_once(':').is_some_and(|(id, rest)| {
                    !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) && rest.len() >= 20
                });
                if !well_formed {
                    problem("telegram.token", "does not look like a bot token from @BotFather (123456:ABC…)".into());
                }
                // With the provider simulator, the bot talks to the simulator's Bot API too, so
                // a switch that removes it from a chat reaches it as Telegram's update would.
                let simulated = raw
                    .providers
                    .simulator
                    .as_deref()
                    .map(|sim| format!("{}/telegram/api", sim.trim().trim_end_matches('/')));
                let api_url =
                    raw.telegram.api_url.as_deref().or(simulated.as_deref()).unwrap_or("https://api.telegram.org");
                let api_url = match url::Url::parse(api_url.trim()) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") => without_trailing_slash(url),
                    _ => {
                        problem("telegram.api_url", format!("`{api_url}` is not an http(s) URL"));
                        url::Url::parse("https://api.telegram.org").expect("a valid URL")
                    }
                };
                let mode = match raw.telegram.mode.as_deref().map(str::trim) {
                    None | Some("polling") => relink_bot::telegram::Mode::Polling,
                    Some("webhook") => relink_bot::telegram::Mode::Webhook,
                    Some(other) => {
                        problem("telegram.mode", format!("`{other}` is not polling or webhook"));
                        relink_bot::telegram::Mode::Polling
                    }
                };
                let webhook_secret = raw.telegram.webhook_secret.filter(|s| !s.expose_secret().is_empty());
                if let Some(secret) = &webhook_secret {
                    let text = secret.expose_secret();
                    // Telegram's rule for secret_token.
                    let allowed =
                        text.len() <= 256 && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if !allowed || text.len() < 16 {
                        problem(
                            "telegram.webhook_secret",
                            "must be 16–256 characters of A-Z, a-z, 0-9, _ and -".into(),
                        );
                    }
                }
                if mode == relink_bot::telegram::Mode::Webhook && webhook_secret.is_none() {
                    problem("telegram.webhook_secret", "is required when telegram.mode = \"webhook\"".into());
                }
                let defaults = relink_bot::telegram::Caps::default();
                let mut cap = |field: &'static str, value: Option<f64>, default: f64| match value {
                    Some(v) if (MIN_RATE..=MAX_RATE).contains(&v) => v,
                    Some(_) => {
                        problem(field, format!("must be a number from {MIN_RATE} to {MAX_RATE}"));
                        default
                    }
                    None => default,
                };
                let caps = relink_bot::telegram::Caps {
                    overall_per_second: cap(
                        "telegram.caps.overall_per_second",
                        raw.telegram.caps.overall_per_second,
                        defaults.overall_per_second,
                    ),
                    per_chat_per_second: cap(
                        "telegram.caps.per_chat_per_second",
                        raw.telegram.caps.per_chat_per_second,
                        defaults.per_chat_per_second,
                    ),
                    per_group_per_minute: cap(
                        "telegram.caps.per_group_per_minute",
                        raw.telegram.caps.per_group_per_minute,
                        defaults.per_group_per_minute,
                    ),
                    headroom: defaults.headroom,
                };
                Some(TelegramConfig { token, api_url, mode, webhook_secret, caps })
            }
            None => None,
        };
        let risc = std::mem::take(&mut raw.providers.google_risc);
        let (providers, provider_simulator) = resolve_providers(raw.providers, &mut problem);
        let google_risc = resolve_google_risc(risc, provider_simulator.as_deref(), &mut problem);
        let defaults = relink_core::checker::CheckerConfig::default();
        let checker = CheckerSettings {
            enabled: raw.checker.enabled.unwrap_or(true),
            batch: raw.checker.batch.filter(|b| (1..=10_000).contains(b)).unwrap_or_else(|| {
                if let Some(bad) = raw.checker.batch {
                    problem("checker.batch", format!("{bad} is not between 1 and 10000"));
                }
                defaults.batch
            }),
            concurrency: raw.checker.concurrency.filter(|c| (1..=4_096).contains(c)).unwrap_or_else(|| {
                if let Some(bad) = raw.checker.concurrency {
                    problem("checker.concurrency", format!("{bad} is not between 1 and 4096"));
                }
                defaults.concurrency
            }),
            every: match raw.checks.every.as_deref().map(str::trim) {
                None => CALM_EVERY,
                Some(text) => match humantime::parse_duration(text) {
                    Ok(every) if CALM_EVERY_RANGE.contains(&every) => every,
                    _ => {
                        problem("checks.every", format!("`{text}` is not a duration between 5m and 7d (e.g. 6h)"));
                        CALM_EVERY
                    }
                },
            },
        };
        let alerts = resolve_alerts(raw.alerts, &mut problem);
        if !problems.is_empty() {
            return Err(Problems(problems));
        }
        Ok(Config {
            providers,
            provider_simulator,
            google_risc,
            checker,
            alerts,
            data_dir,
            database_url: SecretString::from(database_url),
            keys,
            log,
            web: WebConfig { bind, public_url, link_ttl, limits, metrics_token, metrics_bind },
            discord,
            telegram,
        })
    }

    /// The effective configuration, one line a setting with its source; secrets redacted.
    pub fn describe(&self, config: &Config) -> String {
        let mut out = String::new();
        let mut line = |key: &str, value: String| {
            let _ = writeln!(out, "{key:<24} = {value:<44} # {}", self.source_of(key));
        };
        line("data_dir", format!("{:?}", config.data_dir.display().to_string()));
        line("database_url", format!("{:?}", config.database_url_for_display()));
        match &config.keys {
            KeySource::File(path) => {
                line("key_file", format!("{:?}", path.display().to_string()));
                line("encryption_keys", "(not set: keys come from key_file)".into());
            }
            KeySource::Configured(ring) => {
                let ids: Vec<String> = ring.ids().map(|id| id.to_string()).collect();
                line("encryption_keys", format!("[REDACTED] (key ids {})", ids.join(", ")));
            }
        }
        line("log", format!("{:?}", config.log));
        line("web.bind", format!("{:?}", config.web.bind.to_string()));
        line("web.public_url", format!("{:?}", config.web.public_url));
        line("web.link_ttl", format!("{:?}", humantime::format_duration(config.web.link_ttl).to_string()));
        let limits = &config.web.limits;
        line("web.header_timeout", format!("{:?}", humantime::format_duration(limits.header_timeout).to_string()));
        line("web.request_timeout", format!("{:?}", humantime::format_duration(limits.request_timeout).to_string()));
        line("web.max_connections", limits.max_connections.to_string());
        line(
            "web.metrics_token",
            config.web.metrics_token.as_ref().map_or("(not set)".into(), |_| "[REDACTED]".into()),
        );
        line(
            "web.metrics_bind",
            config
                .web
                .metrics_bind
                .map_or("(not set: /metrics is on web.bind)".into(), |a| format!("{:?}", a.to_string())),
        );
        line("checks.every", format!("{:?}", humantime::format_duration(config.checker.every).to_string()));
        match &config.discord {
            Some(discord) => {
                line("discord.token", "[REDACTED]".into());
                line("discord.application_id", discord.application_id.map_or("(not set)".into(), |id| id.to_string()));
                line("discord.public_key", discord.public_key.clone().unwrap_or_else(|| "(not set)".into()));
                let mode = match discord.mode {
                    relink_bot::discord::Mode::Gateway => "gateway",
                    relink_bot::discord::Mode::Interactions => "interactions (POST /discord/interactions)",
                };
                line("discord.mode", mode.into());
                line(
                    "discord.guild_id",
                    discord.guild_id.map_or("(not set: global commands)".into(), |g| g.to_string()),
                );
                line("discord.api_url", discord.api_url.to_string());
            }
            None => line("discord.token", "(not set: the Discord bot is off)".into()),
        }
        match &config.telegram {
            Some(telegram) => {
                line("telegram.token", "[REDACTED]".into());
                line("telegram.api_url", telegram.api_url.to_string());
                line("telegram.mode", format!("{:?}", telegram.mode).to_lowercase());
                line(
                    "telegram.webhook_secret",
                    telegram.webhook_secret.as_ref().map_or("(not set)".into(), |_| "[REDACTED]".into()),
                );
                let caps = telegram.caps;
                line(
                    "telegram.caps",
                    format!(
                        "{}/s overall, {}/s per chat, {}/min per group",
                        caps.overall_per_second, caps.per_chat_per_second, caps.per_group_per_minute
                    ),
                );
            }
            None => line("telegram.token", "(not set: the Telegram bot is off)".into()),
        }
        line("checker.enabled", config.checker.enabled.to_string());
        line("checker.batch", config.checker.batch.to_string());
        line("checker.concurrency", config.checker.concurrency.to_string());
        let alerts = &config.alerts;
        let defaults = &alerts.engine.defaults;
        line("alerts.enabled", alerts.enabled.to_string());
        line("alerts.warning_days", format!("{:?}", format_warning_days(&defaults.warning_days)));
        line("alerts.first_reminder", format!("{:?}", span(defaults.first_reminder)));
        line("alerts.reminder_every", format!("{:?}", span(defaults.reminder_every)));
        line("alerts.escalate_after", format!("{:?}", span(defaults.escalate_after)));
        line("alerts.grouping_window", format!("{:?}", span(alerts.engine.grouping_window)));
        line("alerts.degraded_after", format!("{:?}", span(alerts.engine.degraded_after)));
        line("alerts.max_attempts", alerts.max_attempts.to_string());
        line("alerts.operator", format!("{:?}", alerts.engine.operators.to_string()));
        if let Some(url) = &config.provider_simulator {
            line("providers.simulator", format!("{url:?} (every network points at the simulator)"));
        }
        for provider in Provider::ALL {
            let settings = config.providers.config(*provider);
            let key = format!("providers.{provider}.client_id");
            let credentials = if settings.client_id.is_empty() {
                "(not set: reconnect links for this network need it)".to_owned()
            } else {
                format!("{:?}, client_secret [REDACTED]", settings.client_id)
            };
            line(&key, credentials);
            line(&format!("providers.{provider}.api_base"), format!("{:?}", settings.api_base.as_str()));
        }
        line("providers.google_risc.jwks_url", format!("{:?}", config.google_risc.jwks_url.as_str()));
        line("providers.google_risc.issuer", format!("{:?}", config.google_risc.issuer));
        out
    }
}

const FLAG_SOURCE: &str = "command-line flag";

/// A flag's value, named so `config check` can say it came from the command line.
struct Flag(figment::providers::Serialized<String>);

impl figment::Provider for Flag {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(FLAG_SOURCE)
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        self.0.data()
    }
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

/// Builds the networks' configuration: the public endpoints by default, all of them under one
/// simulator URL when `providers.simulator` is set, then each `[providers.NAME]` table on top.
fn resolve_providers(raw: RawProviders, problem: &mut impl FnMut(&str, String)) -> (Providers, Option<String>) {
    let parse_url = |key: &str, text: &str, problem: &mut dyn FnMut(&str, String)| -> Option<url::Url> {
        match url::Url::parse(text.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Some(url),
            _ => {
                problem(key, format!("`{}` is not an http(s) URL", text.trim()));
                None
            }
        }
    };
    let simulator = raw.simulator.as_deref().and_then(|text| {
        let mut url = parse_url("providers.simulator", text, problem)?;
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        Some(url)
    });
    let base = match &simulator {
        Some(url) => Providers::all_at(url, "relink-sim", "relink-sim-secret", 1_000.0),
        None => Providers::new(HashMap::new()),
    };
    let mut configs: HashMap<Provider, ProviderConfig> =
        Provider::ALL.iter().map(|p| (*p, base.config(*p).clone())).collect();
    for (name, table) in raw.each {
        let provider = match name.parse::<Provider>() {
            Ok(provider) if provider.as_str() == name => provider,
            Ok(provider) => {
                problem(&format!("providers.{name}"), format!("write it as [providers.{provider}]"));
                continue;
            }
            Err(error) => {
                problem(&format!("providers.{name}"), error.message);
                continue;
            }
        };
        let config = configs.get_mut(&provider).expect("every provider is present");
        let key = |field: &str| format!("providers.{name}.{field}");
        if let Some(id) = table.client_id {
            config.client_id = id.trim().to_owned();
        }
        if let Some(secret) = table.client_secret {
            config.client_secret = secret;
        }
        for (field, value, slot) in [
            ("api_base", table.api_base, &mut config.api_base),
            ("authorize_url", table.authorize_url, &mut config.authorize_url),
            ("token_url", table.token_url, &mut config.token_url),
        ] {
            if let Some(text) = value
                && let Some(mut url) = parse_url(&key(field), &text, problem)
            {
                if field == "api_base" && !url.path().ends_with('/') {
                    url.set_path(&format!("{}/", url.path()));
                }
                *slot = url;
            }
        }
        if let Some(scopes) = table.scopes {
            let scopes: Vec<String> = scopes.iter().map(|s| s.trim().to_owned()).collect();
            if scopes.is_empty() || scopes.iter().any(|s| s.is_empty() || s.contains([' ', ','])) {
                problem(
                    &key("scopes"),
                    "a list of scope names, e.g. [\"openid\", \"profile\"], each without spaces or commas".into(),
                );
            } else {
                config.scopes = Some(scopes);
            }
        }
        if let Some(rate) = table.rate_per_second {
            if (MIN_RATE..=MAX_RATE).contains(&rate) {
                config.rate_per_second = rate;
            } else {
                problem(&key("rate_per_second"), format!("must be a number from {MIN_RATE} to {MAX_RATE}"));
            }
        }
    }
    (Providers::new(configs), simulator.map(|u| u.to_string()))
}

/// The RISC receiver's settings: Google's key set and issuer unless set, the simulator's key set
/// (`{simulator}/_sim/google/certs`) when every network points at the simulator.
fn resolve_google_risc(
    raw: RawGoogleRisc,
    simulator: Option<&str>,
    problem: &mut impl FnMut(&str, String),
) -> relink_web::RiscSettings {
    let mut settings = relink_web::RiscSettings::default();
    if let Some(url) = simulator.and_then(|base| url::Url::parse(base).ok()?.join("_sim/google/certs").ok()) {
        settings.jwks_url = url;
    }
    if let Some(text) = raw.jwks_url {
        match url::Url::parse(text.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => settings.jwks_url = url,
            _ => problem("providers.google_risc.jwks_url", format!("`{}` is not an http(s) URL", text.trim())),
        }
    }
    if let Some(issuer) = raw.issuer {
        let issuer = issuer.trim();
        if issuer.is_empty() {
            problem(
                "providers.google_risc.issuer",
                "must not be empty (Google's is https://accounts.google.com/)".into(),
            );
        } else {
            issuer.clone_into(&mut settings.issuer);
        }
    }
    settings
}

/// A duration as people write it in the configuration: `4h`, `2d`, `90s`.
fn span(duration: chrono::Duration) -> String {
    humantime::format_duration(duration.to_std().unwrap_or_default()).to_string()
}

/// Builds the alerts' settings over their defaults, reporting each bad value under its key.
fn resolve_alerts(raw: RawAlerts, problem: &mut impl FnMut(&str, String)) -> AlertsSettings {
    let mut engine = AlertsConfig::default();
    let defaults = &mut engine.defaults;
    if let Some(text) = raw.warning_days {
        match parse_warning_days(&text.text()) {
            Ok(days) => defaults.warning_days = days,
            Err(error) => problem("alerts.warning_days", error.message),
        }
    }
    let team_span = relink_core::alerts::MAX_TEAM_SPAN;
    let durations = [
        ("alerts.first_reminder", raw.first_reminder, &mut defaults.first_reminder, false, team_span),
        ("alerts.reminder_every", raw.reminder_every, &mut defaults.reminder_every, false, team_span),
        ("alerts.escalate_after", raw.escalate_after, &mut defaults.escalate_after, true, team_span),
        ("alerts.grouping_window", raw.grouping_window, &mut engine.grouping_window, true, MAX_GROUPING_WINDOW),
        ("alerts.degraded_after", raw.degraded_after, &mut engine.degraded_after, false, MAX_DEGRADED_AFTER),
    ];
    for (key, text, slot, zero_allowed, max) in durations {
        let Some(text) = text else { continue };
        let too_long = humantime::parse_duration(text.trim())
            .is_ok_and(|d| chrono::Duration::from_std(d).map_or(true, |d| d > max));
        if too_long {
            problem(key, format!("`{}` is longer than {}", text.trim(), span(max)));
            continue;
        }
        match parse_duration("duration", &text) {
            Ok(value) if zero_allowed || value > chrono::Duration::zero() => *slot = value,
            Ok(_) => problem(key, "must be longer than zero".into()),
            Err(error) => problem(key, error.message),
        }
    }
    if let Some(text) = raw.operator {
        match Destination::parse_operator(&text) {
            Ok(destination) => engine.operators = destination,
            Err(error) => problem("alerts.operator", error.message),
        }
    }
    let defaults = DeliveryConfig::default();
    let max_attempts = match raw.max_attempts {
        Some(n) if (1..=100).contains(&n) => n,
        Some(bad) => {
            problem("alerts.max_attempts", format!("{bad} is not between 1 and 100"));
            defaults.max_attempts
        }
        None => defaults.max_attempts,
    };
    AlertsSettings { enabled: raw.enabled.unwrap_or(true), engine, max_attempts }
}

/// The key file sits beside an SQLite database, else in the data directory.
fn default_key_file(data_dir: &Path, database_url: &str, engine: Option<Engine>) -> PathBuf {
    if engine == Some(Engine::Sqlite) {
        let path = database_url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or_default();
        if let Some(dir) = Path::new(path).parent() {
            return dir.join("relink.key");
        }
    }
    data_dir.join("relink.key")
}

#[cfg(test)]
// figment's `Jail` closures return its large error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    fn resolve_with(jail: &mut figment::Jail, flags: &FlagOverrides) -> Result<Config, Problems> {
        let _ = jail;
        Sources::gather(None, flags)?.resolve()
    }

    #[test]
    fn no_configuration_at_all_gives_the_embedded_defaults() {
        figment::Jail::expect_with(|jail| {
            let config = resolve_with(jail, &FlagOverrides::default()).expect("defaults are valid");
            assert_eq!(config.database_url.expose_secret(), "sqlite://relink-data/relink.db");
            assert_eq!(config.web.bind.to_string(), "127.0.0.1:8080");
            assert_eq!(config.web.public_url, "http://127.0.0.1:8080");
            assert_eq!(config.web.link_ttl, std::time::Duration::from_secs(24 * 3_600));
            assert_eq!(config.checker.every, std::time::Duration::from_secs(6 * 3_600));
            assert!(matches!(&config.keys, KeySource::File(p) if p == Path::new("relink-data/relink.key")));
            assert!(config.discord.is_none() && config.telegram.is_none());
            Ok(())
        });
    }

    #[test]
    fn a_discord_application_id_from_the_environment_is_read_although_it_looks_like_a_number() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RELINK_DISCORD__TOKEN", "bot-token");
            jail.set_env("RELINK_DISCORD__APPLICATION_ID", "424242424242");
            jail.set_env("RELINK_DISCORD__GUILD_ID", "77");
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            let discord = config.discord.expect("Discord is configured");
            assert_eq!((discord.application_id, discord.guild_id), (Some(424_242_424_242), Some(77)));
            Ok(())
        });
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "relink.toml",
                "log = \"warn\"\n[web]\nbind = \"127.0.0.1:1000\"\npublic_url = \"https://relink.example/\"\n",
            )?;
            jail.set_env("RELINK_WEB__BIND", "127.0.0.1:2000");
            jail.set_env("RELINK_LOG", "debug");
            let flags = FlagOverrides { bind: Some("127.0.0.1:3000".into()), ..Default::default() };
            let sources = Sources::gather(None, &flags).map_err(|e| e.to_string())?;
            let config = sources.resolve().map_err(|e| e.to_string())?;
            assert_eq!(config.web.bind.to_string(), "127.0.0.1:3000");
            assert_eq!(config.log, "debug");
            assert_eq!(config.web.public_url, "https://relink.example");
            assert_eq!(sources.source_of("log"), "environment variable RELINK_LOG");
            assert!(
                sources.source_of("web.public_url").contains("relink.toml"),
                "{}",
                sources.source_of("web.public_url")
            );
            assert_eq!(sources.source_of("web.bind"), "command-line flag --bind");
            Ok(())
        });
    }

    #[test]
    fn a_network_can_be_given_its_scopes_and_bad_ones_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "relink.toml",
                "[providers.oauth2]\nscopes = [\"openid\", \"profile\"]\n[providers.x]\nscopes = [\"tweet.read users.read\"]\n",
            )?;
            let problems = resolve_with(jail, &FlagOverrides::default()).unwrap_err().to_string();
            assert!(problems.contains("providers.x.scopes") && !problems.contains("oauth2"), "{problems}");
            jail.create_file("relink.toml", "[providers.oauth2]\nscopes = [\"openid\", \"profile\"]\n")?;
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            let generic = config.providers.config(relink_core::Provider::GenericOauth2);
            assert_eq!(generic.requested_scopes(relink_core::Provider::GenericOauth2, " "), "openid profile");
            let x = config.providers.config(relink_core::Provider::X);
            assert_eq!(x.scopes, None, "other networks keep their own");
            Ok(())
        });
    }

    #[test]
    fn the_google_risc_receiver_trusts_googles_keys_unless_told_otherwise() {
        figment::Jail::expect_with(|jail| {
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.google_risc, relink_web::RiscSettings::default());
            assert_eq!(config.google_risc.jwks_url.as_str(), relink_web::GOOGLE_JWKS_URL);

            jail.set_env("RELINK_PROVIDERS__SIMULATOR", "http://127.0.0.1:9090");
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.google_risc.jwks_url.as_str(), "http://127.0.0.1:9090/_sim/google/certs");
            assert_eq!(config.google_risc.issuer, relink_web::GOOGLE_ISSUER);

            jail.create_file(
                "relink.toml",
                "[providers.google_risc]\njwks_url = \"https://keys.example/certs\"\nissuer = \"https://issuer.example/\"\n",
            )?;
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.google_risc.jwks_url.as_str(), "https://keys.example/certs");
            assert_eq!(config.google_risc.issuer, "https://issuer.example/");

            jail.create_file("relink.toml", "[providers.google_risc]\njwks_url = \"ftp://keys\"\nissuer = \" \"\n")?;
            let problems = resolve_with(jail, &FlagOverrides::default()).unwrap_err().to_string();
            assert!(problems.contains("providers.google_risc.jwks_url"), "{problems}");
            assert!(problems.contains("providers.google_risc.issuer"), "{problems}");
            assert!(!problems.contains("unknown provider"), "google_risc is not taken for a network: {problems}");
            Ok(())
        });
    }

    #[test]
    fn every_invalid_value_is_explained_with_its_source() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RELINK_WEB__BIND", "localhost");
            jail.set_env("RELINK_DATABASE_URL", "mysql://root:hunter2@db/relink");
            jail.set_env("RELINK_ENCRYPTION_KEYS", "1:short");
            jail.set_env("RELINK_TELEGRAM__TOKEN", "not-a-token");
            jail.set_env("RELINK_LOG", "relink=loud");
            jail.set_env("RELINK_WEB__LINK_TTL", "1s");
            jail.set_env("RELINK_WEB__PUBLIC_URL", "ftp://relink.example");
            let problems = resolve_with(jail, &FlagOverrides::default()).unwrap_err();
            let text = problems.to_string();
            for expected in [
                "web.bind",
                "RELINK_WEB__BIND",
                "database_url",
                "encryption_keys",
                "telegram.token",
                "log",
                "web.link_ttl",
                "web.public_url",
            ] {
                assert!(text.contains(expected), "missing {expected} in {text}");
            }
            assert!(!text.contains("hunter2") && !text.contains("not-a-token"), "{text}");
            assert_eq!(problems.0.len(), 7, "{text}");
            Ok(())
        });
    }

    #[test]
    fn the_description_redacts_secrets() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RELINK_DATABASE_URL", "postgres://relink:s3cret@127.0.0.1/relink");
            jail.set_env("RELINK_TELEGRAM__TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ");
            let sources = Sources::gather(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            let config = sources.resolve().map_err(|e| e.to_string())?;
            let text = sources.describe(&config);
            assert!(!text.contains("s3cret") && !text.contains("ABCDEFGHIJ"), "{text}");
            assert!(text.contains("[REDACTED]"));
            assert!(matches!(&config.keys, KeySource::File(p) if p == Path::new("relink-data/relink.key")));
            Ok(())
        });
    }

    #[test]
    fn alert_settings_have_defaults_and_every_bad_value_names_its_key() {
        figment::Jail::expect_with(|jail| {
            let config = resolve_with(jail, &FlagOverrides::default()).expect("defaults are valid");
            assert_eq!(config.alerts.engine.defaults.warning_days, [14, 7, 3, 1]);
            assert_eq!(config.alerts.engine.operators, Destination::Log);
            assert_eq!(config.alerts.max_attempts, 8);
            jail.set_env("RELINK_ALERTS__WARNING_DAYS", "3");
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.alerts.engine.defaults.warning_days, [3]);
            jail.set_env("RELINK_ALERTS__WARNING_DAYS", "[7, 1]");
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.alerts.engine.defaults.warning_days, [7, 1]);
            jail.clear_env();
            jail.create_file(
                "relink.toml",
                "[alerts]\nwarning_days = \"7,1\"\nescalate_after = \"2h\"\noperator = \"telegram:-1001\"\n",
            )?;
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.alerts.engine.defaults.warning_days, [7, 1]);
            assert_eq!(config.alerts.engine.defaults.escalate_after, chrono::Duration::hours(2));
            assert_eq!(config.alerts.engine.operators, Destination::TelegramChat(-1001));
            jail.set_env("RELINK_ALERTS__WARNING_DAYS", "30");
            jail.set_env("RELINK_ALERTS__REMINDER_EVERY", "often");
            jail.set_env("RELINK_ALERTS__OPERATOR", "slack:1");
            jail.set_env("RELINK_ALERTS__MAX_ATTEMPTS", "0");
            let text = resolve_with(jail, &FlagOverrides::default()).unwrap_err().to_string();
            for key in ["alerts.warning_days", "alerts.reminder_every", "alerts.operator", "alerts.max_attempts"] {
                assert!(text.contains(key), "missing {key} in {text}");
            }
            Ok(())
        });
    }

    #[test]
    fn settings_beyond_their_documented_range_are_refused_naming_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "relink.toml",
                "[alerts]\nescalate_after = \"100000000d\"\nfirst_reminder = \"400d\"\nreminder_every = \"366d\"\n\
                 grouping_window = \"2h\"\ndegraded_after = \"31d\"\n\
                 [providers.x]\nrate_per_second = 1e300\n[providers.linkedin]\nrate_per_second = 1e-9\n\
                 [telegram]\ntoken = \"123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ\"\n\
                 [telegram.caps]\noverall_per_second = 1e300\nper_chat_per_second = 0.0000001\n\
                 [checks]\nevery = \"8d\"\n",
            )?;
            let text = resolve_with(jail, &FlagOverrides::default()).unwrap_err().to_string();
            for key in [
                "alerts.escalate_after",
                "alerts.first_reminder",
                "alerts.reminder_every",
                "alerts.grouping_window",
                "alerts.degraded_after",
                "providers.x.rate_per_second",
                "providers.linkedin.rate_per_second",
                "telegram.caps.overall_per_second",
                "telegram.caps.per_chat_per_second",
                "checks.every",
            ] {
                assert!(text.contains(key), "missing {key} in {text}");
            }
            jail.create_file("relink.toml", "[alerts]\nescalate_after = \"365d\"\ngrouping_window = \"1h\"\n")?;
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.alerts.engine.defaults.escalate_after, chrono::Duration::days(365));
            Ok(())
        });
    }

    #[test]
    fn web_limits_and_metrics_access_are_bounded_and_the_metrics_token_is_redacted() {
        figment::Jail::expect_with(|jail| {
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.web.limits, relink_web::ServerLimits::default());
            assert!(config.web.metrics_token.is_none() && config.web.metrics_bind.is_none());
            jail.create_file(
                "relink.toml",
                "[web]\nheader_timeout = \"5s\"\nrequest_timeout = \"1m\"\nmax_connections = 64\n\
                 metrics_token = \"scrape-me-0123456789\"\nmetrics_bind = \"127.0.0.1:9090\"\n",
            )?;
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            let limits = config.web.limits;
            assert_eq!(limits.header_timeout, std::time::Duration::from_secs(5));
            assert_eq!(limits.request_timeout, std::time::Duration::from_secs(60));
            assert_eq!(limits.max_connections, 64);
            assert_eq!(config.web.metrics_bind, Some(SocketAddr::from(([127, 0, 0, 1], 9090))));
            let sources = Sources::gather(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            let text = sources.describe(&config);
            assert!(text.contains("web.metrics_token") && !text.contains("scrape-me"), "{text}");
            assert!(!format!("{config:?}").contains("scrape-me"));

            jail.set_env("RELINK_WEB__HEADER_TIMEOUT", "0s");
            jail.set_env("RELINK_WEB__REQUEST_TIMEOUT", "1y");
            jail.set_env("RELINK_WEB__MAX_CONNECTIONS", "0");
            jail.set_env("RELINK_WEB__METRICS_TOKEN", "short");
            jail.set_env("RELINK_WEB__METRICS_BIND", "127.0.0.1:8080");
            let problems = resolve_with(jail, &FlagOverrides::default()).unwrap_err();
            let text = problems.to_string();
            for key in [
                "web.header_timeout",
                "web.request_timeout",
                "web.max_connections",
                "web.metrics_token",
                "web.metrics_bind",
            ] {
                assert!(text.contains(key), "missing {key} in {text}");
            }
            assert!(!text.contains("short"), "the token is not repeated: {text}");
            assert_eq!(problems.0.len(), 5, "{text}");
            Ok(())
        });
    }

    #[test]
    fn with_the_provider_simulator_the_telegram_bot_talks_to_the_simulators_bot_api() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RELINK_TELEGRAM__TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ");
            jail.set_env("RELINK_PROVIDERS__SIMULATOR", "http://127.0.0.1:9090/");
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            let telegram = config.telegram.expect("a token turns the bot on");
            assert_eq!(telegram.api_url.as_str(), "http://127.0.0.1:9090/telegram/api");
            // Its own setting wins, and a trailing slash (…/api//bot…) is dropped.
            jail.set_env("RELINK_TELEGRAM__API_URL", "http://127.0.0.1:9091/bot-api/");
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.telegram.expect("on").api_url.as_str(), "http://127.0.0.1:9091/bot-api");
            Ok(())
        });
    }

    #[test]
    fn telegram_settings_have_defaults_and_every_bad_value_names_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RELINK_TELEGRAM__TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ");
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            let telegram = config.telegram.expect("a token turns the bot on");
            assert_eq!(telegram.api_url.as_str(), "https://api.telegram.org/");
            assert_eq!(telegram.mode, relink_bot::telegram::Mode::Polling);
            assert_eq!(telegram.caps, relink_bot::telegram::Caps::default());
            jail.create_file(
                "relink.toml",
                "[telegram]\napi_url = \"http://127.0.0.1:9/\"\nmode = \"webhook\"\n\
                 webhook_secret = \"0123456789abcdef_-\"\n[telegram.caps]\nper_group_per_minute = 10\n",
            )?;
            let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            let telegram = config.telegram.expect("still on");
            assert_eq!(telegram.mode, relink_bot::telegram::Mode::Webhook);
            assert_eq!(telegram.api_url.as_str(), "http://127.0.0.1:9/");
            assert!((telegram.caps.per_group_per_minute - 10.0).abs() < f64::EPSILON);
            jail.set_env("RELINK_TELEGRAM__WEBHOOK_SECRET", "");
            jail.set_env("RELINK_TELEGRAM__MODE", "carrier-pigeon");
            jail.set_env("RELINK_TELEGRAM__API_URL", "ftp://example");
            jail.set_env("RELINK_TELEGRAM__CAPS__OVERALL_PER_SECOND", "-1");
            let text = resolve_with(jail, &FlagOverrides::default()).unwrap_err().to_string();
            for key in ["telegram.mode", "telegram.api_url", "telegram.caps.overall_per_second"] {
                assert!(text.contains(key), "missing {key} in {text}");
            }
            jail.set_env("RELINK_TELEGRAM__MODE", "webhook");
            jail.set_env("RELINK_TELEGRAM__API_URL", "https://api.telegram.org");
            jail.set_env("RELINK_TELEGRAM__CAPS__OVERALL_PER_SECOND", "30");
            let text = resolve_with(jail, &FlagOverrides::default()).unwrap_err().to_string();
            assert!(text.contains("telegram.webhook_secret"), "{text}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_explicit_config_file_is_an_error() {
        let err = Sources::gather(Some(Path::new("/nonexistent/relink.toml")), &FlagOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("does not exist"));
    }
}
