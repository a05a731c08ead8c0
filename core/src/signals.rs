//! Push signals: Telegram's `my_chat_member`, Meta's deauthorize and data deletion callbacks and
//! Google's RISC events tell relink within seconds that a grant may have ended.
//!
//! A signal is never believed by itself: the channels it names are made due now and the
//! checker is woken, so the ordinary check asks the network, writes the transition and raises
//! the alert. A forged or stale signal that slipped past its receiver's verification therefore
//! costs one probe per named channel and cannot disconnect anything; a true one is found as fast
//! as the network answers. The receivers (web server, Telegram bot) verify, refuse replays with
//! [`Store::record_receipt`], and call [`receive`].

use chrono::{DateTime, Utc};

pub use crate::checker::Wake;
pub use crate::domain::{DataDeletion, Source, Subject};
use crate::store::{Result, Store};

/// Makes every channel the subject names due now (not those already needing a reconnect), wakes
/// this process's checker and counts `relink_signals_total{source}`; returns how many channels
/// were made due. Idempotent: a second call finds them due already.
pub async fn receive(
    store: &Store,
    wake: &Wake,
    source: Source,
    subject: &Subject,
    now: DateTime<Utc>,
) -> Result<usize> {
    let due = store.make_due_for(subject, now).await?;
    metrics::counter!("relink_signals_total", "source" => source.as_str()).increment(1);
    if !due.is_empty() {
        wake.wake();
    }
    tracing::info!(source = source.as_str(), channels = due.len(), "push signal: channels to check now");
    Ok(due.len())
}
