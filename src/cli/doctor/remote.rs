//! The doctor's remote checks: each configured network's app credentials, the Telegram bot and
//! its webhook, the Discord bot and application, and the clock against the answers' `Date`.
//!
//! Every call goes through the configured base URLs (so tests use the simulator and fakes) with
//! the doctor's timeout; a network that does not answer is "could not reach", never a hang.
//! Secrets travel in requests only: URLs holding a token are never shown, and a network's error
//! text is quoted shortened.

use std::time::Duration;

use chrono::{DateTime, Utc};
use relink_core::Provider;
use relink_core::provider::{BodyError, MAX_ANSWER_BYTES, ProviderConfig, read_body};
use reqwest::{RequestBuilder, StatusCode};
use secrecy::ExposeSecret as _;
use serde_json::Value;

use super::Check;
use crate::config::{Config, DiscordConfig, TelegramConfig};

/// The clock may differ from the networks' by this much before it is a failure.
const MAX_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// A network's answer: status, JSON body (`Null` when it is not JSON) and the clock sample.
struct Reply {
    status: StatusCode,
    body: Value,
    clock: Option<Sample>,
}

/// A server's `Date` and the local time its answer arrived.
#[derive(Debug, Clone, Copy)]
struct Sample {
    theirs: DateTime<Utc>,
    ours: DateTime<Utc>,
}

/// Sends `request`; `Err` says in words why there was no answer (the URL left out: a Bot API
/// URL holds the token).
async fn send(request: RequestBuilder) -> Result<Reply, String> {
    let response = request.send().await.map_err(|error| {
        if error.is_timeout() {
            "no answer before the timeout".to_owned()
        } else if error.is_connect() {
            "connection refused or failed".to_owned()
        } else {
            error.without_url().to_string()
        }
    })?;
    let ours = Utc::now();
    let status = response.status();
    let theirs = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|d| d.with_timezone(&Utc));
    // Answers are small; a large one is refused, never read to its end.
    let bytes = read_body(response, MAX_ANSWER_BYTES).await.map_err(BodyError::describe)?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Reply { status, body, clock: theirs.map(|theirs| Sample { theirs, ours }) })
}

/// At most 160 characters of a network's message, on one line.
fn quote(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = line.chars().take(160).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

/// The host a base URL names, for "could not reach HOST".
fn host(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => url.to_string(),
    }
}

/// Every remote check, run at once; the clock check last, from the answers' `Date` headers.
pub(super) async fn checks(config: &Config, timeout: Duration) -> Vec<Check> {
    let http = match reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("relink-doctor/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(http) => http,
        Err(error) => return vec![Check::fail(format!("cannot make an HTTP client: {error}"), "check the TLS setup")],
    };
    let web = relink_web::WebSettings::new(
        url::Url::parse(&config.web.public_url).unwrap_or_else(|_| config.web.link_settings().public_url),
        config.web.link_ttl,
    );
    let networks = futures_util::future::join_all(
        Provider::ALL
            .iter()
            .filter(|p| **p != Provider::Telegram && !config.providers.config(**p).client_id.is_empty())
            .map(|provider| network(&http, *provider, config.providers.config(*provider), &web)),
    );
    let telegram = async {
        match &config.telegram {
            Some(telegram) => telegram_checks(&http, telegram, &config.web.public_url).await,
            None => (vec![Check::pass("Telegram bot is off (telegram.token not set)")], Vec::new()),
        }
    };
    let discord = async {
        match &config.discord {
            Some(discord) => discord_checks(&http, discord).await,
            None => (vec![Check::pass("Discord bot is off (discord.token not set)")], Vec::new()),
        }
    };
    let (networks, telegram, discord) = tokio::join!(networks, telegram, discord);
    let mut checks = Vec::new();
    let mut samples = Vec::new();
    if networks.is_empty() {
        checks.push(Check::advice(
            "no network is configured (no providers.NAME.client_id)",
            "reconnect links need a network's app credentials: set providers.NAME.client_id and client_secret",
        ));
    }
    for (check, sample) in networks {
        checks.push(check);
        samples.extend(sample);
    }
    for (part, part_samples) in [telegram, discord] {
        checks.extend(part);
        samples.extend(part_samples);
    }
    checks.push(clock(&samples));
    checks
}

/// How a network's app credentials can be proved without a user.
enum Proof {
    /// Meta: `debug_token` with the app token `client_id|client_secret`.
    AppToken,
    /// LinkedIn: token introspection, which authenticates the client first.
    Introspection,
    /// RFC 6749 §4.4 with HTTP Basic, where the network offers it (Pinterest in part, generic
    /// servers often).
    ClientCredentials,
    /// Threads: an app access token from the client-credentials grant, the app's id and secret
    /// in the form as Meta wants them.
    ThreadsAppToken,
    /// No call proves them without a person's grant.
    None,
}

fn proof(provider: Provider) -> Proof {
    match provider {
        Provider::Facebook | Provider::InstagramBusiness => Proof::AppToken,
        Provider::Linkedin => Proof::Introspection,
        Provider::Pinterest | Provider::GenericOauth2 => Proof::ClientCredentials,
        // <https://developers.facebook.com/documentation/threads/get-started/app-access-tokens>
        Provider::Threads => Proof::ThreadsAppToken,
        // Instagram login documents no app token; X's client-credentials grant takes the API
        // key, not the OAuth 2.0 client; Google offers none to web clients.
        Provider::InstagramLogin | Provider::X | Provider::Youtube | Provider::GoogleBusiness | Provider::Telegram => {
            Proof::None
        }
    }
}

/// One network: its credentials' check, with the redirect URI to register beneath.
async fn network(
    http: &reqwest::Client,
    provider: Provider,
    config: &ProviderConfig,
    web: &relink_web::WebSettings,
) -> (Check, Option<Sample>) {
    let name = provider.as_str();
    let secret = config.client_secret.expose_secret();
    let fix_secret = format!(
        "copy the id and secret of relink's {} app into providers.{name}.client_id and client_secret",
        provider.label()
    );
    let (check, sample) = if secret.is_empty() {
        (Check::fail(format!("{name}: providers.{name}.client_secret is not set"), fix_secret.clone()), None)
    } else {
        let request = match proof(provider) {
            Proof::AppToken => {
                let app_token = format!("{}|{secret}", config.client_id);
                Some(
                    http.get(config.api_base.join("debug_token").unwrap_or_else(|_| config.api_base.clone()))
                        .query(&[("input_token", app_token.as_str()), ("access_token", app_token.as_str())]),
                )
            }
            Proof::Introspection => Some(
                http.post(config.api_base.join("introspectToken").unwrap_or_else(|_| config.api_base.clone())).form(&[
                    ("token", "relink-doctor-no-such-token"),
                    ("client_id", config.client_id.as_str()),
                    ("client_secret", secret),
                ]),
            ),
            Proof::ClientCredentials => Some(
                http.post(config.token_url.clone())
                    .basic_auth(&config.client_id, Some(secret))
                    .form(&[("grant_type", "client_credentials")]),
            ),
            Proof::ThreadsAppToken => Some(http.post(config.token_url.clone()).form(&[
                ("client_id", config.client_id.as_str()),
                ("client_secret", secret),
                ("grant_type", "client_credentials"),
            ])),
            Proof::None => None,
        };
        match request {
            None => (
                Check::advice(
                    format!("{name}: app credentials cannot be checked without a user"),
                    format!("{} has no call that proves them alone: connect a channel to try them", provider.label()),
                ),
                None,
            ),
            Some(request) => match send(request).await {
                Err(why) => (
                    Check::fail(
                        format!("{name}: could not reach {} ({why})", host(&config.api_base)),
                        format!("check providers.{name}.api_base / token_url and this host's outbound network"),
                    ),
                    None,
                ),
                Ok(reply) => (credentials_verdict(provider, &reply, &fix_secret), reply.clock),
            },
        }
    };
    (check.detail(format!("redirect URI to register: {}", web.redirect_uri(provider))), sample)
}

/// What a credentials call's answer says.
fn credentials_verdict(provider: Provider, reply: &Reply, fix: &str) -> Check {
    let name = provider.as_str();
    let body = &reply.body;
    let error_text = || {
        let message = body["error"]["message"]
            .as_str()
            .or_else(|| body["error_description"].as_str())
            .or_else(|| body["message"].as_str())
            .or_else(|| body["error"].as_str())
            .unwrap_or("");
        format!(
            "HTTP {}{}",
            reply.status.as_u16(),
            if message.is_empty() { String::new() } else { format!(": {}", quote(message)) }
        )
    };
    match proof(provider) {
        Proof::AppToken if reply.status.is_success() && body["data"].is_object() => {
            Check::pass(format!("{name}: app id and secret accepted (debug_token with the app token)"))
        }
        Proof::AppToken if reply.status.is_server_error() => Check::advice(
            format!("{name}: Meta did not answer the check ({})", error_text()),
            "run the doctor again later",
        ),
        Proof::AppToken => Check::fail(format!("{name}: Meta refused the app id or secret ({})", error_text()), fix),
        Proof::Introspection if reply.status.is_success() && body.get("active").is_some() => {
            Check::pass(format!("{name}: client id and secret accepted (token introspection)"))
        }
        Proof::Introspection if reply.status.is_server_error() => Check::advice(
            format!("{name}: LinkedIn did not answer the check ({})", error_text()),
            "run the doctor again later",
        ),
        Proof::Introspection => {
            Check::fail(format!("{name}: LinkedIn refused the client id or secret ({})", error_text()), fix)
        }
        Proof::ThreadsAppToken if reply.status.is_success() && body["access_token"].is_string() => {
            Check::pass(format!("{name}: app id and secret accepted (an app access token was granted)"))
        }
        // Meta answers bad app credentials with an `OAuthException` ("Error validating client
        // secret", "Invalid application ID").
        Proof::ThreadsAppToken if body["error"]["type"].as_str() == Some("OAuthException") => {
            Check::fail(format!("{name}: Meta refused the app id or secret ({})", error_text()), fix)
        }
        _ if reply.status.is_success() && body["access_token"].is_string() => {
            Check::pass(format!("{name}: client id and secret accepted (client-credentials grant)"))
        }
        _ if reply.status == StatusCode::UNAUTHORIZED || body["error"].as_str() == Some("invalid_client") => {
            Check::fail(format!("{name}: the token endpoint refused the client id or secret ({})", error_text()), fix)
        }
        _ => Check::advice(
            format!("{name}: app credentials cannot be checked without a user ({})", error_text()),
            "the network does not grant client credentials to this app: connect a channel to try them",
        ),
    }
}

/// `getMe` (the token) and `getWebhookInfo` (mode, URL, pending updates, last error).
async fn telegram_checks(
    http: &reqwest::Client,
    telegram: &TelegramConfig,
    public_url: &str,
) -> (Vec<Check>, Vec<Sample>) {
    let method = |name: &str| {
        let mut url = telegram.api_url.clone();
        let path = format!("{}/bot{}/{name}", url.path().trim_end_matches('/'), telegram.token.expose_secret());
        url.set_path(&path);
        url
    };
    let mut samples = Vec::new();
    let me = match send(http.post(method("getMe"))).await {
        Err(why) => {
            let check = Check::fail(
                format!("Telegram: could not reach {} ({why})", host(&telegram.api_url)),
                "check telegram.api_url and this host's outbound network",
            );
            return (vec![check], samples);
        }
        Ok(reply) => reply,
    };
    samples.extend(me.clock);
    if me.status == StatusCode::UNAUTHORIZED || me.status == StatusCode::NOT_FOUND {
        let check = Check::fail(
            "Telegram refused the bot token (getMe: Unauthorized)",
            "ask @BotFather for the bot's current token (/token) and set telegram.token",
        );
        return (vec![check], samples);
    }
    if me.body["ok"].as_bool() != Some(true) {
        let text = quote(me.body["description"].as_str().unwrap_or("no description"));
        let check = Check::fail(
            format!("Telegram getMe failed (HTTP {}: {text})", me.status.as_u16()),
            "run the doctor again; if it stays, check telegram.api_url",
        );
        return (vec![check], samples);
    }
    let username = me.body["result"]["username"].as_str().unwrap_or("?");
    let mut checks = vec![Check::pass(format!("Telegram bot token valid (@{username})"))];
    let info = match send(http.post(method("getWebhookInfo"))).await {
        Err(why) => {
            checks.push(Check::fail(
                format!("Telegram: getWebhookInfo could not reach {} ({why})", host(&telegram.api_url)),
                "check telegram.api_url and this host's outbound network",
            ));
            return (checks, samples);
        }
        Ok(reply) => reply,
    };
    samples.extend(info.clock);
    checks.push(webhook(telegram, &info.body["result"], public_url));
    (checks, samples)
}

/// The webhook as Telegram has it, against the configured mode.
fn webhook(telegram: &TelegramConfig, info: &Value, public_url: &str) -> Check {
    let set = info["url"].as_str().unwrap_or("");
    let pending = info["pending_update_count"].as_u64().unwrap_or(0);
    let last_error = info["last_error_message"].as_str().map(quote);
    let last_error_at = info["last_error_date"]
        .as_i64()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .map_or(String::new(), |at| format!(" at {}", at.format("%Y-%m-%d %H:%M UTC")));
    let pending_text = format!("{pending} update(s) pending");
    match telegram.mode {
        relink_bot::telegram::Mode::Polling if set.is_empty() => {
            Check::pass(format!("Telegram: no webhook set, as polling wants ({pending_text})"))
        }
        relink_bot::telegram::Mode::Polling => Check::advice(
            format!("Telegram: a webhook is set ({set}) while telegram.mode = \"polling\" ({pending_text})"),
            "relink serve removes it when it starts; if relink is running, another program uses this bot token",
        ),
        relink_bot::telegram::Mode::Webhook => {
            let wanted = format!("{}{}", public_url.trim_end_matches('/'), relink_bot::telegram::WEBHOOK_PATH);
            if let Some(error) = last_error {
                Check::fail(
                    format!("Telegram could not deliver to the webhook{last_error_at}: {error} ({pending_text})"),
                    format!("make {wanted} reachable from the internet over https with a valid certificate"),
                )
            } else if set != wanted {
                let set = if set.is_empty() { "none" } else { set };
                Check::advice(
                    format!("Telegram: the webhook is {set}, not {wanted} ({pending_text})"),
                    "relink serve sets it when it starts; if relink is running, another program uses this bot token",
                )
            } else {
                Check::pass(format!("Telegram: webhook set to {wanted} ({pending_text})"))
            }
        }
    }
}

/// `GET /users/@me` (the token) and `GET /applications/@me` (id and public key).
async fn discord_checks(http: &reqwest::Client, discord: &DiscordConfig) -> (Vec<Check>, Vec<Sample>) {
    let endpoint = |path: &str| {
        let mut url = discord.api_url.clone();
        let full = format!("{}/v10/{path}", url.path().trim_end_matches('/'));
        url.set_path(&full);
        url
    };
    let auth = format!("Bot {}", discord.token.expose_secret());
    let mut samples = Vec::new();
    let me = match send(http.get(endpoint("users/@me")).header(reqwest::header::AUTHORIZATION, &auth)).await {
        Err(why) => {
            let check = Check::fail(
                format!("Discord: could not reach {} ({why})", host(&discord.api_url)),
                "check discord.api_url and this host's outbound network",
            );
            return (vec![check], samples);
        }
        Ok(reply) => reply,
    };
    samples.extend(me.clock);
    if !me.status.is_success() {
        let check = Check::fail(
            format!("Discord refused the bot token (users/@me: HTTP {})", me.status.as_u16()),
            "reset the token in the Developer Portal (Bot → Reset Token) and set discord.token",
        );
        return (vec![check], samples);
    }
    let bot = me.body["username"].as_str().unwrap_or("?");
    let mut checks = vec![Check::pass(format!("Discord bot token valid ({bot})"))];
    let app = match send(http.get(endpoint("applications/@me")).header(reqwest::header::AUTHORIZATION, &auth)).await {
        Err(why) => {
            checks.push(Check::fail(
                format!("Discord: applications/@me could not reach {} ({why})", host(&discord.api_url)),
                "check discord.api_url and this host's outbound network",
            ));
            return (checks, samples);
        }
        Ok(reply) => reply,
    };
    samples.extend(app.clock);
    if !app.status.is_success() {
        checks.push(Check::fail(
            format!("Discord: applications/@me failed (HTTP {})", app.status.as_u16()),
            "run the doctor again; if it stays, check the bot token's application",
        ));
        return (checks, samples);
    }
    checks.push(application(discord, &app.body));
    (checks, samples)
}

/// The configured application id and public key against the token's application.
fn application(discord: &DiscordConfig, app: &Value) -> Check {
    let id = app["id"].as_str().and_then(|id| id.parse::<u64>().ok());
    let key = app["verify_key"].as_str().map(str::to_ascii_lowercase);
    let mut wrong = Vec::new();
    match (discord.application_id, id) {
        (Some(configured), Some(actual)) if configured != actual => {
            wrong.push(format!("discord.application_id is {configured}, the token's application is {actual}"))
        }
        (None, Some(actual)) => wrong.push(format!("discord.application_id is not set (it is {actual})")),
        _ => {}
    }
    match (discord.public_key.as_deref().map(str::to_ascii_lowercase), key.as_deref()) {
        (Some(configured), Some(actual)) if configured != actual => {
            wrong.push(format!("discord.public_key is not the application's ({actual})"))
        }
        (None, _) if discord.mode == relink_bot::discord::Mode::Interactions => {
            wrong.push("discord.public_key is not set".to_owned())
        }
        _ => {}
    }
    if wrong.is_empty() {
        Check::pass("Discord application id and public key match the bot token's application")
    } else {
        Check::fail(
            format!("Discord: {}", wrong.join("; ")),
            "copy the Application ID and Public Key from the Developer Portal's General Information page",
        )
    }
}

/// The local clock against the median of the answers' `Date` headers.
fn clock(samples: &[Sample]) -> Check {
    let mut skews: Vec<chrono::TimeDelta> = samples.iter().map(|s| s.ours - s.theirs).collect();
    if skews.is_empty() {
        return Check::advice(
            "clock: no answer carried a Date header to compare with",
            "make sure the clock is synchronised (chrony or systemd-timesyncd)",
        );
    }
    skews.sort();
    let skew = skews[skews.len() / 2];
    let seconds = skew.num_seconds();
    let words = match seconds {
        0 => "in step with".to_owned(),
        s if s > 0 => format!("{s} s ahead of"),
        s => format!("{} s behind", s.unsigned_abs()),
    };
    if skew.abs() > MAX_SKEW {
        Check::fail(
            format!("clock: this machine is {words} the networks' clocks"),
            "synchronise the clock (chrony or systemd-timesyncd): link, state and token expiry depend on it",
        )
    } else {
        Check::pass(format!("clock: {words} the networks' clocks (within 60 s)"))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use serde_json::json;

    use super::*;
    use crate::cli::doctor::Mark;

    fn telegram(mode: relink_bot::telegram::Mode) -> TelegramConfig {
        TelegramConfig {
            token: SecretString::from("4242:token-for-unit-tests-0123456789"),
            api_url: url::Url::parse("http://127.0.0.1:1/").expect("a URL"),
            mode,
            webhook_secret: None,
            caps: relink_bot::telegram::Caps::default(),
        }
    }

    fn discord(application_id: Option<u64>, public_key: Option<&str>) -> DiscordConfig {
        DiscordConfig {
            token: SecretString::from("discord-token"),
            application_id,
            public_key: public_key.map(str::to_owned),
            mode: relink_bot::discord::Mode::Gateway,
            guild_id: None,
            api_url: url::Url::parse("http://127.0.0.1:1/api").expect("a URL"),
        }
    }

    #[test]
    fn the_webhook_is_judged_against_the_configured_mode() {
        use relink_bot::telegram::Mode::{Polling, Webhook};
        let public = "https://relink.example";
        let ours = "https://relink.example/telegram/webhook";
        let failing = json!({ "url": ours, "pending_update_count": 12, "last_error_date": 1_800_000_000,
            "last_error_message": "SSL error {error:0A000086:SSL routines::certificate verify failed}" });
        for (mode, info, mark, words) in [
            (Polling, json!({ "url": "", "pending_update_count": 0 }), Mark::Pass, "no webhook set"),
            (Polling, json!({ "url": ours, "pending_update_count": 3 }), Mark::Advice, "while telegram.mode"),
            (Webhook, json!({ "url": ours, "pending_update_count": 0 }), Mark::Pass, "webhook set to"),
            (Webhook, json!({ "url": "", "pending_update_count": 0 }), Mark::Advice, "the webhook is none"),
            (Webhook, json!({ "url": "https://old.example/hook" }), Mark::Advice, "not https://relink.example/"),
            (Webhook, failing, Mark::Fail, "could not deliver to the webhook at 2027-01-15 08:00 UTC: SSL error"),
        ] {
            let check = webhook(&telegram(mode), &info, public);
            assert_eq!(check.mark, mark, "{mode:?} {info}: {check:?}");
            assert!(check.title.contains(words), "{mode:?} {info}: {}", check.title);
        }
    }

    #[test]
    fn the_discord_application_must_be_the_configured_one() {
        let key = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";
        let app = json!({ "id": "42", "verify_key": key });
        for (config, mark, words) in [
            (discord(Some(42), Some(key)), Mark::Pass, "match"),
            (discord(Some(42), None), Mark::Pass, "match"),
            (discord(Some(7), Some(key)), Mark::Fail, "discord.application_id is 7, the token's application is 42"),
            (discord(None, Some(key)), Mark::Fail, "discord.application_id is not set (it is 42)"),
            (discord(Some(42), Some(&"ab".repeat(32))), Mark::Fail, "discord.public_key is not the application's"),
        ] {
            let check = application(&config, &app);
            assert_eq!(check.mark, mark, "{check:?}");
            assert!(check.title.contains(words), "{}", check.title);
        }
    }

    #[test]
    fn credentials_answers_are_read_by_what_each_proof_can_say() {
        let fix = "fix";
        let reply = |status: u16, body: Value| Reply {
            status: StatusCode::from_u16(status).expect("a status"),
            body,
            clock: None,
        };
        for (provider, status, body, mark) in [
            (Provider::Facebook, 200, json!({ "data": { "is_valid": false } }), Mark::Pass),
            (
                Provider::Facebook,
                400,
                json!({ "error": { "code": 190, "message": "Invalid OAuth access token" } }),
                Mark::Fail,
            ),
            (Provider::Facebook, 503, Value::Null, Mark::Advice),
            (Provider::Linkedin, 200, json!({ "active": false }), Mark::Pass),
            (Provider::Linkedin, 401, json!({ "error": "invalid_client" }), Mark::Fail),
            (Provider::Pinterest, 200, json!({ "access_token": "app-token", "token_type": "bearer" }), Mark::Pass),
            (Provider::Pinterest, 401, json!({ "code": 2, "message": "Authentication failed." }), Mark::Fail),
            (Provider::GenericOauth2, 400, json!({ "error": "invalid_client" }), Mark::Fail),
            (Provider::GenericOauth2, 400, json!({ "error": "unsupported_grant_type" }), Mark::Advice),
            (Provider::Pinterest, 403, json!({ "code": 403, "message": "not available" }), Mark::Advice),
            (Provider::Threads, 200, json!({ "access_token": "TH|1|x", "token_type": "bearer" }), Mark::Pass),
            (
                Provider::Threads,
                400,
                json!({ "error": { "message": "Error validating client secret.", "type": "OAuthException", "code": 1 } }),
                Mark::Fail,
            ),
            (Provider::Threads, 400, json!({ "error": "unsupported_grant_type" }), Mark::Advice),
        ] {
            let check = credentials_verdict(provider, &reply(status, body.clone()), fix);
            assert_eq!(check.mark, mark, "{provider} {status} {body}: {check:?}");
        }
    }

    #[test]
    fn the_clock_is_judged_by_the_median_answer_beyond_a_minute() {
        let now = Utc::now();
        let sample = |seconds: i64| Sample { theirs: now - chrono::TimeDelta::seconds(seconds), ours: now };
        assert_eq!(clock(&[]).mark, Mark::Advice);
        assert_eq!(clock(&[sample(0), sample(59)]).mark, Mark::Pass);
        assert_eq!(clock(&[sample(-61)]).mark, Mark::Fail);
        // One server with a wrong clock among good ones is not this machine's fault.
        assert_eq!(clock(&[sample(0), sample(7_200), sample(1)]).mark, Mark::Pass);
        let late = clock(&[sample(-7_200)]);
        assert!(late.title.contains("7200 s behind"), "{}", late.title);
        assert!(clock(&[sample(90)]).title.contains("90 s ahead of"));
    }
}
