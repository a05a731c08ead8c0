//! [`Lease`]: a role one relink process at a time plays for a bot, held in the database
//! (`platform_leases`, keyed by the role's name) so every process on it agrees who that is: the
//! Discord sender (`discord:<bot>`) and the Telegram poller (`telegram-poll:<bot>`). A lease
//! lasts [`TERM`]; its holder renews it while it plays the role, and another process takes it
//! over only once it has run out (a dead holder's role moves within one term) or was given up at
//! shutdown (at once).

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use relink_core::store::{Store, StoreError};

/// How long a lease lasts from its last renewal.
pub const TERM: Duration = Duration::from_secs(30);

/// Where a lease stands after [`Lease::keep`] or [`Lease::renew`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// This process holds it until then.
    Held { until: DateTime<Utc> },
    /// Another process holds it, until then as far as the database says (`None`: it was given
    /// up or ran out between the two reads: ask again).
    Elsewhere { until: Option<DateTime<Utc>> },
}

/// One role's lease, for this process (`owner`, unique per process).
#[derive(Debug)]
pub struct Lease {
    store: Store,
    name: String,
    owner: String,
    held_until: Mutex<Option<DateTime<Utc>>>,
}

impl Lease {
    pub fn new(store: Store, name: String, owner: String) -> Self {
        Self { store, name, owner, held_until: Mutex::new(None) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn held(&self) -> Option<DateTime<Utc>> {
        *self.held_until.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_held(&self, until: Option<DateTime<Utc>>) {
        *self.held_until.lock().unwrap_or_else(|e| e.into_inner()) = until;
    }

    /// Holds the lease at `now`, asking the database only when less than half a term is left
    /// (or it is not held): the Discord sender asks before every message.
    pub async fn keep(&self, now: DateTime<Utc>) -> Result<Standing, StoreError> {
        let term = relink_core::time::delta(TERM);
        if let Some(until) = self.held().filter(|until| *until - now > term / 2) {
            return Ok(Standing::Held { until });
        }
        self.renew(now).await
    }

    /// Takes or renews the lease for a whole term from `now`, asking the database every time,
    /// so a holder whose lease another process has taken (the database says so) learns it here.
    pub async fn renew(&self, now: DateTime<Utc>) -> Result<Standing, StoreError> {
        let until = relink_core::time::after(now, TERM);
        if self.store.hold_platform_lease(&self.name, &self.owner, now, until).await? {
            self.set_held(Some(until));
            return Ok(Standing::Held { until });
        }
        self.set_held(None);
        let holder = self.store.platform_lease(&self.name).await?;
        Ok(Standing::Elsewhere { until: holder.map(|(_, until)| until).filter(|until| *until > now) })
    }

    /// Gives the lease up (at shutdown), so another process takes the role over at once.
    pub async fn release(&self) {
        if self.held_until.lock().unwrap_or_else(|e| e.into_inner()).take().is_some()
            && let Err(error) = self.store.drop_platform_lease(&self.name, &self.owner).await
        {
            tracing::warn!(%error, lease = %self.name, "cannot give a platform lease up");
        }
    }
}
