//! The command line: one clap tree, one module a noun. Each command is a function over the
//! store that prints what a person needs and returns an error that says what to do.
//!
//! Tokens are never taken from argv (every user of the machine can read it): `channel add`
//! reads them from standard input or a file.

mod alerts;
mod api_key;
mod backup;
mod channel;
mod completions;
mod config;
mod demo;
mod doctor;
mod healthcheck;
mod incident;
mod keys;
mod member;
mod post;
mod simulate;
mod team;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use comfy_table::{Table, presets};

use crate::config::{FlagOverrides, Sources};

#[derive(Debug, Parser)]
#[command(
    name = "relink",
    version,
    about = "Keeps a team's social channels connected: checks OAuth tokens, refreshes them, and warns admins \
             in Discord and Telegram with a reconnect link.",
    after_help = "Configuration: relink.toml (or --config FILE / RELINK_CONFIG), RELINK_* environment variables \
                  (RELINK_WEB__BIND for web.bind), then flags. `relink config check` shows the result."
)]
pub struct Cli {
    /// Configuration file (default: relink.toml in the current directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the embedded database and key file live (default: relink-data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://PATH or postgres://… (prefer RELINK_DATABASE_URL when it holds a password).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Address of the web server (default: 127.0.0.1:8080).
    #[arg(long, global = true, value_name = "ADDR")]
    bind: Option<String>,
    /// Log filter, e.g. info or relink=debug,info.
    #[arg(long, global = true, value_name = "FILTER")]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run relink: web server, token checks and chat bots (Ctrl-C or SIGTERM stops it cleanly).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Check the setup without sending anything to teams: configuration, public URL, networks'
    /// credentials and redirect URIs, bots, files, database, clock. Exit 1 on any ✗.
    Doctor(doctor::DoctorArgs),
    /// Copy the SQLite database while relink runs (PostgreSQL: says how to use pg_dump).
    Backup(backup::BackupArgs),
    /// Ask the local web server's /healthz (for a container's HEALTHCHECK); exit 0 when healthy.
    Healthcheck,
    /// Manage the encryption keys that seal tokens at rest.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage teams.
    #[command(subcommand)]
    Team(team::TeamCommand),
    /// Manage a team's members and their roles.
    #[command(subcommand)]
    Member(member::MemberCommand),
    /// Manage connected channels.
    #[command(subcommand)]
    Channel(channel::ChannelCommand),
    /// Manage the keys publishing tools use for a team's HTTP API.
    #[command(subcommand, name = "api-key")]
    ApiKey(api_key::ApiKeyCommand),
    /// Register scheduled posts, so alerts can say which posts are at risk.
    #[command(subcommand)]
    Post(post::PostCommand),
    /// What relink told whom: alerts, failed deliveries, a team's alert settings.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// What is wrong with channels now: list, acknowledge or snooze incidents.
    #[command(subcommand)]
    Incident(incident::IncidentCommand),
    /// Run the provider simulator: every network's OAuth and API endpoints on loopback.
    Simulate(simulate::SimulateArgs),
    /// Print a shell completion script: `relink completions bash > /etc/bash_completion.d/relink`.
    Completions(completions::CompletionsArgs),
    /// A team's week in a minute: simulated networks, tokens failing the ways they do, the alerts
    /// relink sends, and reconnect links that work in your browser. Touches no configuration.
    Demo(demo::DemoArgs),
}

/// Parses the command line, runs the command, and turns its outcome into an exit code:
/// 0 success, 1 the command failed, 2 bad usage or configuration.
pub fn run() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    // Completions need neither configuration nor runtime: they work on a fresh machine.
    if let Command::Completions(args) = &cli.command {
        return completions::run(args);
    }
    let config_file = cli.config.clone().or_else(|| std::env::var_os("RELINK_CONFIG").map(PathBuf::from));
    let flags = FlagOverrides {
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        bind: cli.bind.clone(),
        log: cli.log.clone(),
    };
    let sources = match Sources::gather(config_file.as_deref(), &flags) {
        Ok(sources) => sources,
        Err(problems) => {
            eprint!("error: {problems}");
            return ExitCode::from(2);
        }
    };
    if let Command::Config(command) = &cli.command {
        return config::run(command, &sources);
    }
    let config = match sources.resolve() {
        Ok(config) => config,
        Err(problems) if matches!(cli.command, Command::Doctor(_)) => return doctor::invalid_configuration(&problems),
        Err(problems) => {
            eprint!("error: {problems}");
            eprintln!("(`relink config check` shows the whole configuration)");
            return ExitCode::from(2);
        }
    };
    // The demo talks on standard output; its log says only what went wrong, unless asked.
    let demo = matches!(cli.command, Command::Demo(_));
    init_logging(if demo && cli.log.is_none() { "warn" } else { &config.log }, config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command {
            Command::Serve => crate::serve::serve(config).await,
            Command::Migrate => migrate(&config).await,
            Command::Doctor(args) => doctor::run(args, &config).await,
            Command::Backup(args) => backup::run(args, &config).await,
            Command::Healthcheck => healthcheck::run(&config).await,
            Command::Config(_) | Command::Completions(_) => {
                unreachable!("handled before the configuration is resolved")
            }
            Command::Keys(command) => keys::run(command, &config).await,
            Command::Team(command) => team::run(command, &config).await,
            Command::Member(command) => member::run(command, &config).await,
            Command::Channel(command) => channel::run(command, &config).await,
            Command::Post(command) => post::run(command, &config).await,
            Command::Alerts(command) => alerts::run(command, &config).await,
            Command::Incident(command) => incident::run(command, &config).await,
            Command::ApiKey(command) => api_key::run(command, &config).await,
            Command::Simulate(args) => simulate::run(args).await,
            Command::Demo(args) => demo::run(args).await,
        }
    });
    // A task that does not yield (a connection pool's upkeep caught mid-release was seen to)
    // would hold a plain drop of the runtime, and the command, for ever: the answer is already
    // printed, so give the tasks a moment and leave.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.downcast_ref::<Usage>().is_some() => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            // Input the command refused (it names the flag or field) is a usage error.
            if error.chain().any(|cause| cause.is::<relink_core::domain::ParseError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// `relink channel list | head` closes the pipe before relink has printed everything, and
/// printing then panics. Unix tools end quietly there, with the status a shell shows for SIGPIPE
/// (141); so does relink. Every other panic is reported as usual.
fn quiet_on_closed_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload_as_str().unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info);
    }));
}

/// A command's refusal of what it was told (exit code 2), as opposed to a failure to do it.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Logs to standard error: text lines (coloured on a terminal), or one JSON object a line for
/// log shippers, each event's span fields flattened beside its own.
fn init_logging(filter: &str, format: crate::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::builder().parse_lossy(filter);
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        crate::config::LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        crate::config::LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
}

async fn migrate(config: &crate::config::Config) -> anyhow::Result<()> {
    let db = crate::open::database(config).await?;
    println!("{}: migrations are up to date", db.display_url());
    db.close().await;
    Ok(())
}

/// A table with a header and no borders, like `kubectl get`.
fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_header(header.to_vec());
    table
}

/// An instant for a table: `2026-12-01 09:30 UTC`.
fn when(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map_or_else(|| "-".into(), |at| at.format("%Y-%m-%d %H:%M UTC").to_string())
}
