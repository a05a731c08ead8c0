//! The slash commands as Discord shows them, with Italian and Japanese names and descriptions,
//! registered at start-up by a **bulk overwrite** (`PUT …/commands`): the same list every time,
//! so registering again changes nothing and a command removed from relink disappears. Global
//! by default; in one guild when `discord.guild_id` is set (guild commands appear at once).
//!
//! Discord always sends the English (default) names back, whatever the person's language, so
//! the handlers only know those.

use std::sync::Arc;
use std::time::Duration;

use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::http::{LightMethod, Route};
use serenity::model::application::CommandOptionType;
use serenity::model::id::{ApplicationId, GuildId};
use tokio_util::sync::CancellationToken;

use super::Services;
use super::rest::RestError;

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

/// One slash command.
#[derive(Debug)]
pub struct CommandSpec {
    pub name: Localized,
    pub description: Localized,
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
    CommandSpec {
        name: ["status", "stato", "状態"],
        description: ["The health of the team's channels", "Lo stato dei canali del team", "チームのチャンネルの状態"],
        options: &[],
    },
    CommandSpec {
        name: ["channel", "canale", "チャンネル"],
        description: [
            "One channel: reason, expiry, posts at risk, who authorised it",
            "Un canale: motivo, scadenza, post a rischio, chi lo ha autorizzato",
            "チャンネルの詳細：原因、期限、影響を受ける投稿、認証したメンバー",
        ],
        options: &[CHANNEL],
    },
    CommandSpec {
        name: ["reconnect", "ricollega", "再接続"],
        description: [
            "A private reconnect link for a channel",
            "Un link privato per ricollegare un canale",
            "チャンネルを再接続するための個人用リンク",
        ],
        options: &[CHANNEL],
    },
    CommandSpec {
        name: ["refresh", "aggiorna", "更新"],
        description: [
            "Renew a channel's access now, where the network allows it",
            "Rinnova ora l'accesso di un canale, se il social lo permette",
            "SNSが許可していれば、チャンネルのアクセスを今すぐ更新",
        ],
        options: &[CHANNEL],
    },
    CommandSpec {
        name: ["snooze", "posticipa", "スヌーズ"],
        description: [
            "Silence a channel's reminders for a while",
            "Silenzia per un po' i promemoria di un canale",
            "チャンネルのリマインダーをしばらく止める",
        ],
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
    CommandSpec {
        name: ["ack", "conferma", "対応中"],
        description: [
            "I'm on it: stop the escalation for a channel",
            "Ci penso io: ferma l'escalation per un canale",
            "対応中：チャンネルのエスカレーションを止める",
        ],
        options: &[CHANNEL],
    },
    CommandSpec {
        name: ["history", "cronologia", "履歴"],
        description: [
            "A channel's recent health changes",
            "I cambi di stato recenti di un canale",
            "チャンネルの最近の状態の変化",
        ],
        options: &[CHANNEL],
    },
    CommandSpec {
        name: ["subscribe", "iscrivi", "購読"],
        description: [
            "Send a team's alerts to this Discord channel",
            "Invia gli avvisi di un team in questo canale Discord",
            "チームのアラートをこのDiscordチャンネルに送る",
        ],
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
        name: ["link", "collega", "連携"],
        description: [
            "Link your Discord account to your relink member",
            "Collega il tuo account Discord al tuo membro relink",
            "DiscordアカウントをrelinkのメンバーIDに連携",
        ],
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

/// The commands as Discord's bulk overwrite takes them.
pub fn commands() -> Vec<CreateCommand> {
    COMMANDS
        .iter()
        .map(|spec| {
            let mut command = CreateCommand::new(spec.name[0]).description(spec.description[0]).dm_permission(true);
            for (i, locale) in LOCALES.iter().enumerate() {
                command = command
                    .name_localized(*locale, spec.name[i + 1])
                    .description_localized(*locale, spec.description[i + 1]);
            }
            for option in spec.options {
                let mut built =
                    CreateCommandOption::new(CommandOptionType::String, option.name[0], option.description[0])
                        .required(option.required)
                        .set_autocomplete(option.autocomplete);
                for (i, locale) in LOCALES.iter().enumerate() {
                    built = built
                        .name_localized(*locale, option.name[i + 1])
                        .description_localized(*locale, option.description[i + 1]);
                }
                command = command.add_option(built);
            }
            command
        })
        .collect()
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
        let commands = value.as_array().unwrap();
        assert_eq!(commands.len(), 9);
        let valid_name = |name: &str| {
            (1..=32).contains(&name.chars().count())
                && name.chars().all(|c| c == '-' || c == '_' || c.is_alphanumeric())
                && name.to_lowercase() == name
        };
        let valid_description = |text: &str| (1..=100).contains(&text.chars().count());
        for command in commands {
            let mut objects = vec![command];
            objects.extend(command["options"].as_array().into_iter().flatten());
            for object in objects {
                assert!(valid_name(object["name"].as_str().unwrap()), "{object}");
                assert!(valid_description(object["description"].as_str().unwrap()), "{object}");
                for locale in LOCALES {
                    assert!(valid_name(object["name_localizations"][locale].as_str().unwrap()), "{locale} {object}");
                    let description = object["description_localizations"][locale].as_str().unwrap();
                    assert!(valid_description(description), "{locale} {object}");
                }
            }
        }
    }
}
