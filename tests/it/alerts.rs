//! Alerts on SQLite and PostgreSQL: health transitions written by the store become incidents,
//! alerts and deliveries; a recording notifier per chat platform stands in for Discord and
//! Telegram; the test clock jumps from one due time to the next, so sixty days take no time.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use relink_core::alerts::{
    AlertKind, AlertsConfig, Deliverer, DeliveryConfig, Destination, IncidentError, NoLinks, Notifier, Notifiers,
    NotifyError, Outgoing, Planner, Problem, SentRef, Severity, acknowledge, snooze,
};
use relink_core::opaque::OpaqueToken;
use relink_core::provider::Providers;
use relink_core::store::{CheckResult, NewMember, Store};
use relink_core::{
    Channel, ChatPlatform, DiscordUserId, DisplayName, ExternalAccountId, Health, Language, Member, MemberName,
    NewChannel, Provider, Reason, Role, Team, TeamName, TelegramUserId,
};

use relink_web::WebSettings;

use crate::support::{TestStore, both_engines, tokens, unchanged_result};

both_engines!(
    a_channels_sixty_day_life_gives_the_expected_alerts_in_each_language,
    an_alert_survives_a_crash_between_the_transition_and_its_delivery,
    transient_failures_are_retried_and_permanent_ones_dead_lettered_until_retried,
    a_delivery_another_process_makes_is_never_counted_as_a_failed_attempt,
    a_snooze_silences_reminders_but_not_a_new_reason_or_a_post_due_within_a_day,
    editors_and_viewers_cannot_snooze_or_acknowledge,
    acknowledging_stops_the_escalation_and_silence_escalates,
    channels_that_fail_for_one_shared_cause_share_one_alert,
    operator_problems_reach_operators_and_never_teams,
    a_channel_degraded_for_too_long_is_reported_once_and_resolved,
    private_alerts_carry_a_working_link_per_channel_and_shared_chats_none,
    a_stored_escalation_of_a_hundred_million_days_does_not_stop_the_alerts_engine,
    a_transition_a_push_signal_caused_is_alerted_within_seconds_not_after_the_grouping_window,
    an_unreadable_outbox_event_does_not_stop_the_alerts_engine,
    one_password_change_reaches_each_person_as_one_message_whatever_the_urgency,
    reminders_come_as_one_digest_a_day_per_person_listing_every_open_problem,
    a_channel_turning_urgent_is_news_once_and_only_to_people_not_told,
    a_digest_planned_before_a_restart_is_sent_once,
    quiet_hours_hold_what_is_not_urgent_until_the_morning_digest,
    the_digest_keeps_the_teams_morning_across_a_daylight_saving_change,
    a_team_whose_problems_span_several_batches_still_gets_one_digest_each,
    unreadable_stored_settings_or_digests_do_not_stop_the_alerts_engine,
);

const ALICE_DISCORD: i64 = 1001;
const BOB_TELEGRAM: i64 = 2002;
const EVE_DISCORD: i64 = 3003;
const TEAM_CHAT: i64 = -100_500;
const OPERATORS: Destination = Destination::TelegramChat(-999);

const ALICE: Destination = Destination::DiscordUser(ALICE_DISCORD);
const BOB: Destination = Destination::TelegramUser(BOB_TELEGRAM);
const CHAT: Destination = Destination::TelegramChat(TEAM_CHAT);

/// An alert of `kind` to each admin and the team's chat, as `Rig::sent_sorted` lists it.
fn everyone(kind: AlertKind) -> Vec<(Destination, AlertKind)> {
    vec![(ALICE, kind), (BOB, kind), (CHAT, kind)]
}

/// What a recording notifier saw.
#[derive(Debug, Default)]
struct Log {
    sent: Vec<Sent>,
    edits: Vec<(Destination, String)>,
    /// Failures to answer, per destination, before succeeding.
    failures: HashMap<Destination, VecDeque<NotifyError>>,
    /// Never answer (a process that dies in the middle of a send).
    hang: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Sent {
    to: Destination,
    kind: AlertKind,
    severity: Severity,
    title: String,
    channels: usize,
    key: String,
    /// The message as plain text, with this reader's links.
    text: String,
}

/// A notifier that records what it is asked to send, for one platform.
#[derive(Debug, Clone)]
struct Recorder {
    platform: ChatPlatform,
    log: Arc<Mutex<Log>>,
    called: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl Notifier for Recorder {
    fn platform(&self) -> ChatPlatform {
        self.platform
    }

    async fn send(&self, to: Destination, message: &Outgoing<'_>) -> Result<SentRef, NotifyError> {
        let hang = {
            let mut log = self.log.lock().expect("log");
            if let Some(error) = log.failures.get_mut(&to).and_then(VecDeque::pop_front) {
                return Err(error);
            }
            log.hang
        };
        if hang {
            self.called.notify_one();
            std::future::pending::<()>().await;
        }
        let mut log = self.log.lock().expect("log");
        log.sent.push(Sent {
            to,
            kind: message.alert.kind,
            severity: message.alert.severity,
            title: message.alert.title.clone(),
            channels: message.alert.channels.len(),
            key: message.idempotency_key.to_owned(),
            text: message.text(),
        });
        Ok(SentRef(format!("{to}/{}", log.sent.len())))
    }

    async fn edit(&self, to: Destination, sent: &SentRef, _: &Outgoing<'_>) -> Result<(), NotifyError> {
        self.log.lock().expect("log").edits.push((to, sent.0.clone()));
        Ok(())
    }
}

/// A store, a team with four members and a bound chat, the engine and the delivery workers.
struct Rig {
    db: TestStore,
    team: Team,
    alice: Member,
    bob: Member,
    eve: Member,
    vic: Member,
    engine: Planner,
    deliverer: Arc<Deliverer>,
    log: Arc<Mutex<Log>>,
    called: Arc<tokio::sync::Notify>,
}

fn alerts_config() -> AlertsConfig {
    AlertsConfig { operators: OPERATORS, ..AlertsConfig::default() }
}

fn delivery_config(owner: &str) -> DeliveryConfig {
    DeliveryConfig { owner: owner.into(), operators: OPERATORS, ..DeliveryConfig::default() }
}

fn notifiers(log: &Arc<Mutex<Log>>, called: &Arc<tokio::sync::Notify>) -> Notifiers {
    let mut notifiers = Notifiers::new();
    for platform in [ChatPlatform::Discord, ChatPlatform::Telegram] {
        notifiers.register(Arc::new(Recorder { platform, log: log.clone(), called: called.clone() }));
    }
    notifiers
}

async fn add_member(
    store: &Store,
    team: &Team,
    name: &str,
    role: Role,
    discord: Option<i64>,
    telegram: Option<i64>,
) -> Member {
    let member = NewMember {
        team_id: team.id,
        name: MemberName::parse(name).expect("a member name"),
        role,
        discord_user_id: discord.map(DiscordUserId),
        telegram_user_id: telegram.map(TelegramUserId),
    };
    store.add_member(&member, team.created_at).await.expect("add a member")
}

impl Rig {
    async fn new(db: TestStore) -> Self {
        Self::with_team(db, "Acme", Language::En).await
    }

    /// A rig whose deliveries mint real reconnect links, as `relink serve` does: its deliverer
    /// is the one the runtime builder makes, over the rig's recording notifiers.
    async fn with_links(db: TestStore) -> Self {
        let mut rig = Self::new(db).await;
        let mut builder = relink::app::App::builder(
            rig.db.store.clone(),
            Providers::new(Default::default()),
            Arc::new(rig.db.clock.clone()),
        )
        .web(WebSettings::new("https://relink.test/".parse().expect("a URL"), std::time::Duration::from_secs(86_400)))
        .alerts(Some(alerts_config()))
        .delivery(delivery_config("worker-a"));
        for platform in [ChatPlatform::Discord, ChatPlatform::Telegram] {
            builder =
                builder.notifier(Arc::new(Recorder { platform, log: rig.log.clone(), called: rig.called.clone() }));
        }
        rig.deliverer = builder.build().expect("relink builds").deliverer.expect("a deliverer");
        rig
    }

    async fn with_team(db: TestStore, name: &str, language: Language) -> Self {
        let team_name = TeamName::parse(name).expect("a team name");
        let team = db.store.create_team(&team_name, language, db.now()).await.expect("a team");
        let store = &db.store;
        let alice = add_member(store, &team, "Alice", Role::PrimaryOwner, Some(ALICE_DISCORD), None).await;
        let bob = add_member(store, &team, "Bob", Role::Admin, None, Some(BOB_TELEGRAM)).await;
        let eve = add_member(store, &team, "Eve", Role::Editor, Some(EVE_DISCORD), None).await;
        let vic = add_member(store, &team, "Vic", Role::Viewer, None, Some(4004)).await;
        store.bind_chat(team.id, ChatPlatform::Telegram, TEAM_CHAT, db.now()).await.expect("bind the team chat");
        let log = Arc::new(Mutex::new(Log::default()));
        let called = Arc::new(tokio::sync::Notify::new());
        let engine = Planner::new(db.store.clone(), alerts_config());
        let deliverer = Arc::new(Deliverer::new(
            db.store.clone(),
            notifiers(&log, &called),
            Arc::new(NoLinks),
            delivery_config("worker-a"),
        ));
        Self { db, team, alice, bob, eve, vic, engine, deliverer, log, called }
    }

    fn now(&self) -> DateTime<Utc> {
        self.db.now()
    }

    async fn channel(
        &self,
        team: &Team,
        account: &str,
        name: &str,
        by: Option<&Member>,
        expires: Option<DateTime<Utc>>,
    ) -> Channel {
        let channel = NewChannel {
            team_id: team.id,
            provider: Provider::Facebook,
            external_account_id: ExternalAccountId::parse(account).expect("an account id"),
            display_name: DisplayName::parse(name).expect("a channel name"),
            authorized_by: by.map(|m| m.id),
        };
        let channel =
            self.db.store.add_channel(&channel, &tokens("access", None, expires), self.now()).await.expect("add");
        self.set(&channel, Health::Healthy).await;
        channel
    }

    async fn set(&self, channel: &Channel, health: Health) {
        self.db.store.set_health(channel.id, &health, None, self.now()).await.expect("set health");
    }

    /// Runs the engine and the delivery workers once at the current time.
    async fn run(&self) {
        self.engine.pass(self.now()).await.expect("an engine pass");
        self.deliverer.deliver_due(self.now()).await.expect("a delivery pass");
    }

    /// Moves the clock by `by`, one due time at a time, running everything at each.
    async fn live(&self, by: Duration) {
        let end = self.now() + by;
        self.run().await;
        loop {
            let next =
                [self.engine.next_due_at().await.expect("next"), self.deliverer.next_due_at().await.expect("next")]
                    .into_iter()
                    .flatten()
                    .filter(|at| *at > self.now())
                    .min();
            match next {
                Some(at) if at <= end => {
                    self.db.clock.set(at);
                    self.run().await;
                }
                _ => break,
            }
        }
        self.db.clock.set(end);
        self.run().await;
    }

    fn sent(&self) -> Vec<Sent> {
        self.log.lock().expect("log").sent.clone()
    }

    /// What was sent, as (destination, kind), sorted.
    fn sent_sorted(&self) -> Vec<(Destination, AlertKind)> {
        let mut sent = self.sent_kinds();
        sent.sort();
        sent
    }

    /// What was sent, as (destination, kind), in order.
    fn sent_kinds(&self) -> Vec<(Destination, AlertKind)> {
        self.sent().into_iter().map(|s| (s.to, s.kind)).collect()
    }

    fn forget_sent(&self) {
        self.log.lock().expect("log").sent.clear();
    }

    async fn open_incident(&self, channel: &Channel, problem: Problem) -> relink_core::alerts::Incident {
        let incidents = self.db.store.incidents(Some(channel.team_id), false).await.expect("incidents");
        incidents.into_iter().find(|i| i.channel_id == channel.id && i.problem == problem).expect("an open incident")
    }
}

/// (kind, whole days since `start`) of a team's alerts, in order.
async fn alert_days(store: &Store, team: &Team, start: DateTime<Utc>) -> Vec<(AlertKind, i64)> {
    let alerts = store.alerts(Some(team.id), 1_000).await.expect("alerts");
    alerts.iter().map(|a| (a.kind, (a.created_at - start).num_days())).collect()
}

async fn a_channels_sixty_day_life_gives_the_expected_alerts_in_each_language(db: TestStore) {
    let rig = Rig::new(db).await;
    let start = rig.now();
    let mut lives = Vec::new();
    for (language, team_name) in [(Language::En, "Acme"), (Language::It, "Pizzeria"), (Language::Ja, "Sakura")] {
        let team = if language == Language::En {
            rig.team.clone()
        } else {
            let name = TeamName::parse(team_name).expect("a team name");
            let team = rig.db.store.create_team(&name, language, start).await.expect("a team");
            add_member(
                &rig.db.store,
                &team,
                "Alice",
                Role::PrimaryOwner,
                Some(ALICE_DISCORD + 10 * lives.len() as i64),
                None,
            )
            .await;
            team
        };
        let alice = rig.db.store.member_by_name(team.id, "Alice").await.expect("Alice");
        let channel = rig
            .channel(
                &team,
                &format!("page-{team_name}"),
                "Acme Facebook",
                Some(&alice),
                Some(start + Duration::days(60)),
            )
            .await;
        rig.db
            .store
            .schedule_post(channel.id, start + Duration::days(70), Some("launch"), start)
            .await
            .expect("a post");
        lives.push((language, team, channel));
    }
    // The checker's transitions on the days it would make them: expiring 14 days ahead, expired
    // on day 60, reconnected on day 64.
    let script = [(46, Health::Expiring), (60, Health::NeedsReauth(Reason::Expired)), (64, Health::Healthy)];
    let mut day = 0;
    for (on_day, health) in script {
        rig.live(Duration::days(on_day - day)).await;
        for (_, _, channel) in &lives {
            rig.set(channel, health.clone()).await;
        }
        day = on_day;
    }
    rig.live(Duration::days(66 - day)).await;

    // The first warning is news; the 7- and 3-day ones repeat it and go into the next
    // morning's digest (09:00 UTC, the test clock's team has no time zone); the last comes on
    // its own, as the digest would be too late. Once disconnected, a digest every morning, and
    // the last one is edited when the channel is connected again.
    let expected = [
        (AlertKind::Expiring, 46),
        (AlertKind::Reminder, 53),
        (AlertKind::Reminder, 57),
        (AlertKind::Expiring, 59),
        (AlertKind::Disconnected, 60),
        (AlertKind::Escalated, 60),
        (AlertKind::Reminder, 60),
        (AlertKind::Reminder, 61),
        (AlertKind::Reminder, 62),
        (AlertKind::Reminder, 63),
        (AlertKind::Resolved, 64),
        (AlertKind::Reminder, 64),
    ];
    let titles = [
        (Language::En, "Acme Facebook (Facebook) disconnects in 14 days", "Acme Facebook (Facebook) is disconnected"),
        (
            Language::It,
            "Acme Facebook (Facebook) si disconnette tra 14 giorni",
            "Acme Facebook (Facebook) è disconnesso",
        ),
        (
            Language::Ja,
            "Acme Facebook（Facebook）の接続は14日後に切れます",
            "Acme Facebook（Facebook）の接続が切れました",
        ),
    ];
    for ((language, team, channel), (_, warning, disconnected)) in lives.iter().zip(titles) {
        // Alone in their teams, the Italian and Japanese Alices have nobody to escalate to.
        let expected: Vec<_> = expected
            .iter()
            .copied()
            .filter(|(kind, _)| *language == Language::En || *kind != AlertKind::Escalated)
            .collect();
        assert_eq!(alert_days(&rig.db.store, team, start).await, expected, "{language}");
        let alerts = rig.db.store.alerts(Some(team.id), 100).await.expect("alerts");
        assert!(alerts.iter().all(|a| a.language == *language && a.channels[0].id == channel.id), "{language}");
        assert_eq!(alerts[0].title, warning);
        assert_eq!(alerts[4].title, disconnected);
        assert_eq!(alerts[0].at_risk.count, 1, "the post after the expiry is at risk");
        assert_eq!(alerts[0].authorised_by.as_deref(), Some("Alice"));
        let last = alerts.len() - 1;
        assert_eq!(alerts[last - 1].edits, Some(alerts[4].id), "the resolution marks the disconnection resolved");
        assert_eq!(alerts[last].edits, Some(alerts[last - 2].id), "and the morning's digest");
        assert!(alerts[last].channels.iter().all(|c| c.resolved), "{:?}", alerts[last].channels);
        let english = relink_core::alerts::messages::catalog(Language::En);
        if *language != Language::En {
            assert_ne!(alerts[4].explanation, english.reason(&Reason::Expired).explanation);
        }
    }
    // In Acme: the authoriser alone until the escalation, then the admins and the chat too;
    // never the editor or the viewer.
    let acme: Vec<(Destination, AlertKind)> = rig
        .sent_kinds()
        .into_iter()
        .filter(|(to, _)| {
            [ALICE, BOB, CHAT, Destination::DiscordUser(EVE_DISCORD), Destination::TelegramUser(4004)].contains(to)
        })
        .collect();
    let to_everyone = |kind| [(ALICE, kind), (BOB, kind), (CHAT, kind)];
    let mut expected_sends = vec![(ALICE, AlertKind::Expiring)];
    for kind in [AlertKind::Reminder, AlertKind::Reminder, AlertKind::Expiring] {
        expected_sends.extend(to_everyone(kind));
    }
    // The escalation tells only those not told yet.
    expected_sends.extend([
        (ALICE, AlertKind::Disconnected),
        (BOB, AlertKind::Escalated),
        (CHAT, AlertKind::Escalated),
    ]);
    for _ in 0..4 {
        expected_sends.extend(to_everyone(AlertKind::Reminder));
    }
    // Alice's first message is edited to say it is resolved; a second "connected again" would
    // say it twice. Bob and the chat, whose first message was a shared one, get one.
    expected_sends.extend([(BOB, AlertKind::Resolved), (CHAT, AlertKind::Resolved)]);
    let sorted = |mut sends: Vec<(Destination, AlertKind)>| {
        sends.sort_by_key(|(to, kind)| (kind.as_str(), *to));
        sends
    };
    assert_eq!(sorted(acme), sorted(expected_sends));
    let edits = rig.log.lock().expect("log").edits.clone();
    assert!(edits.iter().any(|(to, _)| *to == ALICE), "Alice's disconnection message is edited: {edits:?}");
    // Bob never got the disconnection message: his only edit is the morning's digest.
    assert_eq!(edits.iter().filter(|(to, _)| *to == BOB).count(), 1, "{edits:?}");
    assert_eq!(edits.iter().filter(|(to, _)| *to == ALICE).count(), 2, "{edits:?}");
}

async fn an_alert_survives_a_crash_between_the_transition_and_its_delivery(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.channel(&rig.team, "1", "Acme Facebook", None, None).await;
    // The transition is committed, then the process dies before the engine runs.
    rig.set(&channel, Health::NeedsReauth(Reason::AppRevoked)).await;
    assert_eq!(rig.db.store.pending_event_count().await.expect("events"), 2);

    // Another process starts: its engine writes the alerts, and its delivery worker dies in the
    // middle of sending (the platform never answers).
    rig.db.clock.advance(Duration::minutes(3));
    let restarted = Store::open(rig.db.connect_again().await, rig.db.keyring.clone(), rig.now()).await.expect("reopen");
    let engine = Planner::new(restarted.clone(), alerts_config());
    let report = engine.pass(rig.now()).await.expect("a pass");
    assert_eq!((report.events, report.alerts, report.deliveries), (2, 1, 3), "{report:?}");
    rig.log.lock().expect("log").hang = true;
    let dying = Deliverer::new(
        restarted.clone(),
        notifiers(&rig.log, &rig.called),
        Arc::new(NoLinks),
        delivery_config("worker-dies"),
    );
    let now = rig.now();
    let task = tokio::spawn(async move { dying.deliver_due(now).await });
    rig.called.notified().await;
    task.abort();
    assert!(task.await.expect_err("aborted").is_cancelled());
    rig.log.lock().expect("log").hang = false;

    // Before the lease runs out nobody else takes the claimed deliveries; after it, the next
    // worker delivers each exactly once.
    rig.deliverer.deliver_due(rig.now()).await.expect("a delivery pass");
    rig.db.clock.advance(Duration::minutes(3));
    rig.live(Duration::hours(1)).await;
    assert_eq!(rig.sent_sorted(), everyone(AlertKind::Disconnected));
    let keys: std::collections::HashSet<String> = rig.sent().into_iter().map(|s| s.key).collect();
    assert_eq!(keys.len(), 3, "one idempotency key per destination");
    assert_eq!(rig.db.store.pending_event_count().await.expect("events"), 0);
}

async fn transient_failures_are_retried_and_permanent_ones_dead_lettered_until_retried(db: TestStore) {
    let metrics = relink_web::install_recorder().expect("the Prometheus recorder");
    let rig = Rig::new(db).await;
    let channel = rig.channel(&rig.team, "1", "Acme Facebook", None, None).await;
    {
        let mut log = rig.log.lock().expect("log");
        let busy = || NotifyError::Transient { retry_after: None, detail: "HTTP 502".into() };
        log.failures.insert(ALICE, VecDeque::from([busy(), busy()]));
        log.failures.insert(CHAT, VecDeque::from([NotifyError::Permanent("chat not found".into())]));
    }
    rig.set(&channel, Health::NeedsReauth(Reason::PasswordChanged)).await;
    rig.db.clock.advance(Duration::minutes(3));
    rig.run().await;
    // The operators' notice of the gone chat may go in the same pass or the next: the pass
    // claims again while its lanes record, and whether the notice is written before the last
    // claim comes back empty is a race. Either is right; the team's messages are the point.
    let to_team = |rig: &Rig| -> Vec<(Destination, AlertKind)> {
        rig.sent_kinds().into_iter().filter(|(to, _)| *to != OPERATORS).collect()
    };
    assert_eq!(to_team(&rig), [(BOB, AlertKind::Disconnected)], "Bob's went out at once");

    // Alice's is retried after 30 s, then 60 s more.
    rig.db.clock.advance(Duration::seconds(30));
    rig.run().await;
    assert_eq!(to_team(&rig), [(BOB, AlertKind::Disconnected)]);
    rig.db.clock.advance(Duration::seconds(60));
    rig.run().await;
    assert_eq!(to_team(&rig), [(BOB, AlertKind::Disconnected), (ALICE, AlertKind::Disconnected)]);

    // The chat is gone: dead-lettered at once, its binding disabled, and the operators told.
    let failed = rig.db.store.deliveries(true, None, 10).await.expect("failed deliveries");
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].destination, failed[0].attempts), (CHAT, 1));
    assert!(failed[0].last_error.as_deref().is_some_and(|e| e.contains("chat not found")));
    let bindings = rig.db.store.chat_bindings(rig.team.id).await.expect("bindings");
    assert!(!bindings[0].enabled, "the gone chat's binding is disabled");
    let operators: Vec<Sent> = rig.sent().into_iter().filter(|s| s.to == OPERATORS).collect();
    assert_eq!(operators.len(), 1);
    assert!(operators[0].title.contains("-100500"), "{}", operators[0].title);

    // The bot is back in the chat: the operator retries and it is delivered, once.
    let retried = rig.db.store.retry_deliveries(Some(failed[0].id), rig.now()).await.expect("retry");
    assert_eq!(retried, 1);
    rig.run().await;
    assert_eq!(rig.sent().iter().filter(|s| s.to == CHAT).count(), 1);
    assert!(rig.db.store.deliveries(true, None, 10).await.expect("failed").is_empty());

    // A platform that keeps failing transiently is given up on after `max_attempts`.
    let bob_busy = (0..20)
        .map(|_| NotifyError::Transient { retry_after: Some(std::time::Duration::from_secs(5)), detail: "429".into() });
    rig.log.lock().expect("log").failures.insert(BOB, bob_busy.collect());
    rig.set(&channel, Health::NeedsReauth(Reason::AppRevoked)).await;
    rig.live(Duration::days(1)).await;
    let failed = rig.db.store.deliveries(true, None, 10).await.expect("failed deliveries");
    let disconnected = failed.iter().filter(|d| d.kind == AlertKind::Disconnected);
    assert_eq!(disconnected.map(|d| (d.destination, d.attempts)).collect::<Vec<_>>(), [(BOB, 8)]);

    // Operators see deliveries and failures per platform (other tests add to the same counters).
    let rendered = metrics.render();
    let counted = |series: &str| -> f64 {
        rendered
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} is missing from\n{rendered}"))
    };
    assert!(counted("relink_alerts_delivered_total{platform=\"discord\"}") >= 1.0);
    assert!(counted("relink_alerts_delivered_total{platform=\"telegram\"}") >= 2.0);
    assert!(counted("relink_alerts_failed_total{platform=\"telegram\"}") >= 2.0);
}

/// With several relink processes, one holds a bot's delivery lease; the others hand its
/// deliveries back untouched, however long that lasts, and never dead-letter them.
async fn a_delivery_another_process_makes_is_never_counted_as_a_failed_attempt(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.channel(&rig.team, "1", "Acme Facebook", None, None).await;
    let elsewhere = (0..40).map(|_| NotifyError::Elsewhere { retry_after: std::time::Duration::from_secs(60) });
    rig.log.lock().expect("log").failures.insert(ALICE, elsewhere.collect());
    rig.set(&channel, Health::NeedsReauth(Reason::PasswordChanged)).await;
    rig.db.clock.advance(Duration::minutes(3));
    for _ in 0..30 {
        rig.run().await;
        rig.db.clock.advance(Duration::minutes(1));
    }
    let alice: Vec<_> = rig.db.store.deliveries(false, None, 50).await.expect("deliveries");
    let alice: Vec<_> = alice.into_iter().filter(|d| d.destination == ALICE).collect();
    assert_eq!(alice.len(), 1, "{alice:?}");
    assert_eq!((alice[0].status.as_str(), alice[0].attempts), ("pending", 0), "{alice:?}");
    assert!(!rig.sent_kinds().iter().any(|(to, _)| *to == ALICE));
    // The process that delivers takes it: sent once.
    rig.log.lock().expect("log").failures.remove(&ALICE);
    rig.db.clock.advance(Duration::minutes(1));
    rig.run().await;
    assert_eq!(rig.sent_kinds().iter().filter(|(to, _)| *to == ALICE).count(), 1);
    assert!(rig.db.store.deliveries(true, None, 10).await.expect("failed").is_empty());
}

async fn a_snooze_silences_reminders_but_not_a_new_reason_or_a_post_due_within_a_day(db: TestStore) {
    let rig = Rig::new(db).await;
    let start = rig.now();
    let channel = rig.channel(&rig.team, "1", "Acme Facebook", Some(&rig.alice), None).await;
    rig.set(&channel, Health::NeedsReauth(Reason::PermissionLost)).await;
    rig.live(Duration::minutes(5)).await;
    let incident = rig.open_incident(&channel, Problem::NeedsReauth).await;
    let id = incident.id.expect("stored");
    let until = rig.now() + Duration::days(3);
    let snoozed = snooze(&rig.db.store, id, rig.alice.id, until, rig.now()).await.expect("Alice may snooze");
    assert_eq!(snoozed.snoozed_until, Some(until));

    // Three quiet days: no reminder, no escalation; then the escalation that was held back.
    rig.live(Duration::days(3) - Duration::minutes(10)).await;
    assert_eq!(alert_days(&rig.db.store, &rig.team, start).await, [(AlertKind::Disconnected, 0)]);
    rig.live(Duration::minutes(20)).await;
    assert_eq!(
        alert_days(&rig.db.store, &rig.team, start).await,
        [(AlertKind::Disconnected, 0), (AlertKind::Escalated, 3)]
    );

    // Snoozed again: a new reason speaks anyway, and so does a post due within 24 hours.
    snooze(&rig.db.store, id, rig.bob.id, rig.now() + Duration::days(5), rig.now()).await.expect("Bob may snooze");
    rig.set(&channel, Health::NeedsReauth(Reason::SecurityCheckpoint)).await;
    rig.live(Duration::minutes(5)).await;
    rig.db.store.schedule_post(channel.id, rig.now() + Duration::hours(20), None, rig.now()).await.expect("a post");
    rig.live(Duration::hours(2)).await;
    let alerts = rig.db.store.alerts(Some(rig.team.id), 10).await.expect("alerts");
    let kinds: Vec<AlertKind> = alerts.iter().map(|a| a.kind).collect();
    // The post makes it news once, to everyone.
    assert_eq!(
        kinds,
        [AlertKind::Disconnected, AlertKind::Escalated, AlertKind::Disconnected, AlertKind::Disconnected]
    );
    assert_eq!(alerts[2].reason.as_deref(), Some("security_checkpoint"));
    assert_eq!(alerts[3].severity, Severity::Urgent);
    assert_eq!(alerts[3].at_risk.count, 1);
}

async fn editors_and_viewers_cannot_snooze_or_acknowledge(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.channel(&rig.team, "1", "Acme Facebook", Some(&rig.alice), None).await;
    rig.set(&channel, Health::NeedsReauth(Reason::Expired)).await;
    rig.live(Duration::minutes(5)).await;
    let id = rig.open_incident(&channel, Problem::NeedsReauth).await.id.expect("stored");
    for member in [&rig.eve, &rig.vic] {
        let until = rig.now() + Duration::days(1);
        let refused = snooze(&rig.db.store, id, member.id, until, rig.now()).await;
        assert!(matches!(refused, Err(IncidentError::NotAllowed { .. })), "{}: {refused:?}", member.name);
        let refused = acknowledge(&rig.db.store, id, member.id, rig.now()).await;
        assert!(matches!(refused, Err(IncidentError::NotAllowed { .. })), "{}: {refused:?}", member.name);
    }
    let message = snooze(&rig.db.store, id, rig.eve.id, rig.now() + Duration::days(1), rig.now())
        .await
        .expect_err("an editor may not snooze");
    assert!(message.to_string().contains("only the primary owner, owners and admins"), "{message}");
    let incident = rig.db.store.incident(id).await.expect("the incident");
    assert_eq!((incident.snoozed_until, incident.acknowledged_at), (None, None));

    // A member of another team cannot act on this team's incident either.
    let other = rig
        .db
        .store
        .create_team(&TeamName::parse("Other").expect("name"), Language::En, rig.now())
        .await
        .expect("team");
    let stranger = add_member(&rig.db.store, &other, "Olga", Role::Admin, None, None).await;
    let refused = acknowledge(&rig.db.store, id, stranger.id, rig.now()).await;
    assert!(matches!(refused, Err(IncidentError::OtherTeam(_))), "{refused:?}");
}

async fn acknowledging_stops_the_escalation_and_silence_escalates(db: TestStore) {
    let rig = Rig::new(db).await;
    let start = rig.now();
    let acked = rig.channel(&rig.team, "1", "Acme Facebook", Some(&rig.alice), None).await;
    let ignored = rig.channel(&rig.team, "2", "Acme Instagram", Some(&rig.bob), None).await;
    rig.set(&acked, Health::NeedsReauth(Reason::PermissionLost)).await;
    rig.set(&ignored, Health::NeedsReauth(Reason::Expired)).await;
    rig.live(Duration::hours(1)).await;
    let id = rig.open_incident(&acked, Problem::NeedsReauth).await.id.expect("stored");
    acknowledge(&rig.db.store, id, rig.alice.id, rig.now()).await.expect("Alice acknowledges");
    assert_eq!(
        rig.sent_kinds(),
        [(ALICE, AlertKind::Disconnected), (BOB, AlertKind::Disconnected)],
        "authorisers first"
    );
    rig.forget_sent();

    rig.live(Duration::days(1)).await;
    let mut sent = rig.sent_kinds();
    sent.sort();
    // The ignored channel escalated after 4 hours to those not told yet (Alice and the chat;
    // Bob authorised it and has it in his digest); then each got one digest the next morning,
    // Alice's listing both channels (the acknowledged one is hers alone).
    let mut expected = vec![
        (ALICE, AlertKind::Escalated),
        (CHAT, AlertKind::Escalated),
        (ALICE, AlertKind::Reminder),
        (BOB, AlertKind::Reminder),
        (CHAT, AlertKind::Reminder),
    ];
    expected.sort();
    assert_eq!(sent, expected);
    let hours: Vec<(AlertKind, i64)> = rig
        .db
        .store
        .alerts(Some(rig.team.id), 10)
        .await
        .expect("alerts")
        .iter()
        .map(|a| (a.kind, (a.created_at - start).num_hours()))
        .collect();
    assert!(hours.contains(&(AlertKind::Escalated, 4)), "{hours:?}");

    // An authoriser relink cannot reach: everyone hears at once.
    let nobody = add_member(&rig.db.store, &rig.team, "Nadia", Role::Admin, None, None).await;
    let unreachable = rig.channel(&rig.team, "3", "Acme LinkedIn", Some(&nobody), None).await;
    rig.forget_sent();
    rig.set(&unreachable, Health::NeedsReauth(Reason::Expired)).await;
    rig.live(Duration::minutes(5)).await;
    assert_eq!(rig.sent_sorted(), everyone(AlertKind::Disconnected));
}

async fn channels_that_fail_for_one_shared_cause_share_one_alert(db: TestStore) {
    let rig = Rig::new(db).await;
    let page = |n: u32| format!("Acme page {n}");
    let mut alices = Vec::new();
    for n in 1..=3 {
        alices.push(rig.channel(&rig.team, &n.to_string(), &page(n), Some(&rig.alice), None).await);
    }
    let bobs = rig.channel(&rig.team, "4", "Bob's page", Some(&rig.bob), None).await;
    // Alice changed her password: two channels fail in one check batch, one in the next.
    rig.set(&alices[0], Health::NeedsReauth(Reason::PasswordChanged)).await;
    rig.set(&alices[1], Health::NeedsReauth(Reason::PasswordChanged)).await;
    rig.set(&bobs, Health::NeedsReauth(Reason::PasswordChanged)).await;
    rig.db.clock.advance(Duration::minutes(1));
    rig.set(&alices[2], Health::NeedsReauth(Reason::PasswordChanged)).await;
    rig.live(Duration::minutes(10)).await;

    let alerts = rig.db.store.alerts(Some(rig.team.id), 10).await.expect("alerts");
    let shape: Vec<(AlertKind, usize)> = alerts.iter().map(|a| (a.kind, a.channels.len())).collect();
    assert_eq!(shape, [(AlertKind::Disconnected, 3), (AlertKind::Disconnected, 1)]);
    assert_eq!(alerts[0].title, "3 channels are disconnected");
    assert_eq!(alerts[0].authorised_by.as_deref(), Some("Alice"));
    assert_eq!(alerts[0].incidents.len(), 3);
    assert_eq!(rig.sent_kinds(), [(ALICE, AlertKind::Disconnected), (BOB, AlertKind::Disconnected)]);

    // Reconnected one by one: each says so, and the shared message is not edited to "resolved"
    // while it speaks for channels that are still down.
    rig.set(&alices[0], Health::Healthy).await;
    rig.live(Duration::minutes(5)).await;
    let last = rig.db.store.alerts(Some(rig.team.id), 1).await.expect("alerts").remove(0);
    assert_eq!((last.kind, last.channels.len(), last.edits), (AlertKind::Resolved, 1, None));
    assert!(rig.log.lock().expect("log").edits.is_empty());
}

/// Finishes a check of `channel` that (no longer) sees an operator problem, as the checker does.
async fn a_stored_escalation_of_a_hundred_million_days_does_not_stop_the_alerts_engine(db: TestStore) {
    let rig = Rig::new(db).await;
    // Written before settings had a range (or straight into the database): the engine reads
    // each span as at most a year instead of overflowing.
    let huge = relink_core::alerts::SettingsOverride {
        first_reminder: Some(Duration::days(100_000_000)),
        reminder_every: Some(Duration::MAX),
        escalate_after: Some(Duration::days(100_000_000)),
        ..Default::default()
    };
    rig.db.store.set_team_alert_settings(rig.team.id, &huge).await.expect("settings");
    let channel = rig.channel(&rig.team, "1", "Acme Facebook", Some(&rig.alice), None).await;
    rig.set(&channel, Health::NeedsReauth(Reason::Expired)).await;
    rig.live(Duration::hours(1)).await;
    assert_eq!(rig.sent_kinds(), [(ALICE, AlertKind::Disconnected)], "the authoriser is told first");
    let incident = rig.open_incident(&channel, Problem::NeedsReauth).await;
    let year = relink_core::alerts::MAX_TEAM_SPAN;
    assert!(incident.escalate_at.is_some_and(|at| at <= rig.now() + year), "{incident:?}");
}

async fn flag_operator_problem(rig: &Rig, channel: &Channel, problem: Option<&str>, previous: Option<&str>) {
    let now = rig.now();
    let claims = rig.db.store.claim_due(now, 10, "checker", now + Duration::minutes(1)).await.expect("claim");
    let claim = claims.into_iter().find(|c| c.channel.id == channel.id).expect("the channel is due");
    let result = CheckResult {
        operator_problem: problem.map(str::to_owned),
        previous_operator_problem: previous.map(str::to_owned),
        ..unchanged_result(&claim.channel, now)
    };
    rig.db.store.finish_checks("checker", &[result], now).await.expect("finish");
}

async fn operator_problems_reach_operators_and_never_teams(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.channel(&rig.team, "-1001", "Acme Telegram", Some(&rig.alice), None).await;
    flag_operator_problem(&rig, &channel, Some("the bot token was revoked"), None).await;
    rig.live(Duration::minutes(5)).await;
    assert_eq!(rig.sent_kinds(), [(OPERATORS, AlertKind::OperatorProblem)]);
    let alert = rig.db.store.alerts(Some(rig.team.id), 1).await.expect("alerts").remove(0);
    assert_eq!(alert.detail.as_deref(), Some("the bot token was revoked"));
    assert!(alert.reconnect.is_none(), "nothing for a team to reconnect");

    // Fixed by the operator: the next look resolves it, for the operators only.
    flag_operator_problem(&rig, &channel, None, Some("the bot token was revoked")).await;
    rig.live(Duration::hours(2)).await;
    // The operators' message is edited to say so, once: no second message.
    assert_eq!(rig.sent_kinds(), [(OPERATORS, AlertKind::OperatorProblem)]);
    assert!(rig.log.lock().expect("log").edits.iter().any(|(to, _)| *to == OPERATORS));
}

async fn a_channel_degraded_for_too_long_is_reported_once_and_resolved(db: TestStore) {
    let rig = Rig::new(db).await;
    let start = rig.now();
    let flaky = rig.channel(&rig.team, "1", "Acme Facebook", Some(&rig.alice), None).await;
    let brief = rig.channel(&rig.team, "2", "Acme Instagram", Some(&rig.alice), None).await;
    rig.set(&flaky, Health::Degraded).await;
    rig.set(&brief, Health::Degraded).await;
    rig.live(Duration::hours(3)).await;
    rig.set(&brief, Health::Healthy).await;
    rig.live(Duration::days(2)).await;
    rig.set(&flaky, Health::Healthy).await;
    rig.live(Duration::hours(1)).await;
    assert_eq!(alert_days(&rig.db.store, &rig.team, start).await, [(AlertKind::Degraded, 1), (AlertKind::Resolved, 2)]);
    assert_eq!(rig.sent_kinds(), [(ALICE, AlertKind::Degraded)], "the resolution edits the message");
    assert!(rig.log.lock().expect("log").edits.iter().any(|(to, _)| *to == ALICE));
}

/// The `https://relink.test/r/<token>` links in a message, read back as tokens.
fn links_in(text: &str) -> Vec<OpaqueToken> {
    text.split_whitespace()
        .filter_map(|word| word.strip_prefix("https://relink.test/r/"))
        .map(|token| OpaqueToken::parse("link", token).expect("a link token"))
        .collect()
}

async fn private_alerts_carry_a_working_link_per_channel_and_shared_chats_none(db: TestStore) {
    let rig = Rig::with_links(db).await;
    let first = rig.channel(&rig.team, "1", "Acme page 1", Some(&rig.alice), None).await;
    let second = rig.channel(&rig.team, "2", "Acme page 2", Some(&rig.alice), None).await;
    rig.set(&first, Health::NeedsReauth(Reason::AppRevoked)).await;
    rig.set(&second, Health::NeedsReauth(Reason::AppRevoked)).await;
    rig.live(Duration::minutes(10)).await;

    let to_alice = rig.sent().into_iter().find(|s| s.to == ALICE).expect("Alice hears first");
    let tokens = links_in(&to_alice.text);
    assert_eq!(tokens.len(), 2, "one link per channel: {}", to_alice.text);
    assert!(to_alice.text.contains("Reconnect Acme page 1: https://relink.test/r/"), "{}", to_alice.text);
    let mut linked = Vec::new();
    for token in &tokens {
        let link = rig.db.store.link(token).await.expect("read").expect("the link exists");
        assert_eq!((link.member_id, link.used_at), (Some(rig.alice.id), None), "bound to the reader, unused");
        linked.push(link.channel_id);
    }
    linked.sort();
    assert_eq!(linked, [first.id, second.id]);

    // Nobody acts: the escalation reaches the other admin privately (with links of his own) and
    // the team chat (where anyone can read, so no links).
    rig.forget_sent();
    rig.live(Duration::hours(5)).await;
    let sent = rig.sent();
    let to_bob = sent.iter().find(|s| s.to == BOB).expect("Bob hears on escalation");
    assert_eq!(links_in(&to_bob.text).len(), 2);
    assert!(links_in(&to_bob.text).iter().all(|t| !tokens.iter().any(|a| a.expose() == t.expose())));
    let to_chat = sent.iter().find(|s| s.to == CHAT).expect("the team chat hears on escalation");
    assert!(links_in(&to_chat.text).is_empty(), "{}", to_chat.text);
    assert!(!sent.iter().any(|s| s.to == Destination::DiscordUser(EVE_DISCORD) && !links_in(&s.text).is_empty()));
}

/// A push signal made the channel due and its check found it dead: the alert goes out after a
/// few seconds of quiet, not the two-minute grouping window. A transition no signal caused
/// still waits the window, and holds the signalled one with it (mixed causes are grouped).
async fn a_transition_a_push_signal_caused_is_alerted_within_seconds_not_after_the_grouping_window(db: TestStore) {
    let rig = Rig::new(db).await;
    let pushed = rig.channel(&rig.team, "1", "Acme Facebook", Some(&rig.alice), None).await;
    let calm = rig.channel(&rig.team, "2", "Acme Page Two", Some(&rig.alice), None).await;
    let later = rig.now() + Duration::hours(5);
    for channel in [&pushed, &calm] {
        rig.db.store.schedule_check(channel.id, later).await.expect("schedule");
    }
    let subject = relink_core::domain::Subject::FacebookUser("1".into());
    assert_eq!(rig.db.store.make_due_for(&subject, rig.now()).await.expect("signal"), [pushed.id]);

    let dead = Health::NeedsReauth(Reason::AppRevoked);
    let finish = |claim: relink_core::store::Claim| CheckResult {
        to: dead.clone(),
        detail: Some("the network says relink's app was removed".into()),
        pushed: claim.signalled,
        ..unchanged_result(&claim.channel, later)
    };
    let now = rig.now();
    let claims = rig.db.store.claim_due(now, 10, "checker", now + Duration::minutes(1)).await.expect("claim");
    assert_eq!(claims.iter().map(|c| (c.channel.id, c.signalled)).collect::<Vec<_>>(), [(pushed.id, true)]);
    let results: Vec<CheckResult> = claims.into_iter().map(finish).collect();
    rig.db.store.finish_checks("checker", &results, now).await.expect("finish");
    rig.live(Duration::seconds(5)).await;
    assert_eq!(rig.sent_kinds(), [(ALICE, AlertKind::Disconnected)], "told within seconds of the signal");

    // The signal's mark is spent by its check: the next check of that channel is an ordinary one.
    let again = rig.db.store.acquire_lease(pushed.id, "checker", rig.now(), rig.now() + Duration::minutes(1)).await;
    assert!(!again.expect("lease").expect("the channel").signalled);
    rig.db.store.release_lease(pushed.id, "checker", later).await.expect("release");

    // No signal: the calm channel's transition waits for the grouping window as before.
    rig.db.store.schedule_check(calm.id, rig.now()).await.expect("due");
    let now = rig.now();
    let claims = rig.db.store.claim_due(now, 10, "checker", now + Duration::minutes(1)).await.expect("claim");
    let results: Vec<CheckResult> = claims.into_iter().map(finish).collect();
    assert_eq!(results.iter().map(|r| (r.channel_id, r.pushed)).collect::<Vec<_>>(), [(calm.id, false)]);
    rig.db.store.finish_checks("checker", &results, now).await.expect("finish");
    rig.live(Duration::seconds(5)).await;
    assert_eq!(rig.sent_kinds().len(), 1, "an ordinary transition is held for company");
    rig.live(Duration::minutes(3)).await;
    assert_eq!(rig.sent_kinds().len(), 2, "and told after the grouping window");
}

async fn an_unreadable_outbox_event_does_not_stop_the_alerts_engine(db: TestStore) {
    let rig = Rig::new(db).await;
    let channel = rig.channel(&rig.team, "1", "Acme Facebook", Some(&rig.alice), None).await;
    let (team, id, at) = (rig.team.id, channel.id, rig.now().timestamp_millis());
    let mut raw = rig.db.raw().await;
    raw.execute(&format!(
        "UPDATE channels SET health = 'needs_reauth', health_reason = 'app_revoked' WHERE id = {id}; \
         INSERT INTO events (team_id, channel_id, kind, payload, created_at) VALUES \
         ({team}, {id}, 'health_changed', '{{not json', {at}), \
         ({team}, {id}, 'party', '{{}}', {at}), \
         ({team}, {id}, 'health_changed', '{{\"to\":\"sick\"}}', {at}), \
         ({team}, {id}, 'health_changed', \
          '{{\"detail\":\"the app was removed\",\"from\":\"healthy\",\"from_reason\":null,\"reason_detail\":null,\"to\":\"needs_reauth\",\"to_reason\":\"app_revoked\"}}', {at})"
    ))
    .await;
    rig.live(Duration::hours(1)).await;
    // The readable row, in the format written before events were typed, is alerted; the others
    // are skipped, and nothing is left behind in the outbox.
    assert_eq!(rig.sent_kinds(), [(ALICE, AlertKind::Disconnected)]);
    assert_eq!(raw.number("SELECT COUNT(*) FROM events WHERE processed_at IS NULL").await, 0);
}

/// Three channels authorised by Alice die of one password change, a post due within a day on
/// one of them: each person hears of all three in one message, as urgent as the worst.
async fn one_password_change_reaches_each_person_as_one_message_whatever_the_urgency(db: TestStore) {
    let rig = Rig::new(db).await;
    let mut pages = Vec::new();
    for n in 1..=3 {
        pages.push(rig.channel(&rig.team, &n.to_string(), &format!("Acme page {n}"), Some(&rig.alice), None).await);
    }
    rig.db.store.schedule_post(pages[1].id, rig.now() + Duration::hours(5), None, rig.now()).await.expect("a post");
    rig.db.store.schedule_post(pages[2].id, rig.now() + Duration::days(3), None, rig.now()).await.expect("a post");
    for page in &pages {
        rig.set(page, Health::NeedsReauth(Reason::PasswordChanged)).await;
    }
    rig.live(Duration::minutes(10)).await;

    assert_eq!(
        rig.sent_sorted(),
        everyone(AlertKind::Disconnected),
        "one message each: the authoriser, and everyone, since a post is at stake"
    );
    let alert = rig.db.store.alerts(Some(rig.team.id), 10).await.expect("alerts").remove(0);
    assert_eq!((alert.severity, alert.channels.len()), (Severity::Urgent, 3));
    let lines: Vec<(bool, u32)> = alert.channels.iter().map(|c| (c.urgent, c.at_risk.count)).collect();
    assert_eq!(lines, [(false, 0), (true, 1), (false, 1)], "each channel with its own posts at risk");
    assert_eq!(alert.at_risk.count, 2);

    // Everyone has heard of all three: four hours later nobody is told "nobody has reconnected".
    rig.forget_sent();
    rig.live(Duration::hours(6)).await;
    assert_eq!(rig.sent_kinds(), [], "no escalation to people already told");
}

/// Two problems, one escalated to everyone: each person and the chat get one digest a day,
/// listing every open problem they hear about, the most urgent first.
async fn reminders_come_as_one_digest_a_day_per_person_listing_every_open_problem(db: TestStore) {
    let rig = Rig::new(db).await;
    let alices = rig.channel(&rig.team, "1", "Alice's page", Some(&rig.alice), None).await;
    let bobs = rig.channel(&rig.team, "2", "Bob's page", Some(&rig.bob), None).await;
    rig.set(&alices, Health::NeedsReauth(Reason::Expired)).await;
    rig.set(&bobs, Health::NeedsReauth(Reason::AppRevoked)).await;
    rig.live(Duration::hours(1)).await;
    // Alice is on hers: no escalation for it; Bob's escalates to Alice and the chat.
    let id = rig.open_incident(&alices, Problem::NeedsReauth).await.id.expect("stored");
    acknowledge(&rig.db.store, id, rig.alice.id, rig.now()).await.expect("Alice acknowledges");
    rig.db.store.schedule_post(bobs.id, rig.now() + Duration::days(4), None, rig.now()).await.expect("a post");
    rig.forget_sent();

    rig.live(Duration::days(3)).await;
    let digests: Vec<Sent> = rig.sent().into_iter().filter(|s| s.kind == AlertKind::Reminder).collect();
    let per = |to: Destination| digests.iter().filter(|s| s.to == to).count();
    assert_eq!((per(ALICE), per(BOB), per(CHAT)), (3, 3, 3), "one a day each: {digests:#?}");
    let alerts = rig.db.store.alerts(Some(rig.team.id), 100).await.expect("alerts");
    let days: Vec<i64> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Reminder)
        .map(|a| {
            assert_eq!(
                a.created_at.format("%H:%M").to_string(),
                "09:00",
                "the team's digest time (UTC without a zone)"
            );
            a.created_at.timestamp() / 86_400
        })
        .collect();
    let mut distinct = days.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "three mornings: {days:?}");
    // Alice's lists both, Bob's at risk first; Bob's and the chat's list his alone.
    let alice = digests.iter().find(|s| s.to == ALICE).expect("Alice's digest");
    assert_eq!(alice.channels, 2);
    let first = alice.text.find("Bob's page").expect("Bob's page listed");
    let second = alice.text.find("Alice's page").expect("Alice's page listed");
    assert!(first < second, "the channel with a post at risk first:\n{}", alice.text);
    assert_eq!(digests.iter().find(|s| s.to == BOB).map(|s| s.channels), Some(1));
    assert!(!digests.iter().find(|s| s.to == CHAT).is_some_and(|s| s.text.contains("/r/")), "no links in a group");
}

/// A channel only its authoriser has heard of gets a post due within a day: everyone hears it
/// once, not again when another post comes due.
async fn a_channel_turning_urgent_is_news_once_and_only_to_people_not_told(db: TestStore) {
    let rig = Rig::new(db).await;
    let page = rig.channel(&rig.team, "1", "Acme page", Some(&rig.alice), None).await;
    rig.set(&page, Health::NeedsReauth(Reason::PermissionLost)).await;
    rig.live(Duration::minutes(5)).await;
    let id = rig.open_incident(&page, Problem::NeedsReauth).await.id.expect("stored");
    acknowledge(&rig.db.store, id, rig.alice.id, rig.now()).await.expect("no escalation");
    rig.forget_sent();
    // At 13:00 UTC a post is scheduled for 23:00, far from the 09:00 digest.
    rig.live(Duration::minutes(55)).await;
    rig.db.store.schedule_post(page.id, rig.now() + Duration::hours(10), None, rig.now()).await.expect("a post");
    rig.live(Duration::hours(2)).await;
    assert_eq!(rig.sent_sorted(), everyone(AlertKind::Disconnected));
    assert!(rig.sent().iter().all(|s| s.severity == Severity::Urgent));
    // The post fails (stays pending in the past); another is scheduled two days on: not news
    // again, the digests mark it.
    rig.live(Duration::days(2)).await;
    rig.forget_sent();
    rig.db.store.schedule_post(page.id, rig.now() + Duration::hours(10), None, rig.now()).await.expect("a post");
    rig.live(Duration::hours(3)).await;
    assert!(rig.sent().iter().all(|s| s.kind == AlertKind::Reminder), "{:?}", rig.sent_kinds());
}

/// The engine plans the morning's digest and the process dies before delivering it; the next
/// process (another planner and delivery worker on the same database) delivers it, once.
async fn a_digest_planned_before_a_restart_is_sent_once(db: TestStore) {
    let rig = Rig::new(db).await;
    let page = rig.channel(&rig.team, "1", "Acme page", Some(&rig.alice), None).await;
    rig.set(&page, Health::NeedsReauth(Reason::Expired)).await;
    rig.live(Duration::hours(6)).await;
    rig.forget_sent();
    // Tomorrow 09:00 UTC: the pass writes the digest; nothing is delivered.
    let morning = (rig.now() + Duration::days(1)).date_naive().and_hms_opt(9, 0, 0).expect("a time").and_utc();
    rig.db.clock.set(morning);
    let report = rig.engine.pass(morning).await.expect("a pass");
    assert!(report.alerts >= 1, "{report:?}");
    // A new process: its planner plans nothing new at the same instant or a minute later.
    let restarted = Planner::new(rig.db.store.clone(), alerts_config());
    assert_eq!(restarted.pass(morning).await.expect("a pass").alerts, 0);
    rig.db.clock.set(morning + Duration::minutes(1));
    assert_eq!(restarted.pass(rig.now()).await.expect("a pass").alerts, 0);
    let log = Arc::new(Mutex::new(Log::default()));
    let deliverer =
        Deliverer::new(rig.db.store.clone(), notifiers(&log, &rig.called), Arc::new(NoLinks), delivery_config("b"));
    deliverer.deliver_due(rig.now()).await.expect("deliveries");
    deliverer.deliver_due(rig.now() + Duration::minutes(5)).await.expect("deliveries");
    let sent: Vec<(Destination, AlertKind)> = log.lock().expect("log").sent.iter().map(|s| (s.to, s.kind)).collect();
    let mut sent = sent;
    sent.sort();
    assert_eq!(sent, [(ALICE, AlertKind::Reminder), (BOB, AlertKind::Reminder), (CHAT, AlertKind::Reminder)]);
}

/// Sets a team's time zone and quiet hours.
async fn calendar(rig: &Rig, zone: &str, quiet: Option<&str>) {
    let own = relink_core::alerts::SettingsOverride {
        timezone: Some(relink_core::alerts::Zone::parse(zone).expect("a zone")),
        quiet_hours: quiet.map(|q| relink_core::alerts::QuietHours::parse(q).expect("quiet hours")),
        ..Default::default()
    };
    rig.db.store.set_team_alert_settings(rig.team.id, &own).await.expect("settings");
}

/// Rome, quiet from 20:00 to 08:00: a disconnection at 22:00 waits for 08:00 and comes as the
/// morning's digest; one with a post due in the night goes out at once.
async fn quiet_hours_hold_what_is_not_urgent_until_the_morning_digest(db: TestStore) {
    let rig = Rig::new(db).await;
    calendar(&rig, "Europe/Rome", Some("20:00-08:00")).await;
    let calm = rig.channel(&rig.team, "1", "Calm page", Some(&rig.alice), None).await;
    let urgent = rig.channel(&rig.team, "2", "Busy page", Some(&rig.bob), None).await;
    // 1 March 2026, 21:00 UTC is 22:00 in Rome.
    let night = rig.now().date_naive().and_hms_opt(21, 0, 0).expect("a time").and_utc();
    rig.db.clock.set(night);
    rig.db.store.schedule_post(urgent.id, night + Duration::hours(3), None, night).await.expect("a post");
    rig.set(&calm, Health::NeedsReauth(Reason::Expired)).await;
    rig.set(&urgent, Health::NeedsReauth(Reason::Expired)).await;
    rig.live(Duration::minutes(10)).await;
    assert_eq!(rig.sent_sorted(), everyone(AlertKind::Disconnected), "only the urgent one, at once");
    assert!(rig.sent().iter().all(|s| s.title.contains("Busy page")), "{:?}", rig.sent());
    rig.forget_sent();

    // Nothing more in the night; at 08:00 Rome (07:00 UTC) Alice's digest lists the calm page.
    let morning = night.date_naive().succ_opt().expect("a day").and_hms_opt(7, 0, 0).expect("a time").and_utc();
    rig.live(morning - rig.now() - Duration::minutes(1)).await;
    assert_eq!(rig.sent_kinds(), [], "the night is quiet");
    rig.live(Duration::minutes(2)).await;
    let alerts = rig.db.store.alerts(Some(rig.team.id), 10).await.expect("alerts");
    let digest = alerts.iter().find(|a| a.kind == AlertKind::Reminder).expect("the morning's digest");
    assert_eq!(digest.created_at, morning);
    let alice: Vec<Sent> = rig.sent().into_iter().filter(|s| s.to == ALICE).collect();
    assert_eq!(alice.len(), 1, "one message for Alice: {alice:?}");
    assert!(alice[0].text.contains("Calm page"), "{}", alice[0].text);
    // On the team's wall clock: disconnected at 22:00 Rome time.
    assert!(alice[0].text.contains("since 2026-03-01 22:00 CET"), "{}", alice[0].text);
    assert!(!alerts.iter().any(|a| a.kind == AlertKind::Disconnected && a.title.contains("Calm page")));
}

/// Rome moves its clocks forward on 29 March 2026: the digest stays at 08:00 local, 07:00 UTC
/// before and 06:00 UTC after.
async fn the_digest_keeps_the_teams_morning_across_a_daylight_saving_change(db: TestStore) {
    let rig = Rig::new(db).await;
    calendar(&rig, "Europe/Rome", Some("20:00-08:00")).await;
    let page = rig.channel(&rig.team, "1", "Acme page", Some(&rig.alice), None).await;
    let noon = DateTime::parse_from_rfc3339("2026-03-26T11:00:00Z").expect("an instant").to_utc();
    rig.db.clock.set(noon);
    rig.set(&page, Health::NeedsReauth(Reason::Expired)).await;
    rig.live(Duration::days(5)).await;
    let alerts = rig.db.store.alerts(Some(rig.team.id), 100).await.expect("alerts");
    let digests: Vec<String> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::Reminder)
        .map(|a| a.created_at.format("%d %H:%M").to_string())
        .collect();
    assert_eq!(digests, ["27 07:00", "28 07:00", "29 06:00", "30 06:00", "31 06:00"]);
}

/// Ten problems and a pass that takes four due incidents at a time: the first batch's digest
/// lists all ten and marks them mentioned, so the later batches send nothing more.
async fn a_team_whose_problems_span_several_batches_still_gets_one_digest_each(db: TestStore) {
    let rig = Rig::new(db).await;
    let mut pages = Vec::new();
    for n in 1..=10 {
        pages.push(rig.channel(&rig.team, &n.to_string(), &format!("Page {n}"), Some(&rig.alice), None).await);
    }
    for page in &pages {
        rig.set(page, Health::NeedsReauth(Reason::Expired)).await;
    }
    rig.live(Duration::hours(6)).await;
    rig.forget_sent();
    let small = Planner::new(rig.db.store.clone(), AlertsConfig { batch: 4, ..alerts_config() });
    let morning = (rig.now() + Duration::days(1)).date_naive().and_hms_opt(9, 0, 0).expect("a time").and_utc();
    rig.db.clock.set(morning);
    small.pass(morning).await.expect("a pass");
    small.pass(morning + Duration::minutes(1)).await.expect("a pass");
    rig.deliverer.deliver_due(morning + Duration::minutes(1)).await.expect("deliveries");
    let mut sent: Vec<(Destination, AlertKind, usize)> =
        rig.sent().iter().map(|s| (s.to, s.kind, s.channels)).collect();
    sent.sort();
    let digest = |to| (to, AlertKind::Reminder, 10);
    assert_eq!(sent, [digest(ALICE), digest(BOB), digest(CHAT)]);
}

/// Warning days and a digest body written by hand into the database, unreadable: the team's
/// other settings and alerts go on, the digest is simply not edited.
async fn unreadable_stored_settings_or_digests_do_not_stop_the_alerts_engine(db: TestStore) {
    let rig = Rig::new(db).await;
    let page = rig.channel(&rig.team, "1", "Acme page", Some(&rig.alice), None).await;
    rig.set(&page, Health::NeedsReauth(Reason::Expired)).await;
    rig.live(Duration::days(1)).await;
    assert!(rig.sent_kinds().contains(&(ALICE, AlertKind::Reminder)), "{:?}", rig.sent_kinds());
    let mut raw = rig.db.raw().await;
    raw.execute(&format!(
        "INSERT INTO team_alert_settings (team_id, warning_days) VALUES ({}, 'soon, very soon'); \
         UPDATE alerts SET body = '{{not json' WHERE kind = 'reminder'",
        rig.team.id
    ))
    .await;
    rig.forget_sent();
    // Fixed: the digest cannot be edited, the "connected again" goes out all the same.
    rig.set(&page, Health::Healthy).await;
    rig.live(Duration::hours(1)).await;
    let mut sent = rig.sent_kinds();
    sent.sort();
    assert_eq!(sent, [(BOB, AlertKind::Resolved), (CHAT, AlertKind::Resolved)]);
    let edits = rig.log.lock().expect("log").edits.clone();
    assert_eq!(edits.iter().filter(|(to, _)| *to == ALICE).count(), 1, "Alice's first message says it: {edits:?}");
    assert_eq!(raw.number("SELECT COUNT(*) FROM events WHERE processed_at IS NULL").await, 0);
}
