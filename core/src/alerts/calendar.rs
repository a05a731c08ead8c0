//! A team's calendar: its time zone (an IANA name such as `Europe/Rome`; UTC unless set), its
//! quiet hours (outside working hours only urgent alerts go out) and the daily time of its
//! reminder digest (the end of the quiet hours, or [`DIGEST_AT`] local time without them).
//!
//! Local times are turned into instants with the time zone's rules of that day, so a team's
//! digest stays at 08:00 on both sides of a daylight-saving change. For the digest, a local time
//! that does not exist that day (the hour skipped in spring) is read as the clocks would show it
//! had they not jumped (02:30 is 03:30), and one that happens twice (the hour repeated in autumn)
//! as the first: one digest a day. Quiet hours follow the clocks on the wall instead: they end
//! when the clocks jump past their end, and on each pass of a repeated hour.

use std::fmt;

use chrono::{DateTime, Utc};
use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};

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
        // Digits only: `u16::from_str` would also take a sign (`+8:00`).
        let digits = |part: &str, widths: std::ops::RangeInclusive<usize>| {
            widths.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
        };
        if !digits(hours, 1..=2) || !digits(minutes, 2..=2) {
            return Err(bad());
        }
        let hours: u16 = hours.parse().map_err(|_| bad())?;
        let minutes: u16 = minutes.parse().map_err(|_| bad())?;
        if hours > 23 || minutes > 59 {
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

    /// Whether it is UTC (the default, whose times need no converting).
    pub fn is_utc(&self) -> bool {
        self.name() == "UTC"
    }

    /// An instant as the zone's wall clock shows it, with the zone's abbreviation then
    /// (`CET`, `CEST`, `JST`; an offset such as `+03` where the zone has none).
    pub fn wall_clock(&self, at: DateTime<Utc>) -> (chrono::NaiveDateTime, String) {
        let instant = to_jiff(at);
        let local = self.0.to_datetime(instant);
        let naive = chrono::NaiveDate::from_ymd_opt(
            i32::from(local.year()),
            u32::try_from(local.month()).unwrap_or(1),
            u32::try_from(local.day()).unwrap_or(1),
        )
        .and_then(|date| {
            date.and_hms_opt(
                u32::try_from(local.hour()).unwrap_or(0),
                u32::try_from(local.minute()).unwrap_or(0),
                u32::try_from(local.second()).unwrap_or(0),
            )
        })
        .unwrap_or(at.naive_utc());
        (naive, self.0.to_offset_info(instant).abbreviation().to_owned())
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

/// Which instants of a local time of day count, where daylight saving makes it skipped or
/// repeated.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Once a day: a skipped time as the clocks would show it had they not jumped, a repeated one
    /// on its first pass.
    First,
    /// Whenever the clocks reach it: at the jump that skips it, and on each pass of a repeated one.
    Reached,
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

    /// The instants of a local time on a local date, earliest first (see the module's note on
    /// daylight saving).
    fn instants(&self, date: Date, time: LocalTime, reading: Reading) -> [Option<DateTime<Utc>>; 2] {
        let tz = &self.zone.0;
        let ambiguous = tz.to_ambiguous_timestamp(date.to_datetime(time.time()));
        let [first, second] = match (reading, ambiguous.offset()) {
            (Reading::Reached, AmbiguousOffset::Fold { .. }) => [ambiguous.earlier().ok(), ambiguous.later().ok()],
            // `earlier` is before the jump (the time read with the offset after it): the next
            // transition is the jump itself.
            (Reading::Reached, AmbiguousOffset::Gap { .. }) => {
                [ambiguous.earlier().ok().and_then(|before| tz.following(before).next()).map(|t| t.timestamp()), None]
            }
            _ => [ambiguous.compatible().ok(), None],
        };
        [first.map(from_jiff), second.map(from_jiff)]
    }

    /// The first instant at or after `at` when the local time of day is `time`.
    fn next(&self, at: DateTime<Utc>, time: LocalTime, reading: Reading) -> DateTime<Utc> {
        let (mut date, _) = self.local(at);
        // Yesterday first: an instant late in a skipped hour can belong to it.
        date = date.yesterday().unwrap_or(date);
        for _ in 0..4 {
            if let Some(instant) = self.instants(date, time, reading).into_iter().flatten().find(|i| *i >= at) {
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
            Some(quiet) if self.is_quiet(at) => self.next(at, quiet.until, Reading::Reached),
            _ => at,
        }
    }

    /// The digest's local time: the end of the quiet hours, or [`DIGEST_AT`].
    pub fn digest_time(&self) -> LocalTime {
        self.quiet.map_or(DIGEST_AT, |quiet| quiet.until)
    }

    /// The first digest time at or after `at`.
    pub fn digest_at_or_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.next(at, self.digest_time(), Reading::First)
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
    fn a_wall_clock_shows_local_time_and_the_zones_abbreviation_of_that_day() {
        let rome = Zone::parse("Europe/Rome").unwrap();
        let (winter, name) = rome.wall_clock(at("2026-12-07T08:30:00Z"));
        assert_eq!((winter.to_string(), name.as_str()), ("2026-12-07 09:30:00".to_owned(), "CET"));
        let (summer, name) = rome.wall_clock(at("2026-07-07T08:30:00Z"));
        assert_eq!((summer.to_string(), name.as_str()), ("2026-07-07 10:30:00".to_owned(), "CEST"));
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

    fn calendar(zone: &str, quiet: Option<&str>) -> Calendar {
        Calendar { zone: Zone::parse(zone).unwrap(), quiet: quiet.map(|q| QuietHours::parse(q).unwrap()) }
    }

    #[test]
    fn zone_names_are_stored_as_the_database_spells_them() {
        assert_eq!(Zone::parse(" europe/rome ").unwrap().name(), "Europe/Rome");
        assert_eq!(Zone::parse("UTC").unwrap().name(), "UTC");
        assert_eq!(Zone::utc().name(), "UTC");
        assert_eq!(Zone::parse("utc").unwrap().name(), "UTC");
        assert_eq!(Zone::parse(Zone::parse("America/New_York").unwrap().name()).unwrap().name(), "America/New_York");
    }

    #[test]
    fn tokyo_keeps_its_quiet_hours_at_the_same_utc_hours_all_year() {
        // Japan has no daylight saving: 20:00-08:00 JST is 11:00-23:00 UTC in winter and summer.
        let tokyo = calendar("Asia/Tokyo", Some("20:00-08:00"));
        for day in ["2026-01-15", "2026-07-15"] {
            assert!(!tokyo.is_quiet(at(&format!("{day}T10:59:00Z"))), "{day}");
            assert!(tokyo.is_quiet(at(&format!("{day}T11:00:00Z"))), "{day}");
            assert!(tokyo.is_quiet(at(&format!("{day}T22:59:00Z"))), "{day}");
            assert!(!tokyo.is_quiet(at(&format!("{day}T23:00:00Z"))), "{day}");
            assert_eq!(tokyo.awake_at(at(&format!("{day}T15:00:00Z"))), at(&format!("{day}T23:00:00Z")));
            assert_eq!(tokyo.digest_at_or_after(at(&format!("{day}T15:00:00Z"))), at(&format!("{day}T23:00:00Z")));
        }
    }

    #[test]
    fn new_york_wakes_at_eight_local_on_the_day_the_clocks_fall_back() {
        // 1 November 2026: 02:00 EDT becomes 01:00 EST; 08:00 is 13:00 UTC that day, 12:00 before.
        let ny = calendar("America/New_York", Some("20:00-08:00"));
        assert_eq!(ny.awake_at(at("2026-11-01T05:30:00Z")), at("2026-11-01T13:00:00Z"), "01:30 EDT");
        assert_eq!(ny.awake_at(at("2026-11-01T06:30:00Z")), at("2026-11-01T13:00:00Z"), "01:30 EST");
        assert_eq!(ny.digest_at_or_after(at("2026-10-31T13:00:00Z")), at("2026-11-01T13:00:00Z"));
        assert_eq!(ny.digest_at_or_after(at("2026-10-30T13:00:00Z")), at("2026-10-31T12:00:00Z"));
    }

    #[test]
    fn quiet_hours_that_end_in_the_repeated_hour_end_on_its_second_pass_too() {
        // New York repeats 01:00-02:00 on 1 November 2026 (05:00-06:00 UTC in EDT, 06:00-07:00 in
        // EST). Quiet until 01:30: quiet again from 01:00 EST, and awake at 01:30 EST, not a day on.
        let ny = calendar("America/New_York", Some("22:00-01:30"));
        assert_eq!(ny.awake_at(at("2026-11-01T05:15:00Z")), at("2026-11-01T05:30:00Z"), "01:15 EDT");
        assert!(!ny.is_quiet(at("2026-11-01T05:45:00Z")), "01:45 EDT");
        assert!(ny.is_quiet(at("2026-11-01T06:15:00Z")), "01:15 EST");
        assert_eq!(ny.awake_at(at("2026-11-01T06:15:00Z")), at("2026-11-01T06:30:00Z"), "01:15 EST");
        // The digest is once a day: not again at the second 01:30.
        assert_eq!(ny.digest_at_or_after(at("2026-11-01T05:45:00Z")), at("2026-11-02T06:30:00Z"));
    }

    #[test]
    fn quiet_hours_that_end_in_the_skipped_hour_end_when_the_clocks_jump() {
        // New York jumps from 02:00 EST to 03:00 EDT at 07:00 UTC on 8 March 2026: quiet until 02:30
        // ends at the jump, when the clocks show 03:00, not at 03:30.
        let ny = calendar("America/New_York", Some("22:00-02:30"));
        assert!(ny.is_quiet(at("2026-03-08T06:30:00Z")), "01:30 EST");
        assert_eq!(ny.awake_at(at("2026-03-08T06:30:00Z")), at("2026-03-08T07:00:00Z"));
        assert!(!ny.is_quiet(at("2026-03-08T07:00:00Z")), "03:00 EDT");
        // The digest reads 02:30 as the clocks would show it had they not jumped: 03:30 EDT.
        assert_eq!(ny.digest_at_or_after(at("2026-03-08T06:30:00Z")), at("2026-03-08T07:30:00Z"));
    }

    #[test]
    fn lord_howe_island_moves_its_clocks_by_half_an_hour() {
        // UTC+10:30, and +11 from 02:00 (then 02:30) on 4 October 2026 to 02:00 (then 01:30) on
        // 5 April 2026.
        let island = calendar("Australia/Lord_Howe", Some("20:00-08:00"));
        assert_eq!(island.digest_at_or_after(at("2026-10-02T12:00:00Z")), at("2026-10-02T21:30:00Z"));
        assert_eq!(island.digest_at_or_after(at("2026-10-03T12:00:00Z")), at("2026-10-03T21:00:00Z"));
        assert!(island.is_quiet(at("2026-10-03T20:59:00Z")) && !island.is_quiet(at("2026-10-03T21:00:00Z")));

        // The skipped half hour: quiet until 02:15 ends at the jump (15:30 UTC, 02:30 on the clocks).
        let skipped = calendar("Australia/Lord_Howe", Some("22:00-02:15"));
        assert_eq!(skipped.awake_at(at("2026-10-03T15:20:00Z")), at("2026-10-03T15:30:00Z"), "01:50");
        // The repeated half hour, 01:30-02:00: quiet until 01:45 ends on both passes.
        let repeated = calendar("Australia/Lord_Howe", Some("22:00-01:45"));
        assert_eq!(repeated.awake_at(at("2026-04-04T14:35:00Z")), at("2026-04-04T14:45:00Z"), "01:35, +11");
        assert!(repeated.is_quiet(at("2026-04-04T15:05:00Z")), "01:35, +10:30");
        assert_eq!(repeated.awake_at(at("2026-04-04T15:05:00Z")), at("2026-04-04T15:15:00Z"), "01:35, +10:30");
    }

    #[test]
    fn a_time_of_day_is_digits_and_a_colon_only() {
        for bad in ["+8:00", "08:+5", "8:5", "-0:00", "08h00", "0800", "８:００"] {
            assert!(LocalTime::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(LocalTime::parse("8:05").unwrap().to_string(), "08:05");
        assert_eq!(LocalTime::parse("23:59").unwrap().minutes(), 1439);
    }
}
