//! `relink serve`: opens the store, binds the web server (reconnect pages, OAuth callback, API,
//! metrics), starts the checker, the alerts engine and delivery workers, the purge of expired
//! links and the chat front-ends, and waits for Ctrl-C or SIGTERM to stop them all cleanly.
//!
//! The parts are built and run by [`crate::app`] (the same wiring the demo, the benchmarks and
//! the integration tests use); this file binds the listeners and handles the signals.
//!
//! Every background task runs under `relink_core::supervise`: one that panics or ends early is
//! logged, counted, shown on `/readyz` and restarted with backoff. The web server is not: its
//! listener cannot be taken back from a task that died, so its end before shutdown stops
//! `relink serve` with an error at once (a service manager restarts the whole process, and
//! `/readyz` cannot answer anyway while nothing listens).

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Config;

pub use crate::app::{checker_config, delivery_config, discord_settings};

pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Listening for signals starts before anything else, so a Ctrl-C or SIGTERM sent as soon as
    // relink says it is up is never missed.
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    relink_web::install_recorder();
    let store = crate::open::store(&config).await?;
    tracing::info!(database = %config.database_url_for_display(), "store open");

    let listener = TcpListener::bind(config.web.bind)
        .await
        .with_context(|| format!("cannot listen on {} (web.bind)", config.web.bind))?;
    let address = listener.local_addr()?;
    tracing::info!("web server listening on http://{address} (public URL {})", config.web.public_url);
    let metrics_listener = match config.web.metrics_bind {
        Some(bind) => {
            let listener =
                TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind} (web.metrics_bind)"))?;
            tracing::info!("metrics listening on http://{}/metrics", listener.local_addr()?);
            Some(listener)
        }
        None => None,
    };
    let app = crate::app::Builder::from_config(store, &config)
        .shutdown(shutdown)
        .listener(listener)
        .metrics_listener(metrics_listener)
        .build()?;
    App::run_until_stopped(app).await?;
    tracing::info!("relink stopped");
    Ok(())
}

/// Cancels `shutdown` on Ctrl-C (SIGINT) or SIGTERM. The listeners are registered when this is
/// called, not when the returned future is first polled: a signal that arrives before the task
/// runs is still seen.
fn stop_on_signal(shutdown: CancellationToken) -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &'static str| {
            signal(kind).map_err(|error| tracing::warn!(%error, "cannot listen for {name}")).ok()
        };
        (listen(SignalKind::interrupt(), "Ctrl-C"), listen(SignalKind::terminate(), "SIGTERM"))
    };
    async move {
        #[cfg(unix)]
        let (ctrl_c, terminate) = (received(interrupt), received(terminate));
        #[cfg(not(unix))]
        let (ctrl_c, terminate) = (
            async {
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            },
            std::future::pending::<()>(),
        );
        tokio::select! {
            () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
            () = terminate => tracing::info!("SIGTERM received, shutting down"),
            () = shutdown.cancelled() => {}
        }
        shutdown.cancel();
    }
}

/// Waits for the first delivery of a signal; forever when it could not be listened for.
#[cfg(unix)]
async fn received(signal: Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(mut signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}
