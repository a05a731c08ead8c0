//! Reconnect-button presses that arrive together, on both engines: on SQLite they are written
//! as groups in one transaction on the single writer (`core/src/store/presses.rs`), on
//! PostgreSQL each is its own statement. Either way every press gets its own answer, a link is
//! spent once with exactly one authorization request, a press that fails fails alone, and a
//! write that fails spends nothing.

use chrono::Duration as Span;
use relink_core::opaque::OpaqueToken;
use relink_core::store::{Engine, NewOAuthState, StoreError};
use relink_core::{ChannelId, MemberId, Provider, Role, Team};

use crate::support::{Raw, TestStore, both_engines, tokens};

both_engines!(
    many_presses_of_distinct_links_at_once_each_spend_their_own_link_once,
    two_presses_of_one_link_in_one_group_spend_it_once_and_the_second_finds_it_used,
    a_press_whose_statement_fails_does_not_fail_the_presses_beside_it,
    a_press_during_a_writer_outage_answers_with_the_stores_error_and_spends_nothing,
    a_link_whose_member_may_not_reconnect_starts_nothing_in_a_group_either,
    a_callback_whose_use_of_the_state_is_not_committed_is_an_error_and_the_state_stays_unused,
);

/// One press's request: its own state, browser cookie and PKCE verifier.
struct Request {
    state: OpaqueToken,
    browser: OpaqueToken,
    verifier: OpaqueToken,
}

impl Request {
    fn new() -> Self {
        Self { state: OpaqueToken::generate(), browser: OpaqueToken::generate(), verifier: OpaqueToken::generate() }
    }

    fn oauth(&self, db: &TestStore) -> NewOAuthState<'_> {
        NewOAuthState {
            state: &self.state,
            provider: Provider::Pinterest,
            browser: &self.browser,
            verifier: Some(&self.verifier),
            expires_at: db.now() + Span::minutes(10),
        }
    }
}

/// A team with a channel and an admin the links are made for.
async fn setup(db: &TestStore) -> (Team, ChannelId, MemberId) {
    let acme = db.team("Acme").await;
    let channel = db.channel(&acme, "bakery", &tokens("access", None, None)).await.id;
    let admin = relink_core::store::NewMember {
        team_id: acme.id,
        name: relink_core::MemberName::parse("Bob").expect("a name"),
        role: Role::Admin,
        discord_user_id: None,
        telegram_user_id: None,
    };
    let admin = db.store.add_member(&admin, db.now()).await.expect("Bob").id;
    (acme, channel, admin)
}

async fn links(db: &TestStore, channel: ChannelId, admin: MemberId, count: usize) -> Vec<OpaqueToken> {
    let mut tokens = Vec::with_capacity(count);
    for _ in 0..count {
        let token = OpaqueToken::generate();
        db.store.create_link(&token, channel, Some(admin), db.now(), db.now() + Span::hours(1)).await.expect("link");
        tokens.push(token);
    }
    tokens
}

/// The winner's request is its own: its browser, its verifier, its channel.
async fn recorded_as_pressed(db: &TestStore, request: &Request, channel: ChannelId) {
    let recorded = db.store.consume_oauth_state(&request.state, db.now()).await.expect("read").expect("recorded");
    assert_eq!(recorded.browser_hash, request.browser.hash());
    assert_eq!(recorded.verifier.as_ref().map(OpaqueToken::expose), Some(request.verifier.expose()));
    assert_eq!((recorded.provider, recorded.channel_id), (Provider::Pinterest, channel));
}

async fn many_presses_of_distinct_links_at_once_each_spend_their_own_link_once(db: TestStore) {
    let (_, channel, admin) = setup(&db).await;
    let tokens = links(&db, channel, admin, 300).await;
    // Two hundred presses at once through the store's front door (on SQLite, its queue)…
    let presses = tokens[..200].iter().map(|token| {
        let (store, token, request, now) = (db.store.clone(), token.clone(), Request::new(), db.now());
        let expires_at = now + Span::minutes(10);
        tokio::spawn(async move {
            let new = NewOAuthState {
                state: &request.state,
                provider: Provider::Pinterest,
                browser: &request.browser,
                verifier: Some(&request.verifier),
                expires_at,
            };
            let won = store.begin_flow(&token, &new, now).await.expect("no database error");
            (won, request)
        })
    });
    let mut requests = Vec::new();
    for press in presses.collect::<Vec<_>>() {
        let (won, request) = press.await.expect("a press");
        assert!(won, "every fresh link is spent by its one press");
        requests.push(request);
    }
    // …and a hundred as one group.
    let group: Vec<Request> = (0..100).map(|_| Request::new()).collect();
    let oauth: Vec<NewOAuthState<'_>> = group.iter().map(|r| r.oauth(&db)).collect();
    let presses: Vec<_> = tokens[200..].iter().zip(&oauth).collect();
    let outcomes = db.store.begin_flows(&presses, db.now()).await;
    assert_eq!(outcomes.len(), 100);
    assert!(outcomes.into_iter().all(|won| won.expect("no database error")), "every press of the group wins");
    requests.extend(group);
    for request in &requests {
        recorded_as_pressed(&db, request, channel).await;
    }
    let mut raw = db.raw().await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM oauth_states").await, 300);
    assert_eq!(raw.number("SELECT COUNT(DISTINCT link_id) FROM oauth_states").await, 300, "one request per link");
    assert_eq!(raw.number("SELECT COUNT(*) FROM reconnect_links WHERE used_at IS NULL").await, 0);
}

async fn two_presses_of_one_link_in_one_group_spend_it_once_and_the_second_finds_it_used(db: TestStore) {
    let (_, channel, admin) = setup(&db).await;
    let tokens = links(&db, channel, admin, 2).await;
    let requests: Vec<Request> = (0..4).map(|_| Request::new()).collect();
    let oauth: Vec<NewOAuthState<'_>> = requests.iter().map(|r| r.oauth(&db)).collect();
    // The first link twice around the second, and again at the end.
    let presses = [(&tokens[0], &oauth[0]), (&tokens[1], &oauth[1]), (&tokens[0], &oauth[2]), (&tokens[0], &oauth[3])];
    let outcomes: Vec<bool> =
        db.store.begin_flows(&presses, db.now()).await.into_iter().map(|won| won.expect("no database error")).collect();
    assert_eq!(outcomes, [true, true, false, false], "the first press of a link wins, the others find it used");
    recorded_as_pressed(&db, &requests[0], channel).await;
    recorded_as_pressed(&db, &requests[1], channel).await;
    for lost in &requests[2..] {
        assert!(db.store.consume_oauth_state(&lost.state, db.now()).await.expect("read").is_none(), "nothing recorded");
    }
    let mut raw = db.raw().await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM oauth_states").await, 2);
    let link = db.store.link(&tokens[0]).await.expect("read").expect("kept");
    assert_eq!(link.used_at, Some(db.now()));

    // Eight presses of one link at once through the front door: one wins.
    let token = links(&db, channel, admin, 1).await.remove(0);
    let presses: Vec<_> = (0..8)
        .map(|_| {
            let (store, token, request, now) = (db.store.clone(), token.clone(), Request::new(), db.now());
            tokio::spawn(async move {
                let new = NewOAuthState {
                    state: &request.state,
                    provider: Provider::Pinterest,
                    browser: &request.browser,
                    verifier: None,
                    expires_at: now + Span::minutes(10),
                };
                store.begin_flow(&token, &new, now).await.expect("no database error")
            })
        })
        .collect();
    let mut won = 0;
    for press in presses {
        won += usize::from(press.await.expect("a press"));
    }
    assert_eq!(won, 1, "exactly one of eight presses of a link wins");
    assert_eq!(raw.number("SELECT COUNT(*) FROM oauth_states").await, 3);
}

async fn a_press_whose_statement_fails_does_not_fail_the_presses_beside_it(db: TestStore) {
    let (_, channel, admin) = setup(&db).await;
    let tokens = links(&db, channel, admin, 4).await;
    let requests: Vec<Request> = (0..4).map(|_| Request::new()).collect();
    // The third press reuses the state of a request already recorded: its insert breaks the
    // state's uniqueness and fails.
    let first = [(&tokens[0], &requests[0].oauth(&db))];
    assert!(db.store.begin_flows(&first, db.now()).await.remove(0).expect("no database error"));
    let reused = Request { state: requests[0].state.clone(), ..Request::new() };
    let oauth = [requests[1].oauth(&db), requests[2].oauth(&db), reused.oauth(&db), requests[3].oauth(&db)];
    let presses = [(&tokens[1], &oauth[0]), (&tokens[2], &oauth[1]), (&tokens[3], &oauth[2]), (&tokens[0], &oauth[3])];
    let mut outcomes = db.store.begin_flows(&presses, db.now()).await.into_iter();
    assert!(outcomes.next().expect("first").expect("the press before the failing one is written"));
    assert!(outcomes.next().expect("second").expect("so is the next"));
    match outcomes.next().expect("third") {
        Err(StoreError::Database(_)) => {}
        other => panic!("the failing press gets its own error: {other:?}"),
    }
    let last = outcomes.next().expect("fourth").expect("the press after the failing one is answered");
    assert!(!last, "and finds its link used, as it is");
    recorded_as_pressed(&db, &requests[1], channel).await;
    recorded_as_pressed(&db, &requests[2], channel).await;
    let failed = db.store.link(&tokens[3]).await.expect("read").expect("kept");
    assert_eq!(failed.used_at, None, "the failing press spent nothing");
    let mut raw = db.raw().await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM oauth_states").await, 3);
}

async fn a_press_during_a_writer_outage_answers_with_the_stores_error_and_spends_nothing(db: TestStore) {
    let (_, channel, admin) = setup(&db).await;
    let tokens = links(&db, channel, admin, 12).await;
    let mut raw = db.raw().await;
    writer_outage(&db, &mut raw).await;
    // Six presses at once through the front door, and a group of four.
    let presses: Vec<_> = tokens[..6]
        .iter()
        .map(|token| {
            let (store, token, request, now) = (db.store.clone(), token.clone(), Request::new(), db.now());
            tokio::spawn(async move {
                let new = NewOAuthState {
                    state: &request.state,
                    provider: Provider::Pinterest,
                    browser: &request.browser,
                    verifier: Some(&request.verifier),
                    expires_at: now + Span::minutes(10),
                };
                store.begin_flow(&token, &new, now).await
            })
        })
        .collect();
    for press in presses {
        assert!(press.await.expect("a press").is_err(), "a press that could not be written says so");
    }
    let requests: Vec<Request> = (0..4).map(|_| Request::new()).collect();
    let oauth: Vec<NewOAuthState<'_>> = requests.iter().map(|r| r.oauth(&db)).collect();
    let group: Vec<_> = tokens[6..10].iter().zip(&oauth).collect();
    for outcome in db.store.begin_flows(&group, db.now()).await {
        assert!(outcome.is_err(), "every press of a group whose commit fails gets the error");
    }
    assert_eq!(raw.number("SELECT COUNT(*) FROM oauth_states").await, 0, "no request is recorded");
    assert_eq!(raw.number("SELECT COUNT(*) FROM reconnect_links WHERE used_at IS NOT NULL").await, 0, "no link spent");

    // The writer is back: the same links work, through the front door and as a group.
    writer_back(&db, &mut raw).await;
    let request = Request::new();
    assert!(db.store.begin_flow(&tokens[0], &request.oauth(&db), db.now()).await.expect("written"));
    recorded_as_pressed(&db, &request, channel).await;
    let oauth: Vec<NewOAuthState<'_>> = requests.iter().map(|r| r.oauth(&db)).collect();
    let group: Vec<_> = tokens[6..10].iter().zip(&oauth).collect();
    for outcome in db.store.begin_flows(&group, db.now()).await {
        assert!(outcome.expect("written"), "each link of the group is spent now");
    }
}

/// From now on every commit that records an authorization request is refused, on the store's
/// writer as on any connection: a deferred foreign key that a trigger on the requests breaks,
/// checked when the transaction commits.
pub async fn writer_outage(db: &TestStore, raw: &mut Raw) {
    refuse_commits_of(db, raw, "INSERT").await;
}

/// Every commit of a statement that is `event` (`INSERT`, `UPDATE`) on `oauth_states` is refused
/// (see [`writer_outage`]) until [`writer_back`].
async fn refuse_commits_of(db: &TestStore, raw: &mut Raw, event: &str) {
    raw.execute("CREATE TABLE outage (team_id BIGINT REFERENCES teams (id) DEFERRABLE INITIALLY DEFERRED)").await;
    match db.engine {
        Engine::Sqlite => {
            let trigger = format!(
                "CREATE TRIGGER outage AFTER {event} ON oauth_states BEGIN INSERT INTO outage VALUES (-1); END"
            );
            raw.execute(&trigger).await;
        }
        Engine::Postgres => {
            raw.execute(
                "CREATE FUNCTION outage() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN INSERT INTO outage VALUES (-1); RETURN NEW; END $$",
            )
            .await;
            let trigger =
                format!("CREATE TRIGGER outage AFTER {event} ON oauth_states FOR EACH ROW EXECUTE FUNCTION outage()");
            raw.execute(&trigger).await;
        }
    }
}

/// Ends [`writer_outage`].
pub async fn writer_back(db: &TestStore, raw: &mut Raw) {
    raw.execute(match db.engine {
        Engine::Sqlite => "DROP TRIGGER outage",
        Engine::Postgres => "DROP TRIGGER outage ON oauth_states",
    })
    .await;
}

/// The callback spends its state with one statement that returns the request: when the database
/// refuses that statement's commit, the callback must hear it, not go on with a state that stays
/// usable (SQLite commits a single statement when it is stepped to its end, past the row).
async fn a_callback_whose_use_of_the_state_is_not_committed_is_an_error_and_the_state_stays_unused(db: TestStore) {
    let (_, channel, admin) = setup(&db).await;
    let token = links(&db, channel, admin, 1).await.remove(0);
    let request = Request::new();
    assert!(db.store.begin_flow(&token, &request.oauth(&db), db.now()).await.expect("a press"));
    let mut raw = db.raw().await;
    refuse_commits_of(&db, &mut raw, "UPDATE").await;
    let refused = db.store.consume_oauth_state(&request.state, db.now()).await;
    assert!(refused.is_err(), "a use that was not committed is an error, not a request");
    assert_eq!(raw.number("SELECT COUNT(*) FROM oauth_states WHERE used_at IS NOT NULL").await, 0);
    writer_back(&db, &mut raw).await;
    let consumed = db.store.consume_oauth_state(&request.state, db.now()).await.expect("the writer is back");
    assert!(consumed.is_some(), "the state is still usable once");
    assert!(db.store.consume_oauth_state(&request.state, db.now()).await.expect("read").is_none());
}

async fn a_link_whose_member_may_not_reconnect_starts_nothing_in_a_group_either(db: TestStore) {
    let (acme, channel, admin) = setup(&db).await;
    let editor = relink_core::store::NewMember {
        team_id: acme.id,
        name: relink_core::MemberName::parse("Eve").expect("a name"),
        role: Role::Editor,
        discord_user_id: None,
        telegram_user_id: None,
    };
    let editor = db.store.add_member(&editor, db.now()).await.expect("Eve").id;
    let mut tokens = links(&db, channel, admin, 2).await;
    tokens.insert(1, links(&db, channel, editor, 1).await.remove(0));
    let expired = OpaqueToken::generate();
    let past = db.now() - Span::hours(2);
    db.store.create_link(&expired, channel, Some(admin), past, past + Span::hours(1)).await.expect("link");
    tokens.push(expired);
    let requests: Vec<Request> = (0..4).map(|_| Request::new()).collect();
    let oauth: Vec<NewOAuthState<'_>> = requests.iter().map(|r| r.oauth(&db)).collect();
    let presses: Vec<_> = tokens.iter().zip(&oauth).collect();
    let outcomes: Vec<bool> =
        db.store.begin_flows(&presses, db.now()).await.into_iter().map(|won| won.expect("no database error")).collect();
    assert_eq!(outcomes, [true, false, true, false], "an editor's link and an expired link start nothing");
    for token in [&tokens[1], &tokens[3]] {
        assert_eq!(db.store.link(token).await.expect("read").expect("kept").used_at, None, "left unspent");
    }
    let mut raw = db.raw().await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM oauth_states").await, 2);
}
