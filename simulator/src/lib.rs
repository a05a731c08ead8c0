//! relink-simulator: a local stand-in for the social networks, speaking each one's probe,
//! refresh, authorize and token endpoints with the real answer shapes (`CONTRACT.md` is the
//! wire contract), with switches for every way a token dies and faults for every way a network
//! misbehaves. relink's tests, benchmarks, `relink demo` and `relink simulate` use it.
//!
//! - [`sim`]: [`Simulator`], the state and the programmatic API (accounts, switches, faults,
//!   counters), with time from a [`relink_core::Clock`].
//! - [`switch`]: [`Switch`] and [`Faults`], the ways things go wrong, as values.
//! - `account`: the per-provider tables: 24 bytes per account, state only when changed.
//! - `token`: self-describing tokens with a keyed tag (checking one is a parse and a hash).
//! - `judge`: the networks' token rules (expiry, revocation, rotation, extension, inactivity).
//! - `answer`: the answer shapes, per endpoint family.
//! - `gateway`, `oauth`, `telegram`: the HTTP endpoints under `/{provider}/`.
//! - `updates`: the Telegram updates a switch sends the bots (`my_chat_member`), through
//!   `getUpdates` or the webhook a bot set.
//! - [`risc`]: Google's Cross-Account Protection: the published key set, signed Security Event
//!   Tokens and their push to relink's receiver when a switch kills a Google grant.
//! - `control`: the JSON control API under `/_sim/`.
//! - `hooks`: what the networks push to relink (Meta's deauthorize and data deletion callbacks).
//! - [`server`]: [`router`], [`serve`] and [`Running`] (a simulator on loopback).
//! - `seed`: accounts from a short text spec.
//!
//! **Invariant:** the simulator never imports relink's adapters; both follow `CONTRACT.md`, so
//! a disagreement shows up as a failing test instead of two halves agreeing by construction.

mod account;
mod answer;
mod control;
mod gateway;
mod hooks;
mod judge;
mod oauth;
pub mod risc;
mod seed;
pub mod server;
pub mod sim;
pub mod switch;
mod telegram;
mod token;
mod updates;

pub use account::{Chat, Revocation, Role};
pub use hooks::{HookAnswer, Hooks, post_signed, sign as sign_meta_request};
pub use seed::Seeded;
pub use server::{Running, router, serve};
pub use sim::{
    AccountOptions, AccountReport, Bulk, CLIENT_ID, CLIENT_SECRET, Counts, Issued, SimConfig, SimError, Simulator,
    TelegramBot, Totals,
};
pub use switch::{Fail, Faults, Mix, Scope, Switch};
pub use updates::SECRET_HEADER as TELEGRAM_SECRET_HEADER;

#[cfg(test)]
mod tests;
