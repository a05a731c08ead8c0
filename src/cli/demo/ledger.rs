//! The demo's ledger: every message and edit its terminal shows (who read it, when, the alert's
//! kind, the channels it names), the story's calendar that stamps them (`[day 2, 08:00]`, local
//! time in the team's zone), and the accounting drawn from both at the end: messages per reader,
//! when each reader first heard of each of the story's problems, and whether the week's targets
//! hold.
//!
//! It reads only what reached the readers and when relink knew of a problem (the time the
//! channel's health changed), never how the alerts planner decided, so its numbers keep their
//! meaning whatever the planner groups, digests or holds back.
//!
//! The story's clock jumps an hour at a time, so its times are whole hours: "within an hour"
//! means in the story's same hour or the next.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use jiff::tz::TimeZone;
use relink_core::ChannelId;
use relink_core::alerts::{AlertKind, Calendar, Destination};

/// One message shown to a reader, or one earlier message of theirs edited.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub to: Destination,
    pub kind: AlertKind,
    pub edit: bool,
    /// The channels it names, each with whether it is named as connected again (a resolved line
    /// of an edited digest).
    pub channels: Vec<(ChannelId, bool)>,
}

impl Entry {
    /// Whether it tells its reader something is wrong with `channel`: it names the channel, not
    /// as connected again, and it is not a resolution.
    fn tells_of(&self, channel: ChannelId) -> bool {
        self.kind != AlertKind::Resolved && self.channels.iter().any(|(id, resolved)| *id == channel && !resolved)
    }
}

/// Every entry so far, in the order shown.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: Mutex<Vec<Entry>>,
}

impl Ledger {
    pub fn record(&self, entry: Entry) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).push(entry);
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// Messages sent to `to`, and edits of earlier ones.
pub fn counts(entries: &[Entry], to: Destination) -> (usize, usize) {
    let mine = entries.iter().filter(|e| e.to == to);
    let edited = mine.clone().filter(|e| e.edit).count();
    (mine.count() - edited, edited)
}

/// The story's calendar: it starts at midnight in the team's time zone and tells instants as
/// the story's day and local hour.
#[derive(Debug, Clone)]
pub struct Week {
    start: DateTime<Utc>,
    zone: TimeZone,
}

impl Week {
    /// The week starting at the first midnight in `zone` at or after `after`.
    pub fn starting(after: DateTime<Utc>, zone: TimeZone) -> anyhow::Result<Self> {
        let local = jiff::Timestamp::from_millisecond(after.timestamp_millis())?.to_zoned_datetime(zone.clone());
        let mut midnight = local.start_of_day()?;
        if midnight.timestamp() < local.timestamp() {
            midnight = midnight.tomorrow()?.start_of_day()?;
        }
        let start = DateTime::from_timestamp_millis(midnight.timestamp().as_millisecond())
            .ok_or_else(|| anyhow::anyhow!("midnight in {} is out of range", zone.iana_name().unwrap_or("UTC")))?;
        Ok(Self { start, zone })
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Whole hours of the story at `at` (0 before it starts).
    pub fn hour_of(&self, at: DateTime<Utc>) -> i64 {
        (at - self.start).num_hours().max(0)
    }

    /// `[day 2, 08:00]`: the story's day and the local time of its hour at `at`.
    pub fn stamp(&self, at: DateTime<Utc>) -> String {
        let hour = self.start.checked_add_signed(Duration::hours(self.hour_of(at))).unwrap_or(self.start);
        let local = |at: DateTime<Utc>| {
            jiff::Timestamp::from_millisecond(at.timestamp_millis()).map(|t| t.to_zoned_datetime(self.zone.clone()))
        };
        match (local(self.start), local(hour)) {
            (Ok(first), Ok(now)) => {
                let day = first.date().until(now.date()).map_or(0, |span| span.get_days());
                format!("[day {}, {:02}:{:02}]", day + 1, now.hour(), now.minute())
            }
            _ => format!("[hour {}]", self.hour_of(at)),
        }
    }
}

/// One of the story's problems.
#[derive(Debug, Clone)]
pub struct Trouble {
    pub what: &'static str,
    pub channels: Vec<ChannelId>,
    /// When it began in the story; for a token running out, the story's start (its warnings are
    /// how a team hears of it in time).
    pub began: DateTime<Utc>,
    /// When relink knew: the first change of health of its channels since it began.
    pub known: Option<DateTime<Utc>>,
    /// When relink knew it was over, if it is.
    pub over: Option<DateTime<Utc>>,
    /// A post was due within a day on one of its channels: it could not wait for the morning.
    pub urgent: bool,
}

impl Trouble {
    /// The first entry that told `to` of it while it lasted.
    pub fn first_heard<'a>(&self, entries: &'a [Entry], to: Destination) -> Option<&'a Entry> {
        entries
            .iter()
            .filter(|e| e.to == to && e.at >= self.began && self.over.is_none_or(|over| e.at < over))
            .filter(|e| self.channels.iter().any(|channel| e.tells_of(*channel)))
            .min_by_key(|e| e.at)
    }

    /// Whether `entry` names every one of its channels as having the problem.
    pub fn all_in(&self, entry: &Entry) -> bool {
        self.channels.iter().all(|channel| entry.tells_of(*channel))
    }

    /// The last story hour by which someone who can fix it should have heard: the hour after
    /// relink knew, or after the quiet hours end when it could wait until then.
    pub fn due_hour(&self, week: &Week, calendar: &Calendar) -> Option<i64> {
        let known = self.known?;
        let from = if self.urgent { known } else { calendar.awake_at(known) };
        Some(week.hour_of(from).saturating_add(1))
    }
}

/// "+2 h": how long after relink knew, in the story's hours.
pub fn after(week: &Week, known: DateTime<Utc>, heard: DateTime<Utc>) -> String {
    format!("+{} h", week.hour_of(heard).saturating_sub(week.hour_of(known)).max(0))
}

#[cfg(test)]
mod tests {
    use relink_core::alerts::{QuietHours, Zone};

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()).unwrap_or_default()
    }

    fn rome() -> Week {
        Week::starting(at("2026-12-07T03:38:00Z"), TimeZone::get("Europe/Rome").unwrap()).unwrap()
    }

    const FACEBOOK: ChannelId = ChannelId(1);
    const INSTAGRAM: ChannelId = ChannelId(2);
    const DANA: Destination = Destination::DiscordUser(1);

    fn entry(at_: &str, kind: AlertKind, edit: bool, channels: &[(ChannelId, bool)]) -> Entry {
        Entry { at: at(at_), to: DANA, kind, edit, channels: channels.to_vec() }
    }

    fn password(over: Option<&str>) -> Trouble {
        Trouble {
            what: "password",
            channels: vec![FACEBOOK, INSTAGRAM],
            began: at("2026-12-09T05:00:00Z"),
            known: Some(at("2026-12-09T05:10:00Z")),
            over: over.map(at),
            urgent: false,
        }
    }

    #[test]
    fn the_week_starts_at_the_next_midnight_in_the_team_zone_and_stamps_local_hours() {
        let week = rome();
        // 8 December 00:00 in Rome is 7 December 23:00 UTC.
        assert_eq!(week.start(), at("2026-12-07T23:00:00Z"));
        assert_eq!(week.stamp(at("2026-12-09T07:30:00Z")), "[day 2, 08:00]");
        assert_eq!(week.stamp(at("2026-12-08T07:30:00Z")), "[day 1, 08:00]");
        assert_eq!(week.stamp(at("2026-12-07T23:59:00Z")), "[day 1, 00:00]");
        let tokyo = Week::starting(at("2026-12-07T03:38:00Z"), TimeZone::get("Asia/Tokyo").unwrap()).unwrap();
        assert_eq!(tokyo.start(), at("2026-12-07T15:00:00Z"));
        // Already midnight: the week starts there.
        assert_eq!(Week::starting(week.start(), TimeZone::get("Europe/Rome").unwrap()).unwrap().start(), week.start());
    }

    #[test]
    fn a_week_across_a_daylight_saving_change_keeps_its_local_hours() {
        // Rome moves its clocks back on 25 October 2026, 03:00 → 02:00.
        let week = Week::starting(at("2026-10-24T12:00:00Z"), TimeZone::get("Europe/Rome").unwrap()).unwrap();
        assert_eq!(week.start(), at("2026-10-24T22:00:00Z"));
        // 25 hours after midnight of the 25th is midnight of the 26th.
        assert_eq!(week.stamp(at("2026-10-25T23:00:00Z")), "[day 2, 00:00]");
    }

    #[test]
    fn a_resolution_does_not_count_as_hearing_of_a_problem() {
        let trouble = password(None);
        let entries = [entry("2026-12-09T06:00:00Z", AlertKind::Resolved, false, &[(FACEBOOK, false)])];
        assert_eq!(trouble.first_heard(&entries, DANA), None);
    }

    #[test]
    fn a_resolved_line_of_an_edited_digest_does_not_count_as_hearing_of_a_problem() {
        let trouble = password(None);
        let resolved = entry("2026-12-09T07:00:00Z", AlertKind::Reminder, true, &[(FACEBOOK, true)]);
        assert_eq!(trouble.first_heard(std::slice::from_ref(&resolved), DANA), None);
        let open = entry("2026-12-09T08:00:00Z", AlertKind::Reminder, true, &[(FACEBOOK, true), (INSTAGRAM, false)]);
        assert_eq!(trouble.first_heard(&[resolved, open.clone()], DANA), Some(&open));
    }

    #[test]
    fn a_warning_before_the_channel_breaks_counts_as_hearing_of_it() {
        let linkedin = Trouble {
            what: "linkedin",
            channels: vec![ChannelId(3)],
            began: at("2026-12-07T23:00:00Z"),
            known: Some(at("2026-12-08T00:00:00Z")),
            over: None,
            urgent: false,
        };
        let warning = Entry {
            at: at("2026-12-09T07:00:00Z"),
            to: DANA,
            kind: AlertKind::Expiring,
            edit: false,
            channels: vec![(ChannelId(3), false)],
        };
        assert_eq!(linkedin.first_heard(std::slice::from_ref(&warning), DANA), Some(&warning));
    }

    #[test]
    fn messages_before_a_problem_began_or_after_it_was_over_do_not_count() {
        let trouble = password(Some("2026-12-10T05:00:00Z"));
        let before = entry("2026-12-09T04:00:00Z", AlertKind::Disconnected, false, &[(FACEBOOK, false)]);
        let after = entry("2026-12-10T06:00:00Z", AlertKind::Reminder, false, &[(FACEBOOK, false)]);
        assert_eq!(trouble.first_heard(&[before, after], DANA), None);
    }

    #[test]
    fn one_message_names_both_channels_or_it_is_two() {
        let trouble = password(None);
        let both =
            entry("2026-12-09T06:00:00Z", AlertKind::Disconnected, false, &[(FACEBOOK, false), (INSTAGRAM, false)]);
        let one = entry("2026-12-09T06:00:00Z", AlertKind::Disconnected, false, &[(INSTAGRAM, false)]);
        assert!(trouble.all_in(&both));
        assert!(!trouble.all_in(&one));
    }

    #[test]
    fn counts_tell_sent_messages_from_edits() {
        let entries = [
            entry("2026-12-09T06:00:00Z", AlertKind::Disconnected, false, &[]),
            entry("2026-12-09T07:00:00Z", AlertKind::Resolved, true, &[]),
            Entry {
                to: Destination::TelegramChat(-1),
                ..entry("2026-12-09T06:00:00Z", AlertKind::Reminder, false, &[])
            },
        ];
        assert_eq!(counts(&entries, DANA), (1, 1));
        assert_eq!(counts(&entries, Destination::TelegramChat(-1)), (1, 0));
    }

    #[test]
    fn a_problem_that_can_wait_is_due_an_hour_after_the_quiet_hours_end() {
        let week = rome();
        let calendar = Calendar {
            zone: Zone::parse("Europe/Rome").unwrap(),
            quiet: Some(QuietHours::parse("20:00-08:00").unwrap()),
        };
        // Known at 06:10 Rome time on day 2 (story hour 30): due by 09:00 (hour 33), or by
        // 07:00 (hour 31) when urgent.
        let trouble = password(None);
        assert_eq!(trouble.due_hour(&week, &calendar), Some(33));
        assert_eq!(Trouble { urgent: true, ..trouble.clone() }.due_hour(&week, &calendar), Some(31));
        assert_eq!(after(&week, at("2026-12-09T05:10:00Z"), at("2026-12-09T09:00:00Z")), "+4 h");
        assert_eq!(Trouble { known: None, ..trouble }.due_hour(&week, &calendar), None);
    }
}
