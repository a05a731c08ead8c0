//! The checker loop: wakes when the earliest `next_check_at` comes due, claims the due channels
//! through the index and hands them to a [`CheckStep`].
//!
//! The loop is a thin shell around [`check_due`], a single step tests call directly. Validating
//! tokens against the networks is the providers' work; until a step is installed the service
//! runs [`NoProviders`], which only reports what is due.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::store::{DueChannel, Result, Store};

/// What one pass of the checker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Channels that were due and handed to the step.
    pub due: usize,
}

/// The work done on each due channel.
pub trait CheckStep: Send + Sync {
    /// Handles due channels; must move each one's `next_check_at` forward.
    fn check(&self, store: &Store, due: &[DueChannel], now: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;
}

/// The step used while no provider adapters are wired: logs what is due and looks again later.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProviders;

/// How far [`NoProviders`] pushes a due channel.
const NO_PROVIDER_RETRY: chrono::Duration = chrono::Duration::hours(1);

impl CheckStep for NoProviders {
    async fn check(&self, store: &Store, due: &[DueChannel], now: DateTime<Utc>) -> Result<()> {
        for channel in due {
            tracing::debug!(channel = %channel.id, "check due, but no provider adapter is configured");
            store.schedule_check(channel.id, now + NO_PROVIDER_RETRY).await?;
        }
        Ok(())
    }
}

/// How many due channels one pass claims at most.
pub const BATCH: u32 = 256;

/// One pass: claims the channels due at `now` and checks them.
pub async fn check_due(store: &Store, step: &impl CheckStep, now: DateTime<Utc>) -> Result<Outcome> {
    let due = store.due_channels(now, BATCH).await?;
    if !due.is_empty() {
        step.check(store, &due, now).await?;
    }
    Ok(Outcome { due: due.len() })
}

/// The longest the loop sleeps without looking: channels added by another process are noticed
/// within this time.
const MAX_IDLE: Duration = Duration::from_secs(60);

/// Runs [`check_due`] until `shutdown`, sleeping until the next channel is due. A database error
/// is logged and retried with backoff; it never stops the loop.
pub async fn run_checker(store: Store, clock: impl Clock, step: impl CheckStep, shutdown: CancellationToken) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let pause = match check_due(&store, &step, clock.now()).await {
            Ok(outcome) if outcome.due as u32 >= BATCH => Duration::ZERO,
            Ok(_) => {
                backoff = Duration::from_secs(1);
                match store.next_due_at().await {
                    Ok(Some(next)) => (next - clock.now()).to_std().unwrap_or(Duration::ZERO).min(MAX_IDLE),
                    Ok(None) => MAX_IDLE,
                    Err(error) => {
                        tracing::warn!(%error, "checker: cannot read the next due time");
                        MAX_IDLE
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "checker: pass failed; retrying");
                backoff = (backoff * 2).min(MAX_IDLE);
                backoff
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
        }
    }
    tracing::info!("checker stopped");
}
