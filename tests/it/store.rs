//! The store against real databases: every behaviour the rest of relink relies on, checked on
//! SQLite and on PostgreSQL with the same test body ([`both_engines!`]), plus what only one
//! engine can show (the SQLite file on disk, a PostgreSQL server that is down).
//!
//! Tests reach under the store with their own connection ([`Raw`](crate::support::Raw)) only to
//! do what the store must not allow or cannot show: copy ciphertext between rows, count cascaded
//! rows, read query plans.

use std::time::{Duration, Instant};

use chrono::Duration as Span;
use relink_core::crypto::{CryptoError, KeyMaterial, Keyring};
use relink_core::opaque::OpaqueToken;
use relink_core::store::{Db, DueChannel, Engine, NewMember, NewOAuthState, ResealReport, Store, StoreError};
use relink_core::time::to_millis;
use relink_core::{
    ChannelId, ChatPlatform, DiscordUserId, Health, Language, MemberName, PostId, PostStatus, Provider, Reason, Role,
    TeamId, TeamName, TelegramUserId,
};
use secrecy::ExposeSecret as _;

use crate::support::{TestStore, both_engines, new_channel, tokens};

both_engines!(
    migrations_apply_once_and_running_them_again_changes_nothing,
    teams_are_listed_by_name_and_a_taken_name_is_a_conflict,
    members_keep_their_roles_and_a_team_has_one_primary_owner,
    a_chat_identity_belongs_to_one_member_per_team,
    an_unknown_member_name_lists_the_team_members,
    tokens_round_trip_and_a_refresh_token_is_never_replaced_by_nothing,
    a_channel_account_is_registered_once_per_team_and_provider,
    a_ciphertext_copied_to_another_channel_does_not_open,
    health_changes_write_history_and_one_outbox_event_each,
    due_channels_come_earliest_first_and_respect_the_limit,
    due_work_is_found_through_the_next_check_index,
    posts_are_listed_by_due_time_and_cancelled_only_by_their_team,
    scheduling_the_same_external_post_again_moves_it,
    rotation_reseals_every_channel_under_the_new_key,
    a_regenerated_or_missing_key_is_refused_at_open,
    removing_a_channel_removes_its_posts_history_and_events,
    removing_a_member_leaves_their_channels_without_an_authoriser,
    chat_bindings_are_idempotent_and_can_be_disabled,
    publishing_activity_only_moves_forward,
    a_link_pressed_many_times_at_once_starts_one_authorization_request,
    a_link_whose_member_was_demoted_or_removed_starts_no_authorization_request,
    a_state_is_found_by_its_time_ordered_key_and_one_stored_under_its_plain_hash_still_is,
    channels_added_in_bulk_keep_their_own_tokens_and_a_duplicate_adds_none,
    a_running_store_opens_tokens_sealed_with_a_key_rotated_in_by_another_process,
    a_signal_makes_due_the_channels_of_its_person_or_account_in_every_team,
    a_signal_receipt_is_refused_the_second_time_and_forgotten_after_thirty_days,
    a_data_deletion_empties_the_persons_tokens_once_and_tells_the_team,
    a_team_calendar_round_trips_with_the_other_settings_and_a_reset_forgets_it,
    a_stored_time_zone_the_database_does_not_know_is_read_as_utc_and_the_alerts_pass_goes_on,
);

/// `relink keys rotate` beside a running `relink serve`: the running store meets key 2, which it
/// did not know, re-reads the key file and opens the token, without a restart. A key file
/// replaced by one that does not match the database is not adopted, and an unknown key id does
/// not re-read the file more than once per interval.
async fn a_running_store_opens_tokens_sealed_with_a_key_rotated_in_by_another_process(db: TestStore) {
    let key_file = db.dir.path().join("relink.key");
    relink_core::keyfile::save(&key_file, &db.keyring).expect("write the key file");
    let running = db.store.clone().watching_key_file(&key_file);
    let acme = db.team("Acme").await;
    let channel = db.channel(&acme, "account-1", &tokens("access-1", Some("refresh-1"), None)).await;

    // Another process rotates: the new key goes to the file first, then every token is re-sealed.
    let mut rotated = db.keyring.clone();
    assert_eq!(rotated.add_generated(), 2);
    relink_core::keyfile::save(&key_file, &rotated).expect("write the rotated key file");
    let rotating = Store::open(db.connect_again().await, rotated.clone(), db.now()).await.expect("open rotated");
    assert_eq!(rotating.reseal_all().await.expect("reseal").resealed, 1);

    let opened = running.tokens(channel.id).await.expect("the running store opens a token sealed with key 2");
    assert_eq!(opened.access_token.expose_secret(), "access-1");
    assert_eq!(running.keyring().active_id(), 2, "and seals new tokens with the new key");
    let claimed = running.acquire_lease(channel.id, "checker", db.now(), db.now() + Span::minutes(5)).await;
    assert!(claimed.expect("a lease").expect("the channel").tokens.is_ok(), "a checker's claim opens it too");

    // Key 3 in the database, a key file whose key 3 is another key: refused, and the file is then
    // not read again within the interval even once it is right.
    let mut newer = rotated.clone();
    assert_eq!(newer.add_generated(), 3);
    let rotating = Store::open(db.connect_again().await, newer.clone(), db.now()).await.expect("open with key 3");
    rotating.reseal_all().await.expect("reseal under key 3");
    let mut impostor = rotated.clone();
    impostor.add_generated();
    relink_core::keyfile::save(&key_file, &impostor).expect("write a wrong key file");
    // A fresh watch (the first one has just re-read the file); clones share the keyring.
    let running = db.store.clone().watching_key_file(&key_file);
    match running.tokens(channel.id).await {
        Err(StoreError::Crypto(CryptoError::UnknownKey(3))) => {}
        other => panic!("a key file that does not match the database is not adopted: {other:?}"),
    }
    relink_core::keyfile::save(&key_file, &newer).expect("write the right key file");
    match running.tokens(channel.id).await {
        Err(StoreError::Crypto(CryptoError::UnknownKey(3))) => {}
        other => panic!("the file is re-read at most once per interval: {other:?}"),
    }
    assert_eq!(running.keyring().active_id(), 2);
}

fn team_name(name: &str) -> TeamName {
    TeamName::parse(name).expect("a valid team name")
}

fn member(team: TeamId, name: &str, role: Role, discord: Option<i64>, telegram: Option<i64>) -> NewMember {
    NewMember {
        team_id: team,
        name: MemberName::parse(name).expect("a valid member name"),
        role,
        discord_user_id: discord.map(DiscordUserId),
        telegram_user_id: telegram.map(TelegramUserId),
    }
}

/// The message of a `Conflict`, or a panic naming what came instead.
fn conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Conflict(message)) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::NotFound(message)) => message,
        other => panic!("expected not found, got {other:?}"),
    }
}

fn keyring_error<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Keyring(message)) => message,
        other => panic!("expected a keyring error, got {other:?}"),
    }
}

async fn migrations_apply_once_and_running_them_again_changes_nothing(db: TestStore) {
    let folder = match db.engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    let files = std::fs::read_dir(format!("{}/migrations/{folder}", env!("CARGO_MANIFEST_DIR")))
        .expect("the migrations folder")
        .filter(|entry| entry.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql")))
        .count();
    assert!(files > 0);
    assert_eq!(db.migrations_applied, files, "the first migrate applies every migration file");
    assert_eq!(db.store.db().migrate().await.expect("migrate again"), 0);
    let again = db.connect_again().await;
    assert_eq!(again.migrate().await.expect("migrate from another pool"), 0);
    assert_eq!(again.engine(), db.engine);
    again.ping().await.expect("the database answers");
    assert_eq!(db.store.db().known_key_ids().await.expect("key ids"), vec![1], "opening registers key 1");
}

async fn teams_are_listed_by_name_and_a_taken_name_is_a_conflict(db: TestStore) {
    let now = db.now();
    let zeta = db.store.create_team(&team_name("Zeta"), Language::It, now).await.expect("create Zeta");
    let acme = db.store.create_team(&team_name("Acme"), Language::En, now).await.expect("create Acme");
    assert_eq!((zeta.name.as_str(), zeta.language, zeta.created_at), ("Zeta", Language::It, now));

    let names: Vec<String> = db.store.teams().await.expect("teams").iter().map(|t| t.name.to_string()).collect();
    assert_eq!(names, ["Acme", "Zeta"]);
    let message = conflict(db.store.create_team(&team_name("Acme"), Language::Ja, now).await);
    assert!(message.contains("`Acme`"), "{message}");

    assert_eq!(db.store.team(acme.id).await.expect("team by id"), acme);
    assert_eq!(db.store.team_by_name(" Zeta ").await.expect("team by name").id, zeta.id);
    let message = not_found(db.store.team_by_name("Nope").await);
    assert!(message.contains("teams: Acme, Zeta"), "{message}");
    not_found(db.store.team(TeamId(9_999)).await);

    db.store.set_team_language(acme.id, Language::Ja).await.expect("set the language");
    assert_eq!(db.store.team(acme.id).await.expect("team").language, Language::Ja);
}

async fn members_keep_their_roles_and_a_team_has_one_primary_owner(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let other = db.team("Other").await;
    let alice = db
        .store
        .add_member(&member(acme.id, "Alice", Role::PrimaryOwner, Some(111), Some(555)), now)
        .await
        .expect("add the primary owner");
    assert_eq!(alice.discord_user_id, Some(DiscordUserId(111)));
    assert_eq!(alice.telegram_user_id, Some(TelegramUserId(555)));
    for (name, role) in [("Carol", Role::Viewer), ("Bob", Role::Admin), ("Erin", Role::Editor), ("Dan", Role::Owner)] {
        db.store.add_member(&member(acme.id, name, role, None, None), now).await.expect("add a member");
    }

    let members = db.store.members(acme.id).await.expect("members");
    let listed: Vec<(&str, Role)> = members.iter().map(|m| (m.name.as_str(), m.role)).collect();
    assert_eq!(
        listed,
        [
            ("Alice", Role::PrimaryOwner),
            ("Bob", Role::Admin),
            ("Carol", Role::Viewer),
            ("Dan", Role::Owner),
            ("Erin", Role::Editor)
        ]
    );
    assert_eq!(db.store.member(alice.id).await.expect("member by id"), alice);

    let message = conflict(db.store.add_member(&member(acme.id, "Frank", Role::PrimaryOwner, None, None), now).await);
    assert!(message.contains("primary owner"), "{message}");
    db.store
        .add_member(&member(other.id, "Frank", Role::PrimaryOwner, None, None), now)
        .await
        .expect("another team has its own primary owner");
}

async fn a_chat_identity_belongs_to_one_member_per_team(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let other = db.team("Other").await;
    let alice = db.store.add_member(&member(acme.id, "Alice", Role::Admin, Some(111), Some(555)), now).await;
    let alice = alice.expect("add Alice");

    conflict(db.store.add_member(&member(acme.id, "Bob", Role::Admin, Some(111), None), now).await);
    conflict(db.store.add_member(&member(acme.id, "Bob", Role::Admin, None, Some(555)), now).await);
    conflict(db.store.add_member(&member(acme.id, "Alice", Role::Viewer, None, None), now).await);
    let elsewhere = db
        .store
        .add_member(&member(other.id, "Alice", Role::Viewer, Some(111), Some(555)), now)
        .await
        .expect("the same person may belong to another team");

    let by_discord = db.store.members_by_discord(DiscordUserId(111)).await.expect("by Discord id");
    assert_eq!(by_discord.iter().map(|m| m.id).collect::<Vec<_>>(), [alice.id, elsewhere.id]);
    let by_telegram = db.store.members_by_telegram(TelegramUserId(555)).await.expect("by Telegram id");
    assert_eq!(by_telegram.len(), 2);
    assert!(db.store.members_by_discord(DiscordUserId(222)).await.expect("unknown id").is_empty());
}

async fn an_unknown_member_name_lists_the_team_members(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let message = not_found(db.store.member_by_name(acme.id, "Alice").await);
    assert!(message.contains("no members yet"), "{message}");

    for name in ["Bob", "Alice"] {
        db.store.add_member(&member(acme.id, name, Role::Editor, None, None), now).await.expect("add a member");
    }
    let found = db.store.member_by_name(acme.id, "  aLiCe ").await.expect("names match without case");
    assert_eq!(found.name.as_str(), "Alice");
    let message = not_found(db.store.member_by_name(acme.id, "Zed").await);
    assert!(message.contains("`Zed`") && message.contains("members: Alice, Bob"), "{message}");
}

async fn tokens_round_trip_and_a_refresh_token_is_never_replaced_by_nothing(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let expires = now + Span::days(60);
    let channel = db.channel(&acme, "1234", &tokens("access-1", Some("refresh-1"), Some(expires))).await;
    assert_eq!(channel.health, Health::Unknown);
    assert_eq!(channel.next_check_at, now, "a new channel is checked at once");
    assert_eq!(channel.token_expires_at, Some(expires));
    assert!(channel.scopes.contains("pages_manage_posts"));

    let stored = db.store.tokens(channel.id).await.expect("open the tokens");
    assert_eq!(stored.access_token.expose_secret(), "access-1");
    assert_eq!(stored.refresh_token.as_ref().map(|t| t.expose_secret()), Some("refresh-1"));
    assert_eq!(stored.expires_at, Some(expires));
    assert_eq!(stored.scopes, channel.scopes);

    let later = now + Span::days(90);
    db.store.replace_tokens(channel.id, &tokens("access-2", None, Some(later)), now).await.expect("replace");
    let stored = db.store.tokens(channel.id).await.expect("open the tokens");
    assert_eq!(stored.access_token.expose_secret(), "access-2");
    assert_eq!(stored.refresh_token.as_ref().map(|t| t.expose_secret()), Some("refresh-1"));
    assert_eq!(db.store.channel(channel.id).await.expect("channel").token_expires_at, Some(later));

    db.store.replace_tokens(channel.id, &tokens("access-3", Some("refresh-3"), None), now).await.expect("replace");
    let stored = db.store.tokens(channel.id).await.expect("open the tokens");
    assert_eq!(stored.refresh_token.as_ref().map(|t| t.expose_secret()), Some("refresh-3"));
    assert_eq!(stored.expires_at, None);

    not_found(db.store.tokens(ChannelId(9_999)).await);
    not_found(db.store.replace_tokens(ChannelId(9_999), &tokens("x", Some("y"), None), now).await);
}

async fn a_channel_account_is_registered_once_per_team_and_provider(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let other = db.team("Other").await;
    let set = tokens("access", None, None);
    db.channel(&acme, "1234", &set).await;
    let message =
        conflict(db.store.add_channel(&new_channel(&acme, Provider::Facebook, "1234", None), &set, now).await);
    assert!(message.contains("facebook") && message.contains("`1234`"), "{message}");
    let on_instagram = new_channel(&acme, Provider::InstagramBusiness, "1234", None);
    db.store.add_channel(&on_instagram, &set, now).await.expect("the same id on another network");
    db.channel(&other, "1234", &set).await;

    let mut ghost = new_channel(&acme, Provider::Facebook, "5678", None);
    ghost.team_id = TeamId(9_999);
    not_found(db.store.add_channel(&ghost, &set, now).await);

    let names: Vec<String> =
        db.store.channels(Some(acme.id)).await.expect("channels").iter().map(|c| c.provider.to_string()).collect();
    assert_eq!(names, ["facebook", "instagram_business"]);
    assert_eq!(db.store.channels(None).await.expect("all channels").len(), 3);
}

async fn channels_added_in_bulk_keep_their_own_tokens_and_a_duplicate_adds_none(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    // More than one chunk of the bulk insert, each channel with tokens of its own.
    let rows: Vec<_> = (0..1_203)
        .map(|n| {
            let channel = new_channel(&acme, Provider::Facebook, &format!("page{n}"), None);
            let refresh = (n % 2 == 0).then(|| format!("refresh-{n}"));
            (channel, tokens(&format!("access-{n}"), refresh.as_deref(), Some(now + Span::days(n))))
        })
        .collect();
    assert_eq!(db.store.add_channels_bulk(&rows, now).await.expect("bulk insert"), 1_203);
    let channels = db.store.channels(Some(acme.id)).await.expect("channels");
    assert_eq!(channels.len(), 1_203);
    for channel in channels
        .iter()
        .filter(|c| ["page0", "page999", "page1000", "page1202"].contains(&c.external_account_id.as_str()))
    {
        let n: i64 = channel.external_account_id.as_str()["page".len()..].parse().expect("a number");
        let stored = db.store.tokens(channel.id).await.expect("the tokens open under their own channel");
        assert_eq!(stored.access_token.expose_secret(), format!("access-{n}"));
        assert_eq!(
            stored.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
            (n % 2 == 0).then(|| format!("refresh-{n}"))
        );
        assert_eq!(stored.scopes.to_string(), "pages_manage_posts pages_show_list");
        assert_eq!(channel.token_expires_at, Some(now + Span::days(n)));
    }
    // A chunk holding an account already registered is refused whole.
    let again = vec![rows[5].clone(), (new_channel(&acme, Provider::Facebook, "fresh", None), rows[5].1.clone())];
    conflict(db.store.add_channels_bulk(&again, now).await);
    assert_eq!(db.store.channels(Some(acme.id)).await.expect("channels").len(), 1_203);
}

async fn a_ciphertext_copied_to_another_channel_does_not_open(db: TestStore) {
    let acme = db.team("Acme").await;
    let a = db.channel(&acme, "aaa", &tokens("access-a", Some("refresh-a"), None)).await;
    let b = db.channel(&acme, "bbb", &tokens("access-b", Some("refresh-b"), None)).await;

    let mut raw = db.raw().await;
    let copied = raw
        .execute(&format!(
            "UPDATE channels SET \
             token_ciphertext = (SELECT token_ciphertext FROM channels WHERE id = {a}), \
             token_key_id = (SELECT token_key_id FROM channels WHERE id = {a}) \
             WHERE id = {b}",
            a = a.id,
            b = b.id
        ))
        .await;
    assert_eq!(copied, 1);

    match db.store.tokens(b.id).await {
        Err(StoreError::Crypto(CryptoError::DoesNotOpen(1))) => {}
        other => panic!("a ciphertext bound to channel {} opened for channel {}: {other:?}", a.id, b.id),
    }
    let a_tokens = db.store.tokens(a.id).await.expect("the original row still opens");
    assert_eq!(a_tokens.access_token.expose_secret(), "access-a");
}

async fn health_changes_write_history_and_one_outbox_event_each(db: TestStore) {
    let acme = db.team("Acme").await;
    let channel = db.channel(&acme, "1234", &tokens("access", None, None)).await;
    assert_eq!(db.store.pending_event_count().await.expect("events"), 0);

    let first = db.now();
    let transition = db.store.set_health(channel.id, &Health::Healthy, None, first).await.expect("set health");
    let transition = transition.expect("unknown → healthy is a change");
    assert_eq!((transition.from, transition.to, transition.at), (Health::Unknown, Health::Healthy, first));
    assert_eq!(db.store.pending_event_count().await.expect("events"), 1);

    db.clock.advance(Span::hours(1));
    let unchanged = db.store.set_health(channel.id, &Health::Healthy, None, db.now()).await.expect("set health");
    assert_eq!(unchanged, None);
    assert_eq!(db.store.pending_event_count().await.expect("events"), 1, "no event without a change");
    let read = db.store.channel(channel.id).await.expect("channel");
    assert_eq!((read.health, read.last_checked_at), (Health::Healthy, Some(db.now())), "a check is recorded anyway");

    db.clock.advance(Span::hours(1));
    let revoked = Health::NeedsReauth(Reason::Other("error 190: session invalidated".into()));
    let second = db.now();
    db.store.set_health(channel.id, &revoked, Some("provider said 190"), second).await.expect("set health");
    db.clock.advance(Span::hours(1));
    let password = Health::NeedsReauth(Reason::PasswordChanged);
    let third = db.now();
    db.store.set_health(channel.id, &password, None, third).await.expect("set health");
    assert_eq!(db.store.pending_event_count().await.expect("events"), 3);
    assert_eq!(db.store.channel(channel.id).await.expect("channel").health, password);

    let history = db.store.history(channel.id, 10).await.expect("history");
    let steps: Vec<_> = history.iter().map(|t| (t.at, t.from.clone(), t.to.clone(), t.detail.clone())).collect();
    assert_eq!(
        steps,
        [
            // A past state's `other` detail is not kept; the new state's is.
            (third, Health::NeedsReauth(Reason::Other(String::new())), password, None),
            (second, Health::Healthy, revoked, Some("provider said 190".to_owned())),
            (first, Health::Unknown, Health::Healthy, None),
        ],
        "newest first"
    );
    assert!(history.iter().all(|t| t.channel_id == channel.id));
    assert_eq!(db.store.history(channel.id, 1).await.expect("history").len(), 1);
    not_found(db.store.set_health(ChannelId(9_999), &Health::Healthy, None, db.now()).await);
}

async fn due_channels_come_earliest_first_and_respect_the_limit(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let set = tokens("access", None, None);
    let late = db.channel(&acme, "late", &set).await.id;
    let soon = db.channel(&acme, "soon", &set).await.id;
    let far = db.channel(&acme, "far", &set).await.id;
    for (id, at) in [(late, now + Span::hours(2)), (soon, now + Span::hours(1)), (far, now + Span::days(5))] {
        db.store.schedule_check(id, at).await.expect("schedule a check");
    }

    let due = |at, limit| {
        let store = db.store.clone();
        async move { store.due_channels(at, limit).await.expect("due channels") }
    };
    let ids = |due: Vec<DueChannel>| due.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert!(due(now, 10).await.is_empty());
    assert_eq!(
        due(now + Span::hours(3), 10).await,
        [
            DueChannel { id: soon, next_check_at: now + Span::hours(1) },
            DueChannel { id: late, next_check_at: now + Span::hours(2) }
        ]
    );
    assert_eq!(ids(due(now + Span::hours(3), 1).await), [soon]);
    assert_eq!(ids(due(now + Span::days(6), 10).await), [soon, late, far]);
    assert_eq!(db.store.next_due_at().await.expect("next due"), Some(now + Span::hours(1)));

    let fresh = db.channel(&acme, "fresh", &set).await.id;
    assert_eq!(ids(due(now, 10).await), [fresh], "a new channel is due at once");
}

async fn due_work_is_found_through_the_next_check_index(db: TestStore) {
    let now = to_millis(db.now());
    let acme = db.team("Acme").await;
    let blob = match db.engine {
        Engine::Sqlite => "x'00'",
        Engine::Postgres => r"'\x00'::bytea",
    };
    let mut raw = db.raw().await;
    // Enough rows, checks spread a minute apart, that a planner would rather read the index than
    // sort the table; the statistics must know about them.
    let inserted = raw
        .execute(&format!(
            "INSERT INTO channels (team_id, provider, external_account_id, display_name, token_key_id, \
             token_ciphertext, next_check_at, created_at, updated_at) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
             SELECT {team}, 'facebook', 'bulk-' || i, 'Bulk ' || i, 1, {blob}, {now} + i * 60000, {now}, {now} FROM n",
            team = acme.id
        ))
        .await;
    assert_eq!(inserted, 5_000);
    raw.execute("ANALYZE").await;

    // The checker's query, as `due_channels` sends it, with ten minutes of work due.
    let ten_minutes = now + 10 * 60_000;
    let plan = raw
        .plan(&format!(
            "SELECT id, next_check_at FROM channels WHERE next_check_at <= {ten_minutes} \
             ORDER BY next_check_at LIMIT 100"
        ))
        .await;
    assert!(plan.contains("channels_due"), "the due query does not use the channels_due index:\n{plan}");

    let due = db.store.due_channels(relink_core::time::from_millis(ten_minutes), 100).await.expect("due channels");
    assert_eq!(due.len(), 10);
    assert!(due.windows(2).all(|pair| pair[0].next_check_at < pair[1].next_check_at));
}

async fn posts_are_listed_by_due_time_and_cancelled_only_by_their_team(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let other = db.team("Other").await;
    let set = tokens("access", None, None);
    let page = db.channel(&acme, "page", &set).await.id;
    let shop = db.channel(&acme, "shop", &set).await.id;
    let theirs = db.channel(&other, "theirs", &set).await.id;

    let schedule = |channel, days| {
        let store = db.store.clone();
        async move { store.schedule_post(channel, now + Span::days(days), None, now).await.expect("schedule") }
    };
    let second = schedule(page, 2).await;
    let first = schedule(shop, 1).await;
    let third = schedule(page, 3).await;
    let their_post = schedule(theirs, 1).await;
    assert_eq!((second.status, second.due_at, second.created_at), (PostStatus::Pending, now + Span::days(2), now));

    let ids = |posts: Vec<relink_core::ScheduledPost>| posts.into_iter().map(|p| p.id).collect::<Vec<PostId>>();
    assert_eq!(ids(db.store.posts(acme.id, None, false).await.expect("posts")), [first.id, second.id, third.id]);
    assert_eq!(ids(db.store.posts(acme.id, Some(page), false).await.expect("posts")), [second.id, third.id]);
    assert_eq!(ids(db.store.posts(other.id, None, false).await.expect("posts")), [their_post.id]);

    let cancelled = db.store.cancel_post(acme.id, second.id).await.expect("cancel");
    assert_eq!(cancelled.status, PostStatus::Cancelled);
    db.store.cancel_post(acme.id, second.id).await.expect("cancelling twice is not an error");
    assert_eq!(ids(db.store.posts(acme.id, None, false).await.expect("posts")), [first.id, third.id]);
    let all = db.store.posts(acme.id, None, true).await.expect("all posts");
    assert_eq!(
        all.iter().map(|p| p.status).collect::<Vec<_>>(),
        [PostStatus::Pending, PostStatus::Cancelled, PostStatus::Pending]
    );

    not_found(db.store.cancel_post(other.id, first.id).await);
    not_found(db.store.cancel_post(acme.id, their_post.id).await);
    assert_eq!(ids(db.store.posts(acme.id, None, false).await.expect("posts")), [first.id, third.id]);

    let at_risk = db.store.pending_posts(page, now + Span::hours(60)).await.expect("pending posts");
    assert_eq!(ids(at_risk), [third.id]);
    not_found(db.store.schedule_post(ChannelId(9_999), now, None, now).await);
}

async fn scheduling_the_same_external_post_again_moves_it(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let set = tokens("access", None, None);
    let page = db.channel(&acme, "page", &set).await.id;
    let shop = db.channel(&acme, "shop", &set).await.id;

    let post = db.store.schedule_post(page, now + Span::days(1), Some("buffer-42"), now).await.expect("schedule");
    let moved = db.store.schedule_post(page, now + Span::days(2), Some("buffer-42"), now).await.expect("schedule");
    assert_eq!(moved.id, post.id);
    assert_eq!((moved.due_at, moved.external_ref.as_deref()), (now + Span::days(2), Some("buffer-42")));
    assert_eq!(db.store.posts(acme.id, Some(page), true).await.expect("posts").len(), 1);

    db.store.cancel_post(acme.id, post.id).await.expect("cancel");
    let revived = db.store.schedule_post(page, now + Span::days(3), Some("buffer-42"), now).await.expect("schedule");
    assert_eq!((revived.id, revived.status), (post.id, PostStatus::Pending), "scheduling again revives it");

    let on_shop = db.store.schedule_post(shop, now + Span::days(1), Some("buffer-42"), now).await.expect("schedule");
    assert_ne!(on_shop.id, post.id, "a reference is one post per channel");
    let a = db.store.schedule_post(page, now, None, now).await.expect("schedule");
    let b = db.store.schedule_post(page, now, None, now).await.expect("schedule");
    assert_ne!(a.id, b.id, "posts without a reference are never merged");
}

async fn rotation_reseals_every_channel_under_the_new_key(db: TestStore) {
    let acme = db.team("Acme").await;
    let mut channels = Vec::new();
    for n in 0..3 {
        let set = tokens(&format!("access-{n}"), Some(&format!("refresh-{n}")), None);
        channels.push((db.channel(&acme, &format!("account-{n}"), &set).await.id, format!("access-{n}")));
    }
    assert_eq!(db.store.channels_per_key().await.expect("per key"), [(1, 3)]);

    let mut rotated = db.keyring.clone();
    assert_eq!(rotated.add_generated(), 2);
    let store = Store::open(db.store.db().clone(), rotated.clone(), db.now()).await.expect("open with keys 1 and 2");
    // A channel added after the rotation is sealed under key 2 from the start.
    let newest = store
        .add_channel(
            &new_channel(&acme, Provider::Linkedin, "newest", None),
            &tokens("access-new", None, None),
            db.now(),
        )
        .await
        .expect("add a channel");
    channels.push((newest.id, "access-new".to_owned()));
    assert_eq!(store.channels_per_key().await.expect("per key"), [(1, 3), (2, 1)]);

    assert_eq!(store.reseal_all().await.expect("reseal"), ResealReport { resealed: 3, already_current: 1 });
    assert_eq!(store.channels_per_key().await.expect("per key"), [(2, 4)]);
    assert_eq!(store.reseal_all().await.expect("reseal again"), ResealReport { resealed: 0, already_current: 4 });

    let key_2 = rotated.key(2).expect("key 2").clone();
    let only_key_2 = Keyring::new([(2, key_2.clone())]).expect("a keyring");
    let store = Store::open(db.connect_again().await, only_key_2, db.now()).await.expect("key 1 is no longer needed");
    for (id, access) in &channels {
        let set = store.tokens(*id).await.expect("tokens open under key 2 alone");
        assert_eq!(set.access_token.expose_secret(), access);
    }
    assert_eq!(store.db().known_key_ids().await.expect("key ids"), [1, 2]);

    // A key file rewritten with a new key 1 is noticed, though no channel uses key 1 any more.
    let regenerated = Keyring::new([(1, KeyMaterial::generate()), (2, key_2)]).expect("a keyring");
    let message = keyring_error(Store::open(db.connect_again().await, regenerated, db.now()).await);
    assert!(message.contains("encryption key 1") && message.contains("not the key"), "{message}");
    let message = keyring_error(
        Store::open(
            db.connect_again().await,
            Keyring::new([(1, KeyMaterial::generate())]).expect("a keyring"),
            db.now(),
        )
        .await,
    );
    assert!(message.contains("encryption key"), "{message}");
}

async fn a_regenerated_or_missing_key_is_refused_at_open(db: TestStore) {
    let acme = db.team("Acme").await;
    let channel = db.channel(&acme, "1234", &tokens("access", None, None)).await;

    let regenerated = Keyring::new([(1, KeyMaterial::generate())]).expect("a keyring");
    let message = keyring_error(Store::open(db.connect_again().await, regenerated, db.now()).await);
    assert!(message.contains("encryption key 1 is not the key"), "{message}");

    let missing = Keyring::new([(2, KeyMaterial::generate())]).expect("a keyring");
    let message = keyring_error(Store::open(db.connect_again().await, missing, db.now()).await);
    assert!(message.contains("1 channel(s)") && message.contains("encryption key 1"), "{message}");
    assert!(!message.contains(db.keyring.key(1).expect("key 1").to_base64().as_str()));

    // Neither refusal registered its key: the original keyring still opens the store.
    assert_eq!(db.store.db().known_key_ids().await.expect("key ids"), [1]);
    let store = Store::open(db.connect_again().await, db.keyring.clone(), db.now()).await.expect("the right key");
    store.tokens(channel.id).await.expect("tokens open");
}

async fn removing_a_channel_removes_its_posts_history_and_events(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let set = tokens("access", None, None);
    let doomed = db.channel(&acme, "doomed", &set).await.id;
    let kept = db.channel(&acme, "kept", &set).await.id;
    for channel in [doomed, kept] {
        db.store.schedule_post(channel, now + Span::days(1), Some("ref"), now).await.expect("schedule");
        db.store.set_health(channel, &Health::Healthy, None, now).await.expect("set health");
    }
    db.store.schedule_post(doomed, now + Span::days(2), None, now).await.expect("schedule");

    db.store.remove_channel(doomed).await.expect("remove");
    not_found(db.store.channel(doomed).await);
    not_found(db.store.remove_channel(doomed).await);

    let mut raw = db.raw().await;
    for table in ["scheduled_posts", "health_history", "events"] {
        let left = raw.number(&format!("SELECT COUNT(*) FROM {table} WHERE channel_id = {doomed}")).await;
        assert_eq!(left, 0, "{table} keeps rows of a removed channel");
        let other = raw.number(&format!("SELECT COUNT(*) FROM {table} WHERE channel_id = {kept}")).await;
        assert_eq!(other, 1, "{table} lost rows of another channel");
    }
    assert_eq!(db.store.posts(acme.id, None, true).await.expect("posts").len(), 1);
    assert_eq!(db.store.history(kept, 10).await.expect("history").len(), 1);
}

async fn a_link_pressed_many_times_at_once_starts_one_authorization_request(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let channel = db.channel(&acme, "bakery", &tokens("access", None, None)).await.id;
    let admin = db.store.add_member(&member(acme.id, "Bob", Role::Admin, None, None), now).await.expect("Bob");
    let token = OpaqueToken::generate();
    let link = db.store.create_link(&token, channel, Some(admin.id), now, now + Span::hours(1)).await.expect("link");
    // The page's one read: the link with its channel, team and member's role.
    let read = db.store.link_context(&token).await.expect("read").expect("found");
    let (context, role) = (read.context, read.member_role);
    assert_eq!((read.link.id, read.link.used_at, role), (link.id, None, Some(Role::Admin)));
    assert_eq!((context.channel.id, context.team.id, context.authorised_by), (channel, acme.id, None));
    assert!(db.store.link_context(&OpaqueToken::generate()).await.expect("read").is_none());

    // Eight presses race: each one records its own authorization request if it wins.
    let presses = (0..8).map(|_| {
        let (store, token) = (db.store.clone(), token.clone());
        tokio::spawn(async move { press(&store, &token, now).await })
    });
    let mut won = 0;
    for press in presses {
        won += usize::from(press.await.expect("a press"));
    }
    assert_eq!(won, 1, "exactly one press starts a flow");
    assert_eq!(db.store.link(&token).await.expect("link").expect("kept").used_at, Some(now));
    let mut raw = db.raw().await;
    let states = format!("SELECT COUNT(*) FROM oauth_states WHERE link_id = {}", link.id);
    assert_eq!(raw.number(&states).await, 1, "one authorization request is recorded");
    // The schema itself refuses a second request on a spent link, whoever writes it.
    let again = format!(
        "INSERT INTO oauth_states (state_hash, provider, channel_id, link_id, browser_hash, created_at, expires_at) \
         VALUES ({}, 'facebook', {channel}, {}, {}, 0, 1)",
        blob(&db, 1),
        link.id,
        blob(&db, 2)
    );
    assert!(raw.refused(&again).await.contains("already spent"));
    assert_eq!(raw.number(&states).await, 1);

    // An expired link starts nothing and writes nothing.
    let late = OpaqueToken::generate();
    let expired =
        db.store.create_link(&late, channel, Some(admin.id), now - Span::hours(2), now - Span::hours(1)).await;
    let expired = expired.expect("link");
    assert!(!press(&db.store, &late, now).await);
    assert_eq!(db.store.link_by_id(expired.id).await.expect("link").expect("kept").used_at, None);
}

async fn a_link_whose_member_was_demoted_or_removed_starts_no_authorization_request(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let channel = db.channel(&acme, "bakery", &tokens("access", None, None)).await.id;
    let bob = db.store.add_member(&member(acme.id, "Bob", Role::Admin, None, None), now).await.expect("Bob");
    let link = |member| {
        let store = db.store.clone();
        async move {
            let token = OpaqueToken::generate();
            store.create_link(&token, channel, member, now, now + Span::hours(1)).await.expect("link");
            token
        }
    };
    let unused = |token: OpaqueToken| {
        let store = db.store.clone();
        async move { store.link(&token).await.expect("read").expect("kept").used_at.is_none() }
    };

    // Demoted to editor between the link and the press.
    let demoted = link(Some(bob.id)).await;
    let mut raw = db.raw().await;
    raw.execute(&format!("UPDATE members SET role = 'editor' WHERE id = {}", bob.id)).await;
    let read = db.store.link_context(&demoted).await.expect("read").expect("found");
    assert_eq!(read.member_role, Some(Role::Editor));
    assert!(!press(&db.store, &demoted, now).await, "an editor's link starts nothing");
    assert!(unused(demoted.clone()).await);
    raw.execute(&format!("UPDATE members SET role = 'owner' WHERE id = {}", bob.id)).await;
    assert!(press(&db.store, &demoted, now).await, "promoted again, the same link works");

    // Removed from the team: the link loses its member and starts nothing.
    let removed = link(Some(bob.id)).await;
    db.store.remove_member(bob.id).await.expect("remove Bob");
    let read = db.store.link_context(&removed).await.expect("read").expect("found");
    assert_eq!((read.link.member_id, read.member_role), (None, None));
    assert!(!press(&db.store, &removed, now).await);
    assert!(unused(removed).await);

    // A link made for nobody starts nothing either.
    let nobody = link(None).await;
    assert!(!press(&db.store, &nobody, now).await);
    assert!(unused(nobody).await);
}

/// States are stored under a key that begins with the time they were made (the index grows at
/// its end), and a state stored before that, under its plain hash, still completes its flow.
async fn a_state_is_found_by_its_time_ordered_key_and_one_stored_under_its_plain_hash_still_is(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let channel = db.channel(&acme, "bakery", &tokens("access", None, None)).await.id;
    let admin = db.store.add_member(&member(acme.id, "Bob", Role::Admin, None, None), now).await.expect("Bob");
    let mut raw = db.raw().await;
    for stored_before in [false, true] {
        let token = OpaqueToken::generate();
        let link = db.store.create_link(&token, channel, Some(admin.id), now, now + Span::hours(1)).await;
        let link = link.expect("link");
        let state = OpaqueToken::generate_ordered(relink_core::time::to_millis(now));
        let browser = OpaqueToken::generate();
        assert!(begin(&db.store, &token, &state, &browser, now).await, "a press");
        let key = format!(
            "SELECT COUNT(*) FROM oauth_states WHERE link_id = {} AND state_hash = {}",
            link.id,
            bytes(&db, &state.ordered_key())
        );
        assert_eq!(raw.number(&key).await, 1, "stored under its ordered key");
        if stored_before {
            let plain = bytes(&db, &state.hash());
            raw.execute(&format!("UPDATE oauth_states SET state_hash = {plain} WHERE link_id = {}", link.id)).await;
        }
        let found = db.store.oauth_state_browser(&state, now).await.expect("read");
        assert_eq!(found, Some(browser.hash()), "stored before: {stored_before}");
        let consumed = db.store.consume_oauth_state(&state, now).await.expect("consume");
        assert_eq!(consumed.map(|s| s.link_id), Some(link.id));
        assert!(db.store.consume_oauth_state(&state, now).await.expect("consume").is_none(), "only once");
    }
    // A state nobody made finds nothing, whatever its first bytes say.
    let forged = OpaqueToken::generate_ordered(relink_core::time::to_millis(now));
    assert!(db.store.oauth_state_browser(&forged, now).await.expect("read").is_none());
}

/// A literal blob of `bytes`, in the engine's syntax.
fn bytes(db: &TestStore, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match db.engine {
        Engine::Sqlite => format!("x'{hex}'"),
        Engine::Postgres => format!("'\\x{hex}'::bytea"),
    }
}

/// Presses a link's button: `true` when this press spent the link and started a flow.
async fn press(store: &Store, token: &OpaqueToken, now: chrono::DateTime<chrono::Utc>) -> bool {
    begin(store, token, &OpaqueToken::generate(), &OpaqueToken::generate(), now).await
}

/// [`press`] with the flow's state and browser tokens chosen by the caller.
async fn begin(
    store: &Store,
    token: &OpaqueToken,
    state: &OpaqueToken,
    browser: &OpaqueToken,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    let request = NewOAuthState {
        state,
        provider: Provider::Facebook,
        browser,
        verifier: None,
        expires_at: now + Span::minutes(10),
    };
    store.begin_flow(token, &request, now).await.expect("no database error")
}

/// A literal 32-byte blob filled with `byte`, in the engine's syntax.
fn blob(db: &TestStore, byte: u8) -> String {
    let hex = format!("{byte:02x}").repeat(32);
    match db.engine {
        Engine::Sqlite => format!("x'{hex}'"),
        Engine::Postgres => format!("'\\x{hex}'::bytea"),
    }
}

async fn removing_a_member_leaves_their_channels_without_an_authoriser(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let alice = db.store.add_member(&member(acme.id, "Alice", Role::Admin, Some(1), None), now).await;
    let alice = alice.expect("add Alice");
    let new = new_channel(&acme, Provider::Pinterest, "boards", Some(alice.id));
    let channel = db.store.add_channel(&new, &tokens("access", None, None), now).await.expect("add a channel");
    assert_eq!(channel.authorized_by, Some(alice.id));

    db.store.remove_member(alice.id).await.expect("remove Alice");
    not_found(db.store.member(alice.id).await);
    not_found(db.store.remove_member(alice.id).await);
    let channel = db.store.channel(channel.id).await.expect("the channel stays");
    assert_eq!(channel.authorized_by, None);
    db.store.tokens(channel.id).await.expect("its tokens still open");
}

async fn chat_bindings_are_idempotent_and_can_be_disabled(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let bound = db.store.bind_chat(acme.id, ChatPlatform::Telegram, -100_123, now).await.expect("bind");
    assert!(bound.enabled);
    db.store.bind_chat(acme.id, ChatPlatform::Discord, 987_654_321, now).await.expect("bind");
    db.store.bind_chat(acme.id, ChatPlatform::Telegram, -100_123, now).await.expect("binding again is fine");
    assert_eq!(db.store.chat_bindings(acme.id).await.expect("bindings").len(), 2);

    let changed = db.store.set_chat_enabled(acme.id, ChatPlatform::Telegram, -100_123, false).await;
    assert!(changed.expect("disable"));
    let bindings = db.store.chat_bindings(acme.id).await.expect("bindings");
    let state: Vec<_> = bindings.iter().map(|b| (b.platform, b.chat_id, b.enabled)).collect();
    assert_eq!(state, [(ChatPlatform::Discord, 987_654_321, true), (ChatPlatform::Telegram, -100_123, false)]);

    let rebound = db.store.bind_chat(acme.id, ChatPlatform::Telegram, -100_123, now).await.expect("bind again");
    assert!(rebound.enabled, "binding a disabled chat enables it");
    let unknown = db.store.set_chat_enabled(acme.id, ChatPlatform::Discord, 1, false).await;
    assert!(!unknown.expect("an unknown binding"));
    not_found(db.store.bind_chat(TeamId(9_999), ChatPlatform::Discord, 1, now).await);
}

async fn publishing_activity_only_moves_forward(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let channel = db.channel(&acme, "pins", &tokens("access", None, None)).await.id;
    assert_eq!(db.store.channel(channel).await.expect("channel").last_activity_at, None);

    db.store.record_activity(channel, now).await.expect("record");
    db.store.record_activity(channel, now - Span::days(3)).await.expect("record an older one");
    assert_eq!(db.store.channel(channel).await.expect("channel").last_activity_at, Some(now));
    db.store.record_activity(channel, now + Span::days(1)).await.expect("record a newer one");
    assert_eq!(db.store.channel(channel).await.expect("channel").last_activity_at, Some(now + Span::days(1)));
    not_found(db.store.record_activity(ChannelId(9_999), now).await);
}

#[tokio::test]
async fn plain_tokens_never_reach_the_sqlite_files() {
    let db = TestStore::open(Engine::Sqlite).await;
    let acme = db.team("Acme").await;
    let secrets = ["EAAB-plain-access-4f1c2a9e", "plain-refresh-9d7e3b51", "EAAB-plain-access-second-77aa10"];
    let channel = db.channel(&acme, "1234", &tokens(secrets[0], Some(secrets[1]), None)).await;
    db.store.replace_tokens(channel.id, &tokens(secrets[2], None, None), db.now()).await.expect("replace");
    // Closing the last connection checkpoints the write-ahead log; every file is read anyway.
    db.store.db().close().await;

    let mut contents = Vec::new();
    for entry in std::fs::read_dir(db.dir.path()).expect("the database directory") {
        let path = entry.expect("a directory entry").path();
        contents.push((path.clone(), std::fs::read(&path).expect("a database file")));
    }
    let holds = |bytes: &[u8], needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        contents.iter().any(|(_, bytes)| holds(bytes, "1234 page")),
        "the scan must see the channel row (files: {:?})",
        contents.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for (path, bytes) in &contents {
        for secret in secrets {
            assert!(!holds(bytes, secret), "{} holds a plain token", path.display());
        }
    }
}

#[tokio::test]
async fn a_postgres_server_that_is_down_is_unavailable_quickly() {
    // A port that was free a moment ago and that nothing listens on now.
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port();
    let url = format!("postgres://relink:hunter2-secret@127.0.0.1:{port}/relink");
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(30), Db::connect(&url)).await.expect("connect gives up");
    match result {
        Err(StoreError::Unavailable(message)) => {
            assert!(!message.contains("hunter2-secret"), "the password leaks: {message}");
            assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
        }
        other => panic!("expected the database to be unavailable, got {other:?}"),
    }
    // The store keeps retrying a refused connection for its connect timeout (10 s), in case the
    // server is starting; it must give up then, not wait for the operating system's timeouts.
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?} to give up", started.elapsed());
}

#[tokio::test]
async fn a_sqlite_file_in_a_missing_directory_is_unavailable() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}/missing/relink.db", dir.path().display());
    match Db::connect(&url).await {
        Err(StoreError::Unavailable(message)) => assert!(message.contains("missing/relink.db"), "{message}"),
        other => panic!("expected the database to be unavailable, got {other:?}"),
    }
}

/// The README promises the data is readable only by its owner: the database file and its
/// write-ahead log and index are 0600 from the start, and an older installation's files that
/// others could read are tightened when relink opens them.
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_files_are_readable_only_by_their_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |path: &std::path::Path| std::fs::metadata(path).expect("the file exists").permissions().mode() & 0o777;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("relink.db");
    let companions = |file: &std::path::Path| {
        ["", "-wal", "-shm"].map(|suffix| std::path::PathBuf::from(format!("{}{suffix}", file.display())))
    };
    let db = Db::connect(&format!("sqlite://{}", file.display())).await.expect("connect");
    db.migrate().await.expect("migrate");
    for path in companions(&file) {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    db.close().await;

    let older = dir.path().join("older.db");
    std::fs::write(&older, b"").expect("an empty database file");
    std::fs::set_permissions(&older, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let db = Db::connect(&format!("sqlite://{}", older.display())).await.expect("connect");
    db.migrate().await.expect("migrate");
    for path in companions(&older) {
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    db.close().await;
}

/// A push signal names a person (Facebook) or an account (Google, a Telegram chat by id or
/// @username): every such channel in every team is due now, nothing else moves, and a channel
/// that already needs a reconnect is left alone.
async fn a_signal_makes_due_the_channels_of_its_person_or_account_in_every_team(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let beta = db.team("Beta").await;
    let set = tokens("access", None, None);
    let add = |team, provider, account: &str| {
        let channel = new_channel(team, provider, account, None);
        let store = db.store.clone();
        let set = set.clone();
        async move { store.add_channel(&channel, &set, now).await.expect("add a channel").id }
    };
    let page = add(&acme, Provider::Facebook, "page-1").await;
    let instagram = add(&acme, Provider::InstagramBusiness, "ig-1").await;
    let other_person = add(&acme, Provider::Facebook, "page-2").await;
    let profile = add(&acme, Provider::Facebook, "u1").await;
    let youtube_of_same_id = add(&acme, Provider::Youtube, "u1").await;
    let beta_page = add(&beta, Provider::Facebook, "page-3").await;
    let dead = add(&beta, Provider::Facebook, "page-4").await;
    let chat = add(&acme, Provider::Telegram, "-100123").await;
    let named_chat = add(&beta, Provider::Telegram, "@news").await;
    let mut raw = db.raw().await;
    raw.execute(&format!(
        "UPDATE channels SET grantor_id = 'u1' WHERE id IN ({}, {}, {}, {})",
        page.0, instagram.0, beta_page.0, dead.0
    ))
    .await;
    raw.execute(&format!("UPDATE channels SET grantor_id = 'u2' WHERE id = {}", other_person.0)).await;
    db.store.set_health(dead, &Health::NeedsReauth(Reason::Expired), None, now).await.expect("set health");
    let later = now + Span::hours(5);
    for id in [page, instagram, other_person, profile, youtube_of_same_id, beta_page, dead, chat, named_chat] {
        db.store.schedule_check(id, later).await.expect("schedule");
    }

    let facebook = relink_core::domain::Subject::FacebookUser("u1".into());
    let mut due = db.store.make_due_for(&facebook, now).await.expect("make due");
    due.sort();
    assert_eq!(due, [page, instagram, profile, beta_page]);
    let mut again = db.store.make_due_for(&facebook, now).await.expect("make due again");
    again.sort();
    assert_eq!(again, due, "idempotent");
    let ids = db.store.due_channels(now, 100).await.expect("due").into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids.len(), 4, "only the person's channels are due: {ids:?}");

    let google = relink_core::domain::Subject::GoogleAccount("u1".into());
    assert_eq!(db.store.make_due_for(&google, now).await.expect("google"), [youtube_of_same_id]);
    let telegram = relink_core::domain::Subject::TelegramChat { chat_id: -100123, username: Some("news".into()) };
    let mut chats = db.store.make_due_for(&telegram, now).await.expect("telegram");
    chats.sort();
    assert_eq!(chats, [chat, named_chat]);
    let stranger = relink_core::domain::Subject::FacebookUser("nobody".into());
    assert!(db.store.make_due_for(&stranger, now).await.expect("stranger").is_empty());
}

/// Receipts refuse a replayed signal per source, and are forgotten after thirty days (a signal
/// that old is refused for its age by its receiver).
async fn a_signal_receipt_is_refused_the_second_time_and_forgotten_after_thirty_days(db: TestStore) {
    use relink_core::domain::Source;
    let now = db.now();
    assert!(db.store.record_receipt(Source::GoogleRisc, "jti-1", now).await.expect("first"));
    assert!(!db.store.record_receipt(Source::GoogleRisc, "jti-1", now + Span::minutes(1)).await.expect("replay"));
    assert!(db.store.record_receipt(Source::FacebookDeauthorize, "jti-1", now).await.expect("another source"));
    let month = now + Span::days(31);
    assert!(db.store.record_receipt(Source::GoogleRisc, "jti-2", month).await.expect("prunes"));
    assert!(db.store.record_receipt(Source::GoogleRisc, "jti-1", month).await.expect("forgotten"));
}

/// Meta's data deletion request: the person's channels lose their tokens (not their names),
/// need a reconnect with a transition the team hears of, and the request's status answers by
/// its code; the same code again deletes nothing more.
async fn a_data_deletion_empties_the_persons_tokens_once_and_tells_the_team(db: TestStore) {
    let now = db.now();
    let acme = db.team("Acme").await;
    let page = db.channel(&acme, "page-1", &tokens("secret-access", Some("secret-refresh"), None)).await.id;
    let untouched = db.channel(&acme, "page-2", &tokens("keep", None, None)).await.id;
    let mut raw = db.raw().await;
    raw.execute(&format!("UPDATE channels SET grantor_id = 'u1' WHERE id = {}", page.0)).await;

    let subject = relink_core::domain::Subject::FacebookUser("u1".into());
    assert_eq!(db.store.delete_grants_of(&subject, "code-1", now).await.expect("delete"), 1);
    let emptied = db.store.tokens(page).await.expect("tokens");
    assert_eq!(emptied.access_token.expose_secret(), "");
    assert!(emptied.refresh_token.is_none(), "the refresh token is gone too");
    assert_eq!(db.store.tokens(untouched).await.expect("tokens").access_token.expose_secret(), "keep");
    let channel = db.store.channel(page).await.expect("channel");
    assert_eq!(channel.health, Health::NeedsReauth(Reason::AppRevoked));
    assert_eq!(db.store.history(page, 10).await.expect("history").len(), 1, "one transition for the team");

    let status = db.store.data_deletion("code-1").await.expect("status").expect("recorded");
    assert_eq!((status.provider, status.channels, status.completed_at), (Provider::Facebook, 1, Some(now)));
    assert_eq!(db.store.delete_grants_of(&subject, "code-1", now).await.expect("again"), 0);
    assert!(db.store.data_deletion("code-2").await.expect("unknown").is_none());
}

/// `relink alerts settings`: a team's time zone and quiet hours are stored beside its other
/// settings, read back by the command and by the alerts pass alike, and the database refuses
/// half a pair of quiet hours or a minute outside the day.
async fn a_team_calendar_round_trips_with_the_other_settings_and_a_reset_forgets_it(db: TestStore) {
    use relink_core::alerts::{QuietHours, SettingsOverride, Zone};
    let acme = db.team("Acme").await;
    assert_eq!(db.store.team_alert_settings(acme.id).await.expect("settings"), SettingsOverride::default());
    let own = SettingsOverride {
        warning_days: Some(vec![7, 1]),
        escalate_after: Some(Span::hours(2)),
        check_every: Some(Span::hours(1)),
        timezone: Some(Zone::parse("Europe/Rome").expect("a zone")),
        quiet_hours: Some(QuietHours::parse("20:00-08:00").expect("quiet hours")),
        ..SettingsOverride::default()
    };
    db.store.set_team_alert_settings(acme.id, &own).await.expect("store the settings");
    assert_eq!(db.store.team_alert_settings(acme.id).await.expect("settings"), own);
    assert_eq!(pass_settings(&db, acme.id).await, Some(own.clone()), "the alerts pass reads the same");
    let mut raw = db.raw().await;
    let stored = raw.number("SELECT quiet_from_min * 10000 + quiet_until_min FROM team_alert_settings").await;
    assert_eq!(stored, 1200 * 10000 + 480, "minutes since local midnight");

    // Cleared one at a time, then all at once: nothing of the calendar lingers.
    let cleared = SettingsOverride { quiet_hours: None, ..own.clone() };
    db.store.set_team_alert_settings(acme.id, &cleared).await.expect("clear the quiet hours");
    assert_eq!(db.store.team_alert_settings(acme.id).await.expect("settings"), cleared);
    db.store.set_team_alert_settings(acme.id, &SettingsOverride::default()).await.expect("reset");
    assert_eq!(db.store.team_alert_settings(acme.id).await.expect("settings"), SettingsOverride::default());

    for bad in [
        "UPDATE team_alert_settings SET quiet_from_min = 1200",
        "UPDATE team_alert_settings SET quiet_from_min = 480, quiet_until_min = 480",
        "UPDATE team_alert_settings SET quiet_from_min = 1440, quiet_until_min = 480",
        "UPDATE team_alert_settings SET quiet_from_min = -1, quiet_until_min = 480",
        "UPDATE team_alert_settings SET timezone = ''",
    ] {
        raw.refused(bad).await;
    }
}

/// A zone name stored by a relink whose time zone database knew it (or written by hand) and
/// unknown to this one is the team's problem, not the engine's: the team is read as UTC, the
/// rest of its settings stand, and the alerts pass plans as usual.
async fn a_stored_time_zone_the_database_does_not_know_is_read_as_utc_and_the_alerts_pass_goes_on(db: TestStore) {
    use relink_core::alerts::{QuietHours, SettingsOverride, Zone};
    let acme = db.team("Acme").await;
    let own = SettingsOverride {
        warning_days: Some(vec![3]),
        timezone: Some(Zone::parse("Asia/Tokyo").expect("a zone")),
        quiet_hours: Some(QuietHours::parse("22:00-07:00").expect("quiet hours")),
        ..SettingsOverride::default()
    };
    db.store.set_team_alert_settings(acme.id, &own).await.expect("store the settings");
    db.raw().await.execute("UPDATE team_alert_settings SET timezone = 'Mars/Olympus'").await;

    let read = SettingsOverride { timezone: None, ..own };
    assert_eq!(db.store.team_alert_settings(acme.id).await.expect("read, not refused"), read);
    assert_eq!(pass_settings(&db, acme.id).await, Some(read));
}

/// The team's settings as one alerts pass reads them (a new channel's first health change gives
/// it an event); once per test.
async fn pass_settings(db: &TestStore, team: TeamId) -> Option<relink_core::alerts::SettingsOverride> {
    let channel = db.channel(&db.store.team(team).await.expect("the team"), "calendar", &tokens("a", None, None)).await;
    db.store.set_health(channel.id, &Health::Healthy, None, db.now()).await.expect("a health change");
    let mut seen = None;
    db.store
        .alert_pass(db.now(), db.now(), 100, |snapshot| {
            seen = snapshot.settings.get(&team).cloned();
            relink_core::domain::alert::AlertPlan::default()
        })
        .await
        .expect("an alerts pass");
    seen
}
