//! The chat command layer against a real store, on SQLite and PostgreSQL: every command for an
//! admin and for an editor or viewer, in private and in a group, with loose names, usage lines,
//! private links, one-time codes, and the team's language.

// These are test bodies run through `both_engines!` (not `#[test]` functions clippy recognises):
#![allow(clippy::unwrap_used)]

use chrono::Duration;
use relink_bot::commands::{self, Action, Audience, Caller, ChatKind, Reply};
use relink_core::alerts::{AlertsConfig, SettingsOverride, Zone};
use relink_core::opaque::{InviteCode, OpaqueToken};
use relink_core::reconnect::LinkSettings;
use relink_core::store::NewMember;
use relink_core::{
    Channel, ChatPlatform, Health, Language, LinkStatus, Member, MemberName, Provider, Reason, Role, Team, TeamName,
    TelegramUserId,
};
use secrecy::ExposeSecret as _;

use crate::support::app::TestApp;
use crate::support::{TestStore, both_engines, new_channel, tokens};

both_engines!(
    every_command_answers_an_admin_in_private,
    editors_and_viewers_see_the_state_but_get_a_short_refusal_for_the_rest,
    a_reconnect_asked_in_a_group_goes_privately_and_names_match_loosely,
    unknown_commands_and_malformed_arguments_get_a_usage_line,
    a_one_time_code_links_an_account_once,
    subscribing_a_group_needs_a_team_admin_who_administers_the_group,
    a_team_hears_its_own_language,
    any_text_or_button_from_anyone_gets_a_reply_with_links_only_in_private,
    another_teams_channel_id_is_no_such_channel_never_a_fuzzy_match,
    a_dashboard_sign_in_link_goes_to_the_caller_alone_and_is_bound_to_them,
    dates_are_said_on_the_teams_wall_clock,
);

/// `/dashboard` hands a sign-in link to the team page only to the person who asked (a group hears
/// that it went privately), bound to that member whatever their role; a stranger gets none.
async fn a_dashboard_sign_in_link_goes_to_the_caller_alone_and_is_bound_to_them(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let store = &rig.services.store;
    let private = rig.say(&Rig::private(ADMIN), "/dashboard").await;
    assert_eq!(private.messages.len(), 1);
    assert_eq!(private.messages[0].audience, Audience::Caller);
    assert!(
        private.plain_text().contains("Open the team page of Acme: https://relink.test/team/sign-in/"),
        "{private:?}"
    );
    assert!(private.plain_text().contains("signs you in once"), "{}", private.plain_text());
    let [token] = link_tokens(&private).try_into().unwrap();
    let link = store.signin_link(&token).await.unwrap().expect("the sign-in link is stored by its hash");
    assert_eq!((link.team_id, link.member_id, link.used_at), (rig.team.id, rig.admin.id, None));
    assert_eq!(link.expires_at - rig.db.now(), Duration::minutes(15));

    let in_group = rig.say(&Rig::in_group(ADMIN, false), "/dashboard").await;
    assert_eq!(in_group.messages.len(), 2);
    assert_eq!(in_group.messages[0].audience, Audience::Chat);
    assert!(!in_group.messages[0].has_link() && in_group.messages[0].plain_text().contains("in a private message"));
    assert_eq!(in_group.messages[1].audience, Audience::Caller);
    assert!(in_group.if_private_fails.is_some());

    // A viewer may look at the page: the link is theirs, and the page knows their role.
    let viewer = rig.say(&Rig::private(VIEWER), "/dashboard").await;
    let [token] = link_tokens(&viewer).try_into().unwrap();
    let vera = store.member_by_name(rig.team.id, "Vera").await.unwrap();
    assert_eq!(store.signin_link(&token).await.unwrap().unwrap().member_id, vera.id);

    let stranger = rig.say(&Rig::private(STRANGER), "/dashboard").await;
    assert!(link_tokens(&stranger).is_empty() && stranger.plain_text().contains("not linked"), "{stranger:?}");
}

/// `/relink reconnect channel:4`, where #4 is another team's channel, used to pick "Acme Page 4"
/// of the asker's team by its name. An explicit id that is not the team's is no such channel.
async fn another_teams_channel_id_is_no_such_channel_never_a_fuzzy_match(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let now = rig.db.now();
    let beta = rig.db.store.create_team(&TeamName::parse("Beta").unwrap(), Language::En, now).await.unwrap();
    let theirs = rig
        .db
        .store
        .add_channel(&new_channel(&beta, Provider::X, "beta-x", None), &tokens("access", None, None), now)
        .await
        .unwrap();
    let mut ours = new_channel(&rig.team, Provider::Facebook, "fb-page", Some(rig.admin.id));
    ours.display_name = relink_core::DisplayName::parse(&format!("Acme Page {}", theirs.id)).unwrap();
    rig.db.store.add_channel(&ours, &tokens("access", None, None), now).await.unwrap();

    let alice = Rig::private(ADMIN);
    for query in [format!("{}", theirs.id), format!("#{}", theirs.id)] {
        let reply = rig.say(&alice, &format!("/reconnect {query}")).await;
        assert!(link_tokens(&reply).is_empty(), "{query}: no link for a channel that was not named");
        let text = reply.plain_text();
        assert!(text.contains(&format!("No channel matches “{query}”")), "{query}: {text}");
        let shown = rig.text(&alice, &format!("/channel {query}")).await;
        assert!(shown.contains("No channel matches"), "{query}: {shown}");
    }
}

pub const ADMIN: i64 = 5001;
pub const EDITOR: i64 = 5002;
pub const VIEWER: i64 = 5003;
pub const STRANGER: i64 = 5999;
pub const GROUP: i64 = -100_777;

/// A team with an admin, an editor and a viewer on Telegram, a bound group, and three channels:
/// one disconnected (with an open incident), one expiring, one healthy. relink is built by the
/// runtime builder ([`TestApp`]) with an alerts engine that groups nothing and chat commands
/// that have no checker (`/refresh` and `/check` say so); the rig reads as the app.
pub struct Rig {
    pub app: TestApp,
    pub team: Team,
    pub admin: Member,
    pub facebook: Channel,
    pub instagram: Channel,
}

impl std::ops::Deref for Rig {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

pub fn link_settings() -> LinkSettings {
    LinkSettings { public_url: "https://relink.test/".parse().unwrap(), ttl: std::time::Duration::from_secs(86_400) }
}

impl Rig {
    pub async fn new(db: TestStore, language: Language) -> Self {
        let alerts = AlertsConfig { grouping_window: Duration::zero(), ..AlertsConfig::default() };
        let app = TestApp::builder(db)
            .web(|web, _| web.links = link_settings())
            .tune(|builder| builder.alerts(Some(alerts)).commands_check(false))
            .spawn()
            .await;
        let (db, store) = (&app.db, &app.services.store);
        let now = db.now();
        let team = store.create_team(&TeamName::parse("Acme").unwrap(), language, now).await.unwrap();
        let member = |name: &str, role, telegram| NewMember {
            team_id: team.id,
            name: MemberName::parse(name).unwrap(),
            role,
            discord_user_id: None,
            telegram_user_id: Some(TelegramUserId(telegram)),
        };
        let admin = store.add_member(&member("Alice", Role::Admin, ADMIN), now).await.unwrap();
        store.add_member(&member("Eddie", Role::Editor, EDITOR), now).await.unwrap();
        store.add_member(&member("Vera", Role::Viewer, VIEWER), now).await.unwrap();
        store.bind_chat(team.id, ChatPlatform::Telegram, GROUP, now).await.unwrap();
        let add = async |provider, account: &str, name: &str| {
            let mut channel = new_channel(&team, provider, account, Some(admin.id));
            channel.display_name = relink_core::DisplayName::parse(name).unwrap();
            store.add_channel(&channel, &tokens("access", None, Some(now + Duration::days(5))), now).await.unwrap()
        };
        let facebook = add(Provider::Facebook, "fb1", "Acme Facebook").await;
        let instagram = add(Provider::InstagramBusiness, "ig1", "Acme Instagram").await;
        let linkedin = add(Provider::Linkedin, "li1", "Bakery LinkedIn").await;
        store.set_health(facebook.id, &Health::NeedsReauth(Reason::PasswordChanged), None, now).await.unwrap();
        store.set_health(instagram.id, &Health::Expiring, None, now).await.unwrap();
        store.set_health(linkedin.id, &Health::Healthy, None, now).await.unwrap();
        store.schedule_post(facebook.id, now + Duration::hours(3), Some("post-1"), now).await.unwrap();
        let engine = app.engine.as_ref().expect("the rig's app has an alerts engine");
        engine.pass(now + Duration::seconds(1)).await.unwrap();
        db.clock.advance(Duration::seconds(2));
        let facebook = db.store.channel(facebook.id).await.unwrap();
        let instagram = db.store.channel(instagram.id).await.unwrap();
        Self { app, team, admin, facebook, instagram }
    }

    pub fn private(user: i64) -> Caller {
        Caller {
            platform: ChatPlatform::Telegram,
            user_id: user,
            chat_id: user,
            chat_kind: ChatKind::Private,
            is_chat_admin: false,
            language_hint: None,
        }
    }

    pub fn in_group(user: i64, is_chat_admin: bool) -> Caller {
        Caller { chat_id: GROUP, chat_kind: ChatKind::Group, is_chat_admin, ..Self::private(user) }
    }

    pub async fn say(&self, caller: &Caller, text: &str) -> Reply {
        let reply = commands::handle(&self.services, caller, text).await;
        assert!(reply.links_are_private(), "a link outside a caller-only message: {reply:?}");
        reply
    }

    pub async fn text(&self, caller: &Caller, text: &str) -> String {
        self.say(caller, text).await.plain_text()
    }
}

/// The reconnect link tokens in a reply.
fn link_tokens(reply: &Reply) -> Vec<OpaqueToken> {
    reply
        .messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter_map(|part| match part {
            commands::Part::Link { url, .. } => {
                let token = url.expose_secret().rsplit('/').next().unwrap().to_owned();
                Some(OpaqueToken::parse("link", &token).unwrap())
            }
            _ => None,
        })
        .collect()
}

async fn every_command_answers_an_admin_in_private(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let alice = Rig::private(ADMIN);

    let start = rig.text(&alice, "/start").await;
    assert!(
        start.contains(&format!("This chat's id: {ADMIN}")) && start.contains("You are Alice (admin) in Acme"),
        "{start}"
    );
    let help = rig.text(&alice, "/help").await;
    assert!(help.contains("/snooze NAME DURATION") && help.contains("/link CODE"), "{help}");

    let status = rig.text(&alice, "/status").await;
    let order: Vec<usize> = ["Acme Facebook", "Acme Instagram", "Bakery LinkedIn"]
        .iter()
        .map(|name| status.find(name).unwrap_or_else(|| panic!("{name} missing from {status}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "reconnect first, then expiring, then healthy: {status}");
    assert!(status.contains("needs reconnecting: password changed"), "{status}");

    let detail = rig.say(&alice, "/channel acme facebook").await;
    let text = detail.plain_text();
    assert!(text.contains("password or username") && text.contains("Authorised by Alice."), "{text}");
    assert!(text.contains("Scheduled posts at risk: 1"), "{text}");
    let actions: Vec<Action> = detail.messages[0].buttons.iter().map(|b| b.action).collect();
    assert!(actions.contains(&Action::Reconnect(rig.facebook.id)) && actions.contains(&Action::Ack(rig.facebook.id)));

    let reconnect = rig.say(&alice, "/reconnect facebook").await;
    assert_eq!(reconnect.messages.len(), 1);
    assert_eq!(reconnect.messages[0].audience, Audience::Caller);
    let [token] = link_tokens(&reconnect).try_into().unwrap();
    let link = rig.services.store.link(&token).await.unwrap().expect("the link is stored");
    assert_eq!((link.channel_id, link.member_id), (rig.facebook.id, Some(rig.admin.id)));
    assert_eq!(link.status(rig.db.now()), LinkStatus::Usable);

    let refresh = rig.text(&alice, "/refresh facebook").await;
    assert!(refresh.contains("not available"), "no checker in this rig: {refresh}");
    let check = rig.text(&alice, "/check facebook").await;
    assert!(check.contains("not available"), "no checker in this rig: {check}");

    let ack = rig.text(&alice, "/ack facebook").await;
    assert!(ack.starts_with("Noted"), "{ack}");
    let snooze = rig.text(&alice, "/snooze Acme Facebook 2d").await;
    assert!(snooze.contains("snoozed until"), "{snooze}");
    let incidents = rig.services.store.incidents(Some(rig.team.id), false).await.unwrap();
    let incident = incidents.iter().find(|i| i.channel_id == rig.facebook.id).unwrap();
    assert_eq!(incident.acknowledged_by, Some(rig.admin.id));
    assert_eq!(incident.snoozed_until, Some(rig.db.now() + Duration::days(2)));
    assert!(rig.text(&alice, "/channel bakery").await.contains(&format!("{} Bakery LinkedIn", "🟢")));
    let expiring = rig.text(&alice, &format!("/channel #{}", rig.instagram.id)).await;
    assert!(expiring.contains("cannot be renewed automatically"), "{expiring}");
    let nothing = rig.text(&alice, "/ack linkedin").await;
    assert!(nothing.contains("no open alerts"), "{nothing}");

    let history = rig.text(&alice, "/history facebook").await;
    assert!(history.contains("History of Acme Facebook") && history.contains("→ needs reconnecting"), "{history}");

    let subscribe = rig.text(&alice, "/subscribe").await;
    assert!(subscribe.contains("now receives Acme's alerts"), "{subscribe}");
}

async fn editors_and_viewers_see_the_state_but_get_a_short_refusal_for_the_rest(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    for user in [EDITOR, VIEWER] {
        let caller = Rig::private(user);
        assert!(rig.text(&caller, "/status").await.contains("Acme Facebook"));
        assert!(rig.text(&caller, "/channel insta").await.contains("Acme Instagram"));
        assert!(rig.text(&caller, "/history facebook").await.contains("History of"));
        for command in [
            "/reconnect facebook",
            "/refresh facebook",
            "/check facebook",
            "/snooze facebook 1d",
            "/ack facebook",
            "/subscribe",
        ] {
            let reply = rig.say(&caller, command).await;
            let text = reply.plain_text();
            assert!(text.starts_with("Only the primary owner, owners and admins may do this"), "{command}: {text}");
            assert!(link_tokens(&reply).is_empty(), "{command}");
        }
    }
    let incidents = rig.services.store.incidents(Some(rig.team.id), false).await.unwrap();
    assert!(incidents.iter().all(|i| i.acknowledged_by.is_none() && i.snoozed_until.is_none()));
    let press =
        commands::press(&rig.services, &Rig::in_group(VIEWER, false), &Action::Reconnect(rig.facebook.id).encode())
            .await;
    assert!(press.plain_text().starts_with("Only the primary owner"), "{}", press.plain_text());

    let stranger = rig.text(&Rig::private(STRANGER), "/status").await;
    assert!(stranger.contains("not linked"), "{stranger}");
}

async fn a_reconnect_asked_in_a_group_goes_privately_and_names_match_loosely(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let in_group = Rig::in_group(ADMIN, false);
    let reply = rig.say(&in_group, "/reconnect FACEBOK").await;
    assert_eq!(reply.messages.len(), 2);
    assert_eq!(reply.messages[0].audience, Audience::Chat);
    assert!(reply.messages[0].plain_text().contains("in a private message"));
    assert!(!reply.messages[0].has_link());
    assert_eq!(reply.messages[1].audience, Audience::Caller);
    assert_eq!(link_tokens(&reply).len(), 1);
    assert!(reply.if_private_fails.as_deref().unwrap().contains("open a private chat"));

    let ambiguous = rig.text(&in_group, "/channel acme").await;
    assert!(ambiguous.contains("matches several channels") && ambiguous.contains("• Acme Facebook"), "{ambiguous}");
    assert!(!ambiguous.contains("Bakery"), "{ambiguous}");
    let unknown = rig.text(&in_group, "/channel tiktok").await;
    assert!(unknown.contains("No channel matches “tiktok”") && unknown.contains("• Bakery LinkedIn"), "{unknown}");

    // A viewer in the bound group sees the team's status without being linked privately.
    assert!(rig.text(&Rig::in_group(STRANGER, false), "/status").await.contains("Acme: 3 channels"));
}

async fn unknown_commands_and_malformed_arguments_get_a_usage_line(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let alice = Rig::private(ADMIN);
    let cases = [
        ("/stauts", "I don't know /stauts. Did you mean /status?"),
        ("/weather", "I don't know /weather. Send /help for the list of commands."),
        ("/channel", "Usage: /channel NAME"),
        ("/snooze facebook", "Usage: /snooze NAME DURATION (30m, 4h, 2d)"),
        ("/snooze facebook soon", "Usage: /snooze NAME DURATION (30m, 4h, 2d)"),
        ("/snooze facebook 90d", "A snooze lasts from 5 minutes to 30 days."),
        ("hello", "Send /help for the list of commands."),
    ];
    for (text, expected) in cases {
        assert_eq!(rig.text(&alice, text).await, expected, "{text}");
    }
    let press = commands::press(&rig.services, &alice, "nonsense").await;
    assert_eq!(press.plain_text(), "Send /help for the list of commands.");
}

async fn a_one_time_code_links_an_account_once(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let store = &rig.services.store;
    let now = rig.db.now();
    let newcomer = store
        .add_member(
            &NewMember {
                team_id: rig.team.id,
                name: MemberName::parse("Nina").unwrap(),
                role: Role::Owner,
                discord_user_id: None,
                telegram_user_id: None,
            },
            now,
        )
        .await
        .unwrap();
    let code = InviteCode::generate();
    store.create_invite(newcomer.id, &code, now, now + Duration::hours(1)).await.unwrap();
    let nina = Rig::private(7007);

    let in_group = rig.text(&Rig::in_group(7007, false), &format!("/link {}", code.expose())).await;
    assert!(in_group.contains("private chat"), "{in_group}");
    assert_eq!(rig.text(&nina, "/link ABCD-EFGH-JKMN").await, rig.text(&nina, "/link nonsense").await);

    let linked = rig.text(&nina, &format!("/link {}", code.expose().to_lowercase())).await;
    assert_eq!(linked, "Linked: you are Nina (owner) in Acme.");
    assert!(rig.text(&nina, "/reconnect insta").await.contains("Reconnect Acme Instagram: https://relink.test/r/"));
    let again = rig.text(&Rig::private(7008), &format!("/link {}", code.expose())).await;
    assert!(again.contains("unknown, used or expired"), "{again}");

    // An expired code and a code for an account already linked to someone else.
    let late = InviteCode::generate();
    store.create_invite(newcomer.id, &late, now, now + Duration::seconds(1)).await.unwrap();
    rig.db.clock.advance(Duration::seconds(2));
    assert!(rig.text(&Rig::private(7009), &format!("/link {}", late.expose())).await.contains("expired"));
    let taken = InviteCode::generate();
    store.create_invite(newcomer.id, &taken, rig.db.now(), rig.db.now() + Duration::hours(1)).await.unwrap();
    let reply = rig.text(&Rig::private(ADMIN), &format!("/link {}", taken.expose())).await;
    assert!(reply.contains("already linked to another member"), "{reply}");
}

async fn subscribing_a_group_needs_a_team_admin_who_administers_the_group(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let store = &rig.services.store;
    let other_group = -100_888;
    let caller = |user, admin| Caller { chat_id: other_group, ..Rig::in_group(user, admin) };
    assert!(rig.text(&caller(ADMIN, false), "/subscribe").await.contains("only the group's admins"));
    assert!(rig.text(&caller(EDITOR, true), "/subscribe").await.starts_with("Only the primary owner"));
    assert!(rig.text(&caller(STRANGER, true), "/subscribe").await.contains("not linked"));
    assert!(store.bindings_of_chat(ChatPlatform::Telegram, other_group).await.unwrap().is_empty());
    let before = rig.text(&caller(ADMIN, true), "/status").await;
    assert!(before.contains("does not receive any team's alerts"), "{before}");
    assert!(rig.text(&caller(ADMIN, true), "/subscribe acme").await.contains("now receives Acme's alerts"));
    let bindings = store.bindings_of_chat(ChatPlatform::Telegram, other_group).await.unwrap();
    assert_eq!(bindings.len(), 1);
    assert!(rig.text(&caller(VIEWER, false), "/status").await.contains("Acme: 3 channels"));
}

async fn a_team_hears_its_own_language(db: TestStore) {
    let rig = Rig::new(db, Language::It).await;
    let alice = Rig::private(ADMIN);
    let status = rig.text(&alice, "/status").await;
    assert!(status.contains("da ricollegare: password cambiata"), "{status}");
    assert!(rig.text(&alice, "/ciao").await.starts_with("Non conosco /ciao."));
    assert!(rig.text(&Rig::private(EDITOR), "/ack facebook").await.contains("il tuo ruolo è editor"));
    rig.services.store.set_team_language(rig.team.id, Language::Ja).await.unwrap();
    let status = rig.text(&alice, "/status").await;
    assert!(status.contains("再接続が必要：パスワード変更"), "{status}");
    let stranger = Caller { language_hint: Some(Language::It), ..Rig::private(STRANGER) };
    assert!(rig.text(&stranger, "/status").await.contains("non è ancora collegato"));
}

/// A team that set its time zone (`relink alerts settings --timezone`) reads the commands'
/// dates on its own wall clock, with the zone's abbreviation, as its alerts and its page say
/// them; without one they stay UTC.
async fn dates_are_said_on_the_teams_wall_clock(db: TestStore) {
    let rig = Rig::new(db, Language::En).await;
    let alice = Rig::private(ADMIN);
    let now = rig.db.now();
    let utc = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let snooze = rig.text(&alice, "/snooze Acme Facebook 2d").await;
    assert!(snooze.contains(&utc(now + Duration::days(2))), "{snooze}");

    let tokyo = Zone::parse("Asia/Tokyo").unwrap();
    let settings = SettingsOverride { timezone: Some(tokyo), ..SettingsOverride::default() };
    rig.services.store.set_team_alert_settings(rig.team.id, &settings).await.unwrap();
    // Tokyo keeps no summer time: its wall clock is always nine hours ahead of UTC.
    let jst = |at: chrono::DateTime<chrono::Utc>| (at + Duration::hours(9)).format("%Y-%m-%d %H:%M JST").to_string();
    let snooze = rig.text(&alice, "/snooze Acme Facebook 3d").await;
    assert!(snooze.contains(&jst(now + Duration::days(3))) && !snooze.contains("UTC"), "{snooze}");
    let expiry = rig.instagram.token_expires_at.expect("the rig's tokens end");
    let status = rig.text(&alice, "/status").await;
    assert!(status.contains(&jst(expiry)) && !status.contains("UTC"), "{status}");
    let detail = rig.text(&alice, "/channel acme instagram").await;
    assert!(detail.contains(&jst(expiry)) && !detail.contains("UTC"), "{detail}");
    let history = rig.text(&alice, "/history facebook").await;
    assert!(history.contains(" JST: ") && !history.contains("UTC"), "{history}");
    let reconnect = rig.text(&alice, "/reconnect facebook").await;
    assert!(reconnect.contains(&jst(now + Duration::days(1))), "the link's end, a day from now: {reconnect}");
}

/// Property, sampled: whatever anyone types or whatever data a button carries, in private or in
/// the group, the command layer answers (never panics) and puts reconnect links only in
/// messages for the caller alone.
async fn any_text_or_button_from_anyone_gets_a_reply_with_links_only_in_private(db: TestStore) {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree as _;
    use proptest::test_runner::TestRunner;

    let rig = Rig::new(db, Language::En).await;
    let names: Vec<&'static str> =
        commands::CommandName::ALL.iter().map(|c| c.name()).chain(["", "stauts", "x"]).collect();
    let typed = (prop::sample::select(names), "(@[a-z_]{0,8})?", "[ \t]{0,2}", ".{0,24}")
        .prop_map(|(name, bot, space, args)| format!("/{name}{bot}{space}{args}"));
    let data = prop_oneof![any::<String>(), "(r|ra|k|z|f):-?[0-9]{0,20}(:[0-9]{0,4})?"];
    let strategy = (prop_oneof![any::<String>(), typed], data, 0..6_usize);
    let callers = [
        Rig::private(ADMIN),
        Rig::private(EDITOR),
        Rig::private(VIEWER),
        Rig::private(STRANGER),
        Rig::in_group(ADMIN, true),
        Rig::in_group(VIEWER, false),
    ];
    let mut runner = TestRunner::default();
    for _ in 0..48 {
        let (text, data, who) = strategy.new_tree(&mut runner).unwrap().current();
        let caller = &callers[who];
        let reply = commands::handle(&rig.services, caller, &text).await;
        assert!(reply.links_are_private(), "{text:?} from {caller:?}: a link outside a caller-only message");
        let _ = reply.plain_text();
        let reply = commands::press(&rig.services, caller, &data).await;
        assert!(reply.links_are_private(), "button {data:?} from {caller:?}: a link outside a caller-only message");
    }
}
