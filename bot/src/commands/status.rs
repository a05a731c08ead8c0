//! `/status`: every channel of the team, those needing reconnecting first, then expiring, then
//! the rest, each with its state in a few words.

use chrono::{DateTime, Utc};
use relink_core::alerts::messages::catalog;
use relink_core::alerts::{Zone, access_ends};
use relink_core::store::StoreError;
use relink_core::{Channel, Health};

use super::text::{Words, fill};
use super::{Context, Part, Reply, Services};

/// A health's marker in lists.
pub(super) fn icon(health: &Health) -> &'static str {
    match health {
        Health::NeedsReauth(_) => "🔴",
        Health::Expiring => "🟠",
        Health::Degraded => "🟡",
        Health::Unknown => "⚪",
        Health::Healthy => "🟢",
    }
}

/// A health in a few words; `expiry` dates an expiring channel, on `zone`'s wall clock.
pub(super) fn state(w: &Words, zone: Option<&Zone>, health: &Health, expiry: Option<DateTime<Utc>>) -> String {
    match health {
        Health::Healthy => w.healthy.into(),
        Health::Expiring => match expiry {
            Some(at) => fill(w.expiring, &[("date", &w.date(at, zone))]),
            None => w.expiring_soon.into(),
        },
        Health::NeedsReauth(reason) => fill(w.needs_reauth, &[("reason", w.reason(reason))]),
        Health::Degraded => w.degraded.into(),
        Health::Unknown => w.unknown.into(),
    }
}

/// A channel's health in a few words: an expiring one dated with the deadline its alerts give
/// (the inactivity rule's or the token's) on the team's wall clock (`zone`; UTC without one),
/// a reason in its network's words.
pub fn channel_state(w: &Words, zone: Option<&Zone>, channel: &Channel, now: DateTime<Utc>) -> String {
    match &channel.health {
        Health::NeedsReauth(reason) => fill(w.needs_reauth, &[("reason", w.reason_on(channel.provider, reason))]),
        Health::Expiring => state(w, zone, &channel.health, access_ends(channel, now).0),
        health => state(w, zone, health, None),
    }
}

/// One list line: marker, name, network, state.
pub(super) fn line(
    w: &Words,
    zone: Option<&Zone>,
    channel: &Channel,
    language: relink_core::Language,
    now: DateTime<Utc>,
) -> String {
    format!(
        "{} {} ({}): {}",
        icon(&channel.health),
        channel.display_name,
        catalog(language).network(channel.provider),
        channel_state(w, zone, channel, now)
    )
}

pub(super) async fn status(services: &Services, context: &Context) -> Result<Reply, StoreError> {
    if context.teams.is_empty() {
        return Ok(context.no_team());
    }
    let w = context.words;
    let mut reply = Reply::chat(context.language);
    for team in &context.teams {
        let mut channels = services.store.channels(Some(team.id)).await?;
        channels.sort_by(|a, b| {
            (&a.health.attention_rank(), a.token_expires_at.is_none(), a.token_expires_at, a.display_name.as_str()).cmp(
                &(
                    &b.health.attention_rank(),
                    b.token_expires_at.is_none(),
                    b.token_expires_at,
                    b.display_name.as_str(),
                ),
            )
        });
        let count = channels.len().to_string();
        reply.push(Part::Title(fill(w.status_title, &[("team", team.name.as_str()), ("count", &count)])));
        if channels.is_empty() {
            reply.push(Part::Text(w.no_channels.into()));
        }
        for channel in &channels {
            reply.push(Part::Item(line(w, context.zone(team.id), channel, context.language, context.now)));
        }
    }
    Ok(reply)
}
