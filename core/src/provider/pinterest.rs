//! Pinterest: its [`Plain`] row and its answer rules. 30-day access tokens; refresh tokens with
//! "continuous refresh" for new apps (rotation details uncertain: always store what comes back,
//! treat it as rotating). The seeds' "30 days without publishing activity" is the policy's
//! inactivity period: a rejection on an idle channel says "inactivity" ([`rules`]).
//!
//! Probe: `GET user_account`. With a refresh token, a spent or refused access token is "renew
//! now": the refresh grant decides, and gives the inactivity reason if it fails on an idle channel.
//! The token endpoint wants HTTP Basic; scopes are comma-separated.
//! Source: <https://developers.pinterest.com/docs/getting-started/authentication-and-scopes/>

use std::time::Duration;

use serde_json::Value;

use super::classify::{
    Context, Family, TokenRefusals, expired_or_invalid, fallback, fallback_with, id_at, text_at, token_endpoint,
};
use super::http::Answer;
use super::oauth::ClientAuth;
use super::plain::{Plain, Probe};
use super::policy::{Policy, Renewal};
use super::{Validity, Verdict};
use crate::domain::{Provider, Reason};

/// What Pinterest does with tokens (see [`Policy`]).
pub(super) const POLICY: Policy = Policy {
    provider: Provider::Pinterest,
    access_lifetime: Some(Duration::from_secs(30 * 86_400)),
    // "Continuous refresh" for new apps; rotation details uncertain: always store what comes back.
    renewal: Renewal::RotatingRefreshToken,
    // The seeds' "30 days without publishing activity" (configurable).
    inactivity: Some(Duration::from_secs(30 * 86_400)),
    probe: "GET /user_account",
    default_api_base: "https://api.pinterest.com/v5/",
    default_authorize_url: "https://www.pinterest.com/oauth/",
    default_token_url: "https://api.pinterest.com/v5/oauth/token",
    scopes: &["boards:read", "pins:read", "pins:write", "user_accounts:read"],
    pkce: false,
    rate_per_second: 10.0,
    sources: &["https://developers.pinterest.com/docs/getting-started/authentication-and-scopes/"],
};

/// How Pinterest's token endpoint refuses. A refused grant past the inactivity deadline was ended
/// by inactivity; its refresh token rotates at every renewal (about monthly), so one refused
/// with no known end was revoked, inactivity having been ruled out.
pub(super) const REFUSALS: TokenRefusals = TokenRefusals {
    inactivity_is_stored: true,
    revoked_without_known_end: true,
    expired_or_revoked_is_revoked: false,
    spent_refresh_token: None,
};

/// Pinterest's adapter, as data.
pub(super) static PINTEREST: Plain = Plain {
    provider: Provider::Pinterest,
    family: Family::Pinterest,
    probe: Probe::Bearer(&["user_account"]),
    client_auth: ClientAuth::Basic,
    scope_separator: ",",
    authorize_params: &[],
    // Where `user_account` names the account: `id`, else `username`.
    account_at: &["/id", "/username"],
    name_at: &["/username"],
};

/// Pinterest's v5 API. A 401 on a channel idle longer than the policy's inactivity period is
/// "inactivity" (the seeds' 30-day rule, configurable).
/// Source: <https://developers.pinterest.com/docs/api/v5/#tag/Response-codes>
pub(super) fn rules(cx: &Context, answer: &Answer) -> Verdict {
    let Some(json) = answer.json() else { return fallback("Pinterest", answer) };
    if json.get("error").and_then(Value::as_str).is_some() {
        return token_endpoint(Provider::Pinterest, cx, answer);
    }
    if answer.is_success() {
        let account_id = id_at(&json, PINTEREST.account_at);
        return Verdict::Valid(Validity { account_id, ..Validity::default() });
    }
    let text = text_at(&json, &["/message"]);
    let detail = format!("Pinterest {}: {text}", answer.status);
    let lower = text.to_lowercase();
    match answer.status {
        401 if cx.inactive() => Verdict::Dead(Reason::Inactivity),
        401 => expired_or_invalid(cx),
        // The app may not use a scope (its access tier): relink's matter, not the person's.
        403 if ["scope", "tier", "trial"].iter().any(|w| lower.contains(w)) => Verdict::Operator(detail),
        403 => Verdict::Permission(detail),
        _ => fallback_with("Pinterest", answer, detail),
    }
}

#[cfg(test)]
pub(super) mod tests {
    //! Pinterest's rows of PROVIDERS.md's "What an answer means"; `classify`'s table test runs them
    //! again with every network's and the shared rules.

    use crate::provider::classify::testing::*;

    /// Pinterest's cells of the table, one row per line.
    #[rustfmt::skip]
    pub(in crate::provider) fn rows() -> Vec<Row> {
        vec![
            // ---- Pinterest: dead
            (F::Pinterest, Cx::Live, 401, &[], s(r#"{"code":2,"message":"Authentication failed."}"#), invalidated()),
            (F::Pinterest, Cx::Expired, 401, &[], s(r#"{"code":2,"message":"Authentication failed."}"#), Want::Dead(Reason::Expired)),
            (F::Pinterest, Cx::Idle, 401, &[], s(r#"{"code":2,"message":"Authentication failed."}"#), Want::Dead(Reason::Inactivity)),
            (F::Token(P::Pinterest), Cx::Idle, 400, &[], s(r#"{"error":"invalid_grant","error_description":"bad refresh token"}"#), Want::Dead(Reason::Inactivity)),
            (F::Token(P::Pinterest), Cx::Live, 400, &[], s(r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#), Want::Dead(Reason::AppRevoked)),
            (F::Token(P::Pinterest), Cx::RefreshLives, 400, &[], s(r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#), Want::Dead(Reason::AppRevoked)),
            (F::Token(P::Linkedin), Cx::RefreshLives, 400, &[], s(r#"{"error":"invalid_grant","error_description":"The provided authorization grant or refresh token is invalid, expired or revoked."}"#), Want::Dead(Reason::AppRevoked)),
            // ---- Pinterest: permission
            (F::Pinterest, Cx::Live, 403, &[], s(r#"{"code":3,"message":"Not authorized to access board."}"#), Want::Permission),
            // ---- Pinterest: account — "(uncertain)" in PROVIDERS.md: no shape to recognise.
            // ---- Pinterest: operator
            (F::Pinterest, Cx::Live, 403, &[], s(r#"{"code":29,"message":"You are not permitted to access that resource: missing scope pins:write"}"#), Want::Operator),
            // ---- Pinterest: transient
            (F::Pinterest, Cx::Live, 429, &[("retry-after", "5")], s(r#"{"code":8,"message":"Rate limit exceeded"}"#), Want::Transient(Some(5))),
            (F::Pinterest, Cx::Live, 500, &[], s(r#"{"code":1,"message":"internal"}"#), Want::Transient(None)),
            // ---- Pinterest: healthy, and "renew now" with a refresh token (inactivity is then the
            // refresh grant's to say)
            (F::Pinterest, Cx::Live, 200, &[], s(r#"{"id":"549755885175","username":"acme","account_type":"BUSINESS"}"#), Want::Valid),
            (F::Pinterest, Cx::Refreshable, 401, &[], s(r#"{"code":2,"message":"Authentication failed."}"#), Want::RenewNow),
        ]
    }

    #[test]
    fn every_pinterest_answer_gets_its_class() {
        check(&rows());
    }

    #[test]
    fn a_revoked_pinterest_app_without_a_known_refresh_end_is_revoked_not_expired() {
        let body = r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#;
        let verdict = answer(F::Token(P::Pinterest), &context(Cx::Live), &Answer::new(400, HeaderMap::new(), body));
        assert_eq!(verdict, Verdict::Dead(Reason::AppRevoked));
    }
}
