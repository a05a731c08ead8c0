//! The networks' token facts the simulator's rules need, read from relink's policies (the
//! one place both sides share: the policies are data, not adapter code): lifetimes, whether a
//! network issues and rotates refresh tokens, the inactivity limit, and time in milliseconds.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use relink_core::Provider;
use relink_core::provider::{Policy, Providers, Renewal};

use crate::account::State;

const DAY_MS: i64 = 86_400_000;
/// Google refresh tokens die after six months without use.
pub(crate) const GOOGLE_UNUSED_MS: i64 = 180 * DAY_MS;
/// LinkedIn refresh tokens live 365 days from the first grant, not extended by refreshing.
pub(crate) const LINKEDIN_REFRESH_MS: i64 = 365 * DAY_MS;
/// Pinterest refresh tokens live 365 days from their issue; continuous refresh issues a new one
/// with each renewal. Both networks say when in `refresh_token_expires_in`.
pub(crate) const PINTEREST_REFRESH_MS: i64 = 365 * DAY_MS;

/// The network's token facts, read from relink's policies.
pub(crate) fn policy(provider: Provider) -> &'static Policy {
    static PROVIDERS: OnceLock<Providers> = OnceLock::new();
    PROVIDERS.get_or_init(|| Providers::new(HashMap::new())).policy(provider)
}

/// How long an access token lives, in milliseconds. Facebook and Instagram-via-Facebook tokens
/// are Page tokens, which have no time expiry (`expires_at: 0`); Telegram's bot token neither.
pub(crate) fn access_lifetime_ms(provider: Provider) -> Option<i64> {
    match provider {
        Provider::Facebook | Provider::InstagramBusiness | Provider::Telegram => None,
        _ => policy(provider).access_lifetime.map(duration_ms),
    }
}

pub(crate) fn issues_refresh_tokens(provider: Provider) -> bool {
    matches!(policy(provider).renewal, Renewal::RefreshToken | Renewal::RotatingRefreshToken)
}

pub(crate) fn rotates_refresh_tokens(provider: Provider) -> bool {
    policy(provider).renewal == Renewal::RotatingRefreshToken
}

pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn ms_to_time(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// Whether a Pinterest-style grant lapsed for want of publishing activity.
pub(crate) fn inactive(provider: Provider, state: &State, now_ms: i64) -> bool {
    policy(provider)
        .inactivity
        .is_some_and(|limit| state.last_activity_ms.max(state.grant_ms).saturating_add(duration_ms(limit)) <= now_ms)
}
