//! Unit tests of the parser and the forgiving channel lookup; the commands against a real store
//! are integration tests (`tests/it/commands.rs`, both engines).

use chrono::{DateTime, Utc};
use relink_core::{Channel, ChannelId, DisplayName, ExternalAccountId, Health, Provider, Scopes, TeamId};

use super::*;

#[test]
fn commands_parse_whatever_the_case_and_the_bot_suffix() {
    let table = [
        ("/start", Command::Start),
        ("/HELP", Command::Help),
        ("/status@relink_bot", Command::Status),
        ("/Channel  Acme Facebook ", Command::Channel("Acme Facebook".into())),
        ("/reconnect@relink_bot fb", Command::Reconnect("fb".into())),
        ("/snooze acme facebook 2d", Command::Snooze { name: "acme facebook".into(), duration: "2d".into() }),
        ("/subscribe", Command::Subscribe(None)),
        ("/subscribe Acme", Command::Subscribe(Some("Acme".into()))),
        ("/link abcd-efgh-jkmn", Command::Link("abcd-efgh-jkmn".into())),
        ("/ack x", Command::Ack("x".into())),
        ("/history x", Command::History("x".into())),
        ("/refresh x", Command::Refresh("x".into())),
    ];
    for (text, expected) in table {
        assert_eq!(parse(text), Ok(expected), "{text}");
    }
}

#[test]
fn malformed_arguments_give_the_usage_and_typos_a_suggestion() {
    let usage = [
        ("/channel", CommandName::Channel),
        ("/reconnect   ", CommandName::Reconnect),
        ("/snooze facebook", CommandName::Snooze),
        ("/snooze", CommandName::Snooze),
        ("/link", CommandName::Link),
        ("/ack", CommandName::Ack),
    ];
    for (text, command) in usage {
        assert_eq!(parse(text), Err(ParseFailure::Usage(command)), "{text}");
    }
    assert_eq!(
        parse("/stauts"),
        Err(ParseFailure::Unknown { command: "/stauts".into(), suggestion: Some(CommandName::Status) })
    );
    assert_eq!(
        parse("/reconect fb"),
        Err(ParseFailure::Unknown { command: "/reconect".into(), suggestion: Some(CommandName::Reconnect) })
    );
    assert_eq!(parse("/weather"), Err(ParseFailure::Unknown { command: "/weather".into(), suggestion: None }));
    assert_eq!(parse("hello"), Err(ParseFailure::NotACommand));
}

fn channel(id: i64, name: &str, provider: Provider) -> Channel {
    Channel {
        id: ChannelId(id),
        team_id: TeamId(1),
        provider,
        external_account_id: ExternalAccountId::parse("1").unwrap(),
        display_name: DisplayName::parse(name).unwrap(),
        authorized_by: None,
        token_expires_at: None,
        scopes: Scopes::default(),
        last_activity_at: None,
        health: Health::Unknown,
        next_check_at: DateTime::<Utc>::MIN_UTC,
        last_checked_at: None,
        created_at: DateTime::<Utc>::MIN_UTC,
    }
}

#[test]
fn channel_names_forgive_case_prefixes_and_small_typos() {
    let channels = [
        channel(1, "Acme Facebook", Provider::Facebook),
        channel(2, "Acme Instagram", Provider::InstagramBusiness),
        channel(3, "Bakery LinkedIn", Provider::Linkedin),
    ];
    let pick = |q: &str| lookup(&channels, q).map(|c| c.id.0);
    assert_eq!(pick("ACME FACEBOOK"), Ok(1));
    assert_eq!(pick("acme insta"), Ok(2));
    assert_eq!(pick("facebok"), Ok(1));
    assert_eq!(pick("instagarm"), Ok(2));
    assert_eq!(pick("bakrey"), Ok(3));
    assert_eq!(pick("#3"), Ok(3));
    assert!(
        matches!(lookup(&channels, "acme"), Err(ChannelLookupError::Ambiguous { candidates, .. }) if candidates.len() == 2)
    );
    match lookup(&channels, "tiktok") {
        Err(ChannelLookupError::Unknown { candidates, .. }) => assert_eq!(candidates.len(), 3),
        other => panic!("expected the candidates, got {other:?}"),
    }
    assert!(lookup(&channels, "xx").is_err(), "two letters are too few to guess from");
}

#[test]
fn an_explicit_id_that_is_not_the_teams_is_never_forgiven_as_a_typo() {
    let channels = [channel(1, "Acme 1235", Provider::Facebook), channel(2, "Page 2", Provider::Linkedin)];
    for query in ["1234", "#1234", "#3", "3"] {
        assert!(
            matches!(lookup(&channels, query), Err(ChannelLookupError::Unknown { .. })),
            "{query}: {:?}",
            lookup(&channels, query).map(|c| c.id)
        );
    }
    assert_eq!(lookup(&channels, "#2").map(|c| c.id.0), Ok(2));
    assert_eq!(lookup(&channels, "acme 1236").map(|c| c.id.0), Ok(1), "names still forgive typos");
}

#[test]
fn edit_distance_counts_swaps_as_one() {
    assert_eq!(distance("status", "stauts"), 1);
    assert_eq!(distance("kitten", "sitting"), 3);
    assert_eq!(distance("", "abc"), 3);
}

#[test]
fn every_command_has_a_usage_and_a_description_in_every_language() {
    for command in CommandName::ALL {
        assert!(command.usage().starts_with(&format!("/{}", command.name())));
        for language in Language::ALL {
            assert!(!command.describe(*language).is_empty());
        }
    }
}

mod properties {
    //! Whatever people type in a chat or a button's data holds, the parser, the button decoder
    //! and the channel lookup answer without panicking.

    use proptest::prelude::*;

    use super::*;

    /// Text shaped like commands: a slash, a name or a near miss, a bot suffix, arguments.
    fn typed() -> impl Strategy<Value = String> {
        let names: Vec<&'static str> = CommandName::ALL.iter().map(|c| c.name()).chain(["", "stauts", "x"]).collect();
        (prop::sample::select(names), "(@[a-z_]{0,8})?", "[ \t\n\u{3000}]{0,3}", ".{0,30}")
            .prop_map(|(name, bot, space, args)| format!("/{name}{bot}{space}{args}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_message_parses_or_is_refused_without_panic(text in prop_oneof![any::<String>(), typed()]) {
            match parse(&text) {
                Ok(command) => {
                    let head = text.trim().trim_start_matches('/');
                    let name = head.split(|c: char| c.is_whitespace() || c == '@').next().unwrap_or_default();
                    prop_assert_eq!(name.to_lowercase(), command.name().name());
                }
                Err(ParseFailure::NotACommand) => prop_assert!(!text.trim().starts_with('/')),
                Err(_) => {}
            }
        }

        #[test]
        fn any_button_data_decodes_to_nothing_or_to_an_action_that_encodes_back_to_itself(data in prop_oneof![any::<String>(), "(r|ra|k|ka|z|f|q):-?[0-9]{0,20}(:[0-9]{0,5})?(:x)?"]) {
            // `z:1:01` reads as `z:1:1`: what decodes must read back the same once encoded.
            if let Some(action) = Action::decode(&data) {
                prop_assert_eq!(Action::decode(&action.encode()), Some(action));
            }
        }

        #[test]
        fn any_channel_query_finds_one_or_says_why(query in prop_oneof![any::<String>(), "#?[0-9]{0,25}", "[a-z ]{0,12}"]) {
            let channels = [
                channel(1, "Acme Facebook", Provider::Facebook),
                channel(2, "Acme Instagram", Provider::InstagramBusiness),
                channel(3, "Bakery LinkedIn", Provider::Linkedin),
            ];
            let _ = lookup(&channels, &query);
        }
    }
}
