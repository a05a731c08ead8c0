//! Google's Cross-Account Protection (RISC) as the simulator plays it: the key set Google
//! publishes (`GET /_sim/google/certs`), Security Event Tokens signed the way Google signs them
//! (RS256 JWTs, issuer `https://accounts.google.com/`, audience relink's client id), and their
//! push delivery (RFC 8935) to the receiver URL a test or the demo configures, when a switch
//! revokes a Google grant, changes a Google user's password or disables a Google account.
//!
//! The RSA key pairs below are test fixtures, public by design: generating RSA keys in a debug
//! build takes seconds, and a fixed pair makes every run reproducible. [`TestKey::Served`] is the
//! one the key set publishes; [`TestKey::Unpublished`] signs forgeries.

use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use url::Url;

/// The issuer of Google's Security Event Tokens.
pub const RISC_ISSUER: &str = "https://accounts.google.com/";

/// Where event type URIs start (RISC and OAuth event types).
pub const RISC_EVENT_PREFIX: &str = "https://schemas.openid.net/secevent/risc/event-type/";
pub const OAUTH_EVENT_PREFIX: &str = "https://schemas.openid.net/secevent/oauth/event-type/";

/// How many times a push is tried before the simulator gives up on it (RFC 8935 lets a
/// transmitter retry), and the first pause between tries (doubling).
const PUSH_TRIES: u32 = 5;
const PUSH_FIRST_PAUSE: Duration = Duration::from_millis(500);
/// How long one push waits for the receiver's answer.
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// A Google security event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Every OAuth token of the user for this app was revoked (they removed its access).
    TokensRevoked,
    /// One token was revoked (its subject is the token's hash, not the account).
    TokenRevoked,
    /// The user's sessions were ended (a password change, say).
    SessionsRevoked,
    /// Google disabled the account (`reason`: `hijacking` or `bulk-account`).
    AccountDisabled,
    AccountEnabled,
    AccountPurged,
    AccountCredentialChangeRequired,
    /// The answer to a verification request (`stream:verify`), carrying its `state`.
    Verification,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::TokensRevoked,
        EventType::TokenRevoked,
        EventType::SessionsRevoked,
        EventType::AccountDisabled,
        EventType::AccountEnabled,
        EventType::AccountPurged,
        EventType::AccountCredentialChangeRequired,
        EventType::Verification,
    ];

    /// The type's name in its URI.
    pub fn name(self) -> &'static str {
        match self {
            EventType::TokensRevoked => "tokens-revoked",
            EventType::TokenRevoked => "token-revoked",
            EventType::SessionsRevoked => "sessions-revoked",
            EventType::AccountDisabled => "account-disabled",
            EventType::AccountEnabled => "account-enabled",
            EventType::AccountPurged => "account-purged",
            EventType::AccountCredentialChangeRequired => "account-credential-change-required",
            EventType::Verification => "verification",
        }
    }

    /// The event type's URI, as the `events` claim keys it: the two token events are OAuth
    /// event types, the others RISC ones.
    pub fn uri(self) -> String {
        match self {
            EventType::TokensRevoked | EventType::TokenRevoked => format!("{OAUTH_EVENT_PREFIX}{}", self.name()),
            _ => format!("{RISC_EVENT_PREFIX}{}", self.name()),
        }
    }
}

/// The subject an `iss-sub` event names: a Google account by its `sub`.
pub fn iss_sub(sub: &str) -> Value {
    json!({ "subject_type": "iss-sub", "iss": RISC_ISSUER, "sub": sub })
}

/// One event's body as Google writes it about `sub`: the subject, plus the reason of an
/// account-disabled event. For a verification event `sub` is the `state`; for a token-revoked
/// event it stands for the refresh token's hash.
pub fn event_body(event: EventType, sub: &str) -> Value {
    match event {
        EventType::Verification => json!({ "state": sub }),
        EventType::AccountDisabled => json!({ "subject": iss_sub(sub), "reason": "hijacking" }),
        EventType::TokenRevoked => json!({
            "subject": {
                "subject_type": "oauth_token",
                "token_type": "refresh_token",
                "token_identifier_alg": "hash_base64_sha512_sha512",
                "token": sub,
            }
        }),
        _ => json!({ "subject": iss_sub(sub) }),
    }
}

/// The key pairs of the fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKey {
    /// Published at `/_sim/google/certs` under [`SERVED_KID`].
    Served,
    /// Published nowhere: what a forger would sign with.
    Unpublished,
}

/// The key id of the published key.
pub const SERVED_KID: &str = "relink-sim-risc-1";

impl TestKey {
    fn der(self) -> &'static str {
        match self {
            TestKey::Served => SERVED_DER,
            TestKey::Unpublished => OTHER_DER,
        }
    }

    /// The public modulus, base64url as a JWK carries it.
    pub fn modulus(self) -> &'static str {
        match self {
            TestKey::Served => SERVED_N,
            TestKey::Unpublished => OTHER_N,
        }
    }

    fn encoding_key(self) -> Option<EncodingKey> {
        let der = base64::engine::general_purpose::STANDARD.decode(self.der()).ok()?;
        Some(EncodingKey::from_rsa_der(&der))
    }
}

/// The key set Google would publish: the served key alone.
pub fn jwks() -> Value {
    json!({
        "keys": [{
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": SERVED_KID,
            "n": TestKey::Served.modulus(),
            "e": "AQAB",
        }]
    })
}

/// A Security Event Token before signing. Every field is public so a test can forge any part.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEvent {
    pub issuer: String,
    /// One audience, or several (a JSON array).
    pub audience: Value,
    pub issued_at: DateTime<Utc>,
    pub jti: String,
    /// The `events` claim: type URI → body.
    pub events: Value,
    /// The header's `kid`; `None` leaves it out.
    pub kid: Option<String>,
}

impl SecurityEvent {
    /// One event about `sub` (for a verification event, `sub` is the state), as Google would
    /// send it to `audience` at `now`, with a fresh `jti`.
    pub fn new(event: EventType, sub: &str, audience: &str, now: DateTime<Utc>) -> Self {
        Self {
            issuer: RISC_ISSUER.to_owned(),
            audience: json!(audience),
            issued_at: now,
            jti: fresh_jti(),
            events: json!({ event.uri(): event_body(event, sub) }),
            kid: Some(SERVED_KID.to_owned()),
        }
    }

    /// The compact JWT, signed RS256 with `key`; `None` only if the fixture were broken.
    pub fn sign(&self, key: TestKey) -> Option<String> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("secevent+jwt".to_owned());
        header.kid = self.kid.clone();
        let claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "iat": self.issued_at.timestamp(),
            "jti": self.jti,
            "events": self.events,
        });
        jsonwebtoken::encode(&header, &claims, &key.encoding_key()?).ok()
    }
}

/// A random 128-bit token id in hex.
pub fn fresh_jti() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Pushes a signed SET to `url` in the background (RFC 8935: `POST`, `application/secevent+jwt`),
/// trying again after a pause on a 5xx answer or no answer; a 4xx is final. `delivered` is
/// told the last status. Needs a Tokio runtime; without one the push is dropped with a warning.
pub(crate) fn push(url: Url, set: String, delivered: impl FnOnce(Option<u16>) + Send + 'static) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("simulator: no runtime to push a security event on");
        return;
    };
    runtime.spawn(async move {
        let client = match reqwest::Client::builder().timeout(PUSH_TIMEOUT).build() {
            Ok(client) => client,
            Err(error) => {
                tracing::warn!(%error, "simulator: cannot build an HTTP client for security events");
                return delivered(None);
            }
        };
        let mut pause = PUSH_FIRST_PAUSE;
        let mut last = None;
        for _ in 0..PUSH_TRIES {
            let sent = client
                .post(url.clone())
                .header("content-type", "application/secevent+jwt")
                .header("accept", "application/json")
                .body(set.clone())
                .send()
                .await;
            match sent {
                Ok(answer) if !answer.status().is_server_error() => return delivered(Some(answer.status().as_u16())),
                Ok(answer) => last = Some(answer.status().as_u16()),
                Err(error) => tracing::debug!(%error, "simulator: security event push failed; trying again"),
            }
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2);
        }
        delivered(last);
    });
}

// The fixture's key pairs: PKCS#1 DER (base64) and the public modulus (base64url); the
// public exponent is 65537. Generated once with `openssl genrsa 2048`; test keys only.
const SERVED_DER: &str = concat!(
    "MIIEpAIBAAKCAQEAqZ9WoJUvMGMHz2X8ZOGKjda/ScRDpxowvO18UwO7RVVsLDNDH6T1GiorOXU1CY7FRdcQQHfKuZuFvRvmq2jY",
    "Pikc6StfqXRCSwNpgfOTf4QnmCW79MIUtQTG03nUUAgdcvia4xrxu4TGC79h/N/ZluXyrWvrs/12W2r2zYy1AlAeyIUqO/gmLx97",
    "J4JELC+G8ETSvKGSVRdGMCtH2UdA2EYFx/SyCOeD/tUnBfzNai7oZnqYbIkOhgrtFz/52uwnLuD7aq3LDrEthit8XLyFYL8mdylk",
    "YoWU7JEXe7/bvXTatQ6HO1j+d8F8R/Q5BhIcmVGrEaJvVJbuYsIDPIteVQIDAQABAoIBAA2yvxJIV0+Adolr/8zzfuw9+bmUFpo9",
    "2KOanTXvYPYJiZXB4mDsQi6wVZ3LW/K55i9h8x91sng4pFK1mF8NivBtgwwciITyN9wAJPWNmBg4nLb3jdKHbZiBz9RqbA2LiOSi",
    "SZCKJO1Nx22m8XD0cJ7JqAZpJwI54k9MgoJujianHm6zvCmS6CMSvNiqm+HIe4wHGP4Gl1z/SMG/QOXw1ODwQfMWSw/W73y/oBSg",
    "x/V72yuzvJIF+eoU20M9awsH1d5WnZskWiZwt0fdL2cfLDRl0GusAN0zJrqqvJHN/xQG6vKTotRRIT+2tu1YNFyzhTM0cfxfQ1oP",
    "WJdV75d9UeECgYEA5stSy2NWK8oNHKRwTtRgaU+mqivaReVuZ/MogxUN6Y3ChB8+32cVJIOytrtwYM4z+mlkIe92Vwe384gIwbnO",
    "94SMDDbn9jnqwQglmdPkKPZLIjVx9/UQQF6hywUVLjSCRccUeVTdwAT+sWslNlTMIOlL9Oa4SFcKBGOyj6E0huECgYEAvCW9DXg5",
    "i8pqhcjfptQKbuAuNtQe/GNoLXpvhkzFs7yHwqarx2VZC9hadoCj9bx/XbpC+EaXMSPgRBBm7yqUhdj196qijUIc6PWeUA+H1oy0",
    "vGBMPSYJLvKkUYUrnNWPp7WYDdR9atne2BCHjPQRwsk4SOv0IkI+7lMeB8x0afUCgYEA3Ar2wVvQiKd3oNtXCJGL6lw6tvxge0un",
    "3AwFkBS+0vKJhpaTx0Ps8IdwGLDVEDcJb7KT+Zbp6Ug+pj4Iu0uAfJUvQWYH+sZ1f91YnDVdz4AjWlZCdvp7qCORdpM+AnOl0Qli",
    "B9xWIAGjI1zYediXVrmX5cMj6DS0JEM5t58nCYECgYEAhgyJPqCKt4tXC8yLdEwcxtRYeN322bFllwlljhUCwsUvIMMpHl6Z6/OQ",
    "uF988ecEA95iOovoyq0Z6sSY4gu/WAG1dWiQef5BpMTir33xNS540sH1b5e68UUVR7OO2CXcPQwHssrTNJ7Xw687NHTsdpBw1puu",
    "C/6Q4bI8cif8RUUCgYAMkAuC7GcSgEAE+APSEQtoGXGVcRNT1zlC7VNi8OgMKqZQn2otZ0/xhsPgO5GHkHdh1FTrmrUdZth8GQ6Z",
    "q6h8sDn0pehG/rba8biSi63gr0qJHL3anAMZsGSsqo1YjASls5565w+WF0cOzZsTdBf5Zq70jDun16ZeTRjCDxl7qw==",
);
const SERVED_N: &str = concat!(
    "qZ9WoJUvMGMHz2X8ZOGKjda_ScRDpxowvO18UwO7RVVsLDNDH6T1GiorOXU1CY7FRdcQQHfKuZuFvRvmq2jYPikc6StfqXRCSwNp",
    "gfOTf4QnmCW79MIUtQTG03nUUAgdcvia4xrxu4TGC79h_N_ZluXyrWvrs_12W2r2zYy1AlAeyIUqO_gmLx97J4JELC-",
    "G8ETSvKGSVRdGMCtH2UdA2EYFx_SyCOeD_tUnBfzNai7oZnqYbIkOhgrtFz_52uwnLuD7aq3LDrEthit8XLyFYL8mdylkYoWU7JE",
    "Xe7_bvXTatQ6HO1j-d8F8R_Q5BhIcmVGrEaJvVJbuYsIDPIteVQ",
);
const OTHER_DER: &str = concat!(
    "MIIEpAIBAAKCAQEA4bjEvTa30kgwA7uQ3ioLd0TA5+3rwAScv6iDbM/Kb9QvH1HQcSlufQzk/YHykqd9nIzE/eb7fziB6KwtehNy",
    "M6HTCWYUvJwNJLFaQg10HdOsBHQsmTZJWszBCi4RtPKtccgDj3Ay0I6reXI+m3FUFsjAYjOef3YEdQw/H4eMYQIs2uSx05KUolpo",
    "t5ftAMgu2LIR2eLosTRdPtlki+QWvbDXwm34OzKcYBeRPuRLhpXi09gHFV+AoX5KMGZ6uFFrxicDp9zjOpv1FlF0cTRGEuc1UKV2",
    "wyUm4TuJwG0kmwciWaYtiKXrLumHJ+q7YLepoJQ3i5Cenn25aLpqRZxy5QIDAQABAoIBAAtKQJzuNbeQ4MXvBcn29GfcyoFPRzFt",
    "iaGUfi5dHlUFme3JG9HtLpeWo4WCkG2Bbyj7aYcBnKa6XtUSd5vZiSbH+1RHBNaCP64MKOWQ4rPzOHFolip7qqOeBjHKKByS3tYI",
    "GRV9mS0RVcZXToZb3sbc97JxvoXFk2d/W1DqaL0ZVK/1TNLo0ZStTKunCG/+eSPBrjx1Gpv0k3dZHPsWyaHWLG8Ehh1clY486/Hb",
    "TohMXRF8OG0nW5LYhV9Y2lXFRkQfU2Vg1qHyapo7UJVXVHJF5w3y2c34ZstDGiP+2HzSC/7SbrdFtyvz45pb0ibzxQLKh4O/k4U6",
    "alEzJ8u4T6kCgYEA+jxdmocIT76n9fYLf5ERQd+uUVyTMg+GzLQgaQHgk1L/T4TlF9xbIEniT1NYis+r8+xw+iNR/QfQecR9Wx0Z",
    "xyQUulPci0GQccU96CMShXNoSyNVZkC0Yejb9+/pbnimoALJ09QC8MjbkEtDVutG+pnC4pT9otKsScUDnF0AfMsCgYEA5uvYGBBH",
    "EWKc8dKYwnszoptkH5miQY93kSwuQfdd5IUa8PPkoR8PfH26AdH9Hk4J2JSFC+aq5kxbK837bD+QC5x6+SVwBUkXBz++0/JMGOcp",
    "N6kGXFroWnkVlLJK0c51sAkzEtEvrFQCcNRDs5aPJOiNXTg/AkseyXr9K2ZWCQ8CgYBjP1f8tvvT7RFe21RaJyZKEzZnLKlw3Hmh",
    "bPvByi3RIMUEO/hFC2/VEZjBz5O5kn5nw2pXu3SEP/ouoYD6h0M3GZdjA2ngjYOFrC5OiMKKzWgbDQuM/7LLdnjwEGZsG0wzAIge",
    "DOORrohu5Xry2WQQdrW1+lPSpW4R4CL7fGN6GwKBgQDcj+XuThXjaCJp4/IeyFhwdyWx/Sd6oVLeKanhPinDbNNn1DzLHITJLrls",
    "paqzuGw1Ht7ZmDAiGkp2057TLP8j6AmZUYXmtoI1XVCi1mqS2rCGxn4Z1obaa48OYSGPtji4tIDA92cmnXNbW5NyxFrjMPBdWqzs",
    "Pt4gKcYJHw0MRwKBgQDNGyuumALqrk7kHPsWavrga9bMsbnme4krbcmon07J0ekZdGcjutkZy7aHJbWr2OjEJn5T41V4wOVm/9TW",
    "GKQVr0zidQf6vwlFhPtLPafCIouanleQXa9rf7c3LuI9CPOO+gcVGsngu/F/Nptx1YDeODLlitHhYnGnwub5oaLLCw==",
);
const OTHER_N: &str = concat!(
    "4bjEvTa30kgwA7uQ3ioLd0TA5-",
    "3rwAScv6iDbM_Kb9QvH1HQcSlufQzk_YHykqd9nIzE_eb7fziB6KwtehNyM6HTCWYUvJwNJLFaQg10HdOsBHQsmTZJWszBCi4RtP",
    "KtccgDj3Ay0I6reXI-m3FUFsjAYjOef3YEdQw_H4eMYQIs2uSx05KUolpot5ftAMgu2LIR2eLosTRdPtlki-",
    "QWvbDXwm34OzKcYBeRPuRLhpXi09gHFV-",
    "AoX5KMGZ6uFFrxicDp9zjOpv1FlF0cTRGEuc1UKV2wyUm4TuJwG0kmwciWaYtiKXrLumHJ-q7YLepoJQ3i5Cenn25aLpqRZxy5Q",
);
