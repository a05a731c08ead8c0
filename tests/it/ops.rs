//! What operators run around the service, through the real binary: `relink doctor` against the
//! provider simulator and the Telegram and Discord fakes (and servers that hang or lie about
//! the time), `relink backup` beside a writer, shell completions, JSON logs, and the container's
//! build command against the README's.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use relink_core::store::{Db, Store};
use secrecy::ExposeSecret as _;

use crate::cli::relink;
use crate::support::discord::{APPLICATION_ID, FakeDiscord, VERIFY_KEY};
use crate::support::telegram::{BOT_TOKEN, FakeTelegram};
use crate::support::{TestStore, both_engines};

const DISCORD_TOKEN: &str = "discord-bot-token-for-doctor-tests";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a prepared command off the async runtime, so the fakes keep answering.
async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("relink runs")).await.expect("the command")
}

/// `relink ARGS` in `dir` with `env` set.
fn command(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut command = relink(dir);
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

/// A database and key file made by `relink team add`, in `dir/relink-data`.
fn seeded(dir: &Path) {
    let out = command(dir, &["team", "add", "Acme"], &[]).output().expect("relink runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Every part configured and answering: a clean bill, each network's redirect URI, and not one
/// secret in the output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_passes_a_good_setup_and_prints_each_networks_redirect_uri() {
    let sim = relink_simulator::Simulator::new(std::sync::Arc::new(relink_core::SystemClock))
        .spawn()
        .await
        .expect("the simulator");
    let telegram = FakeTelegram::start(Default::default()).await;
    let discord = FakeDiscord::start(Default::default()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    seeded(dir.path());
    let env = [
        ("RELINK_PROVIDERS__SIMULATOR", sim.base_url().to_string()),
        ("RELINK_TELEGRAM__TOKEN", BOT_TOKEN.to_owned()),
        ("RELINK_TELEGRAM__API_URL", telegram.url.to_string()),
        ("RELINK_DISCORD__TOKEN", DISCORD_TOKEN.to_owned()),
        ("RELINK_DISCORD__APPLICATION_ID", APPLICATION_ID.to_string()),
        ("RELINK_DISCORD__PUBLIC_KEY", VERIFY_KEY.to_owned()),
        ("RELINK_DISCORD__API_URL", discord.api_url().to_string()),
    ];
    let out = output(command(dir.path(), &["doctor"], &env)).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for expected in [
        "✓ configuration is valid",
        "is reachable and migrated",
        "relink-data/relink.key is private (0600)",
        "✓ facebook: app id and secret accepted",
        "✓ linkedin: client id and secret accepted",
        "⚠ x: app credentials cannot be checked without a user",
        "redirect URI to register: http://127.0.0.1:8080/oauth/callback/facebook",
        "redirect URI to register: http://127.0.0.1:8080/oauth/callback/oauth2",
        "✓ Telegram bot token valid (@relink_bot)",
        "✓ Telegram: no webhook set, as polling wants (0 update(s) pending)",
        "✓ Discord bot token valid",
        "✓ Discord application id and public key match",
        "✓ clock:",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in\n{stdout}");
    }
    assert!(!stdout.contains('✗'), "{stdout}");
    let everything = format!("{stdout}{}", text(&out.stderr));
    for secret in [BOT_TOKEN, DISCORD_TOKEN, "relink-sim-secret"] {
        assert!(!everything.contains(secret), "{secret} was printed:\n{everything}");
    }
}

/// Each failure is a ✗ with its fix, the run exits 1, and still nothing secret is printed.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_names_every_failure_with_its_fix_and_exits_1() {
    use std::os::unix::fs::PermissionsExt as _;
    let sim = relink_simulator::Simulator::new(std::sync::Arc::new(relink_core::SystemClock))
        .spawn()
        .await
        .expect("the simulator");
    let telegram = FakeTelegram::start(Default::default()).await;
    let discord = FakeDiscord::start(Default::default()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    seeded(dir.path());
    let key_file = dir.path().join("relink-data/relink.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // A database never migrated: every migration is pending.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let database = empty.join("relink.db");
    std::fs::write(&database, b"").expect("an empty database file");
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let wrong_telegram = "4242:a-token-botfather-never-issued-0000";
    let env = [
        ("RELINK_DATABASE_URL", format!("sqlite://{}", database.display())),
        ("RELINK_KEY_FILE", key_file.display().to_string()),
        ("RELINK_WEB__PUBLIC_URL", "http://relink.example".to_owned()),
        ("RELINK_PROVIDERS__SIMULATOR", sim.base_url().to_string()),
        ("RELINK_PROVIDERS__FACEBOOK__CLIENT_SECRET", "not-the-facebook-secret".to_owned()),
        ("RELINK_PROVIDERS__LINKEDIN__CLIENT_SECRET", "not-the-linkedin-secret".to_owned()),
        ("RELINK_TELEGRAM__TOKEN", wrong_telegram.to_owned()),
        ("RELINK_TELEGRAM__API_URL", telegram.url.to_string()),
        ("RELINK_DISCORD__TOKEN", DISCORD_TOKEN.to_owned()),
        ("RELINK_DISCORD__APPLICATION_ID", "1".to_owned()),
        ("RELINK_DISCORD__API_URL", discord.api_url().to_string()),
    ];
    let out = output(command(dir.path(), &["doctor"], &env)).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    for expected in [
        "✗ web.public_url http://relink.example is not https",
        "fix: serve relink behind TLS",
        "migration(s) pending",
        "0001 ",
        "fix: run `relink migrate`",
        &format!("fix: chmod 600 {}", key_file.display()),
        "✗ facebook: Meta refused the app id or secret",
        "✗ linkedin: LinkedIn refused the client id or secret",
        "fix: copy the id and secret of relink's LinkedIn app into providers.linkedin.client_id",
        "✗ Telegram refused the bot token",
        "fix: ask @BotFather",
        &format!("✗ Discord: discord.application_id is 1, the token's application is {APPLICATION_ID}"),
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in\n{stdout}");
    }
    let everything = format!("{stdout}{}", text(&out.stderr));
    for secret in [wrong_telegram, DISCORD_TOKEN, "not-the-facebook-secret", "not-the-linkedin-secret"] {
        assert!(!everything.contains(secret), "{secret} was printed:\n{everything}");
    }
}

/// A loopback server that accepts connections and never answers.
fn silent_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = listener.local_addr().expect("an address");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    format!("http://{address}/")
}

/// Networks and a Bot API that accept the connection and say nothing: each is "could not
/// reach" within the timeout, and the doctor ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_that_never_answers_is_could_not_reach_not_a_hang() {
    let silent = silent_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = url::Url::parse(&silent).ok().and_then(|u| u.port()).expect("a port");
    let env = [
        ("RELINK_PROVIDERS__SIMULATOR", silent.clone()),
        ("RELINK_TELEGRAM__TOKEN", BOT_TOKEN.to_owned()),
        ("RELINK_TELEGRAM__API_URL", silent),
        ("RELINK_DATABASE_URL", format!("postgres://relink:hunter2@127.0.0.1:{port}/relink")),
    ];
    let started = Instant::now();
    let out = output(command(dir.path(), &["doctor", "--timeout", "500ms"], &env)).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("✗ facebook: could not reach 127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("✗ Telegram: could not reach 127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("no answer before the timeout"), "{stdout}");
    assert!(stdout.contains("✗ database postgres://relink:[REDACTED]@127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("could not reach it within 1s"), "{stdout}");
    assert!(!stdout.contains("hunter2") && !text(&out.stderr).contains("hunter2"), "{stdout}");
    assert!(started.elapsed() < Duration::from_secs(30), "the doctor took {:?}", started.elapsed());
}

/// A loopback server that hangs up on every connection at once.
fn hang_up_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = listener.local_addr().expect("an address");
    std::thread::spawn(move || listener.incoming().for_each(drop));
    format!("http://{address}/")
}

/// A Bot API whose `Date` is two hours ahead of this machine's clock.
async fn telegram_two_hours_ahead() -> String {
    use axum::http::header::DATE;
    let ahead = chrono::Utc::now() + chrono::TimeDelta::hours(2);
    let date = ahead.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let app = axum::Router::new().fallback(move || {
        let date = date.clone();
        async move {
            let body = serde_json::json!({ "ok": true, "result": { "id": 1, "is_bot": true, "username": "late_bot",
                "url": "", "pending_update_count": 0 } });
            ([(DATE, date)], axum::Json(body))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_two_hours_off_the_networks_is_a_failure() {
    let telegram = telegram_two_hours_ahead().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [("RELINK_TELEGRAM__TOKEN", BOT_TOKEN.to_owned()), ("RELINK_TELEGRAM__API_URL", telegram)];
    let out = output(command(dir.path(), &["doctor"], &env)).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("✓ Telegram bot token valid (@late_bot)"), "{stdout}");
    assert!(stdout.contains("✗ clock: this machine is 7"), "{stdout}");
    assert!(
        stdout.contains("s behind the networks' clocks") && stdout.contains("fix: synchronise the clock"),
        "{stdout}"
    );
}

#[test]
fn an_invalid_configuration_is_a_failed_check_and_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = command(dir.path(), &["doctor"], &[("RELINK_LOG_FORMAT", "yaml".to_owned())]).output().expect("runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("✗ configuration: 1 problem(s)") && stdout.contains("log_format"), "{stdout}");
}

/// `relink healthcheck` (the container's `HEALTHCHECK`) asks `/healthz` on `web.bind`, read as
/// loopback when it is every address: 0 when it answers 200, 1 when it does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_asks_the_local_healthz_and_fails_when_it_does_not_answer() {
    let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let port = listener.local_addr().expect("an address").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().expect("temp dir");
    let healthy =
        output(command(dir.path(), &["healthcheck"], &[("RELINK_WEB__BIND", format!("0.0.0.0:{port}"))])).await;
    assert!(healthy.status.success(), "{}", text(&healthy.stderr));
    let gone = hang_up_server();
    let gone = url::Url::parse(&gone).ok().and_then(|u| u.port()).expect("a port");
    let down =
        output(command(dir.path(), &["healthcheck"], &[("RELINK_WEB__BIND", format!("127.0.0.1:{gone}"))])).await;
    assert_eq!(down.status.code(), Some(1), "{}", text(&down.stderr));
    assert!(text(&down.stderr).contains("/healthz did not answer"), "{}", text(&down.stderr));
}

const TOKEN_JSON: &str =
    r#"{"access_token":"EAAB-backup-access-7f3a9","refresh_token":"backup-refresh-c41d","expires_in":5184000}"#;

/// `relink backup` copies the database while another connection holds a write transaction
/// open (as `relink serve` does): the copy is the committed state, private, and opens with the
/// key file to the channel's tokens.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_beside_an_open_write_opens_with_the_key_file_and_holds_the_sealed_tokens() {
    use sqlx::Connection as _;
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        seeded(&path);
        let mut add = command(
            &path,
            &["channel", "add", "--team", "Acme", "--provider", "facebook", "--account", "1001", "--name", "Acme FB"],
            &[],
        );
        add.arg("--unverified").env("RELINK_PROVIDERS__SIMULATOR", hang_up_server());
        let mut child = add
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("relink runs");
        child.stdin.take().expect("stdin").write_all(TOKEN_JSON.as_bytes()).expect("write");
        assert!(child.wait().expect("relink ends").success());
    })
    .await
    .expect("seeding");

    let database = dir.path().join("relink-data/relink.db");
    let mut writer =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display())).await.expect("a connection");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut writer).await.expect("begin");
    sqlx::query("CREATE TABLE uncommitted (x INTEGER)").execute(&mut writer).await.expect("a write");

    let copy = dir.path().join("copy.db");
    let out = output(command(dir.path(), &["backup", "copy.db"], &[])).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let key_file = dir.path().join("relink-data/relink.key");
    assert!(stdout.contains("relink-data/relink.key") && stdout.contains("cannot be opened"), "{stdout}");
    sqlx::query("ROLLBACK").execute(&mut writer).await.expect("rollback");
    assert_eq!(std::fs::metadata(&copy).expect("the copy").permissions().mode() & 0o777, 0o600);

    let db = Db::connect(&format!("sqlite://{}", copy.display())).await.expect("the copy opens");
    assert!(db.pending_migrations().await.expect("migrations").is_empty());
    let ring = relink_core::keyfile::load(&key_file).expect("the key file");
    let store = Store::open(db, ring, chrono::Utc::now()).await.expect("the copy's keys match");
    let team = store.team_by_name("Acme").await.expect("the team");
    let channels = store.channels(Some(team.id)).await.expect("channels");
    assert_eq!(channels.len(), 1);
    let tokens = store.tokens(channels[0].id).await.expect("the sealed tokens open");
    assert_eq!(tokens.access_token.expose_secret(), "EAAB-backup-access-7f3a9");
    let mut raw =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}", copy.display())).await.expect("the copy again");
    let uncommitted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'uncommitted'")
        .fetch_one(&mut raw)
        .await
        .expect("a count");
    assert_eq!(uncommitted, 0, "the copy holds only committed writes");
}

#[test]
fn a_backup_never_overwrites_a_file_unless_forced() {
    let dir = tempfile::tempdir().expect("temp dir");
    seeded(dir.path());
    std::fs::write(dir.path().join("old.db"), b"yesterday's backup").expect("a file");
    let refused = command(dir.path(), &["backup", "old.db"], &[]).output().expect("runs");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("already exists") && text(&refused.stderr).contains("--force"));
    assert_eq!(std::fs::read(dir.path().join("old.db")).expect("the file"), b"yesterday's backup");
    let forced = command(dir.path(), &["backup", "old.db", "--force"], &[]).output().expect("runs");
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(std::fs::read(dir.path().join("old.db")).expect("the copy").starts_with(b"SQLite format 3"));
}

#[test]
fn a_backup_of_postgresql_points_to_pg_dump_without_the_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [("RELINK_DATABASE_URL", "postgres://relink:hunter2@127.0.0.1:1/relink".to_owned())];
    let out = command(dir.path(), &["backup", "relink.dump"], &env).output().expect("runs");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pg_dump --format=custom") && stderr.contains("postgres://relink@127.0.0.1:1/relink"));
    assert!(!stderr.contains("hunter2") && !text(&out.stdout).contains("hunter2"), "{stderr}");
    assert!(!dir.path().join("relink.dump").exists());
}

#[test]
fn completions_for_bash_zsh_and_fish_name_the_subcommands() {
    let dir = tempfile::tempdir().expect("temp dir");
    for shell in ["bash", "zsh", "fish"] {
        let out = command(dir.path(), &["completions", shell], &[]).output().expect("runs");
        let script = text(&out.stdout);
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        for subcommand in ["serve", "doctor", "backup", "channel", "completions"] {
            assert!(script.contains(subcommand), "{shell} completions lack {subcommand}");
        }
    }
}

#[test]
fn json_logs_are_one_object_a_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [("RELINK_LOG_FORMAT", "json".to_owned()), ("RELINK_LOG", "info".to_owned())];
    let out = command(dir.path(), &["migrate"], &env).output().expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "migrating a new database logs");
    for line in lines {
        let object: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(object["level"], "INFO", "{line}");
        assert!(object["timestamp"].is_string() && object["message"].is_string(), "{line}");
    }
    assert!(stderr.contains("\"message\":\"database migrated\""), "{stderr}");
}

/// The first `cargo build` in `text`, from `cargo` to the end of its line.
fn cargo_build(text: &str) -> Option<String> {
    text.lines().find_map(|line| line.find("cargo build").map(|at| line[at..].trim().to_owned()))
}

/// CI keeps the Dockerfile's build stage and the README's "Container" section on one command.
#[test]
fn the_dockerfile_builds_with_the_command_the_readme_gives() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).expect("the Dockerfile");
    let built = cargo_build(&dockerfile).expect("the Dockerfile's build stage runs cargo build");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("the README");
    let mut lines = readme.lines().skip_while(|l| !(l.starts_with("## ") && l.contains("Container")));
    assert!(lines.next().is_some(), "README.md has no \"## Container\" section; the Dockerfile builds with `{built}`");
    let section: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
    let mut fenced = false;
    let mut commands = Vec::new();
    for line in section {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced && let Some(command) = cargo_build(line) {
            commands.push(command);
        }
    }
    assert!(!commands.is_empty(), "the README's Container section shows no `cargo build` line in a fence");
    assert!(commands.contains(&built), "the Dockerfile runs `{built}`, the README says {commands:?}");
}

both_engines!(pending_migrations_are_listed_without_applying_them_and_none_once_migrated);

/// What `relink doctor` lists: every migration of a database never migrated, the one a
/// database lacks, none for a migrated one; and reading them applies nothing.
async fn pending_migrations_are_listed_without_applying_them_and_none_once_migrated(db: TestStore) {
    let engine = db.engine;
    let folder = match engine {
        relink_core::store::Engine::Sqlite => "sqlite",
        relink_core::store::Engine::Postgres => "postgres",
    };
    let files = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder))
        .expect("the migrations")
        .filter(|f| f.as_ref().is_ok_and(|f| f.file_name().to_string_lossy().ends_with(".sql")))
        .count();
    let again = db.connect_again().await;
    assert_eq!(again.pending_migrations().await.expect("pending"), Vec::<String>::new());
    let mut raw = db.raw().await;
    let newest = raw.number("SELECT MAX(version) FROM _sqlx_migrations").await;
    raw.execute(&format!("DELETE FROM _sqlx_migrations WHERE version = {newest}")).await;
    let pending = again.pending_migrations().await.expect("pending");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(pending[0].starts_with(&format!("{newest:04} ")), "{pending:?}");
    assert_eq!(again.pending_migrations().await.expect("pending"), pending, "listing applied nothing");
    again.close().await;

    let dir = tempfile::tempdir().expect("temp dir");
    let url = match engine {
        relink_core::store::Engine::Sqlite => crate::support::fresh_sqlite_url(dir.path()),
        relink_core::store::Engine::Postgres => crate::support::postgres::fresh_postgres_url().await,
    };
    let never = Db::connect(&url).await.expect("a fresh database");
    let pending = never.pending_migrations().await.expect("pending");
    assert_eq!(pending.len(), files, "{pending:?}");
    assert!(pending[0].starts_with("0001 "), "{pending:?}");
    never.close().await;
}
