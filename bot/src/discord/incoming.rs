//! An interaction as relink reads it: only the fields it acts on, from the JSON Discord posts
//! to the HTTP endpoint or sends over the gateway (serenity's model is serialized back to the
//! same JSON), so both modes go through one parser and new fields Discord adds never break it.

use serde::Deserialize;
use serde_json::Value;

/// Discord's interaction types.
pub const PING: u8 = 1;
pub const APPLICATION_COMMAND: u8 = 2;
pub const MESSAGE_COMPONENT: u8 = 3;
pub const AUTOCOMPLETE: u8 = 4;

/// One interaction.
#[derive(Debug, Clone, Deserialize)]
pub struct Incoming {
    #[serde(deserialize_with = "snowflake")]
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: u8,
    /// The interaction's token: a secret for 15 minutes (it answers and edits the response).
    #[serde(default)]
    pub token: String,
    #[serde(default, deserialize_with = "maybe_snowflake")]
    pub guild_id: Option<u64>,
    #[serde(default, deserialize_with = "maybe_snowflake")]
    pub channel_id: Option<u64>,
    #[serde(default)]
    pub member: Option<GuildMember>,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub data: Data,
    /// The presser's client language (`it`, `ja`, `en-US`…).
    #[serde(default)]
    pub locale: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GuildMember {
    pub user: User,
    /// The member's permissions in the channel, a decimal bit set.
    #[serde(default)]
    pub permissions: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    #[serde(deserialize_with = "snowflake")]
    pub id: u64,
}

/// A command's name and options, or a component's `custom_id`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Data {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub options: Vec<CommandOption>,
    #[serde(default)]
    pub custom_id: String,
}

/// One option as typed (a sub-command's options nested in `options`).
#[derive(Debug, Clone, Deserialize)]
pub struct CommandOption {
    pub name: String,
    #[serde(default)]
    pub value: Value,
    #[serde(default)]
    pub focused: bool,
    #[serde(default)]
    pub options: Vec<CommandOption>,
}

/// The one slash command relink registers; the commands are its sub-commands.
pub const ROOT_COMMAND: &str = "relink";

impl Incoming {
    /// The command's name and its options: `/relink status` is `status`, the sub-command.
    pub fn command(&self) -> (&str, &[CommandOption]) {
        match self.data.options.as_slice() {
            [sub] if self.data.name == ROOT_COMMAND && sub.value.is_null() => (sub.name.as_str(), &sub.options),
            options => (self.data.name.as_str(), options),
        }
    }

    /// The user who acted, in a guild or a DM.
    pub fn user_id(&self) -> Option<u64> {
        self.member.as_ref().map(|m| m.user.id).or(self.user.as_ref().map(|u| u.id))
    }

    /// An option's value as text (numbers as written), by name.
    pub fn option(&self, name: &str) -> Option<String> {
        self.command().1.iter().find(|o| o.name == name).and_then(|o| match &o.value {
            Value::String(text) => Some(text.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        })
    }

    /// The option being typed, for autocomplete: its name and what is typed so far.
    pub fn focused(&self) -> Option<(&str, &str)> {
        self.command().1.iter().find(|o| o.focused).map(|o| (o.name.as_str(), o.value.as_str().unwrap_or("")))
    }
}

fn snowflake<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(text) => text.parse().map_err(serde::de::Error::custom),
        Value::Number(number) => number.as_u64().ok_or_else(|| serde::de::Error::custom("not a snowflake")),
        _ => Err(serde::de::Error::custom("not a snowflake")),
    }
}

fn maybe_snowflake<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => text.parse().map(Some).map_err(serde::de::Error::custom),
        Some(Value::Number(number)) => Ok(number.as_u64()),
        Some(_) => Err(serde::de::Error::custom("not a snowflake")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_command_in_a_guild_reads_its_user_and_options() {
        let json = r#"{"id":"1100","type":2,"token":"t","application_id":"9","guild_id":"5","channel_id":"6",
            "member":{"user":{"id":"77","username":"alice"},"roles":[]},"locale":"it",
            "data":{"id":"3","name":"relink","type":1,"options":[{"name":"channel","type":1,"options":[
                {"name":"name","type":3,"value":"acme","focused":true}]}]},
            "something_new":{"a":1}}"#;
        let incoming: Incoming = serde_json::from_str(json).unwrap();
        assert_eq!((incoming.id, incoming.kind, incoming.user_id()), (1100, APPLICATION_COMMAND, Some(77)));
        assert_eq!(incoming.command().0, "channel");
        assert_eq!(incoming.option("name").as_deref(), Some("acme"));
        assert_eq!(incoming.focused(), Some(("name", "acme")));
        assert_eq!((incoming.guild_id, incoming.channel_id), (Some(5), Some(6)));
    }

    #[test]
    fn a_ping_needs_only_its_id_and_type() {
        let incoming: Incoming = serde_json::from_str(r#"{"id":"1","type":1}"#).unwrap();
        assert_eq!(incoming.kind, PING);
        assert_eq!(incoming.user_id(), None);
    }

    mod properties {
        //! Whatever JSON arrives as an interaction (on the endpoint, after the signature), it
        //! reads as an interaction or is refused, and reading its command never panics.

        use proptest::prelude::*;
        use serde_json::{Map, json};

        use super::*;
        use crate::discord::dispatch::command_text;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                "[0-9]{1,22}".prop_map(Value::String),
                ".{0,12}".prop_map(Value::String),
            ];
            let keys = vec![
                "id",
                "type",
                "token",
                "guild_id",
                "channel_id",
                "member",
                "user",
                "data",
                "locale",
                "name",
                "options",
                "value",
                "focused",
                "custom_id",
                "permissions",
                "x",
            ];
            leaf.prop_recursive(4, 40, 5, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::vec((prop::sample::select(keys.clone()), inner), 0..6)
                        .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
                ]
            })
        }

        /// An interaction with its required fields and anything at all in the others.
        fn interaction() -> impl Strategy<Value = Value> {
            (json_value(), json_value(), json_value(), 0_u8..6, any::<u64>()).prop_map(
                |(data, member, extra, kind, id)| {
                    let mut object = Map::new();
                    object.insert("id".into(), json!(id.to_string()));
                    object.insert("type".into(), json!(kind));
                    object.insert("data".into(), json!({"name": ROOT_COMMAND, "options": [data.clone()]}));
                    object.insert("member".into(), json!({"user": {"id": "1"}, "permissions": member}));
                    object.insert("channel_id".into(), extra);
                    if kind % 2 == 0 {
                        object.insert("data".into(), data);
                    }
                    Value::Object(object)
                },
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn any_interaction_json_reads_or_is_refused_without_panic(
                json in prop_oneof![json_value(), interaction()],
                name in ".{0,8}",
            ) {
                if let Ok(incoming) = serde_json::from_value::<Incoming>(json) {
                    let _ = (incoming.command(), incoming.user_id(), incoming.option(&name), incoming.focused());
                    prop_assert!(command_text(&incoming).starts_with('/'));
                }
            }

            #[test]
            fn any_bytes_read_as_an_interaction_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                let _ = serde_json::from_slice::<Incoming>(&bytes);
            }
        }
    }
}
