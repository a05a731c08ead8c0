//! The chat command layer, shared by the Telegram and Discord front-ends: parse what a person
//! typed or pressed, check who they are and what their role allows, do it through
//! `relink-core`, and answer with a platform-neutral [`Reply`] in the team's language.
//!
//! - [`parse`] turns text (`/snooze@relink_bot acme fb 2d`) into a [`Command`] or a usage line;
//!   [`Action`] is what a button does.
//! - [`handle`] and [`press`] are the two entry points: they never fail, every problem is a
//!   reply (unknown command, malformed arguments, unknown or ambiguous channel, role refused).
//! - One file per command (`status`, `channel`, `reconnect`, `refresh`, `check`, `snooze`, `ack`,
//!   `history`, `subscribe`, `link`, `dashboard`, `start` with `/help`); `reply` is the model, `text` the
//!   words in English, Italian and Japanese.
//!
//! **Invariants:** only members whose role may reconnect (primary owner, owner, admin) get
//! links, refresh, check on demand, snooze, acknowledge or subscribe; a reconnect link and a
//! team page sign-in link are only in a caller-only message ([`Audience::Caller`]).

mod ack;
mod channel;
mod check;
mod dashboard;
mod history;
mod link;
mod reconnect;
mod refresh;
mod reply;
mod snooze;
mod start;
mod status;
mod subscribe;
pub mod text;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use relink_core::alerts::Zone;
use relink_core::checker::Checker;
use relink_core::clock::Clock;
use relink_core::reconnect::LinkSettings;
use relink_core::store::{Store, StoreError};
use relink_core::{
    Channel, ChannelLookupError, ChatPlatform, DiscordUserId, Language, Member, Team, TeamId, TelegramUserId,
    explicit_channel_id, find_channel,
};

pub use reply::{Action, Audience, Button, Message, Part, Reply};
pub use status::channel_state;
pub use text::{Words, words};

/// What the commands work with.
#[derive(Debug, Clone)]
pub struct Services {
    pub store: Store,
    /// Where reconnect links point and how long they live.
    pub links: LinkSettings,
    /// Renews tokens for `/refresh` and checks for `/check`; `None` where no checker runs (the
    /// commands say so).
    pub checker: Option<Arc<Checker>>,
    pub clock: Arc<dyn Clock>,
}

/// What kind of chat a command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    /// A one-to-one chat with the bot (Telegram private chat, Discord DM).
    Private,
    /// A chat several people read (Telegram group or supergroup, a Discord server channel).
    Group,
}

/// Who sent a command, and from where, as the platform reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub platform: ChatPlatform,
    /// The person's platform user id.
    pub user_id: i64,
    /// The chat the command came from (on Telegram, a private chat's id is the user's id).
    pub chat_id: i64,
    pub chat_kind: ChatKind,
    /// Whether the person administers the chat; only needed by `/subscribe` in a group (the
    /// front-end may ask the platform only then, see [`Command::needs_chat_admin`]).
    pub is_chat_admin: bool,
    /// The person's own language as the platform knows it, for people not linked to a team.
    pub language_hint: Option<Language>,
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Start,
    Help,
    Link(String),
    Subscribe(Option<String>),
    Status,
    Channel(String),
    Reconnect(String),
    Refresh(String),
    Check(String),
    Snooze { name: String, duration: String },
    Ack(String),
    History(String),
    Dashboard,
}

/// The commands, in menu order: name, arguments, and its line in the [`text::CommandWords`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandName {
    Start,
    Help,
    Link,
    Subscribe,
    Status,
    Channel,
    Reconnect,
    Refresh,
    Check,
    Snooze,
    Ack,
    History,
    Dashboard,
}

impl CommandName {
    pub const ALL: [CommandName; 13] = [
        CommandName::Start,
        CommandName::Help,
        CommandName::Link,
        CommandName::Subscribe,
        CommandName::Status,
        CommandName::Channel,
        CommandName::Reconnect,
        CommandName::Refresh,
        CommandName::Check,
        CommandName::Snooze,
        CommandName::Ack,
        CommandName::History,
        CommandName::Dashboard,
    ];

    /// The command as typed, without the slash.
    pub fn name(self) -> &'static str {
        match self {
            CommandName::Start => "start",
            CommandName::Help => "help",
            CommandName::Link => "link",
            CommandName::Subscribe => "subscribe",
            CommandName::Status => "status",
            CommandName::Channel => "channel",
            CommandName::Reconnect => "reconnect",
            CommandName::Refresh => "refresh",
            CommandName::Check => "check",
            CommandName::Snooze => "snooze",
            CommandName::Ack => "ack",
            CommandName::History => "history",
            CommandName::Dashboard => "dashboard",
        }
    }

    /// The command with its arguments, as the usage line shows it.
    pub fn usage(self) -> &'static str {
        match self {
            CommandName::Start => "/start",
            CommandName::Help => "/help",
            CommandName::Link => "/link CODE",
            CommandName::Subscribe => "/subscribe [TEAM]",
            CommandName::Status => "/status",
            CommandName::Channel => "/channel NAME",
            CommandName::Reconnect => "/reconnect NAME",
            CommandName::Refresh => "/refresh NAME",
            CommandName::Check => "/check NAME",
            CommandName::Snooze => "/snooze NAME DURATION (30m, 4h, 2d)",
            CommandName::Ack => "/ack NAME",
            CommandName::History => "/history NAME",
            CommandName::Dashboard => "/dashboard",
        }
    }

    /// The command's one-line description in `language` (for `/help` and the platforms' menus).
    pub fn describe(self, language: Language) -> &'static str {
        let c = &words(language).commands;
        match self {
            CommandName::Start => c.start,
            CommandName::Help => c.help,
            CommandName::Link => c.link,
            CommandName::Subscribe => c.subscribe,
            CommandName::Status => c.status,
            CommandName::Channel => c.channel,
            CommandName::Reconnect => c.reconnect,
            CommandName::Refresh => c.refresh,
            CommandName::Check => c.check,
            CommandName::Snooze => c.snooze,
            CommandName::Ack => c.ack,
            CommandName::History => c.history,
            CommandName::Dashboard => c.dashboard,
        }
    }

    fn from_name(name: &str) -> Option<CommandName> {
        CommandName::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl Command {
    pub fn name(&self) -> CommandName {
        match self {
            Command::Start => CommandName::Start,
            Command::Help => CommandName::Help,
            Command::Link(_) => CommandName::Link,
            Command::Subscribe(_) => CommandName::Subscribe,
            Command::Status => CommandName::Status,
            Command::Channel(_) => CommandName::Channel,
            Command::Reconnect(_) => CommandName::Reconnect,
            Command::Refresh(_) => CommandName::Refresh,
            Command::Check(_) => CommandName::Check,
            Command::Snooze { .. } => CommandName::Snooze,
            Command::Ack(_) => CommandName::Ack,
            Command::History(_) => CommandName::History,
            Command::Dashboard => CommandName::Dashboard,
        }
    }

    /// Whether handling it in a group needs [`Caller::is_chat_admin`].
    pub fn needs_chat_admin(&self) -> bool {
        matches!(self, Command::Subscribe(_))
    }
}

/// Why text did not parse into a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseFailure {
    /// Not a command at all (no leading `/`).
    NotACommand,
    /// A command relink does not have; the closest one when a typo is likely.
    Unknown { command: String, suggestion: Option<CommandName> },
    /// A known command with missing or malformed arguments.
    Usage(CommandName),
}

/// Parses a message: `/name[@bot] args…`. Command names are matched without case; arguments
/// keep their text (channel names are matched loosely later, against the team's channels).
pub fn parse(text: &str) -> Result<Command, ParseFailure> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('/') else {
        return Err(ParseFailure::NotACommand);
    };
    let (head, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let name = head.split('@').next().unwrap_or_default().to_lowercase();
    let args = args.trim();
    let Some(command) = CommandName::from_name(&name) else {
        let suggestion = CommandName::ALL
            .into_iter()
            .map(|c| (distance(&name, c.name()), c))
            .filter(|(d, c)| *d <= typo_budget(c.name()))
            .min_by_key(|(d, _)| *d)
            .map(|(_, c)| c);
        return Err(ParseFailure::Unknown { command: format!("/{name}"), suggestion });
    };
    let needs_name = |build: fn(String) -> Command| {
        if args.is_empty() { Err(ParseFailure::Usage(command)) } else { Ok(build(args.to_owned())) }
    };
    match command {
        CommandName::Start => Ok(Command::Start),
        CommandName::Help => Ok(Command::Help),
        CommandName::Status => Ok(Command::Status),
        CommandName::Dashboard => Ok(Command::Dashboard),
        CommandName::Subscribe => Ok(Command::Subscribe((!args.is_empty()).then(|| args.to_owned()))),
        CommandName::Link => match args.split_whitespace().count() {
            1..=3 => Ok(Command::Link(args.to_owned())),
            _ => Err(ParseFailure::Usage(command)),
        },
        CommandName::Channel => needs_name(Command::Channel),
        CommandName::Reconnect => needs_name(Command::Reconnect),
        CommandName::Refresh => needs_name(Command::Refresh),
        CommandName::Check => needs_name(Command::Check),
        CommandName::Ack => needs_name(Command::Ack),
        CommandName::History => needs_name(Command::History),
        CommandName::Snooze => match args.rsplit_once(char::is_whitespace) {
            Some((name, duration)) if !name.trim().is_empty() => {
                Ok(Command::Snooze { name: name.trim().to_owned(), duration: duration.to_owned() })
            }
            _ => Err(ParseFailure::Usage(command)),
        },
    }
}

/// Answers a message from `caller`. Never fails: problems are replies.
pub async fn handle(services: &Services, caller: &Caller, text: &str) -> Reply {
    let context = match Context::load(services, caller).await {
        Ok(context) => context,
        Err(error) => return failed(caller.language_hint.unwrap_or(Language::En), &error),
    };
    let command = match parse(text) {
        Ok(command) => command,
        Err(failure) => return context.refusal_for(failure),
    };
    let result = match command {
        Command::Start => start::start(&context),
        Command::Help => Ok(start::help(&context)),
        Command::Link(code) => link::link(services, &context, &code).await,
        Command::Subscribe(team) => subscribe::subscribe(services, &context, team.as_deref()).await,
        Command::Status => status::status(services, &context).await,
        Command::Channel(name) => channel::channel(services, &context, &name).await,
        Command::Reconnect(name) => reconnect::reconnect(services, &context, Target::Name(&name)).await,
        Command::Refresh(name) => refresh::refresh(services, &context, Target::Name(&name)).await,
        Command::Check(name) => check::check(services, &context, Target::Name(&name)).await,
        Command::Snooze { name, duration } => snooze::snooze(services, &context, Target::Name(&name), &duration).await,
        Command::Ack(name) => ack::ack(services, &context, Target::Name(&name)).await,
        Command::History(name) => history::history(services, &context, &name).await,
        Command::Dashboard => dashboard::dashboard(services, &context).await,
    };
    result.unwrap_or_else(|error| failed(context.language, &error))
}

/// Answers a button press (`data` is the button's encoded [`Action`]).
pub async fn press(services: &Services, caller: &Caller, data: &str) -> Reply {
    let context = match Context::load(services, caller).await {
        Ok(context) => context,
        Err(error) => return failed(caller.language_hint.unwrap_or(Language::En), &error),
    };
    let Some(action) = Action::decode(data) else {
        return Reply::refused(context.language, context.words.see_help);
    };
    let result = match action {
        Action::Reconnect(channel) => reconnect::reconnect(services, &context, Target::Id(channel)).await,
        Action::ReconnectAlert(alert) => reconnect::reconnect_alert(services, &context, alert).await,
        Action::Ack(channel) => ack::ack(services, &context, Target::Id(channel)).await,
        Action::AckAlert(alert) => ack::ack_alert(services, &context, alert).await,
        Action::Snooze(channel, hours) => {
            snooze::snooze(services, &context, Target::Id(channel), &format!("{hours}h")).await
        }
        Action::Refresh(channel) => refresh::refresh(services, &context, Target::Id(channel)).await,
    };
    result.unwrap_or_else(|error| failed(context.language, &error))
}

/// A store failure: logged (without secrets: store errors carry none) and told plainly.
fn failed(language: Language, error: &StoreError) -> Reply {
    tracing::warn!(%error, "a chat command failed");
    Reply::refused(language, words(language).failed)
}

/// Which channel an action is about: a name typed by a person or an id from a button.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    Name(&'a str),
    Id(relink_core::ChannelId),
}

/// Who is asking, in which team, in which language.
#[derive(Debug)]
struct Context {
    caller: Caller,
    /// Every membership of the caller, across teams.
    memberships: Vec<Member>,
    /// The teams the command acts on: in a group, the teams it is bound to; in private, the
    /// caller's teams.
    teams: Vec<Team>,
    language: Language,
    words: &'static Words,
    /// The time zones of `teams` that set one (`relink alerts settings --timezone`): their
    /// dates are said on that wall clock, as their alerts say them.
    zones: Vec<(TeamId, Zone)>,
    now: DateTime<Utc>,
}

impl Context {
    async fn load(services: &Services, caller: &Caller) -> Result<Self, StoreError> {
        let store = &services.store;
        let memberships = match caller.platform {
            ChatPlatform::Telegram => store.members_by_telegram(TelegramUserId(caller.user_id)).await?,
            ChatPlatform::Discord => store.members_by_discord(DiscordUserId(caller.user_id)).await?,
        };
        // A group sees only the teams it is bound to: a team's state is not for any group its
        // members happen to be in.
        let team_ids: Vec<TeamId> = match caller.chat_kind {
            ChatKind::Group => {
                let bindings = store.bindings_of_chat(caller.platform, caller.chat_id).await?;
                bindings.into_iter().filter(|b| b.enabled).map(|b| b.team_id).collect()
            }
            ChatKind::Private => memberships.iter().map(|m| m.team_id).collect(),
        };
        let mut teams = Vec::with_capacity(team_ids.len());
        for id in team_ids {
            teams.push(store.team(id).await?);
        }
        let mut zones = Vec::new();
        for team in &teams {
            if let Some(zone) = store.team_alert_settings(team.id).await?.timezone {
                zones.push((team.id, zone));
            }
        }
        let language = teams.first().map(|t| t.language).or(caller.language_hint).unwrap_or(Language::En);
        Ok(Self {
            caller: caller.clone(),
            memberships,
            teams,
            language,
            words: words(language),
            zones,
            now: services.clock.now(),
        })
    }

    /// The time zone `team`'s dates are said in (`None`: UTC).
    fn zone(&self, team: TeamId) -> Option<&Zone> {
        self.zones.iter().find(|(id, _)| *id == team).map(|(_, zone)| zone)
    }

    fn member_in(&self, team: TeamId) -> Option<&Member> {
        self.memberships.iter().find(|m| m.team_id == team)
    }

    fn team(&self, id: TeamId) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    fn reply(&self, text: impl Into<String>) -> Reply {
        Reply::text(self.language, text)
    }

    /// A refusal: an error or a "you may not", which platforms may show to the caller alone.
    fn refuse(&self, text: impl Into<String>) -> Reply {
        Reply::refused(self.language, text)
    }

    /// The reply when the chat has no team to act on: link your account, or subscribe the group.
    fn no_team(&self) -> Reply {
        match self.caller.chat_kind {
            ChatKind::Group if !self.memberships.is_empty() => self.refuse(self.words.group_not_subscribed),
            _ => self.refuse(self.words.not_linked),
        }
    }

    /// The usage line, or "unknown command" with a suggestion.
    fn refusal_for(&self, failure: ParseFailure) -> Reply {
        let w = self.words;
        match failure {
            ParseFailure::NotACommand => self.refuse(w.see_help),
            ParseFailure::Usage(command) => self.refuse(text::fill(w.usage, &[("usage", command.usage())])),
            ParseFailure::Unknown { command, suggestion } => {
                let mut line = text::fill(w.unknown_command, &[("command", &command)]);
                match suggestion {
                    Some(s) => {
                        line.push(' ');
                        line.push_str(&text::fill(w.did_you_mean, &[("command", &format!("/{}", s.name()))]));
                    }
                    None => {
                        line.push(' ');
                        line.push_str(w.see_help);
                    }
                }
                self.refuse(line)
            }
        }
    }

    /// The member who may act on `team`'s channels, or the refusal to send instead.
    fn actor(&self, team: TeamId) -> Result<&Member, Reply> {
        let Some(member) = self.member_in(team) else {
            return Err(self.refuse(self.words.not_linked));
        };
        if !member.role.may_reconnect() {
            return Err(self.refuse(text::fill(self.words.role_refused, &[("role", self.words.role(member.role))])));
        }
        Ok(member)
    }

    /// The channel a person meant and the member acting on it, or the reply to send instead
    /// (candidates, or the refusal for a role that may not reconnect).
    async fn find_for_action(
        &self,
        services: &Services,
        target: Target<'_>,
    ) -> Result<Result<(Channel, Member), Reply>, StoreError> {
        let channel = match self.find(services, target).await? {
            Ok(channel) => channel,
            Err(reply) => return Ok(Err(reply)),
        };
        Ok(self.actor(channel.team_id).cloned().map(|member| (channel, member)))
    }

    /// The channels of the teams in scope.
    async fn channels(&self, services: &Services) -> Result<Vec<Channel>, StoreError> {
        let mut channels = Vec::new();
        for team in &self.teams {
            channels.extend(services.store.channels(Some(team.id)).await?);
        }
        Ok(channels)
    }

    /// The channel a person meant, or the reply listing the candidates.
    async fn find(&self, services: &Services, target: Target<'_>) -> Result<Result<Channel, Reply>, StoreError> {
        if self.teams.is_empty() {
            return Ok(Err(self.no_team()));
        }
        let channels = self.channels(services).await?;
        if channels.is_empty() {
            return Ok(Err(self.refuse(self.words.no_channels)));
        }
        let query = match target {
            Target::Id(id) => {
                // A button of a chat whose team no longer has the channel.
                return Ok(channels
                    .into_iter()
                    .find(|c| c.id == id)
                    .ok_or_else(|| self.refuse(self.words.no_channels)));
            }
            Target::Name(query) => query,
        };
        Ok(match lookup(&channels, query) {
            Ok(channel) => Ok(channel.clone()),
            Err(ChannelLookupError::Unknown { candidates, .. }) => {
                let mut reply = self.refuse(text::fill(self.words.unknown_channel, &[("query", query.trim())]));
                candidates.into_iter().for_each(|c| reply.push(Part::Item(c)));
                Err(reply)
            }
            Err(ChannelLookupError::Ambiguous { candidates, .. }) => {
                let mut reply = self.refuse(text::fill(self.words.ambiguous_channel, &[("query", query.trim())]));
                candidates.into_iter().for_each(|c| reply.push(Part::Item(c)));
                Err(reply)
            }
        })
    }
}

/// [`find_channel`] (id, exact name, prefix, fragment, any case), then forgiving typos: a name
/// one or two edits away from exactly one channel's name (or a word of it) picks that channel.
/// An explicit id (`2`, `#2`) is never a typo: one that is not the team's is no channel.
pub fn lookup<'a>(channels: &'a [Channel], query: &str) -> Result<&'a Channel, ChannelLookupError> {
    let error = match find_channel(channels, query) {
        Ok(channel) => return Ok(channel),
        Err(error @ ChannelLookupError::Ambiguous { .. }) => return Err(error),
        Err(error) if explicit_channel_id(query).is_some() => return Err(error),
        Err(error) => error,
    };
    let wanted = query.trim().trim_start_matches('#').to_lowercase();
    if wanted.chars().count() < 3 {
        return Err(error);
    }
    let closeness = |channel: &Channel| {
        let name = channel.display_name.as_str().to_lowercase();
        let whole = distance(&wanted, &name);
        let words = name.split_whitespace().map(|w| distance(&wanted, w));
        let prefix = distance(&wanted, &name.chars().take(wanted.chars().count()).collect::<String>());
        words.chain([whole, prefix]).min().unwrap_or(usize::MAX)
    };
    let budget = typo_budget(&wanted);
    let close: Vec<(usize, &Channel)> =
        channels.iter().map(|c| (closeness(c), c)).filter(|(d, _)| *d <= budget).collect();
    let best = close.iter().map(|(d, _)| *d).min();
    let at_best: Vec<&Channel> = close.iter().filter(|(d, _)| Some(*d) == best).map(|(_, c)| *c).collect();
    match at_best.as_slice() {
        [one] => Ok(one),
        [] => Err(error),
        many => Err(ChannelLookupError::Ambiguous {
            query: query.trim().to_owned(),
            candidates: many
                .iter()
                .map(|c| format!("{} (#{}, {})", c.display_name, c.id, c.provider.label()))
                .collect(),
        }),
    }
}

/// How many edits a typed word of this length may be off by.
fn typo_budget(word: &str) -> usize {
    match word.chars().count() {
        0..=3 => 0,
        4..=5 => 1,
        _ => 2,
    }
}

/// The Damerau–Levenshtein distance (optimal string alignment) between two words.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests;
