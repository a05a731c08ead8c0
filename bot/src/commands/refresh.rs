//! `/refresh NAME`: renew a channel's access now, where the network allows it (the "refresh
//! access" action of the seeds), under the checker's lease.

use relink_core::Channel;
use relink_core::checker::RefreshNow;
use relink_core::store::StoreError;

use super::status::channel_state;
use super::text::fill;
use super::{Context, Reply, Services, Target};

pub(super) async fn refresh(services: &Services, context: &Context, target: Target<'_>) -> Result<Reply, StoreError> {
    let channel = match context.find_for_action(services, target).await? {
        Ok((channel, _)) => channel,
        Err(reply) => return Ok(reply),
    };
    let w = context.words;
    let Some(checker) = &services.checker else {
        return Ok(context.reply(w.refresh_unavailable));
    };
    let name = channel.display_name.as_str();
    let zone = context.zone(channel.team_id);
    let text = match checker.refresh_now(channel.id, context.now).await? {
        RefreshNow::Renewed(health) => {
            let renewed = Channel { health, ..services.store.channel(channel.id).await? };
            fill(w.refresh_renewed, &[("name", name), ("state", &channel_state(w, zone, &renewed, context.now))])
        }
        RefreshNow::NotRenewable => {
            let network = relink_core::alerts::messages::catalog(context.language).network(channel.provider);
            fill(w.refresh_not_renewable, &[("name", name), ("network", network)])
        }
        RefreshNow::Busy => fill(w.refresh_busy, &[("name", name)]),
        RefreshNow::NotYet(from) => {
            let network = relink_core::alerts::messages::catalog(context.language).network(channel.provider);
            fill(w.refresh_not_yet, &[("name", name), ("network", network), ("date", &w.date(from, zone))])
        }
        RefreshNow::Failed { health, detail } => {
            let mut text = fill(w.refresh_failed, &[("name", name), ("detail", &detail)]);
            let now = Channel { health, ..channel.clone() };
            text.push_str(&format!(" ({})", channel_state(w, zone, &now, context.now)));
            text
        }
    };
    Ok(context.reply(text))
}
