//! `/link CODE`: link this chat account to the member a one-time code was made for (`relink
//! member invite`). Only in a private chat: a code shown in a group is no longer personal.

use relink_core::opaque::InviteCode;
use relink_core::store::StoreError;

use super::text::fill;
use super::{ChatKind, Context, Reply, Services};

pub(super) async fn link(services: &Services, context: &Context, code: &str) -> Result<Reply, StoreError> {
    let w = context.words;
    if context.caller.chat_kind == ChatKind::Group {
        return Ok(context.refuse(w.link_private_only));
    }
    // The error would not repeat the code anyway; the reply says the same for every failure.
    let Ok(code) = InviteCode::parse(code) else {
        return Ok(context.refuse(w.link_invalid));
    };
    let caller = &context.caller;
    match services.store.redeem_invite(&code, caller.platform, caller.user_id, context.now).await {
        Ok(Some(member)) => {
            let team = services.store.team(member.team_id).await?;
            let words = super::words(team.language);
            let text = fill(
                words.link_done,
                &[("name", member.name.as_str()), ("role", words.role(member.role)), ("team", team.name.as_str())],
            );
            Ok(Reply::text(team.language, text))
        }
        Ok(None) => Ok(context.refuse(w.link_invalid)),
        Err(StoreError::Conflict(_)) => Ok(context.refuse(w.link_taken)),
        Err(error) => Err(error),
    }
}
