//! Telegram's side of the renderers: a command [`Message`] or an alert as HTML text with an
//! inline keyboard. Everything is escaped; titles are bold; links never get a preview (chat
//! apps would fetch them).

use relink_core::alerts::Outgoing;
use relink_core::alerts::messages::{Catalog, ChannelLine, catalog, fitting, is_digest, layout, resolved_in};
use secrecy::ExposeSecret as _;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
use url::Url;

use crate::commands::text::fill;
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

/// Telegram's limit on a message's text, in UTF-16 code units after entities are parsed.
pub const MAX_TEXT: usize = 4_096;
/// The most URL buttons an alert carries (Telegram allows about a hundred per keyboard).
const MAX_URL_BUTTONS: usize = 90;

/// An alert as HTML (the title bold, the one link of a private reader inline) and, for chats,
/// the buttons: "Get reconnect link" (answered privately to whoever presses it) and "I'm on it".
///
/// A grouped alert lists each channel with its own posts at risk, 🚨 on the urgent ones. A
/// digest lists each channel on one line, a line connected again since struck through. In a
/// private chat, several links are URL buttons, one per listed channel still to reconnect (a
/// digest's always are, so an edit keeps them in the keyboard), and a digest
/// has no "I'm on it" (one press would take on every problem it lists: `/ack` names one). A
/// list longer than Telegram's 4,096 characters keeps its first (most urgent) lines and says
/// how many more there are.
pub fn alert(message: &Outgoing<'_>, private: bool) -> (String, Option<InlineKeyboardMarkup>) {
    let alert = message.alert;
    let digest = is_digest(alert);
    let w = words(alert.language);
    let texts = catalog(alert.language);
    let layout = layout(alert, message.reconnect_links);
    let open_links = message.reconnect_links.iter().filter(|link| !resolved_in(alert, link.channel_id)).count();
    // Several links take too much of the text (200 of them would not fit): they become buttons.
    let link_buttons = private && open_links > 0 && (digest || open_links > 1);

    let mut head = vec![format!("<b>{}</b>", escape(&format!("{} {}", layout.icon, alert.title)))];
    head.extend(layout.intro.iter().map(|line| escape(line)));
    let mut tail: Vec<String> = layout.facts.iter().map(|line| escape(line)).collect();
    if !link_buttons {
        tail.extend(layout.links.iter().map(|line| escape(line)));
    }
    let lines: Vec<String> = layout.channels.iter().map(|line| channel_html(line, texts)).collect();
    let shown = if lines.is_empty() {
        0
    } else {
        head.push(escape(texts.channels_header()));
        let fixed = head.iter().chain(&tail).map(|line| visible(line) + 1).sum::<usize>();
        let costs: Vec<usize> = lines.iter().map(|line| visible(line) + 1).collect();
        let unlisted = alert.unlisted as usize;
        fitting(&costs, MAX_TEXT.saturating_sub(fixed), |n| visible(&escape(&texts.and_more(n + unlisted))) + 1)
    };
    let mut html = head;
    html.extend(lines.iter().take(shown).cloned());
    let hidden = (lines.len() - shown).saturating_add(alert.unlisted as usize);
    if hidden > 0 && !lines.is_empty() {
        html.push(escape(&texts.and_more(hidden)));
    }
    html.extend(tail);
    let html = html.join("\n");

    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    if link_buttons {
        // The links of the channels listed and not connected again, most urgent first.
        let listed = &layout.channels[..shown];
        rows.extend(
            listed
                .iter()
                .filter(|line| !line.resolved)
                .filter_map(|line| {
                    let link = message.reconnect_links.iter().find(|l| l.channel_id == line.channel)?;
                    let url = Url::parse(link.url.expose_secret()).ok()?;
                    let name = alert.channels.iter().find(|c| c.id == line.channel).map_or("", |c| c.name.as_str());
                    Some(vec![InlineKeyboardButton::url(fill(w.reconnect_label, &[("name", name)]), url)])
                })
                .take(MAX_URL_BUTTONS),
        );
    }
    let open = alert.reconnect.as_ref().is_some_and(|r| !r.channel_ids.is_empty());
    let mut buttons = Vec::new();
    // Only an alert that asks a person to act can be taken on: a resolution, an operator's
    // notice and a "degraded, nothing to do" carry no "I'm on it".
    if open {
        if !private && alert.id.0 > 0 {
            buttons.push(Button { label: w.button_reconnect.into(), action: Action::ReconnectAlert(alert.id) });
        }
        match alert.channels.as_slice() {
            _ if digest => {}
            [only] => buttons.push(Button { label: w.button_ack.into(), action: Action::Ack(only.id) }),
            _ if alert.id.0 > 0 => {
                buttons.push(Button { label: w.button_ack.into(), action: Action::AckAlert(alert.id) });
            }
            _ => {}
        }
    }
    rows.extend(buttons.iter().map(|b| vec![InlineKeyboardButton::callback(b.label.clone(), b.action.encode())]));
    (html, (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows)))
}

/// A channel's line: 🚨 on an urgent one, struck through once connected again.
fn channel_html(line: &ChannelLine, texts: &Catalog) -> String {
    match (line.resolved, line.urgent) {
        (true, _) => format!("✅ <s>{}</s>{}{}", escape(&line.text), texts.separator(), texts.connected_again()),
        (false, true) => format!("🚨 {}", escape(&line.text)),
        (false, false) => format!("• {}", escape(&line.text)),
    }
}

/// The length Telegram counts of an HTML text: UTF-16 code units outside tags, an entity
/// counting as one.
pub fn visible(html: &str) -> usize {
    let mut count = 0usize;
    let mut in_tag = false;
    let mut in_entity = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            '&' => {
                in_entity = true;
                count += 1;
            }
            ';' if in_entity => in_entity = false,
            _ if in_entity => {}
            c => count += c.len_utf16(),
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::{DateTime, Utc};
    use relink_core::Language;
    use relink_core::alerts::{AlertChannel, AlertId, AlertKind, Severity};

    use crate::discord::embed::tests::{alert as sample, digest, grouped, links};

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + hours * 3_600, 0).unwrap()
    }

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

    fn url_buttons(keyboard: &Option<InlineKeyboardMarkup>) -> Vec<String> {
        keyboard
            .iter()
            .flat_map(|k| k.inline_keyboard.iter().flatten())
            .filter_map(|b| match &b.kind {
                teloxide::types::InlineKeyboardButtonKind::Url(url) => Some(url.to_string()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_grouped_telegram_alert_lists_each_channel_with_its_own_posts_and_marks_the_urgent_one() {
        for language in Language::ALL {
            let texts = catalog(*language);
            let alert = grouped(*language);
            let (html, _) = super::alert(&Outgoing { alert: &alert, idempotency_key: "k", reconnect_links: &[] }, true);
            let lines: Vec<&str> = html.lines().filter(|l| l.contains("Pagina") && !l.starts_with("<b>")).collect();
            assert_eq!(lines.len(), 3, "{html}");
            assert!(lines[0].starts_with("• Pagina 1"), "{html}");
            assert!(lines[1].starts_with("🚨 Pagina 2") && lines[1].contains(texts.urgent_word()), "{html}");
            assert!(lines[1].contains(&escape(&texts.date(at(4)))), "{html}");
            assert!(lines[2].contains(&escape(&texts.date(at(28)))), "{html}");
        }
    }

    #[test]
    fn a_telegram_digest_strikes_the_line_connected_again_and_links_only_the_others() {
        for language in Language::ALL {
            let texts = catalog(*language);
            let alert = digest(*language, 3);
            let links = links(3);
            let outgoing = Outgoing { alert: &alert, idempotency_key: "k", reconnect_links: &links };
            let (html, keyboard) = super::alert(&outgoing, true);
            let lines: Vec<&str> = html.lines().filter(|l| l.contains("Pagina")).collect();
            assert!(lines[0].starts_with("🚨 Pagina 1") && lines[0].contains("Dana"), "{html}");
            assert!(lines[1].starts_with("✅ <s>Pagina 2"), "{html}");
            assert!(lines[1].ends_with(&format!("</s>{}{}", texts.separator(), texts.connected_again())), "{html}");
            assert!(lines[2].starts_with("• Pagina 3"), "{html}");
            assert!(!html.contains("r.example"), "the links are buttons: {html}");
            assert_eq!(url_buttons(&keyboard), ["https://r.example/r/1", "https://r.example/r/3"]);
            assert!(buttons_of(&alert).is_empty() || buttons_of(&alert) == [Action::ReconnectAlert(AlertId(42))]);
            let (shared, keyboard) = super::alert(&Outgoing { reconnect_links: &[], ..outgoing }, false);
            assert!(url_buttons(&keyboard).is_empty() && !shared.contains("r.example"));
            assert_eq!(buttons_of(&alert), [Action::ReconnectAlert(AlertId(42))], "no I'm on it under a digest");
        }
    }

    #[test]
    fn a_digest_of_200_channels_stays_within_telegrams_limit_and_says_how_many_more() {
        for language in Language::ALL {
            let alert = digest(*language, 200);
            let links = links(200);
            let outgoing = Outgoing { alert: &alert, idempotency_key: "k", reconnect_links: &links };
            let (html, keyboard) = super::alert(&outgoing, true);
            assert!(visible(&html) <= MAX_TEXT, "{}", visible(&html));
            let shown = html.lines().filter(|l| l.contains("Pagina")).count();
            assert!(shown > 10, "{html}");
            assert!(html.contains(&escape(&catalog(*language).and_more(200 - shown))), "{html}");
            let urls = url_buttons(&keyboard);
            assert!(!urls.is_empty() && urls.len() < shown, "only listed channels still to reconnect: {}", urls.len());

            let mut grouped = grouped(*language);
            grouped.channels =
                alert.channels.iter().map(|c| AlertChannel { status: None, resolved: false, ..c.clone() }).collect();
            let outgoing = Outgoing { alert: &grouped, idempotency_key: "k", reconnect_links: &links };
            let (html, keyboard) = super::alert(&outgoing, true);
            assert!(visible(&html) <= MAX_TEXT, "{}", visible(&html));
            let shown = html.lines().filter(|l| l.contains("Pagina") && !l.starts_with("<b>")).count();
            assert!(html.contains(&escape(&catalog(*language).and_more(200 - shown))), "{html}");
            assert_eq!(url_buttons(&keyboard).len(), shown);
        }
    }

    #[test]
    fn telegram_counts_text_outside_tags_with_an_entity_as_one() {
        assert_eq!(visible("<b>a &amp; b</b>"), 5);
        assert_eq!(visible("🚨 x"), 4);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<b>A & B</b>"), "&lt;b&gt;A &amp; B&lt;/b&gt;");
    }
}
