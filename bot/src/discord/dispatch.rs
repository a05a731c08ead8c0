//! What each interaction gets: a slash command becomes the command layer's text form
//! (`/snooze acme 2d`) and goes through `commands::handle`; a button's `custom_id` is an
//! encoded `Action` for `commands::press` (the alert's "Get reconnect link" and "I'm on it"
//! among them); autocomplete offers the channels of the teams in context. Replies come back through
//! `render`; command and button work may be deferred, autocomplete never is.

use std::sync::Arc;

use relink_core::domain::{Channel, DiscordUserId, TeamId};
use relink_core::{ChatPlatform, Language};
use serenity::builder::{AutocompleteChoice, CreateAutocompleteResponse, CreateInteractionResponse};

use super::Services;
use super::embed::clip;
use super::incoming::{APPLICATION_COMMAND, AUTOCOMPLETE, Incoming, MESSAGE_COMPONENT};
use super::render::render;
use super::respond::Answer;
use crate::commands::{self, Caller, ChatKind};

/// Discord shows at most 25 choices.
const MAX_CHOICES: usize = 25;

/// Discord's permission bits that make someone an administrator of a channel's server for
/// `/subscribe`: Administrator, Manage Server, Manage Channels.
const ADMIN_PERMISSIONS: u64 = 0x8 | 0x20 | 0x10;

/// Decides what `incoming` gets.
pub fn answer(services: Arc<Services>, incoming: Incoming) -> Answer {
    match incoming.kind {
        AUTOCOMPLETE => Answer::Soon(Box::pin(async move { channel_choices(&services, &incoming).await })),
        MESSAGE_COMPONENT => {
            let data = incoming.data.custom_id.clone();
            Answer::Work {
                ephemeral: true,
                work: Box::pin(async move {
                    let Some(caller) = caller(&incoming) else { return Vec::new() };
                    render(&commands::press(&services.commands, &caller, &data).await)
                }),
            }
        }
        APPLICATION_COMMAND => {
            let text = command_text(&incoming);
            // Links (reconnect, sign-in) and one-time codes: the whole exchange is seen by the
            // caller alone (the deferral too), so neither a link nor the typed code ever shows in
            // the channel.
            let ephemeral = matches!(incoming.command().0, "reconnect" | "link" | "dashboard");
            Answer::Work {
                ephemeral,
                work: Box::pin(async move {
                    let Some(caller) = caller(&incoming) else { return Vec::new() };
                    let mut rendered = render(&commands::handle(&services.commands, &caller, &text).await);
                    if ephemeral {
                        rendered.iter_mut().for_each(|message| message.ephemeral = true);
                    }
                    rendered
                }),
            }
        }
        _ => Answer::Now(Box::new(CreateInteractionResponse::Acknowledge)),
    }
}

/// The command as the command layer reads text: `/name` (the sub-command of `/relink`) and the
/// options' values in order.
pub fn command_text(incoming: &Incoming) -> String {
    let (name, options) = incoming.command();
    let mut text = format!("/{name}");
    for option in options {
        if let Some(value) = incoming.option(&option.name) {
            text.push(' ');
            text.push_str(value.trim());
        }
    }
    text
}

/// Who acted and where: a DM is private, a server channel is a group.
fn caller(incoming: &Incoming) -> Option<Caller> {
    let user_id = i64::try_from(incoming.user_id()?).ok()?;
    let chat_id = i64::try_from(incoming.channel_id?).ok()?;
    let permissions =
        incoming.member.as_ref().and_then(|m| m.permissions.as_deref()).and_then(|p| p.parse::<u64>().ok());
    Some(Caller {
        platform: ChatPlatform::Discord,
        user_id,
        chat_id,
        chat_kind: if incoming.guild_id.is_some() { ChatKind::Group } else { ChatKind::Private },
        is_chat_admin: permissions.is_some_and(|p| p & ADMIN_PERMISSIONS != 0),
        language_hint: Some(language_of(incoming)),
    })
}

/// The channels of the teams in context whose name contains what is typed.
async fn channel_choices(services: &Services, incoming: &Incoming) -> CreateInteractionResponse {
    let typed = incoming.focused().map_or("", |(_, typed)| typed).trim().to_lowercase();
    let mut choices = Vec::new();
    for team in teams_in_context(services, incoming).await {
        let Ok(channels) = services.commands.store.channels(Some(team)).await else { continue };
        choices.extend(
            channels
                .iter()
                .filter(|c| typed.is_empty() || c.display_name.as_str().to_lowercase().contains(&typed))
                .map(choice),
        );
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

/// The teams an interaction may see, as the command layer decides it: in a server channel the
/// teams bound to it, in a DM the user's own teams.
async fn teams_in_context(services: &Services, incoming: &Incoming) -> Vec<TeamId> {
    let store = &services.commands.store;
    let found = match (incoming.guild_id, incoming.channel_id.and_then(|c| i64::try_from(c).ok())) {
        (Some(_), Some(chat)) => store
            .bindings_of_chat(ChatPlatform::Discord, chat)
            .await
            .map(|bindings| bindings.into_iter().filter(|b| b.enabled).map(|b| b.team_id).collect()),
        _ => match incoming.user_id().and_then(|u| i64::try_from(u).ok()) {
            Some(user) => store
                .members_by_discord(DiscordUserId(user))
                .await
                .map(|members| members.into_iter().map(|m| m.team_id).collect()),
            None => Ok(Vec::new()),
        },
    };
    found.unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot read the teams of a Discord autocomplete");
        Vec::new()
    })
}

/// The person's Discord client language, for people not linked to a team yet.
fn language_of(incoming: &Incoming) -> Language {
    match incoming.locale.as_deref().map(|l| l.split('-').next().unwrap_or(l)) {
        Some("it") => Language::It,
        Some("ja") => Language::Ja,
        _ => Language::En,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(json: &str) -> Incoming {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_slash_command_becomes_the_command_layers_text() {
        let snooze = incoming(
            r#"{"id":"1","type":2,"data":{"name":"relink","options":[{"name":"snooze","type":1,"options":[
                {"name":"channel","value":"12"},{"name":"for","value":"2d"}]}]}}"#,
        );
        assert_eq!(command_text(&snooze), "/snooze 12 2d");
        let status = r#"{"id":"1","type":2,"data":{"name":"relink","options":[{"name":"status","type":1}]}}"#;
        assert_eq!(command_text(&incoming(status)), "/status");
    }

    #[test]
    fn callers_are_private_in_dms_and_admins_by_server_permission() {
        let dm = incoming(r#"{"id":"1","type":2,"channel_id":"5","user":{"id":"7"},"locale":"ja"}"#);
        let dm = caller(&dm).unwrap();
        assert_eq!((dm.chat_kind, dm.language_hint, dm.is_chat_admin), (ChatKind::Private, Some(Language::Ja), false));
        let server = incoming(
            r#"{"id":"1","type":2,"guild_id":"9","channel_id":"5","member":{"user":{"id":"7"},"permissions":"32"}}"#,
        );
        let server = caller(&server).unwrap();
        assert_eq!((server.chat_kind, server.is_chat_admin), (ChatKind::Group, true));
    }
}
