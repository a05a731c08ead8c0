//! `/dashboard`: a single-use sign-in link to the team page, bound to the member who asked and
//! sent only to them (a caller-only message, like reconnect links). Every role may sign in;
//! the page shows its buttons only to those who may reconnect.

use relink_core::ChatPlatform;
use relink_core::signin::mint_signin;
use relink_core::store::StoreError;

use super::text::fill;
use super::{Audience, ChatKind, Context, Part, Reply, Services};

pub(super) async fn dashboard(services: &Services, context: &Context) -> Result<Reply, StoreError> {
    let w = context.words;
    // One link per team in scope the caller belongs to: in a group, the teams it is bound to.
    let mut links = Vec::new();
    for team in &context.teams {
        let Some(member) = context.member_in(team.id) else { continue };
        let minted = mint_signin(&services.store, &services.links, member.id, context.now).await?;
        links.push((team.name.to_string(), team.id, minted));
    }
    if links.is_empty() {
        return Ok(if context.teams.is_empty() { context.no_team() } else { context.refuse(w.not_linked) });
    }
    let mut reply = match context.caller.chat_kind {
        // Discord shows it right there to the caller alone (an ephemeral message).
        ChatKind::Group if context.caller.platform == ChatPlatform::Discord => Reply::caller(context.language),
        ChatKind::Group => {
            let mut reply = Reply::text(context.language, w.dashboard_sent_privately).then(Audience::Caller);
            reply.if_private_fails = Some(w.open_private_chat.into());
            reply
        }
        ChatKind::Private => Reply::caller(context.language),
    };
    let mut expires = None;
    for (team, id, minted) in links {
        reply.link(fill(w.dashboard_label, &[("team", &team)]), minted.url);
        expires = Some((minted.link.expires_at, id));
    }
    if let Some((at, team)) = expires {
        reply.push(Part::Text(fill(w.dashboard_note, &[("date", &w.date(at, context.zone(team)))])));
    }
    Ok(reply)
}
