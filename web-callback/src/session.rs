//! Signing in to the team page: the sign-in link's page and button, the session cookie, the
//! per-session form token every button of `/team` carries, and signing out.
//!
//! 1. `GET /team/sign-in/{token}` shows who is signing in to which team and a "Sign in" button;
//!    it never spends the link, because chat apps fetch links for their previews.
//! 2. `POST /team/sign-in/{token}` refuses a post another site sent (`Sec-Fetch-Site`, `Origin`),
//!    then spends the link and opens a session in one transaction (`Store::open_session`), sets
//!    the session cookie and answers 303 to `/team`.
//! 3. `POST /team/sign-out` deletes the session in the store and clears the cookie.
//!
//! The cookie is `__Host-relink_session` (`Secure; HttpOnly; SameSite=Strict; Path=/`, twelve
//! hours) where the public URL is https or loopback, like the reconnect flow's cookie, and
//! `relink_session` without `Secure` on plain http elsewhere. `SameSite=Strict` keeps it off every
//! request another site starts; the form token is a second, independent defence for browsers that
//! send neither `Sec-Fetch-Site` nor `Origin`: `{key id}.{tag}`, the tag an HMAC-SHA256 of the
//! session's hash under a key derived from the keyring, compared in constant time
//! (`Keyring::mac_matches`). A copy of the database therefore forges no form token, and a token
//! is worthless once its session ends.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::{ACCEPT_LANGUAGE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use relink_core::crypto::Keyring;
use relink_core::opaque::OpaqueToken;
use relink_core::signin::SESSION_TTL;
use relink_core::store::{Session, StoreError};
use relink_core::{Language, Team};

use crate::AppState;
use crate::guard::{self, Source};
use crate::page::{Page, Tone, escape, fill};
use crate::reconnect::{cookie_value, stylesheet};
use crate::text::{TeamWords, Text, negotiate, text};

/// The form field that carries the session's form token.
pub const FIELD: &str = "form_token";

/// The purpose the form token's MAC key is derived for.
const PURPOSE: &str = "team-form";

/// The most of a form body relink reads: a token and a duration.
pub const FORM_LIMIT: usize = 4 * 1024;

fn cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-relink_session" } else { "relink_session" }
}

/// The session cookie's `Set-Cookie` value (an empty value and no age clears it).
pub fn set_cookie(secure: bool, value: &str, max_age: u64) -> HeaderValue {
    let secure_attr = if secure { "; Secure" } else { "" };
    let text =
        format!("{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure_attr}", cookie_name(secure));
    HeaderValue::from_str(&text).expect("a cookie of base64url text is a valid header")
}

/// The browser's session, if its cookie names one that is open now.
pub async fn current(app: &AppState, headers: &HeaderMap) -> Result<Option<(OpaqueToken, Session)>, StoreError> {
    let Some(token) = cookie_value(headers, cookie_name(app.settings().secure_cookies()))
        .and_then(|value| OpaqueToken::parse("session cookie", value).ok())
    else {
        return Ok(None);
    };
    Ok(app.store().session(&token, app.now()).await?.map(|session| (token, session)))
}

/// Whether the browser sent a session cookie (a hint for a link back to `/team`; the page
/// itself checks the session).
pub fn signed_in(app: &AppState, headers: &HeaderMap) -> bool {
    cookie_value(headers, cookie_name(app.settings().secure_cookies())).is_some()
}

/// The form token of a session.
pub fn form_token(keyring: &Keyring, session: &OpaqueToken) -> String {
    let key_id = keyring.active_id();
    let tag = keyring.mac(key_id, PURPOSE, &session.hash()).expect("the active key is in the keyring");
    format!("{key_id}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Whether `raw` is the form token of `session` (constant time).
pub fn form_token_matches(keyring: &Keyring, session: &OpaqueToken, raw: &str) -> bool {
    let Some((key_id, tag)) = raw.trim().split_once('.') else { return false };
    let (Ok(key_id), Ok(tag)) = (key_id.parse::<u32>(), URL_SAFE_NO_PAD.decode(tag)) else { return false };
    keyring.mac_matches(key_id, PURPOSE, &session.hash(), &tag)
}

/// A form's fields (`application/x-www-form-urlencoded`), at most [`FORM_LIMIT`] bytes read.
pub async fn form(body: Body) -> Option<Vec<(String, String)>> {
    let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.ok()?;
    Some(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

/// The value of a form field.
pub fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

/// A page of title, explanation and next step in the team page's words.
pub fn notice(app: &AppState, status: StatusCode, text: &Text, lines: [&str; 3], values: &[(&str, &str)]) -> Page {
    let tone = if status.is_success() { Tone::Neutral } else { Tone::Bad };
    Page::outcome(status, text, lines, values, tone, &stylesheet(app))
}

/// A page for a browser whose team is not known, in the browser's language.
pub fn anonymous(
    app: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    lines: fn(&TeamWords) -> [&'static str; 3],
) -> Page {
    let language = negotiate(headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let text = text(language);
    notice(app, status, text, lines(&text.team), &[])
}

/// Logs a store failure and shows the "trouble on our side" page.
pub fn unavailable(app: &AppState, headers: &HeaderMap, error: &StoreError) -> Page {
    tracing::error!(%error, "team page: store failure");
    let language = negotiate(headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let text = text(language);
    notice(app, StatusCode::SERVICE_UNAVAILABLE, text, text.outcomes.unavailable, &[])
}

/// A 303 to `location` with the security headers and the extra `Set-Cookie`s.
pub fn see_other(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(LOCATION, value);
    }
    for cookie in cookies {
        headers.append(SET_COOKIE, cookie);
    }
    for (name, value) in crate::page::security_headers() {
        headers.insert(name, value);
    }
    response
}

/// The path of `/team` under the public URL.
pub fn team_path(app: &AppState) -> String {
    app.settings().under(&["team"]).path().to_owned()
}

/// A sign-in link that can be used now, with its team and member's name; or the page to show.
async fn usable(
    app: &AppState,
    headers: &HeaderMap,
    raw: &str,
) -> Result<(OpaqueToken, Team, String, chrono::DateTime<chrono::Utc>), Page> {
    let Ok(token) = OpaqueToken::parse("sign-in link", raw) else {
        return Err(anonymous(app, headers, StatusCode::NOT_FOUND, |t| t.signin_unknown));
    };
    let link = match app.store().signin_link(&token).await {
        Ok(Some(link)) => link,
        Ok(None) => return Err(anonymous(app, headers, StatusCode::NOT_FOUND, |t| t.signin_unknown)),
        Err(error) => return Err(unavailable(app, headers, &error)),
    };
    let (team, member) = match tokio::try_join!(app.store().team(link.team_id), app.store().member(link.member_id)) {
        Ok(found) => found,
        Err(error) => return Err(unavailable(app, headers, &error)),
    };
    let text = text(team.language);
    if link.used_at.is_some() {
        return Err(notice(app, StatusCode::GONE, text, text.team.signin_used, &[]));
    }
    if link.expires_at <= app.now() {
        return Err(notice(app, StatusCode::GONE, text, text.team.signin_expired, &[]));
    }
    Ok((token, team, member.name.to_string(), link.expires_at))
}

/// A date in a page's language.
pub fn date(language: Language, at: chrono::DateTime<chrono::Utc>, zone: Option<&str>) -> String {
    relink_core::alerts::messages::catalog(language).date_in(at, zone)
}

/// `GET /team/sign-in/{token}`: who signs in to which team, and the button. Never spends the
/// link.
pub(crate) async fn show_signin(State(app): State<AppState>, Path(raw): Path<String>, headers: HeaderMap) -> Page {
    let (_, team, member, expires_at) = match usable(&app, &headers, &raw).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let text = text(team.language);
    let words = &text.team;
    let values = [("team", team.name.as_str()), ("name", member.as_str())];
    let until = date(team.language, expires_at, None);
    let body = [
        format!("<p>{}</p>", fill(words.signin_lead, &values)),
        format!("<form method=\"post\"><button type=\"submit\">{}</button></form>", escape(words.signin_button)),
        format!("<p class=\"fine\">{}</p>", fill(words.signin_fine, &[("date", &until)])),
    ]
    .join("\n");
    Page {
        status: StatusCode::OK,
        lang: text.lang,
        title: fill(words.signin_title, &values),
        body,
        tone: Tone::Neutral,
        form_target: None,
        stylesheet: stylesheet(&app),
        extra_headers: HeaderMap::new(),
    }
}

/// `POST /team/sign-in/{token}`: spends the link, opens a session, sets its cookie, and sends the
/// browser to `/team`.
pub(crate) async fn sign_in(State(app): State<AppState>, Path(raw): Path<String>, headers: HeaderMap) -> Response {
    let (token, team, _, _) = match usable(&app, &headers, &raw).await {
        Ok(found) => found,
        Err(page) => return page.into_response(),
    };
    if guard::source(&headers, &app.settings().links.public_url) == Source::CrossSite {
        tracing::info!(team = %team.id, "a sign-in posted from another site was refused; the link is unused");
        let text = text(team.language);
        return notice(&app, StatusCode::FORBIDDEN, text, text.team.cross_site, &[]).into_response();
    }
    let now = app.now();
    let session = OpaqueToken::generate();
    let until = relink_core::time::after(now, SESSION_TTL);
    match app.store().open_session(&token, &session, now, until).await {
        Ok(Some((team, member))) => {
            tracing::info!(%team, %member, "signed in to the team page");
            ::metrics::counter!("relink_team_sign_ins_total").increment(1);
        }
        // Spent or expired since it was read: say which.
        Ok(None) => {
            return match usable(&app, &headers, &raw).await {
                Err(page) => page,
                Ok(_) => {
                    let text = text(team.language);
                    notice(&app, StatusCode::GONE, text, text.team.signin_used, &[])
                }
            }
            .into_response();
        }
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    }
    let secure = app.settings().secure_cookies();
    see_other(&team_path(&app), vec![set_cookie(secure, session.expose(), SESSION_TTL.as_secs())])
}

/// `POST /team/sign-out`: ends the session in the store and clears the cookie.
pub(crate) async fn sign_out(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let (token, session) = match current(&app, &headers).await {
        Ok(Some(found)) => found,
        Ok(None) => return see_other(&team_path(&app), vec![set_cookie(app.settings().secure_cookies(), "", 0)]),
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    };
    let form = form(body).await.unwrap_or_default();
    let from_page = guard::source(&headers, &app.settings().links.public_url) != Source::CrossSite
        && field(&form, FIELD).is_some_and(|raw| form_token_matches(&app.store().keyring(), &token, raw));
    if !from_page {
        let team = app.store().team(session.team_id).await.map(|t| t.language).unwrap_or(Language::En);
        let text = text(team);
        return notice(&app, StatusCode::FORBIDDEN, text, text.team.cross_site, &[]).into_response();
    }
    if let Err(error) = app.store().end_session(&token).await {
        return unavailable(&app, &headers, &error).into_response();
    }
    tracing::info!(team = %session.team_id, member = %session.member.id, "signed out of the team page");
    see_other(&team_path(&app), vec![set_cookie(app.settings().secure_cookies(), "", 0)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use relink_core::crypto::KeyMaterial;

    #[test]
    fn a_form_token_is_good_only_for_its_own_session_and_deployment() {
        let ring = Keyring::new([(1, KeyMaterial::generate())]).unwrap();
        let (session, other) = (OpaqueToken::generate(), OpaqueToken::generate());
        let token = form_token(&ring, &session);
        assert!(form_token_matches(&ring, &session, &token));
        assert!(!form_token_matches(&ring, &other, &token), "another session");
        let other_ring = Keyring::new([(1, KeyMaterial::generate())]).unwrap();
        assert!(!form_token_matches(&other_ring, &session, &token), "another deployment's key");
        for junk in ["", "1", "1.", "x.AAAA", "1.!!", "99.AAAA", &token[..token.len() - 2]] {
            assert!(!form_token_matches(&ring, &session, junk), "{junk}");
        }
    }

    #[test]
    fn the_session_cookie_is_host_only_strict_and_lives_twelve_hours() {
        let cookie = set_cookie(true, "v", SESSION_TTL.as_secs());
        let text = cookie.to_str().unwrap();
        assert!(text.starts_with("__Host-relink_session=v;"), "{text}");
        for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Strict", "; Max-Age=43200", "; Secure"] {
            assert!(text.contains(attribute), "{attribute} in {text}");
        }
        let plain = set_cookie(false, "v", 1);
        assert!(
            plain.to_str().unwrap().starts_with("relink_session=v;") && !plain.to_str().unwrap().contains("Secure")
        );
    }
}
