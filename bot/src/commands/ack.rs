//! `/ack NAME` and the "I'm on it" button: acknowledge a channel's open alerts, which stops
//! their escalation (`relink_core::alerts::acknowledge`, which checks the role again).

use relink_core::alerts::{IncidentError, acknowledge};
use relink_core::store::StoreError;

use super::text::fill;
use super::{Context, Reply, Services, Target};

pub(super) async fn ack(services: &Services, context: &Context, target: Target<'_>) -> Result<Reply, StoreError> {
    let (channel, member) = match context.find_for_action(services, target).await? {
        Ok(found) => found,
        Err(reply) => return Ok(reply),
    };
    let member = member.id;
    let mut acknowledged = 0;
    for incident in services.store.incidents(Some(channel.team_id), false).await? {
        let Some(id) = incident.id.filter(|_| incident.channel_id == channel.id) else { continue };
        match acknowledge(&services.store, id, member, context.now).await {
            Ok(_) => acknowledged += 1,
            Err(IncidentError::Resolved(_)) => {}
            Err(IncidentError::Store(error)) => return Err(error),
            Err(other) => return Err(StoreError::Conflict(other.to_string())),
        }
    }
    let name = channel.display_name.as_str();
    let w = context.words;
    Ok(context.reply(fill(if acknowledged == 0 { w.nothing_open } else { w.acknowledged }, &[("name", name)])))
}
