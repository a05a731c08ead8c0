//! Where "now" comes from. The service reads the system clock; tests hold a [`TestClock`] and move
//! it by days in a call, so time-dependent behaviour is tested without sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// A shared clock is a clock: the service's loops clone one `Arc<dyn Clock>`.
impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move. Clones share the same time.
#[derive(Debug, Clone)]
pub struct TestClock {
    millis: Arc<AtomicI64>,
}

impl TestClock {
    pub fn at(start: DateTime<Utc>) -> Self {
        Self { millis: Arc::new(AtomicI64::new(start.timestamp_millis())) }
    }

    pub fn advance(&self, by: Duration) {
        self.millis.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    pub fn set(&self, to: DateTime<Utc>) {
        self.millis.store(to.timestamp_millis(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.millis.load(Ordering::SeqCst))
            .expect("the test clock holds a representable time")
    }
}

/// The system clock moved forward by an offset that only grows: `relink demo` lives days of a
/// team's life in a minute by jumping it ahead, and runs at real speed in between. Clones share
/// the offset.
#[derive(Debug, Clone, Default)]
pub struct ShiftedClock {
    offset_millis: Arc<AtomicI64>,
}

impl ShiftedClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward; a negative span is ignored (time never runs backwards).
    pub fn jump(&self, by: Duration) {
        self.offset_millis.fetch_add(by.num_milliseconds().max(0), Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_millis.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_clock_moves_only_when_told_and_clones_share_it() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc();
        let clock = TestClock::at(start);
        let other = clock.clone();
        assert_eq!(clock.now(), start);
        other.advance(Duration::days(60));
        assert_eq!(clock.now(), start + Duration::days(60));
    }

    #[test]
    fn a_shifted_clock_only_jumps_forward_and_clones_share_it() {
        let clock = ShiftedClock::new();
        let other = clock.clone();
        let before = Utc::now();
        other.jump(Duration::days(3));
        other.jump(Duration::days(-10));
        let shifted = clock.now() - before;
        assert!(shifted >= Duration::days(3) && shifted < Duration::days(3) + Duration::minutes(1), "{shifted}");
    }
}
