//! A team's calendar: its time zone (an IANA name such as `Europe/Rome`; UTC unless set), its
//! quiet hours (outside working hours only urgent alerts go out) and the daily time of its
//! reminder digest (the end of the quiet hours, or [`DIGEST_AT`] local time without them).
//!
//! Local times are turned into instants with the time zone's rules of that day, so a team's
//! digest stays at 08:00 on both sides of a daylight-saving change; a local time that does not
//! exist that day (the hour skipped in spring) is read as the clocks would show it had they not
//! jumped (02:30 is 03:30), and one that happens twice (the hour repeated in autumn) as the first.

use std::fmt;

use chrono::{DateTime, Utc};
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::domain::ParseError;

/// The digest's local time for a team without quiet hours.
pub const DIGEST_AT: LocalTime = LocalTime { minutes: 9 * 60 };

/// A time of day, to the minute: `08:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalTime {
    /// Minutes since midnight, below 1,440.
    minutes: u16,
}

impl LocalTime {
    /// Reads `HH:MM` (24-hour clock; `8:00` too).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("time of day", format!("`{}` is not a time of day such as 08:00", raw.trim()));
        let (hours, minutes) = raw.trim().split_once(':').ok_or_else(bad)?;
        let hours: u16 = hours.parse().map_err(|_| bad())?;
        let minutes: u16 = minutes.parse().map_err(|_| bad())?;
        if hours > 23 || minutes > 59 || raw.trim().len() > 5 {
            return Err(bad());
        }
        Ok(Self { minutes: hours * 60 + minutes })
    }

    /// From minutes since midnight, as stored; `None` outside a day.
    pub fn from_minutes(minutes: i64) -> Option<Self> {
        u16::try_from(minutes).ok().filter(|m| *m < 24 * 60).map(|minutes| Self { minutes })
    }

    pub fn minutes(self) -> u16 {
        self.minutes
    }

    fn time(self) -> Time {
        // Both parts are in range by construction.
        Time::new((self.minutes / 60) as i8, (self.minutes % 60) as i8, 0, 0).unwrap_or(Time::midnight())
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// Quiet hours: from a local time until another, across midnight when the end is earlier
/// (`20:00-08:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuietHours {
    pub from: LocalTime,
    pub until: LocalTime,
}

impl QuietHours {
    /// Reads `20:00-08:00`; the two times must differ.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad =
            || ParseError::new("quiet hours", format!("`{}` is not a span of hours such as 20:00-08:00", raw.trim()));
        let (from, until) = raw.trim().split_once('-').ok_or_else(bad)?;
        let (from, until) = (LocalTime::parse(from).map_err(|_| bad())?, LocalTime::parse(until).map_err(|_| bad())?);
        if from == until {
            return Err(ParseError::new("quiet hours", "the start and the end must differ (e.g. 20:00-08:00)"));
        }
        Ok(Self { from, until })
    }

    /// Whether a local time of day falls in them.
    fn contains(self, at: LocalTime) -> bool {
        if self.from < self.until { self.from <= at && at < self.until } else { at >= self.from || at < self.until }
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.from, self.until)
    }
}

/// A team's time zone, read from its IANA name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone(TimeZone);

impl Zone {
    pub fn utc() -> Self {
        Zone(TimeZone::UTC)
    }

    /// Reads an IANA name (`Europe/Rome`, `Asia/Tokyo`, `UTC`), as the bundled database knows it.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let name = raw.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(ParseError::new("time zone", "give an IANA name such as Europe/Rome or Asia/Tokyo"));
        }
        TimeZone::get(name).map(Zone).map_err(|_| {
            ParseError::new("time zone", format!("`{name}` is not a time zone name such as Europe/Rome or Asia/Tokyo"))
        })
    }

    /// The IANA name, as stored and shown.
    pub fn name(&self) -> &str {
        self.0.iana_name().unwrap_or("UTC")
    }
}

impl Default for Zone {
    fn default() -> Self {
        Self::utc()
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A team's time zone and quiet hours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    pub zone: Zone,
    pub quiet: Option<QuietHours>,
}

fn to_jiff(at: DateTime<Utc>) -> jiff::Timestamp {
    let nanos = i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0);
    jiff::Timestamp::new(at.timestamp(), nanos).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn from_jiff(at: jiff::Timestamp) -> DateTime<Utc> {
    let nanos = u32::try_from(at.subsec_nanosecond()).unwrap_or(0);
    DateTime::from_timestamp(at.as_second(), nanos).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl Calendar {
    /// The local date and time of day of an instant.
    fn local(&self, at: DateTime<Utc>) -> (Date, LocalTime) {
        let local = self.zone.0.to_datetime(to_jiff(at));
        let minutes = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        (local.date(), LocalTime { minutes })
    }

    /// The instant of a local time on a local date (see the module's note on daylight saving).
    fn instant(&self, date: Date, time: LocalTime) -> Option<DateTime<Utc>> {
        self.zone.0.to_timestamp(date.to_datetime(time.time())).ok().map(from_jiff)
    }

    /// The first instant at or after `at` when the local time of day is `time`.
    fn next(&self, at: DateTime<Utc>, time: LocalTime) -> DateTime<Utc> {
        let (mut date, _) = self.local(at);
        // Yesterday first: an instant late in a skipped hour can belong to it.
        date = date.yesterday().unwrap_or(date);
        for _ in 0..4 {
            if let Some(instant) = self.instant(date, time)
                && instant >= at
            {
                return instant;
            }
            date = match date.tomorrow() {
                Ok(next) => next,
                Err(_) => break,
            };
        }
        at
    }

    /// Whether `at` falls in the team's quiet hours.
    pub fn is_quiet(&self, at: DateTime<Utc>) -> bool {
        self.quiet.is_some_and(|quiet| quiet.contains(self.local(at).1))
    }

    /// When the quiet hours `at` falls in end; `at` itself outside quiet hours.
    pub fn awake_at(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        match self.quiet {
            Some(quiet) if self.is_quiet(at) => self.next(at, quiet.until),
            _ => at,
        }
    }

    /// The digest's local time: the end of the quiet hours, or [`DIGEST_AT`].
    pub fn digest_time(&self) -> LocalTime {
        self.quiet.map_or(DIGEST_AT, |quiet| quiet.until)
    }

    /// The first digest time at or after `at`.
    pub fn digest_at_or_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.next(at, self.digest_time())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()).unwrap_or_default()
    }

    fn rome(quiet: Option<&str>) -> Calendar {
        Calendar { zone: Zone::parse("Europe/Rome").unwrap(), quiet: quiet.map(|q| QuietHours::parse(q).unwrap()) }
    }

    #[test]
    fn quiet_hours_and_times_read_as_people_write_them() {
        let quiet = QuietHours::parse(" 20:00-8:00 ").unwrap();
        assert_eq!(quiet.to_string(), "20:00-08:00");
        for bad in ["", "20:00", "20-08", "25:00-08:00", "20:00-08:60", "08:00-08:00", "20:00-08:00:00"] {
            assert!(QuietHours::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Zone::parse("Asia/Tokyo").unwrap().name(), "Asia/Tokyo");
        for bad in ["", "Mars/Olympus", "Europe/Rome; DROP TABLE teams"] {
            assert_eq!(Zone::parse(bad).unwrap_err().field, "time zone", "{bad}");
        }
    }

    #[test]
    fn quiet_hours_follow_the_team_clock_across_midnight() {
        let rome = rome(Some("20:00-08:00"));
        // 19:30 and 08:00 in Rome (UTC+1 in winter) are working hours; 20:00 and 07:59 are not.
        assert!(!rome.is_quiet(at("2026-12-07T18:30:00Z")));
        assert!(rome.is_quiet(at("2026-12-07T19:00:00Z")));
        assert!(rome.is_quiet(at("2026-12-08T06:59:00Z")));
        assert!(!rome.is_quiet(at("2026-12-08T07:00:00Z")));
        assert_eq!(rome.awake_at(at("2026-12-07T22:00:00Z")), at("2026-12-08T07:00:00Z"));
        assert_eq!(rome.awake_at(at("2026-12-07T12:00:00Z")), at("2026-12-07T12:00:00Z"));
        assert!(!Calendar::default().is_quiet(at("2026-12-07T03:00:00Z")));
    }

    #[test]
    fn the_digest_stays_at_eight_in_the_morning_across_daylight_saving_changes() {
        let rome = rome(Some("20:00-08:00"));
        // Rome moves to summer time on 29 March 2026 and back on 25 October 2026.
        assert_eq!(rome.digest_at_or_after(at("2026-03-28T12:00:00Z")), at("2026-03-29T06:00:00Z"));
        assert_eq!(rome.digest_at_or_after(at("2026-03-27T12:00:00Z")), at("2026-03-28T07:00:00Z"));
        assert_eq!(rome.digest_at_or_after(at("2026-10-24T12:00:00Z")), at("2026-10-25T07:00:00Z"));
        assert_eq!(rome.digest_at_or_after(at("2026-10-25T07:00:00Z")), at("2026-10-25T07:00:00Z"));
        // Without quiet hours, 09:00 local.
        let tokyo = Calendar { zone: Zone::parse("Asia/Tokyo").unwrap(), quiet: None };
        assert_eq!(tokyo.digest_at_or_after(at("2026-12-07T01:00:00Z")), at("2026-12-08T00:00:00Z"));
    }

    #[test]
    fn a_quiet_hour_that_starts_in_the_skipped_hour_ends_at_the_right_instant() {
        // New York skips 02:00-03:00 on 8 March 2026: quiet hours 02:30-06:00 end at 06:00 EDT.
        let ny = Calendar {
            zone: Zone::parse("America/New_York").unwrap(),
            quiet: Some(QuietHours::parse("02:30-06:00").unwrap()),
        };
        assert!(ny.is_quiet(at("2026-03-08T07:30:00Z")), "03:30 EDT");
        assert_eq!(ny.awake_at(at("2026-03-08T07:30:00Z")), at("2026-03-08T10:00:00Z"));
    }
}
