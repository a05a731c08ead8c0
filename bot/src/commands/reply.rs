//! The platform-neutral reply: what a command answers, already in the team's language, as
//! messages made of parts, buttons and list items. The Telegram renderer and the Discord renderer
//! turn it into their platform's messages; neither decides what is said.
//!
//! **Invariant:** a secret reconnect link ([`Part::Link`]) is only ever in a message whose
//! audience is [`Audience::Caller`] (a Telegram private chat, a Discord ephemeral reply), and the
//! [`Reply`] constructors are the only way to add one.

use std::fmt;

use relink_core::alerts::AlertId;
use relink_core::{ChannelId, Language};
use secrecy::{ExposeSecret as _, SecretString};

/// Who sees a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Everyone in the chat the command came from.
    Chat,
    /// Only the person who asked: Telegram sends it to their private chat with the bot (the same
    /// chat when the command came from there), Discord answers ephemerally.
    Caller,
}

/// One piece of a message, in order.
pub enum Part {
    /// The first line, in bold where the platform has bold.
    Title(String),
    /// A paragraph.
    Text(String),
    /// One entry of a list (channels, candidates, history), shown as a bullet.
    Item(String),
    /// A secret reconnect link with its label. Only in [`Audience::Caller`] messages.
    Link { label: String, url: SecretString },
}

impl fmt::Debug for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Title(text) => f.debug_tuple("Title").field(text).finish(),
            Part::Text(text) => f.debug_tuple("Text").field(text).finish(),
            Part::Item(text) => f.debug_tuple("Item").field(text).finish(),
            Part::Link { label, .. } => {
                f.debug_struct("Link").field("label", label).field("url", &"[REDACTED]").finish()
            }
        }
    }
}

/// What a button does when pressed. Encoded into the platform's callback data (Telegram's
/// `callback_data`, Discord's `custom_id`) by [`Action::encode`]: ids only, never a secret, and
/// at most 64 bytes (Telegram's limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send the presser a reconnect link for a channel (privately), if their role allows.
    Reconnect(ChannelId),
    /// The same for every channel of an alert ("Get reconnect link" under a group alert).
    ReconnectAlert(AlertId),
    /// Acknowledge the channel's open alerts.
    Ack(ChannelId),
    /// The same for every channel of an alert ("I'm on it" under an alert about several).
    AckAlert(AlertId),
    /// Snooze the channel's open alerts for this many hours.
    Snooze(ChannelId, u32),
    /// Renew the channel's access now.
    Refresh(ChannelId),
}

impl Action {
    /// The callback data: `r:12`, `ra:34`, `k:12`, `ka:34`, `z:12:24`, `f:12`.
    pub fn encode(self) -> String {
        match self {
            Action::Reconnect(channel) => format!("r:{channel}"),
            Action::ReconnectAlert(alert) => format!("ra:{alert}"),
            Action::Ack(channel) => format!("k:{channel}"),
            Action::AckAlert(alert) => format!("ka:{alert}"),
            Action::Snooze(channel, hours) => format!("z:{channel}:{hours}"),
            Action::Refresh(channel) => format!("f:{channel}"),
        }
    }

    /// Reads callback data back; `None` for anything this version did not write.
    pub fn decode(data: &str) -> Option<Action> {
        let mut fields = data.split(':');
        let kind = fields.next()?;
        let id: i64 = fields.next()?.parse().ok().filter(|id| *id > 0)?;
        let action = match kind {
            "r" => Action::Reconnect(ChannelId(id)),
            "ra" => Action::ReconnectAlert(AlertId(id)),
            "k" => Action::Ack(ChannelId(id)),
            "ka" => Action::AckAlert(AlertId(id)),
            "z" => Action::Snooze(ChannelId(id), fields.next()?.parse().ok().filter(|h| (1..=720).contains(h))?),
            "f" => Action::Refresh(ChannelId(id)),
            _ => return None,
        };
        fields.next().is_none().then_some(action)
    }
}

/// A button under a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub action: Action,
}

/// One message of a reply.
#[derive(Debug)]
pub struct Message {
    pub audience: Audience,
    pub parts: Vec<Part>,
    pub buttons: Vec<Button>,
}

impl Message {
    fn new(audience: Audience) -> Self {
        Self { audience, parts: Vec::new(), buttons: Vec::new() }
    }

    /// The message as plain text, one part per line (items as `• item`, links as
    /// `label: url`): the fallback layout for renderers and what tests read.
    pub fn plain_text(&self) -> String {
        let lines: Vec<String> = self
            .parts
            .iter()
            .map(|part| match part {
                Part::Title(text) | Part::Text(text) => text.clone(),
                Part::Item(text) => format!("• {text}"),
                Part::Link { label, url } => format!("{label}: {}", url.expose_secret()),
            })
            .collect();
        lines.join("\n")
    }

    /// Whether it carries a secret link.
    pub fn has_link(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Link { .. }))
    }
}

/// What a command or a button press answers: one or more messages in the team's language.
#[derive(Debug)]
pub struct Reply {
    pub language: Language,
    pub messages: Vec<Message>,
    /// Said in the chat instead of the [`Audience::Chat`] messages when a [`Audience::Caller`]
    /// message cannot reach the caller (on Telegram: they never opened a private chat with the
    /// bot). `None` when the reply has no private part or the command came from a private chat.
    pub if_private_fails: Option<String>,
    /// A refusal or an error rather than an answer (unknown command or channel, a role that may
    /// not, a failure): platforms that can show a message to its caller alone (Discord) do.
    pub refusal: bool,
}

impl Reply {
    /// A reply of one message to the whole chat.
    pub fn chat(language: Language) -> Self {
        Self { language, messages: vec![Message::new(Audience::Chat)], if_private_fails: None, refusal: false }
    }

    /// A reply of one message only the caller sees.
    pub fn caller(language: Language) -> Self {
        Self { language, messages: vec![Message::new(Audience::Caller)], if_private_fails: None, refusal: false }
    }

    /// A one-line reply to the chat.
    pub fn text(language: Language, text: impl Into<String>) -> Self {
        Self::chat(language).with(Part::Text(text.into()))
    }

    /// A one-line refusal (see [`Reply::refusal`]).
    pub fn refused(language: Language, text: impl Into<String>) -> Self {
        Self { refusal: true, ..Self::text(language, text) }
    }

    fn last(&mut self) -> &mut Message {
        if self.messages.is_empty() {
            self.messages.push(Message::new(Audience::Chat));
        }
        self.messages.last_mut().expect("a message was just ensured")
    }

    /// Adds a part to the last message. A link must go through [`Reply::link`].
    pub fn with(mut self, part: Part) -> Self {
        debug_assert!(!matches!(part, Part::Link { .. }), "links go through Reply::link");
        self.last().parts.push(part);
        self
    }

    pub fn push(&mut self, part: Part) {
        debug_assert!(!matches!(part, Part::Link { .. }), "links go through Reply::link");
        self.last().parts.push(part);
    }

    pub fn button(&mut self, label: impl Into<String>, action: Action) {
        self.last().buttons.push(Button { label: label.into(), action });
    }

    /// Adds a secret link to the caller-only message, starting one if the last message is for
    /// the chat.
    pub fn link(&mut self, label: String, url: SecretString) {
        if self.last().audience != Audience::Caller {
            self.messages.push(Message::new(Audience::Caller));
        }
        self.last().parts.push(Part::Link { label, url });
    }

    /// Starts a new message for `audience`.
    pub fn then(mut self, audience: Audience) -> Self {
        self.messages.push(Message::new(audience));
        self
    }

    /// Every message as plain text, separated by a blank line.
    pub fn plain_text(&self) -> String {
        self.messages.iter().map(Message::plain_text).collect::<Vec<_>>().join("\n\n")
    }

    /// Whether every secret link is in a caller-only message (the invariant above).
    pub fn links_are_private(&self) -> bool {
        self.messages.iter().all(|m| m.audience == Audience::Caller || !m.has_link())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_short_callback_data() {
        let all = [
            Action::Reconnect(ChannelId(12)),
            Action::ReconnectAlert(AlertId(9_000_000_000)),
            Action::Ack(ChannelId(3)),
            Action::Snooze(ChannelId(4), 24),
            Action::Refresh(ChannelId(5)),
        ];
        for action in all {
            let data = action.encode();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(Action::decode(&data), Some(action));
        }
        for bad in ["", "r", "r:", "r:x", "r:-1", "z:4", "z:4:0", "z:4:9999", "q:1", "r:1:2"] {
            assert_eq!(Action::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn links_always_land_in_a_caller_only_message_and_debug_hides_them() {
        let mut reply = Reply::text(Language::En, "sent privately");
        reply.link("Reconnect".into(), SecretString::from("https://relink.example/r/secret"));
        assert_eq!(reply.messages.len(), 2);
        assert_eq!(reply.messages[1].audience, Audience::Caller);
        assert!(reply.links_are_private());
        assert!(!format!("{reply:?}").contains("secret"));
        assert!(reply.plain_text().contains("Reconnect: https://relink.example/r/secret"));
    }
}
