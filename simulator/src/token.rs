//! The tokens the simulator issues. To clients they are opaque strings; inside, each one says
//! which provider, account, grant and issue it belongs to, followed by a keyed tag so a client
//! cannot make one up. Checking a token is a parse, a hash and a look at the account's small
//! state, which is what lets a million bulk accounts cost a few bytes each instead of a map of
//! strings.
//!
//! Layout: `sim{provider digit}{a|r}.{index}.{grant}.{serial}.{grant ms}.{issued ms}.{tag}`, numbers
//! in hexadecimal; the tag is the first 8 bytes of SHA-256(key ‖ everything before it). Telegram
//! bot tokens keep Telegram's `{bot id}:{secret}` shape, the secret being a tag of the bot id.

use std::fmt::Write as _;

use relink_core::Provider;
use sha2::{Digest, Sha256};

/// Whether a token is an access or a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Access,
    Refresh,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Access => 'a',
            Kind::Refresh => 'r',
        }
    }
}

/// What a token says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fields {
    pub provider: Provider,
    pub kind: Kind,
    /// The account's slot in its provider's table.
    pub index: u32,
    /// Which authorization of the account issued it; a new authorization starts a new grant.
    pub grant: u32,
    /// A simulator-wide issue counter: tells tokens of one grant apart and orders them.
    pub serial: u64,
    /// When the grant was authorised (LinkedIn's `authorized_at`, the refresh token's life).
    pub grant_ms: i64,
    /// When this token was issued (its expiry counts from here).
    pub issued_ms: i64,
}

/// Mints and checks tokens with one secret key.
pub(crate) struct Codec {
    key: [u8; 32],
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Codec { key: [REDACTED] }")
    }
}

/// The position of a provider in `Provider::ALL`; tokens carry it as one base-36 digit.
pub(crate) fn provider_index(provider: Provider) -> usize {
    Provider::ALL.iter().position(|p| *p == provider).unwrap_or(0)
}

impl Codec {
    /// A codec whose key comes from `seed` (tokens then survive a restart of the simulator) or
    /// from the operating system's randomness.
    pub fn new(seed: Option<u64>) -> Self {
        let key = match seed {
            Some(seed) => Sha256::digest(format!("relink-simulator-{seed}")).into(),
            None => rand::random(),
        };
        Self { key }
    }

    fn tag(&self, body: &str) -> u64 {
        let digest = Sha256::new().chain_update(self.key).chain_update(body.as_bytes()).finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }

    pub fn encode(&self, f: &Fields) -> String {
        let mut out = String::with_capacity(72);
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "sim{}{}.{:x}.{:x}.{:x}.{:x}.{:x}",
            char::from_digit(provider_index(f.provider) as u32, 36).unwrap_or('0'),
            f.kind.letter(),
            f.index,
            f.grant,
            f.serial,
            f.grant_ms.max(0),
            f.issued_ms.max(0)
        );
        let tag = self.tag(&out);
        let _ = write!(out, ".{tag:016x}");
        out
    }

    /// Reads a token this codec issued; `None` for anything else (including a changed byte).
    pub fn decode(&self, raw: &str) -> Option<Fields> {
        let (body, tag) = raw.rsplit_once('.')?;
        let mut parts = body.split('.');
        let head = parts.next()?.strip_prefix("sim")?.as_bytes();
        if head.len() != 2 || tag.len() != 16 {
            return None;
        }
        let provider = *Provider::ALL.get(char::from(head[0]).to_digit(36)? as usize)?;
        let kind = match head[1] {
            b'a' => Kind::Access,
            b'r' => Kind::Refresh,
            _ => return None,
        };
        let mut next = || u64::from_str_radix(parts.next()?, 16).ok();
        let index = u32::try_from(next()?).ok()?;
        let grant = u32::try_from(next()?).ok()?;
        let serial = next()?;
        let grant_ms = i64::try_from(next()?).ok()?;
        let issued_ms = i64::try_from(next()?).ok()?;
        if parts.next().is_some() || u64::from_str_radix(tag, 16).ok()? != self.tag(body) {
            return None;
        }
        Some(Fields { provider, kind, index, grant, serial, grant_ms, issued_ms })
    }

    /// A Telegram bot token: `{bot id}:AA{secret}`, as @BotFather shapes them.
    pub fn bot_token(&self, bot_id: u64) -> String {
        format!("{bot_id}:AA{:016x}{:016x}", self.tag(&format!("bot{bot_id}")), self.tag(&format!("bot2-{bot_id}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Fields {
        Fields {
            provider: Provider::X,
            kind: Kind::Refresh,
            index: 123_456,
            grant: 2,
            serial: 99,
            grant_ms: 1_767_225_600_000,
            issued_ms: 1_767_229_200_000,
        }
    }

    #[test]
    fn a_token_reads_back_as_what_was_issued() {
        let codec = Codec::new(None);
        let token = codec.encode(&fields());
        assert!(token.len() < 80, "{token}");
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'), "URL-safe: {token}");
        assert_eq!(codec.decode(&token), Some(fields()));
    }

    #[test]
    fn a_changed_or_foreign_token_is_refused() {
        let codec = Codec::new(None);
        let token = codec.encode(&fields());
        let forged = token.replacen(".1e240.", ".1e241.", 1);
        assert_ne!(forged, token);
        assert_eq!(codec.decode(&forged), None);
        assert_eq!(Codec::new(None).decode(&token), None, "another simulator's key");
        for garbage in ["", "sim", "sim4a.1.2.3.4.5", "EAAB1234", "sim4a.1.2.3.4.5.6.0123456789abcdef"] {
            assert_eq!(codec.decode(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn a_seeded_codec_issues_the_same_tokens_after_a_restart() {
        assert_eq!(Codec::new(Some(7)).encode(&fields()), Codec::new(Some(7)).encode(&fields()));
        assert_eq!(Codec::new(Some(7)).bot_token(7_000_000_001), Codec::new(Some(7)).bot_token(7_000_000_001));
        assert!(Codec::new(Some(7)).bot_token(7_000_000_001).starts_with("7000000001:AA"));
    }
}
