//! `/subscribe [TEAM]`: bind this chat to a team so it receives the team's alerts. Only members
//! who may reconnect; in a group, only if they also administer the group.

use relink_core::store::StoreError;
use relink_core::{Member, Team};

use super::text::fill;
use super::{ChatKind, Context, Reply, Services};

pub(super) async fn subscribe(services: &Services, context: &Context, team: Option<&str>) -> Result<Reply, StoreError> {
    let w = context.words;
    if context.memberships.is_empty() {
        return Ok(context.refuse(w.not_linked));
    }
    let mut mine: Vec<(Member, Team)> = Vec::with_capacity(context.memberships.len());
    for member in &context.memberships {
        mine.push((member.clone(), services.store.team(member.team_id).await?));
    }
    let chosen = match team {
        Some(wanted) => mine.iter().find(|(_, t)| t.name.as_str().eq_ignore_ascii_case(wanted.trim())),
        None if mine.len() == 1 => mine.first(),
        None => None,
    };
    let Some((member, team)) = chosen else {
        let names: Vec<&str> = mine.iter().map(|(_, t)| t.name.as_str()).collect();
        return Ok(context.reply(fill(w.which_team, &[("teams", &names.join(", "))])));
    };
    if let Err(refusal) = context.actor(member.team_id) {
        return Ok(refusal);
    }
    if context.caller.chat_kind == ChatKind::Group && !context.caller.is_chat_admin {
        return Ok(context.refuse(w.group_admin_only));
    }
    services.store.bind_chat(team.id, context.caller.platform, context.caller.chat_id, context.now).await?;
    let words = super::words(team.language);
    Ok(Reply::text(team.language, fill(words.subscribed, &[("team", team.name.as_str())])))
}
