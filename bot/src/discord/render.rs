//! The Discord renderer of the command layer's [`Reply`]: each message becomes one Discord
//! message, its parts Markdown lines (the title in bold, items as bullets), its buttons
//! components whose `custom_id` is the encoded [`Action`](crate::commands::Action), and its
//! links link buttons. Messages for the caller alone, and every refusal, are ephemeral.

use secrecy::ExposeSecret as _;
use serenity::builder::{CreateActionRow, CreateButton};
use serenity::model::application::ButtonStyle;

use relink_core::Language;

use super::embed::clip;
use super::register::COMMANDS;
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
                    Part::Text(text) => lines.push(escape(&slash_commands(text, reply.language))),
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

/// Text with Discord's Markdown characters escaped, so names show as typed. A code span the
/// command layer wrote (`` `relink member invite` ``) stays a code span: inside one, Discord
/// shows a backslash as a backslash.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let spans: Vec<&str> = text.split('`').collect();
    // Only paired backticks make code spans; a lone one is escaped like any other character.
    let paired = spans.len() % 2 == 1;
    for (i, part) in spans.iter().enumerate() {
        if i > 0 {
            out.push_str(if paired { "`" } else { "\\`" });
        }
        if paired && i % 2 == 1 {
            out.push_str(part);
            continue;
        }
        for c in part.chars() {
            if matches!(c, '*' | '_' | '~' | '|' | '>' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// The command layer names commands the Telegram way (`/subscribe`); on Discord they are
/// sub-commands of `/relink`, named in the reader's language (`/relink iscrivi`).
fn slash_commands(text: &str, language: Language) -> String {
    let index = match language {
        Language::En => 0,
        Language::It => 1,
        Language::Ja => 2,
    };
    let mut out = text.to_owned();
    for spec in COMMANDS {
        let typed = format!("/{}", spec.command.name());
        let mut rewritten = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(at) = rest.find(&typed) {
            let (before, from) = rest.split_at(at);
            let after = &from[typed.len()..];
            let starts_word = before.chars().next_back().is_none_or(|c| !c.is_alphanumeric() && c != '/');
            let ends_word = after.chars().next().is_none_or(|c| !c.is_alphanumeric() && c != '_');
            rewritten.push_str(before);
            if starts_word && ends_word {
                rewritten.push_str("/relink ");
                rewritten.push_str(spec.name[index]);
            } else {
                rewritten.push_str(&typed);
            }
            rest = after;
        }
        rewritten.push_str(rest);
        out = rewritten;
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
    fn a_code_span_shows_without_backslashes_and_commands_are_named_the_discord_way() {
        assert_eq!(
            escape("ask for a code (`relink member invite`) *now*"),
            "ask for a code (`relink member invite`) \\*now\\*"
        );
        assert_eq!(escape("a lone ` stays"), "a lone \\` stays");
        assert_eq!(
            slash_commands("sends /subscribe here; /link CODE", Language::En),
            "sends /relink subscribe here; /relink link CODE"
        );
        assert_eq!(slash_commands("invia qui /subscribe.", Language::It), "invia qui /relink iscrivi.");
        assert_eq!(
            slash_commands("https://relink.test/r/abc and /statusx", Language::En),
            "https://relink.test/r/abc and /statusx"
        );
    }

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
