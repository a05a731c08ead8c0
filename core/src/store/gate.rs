//! Who goes first at SQLite's one writer: a person pressing a reconnect button before the
//! checker's bulk work.
//!
//! Every write on SQLite waits for the one writer connection, in the order the writers came.
//! The checker keeps two bulk writers busy at a million channels (its claimer and its result
//! writer, each in parts of [`Db::rows_per_write`](super::Db::rows_per_write) rows, 10–17 ms
//! a part), so a press arriving during a pass found one part running and one or two more queued
//! ahead of it. Here the bulk writers take turns among themselves before they queue at the
//! writer, so at most one of them is ever queued there, and a turn starts only when no press
//! is waiting — for at most [`MAX_YIELD`], so a flood of presses slows the checker without
//! stopping it. A press then waits for at most the one part already running. The other writes a
//! person waits on (the OAuth callback's, a sign-in's) go first the same way (`Db::urgent`).
//!
//! PostgreSQL has no such gate: its row locks let writers go on beside one another.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard, Notify};

/// The longest a bulk part waits for presses to be written before it queues anyway.
pub(crate) const MAX_YIELD: Duration = Duration::from_millis(50);

/// The order of SQLite's writers (see the module's documentation).
#[derive(Debug, Default)]
pub(crate) struct WriterGate {
    /// Bulk writers take turns here: the holder is the one bulk writer queued at the writer.
    bulk: Mutex<()>,
    /// Groups of presses waiting for the writer or being written.
    urgent: AtomicUsize,
    /// Rung when the last waiting group of presses is written.
    clear: Notify,
}

/// A bulk writer's turn: held until its part is written.
#[derive(Debug)]
#[must_use = "the turn ends when it is dropped"]
pub(crate) struct BulkTurn<'a> {
    _turn: MutexGuard<'a, ()>,
}

/// A group of presses going first: held until the group is written.
#[derive(Debug)]
#[must_use = "the presses stop going first when it is dropped"]
pub(crate) struct Urgent {
    gate: Arc<WriterGate>,
}

impl WriterGate {
    /// Waits for this bulk writer's turn: the other bulk writers' parts are written, and no
    /// press waits (or [`MAX_YIELD`] has passed).
    pub(crate) async fn bulk(&self) -> BulkTurn<'_> {
        let turn = self.bulk.lock().await;
        let presses_written = async {
            loop {
                // Registered before the count is read, so a group finishing in between still
                // wakes this wait.
                let cleared = self.clear.notified();
                if self.urgent.load(Ordering::Acquire) == 0 {
                    return;
                }
                cleared.await;
            }
        };
        let _ = tokio::time::timeout(MAX_YIELD, presses_written).await;
        BulkTurn { _turn: turn }
    }

    /// Marks a group of presses as waiting for the writer until the returned guard is dropped.
    pub(crate) fn urgent(self: &Arc<Self>) -> Urgent {
        self.urgent.fetch_add(1, Ordering::AcqRel);
        Urgent { gate: self.clone() }
    }
}

impl Drop for Urgent {
    fn drop(&mut self) {
        if self.gate.urgent.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.gate.clear.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bulk_turn_waits_for_the_presses_then_goes() {
        let gate = Arc::new(WriterGate::default());
        let urgent = gate.urgent();
        let started = tokio::time::Instant::now();
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _turn = gate.bulk().await;
                started.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiting.is_finished(), "a bulk part waits while presses wait");
        drop(urgent);
        let waited = waiting.await.expect("the bulk writer");
        assert_eq!(waited, Duration::from_millis(10), "it goes as soon as the presses are written");
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_presses_delays_a_bulk_turn_by_at_most_the_yield() {
        let gate = Arc::new(WriterGate::default());
        let _urgent = gate.urgent();
        let started = tokio::time::Instant::now();
        let _turn = gate.bulk().await;
        assert_eq!(started.elapsed(), MAX_YIELD);
    }

    #[tokio::test(start_paused = true)]
    async fn bulk_writers_take_turns_and_a_quiet_gate_costs_nothing() {
        let gate = Arc::new(WriterGate::default());
        let started = tokio::time::Instant::now();
        let first = gate.bulk().await;
        assert_eq!(started.elapsed(), Duration::ZERO);
        let second = {
            let gate = gate.clone();
            tokio::spawn(async move {
                let _turn = gate.bulk().await;
            })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(!second.is_finished(), "one bulk writer at a time");
        drop(first);
        second.await.expect("the second bulk writer");
    }
}
