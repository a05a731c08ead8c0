//! relink-simulator: a local stand-in for the social networks, speaking each one's probe,
//! refresh, authorize and token endpoints with the real answer shapes (`CONTRACT.md` is the
//! wire contract), with switches for every way a token dies and faults for every way a network
//! misbehaves. relink's tests, benchmarks, `relink demo` and `relink simulate` use it.
//!
//! From the bottom up (each module imports only the ones above it in this list):
//!
//! - [`switch`]: [`Switch`] and [`Faults`], the ways things go wrong, as values.
//! - `token`: self-describing tokens with a keyed tag (checking one is a parse and a hash).
//! - [`risc`]: Google's Cross-Account Protection: the published key set, signed Security Event
//!   Tokens and their push to relink's receiver when a switch kills a Google grant.
//! - `account`: the per-provider tables: 24 bytes per account, state only when changed.
//! - `rules`: the networks' token facts, read from relink's policies (lifetimes, renewal).
//! - `answer`: the answer shapes, per endpoint family.
//! - [`sim`]: [`Simulator`], the state and the programmatic API, one module per noun
//!   (accounts, bots, switches, faults, counters, codes, Google's and Meta's pushes, Telegram
//!   updates), with time from a [`relink_core::Clock`].
//! - `judge`: the networks' token rules (expiry, revocation, rotation, extension, inactivity),
//!   each check a `Ruling`.
//! - `http`: what every handler shares: `App`, the decided `Reply`, `finish`, `param`.
//! - `oauth`, `telegram`, then `gateway`: the HTTP endpoints under `/{provider}/`.
//! - `control`: the JSON control API under `/_sim/`.
//! - [`server`]: [`router`], [`serve`] and [`Running`] (a simulator on loopback).
//! - `seed`: accounts from a short text spec.
//!
//! **Invariant:** the simulator never imports relink's adapters; both follow `CONTRACT.md`, so
//! a disagreement shows up as a failing test instead of two halves agreeing by construction.

mod account;
mod answer;
mod control;
mod gateway;
mod http;
mod judge;
mod oauth;
pub mod risc;
mod rules;
mod seed;
pub mod server;
pub mod sim;
pub mod switch;
mod telegram;
mod token;

pub use account::{Chat, Revocation, Role};
pub use seed::Seeded;
pub use server::{Running, router, serve};
pub use sim::hooks::{HookAnswer, Hooks, post_signed, sign as sign_meta_request};
pub use sim::updates::SECRET_HEADER as TELEGRAM_SECRET_HEADER;
pub use sim::{
    AccountOptions, AccountReport, Bulk, CLIENT_ID, CLIENT_SECRET, Counts, Issued, SimConfig, SimError, Simulator,
    TelegramBot, Totals,
};
pub use switch::{Fail, Faults, Mix, Scope, Switch};

#[cfg(test)]
mod tests;
