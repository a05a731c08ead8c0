//! `/channel NAME`: one channel in detail: its state and why, what to do, when access ends, the
//! scheduled posts at risk, who authorised it, the last check, and who is on it.

use relink_core::alerts::access_ends;
use relink_core::alerts::messages::catalog;
use relink_core::alerts::{AtRisk, Zone};
use relink_core::store::StoreError;
use relink_core::{Channel, Health};

use super::status::{channel_state, icon};
use super::text::fill;
use super::{Action, Context, Part, Reply, Services, Target};

pub(super) async fn channel(services: &Services, context: &Context, name: &str) -> Result<Reply, StoreError> {
    let channel = match context.find(services, Target::Name(name)).await? {
        Ok(channel) => channel,
        Err(reply) => return Ok(reply),
    };
    let w = context.words;
    let store = &services.store;
    let mut reply = Reply::chat(context.language);
    reply.push(Part::Title(format!(
        "{} {} ({})",
        icon(&channel.health),
        channel.display_name,
        catalog(context.language).network(channel.provider)
    )));
    let zone = context.zone(channel.team_id);
    reply.push(Part::Text(channel_state(w, zone, &channel, context.now)));
    // The deadline and the cause the alerts give: the inactivity rule's or the token's.
    let (deadline, cause) = access_ends(&channel, context.now);
    let texts = match &channel.health {
        Health::NeedsReauth(reason) => Some(catalog(context.language).reason_on(channel.provider, reason)),
        Health::Expiring => Some(catalog(context.language).expiring(cause)),
        _ => None,
    };
    if let Some(texts) = texts {
        reply.push(Part::Text(texts.explanation.into()));
        reply.push(Part::Text(texts.remedy.into()));
    }
    let ends = if channel.health == Health::Expiring { deadline } else { channel.token_expires_at };
    reply.push(Part::Text(match ends {
        Some(at) => fill(w.expires, &[("date", &w.date(at, zone))]),
        None => w.no_expiry.into(),
    }));
    reply.push(Part::Text(at_risk_line(context, zone, &at_risk(services, &channel, context).await?)));
    let authoriser = match channel.authorized_by {
        Some(id) => store.members(channel.team_id).await?.into_iter().find(|m| m.id == id),
        None => None,
    };
    reply.push(Part::Text(match authoriser {
        Some(member) => fill(w.authorised_by, &[("name", member.name.as_str())]),
        None => w.nobody_authorised.into(),
    }));
    reply.push(Part::Text(match channel.last_checked_at {
        Some(at) => fill(w.last_checked, &[("date", &w.date(at, zone))]),
        None => w.never_checked.into(),
    }));
    let open: Vec<_> = store
        .incidents(Some(channel.team_id), false)
        .await?
        .into_iter()
        .filter(|i| i.channel_id == channel.id && i.is_open())
        .collect();
    let members = if open.is_empty() { Vec::new() } else { store.members(channel.team_id).await? };
    for incident in &open {
        if let Some(by) = incident.acknowledged_by.and_then(|id| members.iter().find(|m| m.id == id)) {
            reply.push(Part::Text(fill(w.acknowledged_by, &[("name", by.name.as_str())])));
        }
        if let Some(until) = incident.snoozed_until.filter(|until| *until > context.now) {
            reply.push(Part::Text(fill(w.snoozed_until, &[("date", &w.date(until, zone))])));
        }
    }
    // Buttons only for someone who may press them: an editor or viewer would only be refused.
    let may_act = context.actor(channel.team_id).is_ok();
    if may_act && matches!(channel.health, Health::NeedsReauth(_) | Health::Expiring) {
        reply.button(w.button_reconnect, Action::Reconnect(channel.id));
    }
    if may_act && !open.is_empty() {
        reply.button(w.button_ack, Action::Ack(channel.id));
        reply.button(w.button_snooze_day, Action::Snooze(channel.id, 24));
    }
    Ok(reply)
}

/// The scheduled posts a disconnection puts at risk: every pending post once the channel needs
/// reconnecting, the posts due after the expiry when it is expiring, none otherwise.
async fn at_risk(services: &Services, channel: &Channel, context: &Context) -> Result<AtRisk, StoreError> {
    let from = match (&channel.health, access_ends(channel, context.now).0) {
        (Health::NeedsReauth(_), _) => context.now,
        (Health::Expiring, Some(expiry)) => expiry.max(context.now),
        _ => return Ok(AtRisk::default()),
    };
    let due: Vec<_> = services.store.pending_posts(channel.id, context.now).await?.iter().map(|p| p.due_at).collect();
    Ok(AtRisk::of(&due, from))
}

fn at_risk_line(context: &Context, zone: Option<&Zone>, at_risk: &AtRisk) -> String {
    let w = context.words;
    match at_risk.first_due {
        Some(first) => fill(w.at_risk, &[("count", &at_risk.count.to_string()), ("date", &w.date(first, zone))]),
        None => w.nothing_at_risk.into(),
    }
}
