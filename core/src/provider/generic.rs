//! A network the operator declares in configuration (`[providers.oauth2]`): any OAuth 2.0
//! authorization server (RFC 6749) whose accounts an OpenID Connect UserInfo endpoint names. Its
//! policy row is `GENERIC_OAUTH2` in `policy.rs`; here are its [`Plain`] row and its answer rules.
//!
//! Probe: `GET {api_base}userinfo` with the bearer token; the account is `sub`. Renewal: the
//! refresh grant, when the server issued a refresh token. Client authentication: HTTP Basic
//! (`client_secret_basic`, the default of RFC 6749 §2.3.1 and of OpenID Connect). Scopes are
//! space-separated (RFC 6749 §3.3), with PKCE S256. Authorization asks for `prompt=consent`
//! (OpenID Connect Core §3.1.2.1), so a reconnect never completes without the person seeing it.
//! Sources: <https://www.rfc-editor.org/rfc/rfc6749>, <https://www.rfc-editor.org/rfc/rfc6750>,
//! <https://openid.net/specs/openid-connect-core-1_0.html#UserInfo>

use super::classify::{Context, Family, expired_or_invalid, fallback, fallback_with, id_at};
use super::http::Answer;
use super::oauth::ClientAuth;
use super::plain::{Plain, Probe};
use super::policy::{Policy, Renewal};
use super::{Validity, Verdict};
use crate::domain::Provider;

/// A network the operator declares: any OAuth 2.0 authorization server with an OpenID Connect
/// UserInfo endpoint (`{api_base}userinfo`, whose `sub` names the account). Lifetimes come from
/// the token answers; refresh tokens, when issued, are used and never assumed to rotate (what
/// comes back is stored either way). PKCE S256 always (RFC 9700 recommends it to every client,
/// and RFC 6749 servers ignore parameters they do not know). The endpoints have no public
/// default: `[providers.oauth2]` must name them.
pub(super) const POLICY: Policy = Policy {
    provider: Provider::GenericOauth2,
    access_lifetime: None,
    renewal: Renewal::RefreshToken,
    inactivity: None,
    probe: "GET {api_base}userinfo with the bearer token (OpenID Connect UserInfo): sub names the account",
    default_api_base: "https://oauth2.invalid/",
    default_authorize_url: "https://oauth2.invalid/authorize",
    default_token_url: "https://oauth2.invalid/token",
    scopes: &["openid"],
    pkce: true,
    rate_per_second: 10.0,
    sources: &[
        "https://www.rfc-editor.org/rfc/rfc6749",
        "https://www.rfc-editor.org/rfc/rfc9700",
        "https://openid.net/specs/openid-connect-core-1_0.html#UserInfo",
    ],
};

/// The declared network's adapter, as data.
pub(super) static GENERIC_OAUTH2: Plain = Plain {
    provider: Provider::GenericOauth2,
    family: Family::UserInfo,
    probe: Probe::Bearer(&["userinfo"]),
    client_auth: ClientAuth::Basic,
    scope_separator: " ",
    authorize_params: &[("prompt", "consent")],
    // Where a UserInfo answer names the account.
    account_at: &["/sub"],
    name_at: &["/name", "/preferred_username"],
};

/// A UserInfo answer: `sub` names the account. RFC 6750 §3.1: 401 `invalid_token` means the token
/// is expired, revoked or malformed; 403 `insufficient_scope` that it lacks a scope.
/// Sources: <https://www.rfc-editor.org/rfc/rfc6750#section-3.1>,
/// <https://openid.net/specs/openid-connect-core-1_0.html#UserInfoError>
pub(super) fn rules(cx: &Context, answer: &Answer) -> Verdict {
    if answer.is_success() {
        let Some(json) = answer.json() else { return fallback("UserInfo", answer) };
        let account_id = id_at(&json, GENERIC_OAUTH2.account_at);
        return Verdict::Valid(Validity { account_id, ..Validity::default() });
    }
    let challenge = answer
        .headers
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let detail = format!(
        "UserInfo {}: {}",
        answer.status,
        if challenge.is_empty() { "no WWW-Authenticate" } else { &challenge }
    );
    match answer.status {
        401 => expired_or_invalid(cx),
        403 => Verdict::Permission(detail),
        _ => fallback_with("UserInfo", answer, detail),
    }
}

#[cfg(test)]
mod tests {
    use crate::provider::classify::testing::*;

    #[test]
    fn a_proxy_page_in_front_of_a_userinfo_endpoint_is_not_a_disconnect() {
        for status in [401, 403] {
            let page = Answer::new(status, HeaderMap::new(), "<html>Access denied by the proxy</html>");
            let verdict = answer(Family::UserInfo, &context(Cx::Live), &page);
            assert!(matches!(verdict, Verdict::Transient { .. }), "{status}: {verdict:?}");
        }
    }
}
