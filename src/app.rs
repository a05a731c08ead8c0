//! The one way relink's running parts are put together. [`Builder`] takes a store, the network
//! adapters, a clock and the options (from a resolved [`Config`] with [`Builder::from_config`],
//! or piece by piece), and [`Builder::build`] makes the checker (ringing the alerts engine on
//! every transition), the alerts engine, the deliverer with its notifiers and link minter, the
//! chat front-ends and the web state and routers. The [`App`] it returns shows every part (tests
//! and benchmarks use them) and [`App::spawn`] runs the web server and the background loops
//! under `relink_core::supervise`, the way `relink serve` always has.
//!
//! `relink serve`, `relink demo`, the benchmarks and the integration tests all build through
//! here, so the tests exercise the same wiring as production.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use relink_core::alerts::{
    AlertsConfig, Deliverer, DeliveryConfig, LinkMinter, Notifier, Notifiers, Planner, run_alerts,
};
use relink_core::checker::{Checker, CheckerConfig, Wake, run_checker};
use relink_core::provider::Providers;
use relink_core::reconnect::StoreLinks;
use relink_core::store::Store;
use relink_core::supervise::{self, Backoff, Health, Task};
use relink_core::{Clock, SystemClock};
use relink_web::{AppState, ServerLimits, WebSettings};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// What to build: the parts from outside and the options. Every option has the default
/// `relink serve` would use with an empty configuration, except that nothing is listened on
/// until a listener is given.
#[derive(Debug)]
pub struct Builder {
    store: Store,
    providers: Providers,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    listener: Option<TcpListener>,
    metrics_listener: Option<TcpListener>,
    web: Option<WebSettings>,
    limits: ServerLimits,
    checker: CheckerConfig,
    checking: bool,
    alerts: Option<AlertsConfig>,
    alerting: bool,
    delivery: DeliveryConfig,
    notifiers: Vec<Arc<dyn Notifier>>,
    links: Option<Arc<dyn LinkMinter>>,
    bots: Option<relink_bot::Settings>,
    commands_check: bool,
    purge: bool,
}

impl Builder {
    /// The parts relink cannot make itself: a store, the networks, a clock.
    pub fn new(store: Store, providers: Providers, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            providers,
            clock,
            shutdown: CancellationToken::new(),
            listener: None,
            metrics_listener: None,
            web: None,
            limits: ServerLimits::default(),
            checker: CheckerConfig::default(),
            checking: true,
            alerts: Some(AlertsConfig::default()),
            alerting: true,
            delivery: DeliveryConfig::default(),
            notifiers: Vec::new(),
            links: None,
            bots: None,
            commands_check: true,
            purge: false,
        }
    }

    /// Everything `relink serve` builds from its configuration, on the system clock: the web
    /// settings, limits and metrics token, the checker's and the alerts' settings and switches,
    /// the chat front-ends, and the hourly purge of expired links.
    pub fn from_config(store: Store, config: &Config) -> Self {
        let mut web = WebSettings::new(config.web.link_settings().public_url, config.web.link_ttl);
        web.metrics_token = config.web.metrics_token.clone();
        web.metrics_on_main = config.web.metrics_bind.is_none();
        web.risc = config.google_risc.clone();
        Self::new(store, config.providers.clone(), Arc::new(SystemClock))
            .web(web)
            .limits(config.web.limits)
            .checker(checker_config(config))
            .checking(config.checker.enabled)
            .alerts(config.alerts.enabled.then(|| config.alerts.engine.clone()))
            .delivery(delivery_config(config))
            .bots(bot_settings(config))
            .purge(true)
    }

    /// The token that stops everything [`App::spawn`] starts (and the chat front-ends' tasks).
    pub fn shutdown(mut self, shutdown: CancellationToken) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Where the web server listens; without one, [`App::spawn`] runs no web server.
    pub fn listener(mut self, listener: TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// A listener of its own for `/metrics` (and `/healthz`); the web settings'
    /// `metrics_on_main` says whether the main one serves `/metrics` too.
    pub fn metrics_listener(mut self, listener: Option<TcpListener>) -> Self {
        self.metrics_listener = listener;
        self
    }

    /// The web server's settings. Without them the links point at the listener's address
    /// (`http://127.0.0.1:PORT/`) and live a day.
    pub fn web(mut self, web: WebSettings) -> Self {
        self.web = Some(web);
        self
    }

    pub fn limits(mut self, limits: ServerLimits) -> Self {
        self.limits = limits;
        self
    }

    pub fn checker(mut self, config: CheckerConfig) -> Self {
        self.checker = config;
        self
    }

    /// Whether [`App::spawn`] runs the checker's loop (the checker is built either way: the web
    /// server and the chat commands renew through it).
    pub fn checking(mut self, enabled: bool) -> Self {
        self.checking = enabled;
        self
    }

    /// The alerts engine's settings; `None` builds neither engine nor deliverer.
    pub fn alerts(mut self, config: Option<AlertsConfig>) -> Self {
        self.alerts = config;
        self
    }

    /// Whether [`App::spawn`] runs the alerts engine and the delivery workers (when they are
    /// built: see [`Builder::alerts`]); a test may run passes itself instead.
    pub fn alerting(mut self, enabled: bool) -> Self {
        self.alerting = enabled;
        self
    }

    pub fn delivery(mut self, config: DeliveryConfig) -> Self {
        self.delivery = config;
        self
    }

    /// A notifier for the deliverer, beside those of the chat front-ends.
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifiers.push(notifier);
        self
    }

    /// What mints the reconnect links in alerts (single-use links stored with the web
    /// settings' public URL and lifetime otherwise); `NoLinks` sends the reader to `/reconnect`.
    pub fn links(mut self, links: Arc<dyn LinkMinter>) -> Self {
        self.links = Some(links);
        self
    }

    /// Whether the chat commands renew and check through the checker (`/refresh`, `/check`);
    /// without it they answer that checking is not available here.
    pub fn commands_check(mut self, enabled: bool) -> Self {
        self.commands_check = enabled;
        self
    }

    /// The chat front-ends to start.
    pub fn bots(mut self, settings: relink_bot::Settings) -> Self {
        self.bots = Some(settings);
        self
    }

    /// Whether [`App::spawn`] deletes expired links, OAuth requests and handled Telegram
    /// updates once an hour.
    pub fn purge(mut self, enabled: bool) -> Self {
        self.purge = enabled;
        self
    }

    /// Builds every part; starts nothing but the chat front-ends' clients (which make no
    /// request until their tasks run).
    pub fn build(self) -> anyhow::Result<App> {
        let address = match &self.listener {
            Some(listener) => Some(listener.local_addr().context("the web listener has no address")?),
            None => None,
        };
        let web = match (self.web, address) {
            (Some(web), _) => web,
            (None, Some(address)) => WebSettings::new(
                url::Url::parse(&format!("http://{address}/")).context("the listener's address is not a URL")?,
                std::time::Duration::from_secs(24 * 3_600),
            ),
            (None, None) => anyhow::bail!("web settings or a listener are needed to make reconnect links"),
        };
        // The checker rings the alerts engine when it writes a transition, so a disconnection is
        // planned as soon as its grouping wait allows, not at the engine's next look.
        let transitions = Wake::default();
        let checker = Arc::new(
            Checker::new(self.store.clone(), self.providers, self.checker).ringing_on_transitions(transitions.clone()),
        );
        let health = Health::new();
        let state = AppState::new(self.store.clone(), checker.clone(), web.clone(), self.clock.clone())
            .with_tasks(health.clone());
        let services = relink_bot::Services {
            store: self.store.clone(),
            links: web.links.clone(),
            checker: self.commands_check.then(|| checker.clone()),
            clock: self.clock.clone(),
        };
        let bots = match self.bots {
            Some(settings) => relink_bot::start(settings, services.clone(), self.shutdown.clone())?,
            None => relink_bot::Started::default(),
        };
        let all_notifiers: Vec<Arc<dyn Notifier>> = self.notifiers.iter().chain(&bots.notifiers).cloned().collect();
        let alerts = self.alerts.map(|config| {
            let engine = Arc::new(Planner::new(self.store.clone(), config).woken_by(transitions.clone()));
            // A destination whose platform has no notifier gets the alert in the log.
            let mut notifiers = Notifiers::new();
            for notifier in &all_notifiers {
                notifiers.register(notifier.clone());
            }
            if self.notifiers.is_empty() && bots.notifiers.is_empty() {
                tracing::info!("no chat platform is configured: alerts are written to the log");
            }
            let links = self
                .links
                .clone()
                .unwrap_or_else(|| Arc::new(StoreLinks { store: self.store.clone(), settings: web.links.clone() }));
            let deliverer = Arc::new(Deliverer::new(self.store.clone(), notifiers, links, self.delivery));
            (engine, deliverer)
        });
        let mut router = relink_web::router(state.clone());
        if let Some(routes) = bots.routes {
            router = router.merge(routes);
        }
        Ok(App {
            store: self.store,
            clock: self.clock,
            checker,
            transitions,
            engine: alerts.as_ref().map(|(engine, _)| engine.clone()),
            deliverer: alerts.map(|(_, deliverer)| deliverer),
            state,
            services,
            notifiers: all_notifiers,
            health,
            address,
            web,
            shutdown: self.shutdown,
            router,
            listener: self.listener,
            metrics_listener: self.metrics_listener,
            limits: self.limits,
            checking: self.checking,
            alerting: self.alerting,
            purge: self.purge,
            bot_tasks: bots.tasks,
        })
    }
}

/// relink's parts, built and not yet running.
pub struct App {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub checker: Arc<Checker>,
    /// Rung by the checker on every transition it writes; wakes the alerts engine.
    pub transitions: Wake,
    /// `None` when alerts are disabled.
    pub engine: Option<Arc<Planner>>,
    /// `None` when alerts are disabled.
    pub deliverer: Option<Arc<Deliverer>>,
    pub state: AppState,
    /// What the chat commands are given (the chat front-ends get the same).
    pub services: relink_bot::Services,
    /// The notifiers alerts are delivered through: those given, then the chat front-ends'.
    pub notifiers: Vec<Arc<dyn Notifier>>,
    /// The supervised tasks' health, which `/readyz` reads.
    pub health: Arc<Health>,
    /// Where the web server listens, when it was given a listener.
    pub address: Option<SocketAddr>,
    pub web: WebSettings,
    pub shutdown: CancellationToken,
    /// The web server's routes (relink's and the chat front-ends').
    pub router: axum::Router,
    listener: Option<TcpListener>,
    metrics_listener: Option<TcpListener>,
    limits: ServerLimits,
    checking: bool,
    alerting: bool,
    purge: bool,
    bot_tasks: Vec<Task>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("address", &self.address).field("checking", &self.checking).finish_non_exhaustive()
    }
}

impl App {
    pub fn builder(store: Store, providers: Providers, clock: Arc<dyn Clock>) -> Builder {
        Builder::new(store, providers, clock)
    }

    /// The notifier for a chat platform, when one was given or its front-end is configured.
    pub fn notifier(&self, platform: relink_core::ChatPlatform) -> Option<Arc<dyn Notifier>> {
        self.notifiers.iter().find(|notifier| notifier.platform() == platform).cloned()
    }

    /// Starts the web server (and the metrics server) and the supervised loops: the purge,
    /// the checker, the alerts engine with its delivery workers, the chat front-ends' tasks.
    pub fn spawn(self) -> Running {
        let shutdown = self.shutdown.clone();
        let metrics = self.metrics_listener.map(|listener| {
            let router = relink_web::metrics_router(self.state.clone());
            tokio::spawn(relink_web::serve_with(listener, router, self.limits, shutdown.clone()))
        });
        let web = self
            .listener
            .map(|listener| tokio::spawn(relink_web::serve_with(listener, self.router, self.limits, shutdown.clone())));
        let clock = self.clock;
        let mut tasks = Vec::new();
        if self.purge {
            let (store, stop) = (self.store.clone(), shutdown.clone());
            tasks.push(Task::service("purge", move || purge_expired(store.clone(), stop.clone())));
        }
        if self.checking {
            let (checker, clock, stop) = (self.checker.clone(), clock.clone(), shutdown.clone());
            tasks.push(Task::service("checker", move || run_checker(checker.clone(), clock.clone(), stop.clone())));
        } else {
            tracing::warn!("the checker is disabled (checker.enabled = false): tokens are not being checked");
        }
        match (self.engine, self.deliverer) {
            (Some(engine), Some(deliverer)) if self.alerting => {
                let stop = shutdown.clone();
                tasks.push(Task::service("alerts", move || {
                    run_alerts(engine.clone(), deliverer.clone(), clock.clone(), stop.clone())
                }));
            }
            (Some(_), Some(_)) => {}
            _ => tracing::warn!(
                "alerts are disabled (alerts.enabled = false): nobody is told about disconnected channels"
            ),
        }
        tasks.extend(self.bot_tasks);
        let supervisors = tasks
            .into_iter()
            .map(|task| supervise::spawn(task, self.health.clone(), shutdown.clone(), Backoff::default()))
            .collect();
        Running { store: self.store, shutdown, web, metrics, supervisors }
    }

    /// [`App::spawn`], then waits until it stops (see [`Running::stopped`]).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.spawn().stopped().await
    }
}

/// relink running: the web server, the metrics server and the supervised loops.
#[derive(Debug)]
pub struct Running {
    store: Store,
    shutdown: CancellationToken,
    web: Option<JoinHandle<std::io::Result<()>>>,
    metrics: Option<JoinHandle<std::io::Result<()>>>,
    supervisors: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops everything at once and waits for it (what a test does at its end).
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.stopped().await
    }

    /// Waits for the shutdown token, or for the web server to end on its own, which stops
    /// everything (its listener cannot be taken back from a task that died: a service manager
    /// restarts the whole process). Then waits for every loop to finish and closes the store.
    /// An error when the web server failed or stopped unexpectedly.
    pub async fn stopped(self) -> anyhow::Result<()> {
        let Running { store, shutdown, web, metrics, supervisors } = self;
        // The web server ends at shutdown, or on its own when it fails: then everything stops.
        let web_result = match web {
            Some(web) => Some(web.await),
            None => {
                shutdown.cancelled().await;
                None
            }
        };
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
        if let Some(result) = web_result {
            result.context("the web server task panicked")?.context("the web server failed")?;
        }
        if let Some(result) = metrics_result {
            result.context("the metrics server task panicked")?.context("the metrics server failed")?;
        }
        if unexpected {
            anyhow::bail!("the web server stopped unexpectedly");
        }
        Ok(())
    }
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

/// The chat front-ends' settings from the configuration.
pub fn bot_settings(config: &Config) -> relink_bot::Settings {
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

/// The checker `relink serve` would run, alone: what a one-off command (`relink channel check`,
/// `relink channel refresh`) checks or renews a channel with, under the same settings and lease
/// rules as the service.
pub fn checker(store: Store, config: &Config) -> Checker {
    Checker::new(store, config.providers.clone(), checker_config(config))
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
