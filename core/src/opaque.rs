//! Opaque secrets relink hands out and later recognises: reconnect link tokens, OAuth `state`
//! values, browser-binding cookies, PKCE verifiers, API keys, and the short one-time codes that
//! link a chat account to a member ([`InviteCode`]).
//!
//! Each is 256 bits from the operating system's secure random source, written as unpadded
//! base64url (43 characters, safe in URLs, cookies and headers). The database keeps only the
//! SHA-256 [`OpaqueToken::hash`] of one (a PKCE verifier, which must be read back, is sealed
//! instead), so a copy of the database opens no link and authenticates no API call.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore as _;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::domain::ParseError;

/// The length of an opaque token's text: 32 bytes in unpadded base64url.
pub const TOKEN_LEN: usize = 43;

/// The time prefix of [`OpaqueToken::generate_ordered`]: six bytes of milliseconds, 8,900 years.
const TIME_BYTES: usize = 6;

/// A 256-bit secret. `Debug` shows its hash's first bytes, never the secret; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct OpaqueToken(Zeroizing<String>);

impl OpaqueToken {
    /// A fresh token from the operating system's secure random source.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(bytes.as_mut());
        Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
    }

    /// A fresh token whose first six bytes are `now_millis` (the low 48 bits, big-endian) and
    /// whose other 26 are random (208 bits, from the same source): an OAuth `state`, stored under
    /// [`OpaqueToken::ordered_key`]. Keys of states made one after another sort together, so
    /// recording one adds to the last page of the index instead of a random page of it: a
    /// reconnect button's press wrote a page of the write-ahead log per press for that index alone.
    /// The time it shows is when the request began, which the network sees anyway.
    pub fn generate_ordered(now_millis: i64) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut bytes[TIME_BYTES..]);
        let time = now_millis.to_be_bytes();
        bytes[..TIME_BYTES].copy_from_slice(&time[time.len() - TIME_BYTES..]);
        Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
    }

    /// What the database keeps of a token from [`OpaqueToken::generate_ordered`]: its first six
    /// bytes, then its [`OpaqueToken::hash`]. Any token has one (a forged one's finds nothing).
    pub fn ordered_key(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(TIME_BYTES + 32);
        // Every token's text is 32 bytes of base64url (`generate`, `parse`).
        let decoded = URL_SAFE_NO_PAD.decode(self.0.as_bytes()).unwrap_or_default();
        key.extend(decoded.iter().take(TIME_BYTES));
        key.extend_from_slice(&self.hash());
        key
    }

    /// Reads a token from text that came from outside (a URL path, a cookie, a header). The
    /// error names `field` and never repeats the input.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ParseError> {
        let well_formed = raw.len() == TOKEN_LEN
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD.decode(raw).is_ok_and(|bytes| bytes.len() == 32);
        if !well_formed {
            return Err(ParseError::new(field, format!("is not a relink token ({TOKEN_LEN} base64url characters)")));
        }
        Ok(Self(Zeroizing::new(raw.to_owned())))
    }

    /// The secret text, to put in a URL, a cookie or a response that hands it over.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database keeps.
    pub fn hash(&self) -> [u8; 32] {
        hash_text(&self.0)
    }

    /// The PKCE S256 challenge of this token used as a code verifier (RFC 7636 §4.2).
    pub fn pkce_challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hash = self.hash();
        write!(f, "OpaqueToken(sha256:{:02x}{:02x}{:02x}{:02x}…)", hash[0], hash[1], hash[2], hash[3])
    }
}

/// What API keys start with, so a leaked one is recognisable (secret scanners, logs).
pub const API_KEY_PREFIX: &str = "rlk_";

/// An API key as handed to its owner: the prefix and the token.
pub fn api_key_text(token: &OpaqueToken) -> String {
    format!("{API_KEY_PREFIX}{}", token.expose())
}

/// Reads an API key given by a client. The error never repeats it.
pub fn parse_api_key(raw: &str) -> Result<OpaqueToken, ParseError> {
    let token = raw.trim().strip_prefix(API_KEY_PREFIX).ok_or_else(|| {
        ParseError::new("api key", format!("is not a relink API key (they start with {API_KEY_PREFIX})"))
    })?;
    OpaqueToken::parse("api key", token)
}

/// The alphabet of invite codes: Crockford's base32 (no I, L, O, U), easy to read out and type.
const INVITE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A one-time code that links a chat account to a member (`relink member invite`, then
/// `/link CODE` in the bot): 60 bits in twelve base32 characters, shown as `XXXX-XXXX-XXXX`.
/// Short enough to type, single-use and expiring, so it needs no more; stored only as a hash.
/// `Debug` never shows it and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteCode(Zeroizing<String>);

impl InviteCode {
    pub const LEN: usize = 12;

    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; InviteCode::LEN]);
        OsRng.fill_bytes(bytes.as_mut());
        let code: String = bytes.iter().map(|b| char::from(INVITE_ALPHABET[usize::from(b & 31)])).collect();
        Self(Zeroizing::new(code))
    }

    /// Reads a code as people type it: any case, with or without dashes and spaces; `O`, `I`
    /// and `L` read as the digits they look like. The error never repeats the input.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let code: String = raw
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            })
            .collect();
        if code.len() != InviteCode::LEN || !code.bytes().all(|b| INVITE_ALPHABET.contains(&b)) {
            return Err(ParseError::new("invite code", "is not a relink invite code (XXXX-XXXX-XXXX)"));
        }
        Ok(Self(Zeroizing::new(code)))
    }

    /// The code as handed to the member: `XXXX-XXXX-XXXX`.
    pub fn expose(&self) -> String {
        format!("{}-{}-{}", &self.0[..4], &self.0[4..8], &self.0[8..])
    }

    /// What the database keeps.
    pub fn hash(&self) -> [u8; 32] {
        hash_text(&self.0)
    }
}

impl fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteCode([REDACTED])")
    }
}

/// The SHA-256 of a secret's text.
pub fn hash_text(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

#[cfg(test)]
mod tests {

    #[test]
    fn ordered_tokens_carry_their_time_first_and_their_keys_sort_by_it() {
        let earlier = OpaqueToken::generate_ordered(1_700_000_000_000);
        let later = OpaqueToken::generate_ordered(1_700_000_000_001);
        for token in [&earlier, &later] {
            assert_eq!(OpaqueToken::parse("state", token.expose()).expect("a token"), *token);
            assert_eq!(token.ordered_key().len(), 38);
            assert_eq!(token.ordered_key()[6..], token.hash());
        }
        assert_eq!(earlier.ordered_key()[..6], 1_700_000_000_000_i64.to_be_bytes()[2..]);
        assert!(earlier.ordered_key() < later.ordered_key());
        // The rest is random: two tokens of one millisecond differ.
        let twin = OpaqueToken::generate_ordered(1_700_000_000_000);
        assert_ne!(earlier, twin);
        assert_eq!(earlier.ordered_key()[..6], twin.ordered_key()[..6]);
    }
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_never_repeat() {
        let a = OpaqueToken::generate();
        let b = OpaqueToken::generate();
        assert_eq!(a.expose().len(), TOKEN_LEN);
        assert_ne!(a, b);
        assert_eq!(OpaqueToken::parse("link", a.expose()).unwrap(), a);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn malformed_tokens_are_refused_without_echoing_them() {
        let good = OpaqueToken::generate();
        let cases = [String::new(), "short".into(), format!("{}x", good.expose()), "+".repeat(TOKEN_LEN)];
        for raw in cases {
            let err = OpaqueToken::parse("link", &raw).unwrap_err();
            assert_eq!(err.field, "link");
            assert!(raw.is_empty() || !err.to_string().contains(&raw), "{err}");
        }
    }

    #[test]
    fn api_keys_carry_a_recognisable_prefix() {
        let token = OpaqueToken::generate();
        let text = api_key_text(&token);
        assert!(text.starts_with("rlk_"));
        assert_eq!(parse_api_key(&text).unwrap(), token);
        assert_eq!(parse_api_key(token.expose()).unwrap_err().field, "api key");
    }

    #[test]
    fn invite_codes_read_back_however_people_type_them() {
        let code = InviteCode::generate();
        let shown = code.expose();
        assert_eq!(shown.len(), 14);
        assert_eq!(InviteCode::parse(&shown).unwrap(), code);
        assert_eq!(InviteCode::parse(&shown.to_lowercase().replace('-', " ")).unwrap(), code);
        assert_eq!(InviteCode::parse("oooo-iiii-llll").unwrap().expose(), "0000-1111-1111");
        for bad in ["", "ABCD-EFGH", "ABCD-EFGH-JKMU", "ABCD-EFGH-JKMN-P"] {
            assert_eq!(InviteCode::parse(bad).unwrap_err().field, "invite code", "{bad}");
        }
        assert!(!format!("{code:?}").contains(&shown[..4]));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = OpaqueToken::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    #[test]
    fn the_pkce_challenge_matches_rfc_7636() {
        // RFC 7636 Appendix B.
        let verifier = OpaqueToken(Zeroizing::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()));
        assert_eq!(verifier.pkce_challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
