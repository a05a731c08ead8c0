//! Long-running tasks that never die silently. `relink serve` runs the checker, the alerts
//! engine and delivery workers, the purge and each chat front-end's tasks through [`spawn`]: a
//! task that panics, or that ends while it should run until shutdown, is logged at error level,
//! counted in `relink_task_restarts_total{task}`, marked down in the shared [`Health`] registry
//! (which `/readyz` reads: 503 naming the tasks that are down) and started again after a backoff
//! that doubles from one second to five minutes. It is marked up again when it starts.
//!
//! Each attempt runs in a task of its own, so a panic anywhere in it reaches the supervisor as a
//! `JoinError` instead of unwinding through it. A restarted task starts from nothing: work it had
//! claimed comes back when its lease ends, as after a crash of the whole process.
//!
//! [`Wake`] ends such a loop's sleep from outside: a push signal wakes the checker's claimer, a
//! written transition wakes the alerts engine.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One run of a task.
pub type TaskFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A named task the supervisor can start again.
pub struct Task {
    name: &'static str,
    /// Whether the task runs until shutdown (an end before it is a failure) or may finish.
    until_shutdown: bool,
    start: Box<dyn FnMut() -> TaskFuture + Send>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task").field("name", &self.name).field("until_shutdown", &self.until_shutdown).finish()
    }
}

impl Task {
    /// A task that runs until shutdown: ending before it is a failure, and it is started again.
    pub fn service<F, Fut>(name: &'static str, mut start: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self { name, until_shutdown: true, start: Box::new(move || Box::pin(start())) }
    }

    /// A task that finishes its work and ends (registering commands at start-up); only a panic
    /// starts it again.
    pub fn once<F, Fut>(name: &'static str, mut start: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self { name, until_shutdown: false, start: Box::new(move || Box::pin(start())) }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// How long to wait before starting a failed task again: `first`, doubling up to `max`. A task
/// that ran at least `max` before failing starts over from `first`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { first: Duration::from_secs(1), max: Duration::from_secs(300) }
    }
}

/// Which supervised tasks are down, and how often each was restarted. Shared by the supervisors
/// and `/readyz`.
#[derive(Debug, Default)]
pub struct Health {
    tasks: Mutex<BTreeMap<&'static str, TaskState>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct TaskState {
    down: bool,
    restarts: u64,
}

impl Health {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The names of the tasks that are down (failed and waiting to start again), in order.
    pub fn down(&self) -> Vec<&'static str> {
        self.lock().iter().filter(|(_, state)| state.down).map(|(name, _)| *name).collect()
    }

    /// How many times a task was restarted since the process started.
    pub fn restarts(&self, name: &str) -> u64 {
        self.lock().get(name).map_or(0, |state| state.restarts)
    }

    fn mark_up(&self, name: &'static str) {
        self.lock().entry(name).or_default().down = false;
    }

    fn mark_down(&self, name: &'static str) {
        let mut tasks = self.lock();
        let state = tasks.entry(name).or_default();
        state.down = true;
        state.restarts = state.restarts.saturating_add(1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, TaskState>> {
        // A panic while holding this lock cannot leave the map inconsistent: every change is
        // one field.
        self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs `task` under supervision until `shutdown` fires (or until a [`Task::once`] finishes).
/// The handle ends when the task has stopped; awaiting it never fails with the task's panic.
pub fn spawn(mut task: Task, health: Arc<Health>, shutdown: CancellationToken, backoff: Backoff) -> JoinHandle<()> {
    tokio::spawn(async move {
        let name = task.name;
        let mut wait = backoff.first;
        loop {
            health.mark_up(name);
            let started = tokio::time::Instant::now();
            let outcome = tokio::spawn((task.start)()).await;
            let why = match outcome {
                Ok(()) if shutdown.is_cancelled() || !task.until_shutdown => return,
                Ok(()) => "ended before shutdown".to_owned(),
                Err(error) if error.is_panic() => format!("panicked: {}", panic_message(error.into_panic())),
                Err(error) => format!("was cancelled ({error})"),
            };
            if shutdown.is_cancelled() {
                tracing::error!(task = name, "background task {why} while shutting down");
                return;
            }
            if started.elapsed() >= backoff.max {
                wait = backoff.first;
            }
            health.mark_down(name);
            metrics::counter!("relink_task_restarts_total", "task" => name).increment(1);
            tracing::error!(task = name, restart_in = ?wait, "background task {why}; restarting it");
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => return,
            }
            wait = wait.saturating_mul(2).min(backoff.max);
        }
    })
}

/// A panic's message, when it is text.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(|| "no message".to_owned(), |s| (*s).to_owned()),
    }
}

/// A handle that ends a background loop's sleep now: the checker's claimer when a push signal
/// made channels due, the alerts engine when the checker wrote a transition. A ring while the
/// loop is busy is kept for its next sleep.
#[derive(Debug, Clone, Default)]
pub struct Wake(Arc<tokio::sync::Notify>);

impl Wake {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub(crate) async fn rung(&self) {
        self.0.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_task_that_panics_is_restarted_counted_and_down_until_it_runs_again() {
        let health = Health::new();
        let shutdown = CancellationToken::new();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let stop = shutdown.clone();
        let task = Task::service("checker", move || {
            let run = counted.fetch_add(1, Ordering::SeqCst) + 1;
            let stop = stop.clone();
            async move {
                assert!(run > 2, "a deliberate panic on run {run}");
                stop.cancelled().await;
            }
        });
        let backoff = Backoff { first: Duration::from_secs(1), max: Duration::from_secs(300) };
        let handle = spawn(task, health.clone(), shutdown.clone(), backoff);
        // The first run panics at once: down, counted, waiting a second.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(health.down(), ["checker"]);
        assert_eq!(health.restarts("checker"), 1);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // The second panics after the first second; the third starts two seconds later and runs.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!((runs.load(Ordering::SeqCst), health.restarts("checker")), (2, 2));
        assert_eq!(health.down(), ["checker"]);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert!(health.down().is_empty(), "up again once it runs");
        shutdown.cancel();
        handle.await.expect("the supervisor ends at shutdown");
        assert_eq!(runs.load(Ordering::SeqCst), 3, "not restarted at shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_that_returns_early_is_restarted_and_a_finished_once_task_is_not() {
        let health = Health::new();
        let shutdown = CancellationToken::new();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let service = Task::service("alerts", move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        let handle = spawn(service, health.clone(), shutdown.clone(), Backoff::default());
        let once = spawn(Task::once("register", || async {}), health.clone(), shutdown.clone(), Backoff::default());
        once.await.expect("a finished once task ends its supervisor");
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "runs at 0 s, 1 s and 3 s");
        assert_eq!(health.down(), ["alerts"]);
        assert_eq!(health.restarts("register"), 0);
        shutdown.cancel();
        handle.await.expect("the supervisor ends at shutdown");
    }
}
