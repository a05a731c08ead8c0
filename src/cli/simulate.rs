//! `relink simulate`: the provider simulator as a standalone server, for trying relink without
//! real networks, for the demo and for benchmarks that want it in a process of its own.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use relink_core::SystemClock;
use relink_simulator::{Hooks, SimConfig, Simulator};
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
    /// relink's public URL (its `web.public_url`): Meta's deauthorize and data deletion
    /// callbacks are sent to its `/hooks/facebook/…` as the switches fire.
    #[arg(long, value_name = "URL")]
    relink: Option<url::Url>,
    /// Push Google's security events (Cross-Account Protection) to this receiver, e.g.
    /// http://127.0.0.1:8080/hooks/google/risc; relink pointed at the simulator fetches its keys here.
    #[arg(long, value_name = "URL")]
    google_risc_hook: Option<url::Url>,
}

pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let config = SimConfig { token_seed: args.token_seed, ..SimConfig::default() };
    let sim = Simulator::with_config(config, Arc::new(SystemClock));
    let seeded = sim.seed(&args.accounts).map_err(|e| anyhow::anyhow!("--accounts: {e}"))?;
    if let Some(relink) = &args.relink {
        sim.set_hooks(Hooks::relink_at(relink));
    }
    if let Some(hook) = args.google_risc_hook {
        sim.set_google_risc_hook(Some(hook));
    }
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
    if seeded.accounts.iter().any(|a| a.provider == relink_core::Provider::Telegram) {
        // relink's own bot can use the simulator as its Bot API and hear `my_chat_member`.
        println!(
            "relink's Telegram bot finds the simulator's Bot API by itself: give it the Telegram accounts' \
             token (--print-tokens) as RELINK_TELEGRAM__TOKEN"
        );
    }
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
