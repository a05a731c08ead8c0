//! The operator commands, run as a person runs them: the real `relink` binary in a fresh
//! directory, against SQLite and against a real PostgreSQL server.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use relink_core::crypto::Keyring;
use relink_core::store::{Db, Store};
use secrecy::ExposeSecret as _;

use crate::support::postgres::fresh_postgres_url;

/// A `relink` command running in `dir`, with no `RELINK_*` variable from the outside world.
pub fn relink(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relink"));
    command.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("RELINK_") {
            command.env_remove(key);
        }
    }
    command.env("RELINK_LOG", "warn");
    command
}

/// A loopback URL whose server hangs up on every connection at once: the networks of commands
/// that must not reach one. The port stays this process's, so no other test's server can take it.
fn nowhere() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("an address").port();
        std::thread::spawn(move || listener.incoming().for_each(drop));
        format!("http://127.0.0.1:{port}/")
    })
    .clone()
}

/// Runs `relink ARGS` with `stdin` as standard input; every network hangs up at once (so
/// `channel add` needs `--unverified`).
fn run(dir: &Path, database_url: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut command = relink(dir);
    command.env("RELINK_PROVIDERS__SIMULATOR", nowhere());
    if let Some(url) = database_url {
        command.env("RELINK_DATABASE_URL", url);
    }
    feed(command, args, stdin)
}

/// Runs `command ARGS` with `stdin` as standard input and collects its output.
fn feed(mut command: Command, args: &[&str], stdin: &str) -> Output {
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the relink binary starts");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("relink finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a command that must succeed and returns its standard output.
fn ok(dir: &Path, url: Option<&str>, args: &[&str], stdin: &str) -> String {
    let out = run(dir, url, args, stdin);
    assert!(out.status.success(), "relink {args:?} failed: {}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

/// Runs a command that must fail and returns its standard error.
fn fails(dir: &Path, url: Option<&str>, args: &[&str], stdin: &str) -> String {
    let out = run(dir, url, args, stdin);
    assert!(!out.status.success(), "relink {args:?} should have failed: {}", text(&out.stdout));
    text(&out.stderr)
}

const TOKEN_JSON: &str = r#"{"access_token":"EAAB-plain-access-7f3a9","refresh_token":"plain-refresh-c41d","expires_in":5184000,"scope":"pages_manage_posts"}"#;

/// The whole operator journey, on one engine.
fn operator_commands_work(dir: &Path, url: Option<&str>) {
    assert!(ok(dir, url, &["team", "add", "Acme", "--language", "it"], "").contains("team `Acme` created"));
    assert!(fails(dir, url, &["team", "add", "acme"], "").contains("already exists"));
    ok(dir, url, &["member", "add", "--team", "Acme", "Alice", "--role", "primary-owner", "--discord", "1234"], "");
    ok(dir, url, &["member", "add", "--team", "acme", "Bob", "--role", "editor", "--telegram", "5678"], "");
    let members = ok(dir, url, &["member", "list", "--team", "Acme"], "");
    assert!(members.contains("Alice") && members.contains("primary_owner") && members.contains("5678"), "{members}");

    let added = ok(
        dir,
        url,
        &[
            "channel",
            "add",
            "--team",
            "Acme",
            "--provider",
            "facebook",
            "--account",
            "1001",
            "--name",
            "Acme Facebook",
            "--authorized-by",
            "alice",
            "--unverified",
        ],
        TOKEN_JSON,
    );
    assert!(added.contains("Acme Facebook"), "{added}");
    ok(
        dir,
        url,
        &[
            "channel",
            "add",
            "--team",
            "Acme",
            "--provider",
            "twitter",
            "--account",
            "acme_x",
            "--name",
            "Acme X",
            "--unverified",
        ],
        "x-bare-token",
    );
    let list = ok(dir, url, &["channel", "list"], "");
    assert!(list.contains("Acme Facebook") && list.contains("Acme X") && list.contains("unknown"), "{list}");
    assert!(!list.contains("plain-access"), "{list}");

    ok(dir, url, &["post", "schedule", "--team", "Acme", "--channel", "facebook", "--at", "+2d", "--ref", "p1"], "");
    ok(dir, url, &["post", "schedule", "--team", "Acme", "--channel", "Acme X", "--at", "2099-01-01 10:00"], "");
    let posts = ok(dir, url, &["post", "list", "--team", "Acme"], "");
    assert!(posts.contains("p1") && posts.contains("2099-01-01 10:00 UTC"), "{posts}");
    ok(dir, url, &["channel", "activity", "--team", "Acme", "face", "--at", "2026-01-02"], "");
    let show = ok(dir, url, &["channel", "show", "--team", "Acme", "acme f"], "");
    for expected in
        ["Acme Facebook", "Alice (primary_owner)", "1 pending", "2026-01-02 00:00 UTC", "pages_manage_posts"]
    {
        assert!(show.contains(expected), "missing {expected}: {show}");
    }
    ok(dir, url, &["post", "cancel", "--team", "Acme", "1"], "");
    let posts = ok(dir, url, &["post", "list", "--team", "Acme", "--all"], "");
    assert!(posts.contains("cancelled"), "{posts}");

    // Bad input gets a clear message naming what was wrong, and changes nothing.
    let cases: &[(&[&str], &str, &str)] = &[
        (&["member", "add", "--team", "Nope", "Zed", "--role", "admin"], "", "no team named `Nope` (teams: Acme)"),
        (&["member", "add", "--team", "Acme", "Zed", "--role", "boss"], "", "role: `boss` is not one of"),
        (&["member", "add", "--team", "Acme", "Zed", "--role", "admin", "--discord", "@zed"], "", "discord user id"),
        (&["member", "add", "--team", "Acme", "Carol", "--role", "primary_owner"], "", "already has a primary owner"),
        (
            &[
                "channel",
                "add",
                "--team",
                "Acme",
                "--provider",
                "myspace",
                "--account",
                "1",
                "--name",
                "M",
                "--unverified",
            ],
            "t",
            "provider: `myspace`",
        ),
        (
            &[
                "channel",
                "add",
                "--team",
                "Acme",
                "--provider",
                "fb",
                "--account",
                "1001",
                "--name",
                "Again",
                "--unverified",
            ],
            "t",
            "already has a facebook channel",
        ),
        (
            &["channel", "add", "--team", "Acme", "--provider", "fb", "--account", "9", "--name", "N", "--unverified"],
            "",
            "tokens: no token given",
        ),
        (&["channel", "show", "--team", "Acme", "acme"], "", "matches several channels"),
        (&["channel", "show", "--team", "Acme", "zebra"], "", "no channel matches `zebra`"),
        (
            &["post", "schedule", "--team", "Acme", "--channel", "Acme X", "--at", "next tuesday"],
            "",
            "at: `next tuesday` is not a date",
        ),
        (&["post", "schedule", "--team", "Acme", "--channel", "Acme X", "--at", "2001-01-01"], "", "in the past"),
        (&["post", "cancel", "--team", "Acme", "abc"], "", "post id: `abc` is not a positive number"),
        (&["team", "add", "Zed", "--language", "klingon"], "", "language: `klingon`"),
        (&["member", "remove", "--team", "Acme", "Nobody"], "", "no member named `Nobody`"),
    ];
    for (args, stdin, expected) in cases {
        let err = fails(dir, url, args, stdin);
        assert!(err.contains(expected), "relink {args:?}: expected `{expected}` in: {err}");
    }
    out_of_range_input_exits_2_naming_the_flag(dir, url);
    let members = ok(dir, url, &["member", "list", "--team", "Acme"], "");
    assert!(!members.contains("Zed") && !members.contains("Carol"), "{members}");

    assert!(fails(dir, url, &["channel", "remove", "--team", "Acme", "Acme X"], "").contains("--yes"));
    ok(dir, url, &["channel", "remove", "--team", "Acme", "Acme X", "--yes"], "");
    let removed = ok(dir, url, &["member", "remove", "--team", "Acme", "alice"], "");
    assert!(removed.contains("authorised Acme Facebook"), "{removed}");
    let list = ok(dir, url, &["channel", "list", "--team", "acme"], "");
    assert!(list.contains("Acme Facebook") && !list.contains("Acme X"), "{list}");
}

/// Times and durations a hundred million days ahead: a usage error naming the flag, never a
/// panic (exit 101), and nothing changes.
fn out_of_range_input_exits_2_naming_the_flag(dir: &Path, url: Option<&str>) {
    let far = "+100000000d";
    let cases: &[(&[&str], &str, &str)] = &[
        (&["post", "schedule", "--team", "Acme", "--channel", "Acme Facebook", "--at", far], "", "--at"),
        (&["channel", "activity", "--team", "Acme", "Acme Facebook", "--at", far], "", "--at"),
        (
            &[
                "channel",
                "add",
                "--team",
                "Acme",
                "--provider",
                "linkedin",
                "--account",
                "u",
                "--name",
                "L",
                "--expires-at",
                far,
            ],
            "plain-token",
            "--expires-at",
        ),
        (
            &["channel", "add", "--team", "Acme", "--provider", "linkedin", "--account", "u", "--name", "L"],
            r#"{"access_token":"a","expires_in":9223372036854775807}"#,
            "expires_in",
        ),
        (&["incident", "snooze", "--team", "Acme", "1", "--by", "Alice", "--until", far], "", "--until"),
        (&["alerts", "settings", "--team", "Acme", "--escalate-after", "100000000d"], "", "--escalate-after"),
        (&["alerts", "settings", "--team", "Acme", "--first-reminder", "400d"], "", "--first-reminder"),
        (&["alerts", "settings", "--team", "Acme", "--reminder-every", "0s"], "", "--reminder-every"),
        (&["alerts", "settings", "--team", "Acme", "--check-every", "8d"], "", "--check-every"),
        (&["alerts", "settings", "--team", "Acme", "--check-every", "1m"], "", "--check-every"),
        (
            &["alerts", "settings", "--team", "Acme", "--timezone", "Mars/Olympus"],
            "",
            "--timezone: `Mars/Olympus` is not a time zone name such as Europe/Rome",
        ),
        (&["alerts", "settings", "--team", "Acme", "--timezone", ""], "", "--timezone: give an IANA name"),
        (
            &["alerts", "settings", "--team", "Acme", "--quiet-hours", "25:00-08:00"],
            "",
            "--quiet-hours: `25:00-08:00` is not a span of hours such as 20:00-08:00",
        ),
        (&["alerts", "settings", "--team", "Acme", "--quiet-hours", "08:00-08:00"], "", "--quiet-hours: the start"),
        (&["alerts", "settings", "--team", "Acme", "--quiet-hours", "evenings"], "", "`none` clears them"),
        (
            &["alerts", "settings", "--team", "Acme", "--reset", "--timezone", "Asia/Tokyo"],
            "",
            "cannot be used with '--timezone",
        ),
    ];
    for (args, stdin, flag) in cases {
        let out = run(dir, url, args, stdin);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "relink {args:?}: {err}");
        assert!(err.contains(flag), "relink {args:?}: expected `{flag}` in: {err}");
    }
    let settings = ok(dir, url, &["alerts", "settings", "--team", "Acme"], "");
    assert!(!settings.contains("(this team)"), "nothing was stored: {settings}");
    a_teams_calendar_is_set_shown_and_cleared(dir, url);
}

/// `relink alerts settings --timezone --quiet-hours`: set, shown with the other settings on
/// every later run, kept when another setting changes, and cleared back to the defaults.
fn a_teams_calendar_is_set_shown_and_cleared(dir: &Path, url: Option<&str>) {
    let line = |shown: &str, name: &str| -> String {
        let found = shown.lines().find(|l| l.trim_start().starts_with(name));
        found.map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default()
    };
    let shown = ok(dir, url, &["alerts", "settings", "--team", "Acme"], "");
    assert_eq!(line(&shown, "time zone"), "time zone UTC (default)", "{shown}");
    assert_eq!(line(&shown, "quiet hours"), "quiet hours none (default)", "{shown}");

    let args = ["alerts", "settings", "--team", "Acme", "--timezone", " Europe/Rome", "--quiet-hours", "20:00-8:00"];
    let set = ok(dir, url, &args, "");
    assert_eq!(line(&set, "time zone"), "time zone Europe/Rome (this team)", "{set}");
    assert_eq!(line(&set, "quiet hours"), "quiet hours 20:00-08:00 (this team)", "{set}");
    // Read back by a later run, and kept when another setting changes.
    ok(dir, url, &["alerts", "settings", "--team", "Acme", "--escalate-after", "2h"], "");
    let shown = ok(dir, url, &["alerts", "settings", "--team", "Acme"], "");
    assert_eq!(line(&shown, "time zone"), "time zone Europe/Rome (this team)", "{shown}");
    assert_eq!(line(&shown, "quiet hours"), "quiet hours 20:00-08:00 (this team)", "{shown}");
    assert_eq!(line(&shown, "escalate after"), "escalate after 2h (this team)", "{shown}");

    // `none` clears the quiet hours alone; UTC is the default zone.
    let cleared = ok(dir, url, &["alerts", "settings", "--team", "Acme", "--quiet-hours", "none"], "");
    assert_eq!(line(&cleared, "quiet hours"), "quiet hours none (default)", "{cleared}");
    assert_eq!(line(&cleared, "time zone"), "time zone Europe/Rome (this team)", "{cleared}");
    ok(dir, url, &["alerts", "settings", "--team", "Acme", "--timezone", "UTC"], "");
    let shown = ok(dir, url, &["alerts", "settings", "--team", "Acme"], "");
    assert_eq!(line(&shown, "time zone"), "time zone UTC (default)", "{shown}");
    assert_eq!(line(&shown, "escalate after"), "escalate after 2h (this team)", "{shown}");

    ok(
        dir,
        url,
        &["alerts", "settings", "--team", "Acme", "--timezone", "Asia/Tokyo", "--quiet-hours", "22:00-06:30"],
        "",
    );
    let reset = ok(dir, url, &["alerts", "settings", "--team", "Acme", "--reset"], "");
    assert!(!reset.contains("(this team)"), "{reset}");
    assert_eq!(line(&reset, "time zone"), "time zone UTC (default)", "{reset}");
}

#[test]
fn operator_commands_work_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    operator_commands_work(dir.path(), None);
    assert!(dir.path().join("relink-data/relink.db").exists());
}

#[tokio::test]
async fn operator_commands_work_on_postgres() {
    let url = fresh_postgres_url().await;
    let dir = tempfile::tempdir().expect("temp dir");
    tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || operator_commands_work(&dir, Some(&url))
    })
    .await
    .expect("the journey completes");
    assert!(!dir.path().join("relink-data/relink.db").exists(), "PostgreSQL was used, not SQLite");
}

/// Every file in `dir`, read as bytes.
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            let path = entry.expect("entry").path();
            (path.display().to_string(), std::fs::read(&path).expect("read file"))
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn tokens_are_absent_from_the_database_files_and_from_trace_logs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut logs = String::new();
    let mut traced = |args: &[&str], stdin: &str| {
        let mut command = relink(dir.path());
        command.env("RELINK_LOG", "trace").env("RELINK_PROVIDERS__SIMULATOR", nowhere());
        let out = feed(command, args, stdin);
        assert!(out.status.success(), "{}", text(&out.stderr));
        logs.push_str(&text(&out.stdout));
        logs.push_str(&text(&out.stderr));
    };
    traced(&["team", "add", "Acme"], "");
    traced(
        &[
            "channel",
            "add",
            "--team",
            "Acme",
            "--provider",
            "linkedin",
            "--account",
            "urn1",
            "--name",
            "Acme LI",
            "--unverified",
        ],
        TOKEN_JSON,
    );
    traced(&["channel", "show", "--team", "Acme", "Acme LI"], "");
    traced(&["keys", "rotate"], "");
    traced(&["channel", "list"], "");
    assert!(logs.contains("TRACE") || logs.contains("DEBUG"), "trace logging was on");
    for secret in ["EAAB-plain-access-7f3a9", "plain-refresh-c41d"] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
        for (file, bytes) in all_bytes(&dir.path().join("relink-data")) {
            assert!(!contains(&bytes, secret), "{secret} is readable in {file}");
        }
    }
}

#[tokio::test]
async fn rotated_keys_still_open_every_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        ok(&path, None, &["team", "add", "Acme"], "");
        ok(
            &path,
            None,
            &["channel", "add", "--team", "Acme", "--provider", "fb", "--account", "1", "--name", "A", "--unverified"],
            TOKEN_JSON,
        );
        let rotated = ok(&path, None, &["keys", "rotate"], "");
        assert!(rotated.contains("key 2") && rotated.contains("1 channel(s) re-sealed"), "{rotated}");
        let list = ok(&path, None, &["keys", "list"], "");
        assert!(list.contains("seals new tokens") && list.contains("opens older tokens"), "{list}");
    })
    .await
    .expect("rotation");
    let data = dir.path().join("relink-data");
    let ring: Keyring = relink_core::keyfile::load(&data.join("relink.key")).expect("key file");
    assert_eq!(ring.active_id(), 2);
    let db = Db::connect(&format!("sqlite://{}", data.join("relink.db").display())).await.expect("db");
    let store = Store::open(db, ring, chrono::Utc::now()).await.expect("store");
    let channel = store.channels(None).await.expect("channels").remove(0);
    let tokens = store.tokens(channel.id).await.expect("tokens open after rotation");
    assert_eq!(tokens.access_token.expose_secret(), "EAAB-plain-access-7f3a9");
    assert_eq!(store.channels_per_key().await.expect("per key"), vec![(2, 1)]);
}

#[test]
fn a_lost_key_file_is_never_silently_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    ok(dir.path(), None, &["team", "add", "Acme"], "");
    ok(
        dir.path(),
        None,
        &["channel", "add", "--team", "Acme", "--provider", "fb", "--account", "1", "--name", "A", "--unverified"],
        "tok",
    );
    std::fs::remove_file(dir.path().join("relink-data/relink.key")).expect("remove key");
    let err = fails(dir.path(), None, &["channel", "list"], "");
    assert!(err.contains("key file") && err.contains("restore"), "{err}");
    assert!(!dir.path().join("relink-data/relink.key").exists(), "no new key was generated");
}

#[test]
fn config_check_redacts_secrets_and_explains_each_bad_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = relink(dir.path())
        .args(["config", "check"])
        .env("RELINK_DATABASE_URL", "postgres://relink:pa55word@127.0.0.1:5999/relink")
        .env("RELINK_TELEGRAM__TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        .output()
        .expect("config check");
    let out = text(&good.stdout);
    assert!(good.status.success(), "{out}{}", text(&good.stderr));
    assert!(
        out.contains("postgres://relink:[REDACTED]@127.0.0.1:5999/relink")
            && out.contains("environment variable RELINK_DATABASE_URL"),
        "{out}"
    );
    assert!(!out.contains("pa55word") && !out.contains("ABCDEFGHIJ"), "{out}");

    std::fs::write(dir.path().join("relink.toml"), "[web]\nbind = \"everywhere\"\n").expect("write config");
    let bad = relink(dir.path())
        .args(["config", "check"])
        .env("RELINK_ENCRYPTION_KEYS", "1:tooshort")
        .output()
        .expect("config check");
    assert_eq!(bad.status.code(), Some(2));
    let err = text(&bad.stderr);
    assert!(
        err.contains("web.bind") && err.contains("relink.toml") && err.contains("`everywhere` is not an address"),
        "{err}"
    );
    assert!(err.contains("encryption_keys") && err.contains("RELINK_ENCRYPTION_KEYS"), "{err}");
    let serve = relink(dir.path()).arg("serve").output().expect("serve with bad config");
    assert_eq!(serve.status.code(), Some(2), "serve refuses an invalid configuration");
}

#[test]
fn a_database_that_is_down_gets_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let err = fails(dir.path(), Some(&format!("postgres://relink@127.0.0.1:{port}/relink")), &["team", "list"], "");
    assert!(err.contains("database is unavailable") || err.contains("cannot connect"), "{err}");
}

/// A Discord that refuses every message for good (the member blocked the bot).
#[derive(Debug)]
struct Refusing;

#[async_trait::async_trait]
impl relink_core::alerts::Notifier for Refusing {
    fn platform(&self) -> relink_core::ChatPlatform {
        relink_core::ChatPlatform::Discord
    }

    async fn send(
        &self,
        _: relink_core::alerts::Destination,
        _: &relink_core::alerts::Outgoing<'_>,
    ) -> Result<relink_core::alerts::SentRef, relink_core::alerts::NotifyError> {
        Err(relink_core::alerts::NotifyError::Permanent("the user blocked the bot".into()))
    }
}

#[tokio::test]
async fn incidents_and_failed_deliveries_are_handled_from_the_command_line() {
    use std::collections::HashMap;
    use std::sync::Arc;

    use relink::app::App;
    use relink_core::alerts::NoLinks;
    use relink_core::provider::Providers;
    use relink_web::WebSettings;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        ok(&path, None, &["team", "add", "Acme"], "");
        ok(&path, None, &["member", "add", "--team", "Acme", "Alice", "--role", "admin", "--discord", "1234"], "");
        ok(&path, None, &["member", "add", "--team", "Acme", "Eve", "--role", "editor"], "");
        let add = [
            "channel",
            "add",
            "--team",
            "Acme",
            "--provider",
            "fb",
            "--account",
            "1",
            "--name",
            "Acme FB",
            "--unverified",
        ];
        ok(&path, None, &[&add[..], &["--authorized-by", "Alice"]].concat(), TOKEN_JSON);
    })
    .await
    .expect("setup");

    // The checker's transition, and what `relink serve` does with it.
    let data = dir.path().join("relink-data");
    let ring: Keyring = relink_core::keyfile::load(&data.join("relink.key")).expect("key file");
    let db = Db::connect(&format!("sqlite://{}", data.join("relink.db").display())).await.expect("db");
    let now = chrono::Utc::now();
    let store = Store::open(db, ring, now).await.expect("store");
    let channel = store.channels(None).await.expect("channels").remove(0);
    crate::support::keep_the_digest_away(&store, channel.team_id, now).await;
    let expired = relink_core::Health::NeedsReauth(relink_core::Reason::Expired);
    store.set_health(channel.id, &expired, None, now - chrono::Duration::minutes(5)).await.expect("transition");
    let public_url = url::Url::parse("https://relink.test/").expect("a URL");
    let app = App::builder(store.clone(), Providers::new(HashMap::new()), Arc::new(relink_core::SystemClock))
        .web(WebSettings::new(public_url, std::time::Duration::from_secs(86_400)))
        .links(Arc::new(NoLinks))
        .notifier(Arc::new(Refusing))
        .build()
        .expect("relink builds");
    let (engine, deliverer) = (app.engine.expect("an alerts engine"), app.deliverer.expect("a deliverer"));
    engine.pass(now).await.expect("an engine pass");
    assert_eq!(deliverer.deliver_due(now).await.expect("a delivery pass").dead, 1);
    store.db().close().await;

    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let incidents = ok(&path, None, &["incident", "list", "--team", "Acme"], "");
        assert!(incidents.contains("Acme FB") && incidents.contains("needs_reauth") && incidents.contains("expired"));
        let refused =
            fails(&path, None, &["incident", "snooze", "--team", "Acme", "1", "--by", "Eve", "--until", "+1d"], "");
        assert!(refused.contains("Eve is an editor: only the primary owner, owners and admins"), "{refused}");
        ok(&path, None, &["incident", "ack", "--team", "Acme", "1", "--by", "alice"], "");
        assert!(ok(&path, None, &["incident", "list"], "").contains("acknowledged by Alice"));

        let alerts = ok(&path, None, &["alerts", "list", "--team", "Acme"], "");
        assert!(alerts.contains("disconnected") && alerts.contains("0/1"), "{alerts}");
        let shown = ok(&path, None, &["alerts", "show", "1"], "");
        assert!(
            shown.contains("Acme FB (Facebook) is disconnected") && shown.contains("Authorised by Alice."),
            "{shown}"
        );
        let failed = ok(&path, None, &["alerts", "failed"], "");
        assert!(failed.contains("discord_user:1234") && failed.contains("the user blocked the bot"), "{failed}");
        assert!(ok(&path, None, &["alerts", "retry", "--all"], "").contains("1 delivery queued again"));
        assert!(ok(&path, None, &["alerts", "failed"], "").contains("no failed deliveries"));
        assert!(fails(&path, None, &["alerts", "retry", "7"], "").contains("no failed delivery with id 7"));

        let settings = ok(&path, None, &["alerts", "settings", "--team", "Acme", "--warning-days", "7,1"], "");
        assert!(settings.contains("7,1") && settings.contains("(this team)") && settings.contains("(configuration)"));
        let bad = fails(&path, None, &["alerts", "settings", "--team", "Acme", "--warning-days", "30"], "");
        assert!(bad.contains("--warning-days"), "{bad}");
    })
    .await
    .expect("the commands");
}

/// `relink channel add` asks the network whose token it is: another account's token is a usage
/// error naming `--account`; a token the network rejects, or a network that cannot be asked, is
/// refused unless `--unverified` (then a rejected token starts as needing a reconnect).
#[tokio::test]
async fn a_channel_whose_token_is_another_accounts_or_junk_is_refused_at_the_command_line() {
    use relink_simulator::{AccountOptions, Simulator};
    let sim = Simulator::new(std::sync::Arc::new(relink_core::SystemClock)).spawn().await.expect("the simulator");
    sim.simulator().add_account(relink_core::Provider::X, "victim", AccountOptions::default()).expect("victim");
    let beta = sim.simulator().add_account(relink_core::Provider::X, "beta", AccountOptions::default()).expect("beta");
    let base = sim.base_url().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let add = |account: &str, name: &str, extra: &[&str], token: &str, network: &str| {
            let mut command = relink(&path);
            command.env("RELINK_PROVIDERS__SIMULATOR", network);
            let args = [
                &["channel", "add", "--team", "Beta", "--provider", "x", "--account", account, "--name", name][..],
                extra,
            ]
            .concat();
            feed(command, &args, token)
        };
        ok(&path, None, &["team", "add", "Beta"], "");

        let theirs = add("victim", "Not ours", &[], &beta.access_token, &base);
        assert_eq!(theirs.status.code(), Some(2), "{}", text(&theirs.stderr));
        let err = text(&theirs.stderr);
        assert!(err.contains("--account") && err.contains("`beta`") && err.contains("`victim`"), "{err}");
        let anyway = add("victim", "Not ours", &["--unverified"], &beta.access_token, &base);
        assert_eq!(anyway.status.code(), Some(2), "another account's token is refused even unverified");

        let junk = add("victim", "Junk", &[], "junk-token", &base);
        assert_eq!(junk.status.code(), Some(1));
        let err = text(&junk.stderr);
        assert!(err.contains("rejects this token") && err.contains("--unverified"), "{err}");
        let unreachable = add("beta", "Later", &[], &beta.access_token, &nowhere());
        assert!(text(&unreachable.stderr).contains("try again later"), "{}", text(&unreachable.stderr));
        assert!(ok(&path, None, &["channel", "list"], "").contains("no channels yet"), "nothing was registered");

        let forced = add("victim", "Junk", &["--unverified"], "junk-token", &base);
        assert!(forced.status.success(), "{}", text(&forced.stderr));
        assert!(text(&forced.stdout).contains("unverified"), "{}", text(&forced.stdout));
        let own = add("beta", "Beta X", &[], &beta.access_token, &base);
        assert!(own.status.success(), "{}", text(&own.stderr));
        assert!(text(&own.stdout).contains("confirms the token is account beta's"), "{}", text(&own.stdout));
        let list = ok(&path, None, &["channel", "list"], "");
        let junk_row = list.lines().find(|l| l.contains("Junk")).expect("the junk channel");
        assert!(junk_row.contains("needs_reauth"), "{list}");
    })
    .await
    .expect("the commands");
}

/// `relink` creates its data directory readable only by its owner, with the database and key
/// file inside it 0600, as the README promises.
#[cfg(unix)]
#[test]
fn the_data_directory_database_and_key_file_are_readable_only_by_their_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |path: &Path| std::fs::metadata(path).expect("it exists").permissions().mode() & 0o777;
    let dir = tempfile::tempdir().expect("temp dir");
    ok(dir.path(), None, &["team", "add", "Acme"], "");
    let data = dir.path().join("relink-data");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("relink.db")), 0o600);
    assert_eq!(mode(&data.join("relink.key")), 0o600);
}

/// `relink team dashboard-link`: a single-use sign-in link to the team page for any member,
/// printed once per call; an unknown member or team is named.
#[test]
fn team_dashboard_link_prints_a_fresh_sign_in_link_for_a_member() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    ok(d, None, &["team", "add", "Acme"], "");
    ok(d, None, &["member", "add", "--team", "Acme", "Vera", "--role", "viewer"], "");
    let printed = ok(d, None, &["team", "dashboard-link", "--team", "acme", "--member", "vera"], "");
    assert!(printed.contains("for Vera (viewer) in `Acme`, single use"), "{printed}");
    assert!(printed.contains("http://127.0.0.1:8080/team/sign-in/"), "{printed}");
    let again = ok(d, None, &["team", "dashboard-link", "--team", "Acme", "--member", "Vera"], "");
    assert_ne!(printed, again, "every call mints a fresh link");
    let nobody = run(d, None, &["team", "dashboard-link", "--team", "Acme", "--member", "Zed"], "");
    assert!(!nobody.status.success());
    assert!(text(&nobody.stderr).contains("Zed"), "{}", text(&nobody.stderr));
}

/// `relink channel reconnect`, which the README shows: a fresh link for the channel's authoriser
/// when they may reconnect, or for the owner or admin named; an editor is refused, and a channel
/// without a recorded authoriser needs `--member`.
#[test]
fn channel_reconnect_prints_a_link_for_someone_who_may_reconnect() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    ok(d, None, &["team", "add", "Acme"], "");
    ok(d, None, &["member", "add", "--team", "Acme", "Alice", "--role", "admin"], "");
    ok(d, None, &["member", "add", "--team", "Acme", "Eve", "--role", "editor"], "");
    let add = |name: &str, account: &str, by: &[&str]| {
        let args = [
            &["channel", "add", "--team", "Acme", "--provider", "fb", "--account", account, "--name", name][..],
            by,
            &["--unverified"],
        ]
        .concat();
        ok(d, None, &args, "tok");
    };
    add("Acme FB", "1", &["--authorized-by", "Alice"]);
    add("Eve Page", "2", &["--authorized-by", "Eve"]);
    add("Orphan Page", "3", &[]);

    let printed = ok(d, None, &["channel", "reconnect", "--team", "Acme", "acme fb"], "");
    assert!(printed.contains("for Alice only") && printed.contains("http://127.0.0.1:8080/r/"), "{printed}");
    let again = ok(d, None, &["channel", "reconnect", "--team", "Acme", "acme fb"], "");
    assert_ne!(printed, again, "every call mints a fresh link");

    let editor = run(d, None, &["channel", "reconnect", "--team", "Acme", "acme fb", "--member", "Eve"], "");
    assert_eq!(editor.status.code(), Some(2));
    assert!(text(&editor.stderr).contains("only the primary owner, owners and admins"), "{}", text(&editor.stderr));
    let by_editor = run(d, None, &["channel", "reconnect", "--team", "Acme", "Eve Page"], "");
    assert_eq!(by_editor.status.code(), Some(2));
    assert!(text(&by_editor.stderr).contains("--member"), "{}", text(&by_editor.stderr));
    let orphan = run(d, None, &["channel", "reconnect", "--team", "Acme", "orphan"], "");
    assert_eq!(orphan.status.code(), Some(2));
    assert!(text(&orphan.stderr).contains("--member"), "{}", text(&orphan.stderr));
    let named = ok(d, None, &["channel", "reconnect", "--team", "Acme", "orphan", "--member", "alice"], "");
    assert!(named.contains("for Alice only") && named.contains("/r/"), "{named}");
}

/// `post schedule --at +3h` on a channel just checked used to leave its next check 19 hours
/// after the post; `channel check` asks the network now and says what it found.
#[tokio::test]
async fn a_post_scheduled_from_the_command_line_is_checked_before_it_and_check_asks_the_network_now() {
    use relink_simulator::{AccountOptions, Simulator};
    let sim = Simulator::new(std::sync::Arc::new(relink_core::clock::SystemClock)).spawn().await.expect("simulator");
    let issued = sim.simulator().add_account(relink_core::Provider::Facebook, "cli-page", AccountOptions::default());
    let access = issued.expect("an account").access_token;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    let sim_url = sim.base_url().to_string();
    let run_in = move |args: &[&str], stdin: &str| {
        let mut command = relink(&path);
        command.env("RELINK_PROVIDERS__SIMULATOR", &sim_url);
        feed(command, args, stdin)
    };
    let run = run_in.clone();
    let outputs = tokio::task::spawn_blocking(move || {
        run(&["team", "add", "Acme"], "");
        let add = ["channel", "add", "--team", "Acme", "--provider", "fb", "--account", "cli-page", "--name", "Page"];
        run(&add, &access);
        let checked = run(&["channel", "check", "--team", "Acme", "page"], "");
        let scheduled = run(&["post", "schedule", "--team", "Acme", "--channel", "page", "--at", "+3h"], "");
        (checked, scheduled)
    })
    .await
    .expect("the commands run");
    let (checked, scheduled) = outputs;
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    assert!(text(&checked.stdout).contains("`Page` checked: healthy"), "{}", text(&checked.stdout));
    assert!(scheduled.status.success(), "{}", text(&scheduled.stderr));

    let data = dir.path().join("relink-data");
    let ring: Keyring = relink_core::keyfile::load(&data.join("relink.key")).expect("key file");
    let db = Db::connect(&format!("sqlite://{}", data.join("relink.db").display())).await.expect("db");
    let store = Store::open(db, ring, chrono::Utc::now()).await.expect("store");
    let channel = store.channels(None).await.expect("channels").remove(0);
    let post = store.pending_posts(channel.id, chrono::Utc::now()).await.expect("posts").remove(0);
    assert!(
        channel.next_check_at <= post.due_at - chrono::Duration::hours(1),
        "next check {} is not an hour before the post at {}",
        channel.next_check_at,
        post.due_at
    );

    sim.simulator().revoke_app(relink_core::Provider::Facebook, "cli-page").expect("revoke");
    let dead = tokio::task::spawn_blocking(move || run_in(&["channel", "check", "--team", "Acme", "page"], ""))
        .await
        .expect("the command runs");
    assert_eq!(dead.status.code(), Some(1), "{}", text(&dead.stdout));
    assert!(text(&dead.stderr).contains("needs reconnecting"), "{}", text(&dead.stderr));
}

/// A Telegram channel's id is negative and is taken as the account, not as a flag; and
/// `relink channel list | head`, whose reader goes away early, ends quietly as Unix tools do
/// instead of panicking.
#[test]
fn a_negative_telegram_id_is_an_account_and_a_closed_pipe_ends_a_listing_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    ok(d, None, &["team", "add", "Acme"], "");
    let add = ["channel", "add", "--team", "Acme", "--provider", "telegram", "--account", "-1001234567890"];
    let added = ok(d, None, &[&add[..], &["--name", "Acme news", "--unverified"]].concat(), "tok");
    assert!(added.contains("Acme news"), "{added}");
    let shown = ok(d, None, &["channel", "show", "--team", "Acme", "news"], "");
    assert!(shown.contains("account -1001234567890"), "{shown}");

    let mut child = relink(d)
        .env("RELINK_PROVIDERS__SIMULATOR", nowhere())
        .args(["channel", "list"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the relink binary starts");
    // The reader is gone before relink has opened its database, let alone printed.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("relink finishes");
    assert_eq!(out.status.code(), Some(141), "the status a shell shows for SIGPIPE: {}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
}

/// `relink channel refresh` once printed "renewed; its health is now degraded" after a renewal
/// whose follow-up check the network did not answer. Each outcome now reads right, through the
/// real binary against the simulator: renewed and healthy; renewed but the network not answering
/// (nothing to do); too young to extend (when it will be, nothing to do); refused (why, in
/// words, and how to reconnect, exiting 1).
#[tokio::test]
async fn channel_refresh_says_what_happened_renewed_not_answering_not_yet_or_refused() {
    use relink_core::Provider;
    use relink_simulator::{AccountOptions, Issued, Simulator};
    let sim = Simulator::new(std::sync::Arc::new(relink_core::SystemClock)).spawn().await.expect("the simulator");
    let issue = |provider, account| sim.simulator().add_account(provider, account, AccountOptions::default());
    let (fine, silent, gone) = (
        issue(Provider::X, "x-fine").unwrap(),
        issue(Provider::X, "x-silent").unwrap(),
        issue(Provider::X, "x-gone").unwrap(),
    );
    let young = issue(Provider::Threads, "threads-young").expect("a Threads account");
    let base = sim.base_url().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    // The token input as the network's token endpoint would answer it.
    let input = |issued: &Issued| {
        let seconds = issued.expires_at.map(|at| (at - chrono::Utc::now()).num_seconds());
        serde_json::json!({
            "access_token": issued.access_token,
            "refresh_token": issued.refresh_token,
            "expires_in": seconds,
            "scope": issued.scopes.join(" "),
        })
        .to_string()
    };
    let inputs = [fine.clone(), silent.clone(), gone.clone(), young.clone()].map(|issued| input(&issued));
    let run = move |env: &[(&str, &str)], args: &[&str], stdin: &str| {
        let mut command = relink(&path);
        command.env("RELINK_PROVIDERS__SIMULATOR", &base);
        for (key, value) in env {
            command.env(key, value);
        }
        feed(command, args, stdin)
    };
    let run_later = run.clone();
    tokio::task::spawn_blocking(move || {
        let ok = |out: Output| {
            assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
            text(&out.stdout)
        };
        ok(run(&[], &["team", "add", "Acme"], ""));
        for ((provider, account, name), stdin) in [
            ("x", "x-fine", "Fine"),
            ("x", "x-silent", "Silent"),
            ("x", "x-gone", "Gone"),
            ("threads", "threads-young", "Young"),
        ]
        .into_iter()
        .zip(&inputs)
        {
            let add =
                ["channel", "add", "--team", "Acme", "--provider", provider, "--account", account, "--name", name];
            ok(run(&[], &add, stdin));
        }
    })
    .await
    .expect("the channels are added");

    sim.simulator().revoke_app(Provider::X, "x-gone").expect("revoke");
    let run = run_later;
    let (renewed, silent_out, young_out, refused) = tokio::task::spawn_blocking(move || {
        let refresh = |env: &[(&str, &str)], name: &str| run(env, &["channel", "refresh", "--team", "Acme", name], "");
        // The network's API hangs up while its token endpoint answers: the renewal is saved, the
        // check that follows gets no answer.
        let api_down = [("RELINK_PROVIDERS__X__API_BASE", nowhere())];
        let api_down: Vec<(&str, &str)> = api_down.iter().map(|(k, v)| (*k, v.as_str())).collect();
        (refresh(&[], "fine"), refresh(&api_down, "silent"), refresh(&[], "young"), refresh(&[], "gone"))
    })
    .await
    .expect("the refreshes run");

    assert!(renewed.status.success(), "{}", text(&renewed.stderr));
    let said = text(&renewed.stdout);
    assert!(said.contains("`Fine` renewed: X accepts the new token; access now lasts until"), "{said}");

    assert!(silent_out.status.success(), "nothing is left to do: {}", text(&silent_out.stderr));
    let said = text(&silent_out.stdout);
    assert!(said.contains("`Silent`: the token was renewed and saved, but X is not answering right now"), "{said}");
    assert!(said.contains("nothing to do") && !said.contains("degraded"), "{said}");

    assert!(young_out.status.success(), "a young token is no failure: {}", text(&young_out.stderr));
    let said = text(&young_out.stdout);
    assert!(said.contains("`Young` was not renewed yet: Threads extends a token only from "), "{said}");
    assert!(said.contains("nothing to do"), "{said}");
    let from = said.split("only from ").nth(1).and_then(|rest| rest.split(" UTC").next()).unwrap_or_default();
    let from = chrono::NaiveDateTime::parse_from_str(from, "%Y-%m-%d %H:%M").expect("a time").and_utc();
    let wait = from - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::hours(23) && wait <= chrono::Duration::days(1),
        "a day after it was issued: {from}"
    );

    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    let said = text(&refused.stderr);
    assert!(said.contains("`Gone` was not renewed: X refused it."), "{said}");
    let words = relink_core::alerts::messages::catalog(relink_core::Language::En)
        .reason(&relink_core::Reason::AppRevoked)
        .explanation;
    assert!(said.contains(words), "the reason in words: {said}");
    assert!(said.contains("relink channel reconnect --team Acme"), "{said}");
    assert!(!said.contains("app_revoked") && !said.contains("needs_reauth"), "{said}");
}
