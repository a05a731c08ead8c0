//! The `relink` binary's library: configuration, the command line and the wiring of the parts.
//! `main.rs` only calls [`run`]; everything here can be called by tests.
//!
//! - [`app`]: the one way the running parts are built and run (serve, demo, tests, benches).
//! - [`config`]: the typed configuration from file, environment and flags.
//! - [`cli`]: the commands (`serve`, `migrate`, `config check`, `doctor`, `backup`, `keys`,
//!   `team`, `member`, `channel`, `post`, `alerts`, `incident`, `api-key`, `healthcheck`,
//!   `completions`), each a function over the store or the configuration.
//! - [`open`]: opening the database and the keyring the way every command does.
//! - [`serve`]: the service: web server, checker, alerts, chat front-ends, clean shutdown.

pub mod app;
pub mod cli;
pub mod config;
pub mod open;
pub mod serve;

pub use cli::run;
