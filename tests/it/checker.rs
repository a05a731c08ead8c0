//! The checker against the provider simulator, on SQLite and PostgreSQL: every way the seeds say
//! a channel gets disconnected ends in `needs_reauth` with the right reason, transient trouble
//! never does, and rotating refresh tokens survive two relink processes racing for them.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use relink::app::App;
use relink_core::alerts::{AlertKind, AlertsConfig, Destination, Planner};
use relink_core::checker::budget::{Budgets, Permit};
use relink_core::checker::{CheckNow, Checker, CheckerConfig, Outcome, Progress, RefreshNow, run_checker_observed};
use relink_core::provider::Providers;
use relink_core::store::{CheckResult, NewMember, Store};
use relink_core::time::to_millis;
use relink_core::token::TokenSet;
use relink_core::{Channel, Health, Language, MemberName, Provider, Reason, Role, Scopes, Team, TeamName};
use relink_simulator::switch::{Fail, Faults, Mix, Scope, Switch};
use relink_simulator::{AccountOptions, CLIENT_ID, CLIENT_SECRET, Issued, Running, SimConfig, Simulator};
use secrecy::SecretString;

use crate::support::app::TestApp;
use crate::support::{TestStore, both_engines, endless_answers, new_channel, unchanged_result};

/// A store, a simulator on the same test clock, and relink built over them by the runtime
/// builder ([`TestApp`]): its checker (whose loop is off: tests run passes) and an alerts engine
/// (not running: tests run passes), with a team. The rig reads as the app.
struct Rig {
    app: TestApp,
    team: Team,
}

impl std::ops::Deref for Rig {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

fn providers(sim: &Running) -> Providers {
    Providers::all_at(sim.base_url(), CLIENT_ID, CLIENT_SECRET, 100_000.0).timeout(Duration::from_secs(1))
}

fn config(owner: &str) -> CheckerConfig {
    CheckerConfig { owner: owner.into(), batch: 128, concurrency: 32, ..CheckerConfig::default() }
}

impl Rig {
    async fn new(db: TestStore) -> Self {
        Self::with_alerts(db, AlertsConfig::default()).await
    }

    async fn with_alerts(db: TestStore, alerts: AlertsConfig) -> Self {
        let clock = Arc::new(db.clock.clone());
        let sim_config = SimConfig { timeout_hold: Duration::from_secs(2), ..SimConfig::default() };
        let sim = Simulator::with_config(sim_config, clock).spawn().await.expect("the simulator starts");
        let app = TestApp::builder(db)
            .providers(providers(&sim))
            .simulator(sim)
            .checker(config("checker-a"))
            .tune(|builder| builder.alerts(Some(alerts)))
            .spawn()
            .await;
        let team = app.db.team("Acme").await;
        Self { app, team }
    }

    /// The app's alerts engine (built, not running).
    fn engine(&self) -> &Planner {
        self.app.engine.as_deref().expect("the rig's app has an alerts engine")
    }

    fn sim(&self) -> &Simulator {
        self.sim.simulator()
    }

    /// Registers an account in the simulator and the channel in relink with its tokens.
    async fn connect(&self, provider: Provider, account: &str, options: AccountOptions) -> Channel {
        let issued = self.sim().add_account(provider, account, options).expect("add the account");
        self.add(provider, account, &issued).await
    }

    async fn add(&self, provider: Provider, account: &str, issued: &Issued) -> Channel {
        let channel = new_channel(&self.team, provider, account, None);
        self.db.store.add_channel(&channel, &token_set(issued), self.db.now()).await.expect("add the channel")
    }

    /// Runs passes until nothing is due.
    async fn check(&self) -> Outcome {
        run_until_idle(&self.checker, &self.db).await
    }

    async fn health(&self, channel: &Channel) -> Health {
        self.db.store.channel(channel.id).await.expect("the channel").health
    }

    async fn member(&self, name: &str) -> relink_core::Member {
        let member = NewMember {
            team_id: self.team.id,
            name: MemberName::parse(name).expect("name"),
            role: Role::Admin,
            discord_user_id: None,
            telegram_user_id: None,
        };
        self.db.store.add_member(&member, self.db.now()).await.expect("member")
    }

    /// Connects `account` of the network's user `user`, authorised in relink by `member`.
    async fn connect_by(&self, provider: Provider, account: &str, user: &str, member: &relink_core::Member) -> Channel {
        let issued = self.sim().add_account(provider, account, AccountOptions::user(user)).expect("add the account");
        let channel = new_channel(&self.team, provider, account, Some(member.id));
        self.db.store.add_channel(&channel, &token_set(&issued), self.db.now()).await.expect("add the channel")
    }

    fn advance(&self, by: chrono::Duration) {
        self.db.clock.advance(by);
    }
}

fn token_set(issued: &Issued) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(issued.access_token.clone()),
        refresh_token: issued.refresh_token.clone().map(SecretString::from),
        expires_at: issued.expires_at,
        scopes: Scopes::parse(&issued.scopes.join(" ")).expect("scopes"),
        refresh_expires_at: issued.refresh_expires_at,
    }
}

async fn run_until_idle(checker: &Checker, db: &TestStore) -> Outcome {
    let mut total = Outcome::default();
    for _ in 0..1_000 {
        let outcome = checker.check_due(db.now()).await.expect("a checker pass");
        if outcome.claimed == 0 {
            return total;
        }
        add(&mut total, &outcome);
    }
    panic!("the checker never ran out of due channels");
}

fn add(total: &mut Outcome, outcome: &Outcome) {
    total.claimed += outcome.claimed;
    total.valid += outcome.valid;
    total.needs_reauth += outcome.needs_reauth;
    total.operator += outcome.operator;
    total.transient += outcome.transient;
    total.unknown += outcome.unknown;
    total.renewed += outcome.renewed;
    total.deferred += outcome.deferred;
    total.transitions += outcome.transitions;
}

async fn every_seed_cause_ends_in_needs_reauth_with_its_reason(db: TestStore) {
    let rig = Rig::new(db).await;
    let none = AccountOptions::default;
    let password = rig.connect(Provider::Facebook, "fb-password", none()).await;
    let revoked = rig.connect(Provider::Facebook, "fb-revoked", none()).await;
    let role = rig.connect(Provider::Facebook, "fb-role", none()).await;
    let checkpoint = rig.connect(Provider::InstagramBusiness, "ig-checkpoint", none()).await;
    let linkedin = rig.connect(Provider::Linkedin, "li-expiry", none().without_refresh_token()).await;
    let pinterest = rig.connect(Provider::Pinterest, "pin-quiet", none()).await;
    let x_revoked = rig.connect(Provider::X, "x-revoked", none()).await;
    let youtube = rig.connect(Provider::Youtube, "yt-revoked", none()).await;
    let bot = rig.sim().telegram_bot();
    let kicked = rig.connect(Provider::Telegram, "-1001", none()).await;
    let demoted = rig.connect(Provider::Telegram, "-1002", none()).await;
    for channel in [&kicked, &demoted] {
        let tokens = TokenSet::parse_input(&bot.token, rig.db.now()).expect("bot token");
        rig.db.store.replace_tokens(channel.id, &tokens, rig.db.now()).await.expect("bot token stored");
    }

    let first = rig.check().await;
    assert_eq!(first.needs_reauth, 0, "everything starts healthy: {first:?}");
    for channel in [&password, &revoked, &role, &checkpoint, &linkedin, &x_revoked, &youtube, &kicked, &demoted] {
        assert_eq!(rig.health(channel).await, Health::Healthy, "{}", channel.display_name);
    }

    rig.sim().change_password(Provider::Facebook, "fb-password").expect("switch");
    rig.sim().revoke_app(Provider::Facebook, "fb-revoked").expect("switch");
    rig.sim().drop_admin(Provider::Facebook, "fb-role").expect("switch");
    rig.sim().require_checkpoint(Provider::InstagramBusiness, "ig-checkpoint").expect("switch");
    rig.sim().revoke_app(Provider::X, "x-revoked").expect("switch");
    rig.sim().revoke_app(Provider::Youtube, "yt-revoked").expect("switch");
    rig.sim().kick_bot("-1001").expect("switch");
    rig.sim().apply(Provider::Telegram, "-1002", Switch::DropAdmin).expect("switch");
    // Natural expiry (LinkedIn, 60 days) and Pinterest's 30 days without publishing activity.
    rig.advance(chrono::Duration::days(61));
    rig.check().await;

    let expected = [
        (&password, Reason::PasswordChanged),
        (&revoked, Reason::AppRevoked),
        (&role, Reason::PermissionLost),
        (&checkpoint, Reason::SecurityCheckpoint),
        (&linkedin, Reason::Expired),
        (&pinterest, Reason::Inactivity),
        (&kicked, Reason::AppRevoked),
        (&demoted, Reason::PermissionLost),
    ];
    for (channel, reason) in expected {
        assert_eq!(rig.health(channel).await, Health::NeedsReauth(reason), "{}", channel.display_name);
    }
    for channel in [&x_revoked, &youtube] {
        assert!(
            matches!(rig.health(channel).await, Health::NeedsReauth(_)),
            "{} must need reconnecting",
            channel.display_name
        );
    }
    let history = rig.db.store.history(password.id, 10).await.expect("history");
    assert_eq!(history[0].to, Health::NeedsReauth(Reason::PasswordChanged));
    assert!(history[0].detail.is_some(), "the history says what the network said");
    assert!(rig.db.store.pending_event_count().await.expect("events") >= 10, "every transition is in the outbox");
}

/// Pinterest and LinkedIn refuse a revoked grant and a run-out one in the same words; the
/// refresh token's end, which they announce, tells the team which it was.
async fn a_revoked_grant_is_not_called_expired_when_the_network_words_both_alike(db: TestStore) {
    let rig = Rig::new(db).await;
    let pinterest = rig.connect(Provider::Pinterest, "pin-removed", AccountOptions::default()).await;
    let linkedin = rig.connect(Provider::Linkedin, "li-removed", AccountOptions::default()).await;
    let aged = rig.connect(Provider::Linkedin, "li-a-year-old", AccountOptions::default()).await;
    rig.check().await;
    rig.sim().revoke_app(Provider::Pinterest, "pin-removed").expect("switch");
    rig.sim().revoke_app(Provider::Linkedin, "li-removed").expect("switch");
    rig.advance(chrono::Duration::days(2));
    rig.check().await;
    assert_eq!(rig.health(&pinterest).await, Health::NeedsReauth(Reason::AppRevoked));
    assert_eq!(rig.health(&linkedin).await, Health::NeedsReauth(Reason::AppRevoked));
    assert_eq!(rig.health(&aged).await, Health::Healthy);
    // LinkedIn's refresh token ends 365 days after the grant, however often it is used: the
    // last access token it gave is warned about like one nobody can renew, then it runs out.
    for _ in 0..45 {
        rig.advance(chrono::Duration::days(10));
        rig.check().await;
    }
    assert_eq!(rig.health(&aged).await, Health::NeedsReauth(Reason::Expired));
    let history = rig.db.store.history(aged.id, 10).await.expect("history");
    assert!(history.iter().any(|t| t.to == Health::Expiring), "warned before it ran out: {history:?}");
}

async fn one_password_change_disconnects_every_channel_of_that_person(db: TestStore) {
    let rig = Rig::new(db).await;
    let alice = || AccountOptions::user("alice");
    let page = rig.connect(Provider::Facebook, "alice-page", alice()).await;
    let instagram = rig.connect(Provider::InstagramBusiness, "alice-ig", alice()).await;
    let other = rig.connect(Provider::Facebook, "bob-page", AccountOptions::user("bob")).await;
    rig.check().await;
    rig.sim().change_user_password("alice").expect("password change");
    rig.advance(chrono::Duration::days(2));
    rig.check().await;
    assert_eq!(rig.health(&page).await, Health::NeedsReauth(Reason::PasswordChanged));
    assert_eq!(rig.health(&instagram).await, Health::NeedsReauth(Reason::PasswordChanged));
    assert_eq!(rig.health(&other).await, Health::Healthy);
}

async fn transient_faults_never_disconnect_anyone(db: TestStore) {
    let rig = Rig::new(db).await;
    rig.sim().set_timeout_hold(Duration::from_millis(1_500));
    // 30 % of requests fail with a 5xx or a timeout. (Rate limits pause a whole network, which
    // has its own test.) A refresh that times out on a network whose refresh tokens are single-use
    // (X, Pinterest) may have spent the token, so it is not transient: relink warns and lets the
    // access token run out (a_rotating_refresh_token_whose_answer_was_lost_is_never_sent_again).
    // Those networks get 5xx answers only.
    let fault = |provider: Provider| {
        let rotates = matches!(provider, Provider::X | Provider::Pinterest);
        let mix = Mix { server_error: 5, rate_limited: 0, timeout: u32::from(!rotates) };
        rig.sim()
            .set_faults(Scope::Provider(provider), Faults { rate: 0.3, mix, ..Faults::default() })
            .expect("faults");
    };
    let mut channels = Vec::new();
    let mut connect = async |providers: &[Provider], first: usize, count: usize| {
        for n in first..first + count {
            let provider = providers[n % providers.len()];
            let account = format!("acct-{n}");
            let channel = rig.connect(provider, &account, AccountOptions::default()).await;
            channels.push((channel, provider, account));
        }
    };
    // First the networks whose refresh tokens survive a lost answer, checked through the rig's
    // client, which gives a request up after a second: the simulator's timeouts, and any request
    // a loaded machine makes that slow, are transient there.
    let lasting = [Provider::Facebook, Provider::Linkedin, Provider::Youtube];
    connect(&lasting, 0, 150).await;
    lasting.into_iter().for_each(fault);
    let mut total = Outcome::default();
    while total.claimed - total.deferred < 3_000 {
        rig.advance(chrono::Duration::hours(25));
        let outcome = rig.check().await;
        add(&mut total, &outcome);
    }
    // Then the rotating ones join, checked by a client that waits as long as a loaded machine
    // makes it: their faults are 5xx answers, and an answer lost to the machine's load would be
    // the single-use case above, not a transient fault. (The first networks' timeouts are then
    // the simulator's 504 after its hold: transient all the same.)
    let rotating = [Provider::X, Provider::Pinterest];
    connect(&rotating, 150, 100).await;
    rotating.into_iter().for_each(fault);
    let patient =
        Providers::all_at(rig.sim.base_url(), CLIENT_ID, CLIENT_SECRET, 100_000.0).timeout(Duration::from_secs(120));
    let checker = App::builder(rig.db.store.clone(), patient, Arc::new(rig.db.clock.clone()))
        .web(rig.settings.clone())
        .checker(config("patient"))
        .alerts(None)
        .build()
        .expect("relink builds")
        .checker;
    while total.claimed - total.deferred < 10_000 {
        for (_, provider, account) in channels.iter().filter(|(_, p, _)| *p == Provider::Pinterest) {
            rig.sim().record_activity(*provider, account).expect("activity");
            let channel = &channels.iter().find(|(_, _, a)| a == account).expect("channel").0;
            rig.db.store.record_activity(channel.id, rig.db.now()).await.expect("activity");
        }
        // Everything comes due: backoff and calm schedules alike.
        rig.advance(chrono::Duration::hours(25));
        let outcome = run_until_idle(&checker, &rig.db).await;
        add(&mut total, &outcome);
    }
    assert!(total.transient > 2_000, "the faults were injected: {total:?}");
    assert_eq!(total.needs_reauth, 0, "{total:?}");
    let counts = rig.db.store.health_counts().await.expect("counts");
    assert!(!counts.iter().any(|(health, _)| health == "needs_reauth"), "{counts:?}");
    let mut raw = rig.db.raw().await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM health_history WHERE to_health = 'needs_reauth'").await, 0);
}

async fn a_rate_limit_pauses_the_network_instead_of_hammering_it(db: TestStore) {
    let rig = Rig::new(db).await;
    for n in 0..100 {
        rig.connect(Provider::X, &format!("x-{n}"), AccountOptions::default()).await;
    }
    rig.sim().fail(Scope::Provider(Provider::X), Fail::RateLimited { retry_after: 900 }).expect("faults");
    let outcome = rig.checker.check_due(rig.db.now()).await.expect("a pass");
    let probes = rig.sim().totals().by_provider.get(&Provider::X).map_or(0, |c| c.probe);
    // Only the first wave (the checker's concurrency, 32) is already in flight when the 429s
    // come back; everything after it waits for the network's 15 minutes.
    assert!(probes <= 32, "after the first 429 the rest wait: {probes} probes, {outcome:?}");
    assert_eq!(outcome.needs_reauth, 0);
    assert!(outcome.deferred >= 68, "{outcome:?}");
    let waiting = rig.db.store.due_channels(rig.db.now() + chrono::Duration::minutes(14), 1_000).await.expect("due");
    assert!(waiting.is_empty(), "nothing is retried before the wait is over");
    rig.sim().clear_faults(Scope::Provider(Provider::X)).expect("clear");
    rig.advance(chrono::Duration::minutes(16));
    let outcome = rig.check().await;
    assert_eq!(outcome.valid, 100, "{outcome:?}");
}

async fn operator_problems_are_flagged_without_telling_the_team_to_reconnect(db: TestStore) {
    let rig = Rig::new(db).await;
    let page = rig.connect(Provider::Facebook, "op-page", AccountOptions::default()).await;
    rig.check().await;
    rig.sim().apply(Provider::Facebook, "op-page", Switch::Operator).expect("switch");
    rig.advance(chrono::Duration::days(2));
    let outcome = rig.check().await;
    assert_eq!(outcome.operator, 1, "{outcome:?}");
    assert_eq!(rig.health(&page).await, Health::Healthy);
    let problems = rig.db.store.operator_problems().await.expect("problems");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].0, page.id);
    let mut raw = rig.db.raw().await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM events WHERE kind = 'operator_problem'").await, 1);
}

async fn extend_while_valid_tokens_are_extended_a_day_early(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.connect(Provider::InstagramLogin, "ig-login", AccountOptions::default()).await;
    let before = rig.db.store.tokens(channel.id).await.expect("tokens").expires_at.expect("an expiry");
    // Day 59: inside the extension window, well past the 24-hour minimum age.
    rig.advance(chrono::Duration::days(59));
    let outcome = rig.check().await;
    assert_eq!(outcome.renewed, 1, "{outcome:?}");
    let after = rig.db.store.tokens(channel.id).await.expect("tokens").expires_at.expect("an expiry");
    assert!(after > before + chrono::Duration::days(50), "{before} -> {after}");
    assert_eq!(rig.health(&channel).await, Health::Healthy);
    rig.advance(chrono::Duration::days(30));
    rig.check().await;
    assert_eq!(rig.health(&channel).await, Health::Healthy, "the extended token keeps working");
}

async fn google_tokens_refresh_through_the_grant_and_die_with_it(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.connect(Provider::Youtube, "yt", AccountOptions::default()).await;
    rig.advance(chrono::Duration::hours(3));
    let outcome = rig.check().await;
    assert_eq!(outcome.renewed, 1, "an hour-long access token is renewed through the grant: {outcome:?}");
    assert_eq!(rig.health(&channel).await, Health::Healthy);
    let tokens = rig.db.store.tokens(channel.id).await.expect("tokens");
    assert!(tokens.refresh_token.is_some(), "the refresh token is kept");
    rig.sim().revoke_app(Provider::Youtube, "yt").expect("revoke");
    rig.advance(chrono::Duration::days(1));
    rig.check().await;
    assert!(matches!(rig.health(&channel).await, Health::NeedsReauth(_)));
}

async fn an_admin_can_refresh_access_before_expiry(db: TestStore) {
    let rig = Rig::new(db).await;
    let x = rig.connect(Provider::X, "x-admin", AccountOptions::default()).await;
    let page = rig.connect(Provider::Facebook, "fb-admin", AccountOptions::default()).await;
    let before = rig.db.store.tokens(x.id).await.expect("tokens");
    let result = rig.checker.refresh_now(x.id, rig.db.now()).await.expect("refresh");
    assert_eq!(result, RefreshNow::Renewed(Health::Healthy));
    let after = rig.db.store.tokens(x.id).await.expect("tokens");
    use secrecy::ExposeSecret as _;
    assert_ne!(before.access_token.expose_secret(), after.access_token.expose_secret());
    assert_ne!(
        before.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
        after.refresh_token.as_ref().map(|t| t.expose_secret().to_owned()),
        "X rotates the refresh token and relink keeps the new one"
    );
    assert_eq!(rig.checker.refresh_now(page.id, rig.db.now()).await.expect("refresh"), RefreshNow::NotRenewable);
    // The grant survives: the next refresh with the stored (rotated) token works.
    rig.advance(chrono::Duration::hours(3));
    rig.check().await;
    assert_eq!(rig.health(&x).await, Health::Healthy);
    assert!(!rig.sim().grant_revoked(Provider::X, "x-admin"));
}

async fn a_token_too_young_to_extend_is_not_an_outage(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.connect(Provider::Threads, "threads-young", AccountOptions::default()).await;
    rig.check().await;
    assert_eq!(rig.health(&channel).await, Health::Healthy);
    // An hour old: Threads refuses to extend it yet, and the token goes on working.
    rig.advance(chrono::Duration::hours(1));
    let issued = rig.db.now() - chrono::Duration::hours(1);
    assert_eq!(
        rig.checker.refresh_now(channel.id, rig.db.now()).await.expect("refresh"),
        RefreshNow::NotYet(issued + chrono::Duration::days(1)),
        "Threads extends a token once it is a day old"
    );
    assert_eq!(rig.health(&channel).await, Health::Healthy);
    let next = rig.db.store.channel(channel.id).await.expect("the channel").next_check_at;
    assert!(next - rig.db.now() > chrono::Duration::hours(2), "the calm cadence goes on: {next}");
}

/// Each cause on each network, from the simulator's switch to the alert a team gets in its own
/// language: the stored reason, a word of the remedy that fits the network (a Telegram bot is
/// added back, an X suspension is appealed), no deadline for a disconnect, and no English or raw
/// identifier in an Italian or Japanese alert.
async fn every_cause_on_every_network_tells_each_team_the_right_reason_and_remedy(db: TestStore) {
    let rig = Rig::new(db).await;
    let bot = rig.sim().telegram_bot();
    // (network, account, switch, reason, a few words of the remedy in English, Italian, Japanese)
    let table: [(Provider, &str, Switch, Reason, [&str; 3]); 10] = [
        (
            Provider::Telegram,
            "-1001",
            Switch::KickBot,
            Reason::AppRevoked,
            ["bot back", "bot di relink alla chat", "再度追加"],
        ),
        (
            Provider::Telegram,
            "-1002",
            Switch::DropPostRight,
            Reason::PermissionLost,
            ["bot an administrator again", "di nuovo il bot", "管理者に戻して"],
        ),
        (
            Provider::Telegram,
            "-1003",
            Switch::DeleteChat,
            Reason::Other("chat not found".into()),
            ["remove this channel", "elimina questo canale", "削除してください"],
        ),
        (
            Provider::X,
            "x-suspended",
            Switch::Checkpoint,
            Reason::SecurityCheckpoint,
            ["appeal the suspension", "ricorso", "異議"],
        ),
        (
            Provider::Youtube,
            "yt-signup",
            Switch::Checkpoint,
            Reason::SecurityCheckpoint,
            ["create the channel", "crea il canale", "チャンネルを作成"],
        ),
        (
            Provider::Pinterest,
            "pin-revoked",
            Switch::RevokeApp,
            Reason::AppRevoked,
            ["approve relink again", "autorizza di nuovo relink", "もう一度承認"],
        ),
        (
            Provider::Facebook,
            "fb-password",
            Switch::ChangePassword,
            Reason::PasswordChanged,
            ["new password", "nuova password", "新しいパスワード"],
        ),
        (
            Provider::Facebook,
            "fb-role",
            Switch::DropAdmin,
            Reason::PermissionLost,
            ["admin role back", "ruolo di amministratore", "管理者権限を戻す"],
        ),
        (
            Provider::InstagramBusiness,
            "ig-checkpoint",
            Switch::Checkpoint,
            Reason::SecurityCheckpoint,
            ["security check", "verifica di sicurezza", "セキュリティ確認"],
        ),
        (
            Provider::X,
            "x-revoked",
            Switch::RevokeApp,
            Reason::AppRevoked,
            ["approve relink again", "autorizza di nuovo relink", "もう一度承認"],
        ),
    ];
    let mut teams = Vec::new();
    for (n, language) in [Language::En, Language::It, Language::Ja].into_iter().enumerate() {
        let name = TeamName::parse(&format!("Team {language}")).expect("name");
        let team = rig.db.store.create_team(&name, language, rig.db.now()).await.expect("team");
        let mut channels = Vec::new();
        for (provider, account, ..) in &table {
            // Telegram chats are numbered per team; the other accounts get the language's suffix.
            let account = match provider {
                Provider::Telegram => format!("{account}{n}"),
                _ => format!("{account}-{language}"),
            };
            let issued = rig.sim().add_account(*provider, &account, AccountOptions::default()).expect("account");
            let new = new_channel(&team, *provider, &account, None);
            let tokens = match provider {
                Provider::Telegram => TokenSet::parse_input(&bot.token, rig.db.now()).expect("bot token"),
                // The token input carries no refresh-token end (pasted by an operator, say).
                Provider::Pinterest => TokenSet { refresh_expires_at: None, ..token_set(&issued) },
                _ => token_set(&issued),
            };
            channels.push((rig.db.store.add_channel(&new, &tokens, rig.db.now()).await.expect("channel"), account));
        }
        teams.push((language, team, channels));
    }
    rig.check().await;
    let engine = rig.engine();
    engine.pass(rig.db.now()).await.expect("an engine pass");
    for (_, _, channels) in &teams {
        for ((provider, _, switch, ..), (_, account)) in table.iter().zip(channels) {
            rig.sim().apply(*provider, account, switch.clone()).expect("switch");
        }
    }
    rig.advance(chrono::Duration::days(1));
    rig.check().await;
    rig.advance(chrono::Duration::minutes(10));
    engine.pass(rig.db.now()).await.expect("an engine pass");

    let mut wrong = Vec::new();
    for (index, (language, team, channels)) in teams.iter().enumerate() {
        let alerts = rig.db.store.alerts(Some(team.id), 50).await.expect("alerts");
        for ((provider, _, switch, reason, remedy), (channel, _)) in table.iter().zip(channels) {
            let health = rig.health(channel).await;
            if health != Health::NeedsReauth(reason.clone()) {
                wrong.push(format!("{language} {provider} {switch:?}: health {health}, want {reason}"));
                continue;
            }
            let Some(alert) = alerts
                .iter()
                .find(|a| a.kind == AlertKind::Disconnected && a.channels.iter().any(|c| c.id == channel.id))
            else {
                wrong.push(format!("{language} {provider} {switch:?}: no alert"));
                continue;
            };
            let words = remedy[index];
            if !alert.remedy.contains(words)
                || alert.reason.as_deref() != Some(reason.as_str())
                || alert.deadline.is_some()
            {
                wrong.push(format!("{language} {provider} {switch:?}: want “{words}” in {alert:#?}"));
            }
            if *language != Language::En {
                let said = [&alert.title, &alert.explanation, &alert.remedy]
                    .into_iter()
                    .chain(alert.detail.as_ref())
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join("\n");
                for raw in [" the ", "The ", "network", "reconnect", "chat not found", "_", "(via"] {
                    if said.contains(raw) {
                        wrong.push(format!("{language} {provider} {switch:?}: `{raw}` in {said}"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
}

/// Pinterest ends a token after 30 days without publishing: the alert, `/status` and `/channel`
/// give the same date and the same remedy (publish, or reconnect); a day after that date the
/// channel is disconnected, not "expiring" with a deadline in the past.
async fn a_pinterest_inactivity_deadline_is_one_date_everywhere_and_a_passed_one_disconnects(db: TestStore) {
    use relink_bot::commands::{Caller, ChatKind, Services, handle};
    let rig = Rig::new(db).await;
    let member = NewMember {
        team_id: rig.team.id,
        name: MemberName::parse("Alice").expect("name"),
        role: Role::Admin,
        discord_user_id: None,
        telegram_user_id: Some(relink_core::TelegramUserId(7002)),
    };
    rig.db.store.add_member(&member, rig.db.now()).await.expect("member");
    let pin = rig.connect(Provider::Pinterest, "pin-quiet", AccountOptions::default()).await;
    let services = Services {
        store: rig.db.store.clone(),
        links: relink_core::reconnect::LinkSettings {
            public_url: "https://relink.test/".parse().expect("a URL"),
            ttl: Duration::from_secs(86_400),
        },
        checker: None,
        clock: Arc::new(rig.db.clock.clone()),
    };
    let alice = Caller {
        platform: relink_core::ChatPlatform::Telegram,
        user_id: 7002,
        chat_id: 7002,
        chat_kind: ChatKind::Private,
        is_chat_admin: false,
        language_hint: None,
    };
    let engine = rig.engine();
    rig.check().await;
    engine.pass(rig.db.now()).await.expect("an engine pass");
    // Twenty days without publishing: ten days left.
    rig.advance(chrono::Duration::days(20));
    rig.check().await;
    rig.advance(chrono::Duration::minutes(10));
    engine.pass(rig.db.now()).await.expect("an engine pass");
    assert_eq!(rig.health(&pin).await, Health::Expiring);
    let alerts = rig.db.store.alerts(Some(rig.team.id), 10).await.expect("alerts");
    let warning = alerts.iter().find(|a| a.kind == AlertKind::Expiring).expect("a warning");
    let deadline = warning.deadline.expect("a deadline");
    let date = deadline.format("%Y-%m-%d %H:%M UTC").to_string();
    let status = handle(&services, &alice, "/status").await.plain_text();
    assert!(status.contains(&format!("disconnects {date}")), "want {date} in {status}");
    let channel = handle(&services, &alice, "/channel pin-quiet").await.plain_text();
    assert!(channel.contains(&date), "want {date} in {channel}");
    assert!(channel.contains(&warning.remedy) && channel.contains(&warning.explanation), "{channel}\n{warning:#?}");

    // A day past the deadline: disconnected for inactivity, and the team hears it.
    rig.db.clock.set(deadline + chrono::Duration::days(1));
    let sql = format!("UPDATE channels SET next_check_at = {} WHERE id = {}", to_millis(rig.db.now()), pin.id);
    rig.db.raw().await.execute(&sql).await;
    rig.check().await;
    assert_eq!(rig.health(&pin).await, Health::NeedsReauth(Reason::Inactivity));
    rig.advance(chrono::Duration::minutes(10));
    engine.pass(rig.db.now()).await.expect("an engine pass");
    let alerts = rig.db.store.alerts(Some(rig.team.id), 10).await.expect("alerts");
    assert!(alerts.iter().any(|a| a.kind == AlertKind::Disconnected), "{alerts:#?}");
}

async fn a_member_removed_from_relink_is_not_needed_for_checks(db: TestStore) {
    // Channels keep being checked when the member who authorised them leaves the team.
    let rig = Rig::new(db).await;
    let member = rig
        .db
        .store
        .add_member(
            &NewMember {
                team_id: rig.team.id,
                name: MemberName::parse("Alice").expect("name"),
                role: Role::Admin,
                discord_user_id: None,
                telegram_user_id: None,
            },
            rig.db.now(),
        )
        .await
        .expect("member");
    let issued = rig.sim().add_account(Provider::Facebook, "kept", AccountOptions::default()).expect("account");
    let channel = rig
        .db
        .store
        .add_channel(
            &new_channel(&rig.team, Provider::Facebook, "kept", Some(member.id)),
            &token_set(&issued),
            rig.db.now(),
        )
        .await
        .expect("channel");
    rig.db.store.remove_member(member.id).await.expect("remove");
    rig.check().await;
    assert_eq!(rig.health(&channel).await, Health::Healthy);
}

async fn a_post_scheduled_after_the_last_check_moves_the_next_check_before_it(db: TestStore) {
    // Checked at 17:30; at 18:00 a post is scheduled for 21:00; the token is revoked at 18:30.
    let rig = Rig::new(db).await;
    let page = rig.connect(Provider::Facebook, "evening-page", AccountOptions::default()).await;
    rig.check().await;
    rig.advance(chrono::Duration::minutes(30));
    let due = rig.db.now() + chrono::Duration::hours(3);
    let post = rig.db.store.schedule_post(page.id, due, Some("evening"), rig.db.now()).await.expect("schedule");
    let next = rig.db.store.channel(page.id).await.expect("the channel").next_check_at;
    assert!(next <= due - chrono::Duration::hours(1), "next check {next} is not an hour before the post at {due}");
    rig.db.store.cancel_post(rig.team.id, post.id).await.expect("cancel");
    let after_cancel = rig.db.store.channel(page.id).await.expect("the channel").next_check_at;
    assert_eq!(after_cancel, next, "cancelling never pushes the check later");

    rig.advance(chrono::Duration::minutes(30));
    rig.sim().revoke_app(Provider::Facebook, "evening-page").expect("switch");
    rig.advance(next - rig.db.now());
    rig.check().await;
    assert_eq!(rig.health(&page).await, Health::NeedsReauth(Reason::AppRevoked), "found before the post");
}

async fn a_post_scheduled_while_its_channel_is_checked_keeps_the_earlier_check(db: TestStore) {
    let rig = Rig::new(db).await;
    let page = rig.connect(Provider::Facebook, "busy-page", AccountOptions::default()).await;
    let now = rig.db.now();
    let lease_until = now + chrono::Duration::minutes(2);
    let claims = rig.db.store.claim_due(now, 10, "checker-a", lease_until).await.expect("claim");
    assert_eq!(claims.len(), 1);
    let due = now + chrono::Duration::hours(3);
    rig.db.store.schedule_post(page.id, due, None, now).await.expect("schedule");
    // The check read no post, so it decides on the calm cadence.
    let result = CheckResult {
        from: Health::Healthy,
        to: Health::Healthy,
        ..unchanged_result(&page, now + chrono::Duration::hours(20))
    };
    assert_eq!(rig.db.store.finish_checks("checker-a", &[result], now).await.expect("finish"), 1);
    let next = rig.db.store.channel(page.id).await.expect("the channel").next_check_at;
    assert_eq!(next, due - chrono::Duration::hours(1));
}

/// A healthy channel found healthy, learning nothing new (nearly every check of a pass), is
/// written by a narrow statement that sets only its schedule: the row must agree that nothing
/// else changes. A row that moved on during the check gets the full write, as before; a result
/// whose lease was lost writes nothing either way.
async fn a_quiet_check_writes_its_schedule_and_a_row_that_moved_on_gets_the_full_write(db: TestStore) {
    let rig = Rig::new(db).await;
    let page = rig.connect(Provider::Facebook, "quiet-page", AccountOptions::default()).await;
    let other = rig.connect(Provider::Facebook, "changed-page", AccountOptions::default()).await;
    let outcome = rig.check().await;
    assert_eq!(outcome.valid, 2, "{outcome:?}");
    for channel in [&page, &other] {
        rig.db.store.schedule_check(channel.id, rig.db.now()).await.expect("due");
    }
    let now = rig.db.now();
    let lease_until = now + chrono::Duration::minutes(2);
    let claims = rig.db.store.claim_due(now, 10, "checker-a", lease_until).await.expect("claim");
    assert_eq!(claims.len(), 2);
    // A post scheduled during the check pulls the quiet write's schedule in, as the full one's.
    let due = now + chrono::Duration::hours(3);
    rig.db.store.schedule_post(page.id, due, None, now).await.expect("schedule");
    // Another path found the second channel degraded while its check ran.
    rig.db.store.set_health(other.id, &Health::Degraded, Some("a sign-in"), now).await.expect("set");
    let quiet = |claim: &relink_core::store::Claim| CheckResult {
        learned_expiry: claim.channel.token_expires_at,
        learned_scopes: Some(claim.channel.scopes.clone()),
        learned_grantor: claim.grantor.clone(),
        learned_nothing_at: Some(claim.version),
        ..unchanged_result(&claim.channel, now + chrono::Duration::hours(20))
    };
    let results: Vec<CheckResult> = claims.iter().map(quiet).collect();
    let later = now + chrono::Duration::seconds(30);
    assert_eq!(rig.db.store.finish_checks("checker-a", &results, later).await.expect("finish"), 2);

    let written = rig.db.store.channel(page.id).await.expect("the channel");
    assert_eq!(written.next_check_at, due - chrono::Duration::hours(1), "the post's hour wins");
    assert_eq!(written.last_checked_at, Some(later));
    assert_eq!((written.health, written.token_expires_at), (Health::Healthy, page_after(&claims, page.id)));
    // The full write made the result's health the row's again, as it always did.
    let full = rig.db.store.channel(other.id).await.expect("the channel");
    assert_eq!((full.health, full.last_checked_at), (Health::Healthy, Some(later)));
    assert_eq!(full.next_check_at, now + chrono::Duration::hours(20));
    // Both leases are released: a new lease is taken at once.
    for channel in [&page, &other] {
        let lease = rig.db.store.acquire_lease(channel.id, "checker-b", later, later + chrono::Duration::minutes(1));
        let claim = lease.await.expect("lease").expect("not held by anyone");
        // A result of checker-a now finds its lease lost and writes nothing, quiet or not.
        let stale = CheckResult { learned_nothing_at: Some(claim.version), ..unchanged_result(&claim.channel, later) };
        assert_eq!(rig.db.store.finish_checks("checker-a", &[stale], later).await.expect("finish"), 0);
        let row = rig.db.store.channel(channel.id).await.expect("the channel");
        assert_eq!(row.next_check_at, later + chrono::Duration::minutes(1), "untouched: still checker-b's");
    }
}

/// A group of results written again (the writer retries a group after a database error, which
/// may come after some of it was written: quiet results are written on their own, before the
/// rest) writes and records each result once.
async fn a_group_of_results_written_twice_is_written_and_recorded_once(db: TestStore) {
    let rig = Rig::new(db).await;
    let page = rig.connect(Provider::Facebook, "steady-page", AccountOptions::default()).await;
    let gone = rig.connect(Provider::Facebook, "revoked-page", AccountOptions::default()).await;
    rig.check().await;
    for channel in [&page, &gone] {
        rig.db.store.schedule_check(channel.id, rig.db.now()).await.expect("due");
    }
    let now = rig.db.now();
    let claims = rig.db.store.claim_due(now, 10, "checker", now + chrono::Duration::minutes(2)).await.expect("claim");
    assert_eq!(claims.len(), 2);
    let next = now + chrono::Duration::hours(20);
    let results: Vec<CheckResult> = claims
        .iter()
        .map(|claim| {
            let unchanged = unchanged_result(&claim.channel, next);
            if claim.channel.id == page.id {
                CheckResult {
                    learned_expiry: claim.channel.token_expires_at,
                    learned_scopes: Some(claim.channel.scopes.clone()),
                    learned_grantor: claim.grantor.clone(),
                    learned_nothing_at: Some(claim.version),
                    ..unchanged
                }
            } else {
                CheckResult { to: Health::NeedsReauth(Reason::AppRevoked), ..unchanged }
            }
        })
        .collect();
    let later = now + chrono::Duration::seconds(30);
    assert_eq!(rig.db.store.finish_checks("checker", &results, later).await.expect("finish"), 2);
    let history_before = rig.db.store.history(gone.id, 50).await.expect("history").len();
    let events_before = rig.db.store.channel_events(gone.id).await.expect("events").len();
    assert_eq!(rig.db.store.finish_checks("checker", &results, later).await.expect("again"), 0, "nothing twice");
    assert_eq!(rig.db.store.history(gone.id, 50).await.expect("history").len(), history_before);
    assert_eq!(rig.db.store.channel_events(gone.id).await.expect("events").len(), events_before);
    assert_eq!(rig.health(&gone).await, Health::NeedsReauth(Reason::AppRevoked));
    let steady = rig.db.store.channel(page.id).await.expect("the channel");
    assert_eq!((steady.health, steady.next_check_at, steady.last_checked_at), (Health::Healthy, next, Some(later)));
}

fn page_after(claims: &[relink_core::store::Claim], id: relink_core::ChannelId) -> Option<chrono::DateTime<Utc>> {
    claims.iter().find(|claim| claim.channel.id == id).and_then(|claim| claim.channel.token_expires_at)
}

/// After a renewal the next check used to be planned from the claimed row's expiry (the token
/// just replaced) whenever the probe does not say when the token ends, as X's does not: a channel
/// renewed ten minutes before its token's end was checked again at that end, one probe more per
/// renewal on a network with a tight budget (the cluster test saw every X and Pinterest channel
/// checked twice in a cycle).
async fn a_renewed_token_is_not_checked_again_at_the_end_of_the_token_it_replaced(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.connect(Provider::X, "x-renewed", AccountOptions::default()).await;
    let replaced_end = channel.token_expires_at.expect("an X token ends");
    // X tokens live two hours and are renewed a tenth of that before expiry.
    rig.advance(chrono::Duration::minutes(110));
    let outcome = rig.check().await;
    assert_eq!(outcome.renewed, 1, "{outcome:?}");
    let after = rig.db.store.channel(channel.id).await.expect("the channel");
    let new_end = after.token_expires_at.expect("the new token ends");
    assert!(new_end > replaced_end, "the new token's end is stored: {new_end}");
    assert!(
        after.next_check_at > replaced_end,
        "the next check ({}) is planned from the new token's end ({new_end}), not the replaced one's ({replaced_end})",
        after.next_check_at
    );
}

async fn a_password_change_found_on_one_channel_checks_the_persons_other_channels_at_once(db: TestStore) {
    let rig = Rig::new(db).await;
    let alice = rig.member("Alice").await;
    let bob = rig.member("Bob").await;
    let pages: Vec<Channel> = futures_util::future::join_all(
        ["alice-1", "alice-2", "alice-3"].map(|account| rig.connect_by(Provider::Facebook, account, "alice", &alice)),
    )
    .await;
    let instagram = rig.connect_by(Provider::InstagramBusiness, "alice-ig", "alice", &alice).await;
    let linkedin = rig.connect_by(Provider::Linkedin, "alice-li", "alice", &alice).await;
    let bobs = rig.connect_by(Provider::Facebook, "bob-page", "bob", &bob).await;
    rig.check().await;
    rig.advance(chrono::Duration::hours(1));
    rig.sim().change_user_password("alice").expect("password change");
    // A post makes one page due now; the others are not due for hours.
    let now = rig.db.now();
    rig.db.store.schedule_post(pages[0].id, now + chrono::Duration::minutes(30), None, now).await.expect("post");
    rig.check().await;
    for channel in pages.iter().chain([&instagram]) {
        assert_eq!(rig.health(channel).await, Health::NeedsReauth(Reason::PasswordChanged), "{}", channel.display_name);
    }
    assert_eq!(rig.health(&linkedin).await, Health::Healthy, "another login is not checked early");
    let bobs_next = rig.db.store.channel(bobs.id).await.expect("bob's page").next_check_at;
    assert!(bobs_next > rig.db.now(), "another person's channel is not checked early");
}

async fn removing_the_meta_app_found_on_a_page_checks_the_persons_instagram_at_once(db: TestStore) {
    let rig = Rig::new(db).await;
    let alice = rig.member("Alice").await;
    let page = rig.connect_by(Provider::Facebook, "alice-page", "alice", &alice).await;
    // Instagram via Facebook goes through the same Meta app: removing it ends both.
    let instagram = rig.connect_by(Provider::InstagramBusiness, "alice-ig", "alice", &alice).await;
    rig.check().await;
    rig.advance(chrono::Duration::hours(1));
    rig.sim().revoke_app(Provider::Facebook, "alice-page").expect("the app is removed");
    let now = rig.db.now();
    rig.db.store.schedule_post(page.id, now + chrono::Duration::minutes(30), None, now).await.expect("post");
    rig.check().await;
    assert_eq!(rig.health(&page).await, Health::NeedsReauth(Reason::AppRevoked));
    assert_eq!(rig.health(&instagram).await, Health::NeedsReauth(Reason::AppRevoked), "checked at once");
}

async fn a_password_change_found_on_one_channel_brings_every_sibling_into_one_alert(db: TestStore) {
    let config = AlertsConfig { operators: Destination::TelegramChat(-999), ..AlertsConfig::default() };
    let window = config.grouping_window;
    let rig = Rig::with_alerts(db, config).await;
    let alice = rig.member("Alice").await;
    let mut channels = Vec::new();
    for account in ["alice-1", "alice-2", "alice-3"] {
        channels.push(rig.connect_by(Provider::Facebook, account, "alice", &alice).await);
    }
    rig.check().await;
    let engine = rig.engine();
    engine.pass(rig.db.now()).await.expect("an engine pass");

    rig.advance(chrono::Duration::hours(1));
    rig.sim().change_user_password("alice").expect("password change");
    let found = rig.db.now();
    // The first page's check comes up; the others are not due for hours.
    let sql = format!("UPDATE channels SET next_check_at = {} WHERE id = {}", to_millis(found), channels[0].id);
    assert_eq!(rig.db.raw().await.execute(&sql).await, 1);
    // The checker and the alerts engine run side by side, a minute at a time, for one window.
    while rig.db.now() <= found + window {
        rig.check().await;
        engine.pass(rig.db.now()).await.expect("an engine pass");
        rig.advance(chrono::Duration::minutes(1));
    }
    rig.advance(window * 5);
    engine.pass(rig.db.now()).await.expect("an engine pass");

    let alerts = rig.db.store.alerts(Some(rig.team.id), 10).await.expect("alerts");
    let shape: Vec<(AlertKind, usize)> = alerts.iter().map(|a| (a.kind, a.channels.len())).collect();
    assert_eq!(shape, [(AlertKind::Disconnected, 3)], "{alerts:#?}");
    assert_eq!(alerts[0].authorised_by.as_deref(), Some("Alice"));
}

async fn an_admin_asks_in_chat_and_the_channel_is_checked_now(db: TestStore) {
    use relink_bot::commands::{Caller, ChatKind, handle};
    let rig = Rig::new(db).await;
    let member = NewMember {
        team_id: rig.team.id,
        name: MemberName::parse("Alice").expect("name"),
        role: Role::Admin,
        discord_user_id: None,
        telegram_user_id: Some(relink_core::TelegramUserId(7001)),
    };
    rig.db.store.add_member(&member, rig.db.now()).await.expect("member");
    let page = rig.connect(Provider::Facebook, "chat-page", AccountOptions::default()).await;
    // The command services relink's chat front-ends get, with the app's checker.
    let services = &rig.services;
    let alice = Caller {
        platform: relink_core::ChatPlatform::Telegram,
        user_id: 7001,
        chat_id: 7001,
        chat_kind: ChatKind::Private,
        is_chat_admin: false,
        language_hint: None,
    };
    let fine = handle(services, &alice, "/check chat").await.plain_text();
    assert!(fine.contains("checked with the network just now: connected"), "{fine}");
    assert_eq!(rig.health(&page).await, Health::Healthy);

    rig.sim().revoke_app(Provider::Facebook, "chat-page").expect("switch");
    let dead = handle(services, &alice, "/check chat").await.plain_text();
    assert!(dead.contains("checked with the network just now") && !dead.contains("connected."), "{dead}");
    assert_eq!(rig.health(&page).await, Health::NeedsReauth(Reason::AppRevoked));
}

async fn a_team_that_asks_for_hourly_checks_is_checked_hourly(db: TestStore) {
    let rig = Rig::new(db).await;
    let hourly =
        relink_core::alerts::SettingsOverride { check_every: Some(chrono::Duration::hours(1)), ..Default::default() };
    rig.db.store.set_team_alert_settings(rig.team.id, &hourly).await.expect("settings");
    let page = rig.connect(Provider::Facebook, "hourly-page", AccountOptions::default()).await;
    let other_team = rig.db.team("Calm").await;
    let issued = rig.sim().add_account(Provider::Facebook, "calm-page", AccountOptions::default()).expect("account");
    let calm = new_channel(&other_team, Provider::Facebook, "calm-page", None);
    let calm = rig.db.store.add_channel(&calm, &token_set(&issued), rig.db.now()).await.expect("channel");
    rig.check().await;
    let now = rig.db.now();
    let page_next = rig.db.store.channel(page.id).await.expect("channel").next_check_at;
    let calm_next = rig.db.store.channel(calm.id).await.expect("channel").next_check_at;
    assert!(page_next <= now + chrono::Duration::hours(1), "the team's own cadence: {page_next}");
    assert!(calm_next > now + chrono::Duration::hours(5), "the configured cadence for other teams: {calm_next}");
}

/// How many refresh requests the simulator received for `provider`.
fn refreshes(rig: &Rig, provider: Provider) -> u64 {
    rig.sim().totals().by_provider.get(&provider).map_or(0, |c| c.refresh)
}

/// Holds every answer to the account's requests past the client's one-second timeout: the
/// network does the work (an X refresh rotates the token) but relink never hears of it.
fn lose_answers(rig: &Rig, provider: Provider, account: &str) {
    rig.sim().latency(Scope::Account(provider, account), Duration::from_secs(2)).expect("latency");
}

async fn a_rotating_refresh_token_whose_answer_was_lost_is_never_sent_again(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.connect(Provider::X, "x-lost", AccountOptions::default()).await;
    // X access tokens live two hours and are renewed in the last tenth of that.
    rig.advance(chrono::Duration::minutes(110));
    lose_answers(&rig, Provider::X, "x-lost");
    rig.check().await;
    assert_eq!(refreshes(&rig, Provider::X), 1, "the refresh went out once");
    let mut raw = rig.db.raw().await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM channels WHERE refresh_uncertain_at IS NOT NULL").await, 1);

    // The answers come back, and the pause after a lost answer has passed: the spent refresh
    // token is not sent again, the channel lives on its access token and the team is warned.
    rig.sim().clear_faults(Scope::Account(Provider::X, "x-lost")).expect("clear");
    rig.advance(chrono::Duration::minutes(3));
    rig.check().await;
    assert_eq!(refreshes(&rig, Provider::X), 1, "the possibly spent refresh token was sent again");
    assert_eq!(rig.sim().revocation(Provider::X, "x-lost"), None);
    assert_eq!(rig.health(&channel).await, Health::Expiring);
    let history = rig.db.store.history(channel.id, 10).await.expect("history");
    let warning = history.iter().find(|t| t.to == Health::Expiring).and_then(|t| t.detail.clone()).unwrap_or_default();
    assert!(warning.contains("cannot renew") && warning.contains("expires on"), "{warning}");
    assert_eq!(
        rig.checker.refresh_now(channel.id, rig.db.now()).await.expect("refresh"),
        RefreshNow::NotRenewable,
        "an admin's refresh does not send it either"
    );

    // The access token runs out: the team is told to reconnect, and the grant was never revoked.
    rig.advance(chrono::Duration::days(1));
    let outcome = rig.check().await;
    let history = rig.db.store.history(channel.id, 10).await.expect("history");
    assert_eq!(rig.health(&channel).await, Health::NeedsReauth(Reason::Expired), "{outcome:?} {history:?}");
    let ended = history.first().and_then(|t| t.detail.clone()).unwrap_or_default();
    assert!(ended.contains("cannot renew"), "{ended}");
    assert_eq!(refreshes(&rig, Provider::X), 1);
    assert_eq!(rig.sim().revocation(Provider::X, "x-lost"), None);
}

async fn a_reusable_refresh_token_whose_answer_was_lost_is_retried_after_the_pause(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.connect(Provider::Youtube, "yt-lost", AccountOptions::default()).await;
    // Google access tokens live an hour and are renewed five minutes before.
    rig.advance(chrono::Duration::minutes(57));
    lose_answers(&rig, Provider::Youtube, "yt-lost");
    rig.check().await;
    assert_eq!(refreshes(&rig, Provider::Youtube), 1);
    rig.sim().clear_faults(Scope::Account(Provider::Youtube, "yt-lost")).expect("clear");
    rig.advance(chrono::Duration::minutes(3));
    let outcome = rig.check().await;
    assert_eq!(outcome.renewed, 1, "{outcome:?}");
    assert_eq!(refreshes(&rig, Provider::Youtube), 2);
    assert_eq!(rig.health(&channel).await, Health::Healthy);
    let mut raw = rig.db.raw().await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM channels WHERE refresh_uncertain_at IS NOT NULL").await, 0);
}

both_engines!(
    a_quiet_check_writes_its_schedule_and_a_row_that_moved_on_gets_the_full_write,
    a_group_of_results_written_twice_is_written_and_recorded_once,
    every_seed_cause_ends_in_needs_reauth_with_its_reason,
    a_renewed_token_is_not_checked_again_at_the_end_of_the_token_it_replaced,
    a_token_too_young_to_extend_is_not_an_outage,
    every_cause_on_every_network_tells_each_team_the_right_reason_and_remedy,
    a_pinterest_inactivity_deadline_is_one_date_everywhere_and_a_passed_one_disconnects,
    a_team_that_asks_for_hourly_checks_is_checked_hourly,
    an_admin_asks_in_chat_and_the_channel_is_checked_now,
    a_password_change_found_on_one_channel_brings_every_sibling_into_one_alert,
    a_post_scheduled_after_the_last_check_moves_the_next_check_before_it,
    a_post_scheduled_while_its_channel_is_checked_keeps_the_earlier_check,
    a_password_change_found_on_one_channel_checks_the_persons_other_channels_at_once,
    removing_the_meta_app_found_on_a_page_checks_the_persons_instagram_at_once,
    one_password_change_disconnects_every_channel_of_that_person,
    a_revoked_grant_is_not_called_expired_when_the_network_words_both_alike,
    transient_faults_never_disconnect_anyone,
    a_rate_limit_pauses_the_network_instead_of_hammering_it,
    operator_problems_are_flagged_without_telling_the_team_to_reconnect,
    extend_while_valid_tokens_are_extended_a_day_early,
    google_tokens_refresh_through_the_grant_and_die_with_it,
    an_admin_can_refresh_access_before_expiry,
    a_member_removed_from_relink_is_not_needed_for_checks,
    the_running_checker_checks_every_due_channel_once,
    a_stopped_checker_finishes_what_it_claimed_and_holds_no_lease,
    a_claim_that_waited_past_half_its_lease_is_left_for_a_fresh_claim,
    a_channel_is_never_checked_twice_at_once_by_one_process,
    a_retry_after_of_a_million_years_does_not_stop_the_checker,
    a_network_answering_without_end_is_a_transient_fault_and_the_checker_goes_on,
    a_token_that_works_for_another_account_is_an_account_mismatch_never_healthy,
    a_rotating_refresh_token_whose_answer_was_lost_is_never_sent_again,
    a_reusable_refresh_token_whose_answer_was_lost_is_retried_after_the_pause,
    two_processes_together_never_send_a_network_more_than_its_budget,
    a_check_of_two_requests_takes_two_slots_of_the_networks_budget,
    a_retry_after_seen_by_one_process_pauses_the_other,
    a_process_that_cannot_reach_the_database_sends_nothing_beyond_the_budget_it_holds,
);

/// A channel whose stored token works, but for another account than the channel's (how a team
/// would hold another's channel): every network whose probe names the account says so, and the
/// check makes it `account_mismatch`, an incident like any disconnection. Instagram via Facebook
/// and Telegram probe the stored account itself, so a token without access to it is refused
/// by the network instead.
async fn a_token_that_works_for_another_account_is_an_account_mismatch_never_healthy(db: TestStore) {
    let rig = Rig::new(db).await;
    let naming = [
        Provider::Facebook,
        Provider::InstagramLogin,
        Provider::Threads,
        Provider::Linkedin,
        Provider::X,
        Provider::Pinterest,
        Provider::Youtube,
        Provider::GoogleBusiness,
        Provider::GenericOauth2,
    ];
    let mut channels = Vec::new();
    for provider in naming {
        let issued = rig.sim().add_account(provider, &format!("{provider}-other"), AccountOptions::default());
        channels.push(rig.add(provider, &format!("{provider}-claimed"), &issued.expect("an account")).await);
    }
    let honest = rig.connect(Provider::X, "x-honest", AccountOptions::default()).await;
    rig.check().await;
    for channel in &channels {
        assert_eq!(rig.health(channel).await, Health::NeedsReauth(Reason::AccountMismatch), "{}", channel.provider);
        let events = rig.db.store.channel_events(channel.id).await.expect("events");
        assert!(!events.is_empty(), "{}: the change is in the outbox for the alerts", channel.provider);
    }
    assert_eq!(rig.health(&honest).await, Health::Healthy);
}

/// The checker of another relink built by the runtime builder over `store`, the rig's simulator
/// and clock, with its own settings.
fn another_relink(rig: &Rig, store: Store, config: CheckerConfig) -> Arc<Checker> {
    App::builder(store, providers(&rig.sim), Arc::new(rig.db.clock.clone()))
        .web(rig.settings.clone())
        .checker(config)
        .alerts(None)
        .build()
        .expect("relink builds")
        .checker
}

/// Runs the checker's pipeline until `stop` says so (given the progress so far: channels claimed
/// and checks written); returns those totals.
async fn run_pipeline(rig: &Rig, config: CheckerConfig, stop: impl Fn(usize, usize) -> bool + Sync) -> (usize, usize) {
    let checker = another_relink(rig, rig.db.store.clone(), config);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (mut claimed, mut written) = (0, 0);
    let observe = |progress| {
        match progress {
            Progress::Claimed { channels, .. } => claimed += channels,
            Progress::Written(outcome) => written += outcome.claimed,
        }
        if stop(claimed, written) {
            shutdown.cancel();
        }
    };
    let run = run_checker_observed(checker, rig.db.clock.clone(), shutdown.clone(), observe);
    tokio::time::timeout(Duration::from_secs(60), run).await.expect("the checker stops when told to");
    (claimed, written)
}

async fn a_retry_after_of_a_million_years_does_not_stop_the_checker(db: TestStore) {
    let rig = Rig::new(db).await;
    let asks = rig.connect(Provider::Linkedin, "li-away", AccountOptions::default()).await;
    for n in 0..20 {
        rig.connect(Provider::Facebook, &format!("fb-{n}"), AccountOptions::default()).await;
    }
    let forever = Fail::Unavailable { retry_after: 100_000_000_000_000 };
    rig.sim().fail(Scope::Account(Provider::Linkedin, "li-away"), forever).expect("faults");
    // The running pipeline checks and writes every channel, the one that asked too.
    let (claimed, written) = run_pipeline(&rig, config("runner"), |_, written| written >= 21).await;
    assert_eq!((claimed, written), (21, 21));
    let channels = rig.db.store.channels(Some(rig.team.id)).await.expect("channels");
    assert_eq!(channels.iter().filter(|c| c.health == Health::Healthy).count(), 20, "{channels:?}");
    let away = rig.db.store.channel(asks.id).await.expect("the channel");
    assert_eq!(away.health, Health::Degraded);
    let a_day = rig.db.now() + chrono::Duration::days(1);
    assert!(away.next_check_at <= a_day, "asked again within a day, not in 3 million years: {}", away.next_check_at);
    // A day later the network answers again and the channel is checked and healthy.
    rig.sim().clear_faults(Scope::Account(Provider::Linkedin, "li-away")).expect("clear");
    rig.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    rig.check().await;
    assert_eq!(rig.health(&asks).await, Health::Healthy);
}

/// A network behind a broken proxy (or a hostile one) that answers every request with a body
/// that never ends: each check reads at most `MAX_ANSWER_BYTES` of it, calls it a transient fault
/// (never a reason to reconnect), and the checker goes on; once the network answers properly
/// again the channels are healthy.
async fn a_network_answering_without_end_is_a_transient_fault_and_the_checker_goes_on(db: TestStore) {
    let rig = Rig::new(db).await;
    let networks = [
        Provider::Facebook,
        Provider::InstagramBusiness,
        Provider::Linkedin,
        Provider::Youtube,
        Provider::GoogleBusiness,
        Provider::X,
        Provider::Pinterest,
        Provider::Threads,
    ];
    let mut channels = Vec::new();
    for (n, provider) in networks.into_iter().enumerate() {
        channels.push(rig.connect(provider, &format!("acct-{n}"), AccountOptions::default()).await);
    }
    let (base, served) = endless_answers().await;
    let endless = Providers::all_at(&base, CLIENT_ID, CLIENT_SECRET, 100_000.0).timeout(Duration::from_secs(30));
    let checker = App::builder(rig.db.store.clone(), endless, Arc::new(rig.db.clock.clone()))
        .web(rig.settings.clone())
        .checker(config("behind-a-broken-proxy"))
        .alerts(None)
        .build()
        .expect("relink builds")
        .checker;
    let outcome = checker.check_due(rig.db.now()).await.expect("the pass ends");
    assert_eq!((outcome.claimed, outcome.transient), (networks.len(), networks.len()), "{outcome:?}");
    let asked = checker.check_now(channels[0].id, rig.db.now()).await.expect("a check now");
    drop(served);
    let CheckNow::Checked { health, detail: Some(detail) } = asked else { panic!("said why: {asked:?}") };
    assert!(detail.contains("larger than 1024 KiB") && health != Health::Healthy, "{health:?}: {detail}");
    for channel in &channels {
        let health = rig.health(channel).await;
        assert!(!matches!(health, Health::NeedsReauth(_)), "{}: {health:?}", channel.provider);
    }
    let mut raw = rig.db.raw().await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM health_history WHERE to_health = 'needs_reauth'").await, 0);
    rig.advance(chrono::Duration::days(1));
    rig.check().await;
    for channel in &channels {
        assert_eq!(rig.health(channel).await, Health::Healthy, "{}", channel.provider);
    }
}

async fn leases_held(rig: &Rig) -> i64 {
    rig.db.raw().await.number("SELECT COUNT(*) FROM channels WHERE lease_owner IS NOT NULL").await
}

async fn the_running_checker_checks_every_due_channel_once(db: TestStore) {
    let rig = Rig::new(db).await;
    for n in 0..300 {
        rig.connect(Provider::Facebook, &format!("fb-{n}"), AccountOptions::default()).await;
    }
    // Three batches of 128 and more checks at once than a batch: stopped once all are written.
    let (claimed, written) = run_pipeline(&rig, config("runner"), |_, written| written >= 300).await;
    assert_eq!((claimed, written), (300, 300), "each channel is claimed and written once");
    let channels = rig.db.store.channels(Some(rig.team.id)).await.expect("channels");
    assert!(channels.iter().all(|c| c.health == Health::Healthy && c.last_checked_at == Some(rig.db.now())));
    assert!(rig.db.store.next_due_at().await.expect("next due").is_some_and(|at| at > rig.db.now()));
    assert_eq!(leases_held(&rig).await, 0);
}

async fn a_stopped_checker_finishes_what_it_claimed_and_holds_no_lease(db: TestStore) {
    let rig = Rig::new(db).await;
    for n in 0..300 {
        rig.connect(Provider::Facebook, &format!("fb-{n}"), AccountOptions::default()).await;
    }
    // Told to stop as soon as its first batch is claimed: that batch is still checked and written.
    let (claimed, written) = run_pipeline(&rig, config("runner"), |claimed, _| claimed > 0).await;
    assert_eq!((claimed, written), (128, 128));
    assert_eq!(leases_held(&rig).await, 0, "nothing is left claimed");
    let channels = rig.db.store.channels(Some(rig.team.id)).await.expect("channels");
    assert_eq!(channels.iter().filter(|c| c.last_checked_at.is_some()).count(), 128);
    assert_eq!(channels.iter().filter(|c| c.health == Health::Unknown).count(), 172, "the rest wait for the next run");
}

async fn a_claim_that_waited_past_half_its_lease_is_left_for_a_fresh_claim(db: TestStore) {
    let rig = Rig::new(db).await;
    for n in 0..200 {
        rig.connect(Provider::X, &format!("x-{n}"), AccountOptions::default()).await;
    }
    // One check at a time, and the clock jumps 61 s (past half the 120 s lease) after the first
    // write, as when a network's rate budget holds the queue back.
    let slow = CheckerConfig { concurrency: 1, ..config("runner") };
    let (claimed, written) = run_pipeline(&rig, slow, |_, written| {
        if written > 0 {
            rig.advance(chrono::Duration::seconds(61));
        }
        written > 0
    })
    .await;
    assert!(written >= 1 && written < claimed, "written {written} of {claimed}");
    let channels = rig.db.store.channels(Some(rig.team.id)).await.expect("channels");
    assert_eq!(channels.iter().filter(|c| c.last_checked_at.is_some()).count(), written, "the rest were not checked");
    assert_eq!(leases_held(&rig).await as usize, claimed - written, "their leases run out by themselves");
    // Once the leases end, the channels are due and claimed afresh.
    rig.advance(chrono::Duration::seconds(60));
    let outcome = rig.check().await;
    assert_eq!(outcome.claimed, 200 - written);
    assert_eq!(leases_held(&rig).await, 0);
}

/// A check that outlives its lease (here the clock jumps past it while the X refresh is in
/// flight) lets its channel come due again; the same process must not start a second check of it
/// beside the first, which would probe and write on top of the renewal.
async fn a_channel_is_never_checked_twice_at_once_by_one_process(db: TestStore) {
    let rig = Rig::new(db).await;
    rig.connect(Provider::X, "x-slow", AccountOptions::default()).await;
    // X tokens live two hours and are renewed a tenth of that before expiry.
    rig.advance(chrono::Duration::minutes(110));
    rig.sim().latency(Scope::Provider(Provider::X), Duration::from_millis(400)).expect("latency");
    let quick = CheckerConfig { idle: Duration::from_millis(20), ..config("runner") };
    let clock = rig.db.clock.clone();
    let jumped = std::sync::atomic::AtomicBool::new(false);
    let (claimed, written) = run_pipeline(&rig, quick, |claimed, written| {
        if claimed >= 1 && !jumped.swap(true, std::sync::atomic::Ordering::SeqCst) {
            // While the refresh is in flight, the clock passes the 120 s lease.
            let clock = clock.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(150)).await;
                clock.advance(chrono::Duration::minutes(3));
            });
        }
        claimed >= 2 && written >= 1
    })
    .await;
    assert!(claimed >= 2, "the channel came due again while it was checked: {claimed} claims");
    assert_eq!(written, 1, "one check of the channel, not two");
    let counts = rig.sim().counts(Provider::X, "x-slow").expect("counts");
    assert_eq!((counts.refresh, counts.probe), (1, 1), "one renewal and one probe");
    assert!(!rig.sim().grant_revoked(Provider::X, "x-slow"), "the grant survived");
}

/// Two relink processes (two pools, two checkers) on one PostgreSQL database share channels
/// with rotating refresh tokens: each token is refreshed exactly once per expiry window and no
/// grant is revoked by a reused refresh token.
#[tokio::test]
async fn two_checkers_on_postgres_refresh_each_rotating_token_once_per_window() {
    let db = TestStore::open(relink_core::store::Engine::Postgres).await;
    let rig = Rig::new(db).await;
    let accounts: Vec<String> = (0..60).map(|n| format!("x-race-{n}")).collect();
    for account in &accounts {
        rig.connect(Provider::X, account, AccountOptions::default()).await;
    }
    let second_db = rig.db.connect_again().await;
    let second_store = Store::open(second_db, rig.db.keyring.clone(), rig.db.now()).await.expect("second store");
    // A second relink process, built the same way, racing the first for the same tokens.
    let second = another_relink(&rig, second_store, config("checker-b"));

    let windows = 4;
    for _ in 0..windows {
        // X tokens live two hours and are renewed a tenth of that before expiry.
        rig.advance(chrono::Duration::minutes(110));
        let now = rig.db.now();
        let (a, b) = tokio::join!(drain(&rig.checker, now), drain(&second, now));
        assert!(a + b >= accounts.len(), "every channel was checked in this window ({a} + {b})");
    }
    for account in &accounts {
        let counts = rig.sim().counts(Provider::X, account).expect("counts");
        assert_eq!(counts.refresh, windows, "{account}: one refresh per expiry window");
        assert!(!rig.sim().grant_revoked(Provider::X, account), "{account}: the grant survived");
    }
    let health = rig.db.store.health_counts().await.expect("counts");
    assert_eq!(health, vec![("healthy".to_owned(), accounts.len() as u64)]);
}

/// Runs passes at `now` until nothing is due; returns how many channels this checker claimed.
async fn drain(checker: &Checker, now: chrono::DateTime<Utc>) -> usize {
    let mut claimed = 0;
    loop {
        let outcome = checker.check_due(now).await.expect("a pass");
        if outcome.claimed == 0 {
            return claimed;
        }
        claimed += outcome.claimed;
    }
}

/// Another relink process beside the rig's: its own pool on PostgreSQL; on SQLite (one process
/// only) the same store, with a checker of its own.
async fn second_store(rig: &Rig) -> Store {
    match rig.db.engine {
        relink_core::store::Engine::Postgres => {
            let db = rig.db.connect_again().await;
            Store::open(db, rig.db.keyring.clone(), rig.db.now()).await.expect("second store")
        }
        relink_core::store::Engine::Sqlite => rig.db.store.clone(),
    }
}

/// A checker over `store` whose budget for `network` is `rate` requests a second, claiming
/// `batch` channels a pass.
fn budgeted_relink(rig: &Rig, store: Store, owner: &str, network: Provider, rate: f64, batch: u32) -> Arc<Checker> {
    let providers = providers(&rig.sim).with_rate(network, rate);
    let config = CheckerConfig { batch, ..config(owner) };
    App::builder(store, providers, Arc::new(rig.db.clock.clone()))
        .web(rig.settings.clone())
        .checker(config)
        .alerts(None)
        .build()
        .expect("relink builds")
        .checker
}

/// Asserts that requests which arrived at a network (`arrivals`, earliest first) kept to one
/// schedule of `rate` slots a second starting at `start`, each probe's `together` requests
/// leaving at the first of its slots: however many processes sent them, the k-th request (from
/// 0) came no earlier than slot `k + 1 - together`. A loaded machine only delays a request, never
/// brings it forward, so this holds however busy the machine is; counting requests per second at
/// the network did not, since a stall of the test process (the simulator is in it) lets requests
/// sent on time pile up and arrive together. Two processes each keeping the rate alone arrive
/// twice as fast and fail it.
fn assert_kept_to_one_schedule(arrivals: &[std::time::Instant], start: std::time::Instant, rate: u32, together: u32) {
    let interval = Duration::from_secs(1) / rate;
    // Slots are on the system clock and a request may go up to a millisecond early (the budget's
    // timer grain); the rest is room for the clocks' drift against each other.
    let early = Duration::from_millis(5);
    for (k, at) in arrivals.iter().enumerate() {
        let slot = u32::try_from(k).expect("a few requests").saturating_add(1).saturating_sub(together);
        let earliest = start + interval * slot;
        assert!(
            *at + early >= earliest,
            "request {k} arrived {:?} after the start, before its slot at {:?}: more than {rate} a second",
            at.duration_since(start),
            earliest.duration_since(start)
        );
    }
}

/// Two relink processes checking one network with a budget of 10 requests a second send it,
/// together, no more than that: no request before its slot of one shared schedule.
async fn two_processes_together_never_send_a_network_more_than_its_budget(db: TestStore) {
    let rig = Rig::new(db).await;
    for n in 0..30 {
        rig.connect(Provider::X, &format!("x-{n}"), AccountOptions::default()).await;
    }
    let first = budgeted_relink(&rig, rig.db.store.clone(), "checker-a", Provider::X, 10.0, 8);
    let second = budgeted_relink(&rig, second_store(&rig).await, "checker-b", Provider::X, 10.0, 8);
    let start = std::time::Instant::now();
    rig.sim().record_arrivals();
    let now = rig.db.now();
    let (a, b) = tokio::join!(drain(&first, now), drain(&second, now));
    assert_eq!(a + b, 30, "every channel is checked once");
    assert!(a > 0 && b > 0, "both processes checked: {a} and {b}");
    assert_kept_to_one_schedule(&rig.sim().arrivals(Provider::X), start, 10, 1);
    let health = rig.db.store.health_counts().await.expect("counts");
    assert_eq!(health, vec![("healthy".to_owned(), 30)]);
}

/// A check of Instagram via Facebook sends two requests (the account through the Page, then
/// `debug_token` for whose grant it is), and so does Telegram's (the chat, then the bot's
/// membership): each request takes its own slot, so two processes within a budget of 10 a second
/// send no more than that, not twice as many (a probe's two requests leave together at the first
/// of their two slots).
async fn a_check_of_two_requests_takes_two_slots_of_the_networks_budget(db: TestStore) {
    let rig = Rig::new(db).await;
    for (network, account) in [(Provider::InstagramBusiness, "igb-"), (Provider::Telegram, "-1009000")] {
        for n in 0..12 {
            rig.connect(network, &format!("{account}{n}"), AccountOptions::default()).await;
        }
        let first = budgeted_relink(&rig, rig.db.store.clone(), "checker-a", network, 10.0, 4);
        let second = budgeted_relink(&rig, second_store(&rig).await, "checker-b", network, 10.0, 4);
        let start = std::time::Instant::now();
        rig.sim().record_arrivals();
        let now = rig.db.now();
        let (a, b) = tokio::join!(drain(&first, now), drain(&second, now));
        assert_eq!(a + b, 12, "{network}: every channel is checked once");
        assert_eq!(rig.sim().totals().by_provider[&network].probe, 24, "{network}: two requests a check");
        assert_kept_to_one_schedule(&rig.sim().arrivals(network), start, 10, 2);
    }
    let health = rig.db.store.health_counts().await.expect("counts");
    assert_eq!(health, vec![("healthy".to_owned(), 24)]);
}

/// A network's `Retry-After` seen by one process stops the other too: it starts no check of that
/// network before the wait is over, and checks again after it.
async fn a_retry_after_seen_by_one_process_pauses_the_other(db: TestStore) {
    let rig = Rig::new(db).await;
    for n in 0..10 {
        rig.connect(Provider::X, &format!("x-first-{n}"), AccountOptions::default()).await;
    }
    let first = budgeted_relink(&rig, rig.db.store.clone(), "checker-a", Provider::X, 1_000.0, 128);
    let second = budgeted_relink(&rig, second_store(&rig).await, "checker-b", Provider::X, 1_000.0, 128);
    rig.sim().fail(Scope::Provider(Provider::X), Fail::RateLimited { retry_after: 900 }).expect("faults");
    let outcome = first.check_due(rig.db.now()).await.expect("a pass");
    assert_eq!(outcome.transient + outcome.deferred, 10, "{outcome:?}");
    rig.sim().clear_faults(Scope::Provider(Provider::X)).expect("clear");
    // New channels of the network come due; the other process is the one that claims them.
    let mut later = Vec::new();
    for n in 0..10 {
        later.push(rig.connect(Provider::X, &format!("x-later-{n}"), AccountOptions::default()).await);
    }
    let probes = |rig: &Rig| rig.sim().totals().by_provider.get(&Provider::X).map_or(0, |c| c.probe);
    let before = probes(&rig);
    let outcome = second.check_due(rig.db.now()).await.expect("a pass");
    assert_eq!(outcome.deferred, 10, "the other process waits too: {outcome:?}");
    assert_eq!(probes(&rig), before, "nothing was sent during the network's wait");
    let waiting = rig.db.store.due_channels(rig.db.now() + chrono::Duration::minutes(14), 1_000).await.expect("due");
    assert!(waiting.is_empty(), "nothing is retried before the wait is over");
    // After the 15 minutes, the other process checks them.
    rig.advance(chrono::Duration::minutes(16));
    let outcome = second.check_due(rig.db.now()).await.expect("a pass");
    assert_eq!(outcome.valid, 20, "{outcome:?}");
    assert_eq!(rig.health(&later[0]).await, Health::Healthy);
}

/// A process whose database stops answering spends the block of its network's budget it holds,
/// then waits for the database (its patience) and gives the request up: it never sends without
/// a slot of the shared budget.
async fn a_process_that_cannot_reach_the_database_sends_nothing_beyond_the_budget_it_holds(db: TestStore) {
    let nowhere = url::Url::parse("http://127.0.0.1:9/").expect("a loopback URL");
    // Ten requests a second: a block of a tenth of a second holds one request.
    let providers = Providers::all_at(&nowhere, CLIENT_ID, CLIENT_SECRET, 10.0);
    let budgets = Budgets::new(db.store.clone(), &providers, Duration::from_millis(300));
    let now = db.now();
    let first = budgets.take(Provider::X, now, true).await.expect("a slot while the database answers");
    assert_eq!(first, Permit::Go);
    db.store.db().close().await;
    let started = std::time::Instant::now();
    let second = budgets.take(Provider::X, now, true).await;
    assert!(second.is_err(), "no slot without the database: {second:?}");
    assert!(started.elapsed() >= Duration::from_millis(300), "it waited for the database first");
}
