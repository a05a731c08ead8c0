//! An [`Alert`] as a Discord message: one embed coloured by severity (title, explanation and
//! remedy, then fields for the reason, the end of access, the posts at risk and who authorised
//! the channels) and the reconnect action as buttons:
//!
//! - in a **shared channel**, one "Get reconnect link" button whose `custom_id` is the command
//!   layer's `Action::ReconnectAlert` (`ra:<alert id>`); pressing it goes through
//!   `commands::press`, which answers the presser privately with links when their role allows;
//! - in an admin's **direct messages**, one link button per channel with that reader's links;
//! - in both, an "I'm on it" button that acknowledges the alert's open incidents for whoever
//!   presses it (`k:<channel id>` under an alert about one channel, `ka:<alert id>` under a
//!   grouped one), with the same role rules as `/ack`.
//!
//! An alert that asks nobody to act (a resolution, a "degraded, nothing to do", an operator's
//! notice) carries no button at all: the engine gives it nothing to reconnect.
//!
//! A `custom_id` never carries a secret; links appear only in link buttons of private messages.

use relink_core::Reason;
use relink_core::alerts::messages::{Catalog, ChannelLine, catalog, channel_lines, fitting, is_digest};
use relink_core::alerts::{Alert, AlertId, AlertKind, ChannelLink, Severity};
use secrecy::ExposeSecret as _;
use serenity::builder::{CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter};
use serenity::model::Timestamp;
use serenity::model::application::ButtonStyle;

use super::words::words;
use crate::commands::{self, Action};

/// Discord's limits that an alert could reach.
const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 4_096;
const MAX_FIELD: usize = 1_024;
const MAX_LABEL: usize = 80;
/// Buttons under one message: five rows of five.
const MAX_BUTTONS: usize = 25;

/// The embed's colour: blue for information, amber for warnings, red when disconnected, dark
/// red when posts are due within a day, green once resolved.
pub fn colour(alert: &Alert) -> u32 {
    match (alert.kind, alert.severity) {
        (AlertKind::Resolved, _) => 0x2E_CC_71,
        (_, Severity::Info) => 0x34_98_DB,
        (_, Severity::Warning) => 0xF1_C4_0F,
        (_, Severity::Critical) => 0xE7_4C_3C,
        (_, Severity::Urgent) => 0x99_2D_22,
    }
}

/// The alert as an embed. A grouped alert lists its channels in a field, each with its own
/// posts at risk and 🚨 on the urgent ones; a digest lists them in the description, one line
/// each (struck through once connected again) and says per line what the fields say of one
/// channel. A list too long for Discord's limits keeps its first (most urgent) lines and says
/// how many more there are.
pub fn embed(alert: &Alert) -> CreateEmbed {
    let labels = words(alert.language);
    let texts = catalog(alert.language);
    let digest = is_digest(alert);
    let mut description = format!("{}\n\n{}", alert.explanation, alert.remedy);
    if let Some(detail) = alert.detail.as_deref().filter(|d| !d.is_empty()) {
        description.push_str(&format!("\n\n> {}", detail.replace('\n', " ")));
    }
    let lines: Vec<String> = channel_lines(alert).iter().map(|line| channel_markdown(line, texts)).collect();
    if digest {
        description = clip(&description, MAX_DESCRIPTION / 2);
        description.push_str("\n\n");
        description.push_str(&list(
            &lines,
            alert.unlisted as usize,
            MAX_DESCRIPTION.saturating_sub(description.chars().count()),
            texts,
        ));
    }
    let mut embed = CreateEmbed::new()
        .title(clip(&alert.title, MAX_TITLE))
        .description(clip(&description, MAX_DESCRIPTION))
        .colour(colour(alert))
        .footer(CreateEmbedFooter::new(clip(&alert.team, 2_048)));
    if let Ok(at) = Timestamp::from_unix_timestamp(alert.created_at.timestamp()) {
        embed = embed.timestamp(at);
    }
    if digest {
        return embed;
    }
    if !lines.is_empty() {
        embed = embed.field(labels.channels, list(&lines, alert.unlisted as usize, MAX_FIELD, texts), false);
    }
    if let Some(reason) = alert.reason.as_deref().filter(|_| alert.kind != AlertKind::Resolved) {
        let label = match (Reason::from_parts(reason, alert.detail.as_deref()), alert.channels.first()) {
            (Ok(reason), Some(channel)) => texts.reason_label_on(channel.network, &reason),
            (Ok(reason), None) => texts.reason_label(&reason),
            (Err(_), _) => texts.reason_label(&Reason::Other(String::new())),
        };
        embed = embed.field(labels.reason, label, true);
    }
    if let Some(deadline) = alert.deadline.filter(|_| alert.kind != AlertKind::Resolved) {
        embed = embed.field(
            labels.expiry,
            format!("{} (<t:{}:R>)", texts.date_in(deadline, alert.zone.as_deref()), deadline.timestamp()),
            true,
        );
    }
    if !matches!(alert.kind, AlertKind::Resolved | AlertKind::OperatorProblem) {
        let at_risk = match alert.at_risk.first_due {
            Some(first) => labels
                .at_risk_value
                .replace("{count}", &alert.at_risk.count.to_string())
                .replace("{date}", &texts.date_in(first, alert.zone.as_deref())),
            None => labels.nothing_at_risk.to_owned(),
        };
        embed = embed.field(labels.at_risk, at_risk, true);
    }
    if alert.kind != AlertKind::OperatorProblem {
        let by = alert.authorised_by.as_deref().unwrap_or(labels.nobody);
        embed = embed.field(labels.authorised_by, clip(by, MAX_FIELD), true);
    }
    embed
}

/// A channel's line: 🚨 on an urgent one, struck through once connected again.
fn channel_markdown(line: &ChannelLine, texts: &Catalog) -> String {
    match (line.resolved, line.urgent) {
        (true, _) => {
            format!("✅ ~~{}~~{}{}", escape_markdown(&line.text), texts.separator(), texts.connected_again())
        }
        (false, true) => format!("🚨 {}", escape_markdown(&line.text)),
        (false, false) => format!("• {}", escape_markdown(&line.text)),
    }
}

/// Lines one per row within `room` characters, the last saying how many more there are when
/// not all fit.
fn list(lines: &[String], unlisted: usize, room: usize, texts: &Catalog) -> String {
    // Every line is clipped to the room first, so one very long name cannot hide the others.
    let lines: Vec<String> = lines.iter().map(|line| clip(line, room.min(MAX_FIELD))).collect();
    let costs: Vec<usize> = lines.iter().map(|line| line.chars().count() + 1).collect();
    let shown = fitting(&costs, room.saturating_add(1), |n| texts.and_more(n + unlisted).chars().count() + 1);
    let mut out: Vec<&str> = lines.iter().take(shown).map(String::as_str).collect();
    let hidden = (lines.len() - shown).saturating_add(unlisted);
    let more = (hidden > 0).then(|| texts.and_more(hidden));
    out.extend(more.as_deref());
    out.join("\n")
}

/// Text shown as it is in Discord's markdown (a channel named `*sale*` stays that).
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The buttons under an alert: link buttons with this reader's links in a private message, the
/// "Get reconnect link" button in a shared channel, then "I'm on it"; none when there is nothing
/// to reconnect. A digest's link buttons are those of its channels still to reconnect, most
/// urgent first, and it has no "I'm on it" (one press would take on every problem it lists:
/// `/relink ack` names one).
pub fn buttons(alert: &Alert, links: &[ChannelLink], private: bool) -> Vec<CreateActionRow> {
    let open = alert.reconnect.as_ref().is_some_and(|r| !r.channel_ids.is_empty());
    if !open || alert.kind == AlertKind::Resolved {
        return Vec::new();
    }
    let labels = words(alert.language);
    let ack = ack_action(alert);
    let mut buttons: Vec<CreateButton> = if private {
        alert
            .channels
            .iter()
            .filter(|channel| !channel.resolved)
            .filter_map(|channel| Some((channel, links.iter().find(|link| link.channel_id == channel.id)?)))
            // One place of Discord's 25 is kept for "I'm on it".
            .take(MAX_BUTTONS - usize::from(ack.is_some()))
            .map(|(channel, link)| {
                let label = labels.reconnect_channel.replace("{name}", &channel.name);
                CreateButton::new_link(link.url.expose_secret()).label(clip(label.trim(), MAX_LABEL))
            })
            .collect()
    } else if alert.id != AlertId::UNSAVED {
        vec![
            CreateButton::new(Action::ReconnectAlert(alert.id).encode())
                .label(clip(labels.get_link, MAX_LABEL))
                .style(ButtonStyle::Primary),
        ]
    } else {
        Vec::new()
    };
    if let Some(ack) = ack {
        let label = commands::words(alert.language).button_ack;
        buttons.push(CreateButton::new(ack.encode()).label(clip(label, MAX_LABEL)).style(ButtonStyle::Secondary));
    }
    buttons.chunks(5).map(|row| CreateActionRow::Buttons(row.to_vec())).collect()
}

/// What "I'm on it" under `alert` does: acknowledge its one channel, or every channel of a
/// grouped alert (which needs the alert's id, so an unsaved alert gets no button); a digest
/// has none.
fn ack_action(alert: &Alert) -> Option<Action> {
    match alert.channels.as_slice() {
        _ if is_digest(alert) => None,
        [] => None,
        [only] => Some(Action::Ack(only.id)),
        _ => (alert.id != AlertId::UNSAVED).then_some(Action::AckAlert(alert.id)),
    }
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use relink_core::alerts::messages::DigestLine;
    use relink_core::alerts::{AlertChannel, AtRisk, IncidentId, ReconnectAction};
    use relink_core::{ChannelId, Language, Provider, TeamId};
    use secrecy::SecretString;

    pub(crate) fn alert(kind: AlertKind, severity: Severity, channels: usize) -> Alert {
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        Alert {
            id: AlertId(42),
            kind,
            severity,
            language: Language::It,
            team_id: TeamId(1),
            team: "Acme".into(),
            channels: (1..=channels as i64)
                .map(|i| AlertChannel::new(ChannelId(i), format!("Pagina {i}"), Provider::Facebook))
                .collect(),
            incidents: vec![IncidentId(7)],
            reason: Some("password_changed".into()),
            detail: None,
            title: "Pagina 1 è scollegato".into(),
            explanation: "La password è cambiata.".into(),
            remedy: "Ricollega il canale.".into(),
            authorised_by: Some("Alice".into()),
            at_risk: AtRisk { count: 3, first_due: Some(at) },
            deadline: None,
            reconnect: Some(ReconnectAction {
                team_id: TeamId(1),
                channel_ids: (1..=channels as i64).map(ChannelId).collect(),
            }),
            edits: None,
            unlisted: 0,
            zone: None,
            created_at: at,
        }
    }

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + hours * 3_600, 0).unwrap()
    }

    /// A grouped alert about three channels killed by one password change, the second urgent,
    /// each with its own posts at risk.
    pub(crate) fn grouped(language: Language) -> Alert {
        let mut alert = alert(AlertKind::Disconnected, Severity::Urgent, 3);
        alert.language = language;
        for (i, channel) in alert.channels.iter_mut().enumerate() {
            channel.at_risk = AtRisk { count: i as u32, first_due: (i > 0).then(|| at(i as i64 * 24 - 20)) };
            channel.urgent = i == 1;
        }
        alert
    }

    /// A digest of `n` open problems in `language`, the most urgent first, as edited after the
    /// second was connected again.
    pub(crate) fn digest(language: Language, n: usize) -> Alert {
        let words = catalog(language);
        let mut alert = alert(AlertKind::Reminder, Severity::Urgent, n);
        alert.language = language;
        alert.reason = None;
        alert.authorised_by = None;
        (alert.title, _) = words.digest(n);
        for (i, channel) in alert.channels.iter_mut().enumerate() {
            let line = if i % 3 == 2 {
                DigestLine::Expiring { deadline: Some(at(72)) }
            } else {
                DigestLine::NeedsReauth { reason: &Reason::PasswordChanged, since: at(-24) }
            };
            channel.status = Some(words.digest_status(channel.network, line, None));
            channel.authorised_by = Some("Dana".into());
            channel.at_risk = AtRisk { count: 2, first_due: Some(at(5)) };
            channel.urgent = i == 0;
            channel.resolved = i == 1;
        }
        alert.reconnect = Some(ReconnectAction {
            team_id: TeamId(1),
            channel_ids: alert.channels.iter().filter(|c| !c.resolved).map(|c| c.id).collect(),
        });
        alert.edits = Some(AlertId(41));
        alert
    }

    pub(crate) fn links(n: i64) -> Vec<ChannelLink> {
        (1..=n)
            .map(|i| ChannelLink {
                channel_id: ChannelId(i),
                url: SecretString::from(format!("https://r.example/r/{i}")),
            })
            .collect()
    }

    fn link_urls(rows: Vec<CreateActionRow>) -> Vec<String> {
        let rows = json(rows);
        rows.as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .filter_map(|b| b["url"].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn a_grouped_discord_alert_lists_each_channel_with_its_own_posts_and_marks_the_urgent_one() {
        for language in Language::ALL {
            let texts = catalog(*language);
            let value = json(embed(&grouped(*language)));
            let field = value["fields"].as_array().unwrap().iter().find(|f| f["name"] == words(*language).channels);
            let list = field.expect("a channels field")["value"].as_str().unwrap().to_owned();
            let lines: Vec<&str> = list.lines().collect();
            assert_eq!(lines.len(), 3, "{list}");
            assert!(lines[0].starts_with("• Pagina 1"), "{list}");
            assert!(lines[1].starts_with("🚨 Pagina 2") && lines[1].contains(texts.urgent_word()), "{list}");
            assert!(lines[1].contains(&texts.date(at(4))) && lines[2].contains(&texts.date(at(28))), "{list}");
            assert!(!lines[2].contains(texts.urgent_word()), "{list}");
        }
    }

    #[test]
    fn a_discord_digest_strikes_the_line_connected_again_and_links_only_the_others() {
        for language in Language::ALL {
            let texts = catalog(*language);
            let digest = digest(*language, 3);
            let value = json(embed(&digest));
            let description = value["description"].as_str().unwrap();
            let lines: Vec<&str> = description.lines().rev().take(3).collect();
            assert!(lines[2].starts_with("🚨 Pagina 1") && lines[2].contains("Dana"), "{description}");
            assert!(lines[1].starts_with("✅ ~~Pagina 2"), "{description}");
            assert!(
                lines[1].ends_with(&format!("~~{}{}", texts.separator(), texts.connected_again())),
                "{description}"
            );
            assert!(lines[0].starts_with("• Pagina 3") && lines[0].contains(&texts.date(at(72))), "{description}");
            assert!(value["fields"].as_array().is_none_or(Vec::is_empty), "a digest says it all per line: {value}");
            let private = buttons(&digest, &links(3), true);
            assert_eq!(link_urls(private.clone()), ["https://r.example/r/1", "https://r.example/r/3"]);
            assert!(custom_ids(private).is_empty(), "one press would take on every problem: no I'm on it");
            assert_eq!(custom_ids(buttons(&digest, &[], false)), ["ra:42"]);
        }
    }

    #[test]
    fn a_digest_of_200_channels_stays_within_discords_limits_and_says_how_many_more() {
        for language in Language::ALL {
            let digest = digest(*language, 200);
            let value = json(embed(&digest));
            let description = value["description"].as_str().unwrap();
            assert!(description.chars().count() <= MAX_DESCRIPTION, "{}", description.chars().count());
            let last = description.lines().last().unwrap();
            let shown = description.lines().filter(|l| l.contains("Pagina")).count();
            assert!(shown > 10, "{description}");
            assert_eq!(last, catalog(*language).and_more(200 - shown));
            let rows = buttons(&digest, &links(200), true);
            assert!(
                rows.len() <= 5
                    && json(&rows).as_array().unwrap().iter().all(|r| r["components"].as_array().unwrap().len() <= 5)
            );
            assert_eq!(link_urls(rows).first().map(String::as_str), Some("https://r.example/r/1"));

            let mut grouped = grouped(*language);
            grouped.channels = digest
                .channels
                .iter()
                .map(|c| AlertChannel { status: None, authorised_by: None, resolved: false, ..c.clone() })
                .collect();
            grouped.kind = AlertKind::Disconnected;
            let value = json(embed(&grouped));
            let list = value["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == words(*language).channels)
                .unwrap()["value"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(list.chars().count() <= MAX_FIELD, "{}", list.chars().count());
            assert!(list.lines().last().unwrap().starts_with(&catalog(*language).and_more(1)[..3]), "{list}");
        }
    }

    fn json(value: impl serde::Serialize) -> serde_json::Value {
        serde_json::to_value(value).unwrap()
    }

    #[test]
    fn colours_follow_severity_and_resolution() {
        let table = [
            (AlertKind::Expiring, Severity::Info, 0x34_98_DB),
            (AlertKind::Expiring, Severity::Warning, 0xF1_C4_0F),
            (AlertKind::Disconnected, Severity::Critical, 0xE7_4C_3C),
            (AlertKind::Disconnected, Severity::Urgent, 0x99_2D_22),
            (AlertKind::Resolved, Severity::Info, 0x2E_CC_71),
        ];
        for (kind, severity, expected) in table {
            assert_eq!(colour(&alert(kind, severity, 1)), expected, "{kind} {severity}");
        }
    }

    #[test]
    fn the_embed_has_localized_fields_for_reason_posts_and_authoriser() {
        let value = json(embed(&alert(AlertKind::Disconnected, Severity::Critical, 1)));
        let names: Vec<&str> =
            value["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Motivo", "Post a rischio", "Autorizzato da"]);
        assert_eq!(value["fields"][0]["value"], "password cambiata");
        assert_eq!(value["fields"][2]["value"], "Alice");
        assert_eq!(value["color"], 0xE7_4C_3C);
    }

    #[test]
    fn shared_channels_get_a_button_naming_only_the_alert_and_dms_get_link_buttons() {
        let alert = alert(AlertKind::Disconnected, Severity::Critical, 2);
        let shared = json(buttons(&alert, &[], false));
        assert_eq!(shared[0]["components"][0]["custom_id"], "ra:42");
        assert_eq!(Action::decode("ra:42"), Some(Action::ReconnectAlert(AlertId(42))));
        let links: Vec<ChannelLink> = (1..=2)
            .map(|i| ChannelLink {
                channel_id: ChannelId(i),
                url: SecretString::from(format!("https://r.example/r/{i}")),
            })
            .collect();
        let private = json(buttons(&alert, &links, true));
        let row = private[0]["components"].as_array().unwrap();
        assert_eq!(row.len(), 3);
        assert_eq!(row[1]["url"], "https://r.example/r/2");
        assert_eq!(row[1]["label"], "Ricollega Pagina 2");
        assert!(row[..2].iter().all(|b| b.get("custom_id").is_none()));
        assert_eq!(row[2]["custom_id"], "ka:42", "the private message can be taken on too");
    }

    fn custom_ids(rows: Vec<CreateActionRow>) -> Vec<String> {
        let rows = json(rows);
        rows.as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .filter_map(|b| b["custom_id"].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn a_grouped_discord_alert_can_be_taken_on_and_one_that_asks_nothing_carries_no_button() {
        let grouped = alert(AlertKind::Disconnected, Severity::Critical, 3);
        assert_eq!(custom_ids(buttons(&grouped, &[], false)), ["ra:42", "ka:42"]);
        assert_eq!(Action::decode("ka:42"), Some(Action::AckAlert(AlertId(42))));
        let single = alert(AlertKind::Disconnected, Severity::Critical, 1);
        assert_eq!(custom_ids(buttons(&single, &[], false)), ["ra:42", "k:1"]);
        // A grouped alert not saved yet has no id to name: no button rather than a wrong one.
        let unsaved = Alert { id: AlertId::UNSAVED, ..grouped };
        assert!(custom_ids(buttons(&unsaved, &[], false)).is_empty());
        // The engine gives a degraded alert, and an operator's notice, nothing to reconnect.
        for kind in [AlertKind::Degraded, AlertKind::OperatorProblem] {
            let nothing = Alert { reconnect: None, ..alert(kind, Severity::Warning, 2) };
            assert!(buttons(&nothing, &[], false).is_empty(), "{kind}");
            assert!(buttons(&nothing, &[], true).is_empty(), "{kind}");
        }
        let many: Vec<ChannelLink> = (1..=30)
            .map(|i| ChannelLink {
                channel_id: ChannelId(i),
                url: SecretString::from(format!("https://r.example/r/{i}")),
            })
            .collect();
        let rows = buttons(&alert(AlertKind::Disconnected, Severity::Critical, 30), &many, true);
        assert_eq!(rows.len(), 5, "Discord allows five rows");
        assert_eq!(custom_ids(rows), ["ka:42"], "the link buttons leave room for I'm on it");
    }

    #[test]
    fn resolved_alerts_have_no_buttons_and_long_texts_are_clipped() {
        assert!(buttons(&alert(AlertKind::Resolved, Severity::Info, 1), &[], false).is_empty());
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("日本語", 3), "日本語");
    }
}
