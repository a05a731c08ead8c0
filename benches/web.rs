//! The web server under load: relink's server on a SQLite database in a temporary directory,
//! driven by `wrk` (Debian's `wrk`) on loopback against the two steps of a reconnect link that
//! take traffic: the link page (`GET /r/{token}`, which chat apps also fetch for previews) and the
//! button (`POST /r/{token}`: consume the link, record the authorization request, redirect),
//! posted with the `Origin` and `Sec-Fetch-Site` a browser sends from relink's own page.
//!
//! Prints requests per second and the p99 latency of each. Figures, not assertions: the machines
//! are shared. Every POST consumes a link, so the bench mints enough links first.
//!
//! With `--checking N` the same server also runs relink's checker over N Facebook Pages (the
//! provider simulator in a process of its own answers its probes), as `relink serve` does, and
//! both steps are measured while it checks: the button and the checker share SQLite's one writer.
//! It then prints the checks per second during each step too.
//!
//! ```text
//! cargo bench --bench web -- [--seconds 10] [--connections 32] [--threads 2] [--links 100000]
//!     [--checking 1000000]
//! ```

use std::io::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use relink_core::checker::CheckerConfig;
use relink_core::crypto::{KeyMaterial, Keyring};
use relink_core::opaque::OpaqueToken;
use relink_core::provider::Providers;
use relink_core::store::{Db, NewMember, Store};
use relink_core::token::TokenSet;
use relink_core::{
    DisplayName, ExternalAccountId, Language, MemberName, NewChannel, Provider, Role, Scopes, SystemClock, TeamName,
};
use secrecy::SecretString;
use tokio::net::TcpListener;
use url::Url;

mod support;

struct Args {
    seconds: u64,
    connections: u32,
    threads: u32,
    links: u32,
    /// Channels the checker checks during the steps (0: no checker).
    checking: u32,
}

fn args() -> Args {
    let mut args = Args { seconds: 10, connections: 32, threads: 2, links: 100_000, checking: 0 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or_else(|| panic!("{flag} N"));
        match flag.as_str() {
            "--seconds" => args.seconds = value(),
            "--connections" => args.connections = value() as u32,
            "--threads" => args.threads = value() as u32,
            "--links" => args.links = value() as u32,
            "--checking" => args.checking = value() as u32,
            // `cargo bench` passes `--bench`.
            _ => {}
        }
    }
    args
}

/// One wrk run: (requests per second, p99 in milliseconds, non-2xx/3xx answers); the latency
/// distribution (p50, p75, p90, p99) goes to stderr.
fn wrk(args: &Args, url: &str, script: Option<&std::path::Path>) -> (f64, f64, u64) {
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{}", args.threads))
        .arg(format!("-c{}", args.connections))
        .arg(format!("-d{}s", args.seconds))
        .arg("--latency");
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(url).output().expect("wrk runs (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk's output:\n{text}"));
    let percentile = |label: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|v| millis(v.trim()))
            .unwrap_or_else(|| panic!("no {label} line in wrk's output:\n{text}"))
    };
    let p99 = percentile("99%");
    eprintln!(
        "  {url}: p50 {:.2} ms, p75 {:.2} ms, p90 {:.2} ms, p99 {p99:.2} ms",
        percentile("50%"),
        percentile("75%"),
        percentile("90%")
    );
    let errors = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (rps, p99, errors)
}

/// wrk's latency ("812.00us", "1.23ms", "2.01s") in milliseconds.
fn millis(text: &str) -> f64 {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * factor
}

#[tokio::main]
async fn main() {
    let args = args();
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is missing: apt-get install wrk");
        std::process::exit(2);
    }
    let dir = tempfile::Builder::new().prefix("relink-web-bench-").tempdir().expect("a temporary directory");
    let db_url = format!("sqlite://{}", dir.path().join("relink.db").display());
    let db = Db::connect(&db_url).await.expect("SQLite");
    db.migrate().await.expect("migrations");
    let keyring = Keyring::new([(1, KeyMaterial::generate())]).expect("a keyring");
    let now = chrono::Utc::now();
    let store = Store::open(db, keyring, now).await.expect("the store");
    let team = store.create_team(&TeamName::parse("Bench").expect("a name"), Language::En, now).await.expect("a team");
    let channel = NewChannel {
        team_id: team.id,
        provider: Provider::Facebook,
        external_account_id: ExternalAccountId::parse("page-1").expect("an id"),
        display_name: DisplayName::parse("Bench page").expect("a name"),
        authorized_by: None,
    };
    let tokens = TokenSet {
        access_token: SecretString::from("bench-token"),
        refresh_token: None,
        expires_at: None,
        scopes: Scopes::default(),
        refresh_expires_at: None,
    };
    let channel = store.add_channel(&channel, &tokens, now).await.expect("a channel");
    // A link works only for a member who may reconnect.
    let admin = NewMember {
        team_id: team.id,
        name: MemberName::parse("Bench admin").expect("a name"),
        role: Role::Admin,
        discord_user_id: None,
        telegram_user_id: None,
    };
    let admin = store.add_member(&admin, now).await.expect("a member");

    // Without a checker the network is never contacted: the button only redirects to it.
    let sim = (args.checking > 0).then(|| support::SimProcess::start(args.checking));
    let providers = match &sim {
        Some(sim) => {
            support::fill(&store, team.id, args.checking).await;
            Providers::all_at(&sim.base, relink_simulator::CLIENT_ID, relink_simulator::CLIENT_SECRET, 1.0e9)
        }
        None => Providers::all_at(&Url::parse("http://127.0.0.1:9/").expect("a URL"), "bench", "bench-secret", 1.0),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let base = Url::parse(&format!("http://{}/", listener.local_addr().expect("an address"))).expect("a URL");
    eprintln!("minting {} links…", args.links);
    let expires = now + chrono::Duration::days(1);
    let mut paths = Vec::with_capacity(args.links as usize);
    for _ in 0..args.links {
        let token = OpaqueToken::generate();
        store.create_link(&token, channel.id, Some(admin.id), now, expires).await.expect("a link");
        paths.push(format!("/r/{}", token.expose()));
    }
    let list = dir.path().join("links.txt");
    std::fs::write(&list, paths.join("\n")).expect("write the links");
    // Each wrk thread takes every n-th link from its own offset, so no link is posted twice.
    let script = dir.path().join("post.lua");
    let mut lua = std::fs::File::create(&script).expect("the script");
    write!(
        lua,
        r#"local paths = {{}}
for line in io.lines("{list}") do paths[#paths + 1] = line end
local counter = 0
local threads = {{}}
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
function init(args)
  step = {threads}
  next_index = offset + 1
end
function request()
  local path = paths[next_index]
  next_index = next_index + step
  if path == nil then path = paths[1] end
  return wrk.format("POST", path, {{["Content-Length"] = "0", ["Origin"] = "{origin}", ["Sec-Fetch-Site"] = "same-origin"}})
end
"#,
        list = list.display(),
        threads = args.threads,
        origin = base.origin().ascii_serialization()
    )
    .expect("write the script");

    if args.checking > 0 {
        settle(&db_url, args.checking).await;
    }
    // relink's web server as `relink serve` builds it, with the checker when asked for (the
    // checker's settings of the checker bench), without the alerts.
    let checker = CheckerConfig { batch: 1_024, concurrency: 128, ..CheckerConfig::default() };
    let server = relink::app::App::builder(store.clone(), providers, Arc::new(SystemClock))
        .listener(listener)
        .web(relink_web::WebSettings::new(base.clone(), Duration::from_secs(24 * 3_600)))
        .checker(checker)
        .checking(args.checking > 0)
        .alerts(None)
        .build()
        .expect("relink builds")
        .spawn();
    if args.checking > 0 {
        // The checker's first claims and connections, before the steps.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    let page = base.join(&paths[0][1..]).expect("a URL");
    let checked = || checked_since_settling(&db_url);
    let before = checked().await;
    let (get_rps, get_p99, get_errors) = wrk(&args, page.as_str(), None);
    let during_get = checked().await;
    let (post_rps, post_p99, post_errors) = wrk(&args, base.as_str(), Some(&script));
    let during_post = checked().await;
    let posted = (post_rps * args.seconds as f64) as u64;
    println!(
        "web bench: {} s per step, {} connections, {} wrk threads, SQLite{}",
        args.seconds,
        args.connections,
        args.threads,
        if args.checking > 0 {
            format!(", the checker checking {} channels meanwhile", args.checking)
        } else {
            String::new()
        }
    );
    println!(
        "  GET  /r/{{token}} (link page)         {get_rps:>10.0} req/s   p99 {get_p99:>7.2} ms   errors {get_errors}"
    );
    println!(
        "  POST /r/{{token}} (button → redirect)  {post_rps:>10.0} req/s   p99 {post_p99:>7.2} ms   errors {post_errors}"
    );
    if args.checking > 0 {
        let rate = |from: i64, to: i64| (to - from) as f64 / args.seconds as f64;
        println!(
            "  checks meanwhile: {:.0}/s during the link page step, {:.0}/s during the button step ({} of {} checked)",
            rate(before, during_get),
            rate(during_get, during_post),
            during_post,
            args.checking
        );
        if during_post >= i64::from(args.checking) {
            println!("  note: the checker finished its pass during the steps; raise --checking");
        }
    }
    if posted > u64::from(args.links) {
        println!(
            "  note: about {posted} POSTs for {} links: later ones hit used links (410); raise --links",
            args.links
        );
    }
    let _ = server.stop().await;
    drop(sim);
}

/// Makes every channel healthy, checked an hour ago and due now, as the checker bench does: the
/// checker's steady state, where a check changes nothing but the schedule.
async fn settle(url: &str, channels: u32) {
    use sqlx::Connection as _;
    let mut db = sqlx::SqliteConnection::connect(url).await.expect("a connection");
    let now = chrono::Utc::now().timestamp_millis();
    sqlx::query(
        "UPDATE channels SET health = 'healthy', health_reason = NULL, health_detail = NULL, \
         last_checked_at = $1 - 3600000, next_check_at = $1, consecutive_failures = 0",
    )
    .bind(now)
    .execute(&mut db)
    .await
    .expect("settled");
    eprintln!("{channels} channels healthy and due");
}

/// How many channels the checker has checked since [`settle`].
async fn checked_since_settling(url: &str) -> i64 {
    use sqlx::Connection as _;
    let mut db = sqlx::SqliteConnection::connect(url).await.expect("a connection");
    let now = chrono::Utc::now().timestamp_millis();
    sqlx::query_scalar("SELECT COUNT(*) FROM channels WHERE last_checked_at > $1 - 3000000")
        .bind(now)
        .fetch_one(&mut db)
        .await
        .expect("a count")
}
