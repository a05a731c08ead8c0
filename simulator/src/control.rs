//! The control API under `/_sim/`, JSON in and out, for `relink simulate` and for benchmarks
//! that run the simulator in its own process. Each route is a thin call into the programmatic
//! API of [`Simulator`]; errors are `{"error": "…"}` with 404 for unknown names, 400 otherwise.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use relink_core::Provider;
use serde::Deserialize;
use serde_json::json;

use crate::answer::{json_response, text_response};
use crate::http::App;
use crate::sim::hooks::Hooks;
use crate::sim::{AccountOptions, SimError};
use crate::switch::{Faults, Scope, Switch};

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = match self {
            SimError::UnknownAccount { .. } | SimError::UnknownUser(_) | SimError::UnknownBot(_) => {
                StatusCode::NOT_FOUND
            }
            _ => StatusCode::BAD_REQUEST,
        };
        json_response(status, &json!({ "error": self.to_string() }))
    }
}

type Answer = Result<Response, SimError>;

fn ok(body: &impl serde::Serialize) -> Answer {
    Ok(json_response(StatusCode::OK, body))
}

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/_sim/ping", get(ping))
        .route("/_sim/stats", get(stats))
        .route("/_sim/accounts", post(add_account).get(list_accounts))
        .route("/_sim/accounts/bulk", post(add_bulk))
        .route("/_sim/account", get(account))
        .route("/_sim/switch", post(switch))
        .route("/_sim/activity", post(activity))
        .route("/_sim/reissue", post(reissue))
        .route("/_sim/faults", post(set_faults).get(get_faults))
        .route("/_sim/login-as", post(login_as))
        .route("/_sim/password", post(password))
        .route("/_sim/telegram/bots", post(add_bot))
        .route("/_sim/telegram/bots/revoke", post(revoke_bot))
        .route("/_sim/seed", post(seed))
        .route("/_sim/settings", post(settings))
        .route("/_sim/facebook/deauthorize", post(send_deauthorize))
        .route("/_sim/facebook/data-deletion", post(request_data_deletion))
        .route("/_sim/google/certs", get(google_certs))
}

/// Google's published key set for Security Event Tokens (503 while `google_certs_down`).
async fn google_certs(State(app): State<App>) -> Response {
    if app.sim.google_certs_down() {
        return json_response(StatusCode::SERVICE_UNAVAILABLE, &json!({ "error": "the key set is unavailable" }));
    }
    json_response(StatusCode::OK, &crate::risc::jwks())
}

/// The bare HTTP ceiling: no state, no JSON.
async fn ping(State(app): State<App>) -> &'static str {
    app.sim.count_ping();
    "pong"
}

async fn stats(State(app): State<App>) -> Answer {
    ok(&app.sim.totals())
}

#[derive(Debug, Deserialize)]
struct NewAccount {
    provider: Provider,
    account: String,
    #[serde(flatten)]
    options: AccountOptions,
}

async fn add_account(State(app): State<App>, Json(body): Json<NewAccount>) -> Answer {
    ok(&app.sim.add_account(body.provider, &body.account, body.options)?)
}

#[derive(Debug, Deserialize)]
struct NewBulk {
    provider: Provider,
    count: u32,
}

async fn add_bulk(State(app): State<App>, Json(body): Json<NewBulk>) -> Answer {
    ok(&app.sim.add_accounts_bulk(body.provider, body.count)?)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    provider: Provider,
    #[serde(default)]
    from: u32,
    #[serde(default = "default_limit")]
    limit: u32,
    #[serde(default)]
    format: Option<String>,
}

fn default_limit() -> u32 {
    1000
}

/// The current tokens of accounts `from..from+limit` (index order, at most 100,000 a page):
/// JSON, or with `format=tsv` one `account\taccess\trefresh\texpires_at` line each.
async fn list_accounts(State(app): State<App>, Query(query): Query<ListQuery>) -> Answer {
    let end = query.from.saturating_add(query.limit.min(100_000)).min(app.sim.account_count(query.provider));
    let tokens = (query.from..end).filter_map(|index| app.sim.tokens_at(query.provider, index));
    if query.format.as_deref() == Some("tsv") {
        let mut out = String::new();
        for issued in tokens {
            let expires = issued.expires_at.map(|at| at.to_rfc3339()).unwrap_or_default();
            let refresh = issued.refresh_token.unwrap_or_default();
            let _ = writeln!(out, "{}\t{}\t{refresh}\t{expires}", issued.account, issued.access_token);
        }
        return Ok(text_response(StatusCode::OK, out));
    }
    ok(&tokens.collect::<Vec<_>>())
}

#[derive(Debug, Deserialize)]
struct AccountRef {
    provider: Provider,
    account: String,
}

async fn account(State(app): State<App>, Query(query): Query<AccountRef>) -> Answer {
    ok(&app.sim.report(query.provider, &query.account)?)
}

#[derive(Debug, Deserialize)]
struct SwitchBody {
    provider: Provider,
    account: String,
    #[serde(flatten)]
    switch: Switch,
}

async fn switch(State(app): State<App>, Json(body): Json<SwitchBody>) -> Answer {
    app.sim.apply(body.provider, &body.account, body.switch)?;
    ok(&app.sim.report(body.provider, &body.account)?)
}

async fn activity(State(app): State<App>, Json(body): Json<AccountRef>) -> Answer {
    app.sim.record_activity(body.provider, &body.account)?;
    ok(&app.sim.report(body.provider, &body.account)?)
}

async fn reissue(State(app): State<App>, Json(body): Json<AccountRef>) -> Answer {
    ok(&app.sim.reissue(body.provider, &body.account)?)
}

#[derive(Debug, Deserialize)]
struct ScopeQuery {
    provider: Option<Provider>,
    account: Option<String>,
}

impl ScopeQuery {
    fn scope(&self) -> Result<Scope<'_>, SimError> {
        match (self.provider, self.account.as_deref()) {
            (None, None) => Ok(Scope::All),
            (Some(provider), None) => Ok(Scope::Provider(provider)),
            (Some(provider), Some(account)) => Ok(Scope::Account(provider, account)),
            (None, Some(_)) => Err(SimError::BadInput("an account needs its provider".to_owned())),
        }
    }
}

#[derive(Debug, Deserialize)]
struct FaultsBody {
    #[serde(flatten)]
    scope: ScopeQuery,
    #[serde(flatten)]
    faults: Faults,
}

/// Replaces the faults of a scope (no provider: everything; `{}` clears them).
async fn set_faults(State(app): State<App>, Json(body): Json<FaultsBody>) -> Answer {
    let scope = body.scope.scope()?;
    app.sim.set_faults(scope, body.faults)?;
    ok(&app.sim.faults(scope)?)
}

async fn get_faults(State(app): State<App>, Query(query): Query<ScopeQuery>) -> Answer {
    ok(&app.sim.faults(query.scope()?)?)
}

async fn login_as(State(app): State<App>, Json(body): Json<AccountRef>) -> Answer {
    app.sim.set_login_as(body.provider, &body.account)?;
    ok(&json!({ "provider": body.provider, "login_as": body.account }))
}

#[derive(Debug, Deserialize)]
struct PasswordBody {
    user: String,
}

async fn password(State(app): State<App>, Json(body): Json<PasswordBody>) -> Answer {
    ok(&json!({ "user": body.user, "accounts": app.sim.change_user_password(&body.user)? }))
}

async fn add_bot(State(app): State<App>) -> Answer {
    ok(&app.sim.add_telegram_bot())
}

#[derive(Debug, Deserialize)]
struct BotRef {
    bot_id: u64,
}

async fn revoke_bot(State(app): State<App>, Json(body): Json<BotRef>) -> Answer {
    app.sim.revoke_telegram_bot(body.bot_id)?;
    ok(&json!({ "bot_id": body.bot_id, "revoked": true }))
}

async fn seed(State(app): State<App>, spec: String) -> Answer {
    ok(&app.sim.seed(&spec)?)
}

#[derive(Debug, Deserialize)]
struct Settings {
    timeout_hold_ms: Option<u64>,
    app_usage: Option<AppUsage>,
    /// Replaces where pushes go (`{"facebook_deauthorize": URL, "facebook_data_deletion": URL,
    /// "google_risc": URL}`).
    hooks: Option<Hooks>,
    google_certs_down: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct AppUsage {
    provider: Provider,
    percent: u8,
}

async fn settings(State(app): State<App>, Json(body): Json<Settings>) -> Answer {
    if let Some(ms) = body.timeout_hold_ms {
        app.sim.set_timeout_hold(std::time::Duration::from_millis(ms));
    }
    if let Some(usage) = body.app_usage {
        app.sim.set_app_usage(usage.provider, usage.percent);
    }
    if let Some(hooks) = body.hooks {
        app.sim.set_hooks(hooks);
    }
    if let Some(down) = body.google_certs_down {
        app.sim.set_google_certs_down(down);
    }
    ok(&json!({
        "timeout_hold_ms": app.sim.timeout_hold().as_millis(),
        "hooks": app.sim.hooks(),
        "google_certs_down": app.sim.google_certs_down(),
    }))
}

/// Sends Meta's deauthorize callback for the account's person (without revoking anything: the
/// `revoke_app` switch does both); answers what relink answered.
async fn send_deauthorize(State(app): State<App>, Json(body): Json<AccountRef>) -> Answer {
    ok(&app.sim.send_deauthorize(body.provider, &body.account).await?)
}

/// The account's person asks for their data to be deleted; answers what relink answered.
async fn request_data_deletion(State(app): State<App>, Json(body): Json<AccountRef>) -> Answer {
    ok(&app.sim.request_data_deletion(body.provider, &body.account).await?)
}
