//! Dates and durations as people type them on a command line or in chat: `2026-12-01`,
//! `2026-12-01 09:30`, RFC 3339, `now`, or a duration from now such as `+3d`, `in 2h`, `90m`;
//! and time arithmetic on values from outside (networks' waits and lifetimes, settings, API and
//! command-line input), which saturates or is refused instead of overflowing.
//!
//! Every wait a network asks for (`Retry-After`, `x-rate-limit-reset`, Telegram's and Discord's
//! `retry_after`, Meta's usage headers) goes through [`network_wait`]: at most
//! [`MAX_NETWORK_WAIT`], one day. Every token lifetime a network states goes through
//! [`token_lifetime`]: at most [`MAX_TOKEN_LIFETIME`], ten years. Instants typed by people are
//! refused beyond [`MAX_INPUT_AHEAD`] (a hundred years from now) or before the Unix epoch.

use std::time::Duration as StdDuration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};

use crate::domain::ParseError;

/// The longest wait relink honours when a network asks it to wait: one day. A network that asks
/// for longer is asked again after a day (its answer may have been a mistake or an attack).
pub const MAX_NETWORK_WAIT: StdDuration = StdDuration::from_secs(86_400);

/// The longest token lifetime relink believes from a network: ten years. A longer `expires_in`
/// (or an end further ahead) is read as ten years; the checker still looks at the token on its
/// calm cadence.
pub const MAX_TOKEN_LIFETIME: StdDuration = StdDuration::from_secs(10 * 366 * 86_400);

/// How far ahead a typed instant or duration may reach: a hundred years.
pub const MAX_INPUT_AHEAD: StdDuration = StdDuration::from_secs(100 * 366 * 86_400);

/// A wait a network asked for, clamped to [`MAX_NETWORK_WAIT`].
pub fn network_wait(asked: StdDuration) -> StdDuration {
    asked.min(MAX_NETWORK_WAIT)
}

/// A wait a network asked for in seconds, clamped to [`MAX_NETWORK_WAIT`].
pub fn network_wait_secs(seconds: u64) -> StdDuration {
    network_wait(StdDuration::from_secs(seconds))
}

/// A wait a network asked for in fractional seconds (Discord's `retry_after` and
/// `X-RateLimit-Reset-After`), clamped to [`MAX_NETWORK_WAIT`]; `None` when it is not a
/// non-negative number.
pub fn network_wait_secs_f64(seconds: f64) -> Option<StdDuration> {
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    Some(StdDuration::try_from_secs_f64(seconds).map_or(MAX_NETWORK_WAIT, network_wait))
}

/// A token lifetime a network stated in seconds, clamped to [`MAX_TOKEN_LIFETIME`].
pub fn token_lifetime(seconds: u64) -> StdDuration {
    StdDuration::from_secs(seconds).min(MAX_TOKEN_LIFETIME)
}

/// An instant a network stated (a token's end), no further than [`MAX_TOKEN_LIFETIME`] from `now`.
pub fn network_instant(now: DateTime<Utc>, at: DateTime<Utc>) -> DateTime<Utc> {
    at.min(after(now, MAX_TOKEN_LIFETIME))
}

/// `at + wait`, saturating at the last representable instant.
pub fn after(at: DateTime<Utc>, wait: StdDuration) -> DateTime<Utc> {
    TimeDelta::from_std(wait).ok().and_then(|delta| at.checked_add_signed(delta)).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at - wait`, saturating at the first representable instant.
pub fn before(at: DateTime<Utc>, wait: StdDuration) -> DateTime<Utc> {
    TimeDelta::from_std(wait).ok().and_then(|delta| at.checked_sub_signed(delta)).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// `at + delta` for a signed delta, saturating at either end of the representable range.
pub fn add(at: DateTime<Utc>, delta: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(delta).unwrap_or(if delta < TimeDelta::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// A standard duration as a signed delta, saturating at [`TimeDelta::MAX`].
pub fn delta(wait: StdDuration) -> TimeDelta {
    TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX)
}

/// Parses a duration such as `3d`, `2h 30m`, `1w`, no longer than [`MAX_INPUT_AHEAD`].
pub fn parse_duration(field: &'static str, raw: &str) -> Result<chrono::Duration, ParseError> {
    let text = raw.trim();
    let std = humantime::parse_duration(text)
        .map_err(|_| ParseError::new(field, format!("`{text}` is not a duration (try 30m, 2h, 3d, 1w)")))?;
    if std > MAX_INPUT_AHEAD {
        return Err(ParseError::new(field, format!("`{text}` is too long (at most 100 years)")));
    }
    chrono::Duration::from_std(std).map_err(|_| ParseError::new(field, format!("`{text}` is too long")))
}

/// Refuses an instant before the Unix epoch or more than [`MAX_INPUT_AHEAD`] after `now`.
fn in_range(
    field: &'static str,
    text: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ParseError> {
    if at < DateTime::UNIX_EPOCH || at > after(now, MAX_INPUT_AHEAD) {
        return Err(ParseError::new(field, format!("`{text}` is out of range (from 1970 to 100 years from now)")));
    }
    Ok(at)
}

/// Parses an instant, in UTC unless an offset is given.
pub fn parse_instant(field: &'static str, raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ParseError> {
    let text = raw.trim();
    let at = parse_any_instant(field, text, now)?;
    in_range(field, text, at, now)
}

fn parse_any_instant(field: &'static str, text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ParseError> {
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(rest) = text.strip_prefix('+').or_else(|| text.strip_prefix("in ")) {
        return Ok(add(now, parse_duration(field, rest)?));
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.to_utc());
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(at.and_utc());
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(ParseError::new(
        field,
        format!("`{text}` is not a date (try 2026-12-01, 2026-12-01 09:30, an RFC 3339 time, now, or +3d)"),
    ))
}

/// Milliseconds since the Unix epoch: how instants are stored in both databases.
pub fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// The inverse of [`to_millis`]; out-of-range values (a corrupted row) read as the epoch's limits.
pub fn from_millis(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or(if millis < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_in_the_forms_people_type() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc();
        let table = [
            ("now", "2026-03-01T12:00:00+00:00"),
            ("+3d", "2026-03-04T12:00:00+00:00"),
            ("in 2h", "2026-03-01T14:00:00+00:00"),
            ("2026-12-01", "2026-12-01T00:00:00+00:00"),
            ("2026-12-01 09:30", "2026-12-01T09:30:00+00:00"),
            ("2026-12-01T09:30:00+02:00", "2026-12-01T07:30:00+00:00"),
        ];
        for (raw, expected) in table {
            assert_eq!(parse_instant("at", raw, now).unwrap().to_rfc3339(), expected, "{raw}");
        }
        for raw in ["tomorrow-ish", "2026-13-01", "+3 parsecs", ""] {
            assert_eq!(parse_instant("at", raw, now).unwrap_err().field, "at", "{raw}");
        }
    }

    #[test]
    fn an_instant_a_hundred_million_days_ahead_is_refused_naming_the_field() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc();
        for raw in ["+100000000d", "in 100000000d", "+200y", "+9223372036854775807s", "+99999999999999999999s"] {
            let error = parse_instant("due_at", raw, now).unwrap_err();
            assert_eq!(error.field, "due_at", "{raw}");
        }
        for raw in ["+262143-01-01T00:00:00Z", "9999-12-31", "1969-12-31T23:59:59Z"] {
            assert_eq!(parse_instant("at", raw, now).unwrap_err().field, "at", "{raw}");
        }
        assert_eq!(parse_duration("for", "100000000d").unwrap_err().field, "for");
        assert!(parse_instant("at", "+99y", now).is_ok());
    }

    #[test]
    fn time_arithmetic_on_outside_values_saturates() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc();
        assert_eq!(after(now, StdDuration::from_secs(u64::MAX)), DateTime::<Utc>::MAX_UTC);
        assert_eq!(before(now, StdDuration::from_secs(u64::MAX)), DateTime::<Utc>::MIN_UTC);
        assert_eq!(add(DateTime::<Utc>::MAX_UTC, TimeDelta::days(1)), DateTime::<Utc>::MAX_UTC);
        assert_eq!(add(DateTime::<Utc>::MIN_UTC, TimeDelta::days(-1)), DateTime::<Utc>::MIN_UTC);
        assert_eq!(network_wait_secs(100_000_000_000_000), MAX_NETWORK_WAIT);
        assert_eq!(network_wait_secs(30), StdDuration::from_secs(30));
        assert_eq!(token_lifetime(u64::MAX), MAX_TOKEN_LIFETIME);
        assert_eq!(network_wait_secs_f64(1e300), Some(MAX_NETWORK_WAIT));
        assert_eq!(network_wait_secs_f64(f64::INFINITY), Some(MAX_NETWORK_WAIT));
        assert_eq!(network_wait_secs_f64(0.25), Some(StdDuration::from_millis(250)));
        assert_eq!(network_wait_secs_f64(-1.0), None);
        assert_eq!(network_wait_secs_f64(f64::NAN), None);
        assert_eq!(network_instant(now, DateTime::<Utc>::MAX_UTC), after(now, MAX_TOKEN_LIFETIME));
        assert_eq!(delta(StdDuration::from_secs(u64::MAX)), TimeDelta::MAX);
    }

    #[test]
    fn millis_round_trip() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T12:00:00.123Z").unwrap().to_utc();
        assert_eq!(from_millis(to_millis(at)), at);
    }

    mod properties {
        //! Whatever a person types where a date or a duration is expected, the parsers answer
        //! `Ok` or an error naming the field; they never panic.

        use proptest::prelude::*;

        use super::*;

        /// The largest count of a unit (`+Nd`, `Ny`…) the properties type: any, far past
        /// chrono's range, which the parser must refuse naming the field.
        const LARGEST_COUNT: u64 = u64::MAX;

        fn now() -> impl Strategy<Value = DateTime<Utc>> {
            // Any instant from year 2 to year 9998, to the millisecond (a day's offset away from
            // RFC 3339's four-digit years).
            (-62_104_060_800_000_i64..253_370_764_800_000).prop_map(from_millis)
        }

        fn unit() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec!["", "s", "m", "h", "d", "w", "M", "y", "ms", "us", "ns", "min", "days", "x"])
        }

        /// Text shaped like what people type, with noise around it.
        fn typed() -> impl Strategy<Value = String> {
            let prefix = prop::sample::select(vec!["", "+", "in ", "+ ", "-", "now", " "]);
            (prefix, 0..LARGEST_COUNT, unit(), any::<bool>(), ".{0,3}").prop_map(|(prefix, n, unit, space, tail)| {
                format!("{prefix}{n}{}{unit}{tail}", if space { " " } else { "" })
            })
        }

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![any::<String>(), typed(), "[0-9T:+. -]{0,40}", "[+]?[0-9]{1,30}[a-z]{0,4}"]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn a_duration_parses_or_names_its_field(raw in text()) {
                if let Err(error) = parse_duration("duration", &raw) {
                    prop_assert_eq!(error.field, "duration");
                }
            }

            #[test]
            fn an_instant_parses_or_names_its_field(raw in text(), now in now()) {
                if let Err(error) = parse_instant("at", &raw, now) {
                    prop_assert_eq!(error.field, "at");
                }
            }

            #[test]
            fn plus_n_days_is_n_days_from_now(n in prop_oneof![0..80_000_u64, 0..LARGEST_COUNT], now in now()) {
                // Within a hundred years from now and not before 1970, else refused.
                let expected = i64::try_from(n)
                    .ok()
                    .and_then(chrono::Duration::try_days)
                    .and_then(|d| now.checked_add_signed(d))
                    .filter(|at| *at >= DateTime::UNIX_EPOCH && *at <= after(now, MAX_INPUT_AHEAD));
                match (parse_instant("at", &format!("+{n}d"), now), expected) {
                    (Ok(at), Some(expected)) => prop_assert_eq!(at, expected),
                    (Err(error), None) => prop_assert_eq!(error.field, "at"),
                    (got, expected) => prop_assert!(false, "+{n}d from {now}: {got:?}, expected {expected:?}"),
                }
            }

            #[test]
            fn an_rfc_3339_instant_reads_back_as_itself(at in now().prop_filter("from 1970", |at| *at >= DateTime::UNIX_EPOCH), offset_minutes in -1439_i32..1440) {
                let offset = chrono::FixedOffset::east_opt(offset_minutes * 60).ok_or_else(|| TestCaseError::reject("offset"))?;
                let text = at.with_timezone(&offset).to_rfc3339();
                prop_assert_eq!(parse_instant("at", &text, at).map_err(|e| TestCaseError::fail(e.to_string()))?, at);
            }

            #[test]
            fn millis_read_back_whatever_a_row_holds(millis in any::<i64>()) {
                let at = from_millis(millis);
                if DateTime::from_timestamp_millis(millis).is_some() {
                    prop_assert_eq!(to_millis(at), millis);
                }
            }
        }
    }
}
