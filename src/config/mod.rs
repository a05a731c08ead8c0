//! relink's configuration: one typed [`Config`] from a TOML file, `RELINK_*` environment
//! variables and command-line flags, in that order of precedence (figment merges them).
//!
//! Every field has a default, so `relink serve` runs with no configuration at all. Validation
//! collects every problem at once, each naming its key, where the value came from, and what is
//! wrong; secrets (tokens, keys, database passwords) are never printed.
//!
//! Each section lives in a module of its own that reads its raw table, resolves and validates it
//! (`resolve`, reporting problems into a [`report::Report`]) and lists it for `relink config
//! check` (`describe`): `storage` (`data_dir`, `database_url`, the keys), `logging` (`log`,
//! `log_format`), `web`, `discord`, `telegram`, `checker` and `checks`, `alerts`, `providers` (with
//! `google_risc`). This module gathers the sources and composes the sections in a fixed order,
//! which is the order problems and settings are listed in.

mod alerts;
mod checker;
mod checks;
mod discord;
mod logging;
mod providers;
mod report;
mod storage;
mod telegram;
#[cfg(test)]
mod tests;
mod web;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use relink_core::provider::Providers;
use relink_core::store::redact_url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use alerts::AlertsSettings;
pub use checker::CheckerSettings;
pub use discord::DiscordConfig;
pub use logging::LogFormat;
pub use report::{Problem, Problems};
pub use storage::KeySource;
pub use telegram::TelegramConfig;
pub use web::WebConfig;

use report::{Description, Report};

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

/// The whole file as read: the top-level keys, then a table per section.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<SecretString>,
    key_file: Option<PathBuf>,
    encryption_keys: Option<SecretString>,
    log: Option<String>,
    log_format: Option<String>,
    web: web::RawWeb,
    discord: discord::RawDiscord,
    telegram: telegram::RawTelegram,
    providers: providers::RawProviders,
    checker: checker::RawChecker,
    checks: checks::RawChecks,
    alerts: alerts::RawAlerts,
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
    /// `text` (default) or `json`, one object a line.
    pub log_format: LogFormat,
    pub web: WebConfig,
    pub discord: Option<DiscordConfig>,
    pub telegram: Option<TelegramConfig>,
}

impl Config {
    pub fn database_url_for_display(&self) -> String {
        redact_url(self.database_url.expose_secret())
    }
}

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
        let raw: RawConfig = self.figment.extract().map_err(|error| {
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
        let mut report = Report::new(self);
        let storage = storage::resolve(
            storage::RawStorage {
                data_dir: raw.data_dir,
                database_url: raw.database_url,
                key_file: raw.key_file,
                encryption_keys: raw.encryption_keys,
            },
            &mut report,
        );
        let log = logging::resolve(raw.log, &mut report);
        let log_format = logging::resolve_format(raw.log_format, &mut report);
        let web = web::resolve(raw.web, &mut report);
        let discord = discord::resolve(raw.discord, &mut report);
        let telegram = telegram::resolve(raw.telegram, raw.providers.simulator.as_deref(), &mut report);
        let providers = providers::resolve(raw.providers, &mut report);
        let checker = checker::resolve(raw.checker, raw.checks, &mut report);
        let alerts = alerts::resolve(raw.alerts, &mut report);
        report.finish()?;
        Ok(Config {
            providers: providers.providers,
            provider_simulator: providers.simulator,
            google_risc: providers.google_risc,
            checker,
            alerts,
            data_dir: storage.data_dir,
            database_url: SecretString::from(storage.database_url),
            keys: storage.keys,
            log,
            log_format,
            web,
            discord,
            telegram,
        })
    }

    /// The effective configuration, one line a setting with its source; secrets redacted.
    pub fn describe(&self, config: &Config) -> String {
        let mut out = Description::new(self);
        storage::describe(config, &mut out);
        logging::describe(&config.log, config.log_format, &mut out);
        web::describe(&config.web, &mut out);
        checks::describe(config.checker.every, &mut out);
        discord::describe(config.discord.as_ref(), &mut out);
        telegram::describe(config.telegram.as_ref(), &mut out);
        checker::describe(&config.checker, &mut out);
        alerts::describe(&config.alerts, &mut out);
        providers::describe(config, &mut out);
        out.finish()
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
