//! `/start` (what relink is, this chat's id, who you are) and `/help` (the commands).

use relink_core::store::StoreError;

use super::text::fill;
use super::{ChatKind, CommandName, Context, Part, Reply};

pub(super) fn start(context: &Context) -> Result<Reply, StoreError> {
    let w = context.words;
    let mut reply = Reply::chat(context.language).with(Part::Title("relink".into())).with(Part::Text(w.intro.into()));
    reply.push(Part::Text(fill(w.this_chat_id, &[("id", &context.caller.chat_id.to_string())])));
    if context.memberships.is_empty() {
        reply.push(Part::Text(w.not_linked.into()));
    }
    for member in &context.memberships {
        let team = context.team(member.team_id).map_or_else(|| format!("#{}", member.team_id), |t| t.name.to_string());
        let role = w.role(member.role);
        reply.push(Part::Text(fill(w.linked_as, &[("name", member.name.as_str()), ("role", role), ("team", &team)])));
    }
    if context.caller.chat_kind == ChatKind::Group && context.teams.is_empty() && !context.memberships.is_empty() {
        reply.push(Part::Text(w.group_not_subscribed.into()));
    }
    reply.push(Part::Text(w.see_help.into()));
    Ok(reply)
}

pub(super) fn help(context: &Context) -> Reply {
    let w = context.words;
    let mut reply = Reply::chat(context.language).with(Part::Text(w.intro.into()));
    reply.push(Part::Title(w.help_header.into()));
    for command in CommandName::ALL {
        reply.push(Part::Item(format!("{} — {}", command.usage(), command.describe(context.language))));
    }
    reply
}
