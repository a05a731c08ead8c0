//! [`TestApp`]: relink built by `relink::app` — the wiring `relink serve` uses — over a
//! [`TestStore`] of either engine, the provider simulator (or any [`Providers`]) and the test
//! clock, with its web server on a loopback port chosen by the system. Tests get every part
//! (checker, alerts engine, deliverer, web state, tasks' health) and a client for the server.
//!
//! By default only the web server runs: no alerts engine is built and the checker's loop is off,
//! so a test drives the checker itself (often through an observed loop); [`TestAppBuilder::tune`]
//! asks for more (an engine with `alerts`, the loops with `checking` and `alerting`). Everything stops when the value is dropped.

use std::sync::Arc;
use std::time::Duration;

use relink::app::{App, Builder, Running as RunningApp};
use relink_core::alerts::Planner;
use relink_core::checker::{Checker, CheckerConfig};
use relink_core::provider::Providers;
use relink_core::supervise::Health as TaskHealth;
use relink_simulator::{CLIENT_ID, CLIENT_SECRET, Running, Simulator};
use relink_web::WebSettings;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::TestStore;

/// A change to the web settings, given the simulator.
type WebChange = Box<dyn FnOnce(&mut WebSettings, &Running) + Send>;

/// The chat front-ends' settings, given the app's public URL and the simulator.
type BotsFor = Box<dyn FnOnce(&Url, &Running) -> relink_bot::Settings + Send>;

/// How a [`TestApp`] is put together: which networks, which checker settings, how the web
/// settings and the runtime builder are tuned.
pub struct TestAppBuilder {
    db: TestStore,
    sim: Option<Running>,
    providers: Option<Providers>,
    checker: CheckerConfig,
    link_ttl: Duration,
    web: Option<WebChange>,
    bots: Option<BotsFor>,
    tune: Option<Box<dyn FnOnce(Builder) -> Builder + Send>>,
}

impl TestAppBuilder {
    /// The simulator to use (one is started on the test clock otherwise).
    pub fn simulator(mut self, sim: Running) -> Self {
        self.sim = Some(sim);
        self
    }

    /// The networks relink talks to (all of them at the simulator otherwise).
    pub fn providers(mut self, providers: Providers) -> Self {
        self.providers = Some(providers);
        self
    }

    pub fn checker(mut self, config: CheckerConfig) -> Self {
        self.checker = config;
        self
    }

    /// How long reconnect links live (a day otherwise).
    pub fn link_ttl(mut self, ttl: Duration) -> Self {
        self.link_ttl = ttl;
        self
    }

    /// Changes the web settings once the public URL (the loopback listener) is known.
    pub fn web(mut self, change: impl FnOnce(&mut WebSettings, &Running) + Send + 'static) -> Self {
        self.web = Some(Box::new(change));
        self
    }

    /// The chat front-ends to start (polling, or taking webhooks on the app's own server, whose
    /// URL the settings are given), as `relink serve` starts them: their tasks are supervised
    /// with the rest and stop with the app.
    pub fn bots(mut self, settings: impl FnOnce(&Url, &Running) -> relink_bot::Settings + Send + 'static) -> Self {
        self.bots = Some(Box::new(settings));
        self
    }

    /// Changes the runtime builder last (loops, alerts, notifiers, limits).
    pub fn tune(mut self, change: impl FnOnce(Builder) -> Builder + Send + 'static) -> Self {
        self.tune = Some(Box::new(change));
        self
    }

    /// Builds relink through `relink::app` and starts it.
    pub async fn spawn(self) -> TestApp {
        let db = self.db;
        let sim = match self.sim {
            Some(sim) => sim,
            None => Simulator::new(Arc::new(db.clock.clone())).spawn().await.expect("the simulator starts"),
        };
        let providers =
            self.providers.unwrap_or_else(|| Providers::all_at(sim.base_url(), CLIENT_ID, CLIENT_SECRET, 1_000.0));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let base = Url::parse(&format!("http://{}/", listener.local_addr().expect("an address"))).expect("a URL");
        let mut web = WebSettings::new(base.clone(), self.link_ttl);
        if let Some(change) = self.web {
            change(&mut web, &sim);
        }
        let shutdown = CancellationToken::new();
        let mut builder = App::builder(db.store.clone(), providers, Arc::new(db.clock.clone()))
            .shutdown(shutdown.clone())
            .listener(listener)
            .web(web)
            .checker(self.checker)
            .checking(false)
            .alerting(false)
            .alerts(None);
        if let Some(bots) = self.bots {
            builder = builder.bots(bots(&base, &sim));
        }
        if let Some(tune) = self.tune {
            builder = tune(builder);
        }
        let app = builder.build().expect("relink builds");
        let (checker, engine) = (app.checker.clone(), app.engine.clone());
        let (services, tasks, settings) = (app.services.clone(), app.health.clone(), app.web.clone());
        let running = app.spawn();
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("a client");
        TestApp { db, sim, base, http, checker, engine, services, tasks, settings, shutdown, running: Some(running) }
    }
}

/// relink running over a test store, with its parts.
pub struct TestApp {
    pub db: TestStore,
    pub sim: Running,
    /// The web server's public URL (`http://127.0.0.1:PORT/`).
    pub base: Url,
    /// A client that does not follow redirects.
    pub http: reqwest::Client,
    pub checker: Arc<Checker>,
    /// The alerts engine, when [`TestAppBuilder::tune`] asked for one (`Builder::alerts`).
    pub engine: Option<Arc<Planner>>,
    /// What the chat commands are given (`Builder::commands_check` says whether with the checker).
    pub services: relink_bot::Services,
    /// The supervised tasks' health, which `/readyz` reports.
    pub tasks: Arc<TaskHealth>,
    pub settings: WebSettings,
    pub shutdown: CancellationToken,
    running: Option<RunningApp>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestApp {
    /// How a test app over `db` is built; [`TestAppBuilder::spawn`] starts it.
    pub fn builder(db: TestStore) -> TestAppBuilder {
        TestAppBuilder {
            db,
            sim: None,
            providers: None,
            checker: CheckerConfig::default(),
            link_ttl: Duration::from_secs(24 * 3_600),
            web: None,
            bots: None,
            tune: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.base.join(path).expect("a path under the base URL").to_string()
    }

    /// Stops everything and waits for it, as `relink serve` does at shutdown: an error when the
    /// web server had failed.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        match self.running.take() {
            Some(running) => running.stop().await,
            None => Ok(()),
        }
    }
}
