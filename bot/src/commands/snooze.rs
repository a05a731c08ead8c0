//! `/snooze NAME DURATION` and the "Snooze 1 day" button: silence a channel's open alerts for a
//! while (`relink_core::alerts::snooze`, which checks the role again).

use chrono::Duration;
use relink_core::alerts::{IncidentError, snooze_channel};
use relink_core::store::StoreError;

use super::text::fill;
use super::{CommandName, Context, Reply, Services, Target};

pub(super) async fn snooze(
    services: &Services,
    context: &Context,
    target: Target<'_>,
    duration: &str,
) -> Result<Reply, StoreError> {
    let w = context.words;
    let Ok(duration) = relink_core::time::parse_duration("duration", duration) else {
        return Ok(context.refuse(fill(w.usage, &[("usage", CommandName::Snooze.usage())])));
    };
    if duration < Duration::minutes(5) || duration > Duration::days(30) {
        return Ok(context.refuse(w.snooze_range));
    }
    let (channel, member) = match context.find_for_action(services, target).await? {
        Ok(found) => found,
        Err(reply) => return Ok(reply),
    };
    let member = member.id;
    let until = context.now + duration;
    let snoozed = match snooze_channel(&services.store, channel.team_id, channel.id, member, until, context.now).await {
        Ok(snoozed) => snoozed,
        Err(IncidentError::Store(error)) => return Err(error),
        Err(other) => return Err(StoreError::Conflict(other.to_string())),
    };
    let name = channel.display_name.as_str();
    Ok(context.reply(if snoozed == 0 {
        fill(w.nothing_open, &[("name", name)])
    } else {
        fill(w.snoozed, &[("name", name), ("date", &w.date(until, context.zone(channel.team_id)))])
    }))
}
