//! Group commit of reconnect-button presses on SQLite.
//!
//! A press spends its link and records the authorization request in one statement
//! ([`Store::begin_flow`](super::Store::begin_flow)). SQLite has one writer: pressed one at a
//! time, every press paid a commit of its own and a trip to the writer's thread and back (a
//! thread switch each way), and those trips were most of the server's time. Here presses wait
//! in a bounded queue in front of the writer; one task takes whatever has arrived (up to
//! [`MAX_GROUP`]) and writes it with **one statement**, which SQLite runs as one transaction
//! with one commit: the presses' values joined to their links, each row inserted where its link
//! may be spent (the same condition as a single press, `links::link_may_be_spent`), the trigger
//! of migration 0006 spending each link in the same statement. Each press is answered through
//! its own channel once the statement is done:
//!
//! - a link appears once per statement: its later presses in the same group go in a next
//!   statement, where they find it spent, exactly as if they had lost a race;
//! - a statement that fails (one press's row breaks a constraint, the commit is refused) writes
//!   nothing, and its presses are then written each alone, so a failing press fails alone and
//!   each gets its own answer; while the writer is out they all get the store's error;
//! - a press whose caller has gone (the browser closed, the request timed out) before it was
//!   written is left out, so its link stays unspent; one already written keeps its link and its
//!   request together, as one statement always did;
//! - a group of one is the single press's statement: a quiet server pays no more than before.
//!
//! The queue holds at most [`QUEUE`] presses; a press that finds it full waits for room. The
//! task is supervised ([`crate::supervise`], task `presses`): should it panic or end while the
//! store is open, it is logged, counted, shown down in `/readyz` and started again on the same
//! queue, and the presses of the group it held are answered with an error, never left waiting.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sqlx::SqlitePool;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::gate::{Urgent, WriterGate};
use super::{Result, StoreError};
use crate::supervise::{self, Backoff, Health, Task};

/// Presses written by one statement at most (eight parameters each, far below SQLite's limit):
/// enough that a full queue is a few groups, few enough that another writer (a checker batch)
/// waits for one group only briefly.
const MAX_GROUP: usize = 128;

/// Presses waiting for the writer at most; a press beyond them waits for room.
const QUEUE: usize = 1_024;

/// How soon a failed press task starts again: presses wait for it, so sooner than the other
/// background tasks, and never longer than a few seconds.
const RESTART: Backoff = Backoff { first: Duration::from_millis(100), max: Duration::from_secs(5) };

/// What one press writes: the authorization request's columns and the link's token hash, bound
/// in the order of the press statement's parameters (`links.rs`).
#[derive(Debug)]
pub(crate) struct Press {
    pub(crate) state_hash: Vec<u8>,
    pub(crate) provider: &'static str,
    pub(crate) browser_hash: Vec<u8>,
    pub(crate) verifier_key_id: Option<i64>,
    pub(crate) verifier_ciphertext: Option<Vec<u8>>,
    pub(crate) now: i64,
    pub(crate) expires_at: i64,
    pub(crate) token_hash: Vec<u8>,
}

/// The statement of `$press` (a [`Press`]) over the SQL text `$sql`, its parameters bound; the
/// executor chooses the engine.
///
/// Run it with `fetch_all`, never `fetch_optional`: on SQLite a statement's own commit happens
/// when it is stepped to its end, and `fetch_optional` stops at the returned row, so a refused
/// commit would go unreported and a press that wrote nothing would count as written.
macro_rules! press_query {
    ($press:expr, $sql:expr) => {
        sqlx::query_scalar::<_, i64>($sql)
            .bind(&$press.state_hash)
            .bind($press.provider)
            .bind(&$press.browser_hash)
            .bind($press.verifier_key_id)
            .bind(&$press.verifier_ciphertext)
            .bind($press.now)
            .bind($press.expires_at)
            .bind(&$press.token_hash)
    };
}
pub(crate) use press_query;

/// A press and where its answer goes.
struct Job {
    press: Press,
    reply: oneshot::Sender<Result<bool>>,
}

/// The queue in front of the SQLite writer, shared by every clone of a `Db`. When the last one
/// goes, its task stops.
#[derive(Debug)]
pub(crate) struct PressQueue {
    sender: mpsc::Sender<Job>,
    /// Presses go before the checker's bulk parts at the writer.
    gate: Arc<WriterGate>,
    stop: CancellationToken,
    /// Cancels `stop` when the queue is dropped.
    _stop_on_drop: DropGuard,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

impl PressQueue {
    /// Starts the supervised task that writes presses through `writer`, reporting to `health`.
    pub(crate) fn start(writer: SqlitePool, health: Arc<Health>) -> Arc<Self> {
        let (sender, receiver) = mpsc::channel(QUEUE);
        // A restarted task takes over the same queue: presses waiting in it are not lost.
        let receiver = Arc::new(Mutex::new(receiver));
        let stop = CancellationToken::new();
        let task = {
            let stop = stop.clone();
            Task::service("presses", move || drain(receiver.clone(), writer.clone(), stop.clone()))
        };
        supervise::spawn(task, health, stop.clone(), RESTART);
        Arc::new(Self { sender, gate: Arc::default(), stop: stop.clone(), _stop_on_drop: stop.drop_guard() })
    }

    /// Writes `press` with the others waiting beside it: `true` when it spent its link.
    pub(crate) async fn press(&self, press: Press) -> Result<bool> {
        // From now until it is answered (or its caller gives up), bulk parts wait for it.
        let _first = self.gate.urgent();
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job { press, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        // Dropped unanswered only when the task stopped holding it (a panic, the store closed).
        answer.await.unwrap_or_else(|_| Err(StoreError::Unavailable("the press was not written; try again".into())))
    }

    /// Marks another write a person waits on as going first, like a press, until dropped.
    pub(crate) fn urgent(&self) -> Urgent {
        self.gate.urgent()
    }

    /// The order of the writer's callers, presses first.
    pub(crate) fn gate(&self) -> &WriterGate {
        &self.gate
    }

    /// Stops the task (the store is closing); presses still queued are answered with an error.
    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }
}

/// The task: takes what has arrived, up to [`MAX_GROUP`], and writes it as a group; again.
async fn drain(receiver: Arc<Mutex<mpsc::Receiver<Job>>>, writer: SqlitePool, stop: CancellationToken) {
    let mut receiver = receiver.lock().await;
    let mut group = Vec::with_capacity(MAX_GROUP);
    loop {
        let taken = tokio::select! {
            taken = receiver.recv_many(&mut group, MAX_GROUP) => taken,
            () = stop.cancelled() => return,
        };
        if taken == 0 {
            // Every sender is gone: the store was dropped.
            return;
        }
        write_group(&writer, &mut group).await;
    }
}

/// Writes `presses` as one group, the way the task writes what it takes from the queue, and
/// answers each in order.
pub(crate) async fn write_together(writer: &SqlitePool, presses: Vec<Press>) -> Vec<Result<bool>> {
    let (mut group, answers): (Vec<Job>, Vec<_>) = presses
        .into_iter()
        .map(|press| {
            let (reply, answer) = oneshot::channel();
            (Job { press, reply }, answer)
        })
        .unzip();
    write_group(writer, &mut group).await;
    let mut outcomes = Vec::with_capacity(answers.len());
    for answer in answers {
        outcomes
            .push(answer.await.unwrap_or_else(|_| Err(StoreError::Unavailable("the press was not written".into()))));
    }
    outcomes
}

/// Writes the presses of `group` and answers each; `group` is empty afterwards.
async fn write_group(writer: &SqlitePool, group: &mut Vec<Job>) {
    // Nobody waits for these any more: their links stay unspent.
    group.retain(|job| !job.reply.is_closed());
    while !group.is_empty() {
        // The first press of each link goes now; a link's later presses go in the next round,
        // where they find it spent, as if they had lost a race to the first.
        let mut links = HashSet::with_capacity(group.len());
        let (mut round, later): (Vec<Job>, Vec<Job>) =
            group.drain(..).partition(|job| links.insert(job.press.token_hash.clone()));
        while round.len() > MAX_GROUP {
            let rest = round.split_off(MAX_GROUP);
            write_round(writer, round).await;
            round = rest;
        }
        write_round(writer, round).await;
        *group = later;
    }
}

/// Writes presses of distinct links: one statement for them all, or, when it fails (one press's
/// row breaks a constraint, the commit is refused), each press alone with its own answer.
async fn write_round(writer: &SqlitePool, round: Vec<Job>) {
    if round.len() > 1 {
        match together(writer, &round).await {
            Ok(won) => {
                for job in round {
                    let _ = job.reply.send(Ok(won.contains(&job.press.state_hash)));
                }
                return;
            }
            Err(error) => {
                tracing::warn!(%error, presses = round.len(), "a group of reconnect presses failed; writing each alone");
            }
        }
    }
    let sql = super::links::begin_flow_sql(super::Engine::Sqlite);
    for job in round {
        let spent: Result<Vec<i64>> = press_query!(job.press, sql).fetch_all(writer).await.map_err(Into::into);
        let _ = job.reply.send(spent.map(|spent| !spent.is_empty()));
    }
}

/// The statement of a group of `rows` presses (rows beyond the group's presses match no link):
/// the presses' values joined to their links, each inserted where the link may be spent, the
/// migration 0006 trigger spending each link in the same statement. Returns the states of the
/// presses that spent their link. `CROSS JOIN` keeps the presses as the outer loop, so each link
/// is found through its token's index.
fn together_statement(rows: usize) -> String {
    let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; rows].join(", ");
    format!(
        "INSERT INTO oauth_states (state_hash, provider, channel_id, link_id, browser_hash, verifier_key_id, \
         verifier_ciphertext, created_at, expires_at) \
         SELECT p.column1, p.column2, l.channel_id, l.id, p.column3, p.column4, p.column5, p.column6, p.column7 \
         FROM (VALUES {values}) AS p CROSS JOIN reconnect_links AS l \
         WHERE l.token_hash = p.column8 AND {} \
         RETURNING state_hash",
        super::links::link_may_be_spent("l", "p.column6")
    )
}

/// The group statements, one per power of two up to [`MAX_GROUP`] rows: a group is padded to
/// the next one, so the writer prepares a handful of statements once instead of one per size.
static TOGETHER: LazyLock<Vec<String>> =
    LazyLock::new(|| (1..=MAX_GROUP.ilog2()).map(|power| together_statement(1 << power)).collect());

/// One statement for presses of distinct links (at most [`MAX_GROUP`]); the states of the
/// presses that spent their link.
async fn together(writer: &SqlitePool, round: &[Job]) -> Result<HashSet<Vec<u8>>, sqlx::Error> {
    let rows = round.len().next_power_of_two();
    let Some(sql) = TOGETHER.get(rows.ilog2().saturating_sub(1) as usize) else {
        return Err(sqlx::Error::Protocol(format!("a group of {} presses is over the limit", round.len())));
    };
    let mut query = sqlx::query_scalar::<_, Vec<u8>>(sql.as_str());
    for job in round {
        let press = &job.press;
        query = query
            .bind(&press.state_hash)
            .bind(press.provider)
            .bind(&press.browser_hash)
            .bind(press.verifier_key_id)
            .bind(&press.verifier_ciphertext)
            .bind(press.now)
            .bind(press.expires_at)
            .bind(&press.token_hash);
    }
    for _ in round.len()..rows {
        // A padding row: a NULL token matches no link.
        for _ in 0..8 {
            query = query.bind(None::<i64>);
        }
    }
    Ok(query.fetch_all(writer).await?.into_iter().collect())
}
