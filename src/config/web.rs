//! `[web]`: where the web server listens, the public URL links are built from, how long a
//! reconnect link works, the server's limits and access to `/metrics`.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::report::{Description, Report, duration_within, quoted_span, socket_addr};

/// The bounds of `web.link_ttl`: long enough to read a message, short enough to stay a secret.
const MIN_LINK_TTL: Duration = Duration::from_secs(5 * 60);
const MAX_LINK_TTL: Duration = Duration::from_secs(30 * 86_400);
/// The bounds of `web.header_timeout` and `web.request_timeout`, and of `web.max_connections`.
const MIN_WEB_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_HEADER_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const MAX_CONNECTIONS: usize = 100_000;
/// The shortest `web.metrics_token`: a bearer token is a password.
const MIN_METRICS_TOKEN: usize = 16;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawWeb {
    bind: Option<String>,
    public_url: Option<String>,
    link_ttl: Option<String>,
    header_timeout: Option<String>,
    request_timeout: Option<String>,
    max_connections: Option<i64>,
    metrics_token: Option<SecretString>,
    metrics_bind: Option<String>,
}

#[derive(Debug, Clone)]
pub struct WebConfig {
    pub bind: SocketAddr,
    /// The address people reach relink at: reconnect links and OAuth redirects are built from it.
    pub public_url: String,
    /// How long a reconnect link works.
    pub link_ttl: Duration,
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

pub(super) fn resolve(raw: RawWeb, report: &mut Report<'_>) -> WebConfig {
    let bind_text = raw.bind.unwrap_or_else(|| "127.0.0.1:8080".into());
    let bind = socket_addr(&bind_text).unwrap_or_else(|| {
        report.problem("web.bind", format!("`{bind_text}` is not an address and port such as 127.0.0.1:8080"));
        SocketAddr::from(([127, 0, 0, 1], 8080))
    });
    let public_url = match raw.public_url {
        Some(url) => {
            let url = url.trim().trim_end_matches('/').to_owned();
            let parsed = url::Url::parse(&url).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
            if parsed.is_none_or(|u| u.query().is_some() || u.fragment().is_some() || u.host().is_none()) {
                report.problem("web.public_url", format!("`{url}` is not an http(s) URL without query or fragment"));
                "http://127.0.0.1:8080".into()
            } else {
                url
            }
        }
        None => format!("http://{bind}"),
    };
    let link_ttl = match raw.link_ttl.as_deref().map(str::trim) {
        None => relink_core::reconnect::DEFAULT_LINK_TTL,
        Some(text) => duration_within(text, MIN_LINK_TTL..=MAX_LINK_TTL).unwrap_or_else(|| {
            report.problem("web.link_ttl", format!("`{text}` is not a duration between 5m and 30d (e.g. 24h)"));
            relink_core::reconnect::DEFAULT_LINK_TTL
        }),
    };
    let defaults = relink_web::ServerLimits::default();
    let mut timeout = |key: &str, raw: Option<String>, default, max: Duration| match raw.as_deref().map(str::trim) {
        None => default,
        Some(text) => duration_within(text, MIN_WEB_TIMEOUT..=max).unwrap_or_else(|| {
            let max = humantime::format_duration(max);
            report.problem(key, format!("`{text}` is not a duration between 1s and {max} (e.g. 10s)"));
            default
        }),
    };
    let header_timeout = timeout("web.header_timeout", raw.header_timeout, defaults.header_timeout, MAX_HEADER_TIMEOUT);
    let request_timeout =
        timeout("web.request_timeout", raw.request_timeout, defaults.request_timeout, MAX_REQUEST_TIMEOUT);
    let max_connections = match raw.max_connections {
        None => defaults.max_connections,
        Some(n) => match usize::try_from(n) {
            Ok(n) if (1..=MAX_CONNECTIONS).contains(&n) => n,
            _ => {
                report.problem("web.max_connections", format!("`{n}` is not a number from 1 to {MAX_CONNECTIONS}"));
                defaults.max_connections
            }
        },
    };
    let limits = relink_web::ServerLimits { header_timeout, request_timeout, max_connections };
    let metrics_token = raw.metrics_token.filter(|t| !t.expose_secret().trim().is_empty());
    if let Some(token) = &metrics_token {
        let token = token.expose_secret();
        if token.trim().chars().count() < MIN_METRICS_TOKEN || token.trim() != token || !token.is_ascii() {
            report.problem(
                "web.metrics_token",
                format!("must be at least {MIN_METRICS_TOKEN} ASCII characters without surrounding spaces"),
            );
        }
    }
    let metrics_bind = raw.metrics_bind.map(|text| {
        socket_addr(&text).unwrap_or_else(|| {
            report.problem("web.metrics_bind", format!("`{text}` is not an address and port such as 127.0.0.1:9090"));
            SocketAddr::from(([127, 0, 0, 1], 9090))
        })
    });
    if metrics_bind.is_some_and(|metrics| metrics == bind) {
        report.problem("web.metrics_bind", "must differ from web.bind".into());
    }
    WebConfig { bind, public_url, link_ttl, limits, metrics_token, metrics_bind }
}

pub(super) fn describe(web: &WebConfig, out: &mut Description<'_>) {
    out.line("web.bind", format!("{:?}", web.bind.to_string()));
    out.line("web.public_url", format!("{:?}", web.public_url));
    out.line("web.link_ttl", quoted_span(web.link_ttl));
    let limits = &web.limits;
    out.line("web.header_timeout", quoted_span(limits.header_timeout));
    out.line("web.request_timeout", quoted_span(limits.request_timeout));
    out.line("web.max_connections", limits.max_connections.to_string());
    out.line("web.metrics_token", web.metrics_token.as_ref().map_or("(not set)".into(), |_| "[REDACTED]".into()));
    out.line(
        "web.metrics_bind",
        web.metrics_bind.map_or("(not set: /metrics is on web.bind)".into(), |a| format!("{:?}", a.to_string())),
    );
}
