//! The networks' HTTP side: `/{provider}/api/…` probes and Graph extensions, dispatched to
//! `oauth` for `/{provider}/authorize` and `/{provider}/token` and to `telegram` for the Bot
//! API. Every handler decides synchronously (a `Reply`, see `http`), then `http::finish`
//! renders it.
//!
//! The path is split by hand rather than by the router: one fallback handler, no allocation to
//! find the provider and endpoint.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use relink_core::Provider;
use serde::Serialize;
use serde_json::json;

use crate::answer::{self, Condition, Family, json_response};
use crate::http::{App, Outcome, Reply, finish, param};
use crate::judge::{Live, Ruling, extend_min_age_ms};
use crate::sim::{Endpoint, Gate, Simulator};
use crate::{oauth, telegram};

/// The provider whose path segment this is (its stored name exactly, as `config_under` builds).
fn provider_named(segment: &str) -> Option<Provider> {
    Provider::ALL.iter().copied().find(|p| p.as_str() == segment)
}

/// Every request outside `/_sim/`.
pub(crate) async fn gateway(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_start_matches('/');
    let Some((provider, rest)) = path.split_once('/').and_then(|(p, rest)| Some((provider_named(p)?, rest))) else {
        return not_found(path);
    };
    let query = uri.query().unwrap_or("");
    match rest {
        "authorize" => oauth::authorize(&app.sim, provider, query),
        "token" if method == Method::POST => {
            let reply = oauth::token(&app.sim, provider, &headers, &body);
            finish(&app, provider, reply).await
        }
        _ => match rest.strip_prefix("api/") {
            Some(api_path) => {
                // `getUpdates` may wait for an update: the one call not decided synchronously.
                if provider == Provider::Telegram
                    && let Some(response) = telegram::get_updates(&app, api_path, query, &headers, &body).await
                {
                    return response;
                }
                match api(&app.sim, provider, &method, api_path, query, &headers, &body) {
                    Some(reply) => finish(&app, provider, reply).await,
                    None => not_found(path),
                }
            }
            None => not_found(path),
        },
    }
}

fn not_found(path: &str) -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({ "error": "not_found", "error_description": format!("the simulator does not serve /{path}") }),
    )
}

/// One provider API call; `None` when the simulator does not serve the path.
fn api(
    sim: &Simulator,
    provider: Provider,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Reply> {
    let get = *method == Method::GET;
    let post = *method == Method::POST;
    match provider {
        Provider::Telegram => telegram::api(sim, path, query, headers, body),
        Provider::Facebook | Provider::InstagramBusiness if get && path == "debug_token" => {
            Some(debug_token(sim, provider, query))
        }
        Provider::InstagramBusiness if get && !path.contains('/') => {
            Some(graph_object(sim, provider, path, query, headers))
        }
        Provider::InstagramLogin | Provider::Threads if get && path == "me" => {
            Some(graph_object(sim, provider, path, query, headers))
        }
        Provider::InstagramLogin | Provider::Threads if get && path == "refresh_access_token" => {
            Some(graph_refresh(sim, provider, query))
        }
        Provider::Linkedin if post && path == "introspectToken" => Some(introspect(sim, body)),
        Provider::X if get && path == "2/users/me" => Some(bearer_probe(sim, provider, Family::X, headers)),
        Provider::Pinterest if get && path == "user_account" => {
            Some(bearer_probe(sim, provider, Family::Pinterest, headers))
        }
        Provider::GenericOauth2 if get && path == "userinfo" => {
            Some(bearer_probe(sim, provider, Family::UserInfo, headers))
        }
        Provider::Youtube | Provider::GoogleBusiness if (get || post) && path == "tokeninfo" => {
            Some(tokeninfo(sim, provider, query, body))
        }
        _ => None,
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")).then(|| token.trim())
}

fn probe_start(sim: &Simulator, provider: Provider) -> (Gate, i64) {
    sim.count(provider, Endpoint::Probe);
    (sim.gate(provider), sim.now_ms())
}

fn username(account: &str) -> String {
    format!("sim_{}", account.trim_start_matches('-'))
}

#[derive(Serialize)]
struct DebugData<'a> {
    app_id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    application: &'a str,
    data_access_expires_at: i64,
    expires_at: i64,
    is_valid: bool,
    issued_at: i64,
    scopes: Vec<&'a str>,
    profile_id: &'a str,
    user_id: &'a str,
}

/// Facebook `debug_token`: the app token must be `client_id|client_secret`; the input token's
/// state is told inside `data`.
fn debug_token(sim: &Simulator, provider: Provider, query: &str) -> Reply {
    let (mut gate, now_ms) = probe_start(sim, provider);
    let query = query.as_bytes();
    let config = sim.config();
    let app_token_ok = param(query, "access_token").is_some_and(|t| {
        t.split_once('|').is_some_and(|(id, secret)| id == config.client_id && secret == config.client_secret)
    });
    if !app_token_ok {
        return Reply::refused(sim, provider, Family::DebugToken, &gate, Condition::BadClient);
    }
    let Some(input) = param(query, "input_token") else {
        let missing = Condition::BadRequest("The parameter input_token is required");
        return Reply::refused(sim, provider, Family::DebugToken, &gate, missing);
    };
    let ruling = sim.check_access(provider, &input, now_ms, &mut gate);
    Reply::from(sim, provider, Family::DebugToken, &gate, ruling, |live: Live| {
        let (account, user) = (live.account(), live.user());
        let page = matches!(provider, Provider::Facebook | Provider::InstagramBusiness);
        let data = DebugData {
            app_id: &config.client_id,
            kind: if page { "PAGE" } else { "USER" },
            application: "relink simulator",
            // Data access lapses 90 days after the person last granted it.
            data_access_expires_at: live.grant_ms / 1000 + 90 * 86_400,
            expires_at: live.expires_ms.map_or(0, |ms| ms / 1000),
            is_valid: true,
            issued_at: live.issued_ms / 1000,
            scopes: live.scope_list(provider),
            profile_id: &account,
            user_id: &user,
        };
        json_response(StatusCode::OK, &json!({ "data": data }))
    })
}

#[derive(Serialize)]
struct GraphUser<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    username: &'a str,
}

/// A Graph read with the token in `access_token`: `/{ig-user-id}` (Instagram via Facebook),
/// `/me` (Instagram login: `user_id`; Threads: `id`).
fn graph_object(sim: &Simulator, provider: Provider, object: &str, query: &str, headers: &HeaderMap) -> Reply {
    let (mut gate, now_ms) = probe_start(sim, provider);
    let token = param(query.as_bytes(), "access_token").or_else(|| bearer(headers).map(Cow::Borrowed));
    let Some(token) = token else {
        let missing =
            Condition::BadRequest("An active access token must be used to query information about the current user.");
        return Reply::refused(sim, provider, Family::Graph, &gate, missing);
    };
    let ruling = sim.check_access(provider, &token, now_ms, &mut gate);
    if let Ruling::Ok(live) = &ruling
        && provider == Provider::InstagramBusiness
        && live.account() != object
    {
        let response = answer::refusal(
            provider,
            Family::Graph,
            Condition::BadRequest(
                "Unsupported get request. Object does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
            ),
            &sim.config().client_id,
        );
        return Reply::answer(Family::Graph, &gate, response);
    }
    Reply::from(sim, provider, Family::Graph, &gate, ruling, |live: Live| {
        let account = live.account();
        let name = username(&account);
        let body = match provider {
            Provider::InstagramLogin => GraphUser { id: None, user_id: Some(&account), username: &name },
            _ => GraphUser { id: Some(&account), user_id: None, username: &name },
        };
        json_response(StatusCode::OK, &body)
    })
}

/// Instagram login and Threads: `refresh_access_token` extends a still-valid token that is at
/// least a day old.
fn graph_refresh(sim: &Simulator, provider: Provider, query: &str) -> Reply {
    sim.count(provider, Endpoint::Refresh);
    let mut gate = sim.gate(provider);
    let now_ms = sim.now_ms();
    let query = query.as_bytes();
    let expected = if provider == Provider::Threads { "th_refresh_token" } else { "ig_refresh_token" };
    if param(query, "grant_type").as_deref() != Some(expected) {
        return Reply::refused(sim, provider, Family::Graph, &gate, Condition::BadRequest("Unsupported grant_type"));
    }
    let Some(token) = param(query, "access_token") else {
        return Reply::refused(sim, provider, Family::Graph, &gate, Condition::Invalid);
    };
    let min_age = extend_min_age_ms(provider).unwrap_or(86_400_000);
    let ruling = sim.extend(provider, &token, min_age, now_ms, &mut gate);
    Reply::from(sim, provider, Family::Graph, &gate, ruling, |issued| {
        let expires_in = issued.expires_at.map_or(0, |at| (at.timestamp_millis() - now_ms) / 1000);
        json_response(
            StatusCode::OK,
            &json!({ "access_token": issued.access_token, "token_type": "bearer", "expires_in": expires_in }),
        )
    })
}

#[derive(Serialize)]
struct Introspection<'a> {
    active: bool,
    client_id: &'a str,
    authorized_at: i64,
    created_at: i64,
    status: &'a str,
    expires_at: i64,
    scope: &'a str,
    auth_type: &'a str,
    member_id: &'a str,
}

/// LinkedIn token introspection (form `token`, `client_id`, `client_secret`).
fn introspect(sim: &Simulator, body: &[u8]) -> Reply {
    let provider = Provider::Linkedin;
    let (mut gate, now_ms) = probe_start(sim, provider);
    let config = sim.config();
    let client_ok = param(body, "client_id").is_some_and(|id| id == config.client_id)
        && param(body, "client_secret").is_some_and(|secret| secret == config.client_secret);
    if !client_ok {
        return Reply::refused(sim, provider, Family::Introspect, &gate, Condition::BadClient);
    }
    let Some(token) = param(body, "token") else {
        return Reply::refused(sim, provider, Family::Introspect, &gate, Condition::BadRequest("token is required"));
    };
    let ruling = sim.check_access(provider, &token, now_ms, &mut gate);
    Reply::from(sim, provider, Family::Introspect, &gate, ruling, |live: Live| {
        let account = live.account();
        let scope = live.scope_string(provider, ",");
        let body = Introspection {
            active: true,
            client_id: &config.client_id,
            authorized_at: live.grant_ms / 1000,
            created_at: live.issued_ms / 1000,
            status: "active",
            expires_at: live.expires_ms.unwrap_or(0) / 1000,
            scope: &scope,
            auth_type: "3L",
            member_id: &account,
        };
        json_response(StatusCode::OK, &body)
    })
}

/// X `GET /2/users/me` and Pinterest `GET /user_account`, with a Bearer token.
fn bearer_probe(sim: &Simulator, provider: Provider, family: Family, headers: &HeaderMap) -> Reply {
    let (mut gate, now_ms) = probe_start(sim, provider);
    let Some(token) = bearer(headers) else {
        return Reply::refused(sim, provider, family, &gate, Condition::Invalid);
    };
    let ruling = sim.check_access(provider, token, now_ms, &mut gate);
    let mut reply = Reply::from(sim, provider, family, &gate, ruling, |live: Live| {
        let account = live.account();
        let name = username(&account);
        if provider == Provider::X {
            json_response(
                StatusCode::OK,
                &json!({ "data": { "id": account, "name": format!("Sim {account}"), "username": name } }),
            )
        } else if provider == Provider::GenericOauth2 {
            json_response(StatusCode::OK, &json!({ "sub": account, "preferred_username": name }))
        } else {
            json_response(StatusCode::OK, &json!({ "id": account, "username": name, "account_type": "BUSINESS" }))
        }
    });
    if provider == Provider::X
        && let Outcome::Answer(response) = &mut reply.outcome
        && response.status() != StatusCode::TOO_MANY_REQUESTS
    {
        // X reports its window on every answer; a checker may slow down before a 429.
        let reset = sim.now().timestamp() + 900;
        let headers = response.headers_mut();
        headers.insert("x-rate-limit-limit", 75.into());
        headers.insert("x-rate-limit-remaining", 74.into());
        headers.insert("x-rate-limit-reset", reset.into());
    }
    reply
}

#[derive(Serialize)]
struct TokenInfo<'a> {
    azp: &'a str,
    aud: &'a str,
    sub: &'a str,
    scope: &'a str,
    exp: String,
    expires_in: String,
    access_type: &'a str,
}

/// Google `tokeninfo`: an expired or dead token is `400 invalid_token` (for Google only a
/// reason to refresh); a working one tells its account (`sub`), scopes and expiry as strings.
fn tokeninfo(sim: &Simulator, provider: Provider, query: &str, body: &[u8]) -> Reply {
    let (mut gate, now_ms) = probe_start(sim, provider);
    let token = param(query.as_bytes(), "access_token").or_else(|| param(body, "access_token"));
    let Some(token) = token else {
        return Reply::refused(sim, provider, Family::Tokeninfo, &gate, Condition::Invalid);
    };
    let ruling = sim.check_access(provider, &token, now_ms, &mut gate);
    Reply::from(sim, provider, Family::Tokeninfo, &gate, ruling, |live: Live| {
        let config = sim.config();
        let account = live.account();
        let scope = live.scope_string(provider, " ");
        let expires_ms = live.expires_ms.unwrap_or(now_ms);
        let body = TokenInfo {
            azp: &config.client_id,
            aud: &config.client_id,
            sub: &account,
            scope: &scope,
            exp: (expires_ms / 1000).to_string(),
            expires_in: ((expires_ms - now_ms).max(0) / 1000).to_string(),
            access_type: "offline",
        };
        json_response(StatusCode::OK, &body)
    })
}
