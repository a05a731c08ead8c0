//! What each interaction gets: slash commands go to the shared command layer and come back
//! rendered for Discord; autocomplete offers the channels of the teams in context; the "Get
//! reconnect link" button answers the presser privately with links when their role allows.

use std::sync::Arc;

use relink_core::alerts::{Alert, AlertId};
use relink_core::domain::{Channel, DiscordUserId, Member, TeamId};
use relink_core::reconnect::mint_link;
use relink_core::{ChatPlatform, Language};
use secrecy::ExposeSecret as _;
use serenity::builder::{
    AutocompleteChoice, CreateActionRow, CreateAutocompleteResponse, CreateButton, CreateInteractionResponse,
};

use super::Services;
use super::embed::{clip, link_button_alert};
use super::incoming::{AUTOCOMPLETE, Incoming, MESSAGE_COMPONENT};
use super::respond::{Answer, Rendered};
use super::words::words;

/// Discord shows at most 25 choices.
const MAX_CHOICES: usize = 25;

/// Decides what `incoming` gets.
pub fn answer(services: Arc<Services>, incoming: Incoming) -> Answer {
    match incoming.kind {
        // Autocomplete cannot be deferred: the choices are computed, then answered.
        AUTOCOMPLETE => Answer::Soon(Box::pin(async move { channel_choices(&services, &incoming).await })),
        MESSAGE_COMPONENT => match link_button_alert(&incoming.data.custom_id) {
            Some(alert) => Answer::Work { ephemeral: true, work: Box::pin(link_button(services, incoming, alert)) },
            None => Answer::Now(Box::new(CreateInteractionResponse::Acknowledge)),
        },
        _ => {
            let name = incoming.data.name.clone();
            let text = format!("relink has no /{name} command; the command list may be out of date.");
            let _ = services;
            Answer::Now(Box::new(CreateInteractionResponse::Message(Rendered::text(text, true).message())))
        }
    }
}

/// The channels of the teams in context whose name contains what is typed.
async fn channel_choices(services: &Services, incoming: &Incoming) -> CreateInteractionResponse {
    let typed = incoming.focused().map_or("", |(_, typed)| typed).trim().to_lowercase();
    let mut choices = Vec::new();
    for team in teams_in_context(services, incoming).await {
        let Ok(channels) = services.store.channels(Some(team)).await else { continue };
        choices.extend(
            channels
                .iter()
                .filter(|c| typed.is_empty() || c.display_name.as_str().to_lowercase().contains(&typed))
                .map(choice),
        );
        if choices.len() >= MAX_CHOICES {
            break;
        }
    }
    choices.truncate(MAX_CHOICES);
    CreateInteractionResponse::Autocomplete(CreateAutocompleteResponse::new().set_choices(choices))
}

/// A channel as an autocomplete choice: its name and network; the value is the channel's id,
/// which every command accepts.
fn choice(channel: &Channel) -> AutocompleteChoice {
    let name = format!("{} ({})", channel.display_name, channel.provider.label());
    AutocompleteChoice::new(clip(&name, 100), channel.id.0.to_string())
}

/// The teams an interaction is about: those bound to the Discord channel it came from, else
/// every team the user is a member of.
pub(crate) async fn teams_in_context(services: &Services, incoming: &Incoming) -> Vec<TeamId> {
    if let Some(chat) = incoming.channel_id.and_then(|c| i64::try_from(c).ok()) {
        match services.store.teams_bound_to(ChatPlatform::Discord, chat).await {
            Ok(teams) if !teams.is_empty() => return teams,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot read the teams bound to a Discord channel"),
        }
    }
    let mut teams: Vec<TeamId> = memberships(services, incoming).await.iter().map(|m| m.team_id).collect();
    teams.dedup();
    teams
}

/// The member records of the user who acted, across teams.
pub(crate) async fn memberships(services: &Services, incoming: &Incoming) -> Vec<Member> {
    let Some(user) = incoming.user_id().and_then(|u| i64::try_from(u).ok()) else {
        return Vec::new();
    };
    services.store.members_by_discord(DiscordUserId(user)).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot read a Discord user's memberships");
        Vec::new()
    })
}

/// The "Get reconnect link" button under a shared alert: links for the presser, privately,
/// when they are a member of the alert's team who may reconnect.
async fn link_button(services: Arc<Services>, incoming: Incoming, alert: AlertId) -> Rendered {
    let alert: Alert = match services.store.alert(alert).await {
        Ok(alert) => alert,
        Err(error) => {
            tracing::info!(%error, "the alert of a pressed button is gone");
            return Rendered::text(words(language_of(&incoming)).alert_gone, true);
        }
    };
    let labels = words(alert.language);
    let Some(action) = alert.reconnect.as_ref() else {
        return Rendered::text(labels.alert_gone, true);
    };
    let member = memberships(&services, &incoming).await.into_iter().find(|m| m.team_id == action.team_id);
    let Some(member) = member else {
        return Rendered::text(labels.not_a_member, true);
    };
    if !member.role.may_reconnect() {
        return Rendered::text(labels.not_allowed, true);
    }
    let now = services.clock.now();
    let mut buttons = Vec::new();
    for channel in &alert.channels {
        match mint_link(&services.store, &services.links, channel.id, Some(member.id), now).await {
            Ok(minted) => {
                let label = labels.reconnect_channel.replace("{name}", &channel.name);
                buttons.push(CreateButton::new_link(minted.url.expose_secret()).label(clip(&label, 80)));
            }
            Err(error) => tracing::info!(%error, channel = %channel.id, "no reconnect link for a pressed button"),
        }
    }
    if buttons.is_empty() {
        return Rendered::text(labels.alert_gone, true);
    }
    let components = buttons.chunks(5).take(5).map(|row| CreateActionRow::Buttons(row.to_vec())).collect();
    Rendered { content: labels.here_is_your_link.to_owned(), components, ephemeral: true, ..Rendered::default() }
}

/// The language to answer in before a team is known: the person's Discord client language.
pub(crate) fn language_of(incoming: &Incoming) -> Language {
    match incoming.locale.as_deref().map(|l| l.split('-').next().unwrap_or(l)) {
        Some("it") => Language::It,
        Some("ja") => Language::Ja,
        _ => Language::En,
    }
}
