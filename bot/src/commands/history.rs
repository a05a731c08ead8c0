//! `/history NAME`: a channel's latest health changes, newest first.

use relink_core::store::StoreError;
use relink_core::{Health, Language};

use super::status::state;
use super::text::fill;
use super::{Context, Part, Reply, Services, Target};

/// How many changes are listed.
const SHOWN: u32 = 10;

pub(super) async fn history(services: &Services, context: &Context, name: &str) -> Result<Reply, StoreError> {
    let channel = match context.find(services, Target::Name(name)).await? {
        Ok(channel) => channel,
        Err(reply) => return Ok(reply),
    };
    let w = context.words;
    let zone = context.zone(channel.team_id);
    let mut reply = Reply::chat(context.language)
        .with(Part::Title(fill(w.history_title, &[("name", channel.display_name.as_str())])));
    let changes = services.store.history(channel.id, SHOWN).await?;
    if changes.is_empty() {
        reply.push(Part::Text(w.history_empty.into()));
    }
    for change in changes {
        let said = |health: &Health| match health {
            Health::NeedsReauth(reason) => fill(w.needs_reauth, &[("reason", w.reason_on(channel.provider, reason))]),
            health => state(w, zone, health, None),
        };
        let mut line = format!("{}: {} → {}", w.date(change.at, zone), said(&change.from), said(&change.to));
        // The recorded detail is relink's own English description: shown to English readers only,
        // the state words above saying the same in every language.
        if let Some(detail) = change.detail.filter(|d| !d.is_empty() && context.language == Language::En) {
            line.push_str(&format!(" ({detail})"));
        }
        reply.push(Part::Item(line));
    }
    Ok(reply)
}
