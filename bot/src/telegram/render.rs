//! Telegram's side of the renderers: a command [`Message`] or an alert as HTML text with an
//! inline keyboard. Everything is escaped; titles are bold; links never get a preview (chat
//! apps would fetch them).

use relink_core::alerts::Outgoing;
use secrecy::ExposeSecret as _;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::commands::{Action, Button, Message, Part, words};

/// Escapes text for Telegram's HTML parse mode.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A command message as HTML.
pub fn message_html(message: &Message) -> String {
    let lines: Vec<String> = message
        .parts
        .iter()
        .map(|part| match part {
            Part::Title(text) => format!("<b>{}</b>", escape(text)),
            Part::Text(text) => escape(text),
            Part::Item(text) => format!("• {}", escape(text)),
            Part::Link { label, url } => {
                let url = escape(url.expose_secret());
                format!("{}: <a href=\"{url}\">{url}</a>", escape(label))
            }
        })
        .collect();
    lines.join("\n")
}

/// Buttons as an inline keyboard, one per row.
pub fn keyboard(buttons: &[Button]) -> Option<InlineKeyboardMarkup> {
    (!buttons.is_empty()).then(|| {
        InlineKeyboardMarkup::new(
            buttons.iter().map(|b| vec![InlineKeyboardButton::callback(b.label.clone(), b.action.encode())]),
        )
    })
}

/// An alert as HTML (the title bold, the links of a private reader inline) and, for chats, the
/// buttons: "Get reconnect link" (answered privately to whoever presses it) and "I'm on it".
pub fn alert(message: &Outgoing<'_>, private: bool) -> (String, Option<InlineKeyboardMarkup>) {
    let text = message.text();
    let (title, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let html = format!("<b>{}</b>\n{}", escape(title), escape(rest));
    let alert = message.alert;
    let w = words(alert.language);
    let mut buttons = Vec::new();
    // Only an alert that asks a person to act can be taken on: a resolution, an operator's
    // notice and a "degraded, nothing to do" carry no "I'm on it".
    if alert.reconnect.is_some() {
        if !private && alert.id.0 > 0 {
            buttons.push(Button { label: w.button_reconnect.into(), action: Action::ReconnectAlert(alert.id) });
        }
        match alert.channels.as_slice() {
            [only] => buttons.push(Button { label: w.button_ack.into(), action: Action::Ack(only.id) }),
            _ if alert.id.0 > 0 => {
                buttons.push(Button { label: w.button_ack.into(), action: Action::AckAlert(alert.id) });
            }
            _ => {}
        }
    }
    (html, keyboard(&buttons))
}

#[cfg(test)]
mod tests {
    use super::*;

    use relink_core::alerts::{AlertId, AlertKind, Severity};

    use crate::discord::embed::tests::alert as sample;

    fn buttons_of(alert: &relink_core::alerts::Alert) -> Vec<Action> {
        let outgoing = Outgoing { alert, idempotency_key: "k", reconnect_links: &[] };
        let (_, keyboard) = super::alert(&outgoing, false);
        keyboard
            .map(|k| {
                k.inline_keyboard.into_iter().flatten().filter_map(|b| match b.kind {
                    teloxide::types::InlineKeyboardButtonKind::CallbackData(data) => Action::decode(&data),
                    _ => None,
                })
            })
            .into_iter()
            .flatten()
            .collect()
    }

    #[test]
    fn a_grouped_alert_can_be_taken_on_and_a_degraded_one_asks_nothing() {
        let mut grouped = sample(AlertKind::Disconnected, Severity::Critical, 3);
        grouped.id = AlertId(42);
        assert_eq!(buttons_of(&grouped), [Action::ReconnectAlert(AlertId(42)), Action::AckAlert(AlertId(42))]);
        let mut single = sample(AlertKind::Disconnected, Severity::Critical, 1);
        single.id = AlertId(43);
        assert_eq!(buttons_of(&single), [Action::ReconnectAlert(AlertId(43)), Action::Ack(single.channels[0].id)]);
        // The engine gives a degraded alert nothing to reconnect: nothing to take on either.
        let mut degraded = sample(AlertKind::Degraded, Severity::Warning, 1);
        degraded.id = AlertId(44);
        degraded.reconnect = None;
        assert!(buttons_of(&degraded).is_empty());
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<b>A & B</b>"), "&lt;b&gt;A &amp; B&lt;/b&gt;");
    }
}
