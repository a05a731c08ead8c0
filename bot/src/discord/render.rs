//! The Discord renderer of the command layer's [`Reply`]: each message becomes one Discord
//! message, its parts Markdown lines (the title in bold, items as bullets), its buttons
//! components whose `custom_id` is the encoded [`Action`](crate::commands::Action), and its
//! links link buttons. Messages for the caller alone, and every refusal, are ephemeral.

use secrecy::ExposeSecret as _;
use serenity::builder::{CreateActionRow, CreateButton};
use serenity::model::application::ButtonStyle;

use super::embed::clip;
use super::respond::Rendered;
use crate::commands::{Audience, Part, Reply};

/// Discord's limit on a message's text.
const MAX_CONTENT: usize = 2_000;

/// The reply's messages, in order (the first answers the interaction, the others follow it).
pub fn render(reply: &Reply) -> Vec<Rendered> {
    reply
        .messages
        .iter()
        .filter(|m| !m.parts.is_empty() || !m.buttons.is_empty())
        .map(|message| {
            let mut lines = Vec::new();
            let mut buttons = Vec::new();
            for part in &message.parts {
                match part {
                    Part::Title(text) => lines.push(format!("**{}**", escape(text))),
                    Part::Text(text) => lines.push(escape(text)),
                    Part::Item(text) => lines.push(format!("• {}", escape(text))),
                    Part::Link { label, url } => {
                        buttons.push(CreateButton::new_link(url.expose_secret()).label(clip(label, 80)));
                    }
                }
            }
            for button in &message.buttons {
                buttons.push(
                    CreateButton::new(button.action.encode())
                        .label(clip(&button.label, 80))
                        .style(ButtonStyle::Secondary),
                );
            }
            let components = buttons.chunks(5).take(5).map(|row| CreateActionRow::Buttons(row.to_vec())).collect();
            Rendered {
                content: clip(&lines.join("\n"), MAX_CONTENT),
                embeds: Vec::new(),
                components,
                ephemeral: reply.refusal || message.audience == Audience::Caller,
            }
        })
        .collect()
}

/// Text with Discord's Markdown characters escaped, so names show as typed.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '_' | '~' | '`' | '|' | '>' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Action;
    use relink_core::{ChannelId, Language};
    use secrecy::SecretString;

    #[test]
    fn links_become_link_buttons_in_an_ephemeral_message_and_refusals_are_ephemeral() {
        let mut reply = Reply::text(Language::En, "Sent *privately*");
        reply.link("Reconnect Acme".into(), SecretString::from("https://relink.example/r/abc"));
        reply.button("Acknowledge", Action::Ack(ChannelId(3)));
        let rendered = render(&reply);
        assert_eq!(rendered.len(), 2);
        assert!(!rendered[0].ephemeral);
        assert_eq!(rendered[0].content, "Sent \\*privately\\*");
        assert!(rendered[1].ephemeral);
        let buttons = serde_json::to_value(&rendered[1].components).unwrap();
        assert_eq!(buttons[0]["components"][0]["url"], "https://relink.example/r/abc");
        assert_eq!(buttons[0]["components"][1]["custom_id"], "k:3");
        assert!(!rendered[1].content.contains("https://"));

        let refused = render(&Reply::refused(Language::It, "Canale sconosciuto"));
        assert!(refused[0].ephemeral);
    }
}
