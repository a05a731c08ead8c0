//! `/reconnect NAME` and the "Get reconnect link" button: a fresh reconnect link bound to the
//! member who asked, sent only to them (privately), and only if their role may reconnect.

use relink_core::alerts::AlertId;
use relink_core::reconnect::{MintedLink, mint_link};
use relink_core::store::StoreError;
use relink_core::{Channel, ChatPlatform, Member};

use super::text::fill;
use super::{Audience, ChatKind, Context, Part, Reply, Services, Target};

pub(super) async fn reconnect(services: &Services, context: &Context, target: Target<'_>) -> Result<Reply, StoreError> {
    let (channel, member) = match context.find_for_action(services, target).await? {
        Ok(found) => found,
        Err(reply) => return Ok(reply),
    };
    let minted = mint_link(&services.store, &services.links, channel.id, Some(member.id), context.now).await?;
    Ok(links_reply(context, vec![(channel, minted)]))
}

/// The button under a group alert: links for every channel of the alert, for the presser.
pub(super) async fn reconnect_alert(
    services: &Services,
    context: &Context,
    alert: AlertId,
) -> Result<Reply, StoreError> {
    let alert = match services.store.alert(alert).await {
        Ok(alert) => alert,
        Err(StoreError::NotFound(_)) => return Ok(context.reply(context.words.see_help)),
        Err(error) => return Err(error),
    };
    let Some(action) = alert.reconnect else {
        let names: Vec<&str> = alert.channels.iter().map(|c| c.name.as_str()).collect();
        return Ok(context.reply(fill(context.words.nothing_open, &[("name", &names.join(", "))])));
    };
    let member: Member = match context.actor(action.team_id) {
        Ok(member) => member.clone(),
        Err(refusal) => return Ok(refusal),
    };
    let mut links = Vec::with_capacity(action.channel_ids.len());
    for id in action.channel_ids {
        let channel = match services.store.channel(id).await {
            Ok(channel) => channel,
            // Removed since the alert went out.
            Err(StoreError::NotFound(_)) => continue,
            Err(error) => return Err(error),
        };
        let minted = mint_link(&services.store, &services.links, id, Some(member.id), context.now).await?;
        links.push((channel, minted));
    }
    if links.is_empty() {
        let names: Vec<&str> = alert.channels.iter().map(|c| c.name.as_str()).collect();
        return Ok(context.reply(fill(context.words.nothing_open, &[("name", &names.join(", "))])));
    }
    Ok(links_reply(context, links))
}

/// The links, in a caller-only message; from a group, a public line says they went privately.
fn links_reply(context: &Context, links: Vec<(Channel, MintedLink)>) -> Reply {
    let w = context.words;
    let names: Vec<String> = links.iter().map(|(c, _)| c.display_name.to_string()).collect();
    let mut reply = match context.caller.chat_kind {
        // Discord shows the caller's links right there, for their eyes only (an ephemeral
        // message): "sent privately" would send them looking for a direct message.
        ChatKind::Group if context.caller.platform == ChatPlatform::Discord => Reply::caller(context.language),
        ChatKind::Group => {
            let mut reply = Reply::text(context.language, fill(w.sent_privately, &[("name", &names.join(", "))]))
                .then(Audience::Caller);
            reply.if_private_fails = Some(w.open_private_chat.into());
            reply
        }
        ChatKind::Private => Reply::caller(context.language),
    };
    let mut expires = None;
    for (channel, minted) in links {
        reply.link(fill(w.reconnect_label, &[("name", channel.display_name.as_str())]), minted.url);
        expires = Some((minted.link.expires_at, channel.team_id));
    }
    if let Some((at, team)) = expires {
        reply.push(Part::Text(fill(w.reconnect_note, &[("date", &w.date(at, context.zone(team)))])));
    }
    reply
}
