//! Threads: the example of "adding a network is one small file". It is a Graph
//! network people log in to directly, so its adapter is a [`Login`] description: probe
//! `GET me?fields=id,username` (the account is `id`), 60-day tokens from `th_exchange_token`,
//! extended with `th_refresh_token` once a day old and before they end. Lifetimes, scopes and
//! endpoints are its [`POLICY`] row, here too.
//! Source: <https://developers.facebook.com/docs/threads/get-started/long-lived-tokens>

use std::time::Duration;

use super::graph::Login;
use super::policy::{DAY, Policy, Renewal};
use crate::domain::Provider;

/// What Threads does with tokens (see [`Policy`]).
pub(super) const POLICY: Policy = Policy {
    provider: Provider::Threads,
    access_lifetime: Some(Duration::from_secs(60 * 86_400)),
    renewal: Renewal::ExtendWhileValid { min_age: DAY },
    inactivity: None,
    probe: "GET /me?fields=id,username",
    default_api_base: "https://graph.threads.net/",
    default_authorize_url: "https://threads.net/oauth/authorize",
    default_token_url: "https://graph.threads.net/oauth/access_token",
    scopes: &["threads_basic", "threads_content_publish"],
    pkce: false,
    rate_per_second: 20.0,
    sources: &["https://developers.facebook.com/docs/threads/get-started/long-lived-tokens"],
};

pub(super) static THREADS: Login = Login {
    provider: Provider::Threads,
    probe_fields: "id,username",
    exchange_grant: "th_exchange_token",
    refresh_grant: "th_refresh_token",
};
