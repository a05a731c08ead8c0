//! X (OAuth 2.0 user context): its [`Plain`] row and its answer rules. Access tokens live two
//! hours; the `offline.access` refresh token is single-use and rotated, and reusing an old one may
//! revoke the whole grant: the checker refreshes late, under a lease, and stores what comes back
//! first; a refresh that timed out is `Renewed::Uncertain`, never retried blindly. PKCE (S256) is
//! required; confidential clients authenticate with HTTP Basic.
//!
//! The probe `GET 2/users/me` is a billed read, so a token that is spent anyway is not probed:
//! with a refresh token that is "renew now", and the refresh is the check.
//! Source: <https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code>

use std::time::Duration;

use serde_json::Value;

use super::classify::{
    Context, Family, TokenRefusals, expired_or_invalid, fallback, fallback_with, id_at, int, text_at, token_endpoint,
};
use super::http::Answer;
use super::oauth::ClientAuth;
use super::plain::{Plain, Probe};
use super::policy::{Policy, Renewal};
use super::{Validity, Verdict};
use crate::domain::{Provider, Reason};

/// What X does with tokens (see [`Policy`]).
pub(super) const POLICY: Policy = Policy {
    provider: Provider::X,
    // OAuth 2.0 user tokens last two hours; the offline.access refresh token is single-use.
    access_lifetime: Some(Duration::from_secs(2 * 3_600)),
    renewal: Renewal::RotatingRefreshToken,
    inactivity: None,
    probe: "GET /2/users/me (a billed read: probe sparingly)",
    default_api_base: "https://api.x.com/",
    default_authorize_url: "https://x.com/i/oauth2/authorize",
    default_token_url: "https://api.x.com/2/oauth2/token",
    scopes: &["tweet.read", "tweet.write", "users.read", "offline.access"],
    pkce: true,
    rate_per_second: 5.0,
    sources: &["https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code"],
};

/// How X's token endpoint refuses. Its refresh tokens have no time limit, so "expired or
/// revoked" is access withdrawn; a refresh token it no longer accepts (rotated by a parallel
/// refresh, or revoked) comes back as `invalid_request`, "Value passed for the token was invalid".
pub(super) const REFUSALS: TokenRefusals = TokenRefusals {
    expired_or_revoked_is_revoked: true,
    spent_refresh_token: Some("token was invalid"),
    inactivity_is_stored: false,
    revoked_without_known_end: false,
};

/// X's adapter, as data.
pub(super) static X: Plain = Plain {
    provider: Provider::X,
    family: Family::X,
    probe: Probe::Bearer(&["2", "users", "me"]),
    client_auth: ClientAuth::Basic,
    scope_separator: " ",
    authorize_params: &[],
    // Where `2/users/me` names the account.
    account_at: &["/data/id"],
    name_at: &["/data/username"],
};

/// X's v2 API (problem types) and the v1.1 error codes still met.
/// Source: <https://docs.x.com/x-api/fundamentals/response-codes-and-errors>
pub(super) fn rules(cx: &Context, answer: &Answer) -> Verdict {
    let Some(json) = answer.json() else { return fallback("X", answer) };
    if answer.is_success() && json.get("data").is_some() {
        return Verdict::Valid(Validity { account_id: id_at(&json, X.account_at), ..Validity::default() });
    }
    if json.get("error").and_then(Value::as_str).is_some() {
        return token_endpoint(Provider::X, cx, answer);
    }
    let problem = json.get("type").and_then(Value::as_str).and_then(|t| t.rsplit('/').next()).unwrap_or_default();
    let title = text_at(&json, &["/title"]);
    let detail = format!("X {}: {}", answer.status, text_at(&json, &["/detail", "/title", "/errors/0/message"]));
    match int(json.pointer("/errors/0/code")) {
        Some(89) => return expired_or_invalid(cx),
        Some(326) => return Verdict::Account(Reason::SecurityCheckpoint),
        // A suspension is the account's own problem, like a lock: the person acts on X.
        Some(64) => return Verdict::Account(Reason::SecurityCheckpoint),
        Some(88) => return Verdict::Transient { retry_after: x_wait(cx, answer), detail },
        _ => {}
    }
    match (answer.status, problem) {
        (401, _) => expired_or_invalid(cx),
        (403, "not-authorized-for-resource") => Verdict::Permission(detail),
        (403, "user-suspended") => Verdict::Account(Reason::SecurityCheckpoint),
        (403, "client-forbidden" | "unsupported-authentication") => Verdict::Operator(detail),
        (429, "usage-capped") => Verdict::Operator(format!("X: the app's monthly usage cap is reached ({detail})")),
        (429, _) if title == "UsageCapExceeded" => {
            Verdict::Operator(format!("X: the app's monthly usage cap is reached ({detail})"))
        }
        (429, _) => Verdict::Transient { retry_after: x_wait(cx, answer), detail },
        _ => fallback_with("X", answer, detail),
    }
}

fn x_wait(cx: &Context, answer: &Answer) -> Option<Duration> {
    answer.x_rate_limit_reset(cx.now).or_else(|| answer.retry_after())
}

#[cfg(test)]
pub(super) mod tests {
    //! X's rows of PROVIDERS.md's "What an answer means"; `classify`'s table test runs them
    //! again with every network's and the shared rules.

    use crate::provider::classify::testing::*;

    /// X's cells of the table, one row per line.
    #[rustfmt::skip]
    pub(in crate::provider) fn rows() -> Vec<Row> {
        vec![
            // ---- X: dead
            (F::X, Cx::Live, 401, &[], s(r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#), invalidated()),
            (F::X, Cx::Expired, 401, &[], s(r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#), Want::Dead(Reason::Expired)),
            (F::X, Cx::Live, 401, &[], s(r#"{"errors":[{"code":89,"message":"Invalid or expired token."}]}"#), invalidated()),
            (F::Token(P::X), Cx::Live, 400, &[], s(r#"{"error":"invalid_request","error_description":"Value passed for the token was invalid."}"#), Want::Dead(other("X refused the refresh token (revoked, or already used)"))),
            (F::Token(P::X), Cx::Live, 400, &[], s(r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#), Want::Dead(Reason::AppRevoked)),
            // ---- X: permission
            (F::X, Cx::Live, 403, &[], s(r#"{"title":"Forbidden","type":"https://api.twitter.com/2/problems/not-authorized-for-resource","status":403}"#), Want::Permission),
            // ---- X: account
            (F::X, Cx::Live, 403, &[], s(r#"{"title":"Forbidden","type":"https://api.twitter.com/2/problems/user-suspended","status":403}"#), Want::Account(Reason::SecurityCheckpoint)),
            (F::X, Cx::Live, 403, &[], s(r#"{"errors":[{"code":326,"message":"locked"}]}"#), Want::Account(Reason::SecurityCheckpoint)),
            (F::X, Cx::Live, 403, &[], s(r#"{"errors":[{"code":64,"message":"suspended"}]}"#), Want::Account(Reason::SecurityCheckpoint)),
            // ---- X: operator
            (F::X, Cx::Live, 403, &[], s(r#"{"title":"Client Forbidden","type":"https://api.twitter.com/2/problems/client-forbidden","status":403}"#), Want::Operator),
            (F::X, Cx::Live, 429, &[("x-rate-limit-reset", "1772370060")], s(r#"{"title":"UsageCapExceeded","type":"https://api.twitter.com/2/problems/usage-capped","status":429}"#), Want::Operator),
            // ---- X: transient (wait from x-rate-limit-reset: now + 60 s)
            (F::X, Cx::Live, 429, &[("x-rate-limit-reset", "1772366460")], s(r#"{"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}"#), Want::Transient(Some(60))),
            (F::X, Cx::Live, 503, &[], s(r#"{"title":"Service Unavailable"}"#), Want::Transient(None)),
            // ---- X: healthy, and "renew now" with a refresh token
            (F::X, Cx::Live, 200, &[], s(r#"{"data":{"id":"2244994945","name":"X Dev","username":"xdev"}}"#), Want::Valid),
            (F::X, Cx::Refreshable, 401, &[], s(r#"{"title":"Unauthorized","status":401}"#), Want::RenewNow),
        ]
    }

    #[test]
    fn every_x_answer_gets_its_class() {
        check(&rows());
    }
}
