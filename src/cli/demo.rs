//! `relink demo`: a team's week in a minute. An embedded SQLite in a temporary directory, the
//! provider simulator on loopback, a team with channels on seven networks, and a story in which
//! their tokens fail the ways the seeds describe (a changed password, an app removed, an admin
//! role lost, a token running out, a network having a bad day) while the clock jumps ahead an
//! hour at a time. relink's own checker, alerts engine and web server run unchanged, built and
//! supervised by `crate::app` as `relink serve`'s are; alerts are printed to the terminal as the
//! chat platforms would show them, and their reconnect links work in a browser against the
//! simulator once the story is over.
//!
//! The story starts at midnight in the team's time zone, so its times of day are the same on
//! every run; at the end it prints its ledger (`ledger.rs`): messages per reader, when each
//! reader first heard of each problem, and whether the week's targets hold.

mod ledger;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use relink_core::alerts::{
    AlertsConfig, Calendar, Deliverer, DeliveryConfig, Destination, Notifier, NotifyError, Outgoing, Planner, Problem,
    QuietHours, SentRef, SettingsOverride, Zone,
};
use relink_core::checker::CheckerConfig;
use relink_core::crypto::{KeyMaterial, Keyring};
use relink_core::provider::{Providers, policy};
use relink_core::signin::mint_signin;
use relink_core::store::{Db, NewMember, Store, StoreError};
use relink_core::supervise::Wake;
use relink_core::token::TokenSet;
use relink_core::{
    ChannelId, ChatPlatform, Clock as _, DiscordUserId, DisplayName, ExternalAccountId, Language, MemberName,
    NewChannel, Provider, Role, Scopes, ShiftedClock, Team, TeamName, TelegramUserId,
};
use relink_simulator::{AccountOptions, CLIENT_ID, CLIENT_SECRET, Fail, Hooks, Scope, Simulator};
use relink_web::WebSettings;
use secrecy::ExposeSecret as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

use self::ledger::{Entry, Ledger, Trouble, Week};
use crate::app::App;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo's web server listens (reconnect links point here; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: String,
    /// The team's language: en, it or ja.
    #[arg(long, default_value = "en", value_name = "LANG")]
    language: String,
    /// How fast the story runs, in hours of the team's life per second.
    #[arg(long, default_value_t = 3.0, value_name = "N")]
    hours_per_second: f64,
    /// The team's time zone (an IANA name): the story starts at midnight there, and the team
    /// works 08:00-20:00 in it.
    #[arg(long, default_value = "Europe/Rome", value_name = "ZONE")]
    timezone: String,
    /// Stop when the story ends instead of serving the reconnect links until Ctrl-C.
    #[arg(long)]
    exit: bool,
}

/// The story's length, in hours: a week, ending on the eighth day at 10:00, inside the team's
/// working hours, so a reconnection made from a link afterwards is told at once (in quiet hours
/// a "connected again" waits for the morning).
const STORY_HOURS: i64 = 7 * 24 + 10;
/// The LinkedIn token (no refresh token: not a partner app) runs out this long into the story.
const LINKEDIN_LEFT: Duration = Duration::hours(6 * 24 + 12);
/// The team's quiet hours, in its time zone: it works 08:00-20:00.
const QUIET_HOURS: &str = "20:00-08:00";
/// The week's target: at most this many messages to each admin.
const MAX_PER_ADMIN: usize = 12;

/// The story's beats, in hours from its start (midnight in the team's time zone).
const RENEWALS: i64 = 2;
const YOUTUBE_DOWN: i64 = 10;
const YOUTUBE_BACK: i64 = 16;
const PASSWORD_CHANGE: i64 = 30;
const PINTEREST_REMOVED: i64 = 60;
const GOOGLE_ROLE_LOST: i64 = 100;
const GOOGLE_ROLE_BACK: i64 = 130;

/// The story's problems, for the closing account: what happened, to which networks' channels,
/// and when (the story's hour; the LinkedIn token runs out from the start, and its warnings are
/// how the team hears of it).
const TROUBLES: [(&str, &[Provider], i64); 4] = [
    ("Dana's password change", &[Provider::Facebook, Provider::InstagramBusiness], PASSWORD_CHANGE),
    ("Pinterest app removed", &[Provider::Pinterest], PINTEREST_REMOVED),
    ("Google role lost", &[Provider::GoogleBusiness], GOOGLE_ROLE_LOST),
    ("LinkedIn token running out", &[Provider::Linkedin], 0),
];

/// The demo team's people: who they are, their role, and where relink reaches them.
struct Person {
    name: &'static str,
    role: Role,
    reach: Destination,
}

const DANA: Person = Person { name: "Dana", role: Role::PrimaryOwner, reach: Destination::DiscordUser(1_001) };
const MARCO: Person = Person { name: "Marco", role: Role::Admin, reach: Destination::TelegramUser(2_002) };
const YUKI: Person = Person { name: "Yuki", role: Role::Editor, reach: Destination::DiscordUser(3_003) };
/// The team's Telegram group, bound to the team: alerts there carry no link.
const TEAM_GROUP: i64 = -100_400;

/// One channel of the demo team: network, account, display name, and who authorised it.
struct Demo {
    provider: Provider,
    account: &'static str,
    name: &'static str,
    user: &'static str,
}

const CHANNELS: [Demo; 7] = [
    Demo { provider: Provider::Facebook, account: "acme-bakery", name: "Acme Bakery", user: "dana" },
    Demo { provider: Provider::InstagramBusiness, account: "acmebakery", name: "@acmebakery", user: "dana" },
    Demo { provider: Provider::Linkedin, account: "acme-bakery-ltd", name: "Acme Bakery Ltd", user: "marco" },
    Demo { provider: Provider::X, account: "acmebakes", name: "@acmebakes", user: "marco" },
    Demo { provider: Provider::Pinterest, account: "acme-cakes", name: "Acme Cakes", user: "marco" },
    Demo { provider: Provider::Youtube, account: "acme-kitchen", name: "Acme Kitchen", user: "dana@google" },
    Demo {
        provider: Provider::GoogleBusiness,
        account: "acme-main-st",
        name: "Acme Bakery, Main St",
        user: "dana@google",
    },
];

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let language: Language = args.language.parse().map_err(|e| anyhow::anyhow!("--language: {e}"))?;
    if !(args.hours_per_second.is_finite() && args.hours_per_second > 0.0) {
        anyhow::bail!("--hours-per-second: a positive number, e.g. 3");
    }
    let zone = Zone::parse(&args.timezone).map_err(|e| anyhow::anyhow!("--timezone: {e}"))?;
    let calendar = Calendar { zone: zone.clone(), quiet: Some(QuietHours::parse(QUIET_HOURS)?) };
    let dir =
        tempfile::Builder::new().prefix("relink-demo-").tempdir().context("cannot create a temporary directory")?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {} (--listen 127.0.0.1:0 picks a free port)", args.listen))?;
    let public_url = Url::parse(&format!("http://{}/", listener.local_addr()?))?;

    // The LinkedIn page was connected long ago: its token is issued first, at the moment that
    // leaves it LINKEDIN_LEFT at the story's start, then the clock moves to the start: the
    // first midnight in the team's time zone after that, so every run tells the same hours.
    let clock = ShiftedClock::new();
    let sim = Simulator::new(Arc::new(clock.clone()));
    let linkedin = &CHANNELS[2];
    let lifetime = policy(linkedin.provider).access_lifetime.and_then(|l| Duration::from_std(l).ok());
    let ahead = lifetime.unwrap_or(LINKEDIN_LEFT) - LINKEDIN_LEFT;
    let tz = jiff::tz::TimeZone::get(zone.name())?;
    let week = Week::starting(clock.now() + ahead + Duration::minutes(1), tz)?;
    clock.jump(week.start() - ahead - clock.now());
    let mut issued = HashMap::new();
    let options = AccountOptions::user(linkedin.user).without_refresh_token();
    issued.insert(linkedin.provider, sim.add_account(linkedin.provider, linkedin.account, options)?);
    clock.jump(week.start() - clock.now());
    for channel in CHANNELS.iter().filter(|c| c.provider != linkedin.provider) {
        issued.insert(
            channel.provider,
            sim.add_account(channel.provider, channel.account, AccountOptions::user(channel.user))?,
        );
    }
    // Meta's callbacks reach the demo's own web server, as they would reach relink's public URL.
    sim.set_hooks(Hooks::relink_at(&public_url));
    let sim = sim.spawn().await.context("cannot start the provider simulator")?;

    let db = Db::connect(&format!("sqlite://{}", dir.path().join("relink.db").display())).await?;
    db.migrate().await?;
    let keyring = Keyring::new([(1, KeyMaterial::generate())])?;
    let store = Store::open(db, keyring, clock.now()).await?;
    let team = seed_team(&store, language, &issued, clock.now()).await?;
    // The team's calendar, stored as `relink alerts settings --timezone --quiet-hours` would.
    let own = SettingsOverride { timezone: Some(zone.clone()), quiet_hours: calendar.quiet, ..Default::default() };
    store.set_team_alert_settings(team.id, &own).await?;

    let shutdown = CancellationToken::new();
    // The demo's own simulator is the only network: a budget of a thousand requests a second
    // never makes a check wait for its slot, so a jump of the story's clock never overtakes one.
    let providers = Providers::all_at(sim.base_url(), CLIENT_ID, CLIENT_SECRET, 1_000.0);
    let idle = StdDuration::from_millis(200);
    let mut web = WebSettings::new(public_url.clone(), StdDuration::from_secs(30 * 86_400));
    let links = web.links.clone();
    // Google's Cross-Account Protection, played by the simulator: its key set, and its security
    // events pushed to relink's receiver when a Google grant dies in the story.
    web.risc.jwks_url = sim.base_url().join("_sim/google/certs")?;
    sim.set_google_risc_hook(Some(public_url.join("hooks/google/risc")?));
    let terminal = Arc::new(Terminal { clock: clock.clone(), week: week.clone(), ledger: Ledger::default() });
    // relink's own grouping window (2 minutes): the story's hour jumps pass it, so channels that
    // fail together are told together however loaded the machine is, at the next hour; once the
    // story is over a reconnection (nothing to group) is told within seconds anyway.
    let alerts = AlertsConfig::default();
    let app = App::builder(store.clone(), providers, Arc::new(clock.clone()))
        .shutdown(shutdown.clone())
        .listener(listener)
        .web(web)
        .checker(CheckerConfig { idle, ..CheckerConfig::default() })
        .alerts(Some(alerts))
        .delivery(DeliveryConfig { idle, ..DeliveryConfig::default() })
        .notifier(terminal.clone() as Arc<dyn Notifier>)
        .notifier(Arc::new(TerminalOn(ChatPlatform::Telegram, terminal.clone())) as Arc<dyn Notifier>)
        .build()?;
    let relink = Relink {
        store: store.clone(),
        clock: clock.clone(),
        checker: app.checker.wake_handle(),
        alerts: app.transitions.clone(),
        engine: app.engine.clone(),
        deliverer: app.deliverer.clone(),
    };
    let running = app.spawn();

    println!(
        "relink demo: the team \"{}\" ({language}) and its seven channels, in a temporary SQLite database",
        team.name
    );
    println!("relink's web server: {public_url}   the networks (simulated): {}", sim.base_url());
    println!(
        "Dana is the primary owner (Discord), Marco an admin (Telegram), Yuki an editor; the team's Telegram group is bound."
    );
    if let Some(quiet) = calendar.quiet {
        println!("The team works {}-{}, {zone} time; the story starts at midnight there.", quiet.until, quiet.from);
    }
    println!("The clock runs {} hours a second; watch what relink tells whom.\n", args.hours_per_second);

    let story = tell(&terminal, sim.simulator(), &relink, args.hours_per_second, &shutdown);
    tokio::select! {
        result = story => result?,
        () = stop_signal() => shutdown.cancel(),
    }
    if !shutdown.is_cancelled() {
        settle(&store, &clock).await;
        summary(&store, &zone, clock.now()).await?;
        account(&store, &team, &terminal, &calendar).await?;
        if args.exit {
            shutdown.cancel();
        } else {
            println!("\nThe story is over and the clock runs at normal speed again.");
            println!("Open the reconnect links above in a browser: the simulated network logs you in at once,");
            println!("and relink marks the channel healthy. Ctrl-C stops the demo and deletes its database.");
            println!("The team page, where the same is one button away (each link signs in once, within 15 minutes):");
            for (person, role) in [(&MARCO, "admin: with buttons"), (&YUKI, "editor: the page without them")] {
                let member = store.member_by_name(team.id, person.name).await?;
                let minted = mint_signin(&store, &links, member.id, clock.now()).await?;
                println!("  {} ({role}): {}", person.name, minted.url.expose_secret());
            }
            tokio::select! {
                () = stop_signal() => shutdown.cancel(),
                () = shutdown.cancelled() => {}
            }
        }
    }
    // Stops the checker, the alerts and the web server, and closes the store.
    running.stopped().await
}

/// Creates the team, its people, its group and its channels with the simulator's tokens, and
/// a few scheduled posts, so alerts can say what is at risk.
async fn seed_team(
    store: &Store,
    language: Language,
    issued: &HashMap<Provider, relink_simulator::Issued>,
    now: DateTime<Utc>,
) -> anyhow::Result<Team> {
    let name = TeamName::parse("Acme Bakery")?;
    let team = store.create_team(&name, language, now).await?;
    let mut by_user = HashMap::new();
    for person in [DANA, MARCO, YUKI] {
        let (discord, telegram) = match person.reach {
            Destination::DiscordUser(id) => (Some(DiscordUserId(id)), None),
            Destination::TelegramUser(id) => (None, Some(TelegramUserId(id))),
            _ => (None, None),
        };
        let member = NewMember {
            team_id: team.id,
            name: MemberName::parse(person.name)?,
            role: person.role,
            discord_user_id: discord,
            telegram_user_id: telegram,
        };
        let member = store.add_member(&member, now).await?;
        by_user.insert(person.name.to_lowercase(), member.id);
    }
    store.bind_chat(team.id, ChatPlatform::Telegram, TEAM_GROUP, now).await?;
    for (n, channel) in CHANNELS.iter().enumerate() {
        let tokens = &issued[&channel.provider];
        let new = NewChannel {
            team_id: team.id,
            provider: channel.provider,
            external_account_id: ExternalAccountId::parse(channel.account)?,
            display_name: DisplayName::parse(channel.name)?,
            authorized_by: by_user.get(channel.user.split('@').next().unwrap_or_default()).copied(),
        };
        let set = TokenSet {
            access_token: tokens.access_token.clone().into(),
            refresh_token: tokens.refresh_token.clone().map(Into::into),
            expires_at: tokens.expires_at,
            scopes: Scopes::parse(&tokens.scopes.join(" "))?,
            refresh_expires_at: tokens.refresh_expires_at,
        };
        let added = store.add_channel(&new, &set, now).await?;
        // A post every other day at 09:00, staggered across channels.
        for day in 0..4 {
            let due = now + Duration::days(i64::try_from(n % 2).unwrap_or(0) + 2 * day) + Duration::hours(9);
            store.schedule_post(added.id, due, Some(&format!("demo-{n}-{day}")), now).await?;
        }
    }
    Ok(team)
}

/// The story: what happens to the team's channels, hour by hour. Returns when it is over.
async fn tell(
    terminal: &Terminal,
    sim: &Simulator,
    relink: &Relink,
    hours_per_second: f64,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let step = StdDuration::from_secs_f64(1.0 / hours_per_second);
    for hour in 0..=STORY_HOURS {
        let beat = match hour {
            RENEWALS => Some((
                "X and YouTube tokens live for hours; relink renews them before they run out. Nobody hears about it.",
                None,
            )),
            YOUTUBE_DOWN => {
                sim.fail(Scope::Provider(Provider::Youtube), Fail::ServerError { status: 503 })?;
                Some((
                    "YouTube answers 503 for the next 6 hours. A network's bad morning is not a dead token: relink retries and stays quiet.",
                    None,
                ))
            }
            YOUTUBE_BACK => {
                sim.clear_faults(Scope::Provider(Provider::Youtube))?;
                Some(("YouTube is back.", None))
            }
            PASSWORD_CHANGE => {
                let killed = sim.change_user_password("dana")?;
                Some((
                    "Dana changes her Facebook password: Facebook ends every session of her account, and the channels she connected through it die at once.",
                    Some(killed),
                ))
            }
            PINTEREST_REMOVED => {
                sim.revoke_app(Provider::Pinterest, CHANNELS[4].account)?;
                Some(("Marco tidies up his Pinterest settings and removes relink's app by mistake.", None))
            }
            GOOGLE_ROLE_LOST => {
                sim.drop_admin(Provider::GoogleBusiness, CHANNELS[6].account)?;
                Some(("A manager removes Dana's role on the Google Business Profile.", None))
            }
            GOOGLE_ROLE_BACK => {
                sim.apply(Provider::GoogleBusiness, CHANNELS[6].account, relink_simulator::Switch::Restore)?;
                Some(("Dana gets the role back. relink notices on its next look and says so.", None))
            }
            _ => None,
        };
        if let Some((line, killed)) = beat {
            let mut line = line.to_owned();
            if let Some(killed) = killed {
                let _ = write!(line, " ({killed} channels)");
            }
            terminal.say(&format!("» {line}"));
        }
        tokio::select! {
            () = tokio::time::sleep(step) => {}
            () = shutdown.cancelled() => return Ok(()),
        }
        relink.clock.jump(Duration::hours(1));
        relink.catch_up().await;
    }
    Ok(())
}

/// What the story needs of relink's running parts to let it act on each hour before the clock
/// jumps again.
struct Relink {
    store: Store,
    clock: ShiftedClock,
    checker: Wake,
    alerts: Wake,
    engine: Option<Arc<Planner>>,
    deliverer: Option<Arc<Deliverer>>,
}

impl Relink {
    /// Wakes the checker and the alerts engine after a jump and waits (two seconds at most) until
    /// no check, alerts pass or delivery that is due is left: otherwise their sleeps, in real
    /// time, would let the story's clock run hours ahead of them at a fast pace, and who heard
    /// what when would depend on `--hours-per-second`.
    async fn catch_up(&self) {
        self.checker.wake();
        self.alerts.wake();
        let due = |next: Result<Option<DateTime<Utc>>, StoreError>, now| {
            next.map_or(true, |at| at.is_some_and(|at| at <= now))
        };
        // At most ten seconds: a loaded machine gets the time its checks take, so one password
        // change's checks (the second made due by the first) are done before the clock moves on.
        for _ in 0..500 {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
            let now = self.clock.now();
            let in_flight = self.store.checks_in_flight(now).await.map_or(true, |n| n > 0);
            let checks = in_flight || due(self.store.next_due_at().await, now);
            let alerts = match &self.engine {
                Some(engine) => due(engine.next_due_at().await, now),
                None => false,
            };
            let deliveries = match &self.deliverer {
                Some(deliverer) => due(deliverer.next_due_at().await, now),
                None => false,
            };
            if !(checks || alerts || deliveries) {
                return;
            }
        }
    }
}

/// Lets the checker and the alerts engine catch up with the last jumps: a few more hours until
/// no event waits and no delivery is pending.
async fn settle(store: &Store, clock: &ShiftedClock) {
    for _ in 0..24 {
        tokio::time::sleep(StdDuration::from_millis(500)).await;
        let events = store.pending_event_count().await.unwrap_or(1);
        let pending = store.next_delivery_at().await.ok().flatten().is_some_and(|at| at <= clock.now());
        if events == 0 && !pending {
            return;
        }
        clock.jump(Duration::hours(1));
    }
}

/// Every channel's health at the end of the story.
async fn summary(store: &Store, zone: &Zone, now: DateTime<Utc>) -> anyhow::Result<()> {
    println!("\nWhere the channels stand:");
    // In the words the chat commands use (English, like the story), never raw identifiers.
    let words = relink_bot::commands::words(Language::En);
    let networks = relink_core::alerts::messages::catalog(Language::En);
    for channel in store.channels(None).await? {
        let health = relink_bot::commands::channel_state(words, Some(zone), &channel, now);
        println!("  {:<22} {:<28} {health}", channel.display_name.as_str(), networks.network(channel.provider));
    }
    Ok(())
}

/// The week's account, from the terminal's ledger: messages per reader, when each reader first
/// heard of each of the story's problems, and whether the week's targets hold: at most 12
/// messages to each admin, the password change in one message to each person, and every
/// problem heard of by someone who can fix it within an hour of relink knowing (of the end of
/// the quiet hours, when no post was due within a day).
async fn account(store: &Store, team: &Team, terminal: &Terminal, calendar: &Calendar) -> anyhow::Result<()> {
    let entries = terminal.ledger.entries();
    let week = &terminal.week;
    let networks = relink_core::alerts::messages::catalog(Language::En);
    let people = [DANA, MARCO, YUKI];
    let mut readers: Vec<(String, Destination)> =
        people.iter().map(|p| (format!("{} ({})", p.name, role(p.role)), p.reach)).collect();
    readers.push(("the team's Telegram group".to_owned(), Destination::TelegramChat(TEAM_GROUP)));
    // Anyone else who was told something (there should be nobody).
    for entry in &entries {
        if !readers.iter().any(|(_, to)| *to == entry.to) {
            readers.push((Terminal::reader(entry.to), entry.to));
        }
    }
    let width = readers.iter().map(|(name, _)| name.chars().count()).max().unwrap_or(0);

    println!("\nMessages per reader:");
    println!("  {:<width$}  {:>4}  {:>6}", "", "sent", "edited");
    for (name, to) in &readers {
        let (sent, edited) = ledger::counts(&entries, *to);
        println!("  {name:<width$}  {sent:>4}  {edited:>6}");
    }

    let channels: Vec<_> = store.channels(None).await?.into_iter().filter(|c| c.team_id == team.id).collect();
    let incidents = store.incidents(Some(team.id), true).await?;
    let mut troubles = Vec::new();
    for (what, providers, hour) in TROUBLES {
        let ids: Vec<ChannelId> = channels.iter().filter(|c| providers.contains(&c.provider)).map(|c| c.id).collect();
        let began = week.start().checked_add_signed(Duration::hours(hour)).unwrap_or(week.start());
        // The incidents its channels' changes of health opened since it began.
        let opened: Vec<_> = incidents
            .iter()
            .filter(|i| ids.contains(&i.channel_id) && i.opened_at >= began)
            .filter(|i| matches!(i.problem, Problem::NeedsReauth | Problem::Expiring))
            .collect();
        let over = match opened.iter().map(|i| i.resolved_at).collect::<Option<Vec<_>>>() {
            Some(resolved) => resolved.into_iter().max(),
            None => None,
        };
        troubles.push(Trouble {
            what,
            channels: ids,
            began,
            known: opened.iter().map(|i| i.opened_at).min(),
            over,
            urgent: opened.iter().any(|i| i.urgent),
        });
    }

    println!("\nWhen each reader first heard of each problem (a message saying it is fixed does not count):");
    for trouble in &troubles {
        let names: Vec<String> = channels
            .iter()
            .filter(|c| trouble.channels.contains(&c.id))
            .map(|c| format!("{} ({})", c.display_name.as_str(), networks.network(c.provider)))
            .collect();
        let known = trouble.known.map_or_else(|| "relink never noticed".to_owned(), |at| week.stamp(at));
        println!("  {}: {} — relink knew {known}", trouble.what, names.join(", "));
        for (name, to) in &readers {
            let heard = match (trouble.first_heard(&entries, *to), trouble.known) {
                (Some(entry), Some(known)) => {
                    format!("{} ({} after relink knew)", week.stamp(entry.at), ledger::after(week, known, entry.at))
                }
                (Some(entry), None) => week.stamp(entry.at),
                (None, _) => "never".to_owned(),
            };
            println!("    {name:<width$}  {heard}");
        }
    }

    println!("\n{}", targets(&entries, &troubles, week, calendar));
    Ok(())
}

/// One line: whether each of the week's targets holds, and who or what misses it.
fn targets(entries: &[Entry], troubles: &[Trouble], week: &Week, calendar: &Calendar) -> String {
    let people = [DANA, MARCO, YUKI];
    let fixers: Vec<&Person> = people.iter().filter(|p| p.role.may_reconnect()).collect();
    let verdict = |missed: &[String], or: String| {
        if missed.is_empty() { format!("held{or}") } else { format!("missed ({})", missed.join(", ")) }
    };

    let sent: Vec<(&str, usize)> = fixers.iter().map(|p| (p.name, ledger::counts(entries, p.reach).0)).collect();
    let loud: Vec<String> =
        sent.iter().filter(|(_, n)| *n > MAX_PER_ADMIN).map(|(name, n)| format!("{name} {n}")).collect();
    let all: Vec<String> = sent.iter().map(|(name, n)| format!("{name} {n}")).collect();
    let per_admin = verdict(&loud, format!(" ({})", all.join(", ")));

    // The password change is the first problem: whoever hears of it hears of both channels at once.
    let split: Vec<String> = troubles
        .first()
        .map(|password| {
            people
                .iter()
                .filter(|p| password.first_heard(entries, p.reach).is_some_and(|first| !password.all_in(first)))
                .map(|p| p.name.to_owned())
                .collect()
        })
        .unwrap_or_default();
    let one_message = verdict(&split, String::new());

    let late: Vec<String> = troubles
        .iter()
        .filter(|trouble| {
            let heard = fixers.iter().filter_map(|p| trouble.first_heard(entries, p.reach)).map(|e| week.hour_of(e.at));
            match (trouble.due_hour(week, calendar), heard.min()) {
                (Some(due), Some(heard)) => heard > due,
                _ => true,
            }
        })
        .map(|trouble| trouble.what.to_owned())
        .collect();
    let in_time = verdict(&late, String::new());

    format!(
        "Targets: at most {MAX_PER_ADMIN} messages to each admin: {per_admin}; the password change in one message to \
         each person: {one_message}; every problem heard of by someone who can fix it within an hour of relink \
         knowing (or of the end of the quiet hours, when it could wait): {in_time}."
    )
}

async fn stop_signal() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Prints alerts as they would arrive in chats, stamped with the story's time, and writes each
/// message and edit in its ledger.
#[derive(Debug)]
struct Terminal {
    clock: ShiftedClock,
    week: Week,
    ledger: Ledger,
}

impl Terminal {
    fn stamp(&self) -> String {
        self.week.stamp(self.clock.now())
    }

    fn record(&self, to: Destination, message: &Outgoing<'_>, edit: bool) {
        let channels = message.alert.channels.iter().map(|c| (c.id, c.resolved)).collect();
        self.ledger.record(Entry { at: self.clock.now(), to, kind: message.alert.kind, edit, channels });
    }

    fn say(&self, line: &str) {
        println!("{} {line}", self.stamp());
    }

    fn reader(to: Destination) -> String {
        let person = [DANA, MARCO, YUKI].into_iter().find(|p| p.reach == to);
        match (person, to) {
            (Some(p), Destination::DiscordUser(_)) => format!("{} ({}), Discord direct message", p.name, role(p.role)),
            (Some(p), _) => format!("{} ({}), Telegram private chat", p.name, role(p.role)),
            (None, Destination::TelegramChat(TEAM_GROUP)) => "the team's Telegram group".into(),
            (None, other) => other.to_string(),
        }
    }

    /// A private message in full, with its reader's links; a shared chat's in one line (the
    /// same words, never a link).
    fn show(&self, to: Destination, message: &Outgoing<'_>) -> SentRef {
        let mut text = String::new();
        if to.is_private() {
            let _ = writeln!(text, "{} ── to {} ──", self.stamp(), Self::reader(to));
            for line in message.text().lines() {
                let _ = writeln!(text, "   │ {line}");
            }
        } else {
            let _ = writeln!(
                text,
                "{} ── to {}: {} (no link in a shared chat)",
                self.stamp(),
                Self::reader(to),
                message.alert.title
            );
        }
        println!("{text}");
        SentRef(format!("terminal:{}:{}", to, message.alert.id))
    }
}

#[async_trait]
impl Notifier for Terminal {
    fn platform(&self) -> ChatPlatform {
        ChatPlatform::Discord
    }

    async fn send(&self, to: Destination, message: &Outgoing<'_>) -> Result<SentRef, NotifyError> {
        self.record(to, message, false);
        Ok(self.show(to, message))
    }

    async fn edit(&self, to: Destination, _: &SentRef, message: &Outgoing<'_>) -> Result<(), NotifyError> {
        self.record(to, message, true);
        println!(
            "{} ── an earlier message to {} is updated: {} ──\n",
            self.stamp(),
            Self::reader(to),
            message.alert.title
        );
        Ok(())
    }
}

fn role(role: Role) -> String {
    role.as_str().replace('_', " ")
}

/// The same terminal, serving another platform's destinations.
#[derive(Debug)]
struct TerminalOn(ChatPlatform, Arc<Terminal>);

#[async_trait]
impl Notifier for TerminalOn {
    fn platform(&self) -> ChatPlatform {
        self.0
    }

    async fn send(&self, to: Destination, message: &Outgoing<'_>) -> Result<SentRef, NotifyError> {
        self.1.send(to, message).await
    }

    async fn edit(&self, to: Destination, sent: &SentRef, message: &Outgoing<'_>) -> Result<(), NotifyError> {
        self.1.edit(to, sent, message).await
    }
}
