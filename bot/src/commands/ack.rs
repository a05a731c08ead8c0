//! `/ack NAME` and the "I'm on it" button: acknowledge a channel's open alerts, which stops
//! their escalation (`relink_core::alerts::acknowledge`, which checks the role again).

use relink_core::alerts::{AlertId, IncidentError, acknowledge_channels};
use relink_core::store::StoreError;
use relink_core::{ChannelId, MemberId, TeamId};

use super::text::fill;
use super::{Context, Reply, Services, Target};

pub(super) async fn ack(services: &Services, context: &Context, target: Target<'_>) -> Result<Reply, StoreError> {
    let (channel, member) = match context.find_for_action(services, target).await? {
        Ok(found) => found,
        Err(reply) => return Ok(reply),
    };
    let acknowledged = acknowledge_all(services, context, channel.team_id, &[channel.id], member.id).await?;
    let name = channel.display_name.as_str();
    let w = context.words;
    Ok(context.reply(fill(if acknowledged == 0 { w.nothing_open } else { w.acknowledged }, &[("name", name)])))
}

/// "I'm on it" under an alert about several channels: acknowledges each of them.
pub(super) async fn ack_alert(services: &Services, context: &Context, alert: AlertId) -> Result<Reply, StoreError> {
    let alert = match services.store.alert(alert).await {
        Ok(alert) => alert,
        Err(StoreError::NotFound(_)) => return Ok(context.reply(context.words.see_help)),
        Err(error) => return Err(error),
    };
    let member = match context.actor(alert.team_id) {
        Ok(member) => member.id,
        Err(refusal) => return Ok(refusal),
    };
    let ids: Vec<ChannelId> = alert.channels.iter().map(|c| c.id).collect();
    let acknowledged = acknowledge_all(services, context, alert.team_id, &ids, member).await?;
    let names: Vec<&str> = alert.channels.iter().map(|c| c.name.as_str()).collect();
    let w = context.words;
    let text = if acknowledged == 0 { w.nothing_open } else { w.acknowledged };
    Ok(context.reply(fill(text, &[("name", &names.join(", "))])))
}

/// Acknowledges the open incidents of `channels`; returns how many.
async fn acknowledge_all(
    services: &Services,
    context: &Context,
    team: TeamId,
    channels: &[ChannelId],
    member: MemberId,
) -> Result<usize, StoreError> {
    match acknowledge_channels(&services.store, team, channels, member, context.now).await {
        Ok(acknowledged) => Ok(acknowledged),
        Err(IncidentError::Store(error)) => Err(error),
        Err(other) => Err(StoreError::Conflict(other.to_string())),
    }
}
