//! Telegram's side of the renderers: a command [`Message`] or an alert as HTML text with an
//! inline keyboard. Everything is escaped; titles are bold; links never get a preview (chat
//! apps would fetch them).

use relink_core::alerts::{AlertKind, Outgoing};
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
    if alert.kind != AlertKind::Resolved && alert.kind != AlertKind::OperatorProblem {
        if alert.reconnect.is_some() && !private && alert.id.0 > 0 {
            buttons.push(Button { label: w.button_reconnect.into(), action: Action::ReconnectAlert(alert.id) });
        }
        if let [only] = alert.channels.as_slice() {
            buttons.push(Button { label: w.button_ack.into(), action: Action::Ack(only.id) });
        }
    }
    (html, keyboard(&buttons))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<b>A & B</b>"), "&lt;b&gt;A &amp; B&lt;/b&gt;");
    }
}
