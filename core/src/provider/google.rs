//! Google: YouTube and Business Profile, two [`Plain`] rows sharing one token service and one set
//! of answer rules. Access tokens live an hour; the refresh token (`access_type=offline`,
//! `prompt=consent` so it is issued again on a reconnect) survives its use and dies when revoked,
//! unused for six months, beyond 100 per account and client, on a password change (Gmail scopes)
//! or after 7 days while the app is in "Testing".
//!
//! Validation never spends Data API quota (YouTube: 10,000 units a day). An access token that is
//! spent or about to be (within five minutes) is not probed: "renew now", and the refresh grant is
//! the check. Otherwise `GET tokeninfo`; its `invalid_token` also means "renew now" when a refresh
//! token exists. `validate` never stores tokens: "renew now" is a valid verdict whose access token
//! expires at `now` ([`Verdict::renew_now`]), and the checker renews, then stores what comes back.
//! Source: <https://developers.google.com/identity/protocols/oauth2#expiration>

use serde_json::Value;

use super::classify::{
    Context, Family, TokenRefusals, collect_key, epoch, expired_or_invalid, fallback, fallback_with, id_at, id_of, int,
    scopes_of, text_at, token_endpoint,
};
use super::http::Answer;
use super::oauth::ClientAuth;
use super::plain::{Plain, Probe};
use super::policy::{HOUR, Policy, Renewal};
use super::{Validity, Verdict};
use crate::domain::{Provider, Reason};

/// What YouTube does with tokens (see [`Policy`]).
pub(super) const YOUTUBE_POLICY: Policy = Policy {
    provider: Provider::Youtube,
    access_lifetime: Some(HOUR),
    // Google refresh tokens die when revoked, unused for six months, beyond 100 per account and
    // client, or after 7 days while the app is in "Testing".
    renewal: Renewal::RefreshToken,
    inactivity: None,
    probe: "the refresh grant itself, or GET /tokeninfo?access_token=… (never a quota-metered Data API call)",
    default_api_base: "https://oauth2.googleapis.com/",
    default_authorize_url: "https://accounts.google.com/o/oauth2/v2/auth",
    default_token_url: "https://oauth2.googleapis.com/token",
    // `profile`: Google sends Cross-Account Protection events (the RISC push signal) only for
    // people who granted `profile` or `email` (https://developers.google.com/identity/protocols/risc).
    scopes: &[
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
        "profile",
    ],
    pkce: true,
    rate_per_second: 20.0,
    sources: &["https://developers.google.com/identity/protocols/oauth2#expiration"],
};

/// What Business Profile does with tokens (see [`Policy`]).
pub(super) const GOOGLE_BUSINESS_POLICY: Policy = Policy {
    provider: Provider::GoogleBusiness,
    scopes: &["https://www.googleapis.com/auth/business.manage", "profile"],
    ..YOUTUBE_POLICY
};

/// Both Google networks but for the network itself: space-separated scopes, a refresh token every
/// time (`access_type=offline`, `prompt=consent`), PKCE S256 when given.
const fn google(provider: Provider) -> Plain {
    Plain {
        provider,
        family: Family::Google,
        probe: Probe::Query(&["tokeninfo"]),
        client_auth: ClientAuth::Form,
        scope_separator: " ",
        authorize_params: &[("access_type", "offline"), ("prompt", "consent")],
        // Where `tokeninfo` names the account.
        account_at: &["/sub"],
        name_at: &[],
    }
}

/// How Google's token endpoint refuses. Its only wording is "Token has been expired or revoked."
/// relink refreshes Google tokens every hour, so "unused for six months" cannot be the cause;
/// what remains (the person removed access, a password change with Gmail scopes, the 100-token
/// cap, an app still in Testing) is access withdrawn.
pub(super) const REFUSALS: TokenRefusals = TokenRefusals {
    expired_or_revoked_is_revoked: true,
    inactivity_is_stored: false,
    revoked_without_known_end: false,
    spent_refresh_token: None,
};

pub(super) static YOUTUBE: Plain = google(Provider::Youtube);
pub(super) static GOOGLE_BUSINESS: Plain = google(Provider::GoogleBusiness);

/// Google's `tokeninfo` and API errors. `invalid_token` or a 401 says the access token is spent;
/// with a refresh token `classify::answer` makes that "renew now", never a disconnect.
/// Sources: <https://developers.google.com/identity/protocols/oauth2>,
/// <https://developers.google.com/youtube/v3/docs/errors>, <https://cloud.google.com/apis/design/errors>
pub(super) fn rules(cx: &Context, answer: &Answer) -> Verdict {
    let Some(json) = answer.json() else { return fallback("Google", answer) };
    match json.get("error") {
        Some(Value::String(code)) if code == "invalid_token" && answer.status < 500 => expired_or_invalid(cx),
        // Both Google networks share one token service and its rules.
        Some(Value::String(_)) => token_endpoint(Provider::Youtube, cx, answer),
        Some(error @ Value::Object(_)) => google_error(cx, answer, error),
        _ if answer.is_success() => Verdict::Valid(Validity {
            expires_at: epoch(cx, json.get("exp")).or_else(|| {
                let secs = int(json.get("expires_in")).filter(|s| *s > 0)?;
                Some(crate::time::after(cx.now, crate::time::token_lifetime(secs.unsigned_abs())))
            }),
            scopes: scopes_of(json.get("scope")),
            account_id: id_at(&json, YOUTUBE.account_at),
            grantor_id: id_of(json.get("sub")),
            usage: None,
        }),
        _ => fallback("Google", answer),
    }
}

fn google_error(cx: &Context, answer: &Answer, error: &Value) -> Verdict {
    let status = error.get("status").and_then(Value::as_str).unwrap_or_default();
    let message = text_at(error, &["/message"]);
    let mut reasons = Vec::new();
    collect_key(error, "reason", &mut reasons);
    let has = |wanted: &[&str]| reasons.iter().any(|r| r.as_str().is_some_and(|r| wanted.contains(&r)));
    let detail = format!("Google {} {status}: {message}", answer.status);
    let lower = message.to_lowercase();
    if answer.status >= 500 {
        return Verdict::Transient { retry_after: answer.retry_after(), detail };
    }
    if answer.status == 429
        || status == "RESOURCE_EXHAUSTED"
        || has(&[
            "quotaExceeded",
            "rateLimitExceeded",
            "userRateLimitExceeded",
            "dailyLimitExceeded",
            "RATE_LIMIT_EXCEEDED",
        ])
    {
        return Verdict::Transient { retry_after: answer.retry_after(), detail };
    }
    // YouTube answers this one with a 401: check it before the generic 401.
    // The account's own problems (no YouTube channel yet, closed, suspended): the person must act
    // on the network, as after a security check; the catalog words it per network.
    if has(&["youtubeSignupRequired", "accountClosed", "accountSuspended", "ACCOUNT_STATE_INVALID"]) {
        return Verdict::Account(Reason::SecurityCheckpoint);
    }
    if answer.status == 401 || status == "UNAUTHENTICATED" || has(&["authError"]) {
        return expired_or_invalid(cx);
    }
    // PERMISSION_DENIED is also what an API not enabled in relink's project answers: read the words.
    if has(&["accessNotConfigured", "SERVICE_DISABLED"])
        || ["has not been used", "is disabled", "not been enabled", "not enabled"].iter().any(|w| lower.contains(w))
    {
        return Verdict::Operator(detail);
    }
    if answer.status == 403
        || status == "PERMISSION_DENIED"
        || has(&["insufficientPermissions", "forbidden", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"])
    {
        return Verdict::Permission(detail);
    }
    fallback_with("Google", answer, detail)
}

#[cfg(test)]
pub(super) mod tests {
    //! Google's rows of PROVIDERS.md's "What an answer means"; `classify`'s table test runs them
    //! again with every network's and the shared rules.

    use crate::provider::classify::testing::*;

    /// Google's cells of the table, one row per line.
    #[rustfmt::skip]
    pub(in crate::provider) fn rows() -> Vec<Row> {
        vec![
            // ---- Google: dead (the refresh grant) and tokeninfo without a refresh token
            (F::Token(P::Youtube), Cx::Live, 400, &[], s(r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#), Want::Dead(Reason::AppRevoked)),
            (F::Token(P::GoogleBusiness), Cx::Live, 400, &[], s(r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked: the user changed their password."}"#), Want::Dead(Reason::PasswordChanged)),
            (F::Token(P::Youtube), Cx::Live, 400, &[], s(r#"{"error":"invalid_grant","error_description":"Token has expired after a period without activity."}"#), Want::Dead(Reason::Inactivity)),
            (F::Google, Cx::Live, 400, &[], s(r#"{"error":"invalid_token","error_description":"Invalid Value"}"#), invalidated()),
            // ---- Google: an access token's rejection only means "refresh now"
            (F::Google, Cx::Refreshable, 400, &[], s(r#"{"error":"invalid_token","error_description":"Invalid Value"}"#), Want::RenewNow),
            (F::Google, Cx::Refreshable, 401, &[], s(r#"{"error":{"code":401,"status":"UNAUTHENTICATED","message":"Request had invalid authentication credentials."}}"#), Want::RenewNow),
            // ---- Google: permission
            (F::Google, Cx::Live, 403, &[], s(r#"{"error":{"code":403,"status":"PERMISSION_DENIED","message":"The caller does not have permission"}}"#), Want::Permission),
            (F::Google, Cx::Live, 403, &[], s(r#"{"error":{"code":403,"message":"Insufficient Permission","errors":[{"reason":"insufficientPermissions"}]}}"#), Want::Permission),
            // ---- Google: account
            (F::Google, Cx::Refreshable, 401, &[], s(r#"{"error":{"code":401,"message":"Unauthorized","errors":[{"reason":"youtubeSignupRequired","domain":"youtube.header"}]}}"#), Want::Account(Reason::SecurityCheckpoint)),
            // ---- Google: operator (refresh) and an API not enabled (same status as permission)
            (F::Token(P::Youtube), Cx::Live, 401, &[], s(r#"{"error":"invalid_client","error_description":"Unauthorized"}"#), Want::Operator),
            (F::Token(P::GoogleBusiness), Cx::Live, 400, &[], s(r#"{"error":"unauthorized_client"}"#), Want::Operator),
            (F::Google, Cx::Live, 403, &[], s(r#"{"error":{"code":403,"status":"PERMISSION_DENIED","message":"My Business API has not been used in project 12 before or it is disabled."}}"#), Want::Operator),
            // ---- Google: transient
            (F::Google, Cx::Live, 403, &[], s(r#"{"error":{"code":403,"message":"quota","errors":[{"reason":"quotaExceeded","domain":"youtube.quota"}]}}"#), Want::Transient(None)),
            (F::Google, Cx::Live, 403, &[], s(r#"{"error":{"code":403,"message":"slow","errors":[{"reason":"rateLimitExceeded"}]}}"#), Want::Transient(None)),
            (F::Google, Cx::Live, 429, &[("retry-after", "30")], s(r#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"Quota exceeded"}}"#), Want::Transient(Some(30))),
            (F::Google, Cx::Live, 503, &[], s(HTML), Want::Transient(None)),
            // ---- Google: healthy
            (F::Google, Cx::Live, 200, &[], s(r#"{"azp":"c","aud":"c","sub":"1077","scope":"a b","exp":"1900000000","expires_in":"3599"}"#), Want::Valid),
        ]
    }

    #[test]
    fn every_google_answer_gets_its_class() {
        check(&rows());
    }
}
