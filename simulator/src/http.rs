//! What every HTTP handler of the networks' side shares: the [`App`] it is given, the [`Reply`]
//! it decides synchronously, [`finish`], which then adds latency, holds timeouts and renders
//! injected failures (so no lock is held across an `await`), and [`param`] to read a form or
//! query. Below `gateway`, `oauth`, `telegram` and `control`, so none of them imports another.

use std::borrow::Cow;
use std::time::Duration;

use axum::response::Response;
use relink_core::Provider;
use tokio_util::sync::CancellationToken;

use crate::answer::{self, Condition, Family};
use crate::judge::Ruling;
use crate::sim::{Gate, Simulator};
use crate::switch::Fail;

/// What every handler gets: the simulator and the server's shutdown (which releases held
/// requests).
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub sim: Simulator,
    pub stopping: CancellationToken,
}

/// A decided answer, before latency and injected failures are applied.
#[derive(Debug)]
pub(crate) struct Reply {
    pub family: Family,
    pub latency_ms: u64,
    pub outcome: Outcome,
}

#[derive(Debug)]
pub(crate) enum Outcome {
    Answer(Response),
    Fail(Fail),
}

impl Reply {
    pub fn answer(family: Family, gate: &Gate, response: Response) -> Self {
        Self { family, latency_ms: gate.latency_ms, outcome: Outcome::Answer(response) }
    }

    pub fn failed(family: Family, gate: &Gate, fail: Fail) -> Self {
        Self { family, latency_ms: gate.latency_ms, outcome: Outcome::Fail(fail) }
    }

    pub fn refused(sim: &Simulator, provider: Provider, family: Family, gate: &Gate, condition: Condition) -> Self {
        match gate.fail {
            Some(fail) => Self::failed(family, gate, fail),
            None => Self::answer(family, gate, answer::refusal(provider, family, condition, &sim.config().client_id)),
        }
    }

    /// The reply to a ruling: `ok` renders the healthy answer.
    pub fn from<T>(
        sim: &Simulator,
        provider: Provider,
        family: Family,
        gate: &Gate,
        ruling: Ruling<T>,
        ok: impl FnOnce(T) -> Response,
    ) -> Self {
        match ruling {
            Ruling::Ok(value) => Self::answer(family, gate, ok(value)),
            Ruling::Refused(condition) => Self::refused(sim, provider, family, gate, condition),
            Ruling::Failed(fail) => Self::failed(family, gate, fail),
        }
    }
}

/// Applies a reply's latency and failure and returns the response.
pub(crate) async fn finish(app: &App, provider: Provider, reply: Reply) -> Response {
    if reply.latency_ms > 0 {
        pause(&app.stopping, Duration::from_millis(reply.latency_ms)).await;
    }
    let mut rate_limited = false;
    let mut response = match reply.outcome {
        Outcome::Answer(response) => response,
        Outcome::Fail(fail) => {
            app.sim.count_fault(fail);
            if fail == Fail::Timeout {
                pause(&app.stopping, app.sim.timeout_hold()).await;
            }
            rate_limited = matches!(fail, Fail::RateLimited { .. });
            answer::failure(provider, reply.family, fail, app.sim.now().timestamp())
        }
    };
    if matches!(reply.family, Family::Graph | Family::DebugToken) {
        let usage = if rate_limited { 100 } else { app.sim.app_usage(provider) };
        answer::add_app_usage(&mut response, usage);
    }
    response
}

/// Sleeps, unless the server is shutting down (a held request must not delay the shutdown).
async fn pause(stopping: &CancellationToken, duration: Duration) {
    tokio::select! {
        () = tokio::time::sleep(duration) => {}
        () = stopping.cancelled() => {}
    }
}

/// A form or query parameter, percent-decoded.
pub(crate) fn param<'a>(encoded: &'a [u8], key: &str) -> Option<Cow<'a, str>> {
    url::form_urlencoded::parse(encoded).find(|(k, _)| k == key).map(|(_, v)| v)
}
