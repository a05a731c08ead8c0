//! LinkedIn (members and organization pages): its [`Plain`] row and its answer rules. 60-day
//! access tokens; refresh tokens only for approved partner apps, living 365 days from the first
//! grant whatever the refreshes.
//!
//! The probe is token introspection (`POST introspectToken` with relink's app credentials): free,
//! and it says `expired` or `revoked`. With a refresh token, a spent or refused access token is
//! "renew now": the refresh grant decides. Client credentials go in the form; scopes are
//! space-separated.
//! Sources: <https://learn.microsoft.com/en-us/linkedin/shared/authentication/token-introspection>,
//! <https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens>

use std::time::Duration;

use serde_json::Value;

use super::classify::{
    Context, Family, epoch, expired_or_invalid, fallback, fallback_with, id_at, id_of, int, scopes_of, text_at,
    token_endpoint,
};
use super::http::Answer;
use super::oauth::ClientAuth;
use super::plain::{Plain, Probe};
use super::policy::{Policy, Renewal};
use super::{Validity, Verdict};
use crate::domain::{Provider, Reason};

/// What LinkedIn does with tokens (see [`Policy`]).
pub(super) const POLICY: Policy = Policy {
    provider: Provider::Linkedin,
    access_lifetime: Some(Duration::from_secs(60 * 86_400)),
    // Refresh tokens only for approved partner apps; their 365 days count from the first grant.
    renewal: Renewal::RefreshToken,
    inactivity: None,
    probe: "POST /introspectToken (token, client_id, client_secret)",
    default_api_base: "https://www.linkedin.com/oauth/v2/",
    default_authorize_url: "https://www.linkedin.com/oauth/v2/authorization",
    default_token_url: "https://www.linkedin.com/oauth/v2/accessToken",
    scopes: &["openid", "profile", "w_member_social"],
    pkce: false,
    rate_per_second: 20.0,
    sources: &[
        "https://learn.microsoft.com/en-us/linkedin/shared/authentication/token-introspection",
        "https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens",
    ],
};

/// LinkedIn's adapter, as data.
pub(super) static LINKEDIN: Plain = Plain {
    provider: Provider::Linkedin,
    family: Family::Linkedin,
    probe: Probe::Introspect(&["introspectToken"]),
    client_auth: ClientAuth::Form,
    scope_separator: " ",
    authorize_params: &[],
    // Where an active introspection names the account: `member_id`, else `sub`.
    account_at: &["/member_id", "/sub"],
    name_at: &[],
};

/// LinkedIn's token introspection and REST API.
/// Sources: <https://learn.microsoft.com/en-us/linkedin/shared/authentication/token-introspection>,
/// <https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling>
pub(super) fn rules(cx: &Context, answer: &Answer) -> Verdict {
    let Some(json) = answer.json() else { return fallback("LinkedIn", answer) };
    if answer.is_success()
        && let Some(active) = json.get("active").and_then(Value::as_bool)
    {
        if active {
            return Verdict::Valid(Validity {
                expires_at: epoch(cx, json.get("expires_at")),
                scopes: scopes_of(json.get("scope")),
                account_id: id_at(&json, LINKEDIN.account_at),
                grantor_id: None,
                usage: None,
            });
        }
        return match json.get("status").and_then(Value::as_str) {
            Some("expired") => Verdict::Dead(Reason::Expired),
            Some("revoked") => Verdict::Dead(Reason::AppRevoked),
            _ => expired_or_invalid(cx),
        };
    }
    // Introspection authenticates relink's app: its errors are RFC 6749's (invalid_client…).
    if json.get("error").and_then(Value::as_str).is_some() {
        return token_endpoint(Provider::Linkedin, cx, answer);
    }
    if answer.is_success() {
        let account_id = id_of(json.get("sub")).or_else(|| id_of(json.get("id")));
        return Verdict::Valid(Validity { account_id, ..Validity::default() });
    }
    let service = int(json.get("serviceErrorCode"));
    let text = text_at(&json, &["/message"]);
    let detail = format!("LinkedIn {}: {text}", answer.status);
    match (answer.status, service) {
        (401, Some(65601)) => Verdict::Dead(Reason::AppRevoked),
        (401, Some(65602)) => Verdict::Dead(Reason::Expired),
        (401, _) => expired_or_invalid(cx),
        (403, _)
            if service == Some(100)
                || json.get("code").and_then(Value::as_str) == Some("ACCESS_DENIED")
                || text.to_lowercase().contains("permission") =>
        {
            Verdict::Permission(detail)
        }
        _ => fallback_with("LinkedIn", answer, detail),
    }
}

#[cfg(test)]
pub(super) mod tests {
    //! LinkedIn's rows of PROVIDERS.md's "What an answer means"; `classify`'s table test runs them
    //! again with every network's and the shared rules.

    use crate::provider::classify::testing::*;

    /// LinkedIn's cells of the table, one row per line.
    #[rustfmt::skip]
    pub(in crate::provider) fn rows() -> Vec<Row> {
        vec![
            // ---- LinkedIn: dead
            (F::Linkedin, Cx::Live, 401, &[], s(r#"{"serviceErrorCode":65600,"message":"Invalid access token","status":401}"#), invalidated()),
            (F::Linkedin, Cx::Expired, 401, &[], s(r#"{"serviceErrorCode":65600,"message":"Invalid access token","status":401}"#), Want::Dead(Reason::Expired)),
            (F::Linkedin, Cx::Live, 200, &[], s(r#"{"active":false,"status":"expired"}"#), Want::Dead(Reason::Expired)),
            (F::Linkedin, Cx::Live, 200, &[], s(r#"{"active":false,"status":"revoked"}"#), Want::Dead(Reason::AppRevoked)),
            (F::Token(P::Linkedin), Cx::Live, 400, &[], s(r#"{"error":"invalid_grant","error_description":"The provided authorization grant or refresh token is invalid, expired or revoked."}"#), Want::Dead(Reason::Expired)),
            // ---- LinkedIn: permission
            (F::Linkedin, Cx::Live, 403, &[], s(r#"{"serviceErrorCode":100,"message":"Not enough permissions to access: organizationAcls","status":403}"#), Want::Permission),
            (F::Linkedin, Cx::Live, 403, &[], s(r#"{"code":"ACCESS_DENIED","message":"denied","status":403}"#), Want::Permission),
            // ---- LinkedIn: account — none in PROVIDERS.md.
            // ---- LinkedIn: operator
            (F::Token(P::Linkedin), Cx::Live, 401, &[], s(r#"{"error":"unauthorized_client"}"#), Want::Operator),
            (F::Linkedin, Cx::Live, 401, &[], s(r#"{"error":"invalid_client","error_description":"x"}"#), Want::Operator),
            // ---- LinkedIn: transient
            (F::Linkedin, Cx::Live, 429, &[("retry-after", "10")], s(""), Want::Transient(Some(10))),
            (F::Linkedin, Cx::Live, 500, &[], s(r#"{"message":"Internal error","status":500}"#), Want::Transient(None)),
            (F::Linkedin, Cx::Live, 502, &[], s(HTML), Want::Transient(None)),
            // ---- LinkedIn: healthy, and "renew now" with a refresh token
            (F::Linkedin, Cx::Live, 200, &[], s(r#"{"active":true,"client_id":"c","status":"active","expires_at":1900000000,"scope":"a,b","member_id":"m1"}"#), Want::Valid),
            (F::Linkedin, Cx::Refreshable, 401, &[], s(r#"{"serviceErrorCode":65600,"status":401}"#), Want::RenewNow),
            (F::Token(P::Pinterest), Cx::RefreshEnded, 400, &[], s(r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#), Want::Dead(Reason::Expired)),
        ]
    }

    #[test]
    fn every_linkedin_answer_gets_its_class() {
        check(&rows());
    }
}
