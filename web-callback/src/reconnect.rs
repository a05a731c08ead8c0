//! The reconnect flow in the browser.
//!
//! 1. `GET /r/{token}` shows the link's page: channel, network, who authorised it, what will
//!    happen, a button. Showing never consumes the link (chat apps fetch links for previews).
//! 2. `POST /r/{token}` (the button) refuses a post from another site (`guard`: `Sec-Fetch-Site`,
//!    `Origin`, or the page's form token when a browser sends neither) and a link whose member
//!    was removed or may no longer reconnect, leaving the link as it was; otherwise it consumes
//!    the link, records an authorization request (`state`, PKCE S256 verifier where the network
//!    takes PKCE, the hash of a browser-binding cookie; ten minutes to live) and redirects to the
//!    network.
//! 3. `GET /oauth/callback/{provider}` compares the cookie with the browser that started the
//!    request named by `state` *before* consuming it (a leaked `state` in another browser leaves
//!    the request to its own), consumes it, checks the path's network against the request's
//!    (mix-up defence), exchanges the code through the network's adapter, and checks that the
//!    account that came back is the channel's. Then it records the outcome and redirects to
//! 4. `GET /oauth/result/{result}`: the outcome page, at a URL without `code` or `state`.
//!
//! Every refusal leaves the channel as it was. A different account writes an `account_mismatch`
//! event for the alerts; success stores the tokens and marks the channel healthy in one
//! transaction (`Store::complete_reconnect`), whose outbox event the alerts turn into "reconnected".

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use relink_core::alerts::messages::catalog;
use relink_core::domain::AccountMismatch;
use relink_core::opaque::OpaqueToken;
use relink_core::provider::Verdict;
use relink_core::store::{ChannelContext, LinkContext, NewOAuthState, OAuthState};
use relink_core::{Channel, Health, LinkStatus, Provider, ReconnectLink, Team};
use serde_json::json;
use subtle::ConstantTimeEq as _;

use crate::guard::{self, Source};
use crate::page::{Page, Tone, escape, fill};
use crate::text::{Text, negotiate, text};
use crate::{AppState, STATE_TTL};

/// The cookie that binds an authorization request to the browser that started it. Browsers take
/// the `__Host-` prefix only with `Secure`, which they accept from https and loopback origins;
/// elsewhere (plain http on a LAN) the same cookie goes without the prefix and `Secure`.
fn cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-relink_flow" } else { "relink_flow" }
}

fn set_cookie(secure: bool, value: &str, max_age: u64) -> HeaderValue {
    let secure_attr = if secure { "; Secure" } else { "" };
    let text =
        format!("{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure_attr}", cookie_name(secure));
    HeaderValue::from_str(&text).expect("a cookie of base64url text is a valid header")
}

/// The cookie the button's form token is bound to: one per browser, kept while links live,
/// `SameSite=Strict` so no other site's post ever carries it.
fn form_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-relink_form" } else { "relink_form" }
}

fn set_form_cookie(secure: bool, value: &str, max_age: u64) -> HeaderValue {
    let secure_attr = if secure { "; Secure" } else { "" };
    let name = form_cookie_name(secure);
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure_attr}");
    HeaderValue::from_str(&text).expect("a cookie of base64url text is a valid header")
}

/// The browser's form cookie, if it sent a well-formed one.
fn form_cookie(app: &AppState, headers: &HeaderMap) -> Option<OpaqueToken> {
    cookie_value(headers, form_cookie_name(app.settings().secure_cookies()))
        .and_then(|value| OpaqueToken::parse("form cookie", value).ok())
}

pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// What a page about one channel needs.
struct Subject {
    team: Team,
    channel: Channel,
    authorised_by: Option<String>,
}

impl From<ChannelContext> for Subject {
    fn from(context: ChannelContext) -> Self {
        let ChannelContext { channel, team, authorised_by } = context;
        Self { team, channel, authorised_by: authorised_by.map(|name| name.to_string()) }
    }
}

impl Subject {
    /// The channel, its team and its authoriser, in one query.
    async fn load(app: &AppState, channel: relink_core::ChannelId) -> relink_core::store::Result<Self> {
        Ok(app.store().channel_context(channel).await?.into())
    }

    fn text(&self) -> &'static Text {
        text(self.team.language)
    }

    fn values(&self) -> [(&'static str, &str); 2] {
        [
            ("channel", self.channel.display_name.as_str()),
            ("network", catalog(self.team.language).network(self.channel.provider)),
        ]
    }

    fn language(&self) -> relink_core::Language {
        self.team.language
    }
}

/// A channel's state in words on its link page; a channel that needs reconnecting says why, in
/// its network's words (never the stored `needs_reauth (reason)`).
fn status(text: &Text, language: relink_core::Language, channel: &Channel) -> String {
    let [healthy, expiring, needs_reauth, degraded, unknown] = text.states;
    match &channel.health {
        Health::Healthy => healthy.to_owned(),
        Health::Expiring => expiring.to_owned(),
        Health::NeedsReauth(reason) => {
            needs_reauth.replace("{reason}", catalog(language).reason_on(channel.provider, reason).explanation)
        }
        Health::Degraded => degraded.to_owned(),
        Health::Unknown => unknown.to_owned(),
    }
}

/// The outcomes a page can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageOutcome {
    Connected,
    AccountMismatch,
    Cancelled,
    ProviderError,
    LinkExpired,
    LinkUsed,
    LinkUnknown,
    FlowUnknown,
    OtherBrowser,
    WrongNetwork,
    NotConfigured,
    NotFound,
    Unavailable,
    CrossSite,
    MemberCannotReconnect,
}

impl PageOutcome {
    fn as_str(self) -> &'static str {
        match self {
            PageOutcome::Connected => "connected",
            PageOutcome::AccountMismatch => "account_mismatch",
            PageOutcome::Cancelled => "cancelled",
            PageOutcome::ProviderError => "provider_error",
            PageOutcome::LinkExpired => "link_expired",
            PageOutcome::LinkUsed => "link_used",
            PageOutcome::LinkUnknown => "link_unknown",
            PageOutcome::FlowUnknown => "flow_unknown",
            PageOutcome::OtherBrowser => "other_browser",
            PageOutcome::WrongNetwork => "wrong_network",
            PageOutcome::NotConfigured => "not_configured",
            PageOutcome::NotFound => "not_found",
            PageOutcome::Unavailable => "unavailable",
            PageOutcome::CrossSite => "cross_site",
            PageOutcome::MemberCannotReconnect => "member_cannot_reconnect",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        [
            PageOutcome::Connected,
            PageOutcome::AccountMismatch,
            PageOutcome::Cancelled,
            PageOutcome::ProviderError,
            PageOutcome::OtherBrowser,
            PageOutcome::WrongNetwork,
        ]
        .into_iter()
        .find(|o| o.as_str() == raw)
    }

    fn status(self) -> StatusCode {
        match self {
            PageOutcome::Connected => StatusCode::OK,
            PageOutcome::LinkExpired | PageOutcome::LinkUsed => StatusCode::GONE,
            PageOutcome::LinkUnknown | PageOutcome::NotFound => StatusCode::NOT_FOUND,
            PageOutcome::FlowUnknown | PageOutcome::WrongNetwork => StatusCode::BAD_REQUEST,
            PageOutcome::OtherBrowser | PageOutcome::CrossSite | PageOutcome::MemberCannotReconnect => {
                StatusCode::FORBIDDEN
            }
            PageOutcome::AccountMismatch => StatusCode::CONFLICT,
            PageOutcome::Cancelled => StatusCode::OK,
            PageOutcome::ProviderError => StatusCode::BAD_GATEWAY,
            PageOutcome::NotConfigured | PageOutcome::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn lines(self, text: &Text) -> [&'static str; 3] {
        let o = &text.outcomes;
        match self {
            PageOutcome::Connected => o.connected,
            PageOutcome::AccountMismatch => o.account_mismatch,
            PageOutcome::Cancelled => o.cancelled,
            PageOutcome::ProviderError => o.provider_error,
            PageOutcome::LinkExpired => o.link_expired,
            PageOutcome::LinkUsed => o.link_used,
            PageOutcome::LinkUnknown => o.link_unknown,
            PageOutcome::FlowUnknown => o.flow_unknown,
            PageOutcome::OtherBrowser => o.other_browser,
            PageOutcome::WrongNetwork => o.wrong_network,
            PageOutcome::NotConfigured => o.not_configured,
            PageOutcome::NotFound => o.not_found,
            PageOutcome::Unavailable => o.unavailable,
            PageOutcome::CrossSite => o.cross_site,
            PageOutcome::MemberCannotReconnect => o.member_cannot_reconnect,
        }
    }

    fn page(self, app: &AppState, text: &Text, values: &[(&str, &str)]) -> Page {
        let tone = match self {
            PageOutcome::Connected => Tone::Ok,
            PageOutcome::Cancelled => Tone::Neutral,
            _ => Tone::Bad,
        };
        ::metrics::counter!("relink_reconnect_pages_total", "outcome" => self.as_str()).increment(1);
        Page::outcome(self.status(), text, self.lines(text), values, tone, &stylesheet(app))
    }
}

pub(crate) fn stylesheet(app: &AppState) -> String {
    app.settings().under(&["assets", "relink.css"]).path().to_owned()
}

/// A page for a visitor whose team is not known yet, in the browser's language.
fn anonymous(app: &AppState, headers: &HeaderMap, outcome: PageOutcome) -> Page {
    let language = negotiate(headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    outcome.page(app, text(language), &[])
}

/// Logs a store failure and shows the "trouble on our side" page.
pub(crate) fn unavailable(app: &AppState, headers: &HeaderMap, error: &relink_core::store::StoreError) -> Page {
    tracing::error!(%error, "reconnect flow: store failure");
    anonymous(app, headers, PageOutcome::Unavailable)
}

/// A link that can start a flow now, its token and its channel.
struct Usable {
    token: OpaqueToken,
    link: ReconnectLink,
    subject: Subject,
}

/// Where a usable link stands before anything is consumed: a page to show instead, or the link
/// and its channel. A link is usable while unused, unexpired, and made for a member who is still
/// in the team with a role that may reconnect (a removed member leaves the link without one).
async fn usable_link(app: &AppState, headers: &HeaderMap, raw: &str) -> Result<Usable, Page> {
    let Ok(token) = OpaqueToken::parse("link", raw) else {
        return Err(anonymous(app, headers, PageOutcome::LinkUnknown));
    };
    let LinkContext { link, context, member_role } = match app.store().link_context(&token).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(anonymous(app, headers, PageOutcome::LinkUnknown)),
        Err(error) => return Err(unavailable(app, headers, &error)),
    };
    let subject = Subject::from(context);
    let outcome = match link.status(app.now()) {
        LinkStatus::Usable if member_role.is_some_and(relink_core::Role::may_reconnect) => {
            return Ok(Usable { token, link, subject });
        }
        LinkStatus::Usable => {
            tracing::info!(link = %link.id, "a reconnect link whose member was removed or demoted was refused");
            PageOutcome::MemberCannotReconnect
        }
        LinkStatus::Used => PageOutcome::LinkUsed,
        LinkStatus::Expired => PageOutcome::LinkExpired,
    };
    Err(outcome.page(app, subject.text(), &subject.values()))
}

/// Why a network cannot start an authorization request here: no OAuth flow (Telegram), or no
/// app credentials configured.
fn cannot_authorize(app: &AppState, subject: &Subject) -> Option<Page> {
    let provider = subject.channel.provider;
    let text = subject.text();
    if provider == Provider::Telegram {
        let body = format!("<p>{}</p>", fill(text.telegram_body, &subject.values()));
        return Some(Page {
            status: StatusCode::OK,
            lang: text.lang,
            title: escape(text.telegram_title),
            body,
            tone: Tone::Neutral,
            form_target: None,
            stylesheet: stylesheet(app),
            extra_headers: HeaderMap::new(),
        });
    }
    if app.providers().config(provider).client_id.is_empty() {
        tracing::warn!(%provider, "a reconnect link was opened but providers.{provider}.client_id is not configured");
        return Some(PageOutcome::NotConfigured.page(app, text, &subject.values()));
    }
    None
}

/// `GET /r/{token}`: the link's page. Never consumes the link.
pub(crate) async fn show_link(State(app): State<AppState>, Path(raw): Path<String>, headers: HeaderMap) -> Page {
    let Usable { token, link, subject } = match usable_link(&app, &headers, &raw).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    if let Some(page) = cannot_authorize(&app, &subject) {
        return page;
    }
    let text = subject.text();
    let values = subject.values();
    let channel = &subject.channel;
    let renew = matches!(channel.health, Health::Healthy | Health::Expiring | Health::Unknown);
    let (title, lead) =
        if renew { (text.title_renew, text.lead_renew) } else { (text.title_reconnect, text.lead_reconnect) };
    let row = |label: &str, value: &str| format!("<dt>{}</dt><dd>{}</dd>", escape(label), escape(value));
    // The browser keeps one form cookie; a page opened without it sets a fresh one.
    let mut extra_headers = HeaderMap::new();
    let browser = form_cookie(&app, &headers).unwrap_or_else(|| {
        let fresh = OpaqueToken::generate();
        let secure = app.settings().secure_cookies();
        extra_headers.insert(SET_COOKIE, set_form_cookie(secure, fresh.expose(), app.settings().links.ttl.as_secs()));
        fresh
    });
    let body = [
        format!("<p>{}</p>", fill(lead, &values)),
        "<dl>".to_owned(),
        row(text.label_channel, channel.display_name.as_str()),
        row(text.label_network, catalog(subject.language()).network(channel.provider)),
        row(text.label_account, channel.external_account_id.as_str()),
        row(text.label_authorised, subject.authorised_by.as_deref().unwrap_or(text.nobody_recorded)),
        row(text.label_status, &status(text, subject.language(), channel)),
        row(text.label_valid_until, &link.expires_at.format("%Y-%m-%d %H:%M UTC").to_string()),
        "</dl>".to_owned(),
        format!("<p>{}</p>", fill(text.what_happens, &values)),
        format!(
            "<form method=\"post\"><input type=\"hidden\" name=\"{}\" value=\"{}\">\
             <button type=\"submit\">{}</button></form>",
            guard::FIELD,
            escape(&guard::issue(&app.store().keyring(), &token.hash(), &browser.hash(), app.now())),
            fill(text.button, &values)
        ),
        format!("<p class=\"fine\">{}</p>", escape(text.single_use)),
    ]
    .join("\n");
    Page {
        status: StatusCode::OK,
        lang: text.lang,
        title: fill(title, &values),
        body,
        tone: Tone::Neutral,
        form_target: Some(app.providers().config(channel.provider).authorize_url.origin().ascii_serialization()),
        stylesheet: stylesheet(&app),
        extra_headers,
    }
}

/// The most of a button's form body relink reads: the form holds one token of about 60 bytes.
const FORM_LIMIT: usize = 4 * 1024;

/// Whether a button press comes from relink's own page: the browser's `Sec-Fetch-Site` and
/// `Origin`, or, when neither vouches for it, the page's form token with the form cookie it was
/// made for.
async fn from_own_page(app: &AppState, headers: &HeaderMap, token: &OpaqueToken, body: Body) -> bool {
    match guard::source(headers, &app.settings().links.public_url) {
        Source::SameOrigin => true,
        Source::CrossSite => false,
        Source::Unknown => {
            let Some(browser) = form_cookie(app, headers) else { return false };
            let Ok(body) = axum::body::to_bytes(body, FORM_LIMIT).await else { return false };
            let max_age = relink_core::time::delta(app.settings().links.ttl);
            let (keyring, now) = (app.store().keyring(), app.now());
            guard::token_in(&body)
                .is_some_and(|form| guard::verify(&keyring, &token.hash(), &browser.hash(), &form, now, max_age))
        }
    }
}

/// `POST /r/{token}`: consumes the link and sends the browser to the network.
pub(crate) async fn start(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Usable { token, link, subject } = match usable_link(&app, &headers, &raw).await {
        Ok(found) => found,
        Err(page) => return page.into_response(),
    };
    if let Some(page) = cannot_authorize(&app, &subject) {
        return page.into_response();
    }
    if !from_own_page(&app, &headers, &token, body).await {
        tracing::info!(link = %link.id, "a reconnect button posted from another site was refused; the link is unused");
        return PageOutcome::CrossSite.page(&app, subject.text(), &subject.values()).into_response();
    }
    let now = app.now();
    let provider = subject.channel.provider;
    let state = OpaqueToken::generate_ordered(relink_core::time::to_millis(now));
    let browser = OpaqueToken::generate();
    let verifier = app.providers().policy(provider).pkce.then(OpaqueToken::generate);
    let request = NewOAuthState {
        state: &state,
        provider,
        browser: &browser,
        verifier: verifier.as_ref(),
        expires_at: relink_core::time::after(now, STATE_TTL),
    };
    // One statement: the link is spent exactly when its authorization request is recorded.
    match app.store().begin_flow(&token, &request, now).await {
        Ok(true) => {}
        // Since it was read, another request consumed it, it expired, or its member was removed or
        // demoted: read it again to say which.
        Ok(false) => {
            return match usable_link(&app, &headers, &raw).await {
                Err(page) => page,
                Ok(_) => PageOutcome::LinkUsed.page(&app, subject.text(), &subject.values()),
            }
            .into_response();
        }
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    }
    let redirect_uri = app.settings().redirect_uri(provider);
    let challenge = verifier.as_ref().map(OpaqueToken::pkce_challenge);
    let ctx = app.providers().ctx(provider, now);
    let Some(authorize) =
        app.providers().adapter(provider).authorize_url(ctx, &redirect_uri, state.expose(), challenge.as_deref())
    else {
        return PageOutcome::NotConfigured.page(&app, subject.text(), &subject.values()).into_response();
    };
    tracing::info!(channel = %link.channel_id, link = %link.id, %provider, "reconnect started: browser sent to the network");
    ::metrics::counter!("relink_reconnects_started_total").increment(1);
    let secure = app.settings().secure_cookies();
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(LOCATION, HeaderValue::from_str(authorize.as_str()).expect("a URL is a valid header"));
    headers.insert(SET_COOKIE, set_cookie(secure, browser.expose(), STATE_TTL.as_secs()));
    for (name, value) in crate::page::security_headers() {
        headers.insert(name, value);
    }
    response
}

/// The callback's query parameters (RFC 6749 §4.1.2 and §4.1.2.1).
#[derive(Debug, Default)]
struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

impl CallbackQuery {
    fn parse(raw: Option<&str>) -> Self {
        let mut query = Self::default();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let slot = match key.as_ref() {
                "state" => &mut query.state,
                "code" => &mut query.code,
                "error" => &mut query.error,
                _ => continue,
            };
            // A repeated parameter is a malformed answer: keep none (RFC 6749 §3.1).
            *slot = if slot.is_some() { Some(String::new()) } else { Some(value.into_owned()) };
        }
        query
    }
}

/// `GET /oauth/callback/{provider}`: the network sends the browser back here.
pub(crate) async fn callback(
    State(app): State<AppState>,
    Path(path_provider): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = CallbackQuery::parse(raw.as_deref());
    let Some(state) = query.state.as_deref().and_then(|s| OpaqueToken::parse("state", s).ok()) else {
        tracing::info!(path = %path_provider, "OAuth callback without a valid state refused");
        return anonymous(&app, &headers, PageOutcome::FlowUnknown).into_response();
    };
    let now = app.now();
    // The cookie is compared before the request is consumed: a `state` that leaked to another
    // browser spends nothing, and the person who started the flow can still finish it.
    let browser_hash = match app.store().oauth_state_browser(&state, now).await {
        Ok(Some(hash)) => hash,
        Ok(None) => {
            tracing::info!(path = %path_provider, "OAuth callback with an unknown, used or expired state refused");
            return anonymous(&app, &headers, PageOutcome::FlowUnknown).into_response();
        }
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    };
    if !same_browser(&app, &headers, &browser_hash) {
        tracing::info!(path = %path_provider, "OAuth callback from another browser refused; the request stays usable");
        ::metrics::counter!("relink_reconnects_total", "outcome" => PageOutcome::OtherBrowser.as_str()).increment(1);
        return anonymous(&app, &headers, PageOutcome::OtherBrowser).into_response();
    }
    let request = match app.store().consume_oauth_state(&state, now).await {
        Ok(Some(request)) => request,
        Ok(None) => {
            tracing::info!(path = %path_provider, "OAuth callback with an unknown, used or expired state refused");
            return anonymous(&app, &headers, PageOutcome::FlowUnknown).into_response();
        }
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    };
    let subject = match Subject::load(&app, request.channel_id).await {
        Ok(subject) => subject,
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    };
    let (outcome, details) = conclude(&app, &headers, &path_provider, &query, &request, &subject).await;
    tracing::info!(
        channel = %request.channel_id,
        link = %request.link_id,
        provider = %request.provider,
        outcome = outcome.as_str(),
        "reconnect callback"
    );
    ::metrics::counter!("relink_reconnects_total", "outcome" => outcome.as_str()).increment(1);
    // The outcome is shown at a clean URL: no code or state in the address bar or history.
    let result = OpaqueToken::generate();
    let mut recorded = json!({ "outcome": outcome.as_str() });
    if let Some(got) = details {
        recorded["got"] = json!(got);
    }
    if let Err(error) = app.store().set_oauth_outcome(request.id, &recorded.to_string(), &result).await {
        return unavailable(&app, &headers, &error).into_response();
    }
    let secure = app.settings().secure_cookies();
    let location = app.settings().under(&["oauth", "result", result.expose()]);
    let mut response = StatusCode::SEE_OTHER.into_response();
    let out = response.headers_mut();
    out.insert(LOCATION, HeaderValue::from_str(location.as_str()).expect("a URL is a valid header"));
    out.insert(SET_COOKIE, set_cookie(secure, "", 0));
    for (name, value) in crate::page::security_headers() {
        out.insert(name, value);
    }
    response
}

/// Decides a consumed request's outcome; on success the channel is updated. Returns the outcome
/// and, for a different account, the account that came back.
async fn conclude(
    app: &AppState,
    headers: &HeaderMap,
    path_provider: &str,
    query: &CallbackQuery,
    request: &OAuthState,
    subject: &Subject,
) -> (PageOutcome, Option<String>) {
    // Mix-up defence: the answer must arrive on the path of the network the request went to.
    if path_provider.parse::<Provider>().ok() != Some(request.provider) || path_provider != request.provider.as_str() {
        return (PageOutcome::WrongNetwork, None);
    }
    if !same_browser(app, headers, &request.browser_hash) {
        return (PageOutcome::OtherBrowser, None);
    }
    match (&query.error, &query.code) {
        (Some(error), _) if error == "access_denied" => return (PageOutcome::Cancelled, None),
        (Some(error), _) => {
            // Error codes are RFC 6749 keywords, not secrets; the description is the network's
            // free text and is not logged.
            let error: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
            tracing::warn!(channel = %request.channel_id, %error, "the network refused the authorization");
            return (PageOutcome::ProviderError, None);
        }
        (None, Some(code)) if !code.is_empty() => {}
        (None, _) => return (PageOutcome::ProviderError, None),
    }
    let code = query.code.as_deref().unwrap_or_default();
    let provider = request.provider;
    let now = app.now();
    let ctx = app.providers().ctx(provider, now);
    let redirect_uri = app.settings().redirect_uri(provider);
    let verifier = request.verifier.as_ref().map(OpaqueToken::expose);
    let connected = match app.providers().adapter(provider).exchange_code(ctx, code, &redirect_uri, verifier).await {
        Ok(connected) => connected,
        Err(verdict) => {
            // Verdicts are redacted by the adapters: they never hold the code or a token.
            log_refusal(request, &verdict);
            return (PageOutcome::ProviderError, None);
        }
    };
    let channel = &subject.channel;
    if connected.account_id != channel.external_account_id.as_str() {
        let mismatch = AccountMismatch {
            provider,
            expected_account: channel.external_account_id.as_str().to_owned(),
            got_account: connected.account_id.clone(),
            link_id: request.link_id,
        };
        if let Err(error) = app.store().record_account_mismatch(channel.team_id, channel.id, mismatch, now).await {
            tracing::error!(%error, "cannot record an account_mismatch event");
        }
        return (PageOutcome::AccountMismatch, Some(connected.account_id));
    }
    let member = match app.store().link_by_id(request.link_id).await {
        Ok(link) => link.and_then(|l| l.member_id),
        Err(error) => {
            tracing::error!(%error, "cannot read the link of a reconnect");
            return (PageOutcome::Unavailable, None);
        }
    };
    let detail = "reconnected through a reconnect link";
    match app.store().complete_reconnect(channel.id, &connected.tokens, member, detail, now).await {
        Ok(_) => (PageOutcome::Connected, None),
        Err(error) => {
            tracing::error!(%error, channel = %channel.id, "cannot store a reconnected channel's tokens");
            (PageOutcome::Unavailable, None)
        }
    }
}

/// Whether the request's browser-binding cookie hashes to `expected` (constant time).
fn same_browser(app: &AppState, headers: &HeaderMap, expected: &[u8; 32]) -> bool {
    cookie_value(headers, cookie_name(app.settings().secure_cookies()))
        .and_then(|value| OpaqueToken::parse("cookie", value).ok())
        .is_some_and(|cookie| bool::from(cookie.hash().ct_eq(expected)))
}

fn log_refusal(request: &OAuthState, verdict: &Verdict) {
    tracing::warn!(channel = %request.channel_id, provider = %request.provider, ?verdict, "the code exchange failed");
}

/// `GET /oauth/result/{result}`: the outcome of a callback, at a clean URL.
pub(crate) async fn result(State(app): State<AppState>, Path(raw): Path<String>, headers: HeaderMap) -> Page {
    let Ok(token) = OpaqueToken::parse("result", &raw) else {
        return anonymous(&app, &headers, PageOutcome::FlowUnknown);
    };
    let found = match app.store().oauth_result(&token, app.now()).await {
        Ok(Some(found)) => found,
        Ok(None) => return anonymous(&app, &headers, PageOutcome::FlowUnknown),
        Err(error) => return unavailable(&app, &headers, &error),
    };
    let recorded: serde_json::Value = serde_json::from_str(&found.outcome).unwrap_or_default();
    let Some(outcome) = recorded["outcome"].as_str().and_then(PageOutcome::parse) else {
        return anonymous(&app, &headers, PageOutcome::FlowUnknown);
    };
    let subject = match Subject::load(&app, found.channel_id).await {
        Ok(subject) => subject,
        Err(error) => return unavailable(&app, &headers, &error),
    };
    let got = recorded["got"].as_str().unwrap_or_default();
    let [channel, network] = subject.values();
    let values = [channel, network, ("expected", subject.channel.external_account_id.as_str()), ("got", got)];
    let mut page = outcome.page(&app, subject.text(), &values);
    // Someone who came from the team page goes back to it from here.
    if crate::session::signed_in(&app, &headers) {
        let href = crate::session::team_path(&app);
        page.body.push_str(&format!("\n<p><a href=\"{}\">{}</a></p>", escape(&href), escape(subject.text().team.back)));
    }
    page
}

/// Anything else: a plain "not found" page.
pub(crate) async fn not_found(State(app): State<AppState>, headers: HeaderMap) -> Page {
    anonymous(&app, &headers, PageOutcome::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_callback_parameters_are_not_trusted() {
        let query = CallbackQuery::parse(Some("code=a&state=s1&state=s2"));
        assert_eq!(query.code.as_deref(), Some("a"));
        assert_eq!(query.state.as_deref(), Some(""));
        let query = CallbackQuery::parse(Some("error=access_denied&state=x"));
        assert_eq!(query.error.as_deref(), Some("access_denied"));
        assert!(CallbackQuery::parse(None).state.is_none());
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; __Host-relink_flow=abc; relink_flow=def"));
        assert_eq!(cookie_value(&headers, "__Host-relink_flow"), Some("abc"));
        assert_eq!(cookie_value(&headers, "relink_flow"), Some("def"));
        assert_eq!(cookie_value(&headers, "relink"), None);
    }

    #[test]
    fn secure_cookies_carry_the_host_prefix_and_secure() {
        let cookie = set_cookie(true, "v", 600);
        let text = cookie.to_str().unwrap();
        assert!(text.starts_with("__Host-relink_flow=v;") && text.contains("; Secure") && text.contains("Path=/"));
        let plain = set_cookie(false, "v", 600);
        assert!(!plain.to_str().unwrap().contains("Secure"));
    }
}
