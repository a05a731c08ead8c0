//! `relink simulate`: the provider simulator as a standalone server, for trying relink without
//! real networks, for the demo and for benchmarks that want it in a process of its own.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use relink_core::SystemClock;
use relink_simulator::{SimConfig, Simulator};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on (loopback by default; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:9090")]
    listen: String,
    /// Accounts to create, e.g. "facebook:page-1@alice x:brand pinterest*1000".
    #[arg(long, value_name = "SPEC", default_value = "")]
    accounts: String,
    /// Issue the same tokens on every start (a number), so a database seeded earlier keeps working.
    #[arg(long, value_name = "N")]
    token_seed: Option<u64>,
    /// Print the issued tokens of named accounts as JSON lines (tokens of a simulator, not of a network).
    #[arg(long)]
    print_tokens: bool,
    /// Push Google's security events (Cross-Account Protection) to this receiver, e.g.
    /// http://127.0.0.1:8080/hooks/google/risc; relink pointed at the simulator fetches its keys here.
    #[arg(long, value_name = "URL")]
    google_risc_hook: Option<url::Url>,
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let config = SimConfig { token_seed: args.token_seed, ..SimConfig::default() };
    let sim = Simulator::with_config(config, Arc::new(SystemClock));
    let seeded = sim.seed(&args.accounts).map_err(|e| anyhow::anyhow!("--accounts: {e}"))?;
    sim.set_google_risc_hook(args.google_risc_hook);
    let listener =
        TcpListener::bind(&args.listen).await.with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    // The first line is machine-readable: tools wait for it to learn the address.
    println!("simulator listening on http://{address}/");
    println!(
        "point relink at it with RELINK_PROVIDERS__SIMULATOR=http://{address}/ ({} named and {} bulk accounts)",
        seeded.accounts.len(),
        seeded.bulks.iter().map(|b| u64::from(b.count)).sum::<u64>()
    );
    if args.print_tokens {
        for account in &seeded.accounts {
            println!("{}", serde_json::to_string(account)?);
        }
    }
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    #[cfg(unix)]
    {
        let stop = shutdown.clone();
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::spawn(async move {
            terminate.recv().await;
            stop.cancel();
        });
    }
    relink_simulator::serve(listener, sim, shutdown).await?;
    Ok(())
}
