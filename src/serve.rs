//! `relink serve`: opens the store, binds the web server (reconnect pages, OAuth callback, API,
//! metrics), starts the checker, the alerts engine and delivery workers, the purge of expired
//! links and the chat front-ends, and waits for Ctrl-C or SIGTERM to stop them all cleanly.
//!
//! Every background task runs under `relink_core::supervise`: one that panics or ends early is
//! logged, counted, shown on `/readyz` and restarted with backoff. The web server is not: its
//! listener cannot be taken back from a task that died, so its end before shutdown stops
//! `relink serve` with an error at once (a service manager restarts the whole process, and
//! `/readyz` cannot answer anyway while nothing listens).

use anyhow::Context as _;
use std::sync::Arc;

use relink_core::SystemClock;
use relink_core::alerts::{Deliverer, DeliveryConfig, Notifiers, Planner, run_alerts};
use relink_core::checker::{Checker, CheckerConfig, run_checker};
use relink_core::reconnect::StoreLinks;
use relink_core::store::Store;
use relink_core::supervise::{self, Backoff, Health, Task};
use relink_web::WebSettings;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

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

    // The checker rings the alerts engine when it writes a transition, so a disconnection is
    // planned as soon as its grouping wait allows, not at the engine's next look.
    let transitions = relink_core::checker::Wake::default();
    let checker = Arc::new(
        Checker::new(store.clone(), config.providers.clone(), checker_config(&config))
            .ringing_on_transitions(transitions.clone()),
    );
    let mut settings = WebSettings::new(config.web.link_settings().public_url, config.web.link_ttl);
    settings.metrics_token = config.web.metrics_token.clone();
    settings.metrics_on_main = config.web.metrics_bind.is_none();
    settings.risc = config.google_risc.clone();
    let metrics_listener = match config.web.metrics_bind {
        Some(bind) => {
            let listener =
                TcpListener::bind(bind).await.with_context(|| format!("cannot listen on {bind} (web.metrics_bind)"))?;
            tracing::info!("metrics listening on http://{}/metrics", listener.local_addr()?);
            Some(listener)
        }
        None => None,
    };
    let health = Health::new();
    let state = relink_web::AppState::new(store.clone(), checker.clone(), settings, Arc::new(SystemClock))
        .with_tasks(health.clone());
    let services = relink_bot::Services {
        store: store.clone(),
        links: config.web.link_settings(),
        checker: Some(checker.clone()),
        clock: Arc::new(SystemClock),
    };
    let bots = relink_bot::start(bot_settings(&config), services, shutdown.clone()).map_err(anyhow::Error::msg)?;
    let metrics = metrics_listener.map(|listener| {
        let router = relink_web::metrics_router(state.clone());
        tokio::spawn(relink_web::serve_with(listener, router, config.web.limits, shutdown.clone()))
    });
    let mut router = relink_web::router(state);
    if let Some(routes) = bots.routes {
        router = router.merge(routes);
    }
    let web = tokio::spawn(relink_web::serve_with(listener, router, config.web.limits, shutdown.clone()));
    let mut tasks = Vec::new();
    let (purge_store, purge_stop) = (store.clone(), shutdown.clone());
    tasks.push(Task::service("purge", move || purge_expired(purge_store.clone(), purge_stop.clone())));
    if config.checker.enabled {
        let stop = shutdown.clone();
        tasks.push(Task::service("checker", move || run_checker(checker.clone(), SystemClock, stop.clone())));
    } else {
        tracing::warn!("the checker is disabled (checker.enabled = false): tokens are not being checked");
    }
    if config.alerts.enabled {
        let engine = Arc::new(Planner::new(store.clone(), config.alerts.engine.clone()).woken_by(transitions));
        // A destination whose platform has no notifier gets the alert in the log.
        let mut notifiers = Notifiers::new();
        for notifier in &bots.notifiers {
            notifiers.register(notifier.clone());
        }
        if bots.notifiers.is_empty() {
            tracing::info!("no chat platform is configured: alerts are written to the log");
        }
        let links = StoreLinks { store: store.clone(), settings: config.web.link_settings() };
        let deliverer = Arc::new(Deliverer::new(store.clone(), notifiers, Arc::new(links), delivery_config(&config)));
        let stop = shutdown.clone();
        tasks.push(Task::service("alerts", move || {
            run_alerts(engine.clone(), deliverer.clone(), SystemClock, stop.clone())
        }));
    } else {
        tracing::warn!("alerts are disabled (alerts.enabled = false): nobody is told about disconnected channels");
    }
    tasks.extend(bots.tasks);
    let supervisors: Vec<_> = tasks
        .into_iter()
        .map(|task| supervise::spawn(task, health.clone(), shutdown.clone(), Backoff::default()))
        .collect();

    // The web server ends at shutdown, or on its own when it fails: then everything stops.
    let web_result = web.await;
    let unexpected = !shutdown.is_cancelled();
    if unexpected {
        tracing::error!("the web server stopped unexpectedly; stopping relink");
    }
    shutdown.cancel();
    for supervisor in supervisors {
        if let Err(error) = supervisor.await {
            tracing::error!(%error, "a task supervisor failed");
        }
    }
    let metrics_result = match metrics {
        Some(metrics) => Some(metrics.await),
        None => None,
    };
    store.db().close().await;
    web_result.context("the web server task panicked")?.context("the web server failed")?;
    if let Some(result) = metrics_result {
        result.context("the metrics server task panicked")?.context("the metrics server failed")?;
    }
    if unexpected {
        anyhow::bail!("the web server stopped unexpectedly");
    }
    tracing::info!("relink stopped");
    Ok(())
}

/// Expired reconnect links and OAuth requests are kept a week (so an old link still says
/// "expired" rather than "unknown"), then deleted, once an hour.
async fn purge_expired(store: Store, shutdown: CancellationToken) {
    const KEEP: chrono::Duration = chrono::Duration::days(7);
    loop {
        match store.purge_expired_flows(chrono::Utc::now() - KEEP).await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "expired reconnect links and OAuth requests deleted"),
            Err(error) => tracing::warn!(%error, "cannot delete expired reconnect links"),
        }
        // Telegram never resends an update older than a day: a week of handled ids still
        // drops every replay.
        match store.purge_telegram_updates(chrono::Utc::now() - KEEP).await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "handled Telegram updates deleted"),
            Err(error) => tracing::warn!(%error, "cannot delete handled Telegram updates"),
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(3_600)) => {}
            () = shutdown.cancelled() => return,
        }
    }
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

/// The chat front-ends' settings from the configuration.
fn bot_settings(config: &Config) -> relink_bot::Settings {
    relink_bot::Settings {
        discord: config.discord.as_ref().map(discord_settings),
        telegram: config.telegram.as_ref().map(|t| relink_bot::telegram::Settings {
            token: t.token.clone(),
            api_url: t.api_url.clone(),
            mode: t.mode,
            webhook_secret: t.webhook_secret.clone(),
            public_url: config.web.link_settings().public_url,
            caps: t.caps,
            poll_timeout: std::time::Duration::from_secs(25),
        }),
    }
}

/// The checker's settings from the configuration.
pub fn checker_config(config: &Config) -> CheckerConfig {
    let mut checker = CheckerConfig {
        batch: config.checker.batch,
        concurrency: config.checker.concurrency,
        ..CheckerConfig::default()
    };
    checker.rules.cadence.calm = config.checker.every;
    checker
}

/// The Discord front-end's settings from the configuration.
pub fn discord_settings(config: &crate::config::DiscordConfig) -> relink_bot::discord::DiscordSettings {
    relink_bot::discord::DiscordSettings {
        application_id: config.application_id,
        public_key: config.public_key.clone(),
        mode: config.mode,
        guild_id: config.guild_id,
        api_url: config.api_url.clone(),
        ..relink_bot::discord::DiscordSettings::new(config.token.clone())
    }
}

/// The delivery workers' settings from the configuration.
pub fn delivery_config(config: &Config) -> DeliveryConfig {
    DeliveryConfig {
        max_attempts: config.alerts.max_attempts,
        operators: config.alerts.engine.operators,
        ..DeliveryConfig::default()
    }
}
