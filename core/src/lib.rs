//! relink-core: everything relink knows that is not a chat platform or an HTTP server.
//!
//! - [`domain`]: teams, members and roles, chat bindings, providers, channels, health and its
//!   reasons, scheduled posts, history. Every type validates on construction.
//! - [`clock`]: where "now" comes from ([`clock::SystemClock`] in service, [`clock::TestClock`] in
//!   tests that move sixty days in a millisecond).
//! - [`crypto`]: the keyring and the AEAD that seals tokens at rest, bound to their channel.
//! - [`keyfile`]: the on-disk keyring relink generates when no key is configured.
//! - [`opaque`]: the 256-bit secrets relink hands out (link tokens, OAuth states, API keys),
//!   stored only as hashes.
//! - [`reconnect`]: minting reconnect links (what alerts and commands put in messages).
//! - [`store`]: the one store API over SQLite (embedded default) and PostgreSQL.
//! - [`checker`]: the background loop that finds due channels through the `next_check_at` index.
//! - [`alerts`]: incidents, the platform-neutral alert in three languages, routing, the engine
//!   that turns outbox events into alerts, and the delivery workers behind the `Notifier` trait.
//! - [`time`]: parsing of the dates and durations people type; clamped waits and lifetimes from
//!   networks and saturating time arithmetic.
//! - [`supervise`]: background tasks restarted with backoff when they panic or end early, and
//!   the registry of tasks that are down (`/readyz`).
//!
//! **Invariant:** this crate depends on no chat or web framework (serenity, teloxide, axum); the
//! front-ends depend on it, never the other way round. `tests::core_has_no_front_end_dependency`
//! checks it against `Cargo.lock`.

pub mod alerts;
pub mod channels;
pub mod checker;
pub mod clock;
pub mod crypto;
pub mod domain;
pub mod keyfile;
pub mod opaque;
pub mod provider;
pub mod reconnect;
pub mod signals;
pub mod signin;
pub mod store;
pub mod supervise;
pub mod time;
pub mod token;

pub use clock::{Clock, ShiftedClock, SystemClock, TestClock};
pub use domain::*;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    /// Walks the lock file from `relink-core` and fails if a front-end framework is reachable.
    #[test]
    fn core_has_no_front_end_dependency() {
        let lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
        let text = std::fs::read_to_string(lock_path).expect("Cargo.lock beside the workspace");
        let lock: toml::Value = toml::from_str(&text).expect("Cargo.lock is TOML");
        let packages = lock["package"].as_array().expect("[[package]] entries");
        let mut deps: HashMap<&str, Vec<&str>> = HashMap::new();
        for package in packages {
            let name = package["name"].as_str().expect("package name");
            let entry = deps.entry(name).or_default();
            if let Some(list) = package.get("dependencies").and_then(|d| d.as_array()) {
                // Entries read "name" or "name version" when several versions coexist.
                entry.extend(list.iter().filter_map(|d| d.as_str()?.split(' ').next()));
            }
        }
        let mut seen = BTreeSet::new();
        let mut stack = vec!["relink-core"];
        while let Some(name) = stack.pop() {
            if seen.insert(name) {
                stack.extend(deps.get(name).into_iter().flatten().copied());
            }
        }
        for forbidden in ["serenity", "teloxide", "teloxide-core", "axum", "axum-core"] {
            assert!(
                !seen.contains(forbidden),
                "relink-core must not depend on {forbidden}, found it in its dependency tree"
            );
        }
        assert!(seen.contains("sqlx"), "the walk should reach relink-core's own dependencies");
    }
}
