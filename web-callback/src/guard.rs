//! The reconnect button accepts only submissions from relink's own page.
//!
//! A browser tells where a form post comes from: `Sec-Fetch-Site` (`same-origin`, or `none` for
//! something the person did themselves) and `Origin`. Either header naming another site refuses
//! the post. `Origin: null` says nothing (browsers send it under relink's own
//! `Referrer-Policy: no-referrer`, and so can another site), so it neither vouches nor refuses.
//! A browser that vouches with neither header (old ones, some privacy set-ups) must return the
//! page's form token instead, and the browser cookie it was made for: the token is
//! `{key id}.{issued at, Unix seconds}.{tag}`, the tag an HMAC-SHA256 over the link token's
//! hash, the browser cookie's hash and the issue time, under a key derived from the keyring
//! (`Keyring::mac`). Every process that shares the database accepts a token another one issued;
//! a token is good only for its own link's page, in the browser that loaded it. Whoever holds
//! the link (its own page, its own token) still cannot make another person's browser submit
//! it: that browser lacks the cookie (`SameSite=Strict`, never sent on a cross-site post).

use axum::http::HeaderMap;
use axum::http::header::ORIGIN;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use relink_core::crypto::Keyring;
use url::Url;

/// The form field that carries the token.
pub const FIELD: &str = "form_token";

/// The purpose the MAC key is derived for.
const PURPOSE: &str = "reconnect-form";

/// How far in the future an issue time may be (clocks of several processes differ a little).
const SKEW_SECS: i64 = 60;

/// Where a request says it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `Sec-Fetch-Site` and `Origin` say relink's own origin (or the person themselves), and
    /// neither says otherwise.
    SameOrigin,
    /// One of them names another site.
    CrossSite,
    /// Neither header was sent: only the form token can tell.
    Unknown,
}

/// Reads `Sec-Fetch-Site` and `Origin` against the origin of `public_url`.
pub fn source(headers: &HeaderMap, public_url: &Url) -> Source {
    let mut vouched = false;
    for site in headers.get_all("sec-fetch-site") {
        match site.to_str().map(str::trim) {
            Ok("same-origin" | "none") => vouched = true,
            _ => return Source::CrossSite,
        }
    }
    let own = public_url.origin().ascii_serialization();
    for origin in headers.get_all(ORIGIN) {
        match origin.to_str().map(str::trim) {
            Ok("null") => {}
            Ok(origin) if origin == own => vouched = true,
            _ => return Source::CrossSite,
        }
    }
    if vouched { Source::SameOrigin } else { Source::Unknown }
}

fn message(link_hash: &[u8; 32], browser_hash: &[u8; 32], issued: i64) -> Vec<u8> {
    let mut message = Vec::with_capacity(72);
    message.extend_from_slice(link_hash);
    message.extend_from_slice(browser_hash);
    message.extend_from_slice(&issued.to_be_bytes());
    message
}

/// A form token for the page of the link whose token hashes to `link_hash`, loaded by the
/// browser whose form cookie hashes to `browser_hash`.
pub fn issue(keyring: &Keyring, link_hash: &[u8; 32], browser_hash: &[u8; 32], now: DateTime<Utc>) -> String {
    let key_id = keyring.active_id();
    let issued = now.timestamp();
    let message = message(link_hash, browser_hash, issued);
    let tag = keyring.mac(key_id, PURPOSE, &message).expect("the active key is in the keyring");
    format!("{key_id}.{issued}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Whether `raw` is a token [`issue`]d for this link's page in this browser at most `max_age`
/// ago.
pub fn verify(
    keyring: &Keyring,
    link_hash: &[u8; 32],
    browser_hash: &[u8; 32],
    raw: &str,
    now: DateTime<Utc>,
    max_age: chrono::Duration,
) -> bool {
    let mut parts = raw.trim().splitn(3, '.');
    let (Some(key_id), Some(issued), Some(tag)) = (parts.next(), parts.next(), parts.next()) else { return false };
    let (Ok(key_id), Ok(issued)) = (key_id.parse::<u32>(), issued.parse::<i64>()) else { return false };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else { return false };
    let Some(age) = now.timestamp().checked_sub(issued) else { return false };
    if age < -SKEW_SECS || age > max_age.num_seconds() {
        return false;
    }
    keyring.mac_matches(key_id, PURPOSE, &message(link_hash, browser_hash, issued), &tag)
}

/// The form token of a posted `application/x-www-form-urlencoded` body.
pub fn token_in(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(key, _)| key == FIELD).map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use relink_core::crypto::KeyMaterial;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn only_relinks_own_origin_vouches_for_a_post() {
        let public = Url::parse("https://relink.example/base/").unwrap();
        let table: [(&[(&str, &str)], Source); 12] = [
            (&[("sec-fetch-site", "same-origin"), ("origin", "https://relink.example")], Source::SameOrigin),
            (&[("sec-fetch-site", "none")], Source::SameOrigin),
            (&[("origin", "https://relink.example")], Source::SameOrigin),
            (&[], Source::Unknown),
            (&[("sec-fetch-site", "cross-site"), ("origin", "https://relink.example")], Source::CrossSite),
            (&[("sec-fetch-site", "same-site")], Source::CrossSite),
            (&[("sec-fetch-site", "same-origin"), ("origin", "https://evil.example")], Source::CrossSite),
            (&[("origin", "null")], Source::Unknown),
            (&[("origin", "null"), ("sec-fetch-site", "same-origin")], Source::SameOrigin),
            (&[("origin", "null"), ("sec-fetch-site", "cross-site")], Source::CrossSite),
            (&[("origin", "http://relink.example")], Source::CrossSite),
            (&[("origin", "https://relink.example:8443")], Source::CrossSite),
        ];
        for (pairs, expected) in table {
            assert_eq!(source(&headers(pairs), &public), expected, "{pairs:?}");
        }
    }

    #[test]
    fn a_form_token_is_good_only_for_its_own_link_and_while_fresh() {
        let ring = Keyring::new([(1, KeyMaterial::generate())]).unwrap();
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let day = chrono::Duration::days(1);
        let (link, browser) = ([1; 32], [7; 32]);
        let token = issue(&ring, &link, &browser, now);
        assert!(verify(&ring, &link, &browser, &token, now + chrono::Duration::hours(23), day));
        assert!(!verify(&ring, &[2; 32], &browser, &token, now, day), "another link's page");
        assert!(!verify(&ring, &link, &[8; 32], &token, now, day), "another browser");
        assert!(!verify(&ring, &link, &browser, &token, now + day + chrono::Duration::seconds(1), day), "too old");
        assert!(!verify(&ring, &link, &browser, &token, now - chrono::Duration::minutes(5), day), "from the future");
        let other_ring = Keyring::new([(1, KeyMaterial::generate())]).unwrap();
        assert!(!verify(&other_ring, &link, &browser, &token, now, day), "another deployment's key");
        let later = token.replacen(&now.timestamp().to_string(), &(now.timestamp() + 600).to_string(), 1);
        assert!(!verify(&ring, &link, &browser, &later, now, day), "a moved issue time");
        for junk in ["", "1", "1.2", "x.1.AAAA", "1.x.AAAA", "1.1.!!", &format!("{}.{}.AAAA", u32::MAX, i64::MIN)] {
            assert!(!verify(&ring, &link, &browser, junk, now, day), "{junk}");
        }
        assert_eq!(token_in(format!("a=1&{FIELD}=t%2Bx").as_bytes()).as_deref(), Some("t+x"));
        assert_eq!(token_in(b"a=1"), None);
    }
}
