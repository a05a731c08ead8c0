//! `/check NAME`: check a channel with its network now and answer with the result (owners and
//! admins), under the checker's lease; the result is written like any check's, alerts and all.

use relink_core::Channel;
use relink_core::checker::CheckNow;
use relink_core::store::StoreError;

use super::status::channel_state;
use super::text::fill;
use super::{Context, Reply, Services, Target};

pub(super) async fn check(services: &Services, context: &Context, target: Target<'_>) -> Result<Reply, StoreError> {
    let channel = match context.find_for_action(services, target).await? {
        Ok((channel, _)) => channel,
        Err(reply) => return Ok(reply),
    };
    let w = context.words;
    let Some(checker) = &services.checker else {
        return Ok(context.reply(w.check_unavailable));
    };
    let name = channel.display_name.as_str();
    let text = match checker.check_now(channel.id, context.now).await? {
        CheckNow::Busy => fill(w.refresh_busy, &[("name", name)]),
        CheckNow::Checked { health, .. } => {
            let checked = Channel { health, ..services.store.channel(channel.id).await? };
            fill(
                w.check_done,
                &[("name", name), ("state", &channel_state(w, context.zone(channel.team_id), &checked, context.now))],
            )
        }
    };
    Ok(context.reply(text))
}
