//! Tokens at rest: XChaCha20-Poly1305 (RustCrypto) under a keyring of numbered keys.
//!
//! Each ciphertext is `nonce (24 bytes) || sealed bytes`, stored with the id of the key that made
//! it. The associated data names the channel and the key id, so a ciphertext copied to another
//! row, or relabelled with another key id, fails to open. Rotation adds a key with the next id;
//! new seals use the highest id, older ids keep opening until every row is re-sealed.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::domain::ChannelId;

const NONCE_LEN: usize = 24;

/// What a ciphertext is bound to, besides its key id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// The token set of one channel.
    Channel(ChannelId),
    /// The check value the database keeps to recognise a key.
    KeyCheck,
    /// The PKCE verifier of one OAuth authorization request, named by the hash of its `state`.
    PkceVerifier([u8; 32]),
}

impl Binding {
    fn associated_data(self, key_id: u32) -> String {
        match self {
            Binding::Channel(id) => format!("relink/tokens/v1/channel:{id}/key:{key_id}"),
            Binding::KeyCheck => format!("relink/key-check/v1/key:{key_id}"),
            Binding::PkceVerifier(state_hash) => {
                let state: String = state_hash.iter().map(|b| format!("{b:02x}")).collect();
                format!("relink/pkce-verifier/v1/state:{state}/key:{key_id}")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("no encryption key with id {0} is configured")]
    UnknownKey(u32),
    #[error("the ciphertext does not open with key {0}: wrong key, moved to another row, or corrupted")]
    DoesNotOpen(u32),
    #[error("the encryption keyring is empty")]
    EmptyKeyring,
    #[error("encryption keys: {0}")]
    BadKeySpec(String),
}

/// A sealed value and the key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: u32,
    pub bytes: Vec<u8>,
}

/// One 256-bit key. Its bytes are wiped on drop and never printed.
#[derive(Clone)]
pub struct KeyMaterial(Zeroizing<[u8; 32]>);

impl KeyMaterial {
    /// A fresh key from the operating system's secure random source.
    pub fn generate() -> Self {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        Self(Zeroizing::new(key.into()))
    }

    /// Reads a key written as standard base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(
            BASE64.decode(text.trim()).map_err(|_| CryptoError::BadKeySpec("a key is not valid base64".into()))?,
        );
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::BadKeySpec(format!("a key must be 32 bytes, found {}", bytes.len())))?;
        Ok(Self(Zeroizing::new(array)))
    }

    /// The key as base64, for writing the key file. Handle the result as a secret.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(BASE64.encode(self.0.as_slice()))
    }

    /// A short public name for the key (not reversible), for listings and logs.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0.as_slice());
        digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyMaterial({})", self.fingerprint())
    }
}

/// The numbered keys relink may open tokens with; the highest id seals new ones.
#[derive(Clone)]
pub struct Keyring {
    keys: BTreeMap<u32, KeyMaterial>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.keys.iter().map(|(id, key)| (id, key.fingerprint()))).finish()
    }
}

impl Keyring {
    pub fn new(keys: impl IntoIterator<Item = (u32, KeyMaterial)>) -> Result<Self, CryptoError> {
        let mut map = BTreeMap::new();
        for (id, key) in keys {
            if id == 0 {
                return Err(CryptoError::BadKeySpec("key ids start at 1".into()));
            }
            if map.insert(id, key).is_some() {
                return Err(CryptoError::BadKeySpec(format!("key id {id} is given twice")));
            }
        }
        if map.is_empty() {
            return Err(CryptoError::EmptyKeyring);
        }
        Ok(Self { keys: map })
    }

    /// Parses `ID:BASE64[,ID:BASE64…]`, the form of the `encryption_keys` setting.
    pub fn parse_spec(spec: &str) -> Result<Self, CryptoError> {
        let mut keys = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, key) = part
                .split_once(':')
                .ok_or_else(|| CryptoError::BadKeySpec("expected ID:BASE64 entries separated by commas".into()))?;
            let id = id
                .trim()
                .parse::<u32>()
                .map_err(|_| CryptoError::BadKeySpec(format!("`{}` is not a key id (a number from 1)", id.trim())))?;
            keys.push((id, KeyMaterial::from_base64(key)?));
        }
        Self::new(keys)
    }

    /// The id new seals use.
    pub fn active_id(&self) -> u32 {
        *self.keys.keys().next_back().expect("a keyring is never empty")
    }

    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.keys().copied()
    }

    pub fn key(&self, id: u32) -> Option<&KeyMaterial> {
        self.keys.get(&id)
    }

    /// Adds a fresh key with the next id and returns that id.
    pub fn add_generated(&mut self) -> u32 {
        let id = self.active_id() + 1;
        self.keys.insert(id, KeyMaterial::generate());
        id
    }

    fn cipher(&self, key_id: u32) -> Result<XChaCha20Poly1305, CryptoError> {
        let key = self.keys.get(&key_id).ok_or(CryptoError::UnknownKey(key_id))?;
        Ok(XChaCha20Poly1305::new(Key::from_slice(key.0.as_slice())))
    }

    /// Seals `plaintext` with the active key, bound to `binding`.
    pub fn seal(&self, binding: Binding, plaintext: &[u8]) -> Sealed {
        self.seal_with(self.active_id(), binding, plaintext).expect("the active key is in the keyring")
    }

    /// Seals `plaintext` with key `key_id`, bound to `binding`.
    pub fn seal_with(&self, key_id: u32, binding: Binding, plaintext: &[u8]) -> Result<Sealed, CryptoError> {
        let cipher = self.cipher(key_id)?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = binding.associated_data(key_id);
        let ciphertext = cipher
            .encrypt(&nonce, Payload { msg: plaintext, aad: aad.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut bytes = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        bytes.extend_from_slice(nonce.as_slice());
        bytes.extend_from_slice(&ciphertext);
        Ok(Sealed { key_id, bytes })
    }

    /// Opens what [`Keyring::seal`] made for the same binding.
    pub fn open(&self, binding: Binding, key_id: u32, bytes: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let cipher = self.cipher(key_id)?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError::DoesNotOpen(key_id));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let aad = binding.associated_data(key_id);
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::DoesNotOpen(key_id))
    }

    /// An HMAC-SHA256 tag over `message` under a key derived (HKDF-SHA256) from key `key_id` for
    /// `purpose`: every process that shares the keyring makes and accepts the same tags, the
    /// sealing key never keys a MAC itself, and each purpose has a key of its own.
    pub fn mac(&self, key_id: u32, purpose: &str, message: &[u8]) -> Result<[u8; 32], CryptoError> {
        use hmac::Mac as _;
        let mut mac = self.mac_for(key_id, purpose)?;
        mac.update(message);
        let mut tag = [0; 32];
        tag.copy_from_slice(&mac.finalize().into_bytes());
        Ok(tag)
    }

    /// Whether `tag` is [`Keyring::mac`]'s tag over `message`, compared in constant time; `false`
    /// for an unknown key.
    pub fn mac_matches(&self, key_id: u32, purpose: &str, message: &[u8], tag: &[u8]) -> bool {
        use hmac::Mac as _;
        let Ok(mut mac) = self.mac_for(key_id, purpose) else { return false };
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }

    fn mac_for(&self, key_id: u32, purpose: &str) -> Result<hmac::Hmac<sha2_v011::Sha256>, CryptoError> {
        use hmac::KeyInit as _;
        let key = self.keys.get(&key_id).ok_or(CryptoError::UnknownKey(key_id))?;
        let kdf = hkdf::Hkdf::<sha2_v011::Sha256>::new(Some(b"relink/mac/v1"), key.0.as_slice());
        let mut derived = Zeroizing::new([0u8; 32]);
        let info = format!("relink/mac/v1/{purpose}/key:{key_id}");
        kdf.expand(info.as_bytes(), derived.as_mut_slice()).expect("32 bytes is a valid HKDF-SHA256 length");
        Ok(hmac::Hmac::new_from_slice(derived.as_slice()).expect("HMAC takes a key of any length"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::new([(1, KeyMaterial::generate())]).unwrap()
    }

    #[test]
    fn a_mac_matches_only_its_own_key_purpose_and_message() {
        let ring = Keyring::new([(1, KeyMaterial::generate()), (2, KeyMaterial::generate())]).unwrap();
        let tag = ring.mac(2, "form", b"message").unwrap();
        assert!(ring.mac_matches(2, "form", b"message", &tag));
        assert_eq!(ring.mac(2, "form", b"message").unwrap(), tag, "deterministic: any process can check it");
        assert!(!ring.mac_matches(1, "form", b"message", &tag));
        assert!(!ring.mac_matches(2, "other", b"message", &tag));
        assert!(!ring.mac_matches(2, "form", b"messagf", &tag));
        assert!(!ring.mac_matches(2, "form", b"message", &tag[..31]));
        assert!(!ring.mac_matches(3, "form", b"message", &tag));
        assert_eq!(ring.mac(3, "form", b"m"), Err(CryptoError::UnknownKey(3)));
    }

    #[test]
    fn a_sealed_token_opens_only_for_its_own_channel_and_key() {
        let ring = ring();
        let sealed = ring.seal(Binding::Channel(ChannelId(7)), b"secret-token");
        assert!(!sealed.bytes.windows(12).any(|w| w == b"secret-token"));
        assert_eq!(ring.open(Binding::Channel(ChannelId(7)), 1, &sealed.bytes).unwrap().as_slice(), b"secret-token");
        assert_eq!(ring.open(Binding::Channel(ChannelId(8)), 1, &sealed.bytes), Err(CryptoError::DoesNotOpen(1)));
        assert_eq!(ring.open(Binding::KeyCheck, 1, &sealed.bytes), Err(CryptoError::DoesNotOpen(1)));
        let mut tampered = sealed.bytes.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(ring.open(Binding::Channel(ChannelId(7)), 1, &tampered).is_err());
        assert!(ring.open(Binding::Channel(ChannelId(7)), 1, &sealed.bytes[..10]).is_err());
    }

    #[test]
    fn relabelling_a_ciphertext_with_another_key_id_fails() {
        let mut ring = ring();
        let sealed = ring.seal(Binding::Channel(ChannelId(1)), b"x");
        let new_id = ring.add_generated();
        assert_eq!(new_id, 2);
        assert_eq!(ring.active_id(), 2);
        assert!(ring.open(Binding::Channel(ChannelId(1)), 2, &sealed.bytes).is_err());
        assert!(ring.open(Binding::Channel(ChannelId(1)), 1, &sealed.bytes).is_ok());
        assert_eq!(ring.open(Binding::Channel(ChannelId(1)), 9, &sealed.bytes), Err(CryptoError::UnknownKey(9)));
    }

    #[test]
    fn key_specs_are_parsed_and_explained() {
        let key = KeyMaterial::generate();
        let spec = format!("1:{}, 2:{}", key.to_base64().as_str(), KeyMaterial::generate().to_base64().as_str());
        let ring = Keyring::parse_spec(&spec).unwrap();
        assert_eq!(ring.active_id(), 2);
        assert_eq!(ring.key(1).unwrap().fingerprint(), key.fingerprint());
        for (bad, expected) in [
            ("", "empty"),
            ("abc", "ID:BASE64"),
            ("x:AAAA", "not a key id"),
            ("1:not base64!", "base64"),
            ("1:AAAA", "32 bytes"),
            ("0:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "start at 1"),
        ] {
            let err = Keyring::parse_spec(bad).unwrap_err().to_string();
            assert!(err.contains(expected), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_shows_fingerprints_not_keys() {
        let ring = ring();
        let b64 = ring.key(1).unwrap().to_base64();
        let debug = format!("{ring:?}");
        assert!(!debug.contains(b64.as_str()));
        assert!(debug.contains(&ring.key(1).unwrap().fingerprint()));
    }
}
