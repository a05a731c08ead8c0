//! relink's integration tests: one test binary with a module per feature, because every extra
//! binary under `tests/` is linked on its own and linking dominates build time on two cores.
//!
//! The tests use real parts: SQLite files in temporary directories and a real PostgreSQL server
//! (a private one started once per run, or the server `RELINK_TEST_POSTGRES_URL` names, with a
//! fresh database per test). [`support`] holds that harness; each other module is one feature.
//!
//! - [`store`]: the store on both engines: teams, members, channels and their sealed tokens,
//!   health and its history, due checks, posts, key rotation.
//! - [`presses`]: reconnect-button presses arriving together on both engines (SQLite's group
//!   commit): one answer each, a link spent once, a failing press alone, a failed write spending
//!   nothing.
//! - [`checker`]: the checker against the provider simulator: the seeds' causes of disconnection,
//!   transient faults, rate limits, renewals, two processes racing for rotating tokens.
//! - [`cli`]: the operator commands through the real binary, on both engines; secrets never in
//!   the database files or the logs; configuration checks.
//! - [`serve`]: `relink serve` started in an empty directory.
//! - [`setup`]: `scripts/test`, the README's test command, installing what a machine lacks.
//! - [`alerts`]: transitions become incidents, alerts and deliveries: a channel's sixty-day life in
//!   three languages, crashes, retries, snooze, acknowledgement, escalation, shared causes.
//! - [`commands`]: the chat command layer on both engines: every command for an admin and for
//!   an editor or viewer, private links, loose names, usage lines, one-time codes, languages.
//! - [`discord`]: the Discord front-end against a fake Discord REST server and through its
//!   signed interactions endpoint: embeds, nonce, gone channels, rate limits, registration,
//!   every command for an admin and an editor, autocomplete, replays, deferral.
//! - [`telegram`]: the Telegram bot against a fake Bot API server (`support::telegram`): commands,
//!   group alerts and their buttons, the webhook's secret and replays, blocked and migrated chats,
//!   rate limits.
//! - [`signals`]: push signals end to end: the simulator sends what the network sends (Meta's
//!   deauthorize and data deletion callbacks), the web server verifies it, the woken checker
//!   finds the truth; forged, stale and replayed ones change nothing.
//! - [`chat_member`]: Telegram's `my_chat_member` push signal: asked for in both modes, a bot
//!   removed through the simulator brings the channel's alert within seconds, replays, junk.
//! - [`web`]: the web server over HTTP: the reconnect flow against the simulator and every way
//!   it is refused, the API and its keys, the OpenAPI document, metrics.
//! - [`team_page`]: the team page over HTTP: sign-in links and sessions, rows worst first, the
//!   buttons of owners and admins, and every refusal (viewers, missing form tokens, other sites,
//!   another team's channels).
//! - [`risc`]: Google's Cross-Account Protection receiver against the simulator's keys and
//!   signed events: each event gets the account's channels checked at once; forged, misaddressed,
//!   stale, replayed and malformed tokens are refused and change nothing; keys that cannot be
//!   fetched answer 503 and lose nothing.
//! - [`browser`]: headless Chromium follows a reconnect link end to end, against the simulator
//!   and against a third-party OAuth 2.0 server configured as a generic network.
//! - [`crash`]: `relink serve` on SQLite killed with SIGKILL twenty times while it checks,
//!   renews and delivers: no alert lost, no Discord message twice, no token lost, an intact file.
//! - [`cluster`]: three `relink serve` processes on one PostgreSQL, one killed with SIGKILL while
//!   it holds claims, renewals and deliveries: every channel checked once a cycle, rotating tokens
//!   renewed once, every alert delivered once, the Discord lease taken over, the survivors ready.
//! - [`ops`]: what operators run around the service: `relink doctor` against the simulator and
//!   the chat fakes (failures with their fixes, silent networks, a clock off by hours), `relink
//!   backup` beside an open write, shell completions, JSON logs, the Dockerfile against the README.
//! - [`demo`]: `relink demo` through the real binary: who hears what, and a printed link
//!   reconnecting its channel in Chromium.

mod support;

mod alerts;
mod browser;
mod chat_member;
mod checker;
mod cli;
mod cluster;
mod commands;
mod crash;
mod demo;
mod discord;
mod ops;
mod presses;
mod risc;
mod serve;
mod setup;
mod signals;
mod store;
mod team_page;
mod telegram;
mod web;
