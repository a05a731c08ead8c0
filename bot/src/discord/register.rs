//! The slash command as Discord shows it, `/relink` with one sub-command per relink command
//! (`/relink status`), with Italian and Japanese names and descriptions,
//! registered at start-up by a **bulk overwrite** (`PUT …/commands`): the same list every time,
//! so registering again changes nothing and a command removed from relink disappears. Global
//! by default; in one guild when `discord.guild_id` is set (guild commands appear at once).
//!
//! Discord always sends the English (default) names back, whatever the person's language, so
//! the handlers only know those. Descriptions are the command layer's, the same words `/help`
//! and Telegram's menu show.

use std::sync::Arc;
use std::time::Duration;

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::http::{LightMethod, Route};
use serenity::model::application::CommandOptionType;
use serenity::model::id::{ApplicationId, GuildId};
use tokio_util::sync::CancellationToken;

use super::Services;
use super::embed::clip;
use super::incoming::ROOT_COMMAND;
use super::rest::RestError;
use crate::commands::CommandName;
use relink_core::Language;

/// A text in English, Italian and Japanese.
type Localized = [&'static str; 3];

/// Discord's locale codes for the two translations.
const LOCALES: [&str; 2] = ["it", "ja"];

/// One option of a command.
#[derive(Debug)]
pub struct OptionSpec {
    pub name: Localized,
    pub description: Localized,
    pub required: bool,
    /// Channel names: Discord asks relink for choices while the person types.
    pub autocomplete: bool,
}

/// One slash command: the command layer's command (whose descriptions it shows, in the three
/// languages), its localized names and its options.
#[derive(Debug)]
pub struct CommandSpec {
    pub command: CommandName,
    pub name: Localized,
    pub options: &'static [OptionSpec],
}

const CHANNEL: OptionSpec = OptionSpec {
    name: ["channel", "canale", "チャンネル"],
    description: [
        "The channel (start typing its name)",
        "Il canale (inizia a scriverne il nome)",
        "チャンネル（名前を入力してください）",
    ],
    required: true,
    autocomplete: true,
};

/// Every command relink registers.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec { command: CommandName::Status, name: ["status", "stato", "状態"], options: &[] },
    CommandSpec { command: CommandName::Channel, name: ["channel", "canale", "チャンネル"], options: &[CHANNEL] },
    CommandSpec { command: CommandName::Reconnect, name: ["reconnect", "ricollega", "再接続"], options: &[CHANNEL] },
    CommandSpec { command: CommandName::Refresh, name: ["refresh", "aggiorna", "更新"], options: &[CHANNEL] },
    CommandSpec { command: CommandName::Check, name: ["check", "verifica", "確認"], options: &[CHANNEL] },
    CommandSpec {
        command: CommandName::Snooze,
        name: ["snooze", "posticipa", "スヌーズ"],
        options: &[
            CHANNEL,
            OptionSpec {
                name: ["for", "durata", "期間"],
                description: ["How long, e.g. 2h or 3d", "Per quanto, ad es. 2h o 3d", "期間（例：2h、3d）"],
                required: true,
                autocomplete: false,
            },
        ],
    },
    CommandSpec { command: CommandName::Ack, name: ["ack", "conferma", "対応中"], options: &[CHANNEL] },
    CommandSpec { command: CommandName::History, name: ["history", "cronologia", "履歴"], options: &[CHANNEL] },
    CommandSpec {
        command: CommandName::Dashboard, name: ["dashboard", "pagina-team", "チームページ"], options: &[]
    },
    CommandSpec {
        command: CommandName::Subscribe,
        name: ["subscribe", "iscrivi", "購読"],
        options: &[OptionSpec {
            name: ["team", "team", "チーム"],
            description: [
                "The team (when you belong to several)",
                "Il team (se ne fai parte di più di uno)",
                "チーム（複数に所属している場合）",
            ],
            required: false,
            autocomplete: false,
        }],
    },
    CommandSpec {
        command: CommandName::Link,
        name: ["link", "collega", "連携"],
        options: &[OptionSpec {
            name: ["code", "codice", "コード"],
            description: [
                "The code your relink operator gave you",
                "Il codice ricevuto dall'operatore di relink",
                "relinkの運用担当者から受け取ったコード",
            ],
            required: true,
            autocomplete: false,
        }],
    },
];

/// The description of `/relink` itself.
const ROOT_DESCRIPTION: Localized = [
    "Your team's social channels: their connection, alerts and reconnect links",
    "I canali social del team: collegamento, avvisi e link per ricollegarli",
    "チームのソーシャルチャンネル：接続状態、通知、再接続リンク",
];

/// The commands as Discord's bulk overwrite takes them: one `/relink` command whose
/// sub-commands are relink's commands (`/relink status`), so relink's names never collide with
/// another bot's in a server.
pub fn commands() -> Vec<CreateCommand> {
    let mut root = CreateCommand::new(ROOT_COMMAND).description(ROOT_DESCRIPTION[0]).dm_permission(true);
    for (i, locale) in LOCALES.iter().enumerate() {
        root = root.description_localized(*locale, ROOT_DESCRIPTION[i + 1]);
    }
    for spec in COMMANDS {
        let describe = |language| clip(spec.command.describe(language), 100);
        let mut command = CreateCommandOption::new(CommandOptionType::SubCommand, spec.name[0], describe(Language::En));
        for (i, (locale, language)) in LOCALES.iter().zip([Language::It, Language::Ja]).enumerate() {
            command =
                command.name_localized(*locale, spec.name[i + 1]).description_localized(*locale, describe(language));
        }
        for option in spec.options {
            let mut built = CreateCommandOption::new(CommandOptionType::String, option.name[0], option.description[0])
                .required(option.required)
                .set_autocomplete(option.autocomplete);
            for (i, locale) in LOCALES.iter().enumerate() {
                built = built
                    .name_localized(*locale, option.name[i + 1])
                    .description_localized(*locale, option.description[i + 1]);
            }
            command = command.add_sub_option(built);
        }
        root = root.add_option(command);
    }
    vec![root]
}

/// Overwrites the registered commands with [`commands`], globally or in the configured guild.
pub(crate) async fn register(services: &Services) -> Result<usize, RestError> {
    let application_id = ApplicationId::new(services.application_id().await?);
    let commands = commands();
    let route = match services.settings.guild_id {
        Some(guild) => Route::GuildCommands { application_id, guild_id: GuildId::new(guild) },
        None => Route::Commands { application_id },
    };
    let registered: Vec<serde_json::Value> = services.rest.call(LightMethod::Put, route, Some(&commands)).await?;
    Ok(registered.len())
}

/// Registers at start-up, retrying transient failures with backoff until it works or relink stops.
pub(super) async fn register_at_start(services: Arc<Services>, shutdown: CancellationToken) {
    let mut wait = Duration::from_secs(5);
    loop {
        match register(&services).await {
            Ok(count) => {
                let scope = services.settings.guild_id.map_or("globally".to_owned(), |g| format!("in guild {g}"));
                tracing::info!(count, "Discord slash commands registered {scope}");
                return;
            }
            Err(error @ RestError::Refused { status: 401 | 403, .. }) => {
                tracing::error!(%error, "Discord refused the bot token or application id: commands are not registered");
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot register the Discord slash commands yet; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => wait = (wait * 2).min(Duration::from_secs(300)),
            () = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_valid_names_and_descriptions_in_three_languages() {
        let value = serde_json::to_value(commands()).unwrap();
        let root = &value.as_array().unwrap()[0];
        assert_eq!(value.as_array().unwrap().len(), 1);
        assert_eq!(root["name"], "relink");
        let subcommands = root["options"].as_array().unwrap();
        assert_eq!(subcommands.len(), 11);
        assert!(subcommands.iter().all(|s| s["type"] == 1));
        let valid_name = |name: &str| {
            (1..=32).contains(&name.chars().count())
                && name.chars().all(|c| c == '-' || c == '_' || c.is_alphanumeric())
                && name.to_lowercase() == name
        };
        let valid_description = |text: &str| (1..=100).contains(&text.chars().count());
        let mut objects = vec![root];
        for command in subcommands {
            objects.push(command);
            objects.extend(command["options"].as_array().into_iter().flatten());
        }
        for object in objects {
            assert!(valid_name(object["name"].as_str().unwrap()), "{object}");
            assert!(valid_description(object["description"].as_str().unwrap()), "{object}");
            for locale in LOCALES {
                let description = object["description_localizations"][locale].as_str().unwrap();
                assert!(valid_description(description), "{locale} {object}");
                if object != root {
                    assert!(valid_name(object["name_localizations"][locale].as_str().unwrap()), "{locale} {object}");
                }
            }
        }
    }
}
