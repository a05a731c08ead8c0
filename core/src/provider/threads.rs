//! Threads: the example of "adding a network is a policy row plus one small file". It is a Graph
//! network people log in to directly, so its adapter is a [`Login`] description: probe
//! `GET me?fields=id,username` (the account is `id`), 60-day tokens from `th_exchange_token`,
//! extended with `th_refresh_token` once a day old and before they end. Lifetimes, scopes and
//! endpoints are its row in `policy.rs`.
//! Source: <https://developers.facebook.com/docs/threads/get-started/long-lived-tokens>

use super::graph::Login;
use crate::domain::Provider;

pub(super) static THREADS: Login = Login {
    provider: Provider::Threads,
    probe_fields: "id,username",
    exchange_grant: "th_exchange_token",
    refresh_grant: "th_refresh_token",
};
