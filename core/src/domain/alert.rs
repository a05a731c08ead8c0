//! The alert model, below the store that keeps it and the alerts engine that plans it: the
//! platform-neutral [`Alert`] (what happened, to which channels, why in plain words, what to do,
//! who authorised the channels, which posts are at risk, and the reconnect action), where
//! deliveries go ([`Destination`]), the [`Incident`] an alert speaks for, a team's own alert
//! settings, and what one alerts pass reads ([`AlertSnapshot`]) and writes ([`AlertPlan`]).
//!
//! The engine builds an alert already localized in the team's language; each chat platform's
//! renderer turns it into a message (and the reconnect action into a link or a button).

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::domain::{
    Channel, ChannelId, ChatBinding, ChatPlatform, Event, Language, Member, MemberId, ParseError, Provider, Reason,
    Team, TeamId, id_type, keyword_enum,
};

id_type!(
    /// An alert's row id.
    AlertId, "alert id"
);

id_type!(
    /// An incident's row id.
    IncidentId, "incident id"
);

id_type!(
    /// A delivery's row id.
    DeliveryId, "delivery id"
);

keyword_enum! {
    /// What an alert says: a token relink cannot renew ends soon (`expiring`, at a warning
    /// threshold); a channel needs reconnecting (`disconnected`) and still does (`reminder`);
    /// nobody acted in time, so everyone who may reconnect and the team's chats are told
    /// (`escalated`); checks have failed transiently for long (`degraded`); the channel works
    /// again (`resolved`); relink's own app or bot has a problem (`operator_problem`: for
    /// operators, never for teams).
    AlertKind, "alert kind", {
        Expiring => "expiring",
        Disconnected => "disconnected",
        Reminder => "reminder",
        Escalated => "escalated",
        Degraded => "degraded",
        Resolved => "resolved",
        OperatorProblem => "operator_problem",
    }
}

keyword_enum! {
    /// How loud an alert is; `urgent`: a post is due within 24 hours on a channel that needs
    /// reconnecting.
    Severity, "severity", {
        Info => "info",
        Warning => "warning",
        Critical => "critical",
        Urgent => "urgent",
    }
}

/// One channel an alert speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertChannel {
    pub id: ChannelId,
    pub name: String,
    pub network: Provider,
    /// This channel's own posts at risk (the alert's `at_risk` adds them up).
    #[serde(default)]
    pub at_risk: AtRisk,
    /// A post is due within 24 hours on it while it needs reconnecting.
    #[serde(default)]
    pub urgent: bool,
    /// In a reminder digest, what is wrong with it in the team's language
    /// ("needs reconnecting: password changed", "access ends 5 Feb").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// In a reminder digest, who authorised it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorised_by: Option<String>,
    /// In an edited reminder digest: connected again since the digest was sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resolved: bool,
}

impl AlertChannel {
    /// A channel of an alert, with nothing at risk and no digest line yet.
    pub fn new(id: ChannelId, name: impl Into<String>, network: Provider) -> Self {
        Self {
            id,
            name: name.into(),
            network,
            at_risk: AtRisk::default(),
            urgent: false,
            status: None,
            authorised_by: None,
            resolved: false,
        }
    }
}

/// Scheduled posts that will fail unless someone acts: posts due after the expected
/// disconnection, or every pending post once disconnected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtRisk {
    pub count: u32,
    pub first_due: Option<DateTime<Utc>>,
}

impl AtRisk {
    /// The posts among `due` (pending posts' due times) that are at or after `from`.
    pub fn of(due: &[DateTime<Utc>], from: DateTime<Utc>) -> Self {
        let at_risk = due.iter().filter(|at| **at >= from);
        Self { count: u32::try_from(at_risk.clone().count()).unwrap_or(u32::MAX), first_due: at_risk.min().copied() }
    }

    /// Both sets of posts together.
    pub fn plus(self, other: AtRisk) -> Self {
        let first_due = match (self.first_due, other.first_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Self { count: self.count.saturating_add(other.count), first_due }
    }
}

/// "Reconnect these channels": renderers turn it into a link or a button through a
/// [`LinkMinter`](super::LinkMinter); the link itself is never stored with the alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconnectAction {
    pub team_id: TeamId,
    pub channel_ids: Vec<ChannelId>,
}

/// An alert, localized, as every platform receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Set when read from the store; not part of the stored body.
    #[serde(skip, default = "unsaved")]
    pub id: AlertId,
    pub kind: AlertKind,
    pub severity: Severity,
    pub language: Language,
    pub team_id: TeamId,
    pub team: String,
    pub channels: Vec<AlertChannel>,
    /// The incidents it speaks for (what "acknowledge" and "snooze" buttons act on).
    pub incidents: Vec<IncidentId>,
    /// The reason's stored spelling (`password_changed`), when there is one.
    pub reason: Option<String>,
    /// What the network said, or the operator problem, in plain words (never a token).
    pub detail: Option<String>,
    /// One line: what happened.
    pub title: String,
    /// Why, in plain words.
    pub explanation: String,
    /// What to do.
    pub remedy: String,
    /// The member who authorised the channels, so everyone knows whose account is involved.
    pub authorised_by: Option<String>,
    pub at_risk: AtRisk,
    /// When an expiring token ends.
    pub deadline: Option<DateTime<Utc>>,
    pub reconnect: Option<ReconnectAction>,
    /// The earlier alert this one resolves: platforms that can edit a sent message mark it resolved.
    pub edits: Option<AlertId>,
    /// A digest's problems beyond those it lists by name (its title counts them all).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unlisted: u32,
    /// The team's time zone (IANA name) its dates are shown in; `None`: UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl AlertId {
    /// The id of an alert not stored yet.
    pub const UNSAVED: AlertId = AlertId(0);
}

fn unsaved() -> AlertId {
    AlertId::UNSAVED
}

/// Where a delivery goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// A member's direct messages on Discord.
    DiscordUser(i64),
    /// A member's private chat with the bot on Telegram.
    TelegramUser(i64),
    /// A Discord channel bound to a team (or the operators' channel).
    DiscordChannel(i64),
    /// A Telegram chat bound to a team (or the operators' chat).
    TelegramChat(i64),
    /// relink's own log: where alerts go when no chat can take them.
    Log,
}

impl Destination {
    /// The chat platform that carries it; `None` for the log.
    pub fn platform(self) -> Option<ChatPlatform> {
        match self {
            Destination::DiscordUser(_) | Destination::DiscordChannel(_) => Some(ChatPlatform::Discord),
            Destination::TelegramUser(_) | Destination::TelegramChat(_) => Some(ChatPlatform::Telegram),
            Destination::Log => None,
        }
    }

    /// Whether only one member reads it: reconnect links go only there.
    pub fn is_private(self) -> bool {
        matches!(self, Destination::DiscordUser(_) | Destination::TelegramUser(_))
    }

    /// A chat of the platform (`discord:ID`, `telegram:ID`), as operators configure it.
    pub fn chat(platform: ChatPlatform, chat_id: i64) -> Self {
        match platform {
            ChatPlatform::Discord => Destination::DiscordChannel(chat_id),
            ChatPlatform::Telegram => Destination::TelegramChat(chat_id),
        }
    }

    /// Parses an operator destination: `log`, `discord:CHANNEL_ID` or `telegram:CHAT_ID`.
    pub fn parse_operator(raw: &str) -> Result<Self, ParseError> {
        let text = raw.trim();
        if text.eq_ignore_ascii_case("log") {
            return Ok(Destination::Log);
        }
        let bad = || ParseError::new("operator destination", format!("`{text}` is not log, discord:ID or telegram:ID"));
        let (platform, id) = text.split_once(':').ok_or_else(bad)?;
        let platform: ChatPlatform = platform.parse().map_err(|_| bad())?;
        Ok(Destination::chat(platform, platform.parse_chat_id(id)?))
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::DiscordUser(id) => write!(f, "discord_user:{id}"),
            Destination::TelegramUser(id) => write!(f, "telegram_user:{id}"),
            Destination::DiscordChannel(id) => write!(f, "discord:{id}"),
            Destination::TelegramChat(id) => write!(f, "telegram:{id}"),
            Destination::Log => f.write_str("log"),
        }
    }
}

impl std::str::FromStr for Destination {
    type Err = ParseError;

    /// Reads the stored spelling back (see the `Display` implementation).
    fn from_str(raw: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("destination", format!("`{raw}` is not a destination"));
        if raw == "log" {
            return Ok(Destination::Log);
        }
        let (kind, id) = raw.split_once(':').ok_or_else(bad)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        match kind {
            "discord_user" => Ok(Destination::DiscordUser(id)),
            "telegram_user" => Ok(Destination::TelegramUser(id)),
            "discord" => Ok(Destination::DiscordChannel(id)),
            "telegram" => Ok(Destination::TelegramChat(id)),
            _ => Err(bad()),
        }
    }
}

/// The platform's reference to a sent message (a message id with its chat), kept to edit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRef(pub String);

/// A reconnect link for one channel of an alert: a secret until used or expired.
pub struct ChannelLink {
    pub channel_id: ChannelId,
    pub url: SecretString,
}

impl fmt::Debug for ChannelLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelLink").field("channel_id", &self.channel_id).field("url", &"[REDACTED]").finish()
    }
}

keyword_enum! {
    /// What is wrong with a channel: its token ends soon and relink cannot renew it; a person
    /// must reconnect it; checks have been failing transiently; relink's own app or bot has a
    /// problem (for operators).
    Problem, "problem", {
        Expiring => "expiring",
        NeedsReauth => "needs_reauth",
        Degraded => "degraded",
        OperatorProblem => "operator_problem",
    }
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// `None` until the engine's transaction inserts it.
    pub id: Option<IncidentId>,
    pub team_id: TeamId,
    pub channel_id: ChannelId,
    pub problem: Problem,
    pub reason: Option<Reason>,
    pub detail: Option<String>,
    /// When an expiring token ends.
    pub deadline: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    /// The smallest warning threshold, in days, already passed.
    pub warned_days: Option<u32>,
    pub reminders: u32,
    pub next_reminder_at: Option<DateTime<Utc>>,
    pub escalate_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub urgent: bool,
    /// When the team was told the channel turned urgent: news once, then the digest's.
    pub urgent_told_at: Option<DateTime<Utc>>,
    pub last_alert_at: Option<DateTime<Utc>>,
    pub first_alert_id: Option<AlertId>,
    pub first_alert_shared: bool,
    pub acknowledged_by: Option<MemberId>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub snoozed_by: Option<MemberId>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub next_action_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl Incident {
    /// A new, open incident.
    pub fn open(team_id: TeamId, channel_id: ChannelId, problem: Problem, at: DateTime<Utc>) -> Self {
        Self {
            id: None,
            team_id,
            channel_id,
            problem,
            reason: None,
            detail: None,
            deadline: None,
            opened_at: at,
            warned_days: None,
            reminders: 0,
            next_reminder_at: None,
            escalate_at: None,
            escalated_at: None,
            urgent: false,
            urgent_told_at: None,
            last_alert_at: None,
            first_alert_id: None,
            first_alert_shared: false,
            acknowledged_by: None,
            acknowledged_at: None,
            snoozed_by: None,
            snoozed_until: None,
            next_action_at: None,
            resolved_at: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    pub fn is_snoozed(&self, now: DateTime<Utc>) -> bool {
        self.snoozed_until.is_some_and(|until| until > now)
    }
}

/// The widest warning threshold, in days: warnings start when the checker marks a channel
/// `expiring`, which it does this many days ahead (the checker's widest warning).
pub const MAX_WARNING_DAYS: u32 = 14;

/// A team's own settings; `None` keeps the installation's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsOverride {
    pub warning_days: Option<Vec<u32>>,
    pub first_reminder: Option<Duration>,
    pub reminder_every: Option<Duration>,
    pub escalate_after: Option<Duration>,
    /// How long the team's calm channels wait between checks (the checker reads it, the alerts
    /// engine does not); `None` follows `checks.every`.
    pub check_every: Option<Duration>,
    /// The team's time zone (IANA name); `None` is UTC.
    pub timezone: Option<crate::alerts::Zone>,
    /// Outside working hours only urgent alerts go out; `None`: no quiet hours.
    pub quiet_hours: Option<crate::alerts::QuietHours>,
}

/// Parses warning thresholds such as `14,7,3,1`: whole days from 1 to [`MAX_WARNING_DAYS`],
/// returned largest first without duplicates.
pub fn parse_warning_days(raw: &str) -> Result<Vec<u32>, ParseError> {
    let mut days = Vec::new();
    for part in raw.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
        match part.trim().parse::<u32>() {
            Ok(day) if (1..=MAX_WARNING_DAYS).contains(&day) => days.push(day),
            _ => {
                return Err(ParseError::new(
                    "warning days",
                    format!("`{}` is not a number of days from 1 to {MAX_WARNING_DAYS}", part.trim()),
                ));
            }
        }
    }
    if days.is_empty() {
        return Err(ParseError::new("warning days", "give at least one day, e.g. 14,7,3,1"));
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    Ok(days)
}

/// The warning thresholds as stored and typed: `14,7,3,1`.
pub fn format_warning_days(days: &[u32]) -> String {
    days.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// An event of the outbox, as the engine reads it: decoded once, by the store.
#[derive(Debug, Clone)]
pub struct OutboxEvent {
    pub id: i64,
    pub team_id: TeamId,
    pub channel_id: Option<ChannelId>,
    pub event: Event,
    pub created_at: DateTime<Utc>,
}

/// Everything one engine pass plans from, read inside its transaction.
#[derive(Debug, Default)]
pub struct AlertSnapshot {
    /// The claimed events, in id order.
    pub events: Vec<OutboxEvent>,
    /// Incidents whose next action is due.
    pub due: Vec<IncidentId>,
    /// The open incidents of every channel involved (those of `due` among them).
    pub incidents: Vec<Incident>,
    pub channels: HashMap<ChannelId, Channel>,
    /// Each involved channel's current operator problem, if any.
    pub operator_problems: HashMap<ChannelId, String>,
    pub teams: HashMap<TeamId, Team>,
    pub settings: HashMap<TeamId, SettingsOverride>,
    pub members: HashMap<TeamId, Vec<Member>>,
    pub bindings: HashMap<TeamId, Vec<ChatBinding>>,
    /// Due times of each involved channel's pending posts, from now on.
    pub posts: HashMap<ChannelId, Vec<DateTime<Utc>>>,
    /// When each of those posts was scheduled, by due time: whether an alert already counted it.
    pub posts_scheduled_at: HashMap<ChannelId, Vec<Scheduled>>,
    /// The reminder digests of the last day that list any of `incidents`, each in its latest
    /// version: what a resolution edits.
    pub digests: Vec<SentDigest>,
}

/// A pending post's due time and when it was scheduled.
pub type Scheduled = (DateTime<Utc>, DateTime<Utc>);

/// A reminder digest as sent (its latest version), to edit when a problem it lists is fixed.
#[derive(Debug, Clone)]
pub struct SentDigest {
    pub alert: Alert,
    pub destinations: Vec<Destination>,
    /// Its incidents that are resolved by now.
    pub resolved: Vec<IncidentId>,
}

/// What a pass writes: every incident it opened or changed, and the alerts with their
/// destinations. Alerts name their incidents by index into `incidents` (new ones have no id yet).
#[derive(Debug, Default)]
pub struct AlertPlan {
    pub incidents: Vec<Incident>,
    pub alerts: Vec<PlannedAlert>,
}

#[derive(Debug)]
pub struct PlannedAlert {
    pub alert: Alert,
    pub incidents: Vec<usize>,
    /// Incidents it speaks for beyond those (an edited digest's, resolved or not in the pass).
    pub known: Vec<IncidentId>,
    pub destinations: Vec<Destination>,
    /// Held until then (the end of the team's quiet hours); `None`: at once.
    pub send_at: Option<DateTime<Utc>>,
}

/// The outbox events not yet planned: when the oldest and newest were written, and whether
/// no disconnection among them waits for company (each was found by a check a push signal
/// caused, or there is none: a reconnection or a warning has nothing to be grouped with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingEvents {
    pub oldest: DateTime<Utc>,
    pub newest: DateTime<Utc>,
    pub nothing_to_group: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_round_trip_through_their_stored_spelling() {
        let all = [
            Destination::DiscordUser(42),
            Destination::TelegramUser(7),
            Destination::DiscordChannel(99),
            Destination::TelegramChat(-100_123),
            Destination::Log,
        ];
        for destination in all {
            assert_eq!(destination.to_string().parse::<Destination>().unwrap(), destination);
        }
        assert!("mastodon:1".parse::<Destination>().is_err());
    }

    #[test]
    fn operator_destinations_parse_like_people_write_them() {
        assert_eq!(Destination::parse_operator("log").unwrap(), Destination::Log);
        assert_eq!(Destination::parse_operator("telegram:-1001").unwrap(), Destination::TelegramChat(-1001));
        assert_eq!(Destination::parse_operator(" discord:55 ").unwrap(), Destination::DiscordChannel(55));
        assert!(Destination::parse_operator("discord:-5").is_err());
        assert_eq!(Destination::parse_operator("slack:1").unwrap_err().field, "operator destination");
    }

    #[test]
    fn at_risk_counts_posts_from_a_time_and_adds_up() {
        let at = |h: i64| DateTime::<Utc>::from_timestamp(h * 3_600, 0).unwrap();
        let due = [at(5), at(1), at(9)];
        assert_eq!(AtRisk::of(&due, at(2)), AtRisk { count: 2, first_due: Some(at(5)) });
        assert_eq!(AtRisk::of(&due, at(10)), AtRisk::default());
        let both = AtRisk::of(&due, at(6)).plus(AtRisk::of(&[at(3)], at(0)));
        assert_eq!(both, AtRisk { count: 2, first_due: Some(at(3)) });
    }
}
