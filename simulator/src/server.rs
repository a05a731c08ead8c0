//! Running the simulator: [`router`] builds the axum app, [`serve`] runs it on a listener until
//! a shutdown token fires, and [`Running`] is a simulator serving on loopback in the background
//! (what tests, benchmarks and the demo hold).

use std::io;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::serve::ListenerExt as _;
use relink_core::{Clock, Provider};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::control;
use crate::gateway::gateway;
use crate::http::App;
use crate::sim::Simulator;

/// The routes: the control API under `/_sim/`, every provider under `/{provider}/`. Requests
/// held by a `Timeout` fault are released only when their client goes away.
pub fn router(sim: Simulator) -> Router {
    router_with(sim, CancellationToken::new())
}

fn router_with(sim: Simulator, stopping: CancellationToken) -> Router {
    control::routes().fallback(gateway).with_state(App { sim, stopping })
}

/// Serves the simulator on `listener` until `shutdown` is cancelled; held requests are then
/// answered at once and in-flight ones finish.
pub async fn serve(listener: TcpListener, sim: Simulator, shutdown: CancellationToken) -> io::Result<()> {
    let app = router_with(sim, shutdown.clone());
    // Small answers on kept-alive connections: without NODELAY, Nagle and delayed ACKs can add
    // 40 ms to a request.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}

/// A simulator serving in the background. Dereferences to the [`Simulator`], so switches and
/// counters are one call away; dropping it stops the server.
#[derive(Debug)]
pub struct Running {
    sim: Simulator,
    addr: SocketAddr,
    base_url: Url,
    shutdown: CancellationToken,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Simulator {
    /// A simulator with the default configuration, serving on `127.0.0.1:0`.
    pub async fn start(clock: Arc<dyn Clock>) -> io::Result<Running> {
        Simulator::new(clock).spawn().await
    }

    /// Serves this simulator on `127.0.0.1:0` in the background.
    pub async fn spawn(self) -> io::Result<Running> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        self.spawn_on(listener)
    }

    /// Serves this simulator on `listener` in the background.
    pub fn spawn_on(self, listener: TcpListener) -> io::Result<Running> {
        let addr = listener.local_addr()?;
        let base_url = Url::parse(&format!("http://{addr}/")).map_err(io::Error::other)?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(listener, self.clone(), shutdown.clone()));
        Ok(Running { sim: self, addr, base_url, shutdown, task: Some(task) })
    }
}

impl Running {
    /// `http://127.0.0.1:{port}/`: hand it to `Providers::all_at`.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// `{base}/{provider}/`: the root `Policy::config_under` expects.
    pub fn provider_url(&self, provider: Provider) -> Url {
        self.base_url.join(&format!("{}/", provider.as_str())).unwrap_or_else(|_| self.base_url.clone())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) -> io::Result<()> {
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => task.await.map_err(io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Deref for Running {
    type Target = Simulator;

    fn deref(&self) -> &Simulator {
        &self.sim
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
