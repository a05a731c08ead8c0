//! The configuration's tests: defaults, precedence and sources, every section's bad values
//! named by key, and secrets kept out of the description.

// figment's `Jail` closures return its large error type; that is its API, not ours.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;

use relink_core::alerts::Destination;

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
        assert!(sources.source_of("web.public_url").contains("relink.toml"), "{}", sources.source_of("web.public_url"));
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

#[test]
fn log_format_is_text_unless_json_and_anything_else_is_named() {
    figment::Jail::expect_with(|jail| {
        let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
        assert_eq!(config.log_format, LogFormat::Text);
        jail.set_env("RELINK_LOG_FORMAT", "JSON");
        let config = resolve_with(jail, &FlagOverrides::default()).map_err(|e| e.to_string())?;
        assert_eq!(config.log_format, LogFormat::Json);
        jail.set_env("RELINK_LOG_FORMAT", "logfmt");
        let problems = resolve_with(jail, &FlagOverrides::default()).unwrap_err().to_string();
        assert!(problems.contains("log_format (from environment variable RELINK_LOG_FORMAT)"), "{problems}");
        assert!(problems.contains("\"text\"") && problems.contains("\"json\""), "{problems}");
        Ok(())
    });
}
