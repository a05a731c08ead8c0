//! `[providers]`: every network's endpoints and relink's app credentials there. By default the
//! public endpoints; with `providers.simulator` all of them under the simulator's one URL; then
//! each `[providers.NAME]` table on top. Also `[providers.google_risc]`, the receiver of Google's
//! Cross-Account Protection events (not a network of its own).

use std::collections::{BTreeMap, HashMap};

use relink_core::Provider;
use relink_core::provider::{ProviderConfig, Providers};
use secrecy::SecretString;
use serde::Deserialize;

use super::report::{Description, MAX_RATE, MIN_RATE, Report, http_url};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawProviders {
    /// One base URL serving every network the simulator's way (`{url}/{provider}/…`).
    pub simulator: Option<String>,
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

/// The resolved `[providers]` section ([`super::Config`] holds its parts as fields of its own).
#[derive(Debug)]
pub(super) struct ProviderSettings {
    pub providers: Providers,
    /// `providers.simulator`, normalised to end in `/`: `None` for the public endpoints.
    pub simulator: Option<String>,
    pub google_risc: relink_web::RiscSettings,
}

pub(super) fn resolve(raw: RawProviders, report: &mut Report<'_>) -> ProviderSettings {
    let RawProviders { simulator, google_risc, each } = raw;
    let (providers, simulator) = resolve_networks(simulator, each, report);
    let google_risc = resolve_google_risc(google_risc, simulator.as_deref(), report);
    ProviderSettings { providers, simulator, google_risc }
}

/// An http(s) URL, or a problem under `key`.
fn parse_url(key: &str, text: &str, report: &mut Report<'_>) -> Option<url::Url> {
    let url = http_url(text);
    if url.is_none() {
        report.problem(key, format!("`{}` is not an http(s) URL", text.trim()));
    }
    url
}

/// Builds the networks' configuration: the public endpoints by default, all of them under one
/// simulator URL when `providers.simulator` is set, then each `[providers.NAME]` table on top.
fn resolve_networks(
    simulator: Option<String>,
    each: BTreeMap<String, RawProvider>,
    report: &mut Report<'_>,
) -> (Providers, Option<String>) {
    let simulator = simulator.as_deref().and_then(|text| {
        let mut url = parse_url("providers.simulator", text, report)?;
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
    for (name, table) in each {
        let provider = match name.parse::<Provider>() {
            Ok(provider) if provider.as_str() == name => provider,
            Ok(provider) => {
                report.problem(&format!("providers.{name}"), format!("write it as [providers.{provider}]"));
                continue;
            }
            Err(error) => {
                report.problem(&format!("providers.{name}"), error.message);
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
                && let Some(mut url) = parse_url(&key(field), &text, report)
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
                report.problem(
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
                report.problem(&key("rate_per_second"), format!("must be a number from {MIN_RATE} to {MAX_RATE}"));
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
    report: &mut Report<'_>,
) -> relink_web::RiscSettings {
    let mut settings = relink_web::RiscSettings::default();
    if let Some(url) = simulator.and_then(|base| url::Url::parse(base).ok()?.join("_sim/google/certs").ok()) {
        settings.jwks_url = url;
    }
    if let Some(text) = raw.jwks_url {
        match http_url(&text) {
            Some(url) => settings.jwks_url = url,
            None => {
                report.problem("providers.google_risc.jwks_url", format!("`{}` is not an http(s) URL", text.trim()))
            }
        }
    }
    if let Some(issuer) = raw.issuer {
        let issuer = issuer.trim();
        if issuer.is_empty() {
            report.problem(
                "providers.google_risc.issuer",
                "must not be empty (Google's is https://accounts.google.com/)".into(),
            );
        } else {
            issuer.clone_into(&mut settings.issuer);
        }
    }
    settings
}

pub(super) fn describe(config: &super::Config, out: &mut Description<'_>) {
    if let Some(url) = &config.provider_simulator {
        out.line("providers.simulator", format!("{url:?} (every network points at the simulator)"));
    }
    for provider in Provider::ALL {
        let settings = config.providers.config(*provider);
        let key = format!("providers.{provider}.client_id");
        let credentials = if settings.client_id.is_empty() {
            "(not set: reconnect links for this network need it)".to_owned()
        } else {
            format!("{:?}, client_secret [REDACTED]", settings.client_id)
        };
        out.line(&key, credentials);
        out.line(&format!("providers.{provider}.api_base"), format!("{:?}", settings.api_base.as_str()));
    }
    out.line("providers.google_risc.jwks_url", format!("{:?}", config.google_risc.jwks_url.as_str()));
    out.line("providers.google_risc.issuer", format!("{:?}", config.google_risc.issuer));
}
