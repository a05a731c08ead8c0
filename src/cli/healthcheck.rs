//! `relink healthcheck`: asks the local web server's `/healthz`, for a container's
//! `HEALTHCHECK` where the runtime image has no curl. Exit 0 when it answers 200, else 1.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::config::Config;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let bind = config.web.bind;
    // A server listening on every address is asked on loopback.
    let ip = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let url = format!("http://{}/healthz", SocketAddr::new(ip, bind.port()));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(3)).build()?;
    let response = http.get(&url).send().await.with_context(|| format!("{url} did not answer"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    println!("{url}: ok");
    Ok(())
}
