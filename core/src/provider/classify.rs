//! What a network's answer means, as pure functions: an [`Answer`] (status, headers, body) or a
//! [`Failure`] in, a [`Verdict`] out. Each network's own rules live beside its adapter (`x::rules`,
//! `pinterest::rules`, `linkedin::rules`, `google::rules`, `telegram::rules`, `generic::rules`,
//! and `facebook::rules` for `debug_token`); this file keeps what several networks share:
//! [`answer`], which picks a family's rules and applies the rules every family shares, the Graph
//! shape of Facebook, Instagram and Threads ([`graph`]), OAuth token endpoints
//! ([`token_endpoint`]), transport failures, redaction and the helpers the rules read answers
//! with. The test table at the bottom runs every cell of PROVIDERS.md's "What an answer means":
//! the Graph and token-endpoint rows here, each network's rows from its own file.
//!
//! Rules that hold everywhere, because the #1 product rule is "never cry wolf, never stay silent":
//! - A timeout, a 5xx, a 429, a throttling code or a body that is not JSON is never "dead".
//! - A 4xx relink does not recognise is `Unknown` (the checker confirms it with a second probe),
//!   never `Dead`.
//! - With a refresh token, an access token's rejection is [`Verdict::renew_now`]: the refresh
//!   grant decides (it works, or its `invalid_grant` is the definitive death).
//! - Details are the network's own words, one short line. The classifier never sees the tokens;
//!   the adapters pass every detail through `redact` with the secrets they sent, in case a
//!   network echoes one back.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::policy::{self, Renewal};
use super::{Answer, Failure, Validity, Verdict};
use crate::domain::{Channel, Provider, Reason, Scopes};
use crate::token::TokenSet;

/// What a classifier needs to know besides the answer, to give the right reason.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Context {
    pub now: DateTime<Utc>,
    /// The stored expiry of the access token: a Graph 190 without subcode on a token past it is
    /// "expired", before it "invalidated".
    pub expires_at: Option<DateTime<Utc>>,
    /// The channel's last publishing activity, or its creation when it never published.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// The policy's inactivity period (Pinterest: tokens lapse after 30 days without activity).
    pub inactivity: Option<Duration>,
    /// A refresh token exists and the network renews with it: an access token's rejection only
    /// means "renew now".
    pub refreshable: bool,
    /// When the stored refresh token ends, where the network said.
    pub refresh_expires_at: Option<DateTime<Utc>>,
}

impl Context {
    /// A context that knows only the time (a code exchange, before there is a channel).
    pub fn at(now: DateTime<Utc>) -> Self {
        Self {
            now,
            expires_at: None,
            last_activity_at: None,
            inactivity: None,
            refreshable: false,
            refresh_expires_at: None,
        }
    }

    pub fn for_channel(channel: &Channel, tokens: &TokenSet, now: DateTime<Utc>) -> Self {
        let policy = policy::policy(channel.provider);
        let refresh_token = tokens.refresh_token.as_ref().is_some_and(|t| !t.expose_secret().is_empty());
        Self {
            now,
            expires_at: tokens.expires_at.or(channel.token_expires_at),
            last_activity_at: Some(channel.last_activity_at.unwrap_or(channel.created_at).max(channel.created_at)),
            inactivity: policy.inactivity,
            // A refresh token past the end the network announced cannot renew anything.
            refreshable: refresh_token
                && tokens.refresh_expires_at.is_none_or(|end| end > now)
                && matches!(policy.renewal, Renewal::RefreshToken | Renewal::RotatingRefreshToken),
            refresh_expires_at: tokens.refresh_expires_at,
        }
    }

    pub(super) fn expired(&self) -> bool {
        self.expires_at.is_some_and(|at| at <= self.now)
    }

    pub(super) fn inactive(&self) -> bool {
        match (self.last_activity_at, self.inactivity.map(crate::time::delta)) {
            (Some(last), Some(period)) => self.now - last >= period,
            _ => false,
        }
    }
}

/// Which rules read an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// The Graph API (Facebook, Instagram, Threads), including their token extensions.
    Graph,
    /// Facebook's `debug_token`: the token's verdict is inside `data`; a top-level error is about
    /// relink's own app token (`client_id|secret`), so it goes to the operators.
    DebugToken,
    /// An OAuth token endpoint (RFC 6749 §5.2), with the network's quirks.
    Token(Provider),
    Linkedin,
    X,
    Pinterest,
    /// Google's `tokeninfo` and APIs (YouTube, Business Profile).
    Google,
    /// The Bot API (`getChat`, `getChatMember`).
    Telegram,
    /// An OpenID Connect UserInfo endpoint behind RFC 6750 bearer tokens (a declared network).
    UserInfo,
}

impl Family {
    fn label(self) -> &'static str {
        match self {
            Family::Graph => "Graph API",
            Family::DebugToken => "Facebook debug_token",
            Family::Token(provider) => provider.label(),
            Family::Linkedin => "LinkedIn",
            Family::X => "X",
            Family::Pinterest => "Pinterest",
            Family::Google => "Google",
            Family::Telegram => "Telegram",
            Family::UserInfo => "UserInfo",
        }
    }

    /// The family of a network's API answers.
    pub fn api(provider: Provider) -> Self {
        match provider {
            Provider::Facebook | Provider::InstagramBusiness | Provider::InstagramLogin | Provider::Threads => {
                Family::Graph
            }
            Provider::Linkedin => Family::Linkedin,
            Provider::X => Family::X,
            Provider::Pinterest => Family::Pinterest,
            Provider::Youtube | Provider::GoogleBusiness => Family::Google,
            Provider::Telegram => Family::Telegram,
            Provider::GenericOauth2 => Family::UserInfo,
        }
    }
}

/// Reads an answer with its family's rules. An API's "dead" becomes "renew now" when a refresh
/// token exists; a token endpoint's "dead" is final.
pub fn answer(family: Family, cx: &Context, answer: &Answer) -> Verdict {
    // Whatever the body says, a server in trouble has not judged the token.
    if answer.status >= 500 {
        return match family {
            Family::Token(provider) => token_endpoint(provider, cx, answer),
            _ => fallback(family.label(), answer),
        };
    }
    let verdict = match family {
        Family::Graph => graph(cx, answer),
        Family::DebugToken => super::facebook::rules(cx, answer),
        Family::Token(provider) => token_endpoint(provider, cx, answer),
        Family::Linkedin => super::linkedin::rules(cx, answer),
        Family::X => super::x::rules(cx, answer),
        Family::Pinterest => super::pinterest::rules(cx, answer),
        Family::UserInfo => super::generic::rules(cx, answer),
        Family::Google => super::google::rules(cx, answer),
        Family::Telegram => super::telegram::rules(cx, answer),
    };
    // A family reads the words; the shared rules have the last word. A rate limit with an
    // error body copied from elsewhere, or a proxy's page in front of a UserInfo endpoint, has
    // not judged the token.
    if verdict.is_definitive() && (answer.status == 429 || (!answer.body.is_empty() && answer.json().is_none())) {
        return fallback(family.label(), answer);
    }
    match verdict {
        Verdict::Dead(_) if cx.refreshable && !matches!(family, Family::Token(_)) => Verdict::renew_now(cx.now),
        verdict => verdict,
    }
}

/// No answer at all: always transient. (A renewal that may have reached the network is
/// `Renewed::Uncertain` instead; the adapters decide that with [`Failure::may_have_reached_server`].)
pub fn failure(failure: &Failure) -> Verdict {
    Verdict::transient(format!("no answer: {failure}"))
}

pub use super::telegram::{CHAT_DELETED, CHAT_NOT_FOUND, chat_gone, moved_chat_id};

/// Replaces every secret (tokens, client secret) in a verdict's words with `[redacted]`: the last
/// guard before a detail reaches a chat message or the history.
pub(super) fn redact(verdict: Verdict, secrets: &[&str]) -> Verdict {
    let scrub = |text: String| redact_text(text, secrets);
    match verdict {
        Verdict::Dead(Reason::Other(d)) => Verdict::Dead(Reason::Other(scrub(d))),
        Verdict::Account(Reason::Other(d)) => Verdict::Account(Reason::Other(scrub(d))),
        Verdict::Permission(d) => Verdict::Permission(scrub(d)),
        Verdict::Operator(d) => Verdict::Operator(scrub(d)),
        Verdict::Unknown(d) => Verdict::Unknown(scrub(d)),
        Verdict::Transient { retry_after, detail } => Verdict::Transient { retry_after, detail: scrub(detail) },
        verdict => verdict,
    }
}

pub(super) fn redact_text(text: String, secrets: &[&str]) -> String {
    // Very short "secrets" (an empty client secret in tests) would shred ordinary words.
    secrets.iter().filter(|s| s.len() >= 6).fold(text, |text, secret| text.replace(secret, "[redacted]"))
}

// ---------------------------------------------------------------------------------------------
// Graph (Facebook, Instagram, Threads)
// ---------------------------------------------------------------------------------------------

/// Graph answers. Errors are `{"error":{"code","error_subcode","message",…}}`, throttling
/// included (as HTTP 400, not 429). A success tells the account (`user_id` or `id`).
/// Source: <https://developers.facebook.com/docs/graph-api/guides/error-handling>
pub fn graph(cx: &Context, answer: &Answer) -> Verdict {
    let Some(json) = answer.json() else { return fallback("Graph API", answer) };
    graph_json(cx, answer, &json)
}

/// [`graph`] on a body already read as JSON.
pub(super) fn graph_json(cx: &Context, answer: &Answer, json: &Value) -> Verdict {
    if let Some(error) = json.get("error").filter(|e| e.is_object()) {
        return graph_error(cx, answer, error);
    }
    if answer.is_success() {
        if let Some(data) = json.get("data").filter(|d| d.get("is_valid").is_some()) {
            return debug_token_data(cx, answer, data);
        }
        let account_id = id_of(json.get("user_id")).or_else(|| id_of(json.get("id")));
        return Verdict::Valid(Validity { account_id, usage: graph_usage(answer), ..Validity::default() });
    }
    fallback("Graph API", answer)
}

fn debug_token_data(cx: &Context, answer: &Answer, data: &Value) -> Verdict {
    if data.get("is_valid") == Some(&Value::Bool(true)) {
        let facts = LiveToken {
            expires_at: data.get("expires_at"),
            scopes: data.get("scopes"),
            profile_id: data.get("profile_id"),
            user_id: data.get("user_id"),
        };
        return facts.verdict(cx, answer);
    }
    // Page tokens say `expires_at: 0`: no time expiry.
    let expires_at = epoch(cx, data.get("expires_at"));
    let cx = Context { expires_at: expires_at.or(cx.expires_at), ..*cx };
    match data.get("error").filter(|e| e.is_object()) {
        Some(error) => graph_error(&cx, answer, error),
        None => expired_or_invalid(&cx),
    }
}

/// What a `debug_token` answer with `is_valid: true` says about the token, field by field (each
/// as the network gave it, or absent).
pub(super) struct LiveToken<'a> {
    pub expires_at: Option<&'a Value>,
    pub scopes: Option<&'a Value>,
    pub profile_id: Option<&'a Value>,
    pub user_id: Option<&'a Value>,
}

impl LiveToken<'_> {
    pub(super) fn verdict(&self, cx: &Context, answer: &Answer) -> Verdict {
        Verdict::Valid(Validity {
            // Page tokens say `expires_at: 0`: no time expiry.
            expires_at: epoch(cx, self.expires_at),
            scopes: scopes_of(self.scopes),
            account_id: id_of(self.profile_id).or_else(|| id_of(self.user_id)),
            // The person whose grant it is: what Meta's deauthorize callback names.
            grantor_id: id_of(self.user_id),
            usage: graph_usage(answer),
        })
    }
}

fn graph_error(cx: &Context, answer: &Answer, error: &Value) -> Verdict {
    let Some(code) = int(error.get("code")) else { return fallback("Graph API", answer) };
    let subcode = int(error.get("error_subcode")).or_else(|| int(error.get("subcode")));
    let detail = graph_label(error);
    match (code, subcode) {
        // "No longer has a role on the Page" (uncertain in PROVIDERS.md), whatever the code.
        (_, Some(492)) => Verdict::Permission(detail),
        (190, Some(458)) => Verdict::Dead(Reason::AppRevoked),
        (190, Some(460)) => Verdict::Dead(Reason::PasswordChanged),
        (190, Some(463)) => Verdict::Dead(Reason::Expired),
        (190, Some(459)) => Verdict::Account(Reason::SecurityCheckpoint),
        (190, Some(464)) => Verdict::Account(Reason::Other("unconfirmed user".into())),
        // 190 without subcode, 190/467 (invalid) and 102 (session invalid): expired or revoked,
        // and only the stored expiry tells which.
        (190 | 102, _) => expired_or_invalid(cx),
        (368, _) => Verdict::Account(Reason::Other("temporarily blocked".into())),
        (10 | 200..=299, _) => Verdict::Permission(detail),
        (3, _) => Verdict::Operator(detail),
        (1 | 2 | 4 | 17 | 32 | 341 | 613 | 80001..=80014, _) => {
            Verdict::Transient { retry_after: graph_wait(answer), detail }
        }
        _ if error.get("is_transient") == Some(&Value::Bool(true)) => {
            Verdict::Transient { retry_after: graph_wait(answer), detail }
        }
        // "Object does not exist, cannot be loaded due to missing permissions": the token works
        // but no longer reaches the account (an Instagram account unlinked from its Page).
        (100, Some(33)) => Verdict::Permission(detail),
        _ => fallback_with("Graph API", answer, detail),
    }
}

pub(super) fn graph_label(error: &Value) -> String {
    let code = int(error.get("code")).map_or_else(|| "?".to_owned(), |c| c.to_string());
    let sub = int(error.get("error_subcode")).or_else(|| int(error.get("subcode")));
    let text = text_at(error, &["/message", "/error_user_msg"]);
    match sub {
        Some(sub) => format!("Graph error {code}/{sub}: {text}"),
        None => format!("Graph error {code}: {text}"),
    }
}

/// The highest percentage in Facebook's usage headers, as 0.0–1.0, to slow down before the limit.
/// Read on every Graph probe, so the headers are walked as they are parsed, never built into a tree.
fn graph_usage(answer: &Answer) -> Option<f64> {
    ["x-app-usage", "x-business-use-case-usage", "x-ad-account-usage"]
        .into_iter()
        .filter_map(|name| answer.header(name))
        .filter_map(|header| {
            let mut deserializer = serde_json::Deserializer::from_str(header);
            serde::de::DeserializeSeed::deserialize(HighestPercentage(None), &mut deserializer).ok().flatten()
        })
        .reduce(f64::max)
        .map(|max| (max / 100.0).clamp(0.0, 1.0))
}

/// A walk over a usage header's JSON that keeps the highest of its percentage fields
/// (`call_count`, `total_time`, `total_cputime`, `acc_id_util_pct`), at any depth.
struct HighestPercentage(Option<f64>);

impl HighestPercentage {
    fn with(self, pct: Option<f64>) -> Option<f64> {
        match (self.0, pct) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for HighestPercentage {
    type Value = Option<f64>;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for HighestPercentage {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a usage header")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut highest = self.0;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            highest = match &*key {
                "call_count" | "total_time" | "total_cputime" | "acc_id_util_pct" => {
                    HighestPercentage(highest).with(map.next_value::<Value>()?.as_f64())
                }
                _ => map.next_value_seed(HighestPercentage(highest))?,
            };
        }
        Ok(highest)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut highest = self.0;
        while let Some(found) = seq.next_element_seed(HighestPercentage(highest))? {
            highest = found;
        }
        Ok(highest)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self.0)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self.0)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self.0)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self.0)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(self.0)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.0)
    }
}

/// How long Facebook asks to wait: `estimated_time_to_regain_access` (minutes) in the business
/// usage header, else `Retry-After`.
fn graph_wait(answer: &Answer) -> Option<Duration> {
    let minutes = answer
        .header("x-business-use-case-usage")
        .and_then(|h| serde_json::from_str::<Value>(h).ok())
        .and_then(|json| {
            let mut waits = Vec::new();
            collect_key(&json, "estimated_time_to_regain_access", &mut waits);
            waits.into_iter().filter_map(|v| v.as_u64()).max()
        })
        .filter(|m| *m > 0);
    minutes.map(|m| crate::time::network_wait_secs(m.saturating_mul(60))).or_else(|| answer.retry_after())
}

pub(super) fn collect_key(value: &Value, key: &str, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == key {
                    out.push(v.clone());
                } else {
                    collect_key(v, key, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_key(item, key, out)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// OAuth token endpoints (RFC 6749 §5.2)
// ---------------------------------------------------------------------------------------------

/// A token endpoint's answer to a refresh or code grant. Graph networks answer theirs in Graph's
/// shape, which goes to [`graph`].
/// Source: <https://datatracker.ietf.org/doc/html/rfc6749#section-5.2>
pub fn token_endpoint(provider: Provider, cx: &Context, answer: &Answer) -> Verdict {
    let network = provider.label();
    let json = answer.json();
    let Some(code) = json.as_ref().and_then(|j| j.get("error")).and_then(Value::as_str) else {
        return match Family::api(provider) {
            Family::Graph if answer.status < 500 => graph(cx, answer),
            _ => fallback(network, answer),
        };
    };
    let description = json.as_ref().map(|j| text_at(j, &["/error_description"])).unwrap_or_default();
    let detail = if description.is_empty() {
        format!("{network} token endpoint: {code}")
    } else {
        format!("{network} token endpoint: {code} ({description})")
    };
    if answer.status >= 500 {
        return Verdict::Transient { retry_after: answer.retry_after(), detail };
    }
    let refusals = refusals(provider);
    match code {
        "invalid_grant" => Verdict::Dead(grant_reason(refusals, cx, &description)),
        "invalid_scope" => Verdict::Permission(detail),
        "invalid_request"
            if refusals.spent_refresh_token.is_some_and(|words| description.to_lowercase().contains(words)) =>
        {
            Verdict::Dead(Reason::Other(format!("{network} refused the refresh token (revoked, or already used)")))
        }
        "invalid_client"
        | "unauthorized_client"
        | "unsupported_grant_type"
        | "invalid_request"
        | "unsupported_response_type" => Verdict::Operator(detail),
        "temporarily_unavailable" | "server_error" | "slow_down" => {
            Verdict::Transient { retry_after: answer.retry_after(), detail }
        }
        _ => Verdict::Unknown(detail),
    }
}

/// What a network's token endpoint means beyond RFC 6749 when it refuses a grant. Each network's
/// file holds its own row ([`refusals`] finds it), with the reasons; the reading below is shared.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenRefusals {
    /// A refused grant while the channel's inactivity deadline has passed was ended by
    /// inactivity, whatever the words.
    pub inactivity_is_stored: bool,
    /// "expired or revoked" means revoked: the network's refresh tokens do not run out while
    /// relink renews them.
    pub expired_or_revoked_is_revoked: bool,
    /// "expired or revoked" with no known end of the refresh token means revoked too.
    pub revoked_without_known_end: bool,
    /// Words in an `invalid_request` description that mean the refresh token is spent (rotated
    /// by a parallel refresh, or revoked); the checker re-reads the stored token before believing
    /// it.
    pub spent_refresh_token: Option<&'static str>,
}

/// The network's own reading of a refused grant (nothing beyond RFC 6749 for most).
pub fn refusals(provider: Provider) -> TokenRefusals {
    match provider {
        Provider::X => super::x::REFUSALS,
        Provider::Pinterest => super::pinterest::REFUSALS,
        Provider::Youtube | Provider::GoogleBusiness => super::google::REFUSALS,
        _ => TokenRefusals::default(),
    }
}

/// Why a grant died, from what the network says. Networks word `invalid_grant` loosely, so the
/// words are read for the most specific cause they name.
fn grant_reason(network: TokenRefusals, cx: &Context, description: &str) -> Reason {
    let lower = description.to_lowercase();
    if (network.inactivity_is_stored && cx.inactive())
        || ["without activity", "inactivity", "unused"].iter().any(|w| lower.contains(w))
    {
        return Reason::Inactivity;
    }
    if lower.contains("password") {
        return Reason::PasswordChanged;
    }
    match (lower.contains("expired"), lower.contains("revoked")) {
        (true, true) if network.expired_or_revoked_is_revoked => Reason::AppRevoked,
        // LinkedIn ("invalid, expired or revoked") and Pinterest say when their refresh tokens
        // end: one refused before then was revoked (the app removed, access withdrawn), not run
        // out. Without that date, LinkedIn's 365-day end after the grant is by far the common
        // cause.
        (true, true) if cx.refresh_expires_at.is_some_and(|end| end > cx.now) => Reason::AppRevoked,
        (true, true) if network.revoked_without_known_end && cx.refresh_expires_at.is_none() => Reason::AppRevoked,
        (true, _) => Reason::Expired,
        (false, true) => Reason::AppRevoked,
        (false, false) if description.is_empty() => Reason::Other("grant refused (invalid_grant)".into()),
        (false, false) => Reason::Other(format!("grant refused: {description}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared rules
// ---------------------------------------------------------------------------------------------

/// A token the network no longer accepts, without saying why: past its stored expiry it expired,
/// before it someone or something invalidated it.
pub(super) fn expired_or_invalid(cx: &Context) -> Verdict {
    if cx.expired() { Verdict::Dead(Reason::Expired) } else { Verdict::Dead(Reason::Other("token invalidated".into())) }
}

/// An answer a family did not recognise: waits and server trouble are transient, anything that
/// is not JSON is transient (a proxy's or a CDN's page), the rest is unknown. Never dead.
pub(super) fn fallback(network: &str, answer: &Answer) -> Verdict {
    let said = answer.json().map(|json| text_at(&json, MESSAGE_POINTERS)).unwrap_or_default();
    let detail = if said.is_empty() {
        format!("{network}: HTTP {}", answer.status)
    } else {
        format!("{network}: HTTP {}: {said}", answer.status)
    };
    fallback_with(network, answer, detail)
}

pub(super) fn fallback_with(network: &str, answer: &Answer, detail: String) -> Verdict {
    let status = answer.status;
    if status == 429 {
        return Verdict::Transient { retry_after: answer.retry_after(), detail: format!("{detail} (rate limited)") };
    }
    if status >= 500 || status == 408 {
        return Verdict::Transient { retry_after: answer.retry_after(), detail };
    }
    if !answer.body.is_empty() && answer.json().is_none() {
        return Verdict::transient(format!("{network}: unreadable answer (HTTP {status}, not JSON)"));
    }
    Verdict::Unknown(detail)
}

const MESSAGE_POINTERS: &[&str] = &[
    "/error/message",
    "/error_description",
    "/error_message",
    "/message",
    "/description",
    "/detail",
    "/title",
    "/error",
];

/// The first text found at the pointers, on one line and at most 200 characters.
pub(super) fn text_at(json: &Value, pointers: &[&str]) -> String {
    let Some(text) = pointers.iter().find_map(|p| json.pointer(p).and_then(Value::as_str)) else {
        return String::new();
    };
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > 200 { format!("{}…", line.chars().take(200).collect::<String>()) } else { line }
}

pub(super) fn int(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The first id found at the pointers (a network's [`super::plain::Plain::account_at`]).
pub(super) fn id_at(json: &Value, pointers: &[&str]) -> Option<String> {
    pointers.iter().find_map(|pointer| id_of(json.pointer(pointer)))
}

/// An id the network gives as a string or a number.
pub(super) fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An epoch second, as a number or a string; 0 means "never" (Facebook Page tokens).
/// No further ahead than [`crate::time::MAX_TOKEN_LIFETIME`]; past the representable range is
/// "as late as believable" rather than no expiry at all.
pub(super) fn epoch(cx: &Context, value: Option<&Value>) -> Option<DateTime<Utc>> {
    let seconds = int(value).filter(|s| *s > 0)?;
    let at = DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
    Some(crate::time::network_instant(cx.now, at))
}

/// Scopes given as "a b", "a,b" or ["a","b"].
pub(super) fn scopes_of(value: Option<&Value>) -> Option<Scopes> {
    match value? {
        Value::String(s) => Scopes::parse(s).ok(),
        Value::Array(items) => {
            Scopes::parse(&items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")).ok()
        }
        _ => None,
    }
}

/// What the answer-rule tables share (here and in each network's file): the situations a row is
/// read in, what it expects, and the check that runs rows.
#[cfg(test)]
pub(super) mod testing {
    use std::time::Duration;

    use chrono::{DateTime, Utc};
    pub use reqwest::header::HeaderMap;

    pub use super::{Context, Family, answer};
    pub use crate::domain::Reason;
    pub use crate::provider::{Answer, Verdict};

    pub fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().to_utc()
    }

    /// The situations a row is read in.
    #[derive(Debug, Clone, Copy)]
    pub enum Cx {
        /// Not expired, published yesterday, no refresh token.
        Live,
        /// The stored expiry has passed.
        Expired,
        /// Not expired, but no publishing for 40 days (Pinterest's period is 30).
        Idle,
        /// Live, with a refresh token.
        Refreshable,
        /// Live, with a refresh token the network said lives 200 more days.
        RefreshLives,
        /// Live, with a refresh token the network said ended yesterday.
        RefreshEnded,
    }

    pub fn context(kind: Cx) -> Context {
        let live = Context {
            now: now(),
            expires_at: Some(now() + chrono::Duration::days(10)),
            last_activity_at: Some(now() - chrono::Duration::days(1)),
            inactivity: Some(Duration::from_secs(30 * 86_400)),
            refreshable: false,
            refresh_expires_at: None,
        };
        match kind {
            Cx::Live => live,
            Cx::Expired => Context { expires_at: Some(now() - chrono::Duration::hours(1)), ..live },
            Cx::Idle => Context { last_activity_at: Some(now() - chrono::Duration::days(40)), ..live },
            Cx::Refreshable => Context { refreshable: true, ..live },
            Cx::RefreshLives => {
                Context { refreshable: true, refresh_expires_at: Some(now() + chrono::Duration::days(200)), ..live }
            }
            Cx::RefreshEnded => {
                Context { refreshable: true, refresh_expires_at: Some(now() - chrono::Duration::days(1)), ..live }
            }
        }
    }

    /// What a row expects.
    #[derive(Debug, Clone)]
    pub enum Want {
        Valid,
        RenewNow,
        Dead(Reason),
        Permission,
        Account(Reason),
        Operator,
        /// Transient, with the wait in seconds the answer asked for.
        Transient(Option<u64>),
        Unknown,
    }

    pub fn matches(want: &Want, verdict: &Verdict) -> bool {
        match (want, verdict) {
            (Want::RenewNow, v) => v.wants_renewal(now()),
            (Want::Valid, v @ Verdict::Valid(_)) => !v.wants_renewal(now()),
            (Want::Dead(r), Verdict::Dead(got)) | (Want::Account(r), Verdict::Account(got)) => r == got,
            (Want::Permission, Verdict::Permission(_)) | (Want::Operator, Verdict::Operator(_)) => true,
            (Want::Transient(secs), Verdict::Transient { retry_after, .. }) => {
                *retry_after == secs.map(Duration::from_secs)
            }
            (Want::Unknown, Verdict::Unknown(_)) => true,
            _ => false,
        }
    }

    pub use super::Family as F;
    pub use crate::domain::Provider as P;

    pub fn other(text: &str) -> Reason {
        Reason::Other(text.into())
    }

    pub fn graph_err(code: i64, sub: Option<i64>) -> String {
        let sub = sub.map(|s| format!(r#","error_subcode":{s}"#)).unwrap_or_default();
        format!(
            r#"{{"error":{{"message":"(#{code}) msg","type":"OAuthException","code":{code}{sub},"fbtrace_id":"A1"}}}}"#
        )
    }

    pub fn debug_err(code: i64, sub: i64) -> String {
        format!(
            r#"{{"data":{{"app_id":"1","type":"PAGE","is_valid":false,"error":{{"code":{code},"subcode":{sub},"message":"m"}},"scopes":[]}}}}"#
        )
    }

    pub const HTML: &str = "<html><body>Bad Gateway</body></html>";

    pub type Row = (Family, Cx, u16, &'static [(&'static str, &'static str)], String, Want);

    /// A row's body, owned.
    pub fn s(text: &str) -> String {
        text.to_owned()
    }

    /// A token refused before its stored expiry, without a cause.
    pub fn invalidated() -> Want {
        Want::Dead(other("token invalidated"))
    }

    /// Reads every row with [`answer`] and fails with every row that got the wrong class.
    pub fn check(rows: &[Row]) {
        let mut failures = Vec::new();
        for (family, kind, status, headers, body, want) in rows {
            let mut map = HeaderMap::new();
            for (name, value) in *headers {
                map.insert(*name, value.parse().unwrap());
            }
            let verdict = answer(*family, &context(*kind), &Answer::new(*status, map, body.clone()));
            if !matches(want, &verdict) {
                failures.push(format!("{family:?} {kind:?} {status} {body}\n    want {want:?}\n    got  {verdict:?}"));
            }
        }
        assert!(failures.is_empty(), "{} of {} rows wrong:\n{}", failures.len(), rows.len(), failures.join("\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    /// Every cell of PROVIDERS.md "What an answer means", plus the rules under it. One row per
    /// line, as a table reads.
    #[rustfmt::skip]
    fn table() -> Vec<Row> {
        let mut rows: Vec<Row> = vec![
            // ---- Graph: dead
            (F::Graph, Cx::Live, 400, &[], graph_err(190, None), invalidated()),
            (F::Graph, Cx::Expired, 400, &[], graph_err(190, None), Want::Dead(Reason::Expired)),
            (F::Graph, Cx::Live, 400, &[], graph_err(190, Some(458)), Want::Dead(Reason::AppRevoked)),
            (F::Graph, Cx::Live, 400, &[], graph_err(190, Some(460)), Want::Dead(Reason::PasswordChanged)),
            (F::Graph, Cx::Live, 400, &[], graph_err(190, Some(463)), Want::Dead(Reason::Expired)),
            (F::Graph, Cx::Live, 400, &[], graph_err(190, Some(467)), invalidated()),
            (F::Graph, Cx::Expired, 400, &[], graph_err(190, Some(467)), Want::Dead(Reason::Expired)),
            (F::Graph, Cx::Live, 400, &[], graph_err(102, None), invalidated()),
            // ---- Graph: permission
            (F::Graph, Cx::Live, 403, &[], graph_err(10, None), Want::Permission),
            (F::Graph, Cx::Live, 403, &[], graph_err(200, None), Want::Permission),
            (F::Graph, Cx::Live, 400, &[], graph_err(299, None), Want::Permission),
            (F::Graph, Cx::Live, 400, &[], graph_err(190, Some(492)), Want::Permission),
            (F::Graph, Cx::Live, 400, &[], graph_err(100, Some(33)), Want::Permission),
            // ---- Graph: account
            (F::Graph, Cx::Live, 400, &[], graph_err(190, Some(459)), Want::Account(Reason::SecurityCheckpoint)),
            (F::Graph, Cx::Live, 400, &[], graph_err(190, Some(464)), Want::Account(other("unconfirmed user"))),
            (F::Graph, Cx::Live, 400, &[], graph_err(368, None), Want::Account(other("temporarily blocked"))),
            // ---- Graph: operator
            (F::Graph, Cx::Live, 400, &[], graph_err(3, None), Want::Operator),
            // ---- Graph: transient (throttling arrives as HTTP 400)
            (F::Graph, Cx::Live, 400, &[], graph_err(1, None), Want::Transient(None)),
            (F::Graph, Cx::Live, 400, &[], graph_err(2, None), Want::Transient(None)),
            (F::Graph, Cx::Live, 400, &[("retry-after", "60")], graph_err(4, None), Want::Transient(Some(60))),
            (F::Graph, Cx::Live, 400, &[("x-business-use-case-usage", r#"{"123":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":20,"estimated_time_to_regain_access":5}]}"#)], graph_err(17, None), Want::Transient(Some(300))),
            (F::Graph, Cx::Live, 400, &[], graph_err(32, None), Want::Transient(None)),
            (F::Graph, Cx::Live, 400, &[], graph_err(341, None), Want::Transient(None)),
            (F::Graph, Cx::Live, 400, &[], graph_err(613, None), Want::Transient(None)),
            (F::Graph, Cx::Live, 400, &[], graph_err(80001, None), Want::Transient(None)),
            (F::Graph, Cx::Live, 400, &[], graph_err(80014, None), Want::Transient(None)),
            (F::Graph, Cx::Live, 400, &[], s(r#"{"error":{"message":"try again","code":9999,"is_transient":true}}"#), Want::Transient(None)),
            (F::Graph, Cx::Live, 500, &[], graph_err(190, None), Want::Transient(None)),
            (F::Graph, Cx::Live, 503, &[], s(HTML), Want::Transient(None)),
            (F::Graph, Cx::Live, 200, &[], s(HTML), Want::Transient(None)),
            (F::Graph, Cx::Live, 400, &[], graph_err(9999, None), Want::Unknown),
            // ---- Graph: healthy probes
            (F::Graph, Cx::Live, 200, &[], s(r#"{"id":"17841","username":"acme"}"#), Want::Valid),
            (F::Graph, Cx::Live, 200, &[], s(r#"{"user_id":17841,"username":"acme"}"#), Want::Valid),
        ];
        // ---- Each network's own rows, beside its rules.
        rows.extend(super::super::facebook::tests::rows());
        rows.extend(super::super::linkedin::tests::rows());
        rows.extend(super::super::x::tests::rows());
        rows.extend(super::super::pinterest::tests::rows());
        rows.extend(super::super::google::tests::rows());
        rows.extend(super::super::telegram::tests::rows());
        // ---- OAuth token endpoints (RFC 6749 §5.2), the same for every network that speaks it.
        for provider in [P::Linkedin, P::X, P::Pinterest, P::Youtube, P::GoogleBusiness] {
            let token: &[(&str, u16, &str, Want)] = &[
                ("invalid_grant", 400, r#"{"error":"invalid_grant"}"#, Want::Dead(other("grant refused (invalid_grant)"))),
                (
                    "invalid_grant, revoked",
                    400,
                    r#"{"error":"invalid_grant","error_description":"Token revoked"}"#,
                    Want::Dead(Reason::AppRevoked),
                ),
                ("invalid_scope", 400, r#"{"error":"invalid_scope"}"#, Want::Permission),
                ("invalid_client", 401, r#"{"error":"invalid_client"}"#, Want::Operator),
                ("unauthorized_client", 400, r#"{"error":"unauthorized_client"}"#, Want::Operator),
                ("unsupported_grant_type", 400, r#"{"error":"unsupported_grant_type"}"#, Want::Operator),
                ("invalid_request", 400, r#"{"error":"invalid_request"}"#, Want::Operator),
                ("temporarily_unavailable", 503, r#"{"error":"temporarily_unavailable"}"#, Want::Transient(None)),
                ("5xx", 500, r#"{"error":"server_error"}"#, Want::Transient(None)),
                ("5xx with invalid_grant", 502, r#"{"error":"invalid_grant"}"#, Want::Transient(None)),
                ("HTML", 502, HTML, Want::Transient(None)),
                ("unknown code", 400, r#"{"error":"weird"}"#, Want::Unknown),
            ];
            for (_, status, body, want) in token {
                rows.push((F::Token(provider), Cx::Live, *status, &[], (*body).to_owned(), want.clone()));
            }
        }
        // Graph token endpoints answer in Graph's shape (Instagram, Threads extensions).
        for provider in [P::InstagramLogin, P::Threads, P::Facebook] {
            rows.push((F::Token(provider), Cx::Live, 400, &[], graph_err(190, Some(460)), Want::Dead(Reason::PasswordChanged)));
            rows.push((F::Token(provider), Cx::Live, 400, &[], graph_err(4, None), Want::Transient(None)));
        }
        // ---- Rules: 5xx, 429 and non-JSON bodies are transient everywhere; an unknown 4xx is
        // unknown; nothing of that is ever dead.
        for family in [F::Graph, F::DebugToken, F::Linkedin, F::X, F::Pinterest, F::Google, F::Telegram] {
            for status in [500, 502, 503, 504] {
                rows.push((family, Cx::Live, status, &[], s(HTML), Want::Transient(None)));
                rows.push((family, Cx::Live, status, &[], s(""), Want::Transient(None)));
            }
            rows.push((family, Cx::Live, 429, &[("retry-after", "9")], s(""), Want::Transient(Some(9))));
            rows.push((family, Cx::Live, 401, &[], s(HTML), Want::Transient(None)));
            rows.push((family, Cx::Live, 403, &[], s("Forbidden"), Want::Transient(None)));
            rows.push((family, Cx::Live, 418, &[], s(r#"{"something":"else"}"#), Want::Unknown));
            rows.push((family, Cx::Live, 400, &[], s(""), Want::Unknown));
        }
        rows
    }

    #[test]
    fn every_answer_in_the_provider_table_gets_its_class() {
        let rows = table();
        assert!(rows.len() > 260, "the table lost rows: {}", rows.len());
        check(&rows);
    }

    #[test]
    fn no_answer_at_all_is_transient_never_dead() {
        for failure in [Failure::Timeout("t".into()), Failure::Connect("c".into()), Failure::Other("o".into())] {
            assert!(matches!(super::failure(&failure), Verdict::Transient { .. }), "{failure}");
        }
    }

    #[test]
    fn an_x_suspension_and_a_google_account_without_youtube_are_the_accounts_problem_not_other() {
        let read = |family, status, body: &str| {
            answer(family, &context(Cx::Refreshable), &Answer::new(status, HeaderMap::new(), body.to_owned()))
        };
        let suspended =
            r#"{"title":"Forbidden","type":"https://api.twitter.com/2/problems/user-suspended","status":403}"#;
        assert_eq!(read(F::X, 403, suspended), Verdict::Account(Reason::SecurityCheckpoint));
        let no_channel =
            r#"{"error":{"code":401,"message":"Unauthorized","errors":[{"reason":"youtubeSignupRequired"}]}}"#;
        assert_eq!(read(F::Google, 401, no_channel), Verdict::Account(Reason::SecurityCheckpoint));
    }

    #[test]
    fn a_token_endpoint_death_is_final_even_with_a_refresh_token() {
        let body = r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#;
        let verdict =
            answer(F::Token(P::Youtube), &context(Cx::Refreshable), &Answer::new(400, HeaderMap::new(), body));
        assert_eq!(verdict, Verdict::Dead(Reason::AppRevoked));
    }

    #[test]
    fn healthy_probes_tell_the_account_expiry_scopes_and_usage() {
        let mut headers = HeaderMap::new();
        headers.insert("x-app-usage", r#"{"call_count":12,"total_time":40,"total_cputime":7}"#.parse().unwrap());
        let body = r#"{"data":{"app_id":"1","type":"PAGE","is_valid":true,"expires_at":0,"data_access_expires_at":1900000000,"scopes":["pages_show_list","pages_manage_posts"],"profile_id":"99","user_id":"7"}}"#;
        let Verdict::Valid(v) = answer(F::DebugToken, &context(Cx::Live), &Answer::new(200, headers, body)) else {
            panic!("valid expected")
        };
        assert_eq!(v.account_id.as_deref(), Some("99"));
        assert_eq!(v.expires_at, None, "expires_at 0 means no time expiry");
        assert_eq!(v.usage, Some(0.4));
        assert_eq!(v.scopes.unwrap().to_string(), "pages_manage_posts pages_show_list");

        let body = r#"{"azp":"c","sub":"1077","scope":"a b","exp":"1900000000","expires_in":"3599"}"#;
        let Verdict::Valid(v) = answer(F::Google, &context(Cx::Live), &Answer::new(200, HeaderMap::new(), body)) else {
            panic!("valid expected")
        };
        assert_eq!(v.account_id.as_deref(), Some("1077"));
        assert_eq!(v.expires_at, DateTime::from_timestamp(1_900_000_000, 0));

        let body = r#"{"active":true,"status":"active","expires_at":1900000000,"scope":"w_member_social,openid","member_id":"m1"}"#;
        let Verdict::Valid(v) = answer(F::Linkedin, &context(Cx::Live), &Answer::new(200, HeaderMap::new(), body))
        else {
            panic!("valid expected")
        };
        assert_eq!(v.account_id.as_deref(), Some("m1"));
        assert!(v.scopes.unwrap().contains("w_member_social"));
    }

    #[test]
    fn the_business_usage_header_counts_too() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-business-use-case-usage",
            r#"{"1":[{"type":"pages","call_count":3,"total_cputime":91,"total_time":5,"estimated_time_to_regain_access":0}]}"#
                .parse()
                .unwrap(),
        );
        let Verdict::Valid(v) = graph(&context(Cx::Live), &Answer::new(200, headers, r#"{"id":"1"}"#)) else {
            panic!("valid expected")
        };
        assert_eq!(v.usage, Some(0.91));

        let mut headers = HeaderMap::new();
        headers.insert("x-app-usage", r#"{"call_count":"#.parse().unwrap());
        headers
            .insert("x-ad-account-usage", r#"{"acc_id_util_pct":9.5,"reset_time_in_seconds":[1,2]}"#.parse().unwrap());
        let Verdict::Valid(v) = graph(&context(Cx::Live), &Answer::new(200, headers, r#"{"id":"1"}"#)) else {
            panic!("valid expected")
        };
        assert_eq!(v.usage, Some(0.095), "a broken header is skipped, the others still count");
    }

    #[test]
    fn secrets_echoed_by_a_network_are_redacted_from_every_detail() {
        let token = "EAAB-very-secret-token";
        let body = format!(r#"{{"error":{{"message":"Invalid token {token}","code":200}}}}"#);
        let verdict = answer(F::Graph, &context(Cx::Live), &Answer::new(400, HeaderMap::new(), body));
        assert!(format!("{verdict:?}").contains(token), "the test must echo the token");
        let redacted = redact(verdict, &[token]);
        assert!(!format!("{redacted:?}").contains(token), "{redacted:?}");
        let unknown = redact(Verdict::Unknown(format!("x {token} y")), &[token, ""]);
        assert_eq!(unknown, Verdict::Unknown("x [redacted] y".into()));
    }

    #[test]
    fn a_channel_context_reads_activity_expiry_and_refreshability() {
        use crate::domain::{ChannelId, DisplayName, ExternalAccountId, Health, TeamId};
        use secrecy::SecretString;
        let channel = |provider, last_activity_at| Channel {
            id: ChannelId(1),
            team_id: TeamId(1),
            provider,
            external_account_id: ExternalAccountId::parse("1").unwrap(),
            display_name: DisplayName::parse("Acme").unwrap(),
            authorized_by: None,
            token_expires_at: None,
            scopes: Scopes::default(),
            last_activity_at,
            health: Health::Healthy,
            next_check_at: now(),
            last_checked_at: None,
            created_at: now() - chrono::Duration::days(100),
        };
        let tokens = |refresh: Option<&str>| TokenSet {
            access_token: SecretString::from("a"),
            refresh_token: refresh.map(|r| SecretString::from(r.to_owned())),
            expires_at: Some(now() + chrono::Duration::days(1)),
            scopes: Scopes::default(),
            refresh_expires_at: None,
        };
        let idle = Context::for_channel(&channel(P::Pinterest, None), &tokens(Some("r")), now());
        assert!(idle.inactive() && idle.refreshable && !idle.expired());
        let active = Context::for_channel(&channel(P::Pinterest, Some(now())), &tokens(Some("")), now());
        assert!(!active.inactive() && !active.refreshable, "an empty refresh token is none");
        let facebook = Context::for_channel(&channel(P::Facebook, None), &tokens(Some("r")), now());
        assert!(!facebook.refreshable && !facebook.inactive(), "Facebook neither refreshes nor lapses when idle");
    }

    #[test]
    fn a_usage_header_asking_to_wait_for_ever_does_not_panic_the_classifier() {
        let mut headers = HeaderMap::new();
        let usage = r#"{"1":[{"estimated_time_to_regain_access":307445734561825861}]}"#;
        headers.insert("x-business-use-case-usage", usage.parse().unwrap());
        let reply = Answer::new(400, headers, r#"{"error":{"code":4,"message":"too many calls"}}"#);
        let Verdict::Transient { retry_after, .. } = answer(Family::Graph, &context(Cx::Live), &reply) else {
            panic!("throttling is transient");
        };
        assert_eq!(retry_after, Some(crate::time::MAX_NETWORK_WAIT), "clamped to a day");
    }

    #[test]
    fn a_429_is_never_a_disconnect_whatever_its_body_says() {
        let cases = [
            (Family::Graph, r#"{"error":{"code":190,"error_subcode":460,"message":"password changed"}}"#),
            (Family::Graph, r#"{"error":{"code":200,"message":"Permissions error"}}"#),
            (Family::Token(Provider::Pinterest), r#"{"error":"invalid_grant"}"#),
            (Family::Pinterest, r#"{"error":"invalid_grant"}"#),
            (Family::Token(Provider::Linkedin), r#"{"error":"invalid_grant","error_description":"revoked"}"#),
            (Family::Telegram, r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was kicked"}"#),
            (Family::Linkedin, r#"{"message":"x","status":401}"#),
        ];
        for (family, body) in cases {
            let verdict = answer(family, &context(Cx::Live), &Answer::new(429, HeaderMap::new(), body.to_owned()));
            assert!(matches!(verdict, Verdict::Transient { .. }), "{family:?} {body}: {verdict:?}");
        }
    }

    mod properties {
        //! Any answer a network (or a proxy, a CDN, an attacker on the path) can give: any status
        //! from 100 to 599, any headers including `Retry-After` and the usage headers, any body up
        //! to 64 KiB, raw bytes or JSON shaped like each family's. For every family the classifier
        //! answers without panicking, and a 5xx, a 429 or a body that is not JSON is never a
        //! verdict that asks a person to reconnect (dead, permission, account).

        use proptest::prelude::*;
        use reqwest::header::{HeaderName, HeaderValue};
        use serde_json::{Value, json};

        use super::*;

        /// The largest number the properties put in `Retry-After`, the usage headers' waits and
        /// bodies: any. (Facebook's `estimated_time_to_regain_access` in minutes once overflowed
        /// when turned into seconds.)
        const LARGEST: u64 = u64::MAX;

        fn families() -> Vec<Family> {
            let mut all = vec![Family::DebugToken];
            for &provider in Provider::ALL {
                all.push(Family::api(provider));
                all.push(Family::Token(provider));
            }
            all
        }

        fn number() -> impl Strategy<Value = Value> {
            prop_oneof![
                (0..LARGEST).prop_map(Value::from),
                (0..LARGEST).prop_map(|n| Value::from(n.to_string())),
                prop::sample::select(vec![
                    0_i64, 1, 2, 4, 10, 17, 32, 33, 100, 102, 190, 200, 368, 401, 403, 404, 429, 458, 459, 460, 463,
                    464, 467, 492, 613, 80001
                ])
                .prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                Just(Value::from(-1)),
            ]
        }

        fn words() -> impl Strategy<Value = Value> {
            let known = vec![
                "invalid_grant",
                "invalid_token",
                "invalid_request",
                "invalid_client",
                "invalid_scope",
                "server_error",
                "temporarily_unavailable",
                "expired",
                "revoked",
                "Token has been expired or revoked.",
                "Value passed for the token was invalid.",
                "bot was kicked",
                "chat not found",
                "not enough rights",
                "Forbidden: bot is not a member",
                "password changed",
                "unused",
                "authError",
                "quotaExceeded",
                "UNAUTHENTICATED",
                "PERMISSION_DENIED",
                "RESOURCE_EXHAUSTED",
                "accountClosed",
                "youtubeSignupRequired",
                "creator",
                "administrator",
                "left",
                "kicked",
                "member",
                "active",
                "scope tier",
            ];
            prop_oneof![prop::sample::select(known).prop_map(Value::from), ".{0,20}".prop_map(Value::from)]
        }

        /// A JSON value built from the words and numbers the families read, at any place.
        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool), number(), words()];
            let keys = vec![
                "error",
                "code",
                "error_subcode",
                "subcode",
                "message",
                "error_description",
                "is_transient",
                "data",
                "is_valid",
                "expires_at",
                "expires_in",
                "scopes",
                "scope",
                "user_id",
                "id",
                "ok",
                "result",
                "status",
                "can_post_messages",
                "error_code",
                "description",
                "parameters",
                "retry_after",
                "migrate_to_chat_id",
                "active",
                "member_id",
                "sub",
                "errors",
                "reason",
                "title",
                "detail",
                "exp",
                "username",
            ];
            leaf.prop_recursive(4, 48, 6, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::vec((prop::sample::select(keys.clone()), inner), 0..6)
                        .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
                ]
            })
        }

        fn body() -> impl Strategy<Value = Vec<u8>> {
            prop_oneof![
                4 => json_value().prop_map(|v| v.to_string().into_bytes()),
                2 => prop::collection::vec(any::<u8>(), 0..512),
                1 => Just(Vec::new()),
                1 => prop::sample::select(vec!["<html>502 Bad Gateway</html>", "OK", "{", "null", "[]", "\"text\""])
                    .prop_map(|s| s.as_bytes().to_vec()),
                // Up to 64 KiB: a large JSON-looking body with garbage after it, or plain bytes.
                1 => (json_value(), 0..65_536_usize, any::<u8>()).prop_map(|(v, n, byte)| {
                    let mut bytes = v.to_string().into_bytes();
                    bytes.resize(n.max(bytes.len()), byte);
                    bytes.truncate(65_536);
                    bytes
                }),
            ]
        }

        fn header() -> impl Strategy<Value = (&'static str, String)> {
            let names = vec![
                "retry-after",
                "x-app-usage",
                "x-business-use-case-usage",
                "x-ad-account-usage",
                "www-authenticate",
                "x-rate-limit-reset",
                "content-type",
                "x-something",
            ];
            let value = prop_oneof![
                (0..LARGEST).prop_map(|n| n.to_string()),
                json_value().prop_map(|v| v.to_string()),
                (0..LARGEST).prop_map(|n| {
                    json!({"1": [{"call_count": n % 200, "estimated_time_to_regain_access": n}]}).to_string()
                }),
                "[ -~]{0,40}",
            ];
            (prop::sample::select(names), value)
        }

        fn answer_of(status: u16, headers: Vec<(&'static str, String)>, body: Vec<u8>) -> Answer {
            let mut map = HeaderMap::new();
            for (name, value) in headers {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    map.append(HeaderName::from_static(name), value);
                }
            }
            Answer::new(status, map, body)
        }

        fn context() -> impl Strategy<Value = Context> {
            (
                prop::sample::select(vec![
                    Cx::Live,
                    Cx::Expired,
                    Cx::Idle,
                    Cx::Refreshable,
                    Cx::RefreshLives,
                    Cx::RefreshEnded,
                ]),
                any::<bool>(),
            )
                .prop_map(|(kind, no_dates)| {
                    let cx = super::context(kind);
                    if no_dates { Context { expires_at: None, last_activity_at: None, ..cx } } else { cx }
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn no_answer_makes_the_classifier_panic_or_cry_wolf(
                status in prop_oneof![100_u16..600, prop::sample::select(vec![200_u16, 400, 401, 403, 404, 429, 500, 503])],
                headers in prop::collection::vec(header(), 0..4),
                body in body(),
                cx in context(),
            ) {
                let answer = answer_of(status, headers, body);
                let not_json = !answer.body.is_empty() && answer.json().is_none();
                for family in families() {
                    let verdict = super::answer(family, &cx, &answer);
                    if status >= 500 || status == 429 || not_json {
                        prop_assert!(
                            !verdict.is_definitive(),
                            "{family:?} said {verdict:?} for HTTP {status}, body {:?}",
                            String::from_utf8_lossy(&answer.body),
                        );
                    }
                }
            }
        }
    }
}
