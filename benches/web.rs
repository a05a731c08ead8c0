//! The web server under load: relink's server on a SQLite database in a temporary directory,
//! driven by `wrk` (Debian's `wrk`) on loopback against the two steps of a reconnect link that
//! take traffic: the link page (`GET /r/{token}`, which chat apps also fetch for previews) and the
//! button (`POST /r/{token}`: consume the link, record the authorization request, redirect),
//! posted with the `Origin` and `Sec-Fetch-Site` a browser sends from relink's own page.
//!
//! Prints requests per second and the p99 latency of each. Figures, not assertions: the machines
//! are shared. Every POST consumes a link, so the bench mints enough links first.
//!
//! ```text
//! cargo bench --bench web -- [--seconds 10] [--connections 32] [--threads 2] [--links 100000]
//! ```

use std::io::Write as _;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

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

struct Args {
    seconds: u64,
    connections: u32,
    threads: u32,
    links: u32,
}

fn args() -> Args {
    let mut args = Args { seconds: 10, connections: 32, threads: 2, links: 100_000 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or_else(|| panic!("{flag} N"));
        match flag.as_str() {
            "--seconds" => args.seconds = value(),
            "--connections" => args.connections = value() as u32,
            "--threads" => args.threads = value() as u32,
            "--links" => args.links = value() as u32,
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
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("relink.db").display())).await.expect("SQLite");
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

    // The network is never contacted: the button only redirects to it.
    let providers = Providers::all_at(&Url::parse("http://127.0.0.1:9/").expect("a URL"), "bench", "bench-secret", 1.0);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let base = Url::parse(&format!("http://{}/", listener.local_addr().expect("an address"))).expect("a URL");
    // relink's web server as `relink serve` builds it, without the background loops.
    let server = relink::app::App::builder(store.clone(), providers, Arc::new(SystemClock))
        .listener(listener)
        .web(relink_web::WebSettings::new(base.clone(), Duration::from_secs(24 * 3_600)))
        .checking(false)
        .alerts(None)
        .build()
        .expect("relink builds")
        .spawn();

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

    let page = base.join(&paths[0][1..]).expect("a URL");
    let (get_rps, get_p99, get_errors) = wrk(&args, page.as_str(), None);
    let (post_rps, post_p99, post_errors) = wrk(&args, base.as_str(), Some(&script));
    let posted = (post_rps * args.seconds as f64) as u64;
    println!(
        "web bench: {} s per step, {} connections, {} wrk threads, SQLite",
        args.seconds, args.connections, args.threads
    );
    println!(
        "  GET  /r/{{token}} (link page)         {get_rps:>10.0} req/s   p99 {get_p99:>7.2} ms   errors {get_errors}"
    );
    println!(
        "  POST /r/{{token}} (button → redirect)  {post_rps:>10.0} req/s   p99 {post_p99:>7.2} ms   errors {post_errors}"
    );
    if posted > u64::from(args.links) {
        println!(
            "  note: about {posted} POSTs for {} links: later ones hit used links (410); raise --links",
            args.links
        );
    }
    let _ = server.stop().await;
}
