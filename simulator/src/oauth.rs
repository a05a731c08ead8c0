//! The OAuth side of every network (RFC 6749, RFC 7636): `/{provider}/authorize` logs a chosen
//! account in and redirects with a single-use code (or `error=access_denied` when the account
//! is set to cancel), and `/{provider}/token` exchanges codes and refresh tokens after checking
//! the app's credentials (HTTP Basic or form).

use axum::http::header::{AUTHORIZATION, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng as _;
use relink_core::Provider;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::account::read;
use crate::answer::{Condition, Family, json_response, text_response};
use crate::http::{Reply, param};
use crate::rules::{duration_ms, issues_refresh_tokens, rotates_refresh_tokens};
use crate::sim::{ChallengeMethod, Endpoint, Issued, PendingCode, Simulator};

/// `GET /{provider}/authorize`. Errors the browser cannot be redirected for (unknown client,
/// bad redirect URI, no account to log in as) are plain-text 400 pages, as RFC 6749 §4.1.2.1
/// requires.
pub(crate) fn authorize(sim: &Simulator, provider: Provider, query: &str) -> Response {
    if provider == Provider::Telegram {
        return text_response(
            StatusCode::NOT_FOUND,
            "Telegram has no OAuth flow: add the bot to the channel as an admin instead.",
        );
    }
    let query = query.as_bytes();
    let get = |key: &str| param(query, key);
    if get("client_id").as_deref() != Some(sim.config().client_id.as_str()) {
        return text_response(StatusCode::BAD_REQUEST, "invalid_client: unknown client_id");
    }
    let Some(redirect) = get("redirect_uri").and_then(|uri| Url::parse(&uri).ok()) else {
        return text_response(StatusCode::BAD_REQUEST, "invalid_request: redirect_uri is missing or not a URL");
    };
    let index = match get("login_as") {
        Some(account) => match sim.find(provider, &account) {
            Some(index) => index,
            None => return text_response(StatusCode::BAD_REQUEST, format!("no {provider} account `{account}`")),
        },
        None => match default_login(sim, provider) {
            Some(index) => index,
            None => return text_response(StatusCode::BAD_REQUEST, format!("no {provider} account to log in as")),
        },
    };
    sim.count(provider, Endpoint::Authorize);
    let cancel = sim
        .with_state(provider, index, |state| {
            state.authorizes = state.authorizes.saturating_add(1);
            state.cancel_authorize
        })
        .unwrap_or(false);
    let state = get("state");
    let redirect_with = |pairs: &[(&str, &str)]| {
        let mut url = redirect.clone();
        {
            let mut query = url.query_pairs_mut();
            for (key, value) in pairs {
                query.append_pair(key, value);
            }
            if let Some(state) = &state {
                query.append_pair("state", state);
            }
        }
        found(&url)
    };
    if cancel {
        return redirect_with(&[("error", "access_denied"), ("error_description", "The user denied the request.")]);
    }
    if get("response_type").as_deref() != Some("code") {
        return redirect_with(&[("error", "unsupported_response_type")]);
    }
    let challenge = match (get("code_challenge"), get("code_challenge_method").as_deref()) {
        (None, _) => None,
        (Some(challenge), Some("S256")) => Some((challenge.into_owned(), ChallengeMethod::S256)),
        (Some(challenge), None | Some("plain")) => Some((challenge.into_owned(), ChallengeMethod::Plain)),
        (Some(_), Some(_)) => {
            return redirect_with(&[
                ("error", "invalid_request"),
                ("error_description", "unsupported code_challenge_method"),
            ]);
        }
    };
    let scopes = get("scope")
        .map(|scope| scope.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>().into());
    let code: String = rand::rng().sample_iter(rand::distr::Alphanumeric).take(32).map(char::from).collect();
    let now_ms = sim.now_ms();
    let pending = PendingCode {
        provider,
        index,
        client_id: sim.config().client_id.clone(),
        redirect_uri: redirect.as_str().to_owned(),
        challenge,
        scopes,
        expires_ms: now_ms.saturating_add(duration_ms(sim.config().code_lifetime)),
    };
    sim.keep_code(code.clone(), pending, now_ms);
    redirect_with(&[("code", &code)])
}

/// The account `authorize` logs in without `login_as`: the one set, else the first named
/// account, else the first account of any kind.
fn default_login(sim: &Simulator, provider: Provider) -> Option<u32> {
    let first_named = {
        let directory = read(&sim.inner.directory);
        directory
            .login_as
            .get(&provider)
            .or_else(|| directory.named.get(&provider).and_then(|named| named.first()))
            .copied()
    };
    first_named.or_else(|| (sim.account_count(provider) > 0).then_some(0))
}

fn found(url: &Url) -> Response {
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

/// The app credentials of a token request: HTTP Basic first, else the form.
fn client_credentials(headers: &HeaderMap, form: &[u8]) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
    {
        let decoded = String::from_utf8(STANDARD.decode(basic.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        // RFC 6749 §2.3.1: both halves are form-encoded before joining.
        let unescape =
            |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
        return Some((unescape(id)?, unescape(secret)?));
    }
    Some((param(form, "client_id")?.into_owned(), param(form, "client_secret")?.into_owned()))
}

/// `POST /{provider}/token`: `authorization_code` and `refresh_token` grants.
pub(crate) fn token(sim: &Simulator, provider: Provider, headers: &HeaderMap, form: &[u8]) -> Reply {
    let family = Family::OAuth;
    let grant_type = param(form, "grant_type");
    let endpoint = match grant_type.as_deref() {
        Some("refresh_token") => Endpoint::Refresh,
        _ => Endpoint::TokenExchange,
    };
    sim.count(provider, endpoint);
    let mut gate = sim.gate(provider);
    if provider == Provider::Telegram {
        let unsupported = Condition::BadRequest("unsupported grant_type: Telegram has no token endpoint");
        return Reply::refused(sim, provider, family, &gate, unsupported);
    }
    let config = sim.config();
    let client_ok = client_credentials(headers, form)
        .is_some_and(|(id, secret)| id == config.client_id && secret == config.client_secret);
    if !client_ok {
        return Reply::refused(sim, provider, family, &gate, Condition::BadClient);
    }
    let now_ms = sim.now_ms();
    match grant_type.as_deref() {
        Some("authorization_code") => {
            if let Some(fail) = gate.fail {
                return Reply::failed(family, &gate, fail);
            }
            match exchange(sim, provider, form, now_ms) {
                Ok(issued) => {
                    Reply::answer(family, &gate, json_response(StatusCode::OK, &token_json(&issued, now_ms, true)))
                }
                Err(condition) => Reply::refused(sim, provider, family, &gate, condition),
            }
        }
        Some("refresh_token") if issues_refresh_tokens(provider) => {
            let Some(refresh_token) = param(form, "refresh_token") else {
                return Reply::refused(
                    sim,
                    provider,
                    family,
                    &gate,
                    Condition::BadRequest("refresh_token is required"),
                );
            };
            let scope = param(form, "scope");
            let ruling = sim.refresh(provider, &refresh_token, scope.as_deref(), now_ms, &mut gate);
            // Rotating networks and LinkedIn send the refresh token back; Google keeps it.
            let include_refresh = rotates_refresh_tokens(provider) || provider == Provider::Linkedin;
            Reply::from(sim, provider, family, &gate, ruling, |issued: Issued| {
                json_response(StatusCode::OK, &token_json(&issued, now_ms, include_refresh))
            })
        }
        _ => Reply::refused(sim, provider, family, &gate, Condition::BadRequest("unsupported grant_type")),
    }
}

/// Checks a code against what `authorize` bound it to and grants the account anew.
fn exchange(sim: &Simulator, provider: Provider, form: &[u8], now_ms: i64) -> Result<Issued, Condition> {
    let code = param(form, "code").ok_or(Condition::BadRequest("code is required"))?;
    // A presented code is spent whatever happens next: single use, even when refused.
    let pending = sim.take_code(code.as_ref());
    let pending = pending.ok_or(Condition::InvalidGrant("The authorization code is invalid or was already used."))?;
    if pending.provider != provider || pending.client_id != sim.config().client_id {
        return Err(Condition::InvalidGrant("The authorization code was issued to another client."));
    }
    if pending.expires_ms <= now_ms {
        return Err(Condition::InvalidGrant("The authorization code has expired."));
    }
    if param(form, "redirect_uri").as_deref() != Some(pending.redirect_uri.as_str()) {
        return Err(Condition::InvalidGrant("redirect_uri does not match the one of the authorization request."));
    }
    if let Some((challenge, method)) = &pending.challenge {
        let verifier = param(form, "code_verifier").ok_or(Condition::InvalidGrant("code_verifier is required."))?;
        if !verifier_ok(&verifier, challenge, *method) {
            return Err(Condition::InvalidGrant("code_verifier does not match the code_challenge."));
        }
    }
    sim.regrant(provider, pending.index, pending.scopes, true).ok_or(Condition::Invalid)
}

/// RFC 7636 §4.6: S256 is BASE64URL-NOPAD(SHA256(ASCII(verifier))); the verifier is 43–128
/// unreserved characters.
pub(crate) fn verifier_ok(verifier: &str, challenge: &str, method: ChallengeMethod) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed
        && match method {
            ChallengeMethod::S256 => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge,
            ChallengeMethod::Plain => verifier == challenge,
        }
}

/// The token endpoint's answer, in each network's shape.
fn token_json(issued: &Issued, now_ms: i64, include_refresh: bool) -> Value {
    let provider = issued.provider;
    let expires_in = issued.expires_at.map(|at| ((at.timestamp_millis() - now_ms) / 1000).max(0));
    let refresh = issued.refresh_token.as_deref().filter(|_| include_refresh);
    let mut body = match provider {
        // Page tokens: no expiry.
        Provider::Facebook | Provider::InstagramBusiness => {
            json!({ "access_token": issued.access_token, "token_type": "bearer" })
        }
        Provider::InstagramLogin | Provider::Threads => json!({
            "access_token": issued.access_token, "token_type": "bearer", "expires_in": expires_in,
            "user_id": issued.account,
        }),
        Provider::Linkedin => json!({
            "access_token": issued.access_token, "expires_in": expires_in, "scope": issued.scopes.join(","),
            "token_type": "Bearer",
        }),
        Provider::Pinterest => json!({
            "access_token": issued.access_token, "token_type": "bearer", "expires_in": expires_in,
            "scope": issued.scopes.join(","),
        }),
        _ => json!({
            "access_token": issued.access_token, "token_type": if provider == Provider::X { "bearer" } else { "Bearer" },
            "expires_in": expires_in, "scope": issued.scopes.join(" "),
        }),
    };
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
        if let Some(until) = issued.refresh_expires_at {
            body["refresh_token_expires_in"] = json!(((until.timestamp_millis() - now_ms) / 1000).max(0));
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verifier_ok(verifier, challenge, ChallengeMethod::S256));
        assert!(!verifier_ok(&verifier.replace('d', "e"), challenge, ChallengeMethod::S256));
        assert!(!verifier_ok("short", "short", ChallengeMethod::Plain), "a verifier has at least 43 characters");
    }
}
