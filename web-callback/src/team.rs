//! The team page: `GET /team` shows a signed-in member their team's channels, open problems and
//! latest alerts; `POST /team/channels/{id}/{action}` are its buttons for owners and admins.
//!
//! Rows are sorted worst first (needs reconnecting, expiring, degraded, not checked, healthy);
//! each carries an icon and a word for its state besides its colour, the reason in the alert
//! catalog's words, the network, who authorised it, the posts at risk and the first due, and the
//! last and next check. Nothing needs JavaScript: every button is a form post.
//!
//! A button press is refused with 403 unless it carries the session's form token (`session`),
//! comes from no other site (`Sec-Fetch-Site`, `Origin`) and the member's role may reconnect
//! (read again from the store on every request); a channel of another team is 404. What a button
//! does is what the chat commands do, through the same core functions: `mint_link`,
//! `Checker::check_now`, `Checker::refresh_now`, `alerts::acknowledge_channels`,
//! `alerts::snooze_channel`. It answers 303 to `/team`, with a short-lived flash cookie naming
//! what happened.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use relink_core::alerts::messages::catalog;
use relink_core::alerts::{Incident, IncidentError, Problem, access_ends, acknowledge_channels, snooze_channel};
use relink_core::checker::{CheckNow, RefreshNow};
use relink_core::domain::alert::{Alert, AtRisk};
use relink_core::opaque::OpaqueToken;
use relink_core::provider::Renewal;
use relink_core::reconnect::mint_link;
use relink_core::store::{Session, StoreError};
use relink_core::{Channel, ChannelId, Health, Language, Member, MemberId, Role};
use secrecy::ExposeSecret as _;

use crate::AppState;
use crate::guard::{self, Source};
use crate::page::{Page, Tone, escape, fill};
use crate::reconnect::{cookie_value, stylesheet};
use crate::session::{self, FIELD, anonymous, date, notice, see_other, team_path, unavailable};
use crate::text::{Flash, TeamWords, Text, text};

/// How many of the latest alerts the page lists.
const LATEST_ALERTS: u32 = 20;

/// The snooze durations the page offers: the form's value and hours.
const SNOOZES: [(&str, i64); 5] = [("1h", 1), ("4h", 4), ("1d", 24), ("3d", 72), ("7d", 168)];

/// What a button did, carried to the next `GET /team` in a cookie that lives a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    Checked,
    Busy,
    Renewed,
    NotRenewable,
    NotYet,
    RenewalFailed,
    Acknowledged,
    Snoozed,
    NothingOpen,
    Failed,
}

impl Done {
    const ALL: [Done; 10] = [
        Done::Checked,
        Done::Busy,
        Done::Renewed,
        Done::NotRenewable,
        Done::NotYet,
        Done::RenewalFailed,
        Done::Acknowledged,
        Done::Snoozed,
        Done::NothingOpen,
        Done::Failed,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Done::Checked => "checked",
            Done::Busy => "busy",
            Done::Renewed => "renewed",
            Done::NotRenewable => "not_renewable",
            Done::NotYet => "not_yet",
            Done::RenewalFailed => "renewal_failed",
            Done::Acknowledged => "acknowledged",
            Done::Snoozed => "snoozed",
            Done::NothingOpen => "nothing_open",
            Done::Failed => "failed",
        }
    }

    fn words(self, flash: &Flash) -> &'static str {
        match self {
            Done::Checked => flash.checked,
            Done::Busy => flash.busy,
            Done::Renewed => flash.renewed,
            Done::NotRenewable => flash.not_renewable,
            Done::NotYet => flash.not_yet,
            Done::RenewalFailed => flash.renewal_failed,
            Done::Acknowledged => flash.acknowledged,
            Done::Snoozed => flash.snoozed,
            Done::NothingOpen => flash.nothing_open,
            Done::Failed => flash.failed,
        }
    }

    /// `{done}.{channel id}`, the flash cookie's value.
    fn parse(raw: &str) -> Option<(Done, ChannelId)> {
        let (done, id) = raw.split_once('.')?;
        let done = Done::ALL.into_iter().find(|d| d.as_str() == done)?;
        Some((done, ChannelId(id.parse().ok()?)))
    }
}

fn flash_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-relink_flash" } else { "relink_flash" }
}

fn set_flash(secure: bool, value: &str, max_age: u64) -> HeaderValue {
    let secure_attr = if secure { "; Secure" } else { "" };
    let name = flash_cookie_name(secure);
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure_attr}");
    HeaderValue::from_str(&text).expect("a flash of keywords and digits is a valid header")
}

/// A channel's state: its CSS class, icon and word.
fn look(words: &TeamWords, health: &Health) -> (&'static str, &'static str, &'static str) {
    match health {
        Health::NeedsReauth(_) => ("bad", "✕", words.states[0]),
        Health::Expiring => ("warn", "!", words.states[1]),
        Health::Degraded => ("warn", "!", words.states[2]),
        Health::Healthy => ("ok", "✓", words.states[3]),
        Health::Unknown => ("unknown", "?", words.states[4]),
    }
}

fn role_word(words: &TeamWords, role: Role) -> &'static str {
    match role {
        Role::PrimaryOwner => words.roles[0],
        Role::Owner => words.roles[1],
        Role::Admin => words.roles[2],
        Role::Editor => words.roles[3],
        Role::Viewer => words.roles[4],
    }
}

fn problem_word(words: &TeamWords, problem: Problem) -> &'static str {
    match problem {
        Problem::Expiring => words.problems[0],
        Problem::NeedsReauth => words.problems[1],
        Problem::Degraded => words.problems[2],
        Problem::OperatorProblem => words.problems[3],
    }
}

/// Everything the page shows, read for one request.
struct View {
    session: Session,
    token: OpaqueToken,
    language: Language,
    team_name: String,
    zone: Option<String>,
    channels: Vec<Channel>,
    members: HashMap<MemberId, String>,
    due: HashMap<ChannelId, Vec<DateTime<Utc>>>,
    incidents: Vec<Incident>,
    alerts: Vec<Alert>,
    now: DateTime<Utc>,
}

impl View {
    async fn load(app: &AppState, token: OpaqueToken, session: Session) -> Result<Self, StoreError> {
        let store = app.store();
        let team = session.team_id;
        let (team_row, channels, members, posts, incidents, mut alerts, settings) = tokio::try_join!(
            store.team(team),
            store.channels(Some(team)),
            store.members(team),
            store.posts(team, None, false),
            store.incidents(Some(team), false),
            store.alerts(Some(team), LATEST_ALERTS),
            store.team_alert_settings(team),
        )?;
        let healthy: Vec<ChannelId> = channels.iter().filter(|c| c.health == Health::Healthy).map(|c| c.id).collect();
        let mut due: HashMap<ChannelId, Vec<DateTime<Utc>>> = HashMap::new();
        for post in posts {
            due.entry(post.channel_id).or_default().push(post.due_at);
        }
        alerts.reverse();
        let mut view = Self {
            session,
            token,
            language: team_row.language,
            team_name: team_row.name.to_string(),
            zone: settings.timezone.map(|zone| zone.name().to_owned()),
            channels,
            members: members.into_iter().map(|m| (m.id, m.name.to_string())).collect(),
            due,
            // A channel healthy again has its incident resolved by the alerts engine's next pass,
            // seconds later; until then the page does not offer to acknowledge what is over.
            incidents: incidents.into_iter().filter(|i| i.is_open() && !healthy.contains(&i.channel_id)).collect(),
            alerts,
            now: app.now(),
        };
        view.sort();
        Ok(view)
    }

    /// Worst first; within a state, the soonest post at risk, then the soonest end of access,
    /// then the name.
    fn sort(&mut self) {
        let mut keyed: Vec<_> = std::mem::take(&mut self.channels)
            .into_iter()
            .map(|channel| {
                let first_due = self.at_risk(&channel).first_due;
                let ends =
                    matches!(channel.health, Health::Expiring).then(|| access_ends(&channel, self.now).0).flatten();
                let key = (
                    channel.health.attention_rank(),
                    first_due.is_none(),
                    first_due,
                    ends.is_none(),
                    ends,
                    channel.display_name.as_str().to_lowercase(),
                );
                (key, channel)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        self.channels = keyed.into_iter().map(|(_, channel)| channel).collect();
    }

    fn text(&self) -> &'static Text {
        text(self.language)
    }

    fn date(&self, at: DateTime<Utc>) -> String {
        date(self.language, at, self.zone.as_deref())
    }

    fn name_of(&self, member: Option<MemberId>) -> &str {
        member.and_then(|id| self.members.get(&id)).map_or(self.text().team.nobody, String::as_str)
    }

    fn may_act(&self) -> bool {
        self.session.member.role.may_reconnect()
    }

    /// The posts a channel's state puts at risk: every pending one once it needs reconnecting,
    /// those due after its access ends while it expires.
    fn at_risk(&self, channel: &Channel) -> AtRisk {
        let due = self.due.get(&channel.id).map(Vec::as_slice).unwrap_or_default();
        match &channel.health {
            Health::NeedsReauth(_) => AtRisk::of(due, self.now),
            Health::Expiring => access_ends(channel, self.now).0.map(|end| AtRisk::of(due, end)).unwrap_or_default(),
            _ => AtRisk::default(),
        }
    }

    /// A channel's state in words, beside its icon.
    fn state_line(&self, channel: &Channel) -> (String, Option<&'static str>) {
        let words = &self.text().team;
        let texts = catalog(self.language);
        match &channel.health {
            Health::NeedsReauth(reason) => (
                texts.reason_label_on(channel.provider, reason).to_owned(),
                Some(texts.reason_on(channel.provider, reason).explanation),
            ),
            Health::Expiring => match access_ends(channel, self.now).0 {
                Some(end) => (fill(words.access_ends, &[("date", &self.date(end))]), None),
                None => (escape(words.access_ends_soon), None),
            },
            Health::Degraded => (escape(words.degraded), None),
            Health::Unknown => (escape(words.unknown), None),
            Health::Healthy => (escape(words.healthy), None),
        }
    }

    fn form(&self, app: &AppState, channel: ChannelId, action: &str, inner: &str) -> String {
        let path = app.settings().under(&["team", "channels", &channel.to_string(), action]);
        format!(
            "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"{FIELD}\" value=\"{}\">{inner}</form>",
            escape(path.path()),
            escape(&session::form_token(&app.store().keyring(), &self.token)),
        )
    }

    fn buttons(&self, app: &AppState, channel: &Channel) -> String {
        let words = &self.text().team;
        let button =
            |class: &str, label: &str| format!("<button type=\"submit\" class=\"{class}\">{}</button>", escape(label));
        let primary = matches!(channel.health, Health::NeedsReauth(_));
        let mut out = String::from("<div class=\"actions\">");
        out.push_str(&self.form(
            app,
            channel.id,
            "reconnect",
            &button(if primary { "primary" } else { "secondary" }, words.button_reconnect),
        ));
        out.push_str(&self.form(app, channel.id, "check", &button("secondary", words.button_check)));
        let renewable = app.providers().policy(channel.provider).renewal != Renewal::None;
        if renewable && !primary {
            out.push_str(&self.form(app, channel.id, "refresh", &button("secondary", words.button_refresh)));
        }
        let open: Vec<&Incident> = self.incidents.iter().filter(|i| i.channel_id == channel.id).collect();
        if open.iter().any(|i| i.acknowledged_by.is_none()) {
            out.push_str(&self.form(app, channel.id, "ack", &button("secondary", words.button_ack)));
        }
        if !open.is_empty() {
            let mut select = String::from("<select name=\"for\" aria-label=\"");
            select.push_str(&escape(words.button_snooze));
            select.push_str("\">");
            for ((value, _), label) in SNOOZES.iter().zip(words.snooze_for) {
                let selected = if *value == "1d" { " selected" } else { "" };
                let _ = write!(select, "<option value=\"{value}\"{selected}>{}</option>", escape(label));
            }
            select.push_str("</select>");
            select.push_str(&button("secondary", words.button_snooze));
            out.push_str(&self.form(app, channel.id, "snooze", &select));
        }
        out.push_str("</div>");
        out
    }

    fn row(&self, app: &AppState, channel: &Channel) -> String {
        let text = self.text();
        let words = &text.team;
        let (class, icon, state) = look(words, &channel.health);
        let (line, why) = self.state_line(channel);
        let line = if matches!(channel.health, Health::NeedsReauth(_)) { escape(&line) } else { line };
        let at_risk = self.at_risk(channel);
        let risk = match (at_risk.count, at_risk.first_due) {
            (0, _) | (_, None) => escape(words.none_at_risk),
            (count, Some(first)) => fill(words.at_risk, &[("count", &count.to_string()), ("date", &self.date(first))]),
        };
        let last = channel.last_checked_at.map_or_else(|| words.never.to_owned(), |at| self.date(at));
        let dd = |label: &str, value: &str| format!("<dt>{}</dt><dd>{value}</dd>", escape(label));
        let mut out = format!(
            "<section class=\"channel {class}\" id=\"channel-{id}\">\n\
             <h3><span class=\"badge\"><span class=\"icon\" aria-hidden=\"true\">{icon}</span> {state}</span> \
             <span class=\"name\">{name}</span></h3>\n<p class=\"line\">{line}</p>\n",
            id = channel.id,
            state = escape(state),
            name = escape(channel.display_name.as_str()),
        );
        if let Some(why) = why {
            let _ = writeln!(out, "<p class=\"why\">{}</p>", escape(why));
        }
        out.push_str("<dl>");
        out.push_str(&dd(words.label_network, &escape(catalog(self.language).network(channel.provider))));
        out.push_str(&dd(words.label_authorised, &escape(self.name_of(channel.authorized_by))));
        out.push_str(&dd(words.label_at_risk, &risk));
        out.push_str(&dd(words.label_last_check, &escape(&last)));
        out.push_str(&dd(words.label_next_check, &escape(&self.date(channel.next_check_at))));
        out.push_str("</dl>\n");
        if self.may_act() {
            out.push_str(&self.buttons(app, channel));
        }
        out.push_str("</section>\n");
        out
    }

    fn incidents_html(&self) -> String {
        let words = &self.text().team;
        if self.incidents.is_empty() {
            return format!("<p>{}</p>", escape(words.no_incidents));
        }
        let names: HashMap<ChannelId, &str> = self.channels.iter().map(|c| (c.id, c.display_name.as_str())).collect();
        let mut out = String::from("<ul class=\"incidents\">");
        for incident in &self.incidents {
            let channel = names.get(&incident.channel_id).copied().unwrap_or("?");
            let _ = write!(
                out,
                "<li><strong>{}</strong>: {} · {}<br>",
                escape(channel),
                escape(problem_word(words, incident.problem)),
                fill(words.opened, &[("date", &self.date(incident.opened_at))]),
            );
            let mut said = false;
            if let (Some(by), Some(at)) = (incident.acknowledged_by, incident.acknowledged_at) {
                out.push_str(&fill(words.acknowledged, &[("name", self.name_of(Some(by))), ("date", &self.date(at))]));
                said = true;
            }
            if let Some(until) = incident.snoozed_until.filter(|_| incident.is_snoozed(self.now)) {
                if said {
                    out.push(' ');
                }
                out.push_str(&fill(
                    words.snoozed,
                    &[("name", self.name_of(incident.snoozed_by)), ("date", &self.date(until))],
                ));
                said = true;
            }
            if !said {
                out.push_str(&escape(words.nobody_on_it));
            }
            out.push_str("</li>");
        }
        out.push_str("</ul>");
        out
    }

    fn alerts_html(&self) -> String {
        let words = &self.text().team;
        if self.alerts.is_empty() {
            return format!("<p>{}</p>", escape(words.no_alerts));
        }
        let mut out = String::from("<ul class=\"alerts\">");
        for alert in &self.alerts {
            let _ =
                write!(out, "<li><time>{}</time> {}</li>", escape(&self.date(alert.created_at)), escape(&alert.title));
        }
        out.push_str("</ul>");
        out
    }

    fn page(&self, app: &AppState, flash: Option<(Done, ChannelId)>) -> Page {
        let text = self.text();
        let words = &text.team;
        let member = &self.session.member;
        let mut body = String::from("<div class=\"team\">\n<header class=\"who\">");
        let _ = write!(
            body,
            "<span>{}</span>",
            fill(words.signed_in_as, &[("name", member.name.as_str()), ("role", role_word(words, member.role))])
        );
        let _ = writeln!(
            body,
            "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"{FIELD}\" value=\"{}\">\
             <button type=\"submit\" class=\"link\">{}</button></form></header>",
            escape(app.settings().under(&["team", "sign-out"]).path()),
            escape(&session::form_token(&app.store().keyring(), &self.token)),
            escape(words.sign_out),
        );
        let flashed = flash.and_then(|(done, id)| Some((done, self.channels.iter().find(|c| c.id == id)?)));
        if let Some((done, channel)) = flashed {
            let (_, _, state) = look(words, &channel.health);
            let values = [("channel", channel.display_name.as_str()), ("state", state)];
            let _ =
                writeln!(body, "<p class=\"flash\" role=\"status\">{}</p>", fill(done.words(&words.flash), &values));
        }
        if !self.may_act() {
            let _ = writeln!(body, "<p class=\"fine\">{}</p>", escape(words.viewer_note));
        }
        let _ = writeln!(body, "<h2>{}</h2>", escape(words.channels));
        if self.channels.is_empty() {
            let _ = writeln!(body, "<p>{}</p>", escape(words.no_channels));
        }
        for channel in &self.channels {
            body.push_str(&self.row(app, channel));
        }
        let _ = writeln!(body, "<h2>{}</h2>\n{}", escape(words.incidents), self.incidents_html());
        let _ = writeln!(body, "<h2>{}</h2>\n{}", escape(words.alerts), self.alerts_html());
        body.push_str("</div>");
        Page {
            status: StatusCode::OK,
            lang: text.lang,
            title: fill(words.title, &[("team", &self.team_name)]),
            body,
            tone: Tone::Neutral,
            form_target: None,
            stylesheet: stylesheet(app),
            extra_headers: HeaderMap::new(),
        }
    }
}

/// `GET /team`: the page, for a signed-in browser; otherwise how to sign in.
pub(crate) async fn show(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let (token, session) = match session::current(&app, &headers).await {
        Ok(Some(found)) => found,
        Ok(None) => return anonymous(&app, &headers, StatusCode::FORBIDDEN, |t| t.signed_out).into_response(),
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    };
    let view = match View::load(&app, token, session).await {
        Ok(view) => view,
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    };
    let secure = app.settings().secure_cookies();
    let flash = cookie_value(&headers, flash_cookie_name(secure)).and_then(Done::parse);
    let mut page = view.page(&app, flash);
    if flash.is_some() {
        page.extra_headers.insert(SET_COOKIE, set_flash(secure, "", 0));
    }
    page.into_response()
}

/// The buttons of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Button {
    Reconnect,
    Check,
    Refresh,
    Ack,
    Snooze,
}

impl Button {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "reconnect" => Button::Reconnect,
            "check" => Button::Check,
            "refresh" => Button::Refresh,
            "ack" => Button::Ack,
            "snooze" => Button::Snooze,
            _ => return None,
        })
    }
}

/// `POST /team/channels/{id}/{action}`: a row's button.
pub(crate) async fn press(
    State(app): State<AppState>,
    Path((raw_id, raw_action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (token, session) = match session::current(&app, &headers).await {
        Ok(Some(found)) => found,
        Ok(None) => return anonymous(&app, &headers, StatusCode::FORBIDDEN, |t| t.signed_out).into_response(),
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    };
    let language = match app.store().team(session.team_id).await {
        Ok(team) => team.language,
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    };
    let text = text(language);
    let refuse = |status: StatusCode, lines: [&'static str; 3]| notice(&app, status, text, lines, &[]).into_response();
    let form = session::form(body).await.unwrap_or_default();
    let vouched = guard::source(&headers, &app.settings().links.public_url) != Source::CrossSite
        && session::field(&form, FIELD)
            .is_some_and(|raw| session::form_token_matches(&app.store().keyring(), &token, raw));
    if !vouched {
        tracing::info!(team = %session.team_id, "a team page button without its form token, or from another site, was refused");
        return refuse(StatusCode::FORBIDDEN, text.team.cross_site);
    }
    let member = session.member;
    if !member.role.may_reconnect() {
        tracing::info!(member = %member.id, role = %member.role, "a team page button pressed by a role that may not act was refused");
        return refuse(StatusCode::FORBIDDEN, text.team.forbidden);
    }
    let (Some(button), Ok(id)) = (Button::parse(&raw_action), raw_id.parse::<i64>()) else {
        return refuse(StatusCode::NOT_FOUND, text.team.channel_not_found);
    };
    // A channel of another team is no channel of this page: the same answer as none at all.
    let channel = match app.store().channel(ChannelId(id)).await {
        Ok(channel) if channel.team_id == session.team_id => channel,
        Ok(_) | Err(StoreError::NotFound(_)) => return refuse(StatusCode::NOT_FOUND, text.team.channel_not_found),
        Err(error) => return unavailable(&app, &headers, &error).into_response(),
    };
    let done = match act(&app, button, &channel, &member, &form).await {
        Ok(Acted::Go(location)) => return see_other(&location, Vec::new()),
        Ok(Acted::Done(done)) => done,
        Ok(Acted::BadForm) => return refuse(StatusCode::BAD_REQUEST, text.team.cross_site),
        Err(error) => {
            tracing::warn!(%error, channel = %channel.id, "a team page button failed");
            Done::Failed
        }
    };
    let secure = app.settings().secure_cookies();
    let flash = set_flash(secure, &format!("{}.{}", done.as_str(), channel.id), 60);
    see_other(&team_path(&app), vec![flash])
}

/// What a button led to.
enum Acted {
    /// Somewhere else: the reconnect link's page.
    Go(String),
    Done(Done),
    /// A form value the page never offers.
    BadForm,
}

async fn act(
    app: &AppState,
    button: Button,
    channel: &Channel,
    member: &Member,
    form: &[(String, String)],
) -> Result<Acted, StoreError> {
    let now = app.now();
    let store = app.store();
    let incident_error = |error: IncidentError| match error {
        IncidentError::Store(error) => error,
        other => StoreError::Conflict(other.to_string()),
    };
    Ok(Acted::Done(match button {
        Button::Reconnect => {
            let minted = mint_link(store, &app.settings().links, channel.id, Some(member.id), now).await?;
            tracing::info!(channel = %channel.id, member = %member.id, link = %minted.link.id, "reconnect link made from the team page");
            return Ok(Acted::Go(minted.url.expose_secret().to_owned()));
        }
        Button::Check => match app.checker().check_now(channel.id, now).await? {
            CheckNow::Checked { .. } => Done::Checked,
            CheckNow::Busy => Done::Busy,
        },
        Button::Refresh => match app.checker().refresh_now(channel.id, now).await? {
            RefreshNow::Renewed(_) => Done::Renewed,
            RefreshNow::NotRenewable => Done::NotRenewable,
            RefreshNow::NotYet(_) => Done::NotYet,
            RefreshNow::Busy => Done::Busy,
            RefreshNow::Failed { .. } => Done::RenewalFailed,
        },
        Button::Ack => {
            match acknowledge_channels(store, channel.team_id, &[channel.id], member.id, now)
                .await
                .map_err(incident_error)?
            {
                0 => Done::NothingOpen,
                _ => Done::Acknowledged,
            }
        }
        Button::Snooze => {
            let Some(hours) =
                session::field(form, "for").and_then(|v| SNOOZES.iter().find(|(s, _)| *s == v)).map(|(_, h)| *h)
            else {
                return Ok(Acted::BadForm);
            };
            let until = now + chrono::Duration::hours(hours);
            match snooze_channel(store, channel.team_id, channel.id, member.id, until, now)
                .await
                .map_err(incident_error)?
            {
                0 => Done::NothingOpen,
                _ => Done::Snoozed,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_names_only_known_outcomes_and_a_channel_id() {
        for done in Done::ALL {
            assert_eq!(Done::parse(&format!("{}.12", done.as_str())), Some((done, ChannelId(12))));
        }
        for junk in ["", "checked", "checked.", "checked.x", "pwned.1", ".1", "checked.1.2"] {
            assert_eq!(Done::parse(junk), None, "{junk}");
        }
    }
}
