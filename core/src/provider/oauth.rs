//! The OAuth 2.0 steps relink takes (RFC 6749, PKCE from RFC 7636), through the `oauth2` crate:
//! the authorization URL, the code exchange and the refresh grant, plus what the adapters do with
//! their results.
//!
//! `oauth2` builds the requests and reads the successful answers. Its errors drop the HTTP status
//! and cannot read Graph's error shape, so the HTTP client handed to it records the raw
//! [`Answer`], and a refused grant is read from that by `classify` like every other answer. Its
//! transport errors are relink's [`Failure`], so a refresh that may have reached the network is
//! `Renewed::Uncertain` (a rotating refresh token may have been consumed) and never a verdict.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    HttpRequest, HttpResponse, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::classify::{self, Context, Family};
use super::http::{self, Answer, Failure};
use super::{Connected, Ctx, Renewed, Verdict, policy};
use crate::domain::{Provider, Scopes};
use crate::token::TokenSet;

/// An access token that ends within this margin is as good as spent: renew instead of probing it.
pub const SPENT_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How relink's app proves itself at a token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClientAuth {
    /// HTTP Basic: X and Pinterest require it of confidential clients.
    Basic,
    /// `client_id` and `client_secret` in the form: LinkedIn, Google, the Graph networks.
    Form,
}

/// The PKCE value to use: only for networks whose policy asks for PKCE, so a network that does not
/// know it never sees a verifier without its challenge.
pub(super) fn pkce(provider: Provider, value: Option<&str>) -> Option<&str> {
    if policy::policy(provider).pkce { value } else { None }
}

/// Whether the access token is spent (or within [`SPENT_MARGIN`] of it).
pub(super) fn spent(tokens: &TokenSet, now: DateTime<Utc>) -> bool {
    let margin = crate::time::delta(SPENT_MARGIN);
    tokens.expires_at.is_some_and(|at| at <= now + margin)
}

/// The URL a person's browser goes to: `response_type=code`, `client_id`, `redirect_uri`,
/// `state`, `scope` as given (each network has its separator), the PKCE S256 challenge when
/// given, and the network's extra parameters. Never the client secret.
pub(super) fn authorize_url(
    ctx: Ctx<'_>,
    redirect_uri: &Url,
    state: &str,
    scope: &str,
    pkce_challenge: Option<&str>,
    extra: &[(&str, &str)],
) -> Url {
    let client = client(ctx, ClientAuth::Form).set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
    let state = state.to_owned();
    let mut request = client.authorize_url(move || CsrfToken::new(state));
    if !scope.is_empty() {
        // One pre-joined value: `oauth2` would join scopes with spaces, and Facebook, Instagram,
        // Threads and Pinterest want commas.
        request = request.add_scope(Scope::new(scope.to_owned()));
    }
    if let Some(challenge) = pkce_challenge {
        // `oauth2` builds a challenge only from a verifier; the caller keeps the verifier.
        request = request
            .add_extra_param("code_challenge", challenge.to_owned())
            .add_extra_param("code_challenge_method", "S256");
    }
    for (name, value) in extra {
        request = request.add_extra_param((*name).to_owned(), (*value).to_owned());
    }
    request.url().0
}

/// Tokens a grant gave and what came with them.
#[derive(Debug)]
pub(super) struct Granted {
    pub tokens: TokenSet,
    /// The access token's lifetime as the network gave it (`expires_in`).
    pub lifetime: Option<Duration>,
    /// The account, when the token answer names it (Instagram and Threads: `user_id`).
    pub user_id: Option<String>,
}

/// The authorization-code grant. The code is single-use: a failure here means the person starts
/// again, so a transport failure is simply transient.
pub(super) async fn exchange_code(
    ctx: Ctx<'_>,
    provider: Provider,
    auth: ClientAuth,
    code: &str,
    redirect_uri: &Url,
    pkce_verifier: Option<&str>,
) -> Result<Granted, Verdict> {
    let client = client(ctx, auth).set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
    let recorder = Recorder::new(ctx.http);
    let mut request = client.exchange_code(AuthorizationCode::new(code.to_owned()));
    if let Some(verifier) = pkce(provider, pkce_verifier) {
        request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
    }
    let result = request.request_async(&recorder).await;
    let secrets = [code, pkce_verifier.unwrap_or_default(), ctx.config.client_secret.expose_secret()];
    let verdict = match settle(result, recorder) {
        Ok(answer) => return Ok(answer.granted(ctx.now, &Scopes::default(), None)),
        Err(Refusal::NoAnswer(failure)) => classify::failure(&failure),
        Err(Refusal::Answer(answer)) if answer.is_success() => {
            Verdict::Unknown(format!("{}: the token endpoint's answer holds no readable token", provider.label()))
        }
        Err(Refusal::Answer(answer)) => classify::answer(Family::Token(provider), &Context::at(ctx.now), &answer),
        Err(Refusal::Unsent) => unsent(provider),
    };
    Err(classify::redact(verdict, &secrets))
}

/// The refresh-token grant. New tokens carry the stored scopes when the answer names none, and
/// the policy's lifetime when it gives no `expires_in`; a missing or empty refresh token in the
/// answer leaves the stored one in place (`Renewed::Tokens` says so).
pub(super) async fn refresh(
    ctx: Ctx<'_>,
    provider: Provider,
    auth: ClientAuth,
    cx: &Context,
    tokens: &TokenSet,
) -> Renewed {
    let label = provider.label();
    let Some(stored) = tokens.refresh_token.as_ref().filter(|t| !t.expose_secret().is_empty()) else {
        // LinkedIn gives refresh tokens to approved partner apps only; X only with offline.access.
        return Renewed::Refused(Verdict::Operator(format!(
            "{label}: no refresh token is stored, so relink cannot renew this channel's token"
        )));
    };
    let client = client(ctx, auth);
    let recorder = Recorder::new(ctx.http);
    let refresh_token = RefreshToken::new(stored.expose_secret().to_owned());
    let result = client.exchange_refresh_token(&refresh_token).request_async(&recorder).await;
    let secrets =
        [stored.expose_secret(), tokens.access_token.expose_secret(), ctx.config.client_secret.expose_secret()];
    let lifetime = policy::policy(provider).access_lifetime;
    match settle(result, recorder) {
        Ok(answer) => Renewed::Tokens(answer.granted(ctx.now, &tokens.scopes, lifetime).tokens),
        Err(Refusal::NoAnswer(failure)) if failure.may_have_reached_server() => {
            Renewed::Uncertain(classify::redact_text(
                format!("{label}: the refresh got no answer ({failure}); it may have been used"),
                &secrets,
            ))
        }
        Err(Refusal::NoAnswer(failure)) => Renewed::Refused(classify::redact(classify::failure(&failure), &secrets)),
        Err(Refusal::Answer(answer)) if answer.is_success() => Renewed::Uncertain(format!(
            "{label}: the token endpoint answered {} without readable tokens; the refresh token may have been used",
            answer.status
        )),
        Err(Refusal::Answer(answer)) => {
            Renewed::Refused(classify::redact(classify::answer(Family::Token(provider), cx, &answer), &secrets))
        }
        Err(Refusal::Unsent) => Renewed::Refused(unsent(provider)),
    }
}

/// Reads tokens from an answer that is not a standard grant's (Graph's `refresh_access_token`
/// and long-lived exchanges), with the same leniency.
pub(super) fn read_tokens(
    answer: &Answer,
    now: DateTime<Utc>,
    scopes: &Scopes,
    default_lifetime: Option<Duration>,
) -> Option<Granted> {
    let json = answer.json()?;
    TokenAnswer::try_from(json).ok().map(|t| t.granted(now, scopes, default_lifetime))
}

/// A completed authorization: the tokens, and the account the probe says they belong to. The
/// probe's view of expiry and scopes wins over the token answer's: it is the network speaking
/// about this very token (Facebook Page tokens: `expires_at: 0`, no expiry at all).
pub(super) fn connected(
    provider: Provider,
    granted: Granted,
    probe: Verdict,
    display_name: Option<String>,
) -> Result<Connected, Verdict> {
    let Verdict::Valid(validity) = probe else { return Err(probe) };
    let account_id = validity.account_id.or(granted.user_id).ok_or_else(|| {
        Verdict::Unknown(format!("{}: the network did not say whose token this is", provider.label()))
    })?;
    let mut tokens = granted.tokens;
    if provider == Provider::Facebook || validity.expires_at.is_some() {
        tokens.expires_at = validity.expires_at;
    }
    if let Some(scopes) = validity.scopes.filter(|s| !s.is_empty()) {
        tokens.scopes = scopes;
    }
    Ok(Connected { tokens, account_id, display_name })
}

fn unsent(provider: Provider) -> Verdict {
    Verdict::Operator(format!("{}: relink could not build the token request (check the token URL)", provider.label()))
}

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn client(ctx: Ctx<'_>, auth: ClientAuth) -> OAuthClient {
    let config = ctx.config;
    let client = oauth2::Client::new(ClientId::new(config.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(config.authorize_url.clone()))
        .set_token_uri(TokenUrl::from_url(config.token_url.clone()))
        .set_auth_type(match auth {
            ClientAuth::Basic => AuthType::BasicAuth,
            ClientAuth::Form => AuthType::RequestBody,
        });
    // A public client (no secret) sends its id in the form and no Basic header.
    let secret = config.client_secret.expose_secret();
    if secret.is_empty() { client } else { client.set_client_secret(ClientSecret::new(secret.to_owned())) }
}

/// Why a grant gave no tokens.
enum Refusal {
    /// The request got no answer.
    NoAnswer(Failure),
    /// The network answered, and not with readable tokens.
    Answer(Box<Answer>),
    /// The request was never sent (a malformed URL).
    Unsent,
}

fn settle(
    result: Result<TokenAnswer, RequestTokenError<Failure, BasicErrorResponse>>,
    recorder: Recorder<'_>,
) -> Result<TokenAnswer, Refusal> {
    match result {
        Ok(answer) => Ok(answer),
        Err(RequestTokenError::Request(failure)) => Err(Refusal::NoAnswer(failure)),
        Err(_) => match recorder.last.into_inner().unwrap_or_else(PoisonError::into_inner) {
            Some(answer) => Err(Refusal::Answer(Box::new(answer))),
            None => Err(Refusal::Unsent),
        },
    }
}

/// The HTTP client handed to `oauth2`: relink's own [`http::send`], keeping the last raw answer.
struct Recorder<'a> {
    http: &'a reqwest::Client,
    last: Mutex<Option<Answer>>,
}

impl<'a> Recorder<'a> {
    fn new(http: &'a reqwest::Client) -> Self {
        Self { http, last: Mutex::new(None) }
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Failure> {
        let request = reqwest::Request::try_from(request).map_err(Failure::from_reqwest)?;
        let answer = http::send(reqwest::RequestBuilder::from_parts(self.http.clone(), request)).await?;
        let mut response = HttpResponse::new(answer.body.to_vec());
        *response.status_mut() = oauth2::http::StatusCode::from_u16(answer.status)
            .map_err(|_| Failure::Other(format!("invalid HTTP status {}", answer.status)))?;
        *response.headers_mut() = answer.headers.clone();
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(answer);
        Ok(response)
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for Recorder<'_> {
    type Error = Failure;
    // Boxed and `Send`: the adapters' futures must be `Send`, and a closure here would tie the
    // future to one borrow lifetime the async trait cannot name.
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Failure>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// A token endpoint's answer, read leniently: `token_type` may be missing (Instagram, Threads,
/// LinkedIn), `expires_in` may be a string, `scope` may use commas or be a list, and Instagram's
/// code exchange wraps everything in `data: [..]`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(try_from = "Value")]
struct TokenAnswer {
    access_token: AccessToken,
    token_type: BasicTokenType,
    expires_in: Option<u64>,
    refresh_token: Option<RefreshToken>,
    /// LinkedIn and Pinterest say when the refresh token itself ends.
    refresh_token_expires_in: Option<u64>,
    scope: Option<String>,
    user_id: Option<String>,
}

impl TryFrom<Value> for TokenAnswer {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        let object =
            if value.get("access_token").is_some() { &value } else { value.pointer("/data/0").unwrap_or(&value) };
        let text = |key: &str| object.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let access = text("access_token").ok_or("the answer holds no access_token")?;
        let token_type = match text("token_type") {
            None => BasicTokenType::Bearer,
            Some(kind) if kind.eq_ignore_ascii_case("bearer") => BasicTokenType::Bearer,
            Some(kind) if kind.eq_ignore_ascii_case("mac") => BasicTokenType::Mac,
            Some(kind) => BasicTokenType::Extension(kind),
        };
        let seconds = |key: &str| match object.get(key) {
            Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let expires_in = seconds("expires_in");
        let scope = match object.get("scope").or_else(|| object.get("permissions")) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Array(items)) => Some(items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")),
            _ => None,
        };
        let user_id = match object.get("user_id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        Ok(Self {
            access_token: AccessToken::new(access),
            token_type,
            expires_in: expires_in.filter(|s| *s > 0),
            refresh_token: text("refresh_token").map(RefreshToken::new),
            refresh_token_expires_in: seconds("refresh_token_expires_in").filter(|s| *s > 0),
            scope,
            user_id,
        })
    }
}

impl TokenResponse for TokenAnswer {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }

    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(crate::time::token_lifetime)
    }

    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// Read as [`Scopes`] in [`TokenAnswer::granted`] instead: networks separate them with commas
    /// as often as with spaces.
    fn scopes(&self) -> Option<&Vec<Scope>> {
        None
    }
}

impl TokenAnswer {
    /// The tokens as relink stores them. `stored_scopes` stand when the answer names none, and
    /// `default_lifetime` when it gives no `expires_in`.
    fn granted(self, now: DateTime<Utc>, stored_scopes: &Scopes, default_lifetime: Option<Duration>) -> Granted {
        let lifetime = self.expires_in.map(crate::time::token_lifetime);
        let expires_at = lifetime.or(default_lifetime).map(|d| crate::time::after(now, d));
        let scopes = self.scope.as_deref().and_then(|s| Scopes::parse(s).ok()).filter(|s| !s.is_empty());
        let refresh_expires_at = self
            .refresh_token_expires_in
            .filter(|_| self.refresh_token.is_some())
            .map(|secs| crate::time::after(now, crate::time::token_lifetime(secs)));
        Granted {
            tokens: TokenSet {
                refresh_expires_at,
                access_token: SecretString::from(self.access_token.into_secret()),
                refresh_token: self.refresh_token.map(|t| SecretString::from(t.into_secret())),
                expires_at,
                scopes: scopes.unwrap_or_else(|| stored_scopes.clone()),
            },
            lifetime,
            user_id: self.user_id,
        }
    }
}
