//! The team page over HTTP on SQLite and PostgreSQL, the way a browser drives it: sign-in links
//! work once, for their member, within 15 minutes; the session cookie's attributes; signing out
//! and the twelfth hour end the session; rows worst first, in words as well as colours; a viewer
//! gets no buttons and the server refuses their posts; a post without the session's form token
//! or from another site is refused; another team's channel is not found; and each button does
//! what the chat command does. Headless Chromium signs in, reconnects a red row through the
//! simulator and sees it green, and leaves a screenshot of the page in each language in
//! `<target>/screenshots/` (`team-en.png`, `team-it.png`, `team-ja.png`, and `team-en-phone.png`
//! at a phone's width) for a person to look at.

// These are test bodies run through `both_engines!` (not `#[test]` functions clippy recognises):
// a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use chrono::Duration;
use relink_core::alerts::AlertsConfig;
use relink_core::checker::CheckerConfig;
use relink_core::opaque::OpaqueToken;
use relink_core::signin::mint_signin;
use relink_core::store::NewMember;
use relink_core::token::TokenSet;
use relink_core::{Channel, ChannelId, Health, Member, MemberName, Provider, Reason, Role, Team};
use relink_simulator::AccountOptions;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use secrecy::ExposeSecret as _;

use crate::support::app::TestApp;
use crate::support::browser::Browser;
use crate::support::{TestStore, both_engines, new_channel};

both_engines!(
    a_sign_in_link_signs_in_once_as_its_member_with_a_strict_host_only_cookie,
    an_expired_forged_or_cross_site_sign_in_is_refused_with_a_page_and_signs_nobody_in,
    signing_out_ends_the_session_in_the_store_and_so_does_the_twelfth_hour,
    the_page_lists_channels_worst_first_in_words_not_only_colour,
    a_viewer_sees_no_buttons_and_the_server_refuses_their_posts,
    a_button_without_the_sessions_form_token_or_from_another_site_is_refused,
    another_teams_channel_is_not_found_from_the_team_page,
    the_buttons_acknowledge_snooze_check_refresh_and_reconnect_like_the_chat_commands,
);

/// relink with its web server, the simulator and an alerts engine that groups nothing; a team
/// with an admin and a viewer, a red channel (X, password changed, a post in three hours, an
/// open incident) and a green one (LinkedIn); another team with a channel of its own.
pub struct TeamRig {
    pub app: TestApp,
    pub team: Team,
    pub admin: Member,
    pub viewer: Member,
    pub red: Channel,
    pub green: Channel,
    pub theirs: Channel,
}

impl std::ops::Deref for TeamRig {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl TeamRig {
    pub async fn new(db: TestStore) -> Self {
        let alerts = AlertsConfig { grouping_window: Duration::zero(), ..AlertsConfig::default() };
        let app = TestApp::builder(db)
            .checker(CheckerConfig { owner: "team-page-test".into(), ..CheckerConfig::default() })
            .tune(|builder| builder.alerts(Some(alerts)))
            .spawn()
            .await;
        let team = app.db.team("Acme").await;
        let member = async |name: &str, role| {
            let new = NewMember {
                team_id: team.id,
                name: MemberName::parse(name).unwrap(),
                role,
                discord_user_id: None,
                telegram_user_id: None,
            };
            app.db.store.add_member(&new, app.db.now()).await.unwrap()
        };
        let admin = member("Ada", Role::Admin).await;
        let viewer = member("Vera", Role::Viewer).await;
        let red = channel(&app, &team, Provider::X, "brand", Some(admin.id)).await;
        let green = channel(&app, &team, Provider::Linkedin, "calm", Some(admin.id)).await;
        let other = app.db.team("Other").await;
        let theirs = channel(&app, &other, Provider::Facebook, "elsewhere", None).await;
        let (store, now) = (&app.db.store, app.db.now());
        store.set_health(red.id, &Health::NeedsReauth(Reason::PasswordChanged), None, now).await.unwrap();
        store.set_health(green.id, &Health::Healthy, None, now).await.unwrap();
        store.schedule_post(red.id, now + Duration::hours(3), Some("post-1"), now).await.unwrap();
        app.engine.as_ref().unwrap().pass(now + Duration::seconds(1)).await.unwrap();
        app.db.clock.advance(Duration::seconds(2));
        let red = store.channel(red.id).await.unwrap();
        let green = store.channel(green.id).await.unwrap();
        Self { app, team, admin, viewer, red, green, theirs }
    }

    /// A fresh sign-in link for `member`.
    pub async fn signin_link(&self, member: &Member) -> String {
        let minted = mint_signin(&self.db.store, &self.settings.links, member.id, self.db.now()).await.unwrap();
        minted.url.expose_secret().to_owned()
    }

    /// `request` as a browser sends it from relink's own page.
    pub fn same_origin(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.header(ORIGIN, self.base.origin().ascii_serialization()).header("sec-fetch-site", "same-origin")
    }

    /// Signs `member` in: the session cookie as `name=value`.
    pub async fn sign_in(&self, member: &Member) -> String {
        let link = self.signin_link(member).await;
        let response = self.same_origin(self.http.post(&link)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/team");
        cookie_pair(&response)
    }

    /// `GET /team` with `cookie`.
    pub async fn page(&self, cookie: &str) -> (StatusCode, String) {
        let response = self.http.get(self.url("team")).header(COOKIE, cookie).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// A row's button, posted with `cookie`, the form `token` (if any) and `fields`.
    pub async fn press(
        &self,
        cookie: &str,
        channel: ChannelId,
        action: &str,
        token: Option<&str>,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if let Some(token) = token {
            form.push(("form_token", token));
        }
        let url = self.url(&format!("team/channels/{channel}/{action}"));
        self.same_origin(self.http.post(url)).header(COOKIE, cookie).form(&form).send().await.unwrap()
    }
}

async fn channel(
    app: &TestApp,
    team: &Team,
    provider: Provider,
    account: &str,
    by: Option<relink_core::MemberId>,
) -> Channel {
    let issued = app.sim.simulator().add_account(provider, account, AccountOptions::default()).unwrap();
    let tokens = TokenSet {
        access_token: issued.access_token.clone().into(),
        refresh_token: issued.refresh_token.clone().map(Into::into),
        expires_at: issued.expires_at,
        scopes: relink_core::Scopes::default(),
        refresh_expires_at: issued.refresh_expires_at,
    };
    app.db.store.add_channel(&new_channel(team, provider, account, by), &tokens, app.db.now()).await.unwrap()
}

/// The `name=value` of a response's cookie.
pub fn cookie_pair(response: &reqwest::Response) -> String {
    response.headers()[SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned()
}

/// The form token a page's forms carry.
pub fn form_token(html: &str) -> String {
    let marker = "name=\"form_token\" value=\"";
    let start = html.find(marker).expect("a form with its token") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn a_sign_in_link_signs_in_once_as_its_member_with_a_strict_host_only_cookie(db: TestStore) {
    let rig = TeamRig::new(db).await;
    let link = rig.signin_link(&rig.admin).await;

    // Showing the link (a chat app's preview) spends nothing.
    for _ in 0..2 {
        let shown = rig.http.get(&link).send().await.unwrap();
        assert_eq!(shown.status(), StatusCode::OK);
        let page = shown.text().await.unwrap();
        assert!(page.contains("Sign in to the page of Acme") && page.contains("as Ada"), "{page}");
        assert!(page.contains("<form method=\"post\"><button type=\"submit\">Sign in</button></form>"), "{page}");
    }
    let response = rig.same_origin(rig.http.post(&link)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/team");
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    // The web server is on http://127.0.0.1, a secure context: `__Host-` and `Secure`, as the
    // reconnect flow's cookie.
    assert!(set.starts_with("__Host-relink_session="), "{set}");
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Strict", "; Max-Age=43200", "; Secure"] {
        assert!(set.contains(attribute), "{attribute} missing from {set}");
    }
    assert!(!set.contains("Domain="), "{set}");
    let cookie = cookie_pair(&response);
    let (status, page) = rig.page(&cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Signed in as Ada (admin)"), "{page}");

    // The link is spent: a second press opens nothing.
    let again = rig.same_origin(rig.http.post(&link)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(again.headers().get(SET_COOKIE).is_none());
    assert!(again.text().await.unwrap().contains("already used"));

    // Two browsers racing with one link: the store spends it once, whoever asks first.
    let (store, now) = (&rig.db.store, rig.db.now());
    let raced = OpaqueToken::generate();
    store.create_signin_link(&raced, rig.admin.id, now, now + Duration::minutes(15)).await.unwrap();
    let (one, two) = (OpaqueToken::generate(), OpaqueToken::generate());
    let later = now + Duration::hours(12);
    let (a, b) =
        tokio::join!(store.open_session(&raced, &one, now, later), store.open_session(&raced, &two, now, later));
    let opened = [a.unwrap(), b.unwrap()];
    assert_eq!(opened.iter().flatten().count(), 1, "{opened:?}");
    assert_eq!(opened.iter().flatten().next(), Some(&(rig.team.id, rig.admin.id)));
    let sessions = [store.session(&one, now).await.unwrap(), store.session(&two, now).await.unwrap()];
    assert_eq!(sessions.iter().flatten().count(), 1, "one session, for the browser that won");

    // The link is bound to its member: the viewer's link signs in the viewer, never the admin.
    let vera = rig.sign_in(&rig.viewer).await;
    let (_, page) = rig.page(&vera).await;
    assert!(page.contains("Signed in as Vera (viewer)") && !page.contains("Ada (admin)"), "{page}");
}

async fn an_expired_forged_or_cross_site_sign_in_is_refused_with_a_page_and_signs_nobody_in(db: TestStore) {
    let rig = TeamRig::new(db).await;
    let link = rig.signin_link(&rig.admin).await;

    // Posted by another site: refused, and the link stays usable.
    let cross = rig.http.post(&link).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(cross.headers().get(SET_COOKIE).is_none());
    assert!(cross.text().await.unwrap().contains("did not come from relink"));

    // A token nobody issued, and one that is not even a token: a page, never a stack trace.
    let forged = rig.url(&format!("team/sign-in/{}", OpaqueToken::generate().expose()));
    for url in [forged.as_str(), &rig.url("team/sign-in/not-a-token"), &format!("{link}x")] {
        for response in
            [rig.http.get(url).send().await.unwrap(), rig.same_origin(rig.http.post(url)).send().await.unwrap()]
        {
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{url}");
            assert!(response.headers().get(SET_COOKIE).is_none());
            let page = response.text().await.unwrap();
            assert!(page.contains("This sign-in link is not valid") && page.contains("<html lang=\"en\">"), "{page}");
        }
    }

    // Sixteen minutes later the link is over: a page that says so, in the team's language.
    rig.db.clock.advance(Duration::minutes(16));
    let late = rig.same_origin(rig.http.post(&link)).send().await.unwrap();
    assert_eq!(late.status(), StatusCode::GONE);
    assert!(late.headers().get(SET_COOKIE).is_none());
    assert!(late.text().await.unwrap().contains("This sign-in link has expired"));
    let shown = rig.http.get(&link).send().await.unwrap();
    assert_eq!(shown.status(), StatusCode::GONE);

    // Without a session the page says how to get one.
    let (status, page) = rig.page("__Host-relink_session=nothing").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("/dashboard") && !page.contains("brand page"), "{page}");
}

async fn signing_out_ends_the_session_in_the_store_and_so_does_the_twelfth_hour(db: TestStore) {
    let rig = TeamRig::new(db).await;
    let cookie = rig.sign_in(&rig.admin).await;
    let session = OpaqueToken::parse("cookie", cookie.split_once('=').unwrap().1).unwrap();
    assert!(rig.db.store.session(&session, rig.db.now()).await.unwrap().is_some());
    let (_, page) = rig.page(&cookie).await;
    let token = form_token(&page);

    let out = rig.same_origin(rig.http.post(rig.url("team/sign-out"))).header(COOKIE, &cookie);
    let out = out.form(&[("form_token", token.as_str())]).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(out.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert!(
        rig.db.store.session(&session, rig.db.now()).await.unwrap().is_none(),
        "the session is gone from the store"
    );
    // The old cookie, replayed, opens nothing.
    assert_eq!(rig.page(&cookie).await.0, StatusCode::FORBIDDEN);
    let pressed = rig.press(&cookie, rig.red.id, "ack", Some(&token), &[]).await;
    assert_eq!(pressed.status(), StatusCode::FORBIDDEN);

    // A session lives twelve hours.
    let cookie = rig.sign_in(&rig.admin).await;
    rig.db.clock.advance(Duration::hours(12) - Duration::seconds(1));
    assert_eq!(rig.page(&cookie).await.0, StatusCode::OK);
    rig.db.clock.advance(Duration::seconds(1));
    assert_eq!(rig.page(&cookie).await.0, StatusCode::FORBIDDEN);
}

async fn the_page_lists_channels_worst_first_in_words_not_only_colour(db: TestStore) {
    let rig = TeamRig::new(db).await;
    let cookie = rig.sign_in(&rig.admin).await;
    let (status, page) = rig.page(&cookie).await;
    assert_eq!(status, StatusCode::OK);
    let red = page.find("brand page").unwrap();
    let green = page.find("calm page").unwrap();
    assert!(red < green, "the channel that needs reconnecting comes first");
    let start = page.find(&format!("<section class=\"channel bad\" id=\"channel-{}\"", rig.red.id));
    let row = &page[start.expect("the red row, in red")..green];
    assert!(row.contains("✕</span> Needs reconnecting") && row.contains("password changed"), "{row}");
    assert!(row.contains("the network ended every session"), "the reason in the catalog's words: {row}");
    assert!(row.contains("<dt>Authorised by</dt><dd>Ada</dd>"), "{row}");
    assert!(row.contains("<dt>Posts at risk</dt><dd>1, the first due"), "{row}");
    assert!(row.contains("<dt>Network</dt><dd>X</dd>"), "{row}");
    assert!(page.contains("✓</span> Healthy"), "{page}");
    assert!(page.contains("Open problems") && page.contains("Nobody has said they are on it yet."), "{page}");
    assert!(page.contains("Latest alerts") && page.contains("brand page"), "{page}");
    assert!(!page.contains("elsewhere page"), "another team's channel never shows");
    // No script, no third-party asset.
    assert!(!page.contains("<script") && !page.contains("http://") && !page.contains("https://"), "{page}");
}

async fn a_viewer_sees_no_buttons_and_the_server_refuses_their_posts(db: TestStore) {
    let rig = TeamRig::new(db).await;
    let cookie = rig.sign_in(&rig.viewer).await;
    let (_, page) = rig.page(&cookie).await;
    assert!(page.contains("brand page") && page.contains("only owners and admins can act"), "{page}");
    assert!(!page.contains("/team/channels/"), "no button for a viewer: {page}");
    // The viewer's own form token (the sign-out form's) does not make them an admin.
    let token = form_token(&page);
    for action in ["reconnect", "check", "refresh", "ack"] {
        let response = rig.press(&cookie, rig.red.id, action, Some(&token), &[]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
        assert!(response.text().await.unwrap().contains("Only owners and admins can do this"));
    }
    let response = rig.press(&cookie, rig.red.id, "snooze", Some(&token), &[("for", "1d")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let incidents = rig.db.store.incidents(Some(rig.team.id), false).await.unwrap();
    assert!(incidents.iter().all(|i| i.acknowledged_by.is_none() && i.snoozed_until.is_none()), "{incidents:?}");
    let channel = rig.db.store.channel(rig.red.id).await.unwrap();
    assert_eq!(channel.last_checked_at, rig.red.last_checked_at, "nothing was checked");
}

async fn a_button_without_the_sessions_form_token_or_from_another_site_is_refused(db: TestStore) {
    let rig = TeamRig::new(db).await;
    let cookie = rig.sign_in(&rig.admin).await;
    let (_, page) = rig.page(&cookie).await;
    let token = form_token(&page);
    let other_session = rig.sign_in(&rig.admin).await;
    let (_, other_page) = rig.page(&other_session).await;
    let other_token = form_token(&other_page);
    assert_ne!(token, other_token);

    for wrong in [None, Some(""), Some("1.AAAA"), Some(other_token.as_str())] {
        let response = rig.press(&cookie, rig.red.id, "ack", wrong, &[]).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{wrong:?}");
    }
    // The right token, from another site.
    let url = rig.url(&format!("team/channels/{}/ack", rig.red.id));
    let cross = rig.http.post(&url).header(COOKIE, &cookie).header("sec-fetch-site", "cross-site");
    let cross = cross.form(&[("form_token", token.as_str())]).send().await.unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let evil = rig.http.post(&url).header(COOKIE, &cookie).header(ORIGIN, "https://evil.example");
    assert_eq!(evil.form(&[("form_token", token.as_str())]).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let incidents = rig.db.store.incidents(Some(rig.team.id), false).await.unwrap();
    assert!(incidents.iter().all(|i| i.acknowledged_by.is_none()), "nothing was acknowledged: {incidents:?}");

    // A browser that sends neither header still gets through with the token.
    let plain = rig.http.post(&url).header(COOKIE, &cookie).form(&[("form_token", token.as_str())]);
    assert_eq!(plain.send().await.unwrap().status(), StatusCode::SEE_OTHER);
}

async fn another_teams_channel_is_not_found_from_the_team_page(db: TestStore) {
    let rig = TeamRig::new(db).await;
    let cookie = rig.sign_in(&rig.admin).await;
    let (_, page) = rig.page(&cookie).await;
    let token = form_token(&page);
    let before = rig.db.store.channel(rig.theirs.id).await.unwrap();
    for action in ["reconnect", "check", "refresh", "ack"] {
        let response = rig.press(&cookie, rig.theirs.id, action, Some(&token), &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action}");
        assert!(response.text().await.unwrap().contains("No such channel in your team"));
    }
    let response = rig.press(&cookie, rig.theirs.id, "snooze", Some(&token), &[("for", "1d")]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = rig.press(&cookie, ChannelId(9_999_999), "check", Some(&token), &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let after = rig.db.store.channel(rig.theirs.id).await.unwrap();
    assert_eq!((after.last_checked_at, after.health), (before.last_checked_at, before.health));
}

async fn the_buttons_acknowledge_snooze_check_refresh_and_reconnect_like_the_chat_commands(db: TestStore) {
    let rig = TeamRig::new(db).await;
    let cookie = rig.sign_in(&rig.admin).await;
    let (_, page) = rig.page(&cookie).await;
    let token = form_token(&page);
    for action in ["reconnect", "check", "ack", "snooze"] {
        assert!(page.contains(&format!("/team/channels/{}/{action}", rig.red.id)), "{action} on the red row");
    }
    assert!(page.contains(&format!("/team/channels/{}/refresh", rig.green.id)), "LinkedIn renews: {page}");

    // I'm on it: the incident is acknowledged by the session's member; a flash says so, once.
    let ack = rig.press(&cookie, rig.red.id, "ack", Some(&token), &[]).await;
    assert_eq!(ack.status(), StatusCode::SEE_OTHER);
    assert_eq!(ack.headers()[LOCATION], "/team");
    let flash = cookie_pair(&ack);
    let with_flash = format!("{cookie}; {flash}");
    let (_, page) = rig.page(&with_flash).await;
    assert!(page.contains("Noted: you are on brand page"), "{page}");
    assert!(page.contains("Ada is on it"), "{page}");
    let incidents = rig.db.store.incidents(Some(rig.team.id), false).await.unwrap();
    let incident = incidents.iter().find(|i| i.channel_id == rig.red.id).unwrap();
    assert_eq!(incident.acknowledged_by, Some(rig.admin.id));

    // Snooze for a day; a duration the page never offers is refused.
    let snooze = rig.press(&cookie, rig.red.id, "snooze", Some(&token), &[("for", "1d")]).await;
    assert_eq!(snooze.status(), StatusCode::SEE_OTHER);
    let incident = rig.db.store.incidents(Some(rig.team.id), false).await.unwrap();
    let incident = incident.iter().find(|i| i.channel_id == rig.red.id).unwrap();
    assert_eq!(incident.snoozed_until, Some(rig.db.now() + Duration::days(1)));
    let odd = rig.press(&cookie, rig.red.id, "snooze", Some(&token), &[("for", "100000d")]).await;
    assert_eq!(odd.status(), StatusCode::BAD_REQUEST);
    let (_, page) = rig.page(&cookie).await;
    assert!(page.contains("Snoozed by Ada until"), "{page}");

    // Check now: the checker asks the network (the simulator says the token is fine).
    let check = rig.press(&cookie, rig.red.id, "check", Some(&token), &[]).await;
    assert_eq!(check.status(), StatusCode::SEE_OTHER);
    let flash = cookie_pair(&check);
    let (_, page) = rig.page(&format!("{cookie}; {flash}")).await;
    assert!(page.contains("brand page was checked: Healthy"), "{page}");
    assert_eq!(rig.db.store.channel(rig.red.id).await.unwrap().health, Health::Healthy);

    // Refresh access renews a LinkedIn token through the checker.
    let before = rig.db.store.tokens(rig.green.id).await.unwrap();
    let refresh = rig.press(&cookie, rig.green.id, "refresh", Some(&token), &[]).await;
    assert_eq!(refresh.status(), StatusCode::SEE_OTHER);
    let flash = cookie_pair(&refresh);
    let (_, page) = rig.page(&format!("{cookie}; {flash}")).await;
    assert!(page.contains("The access of calm page was renewed"), "{page}");
    let after = rig.db.store.tokens(rig.green.id).await.unwrap();
    assert_ne!(before.access_token.expose_secret(), after.access_token.expose_secret());

    // Reconnect: a fresh link bound to the admin, and the browser goes to its page.
    let reconnect = rig.press(&cookie, rig.red.id, "reconnect", Some(&token), &[]).await;
    assert_eq!(reconnect.status(), StatusCode::SEE_OTHER);
    let location = reconnect.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(&rig.url("r/")), "{location}");
    let link = OpaqueToken::parse("link", location.rsplit('/').next().unwrap()).unwrap();
    let stored = rig.db.store.link(&link).await.unwrap().unwrap();
    assert_eq!((stored.channel_id, stored.member_id), (rig.red.id, Some(rig.admin.id)));
    let shown = rig.http.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(shown.contains("brand page") && shown.contains("Continue to X"), "{shown}");
}

/// Where the browser test leaves its screenshots: `<target>/screenshots/`.
fn screenshots() -> std::path::PathBuf {
    let tmp = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("screenshots")
}

#[tokio::test]
async fn chromium_signs_in_reconnects_a_red_row_and_sees_it_green_in_three_languages() {
    let Some(browser) = Browser::start().await else { return };
    let rig = TeamRig::new(TestStore::open(relink_core::store::Engine::Sqlite).await).await;
    let store = &rig.db.store;

    browser.goto(&rig.signin_link(&rig.admin).await).await;
    assert!(browser.text().await.contains("Sign in to the page of Acme"));
    browser.click("button").await;
    browser.wait_for_url_ending("/team").await;
    let page = browser.text().await;
    assert!(page.contains("Signed in as Ada (admin)") && page.contains("Needs reconnecting"), "{page}");
    assert!(page.find("brand page") < page.find("calm page"), "the red row first: {page}");

    // The page in each language, red row and all, as a person would see it.
    let dir = screenshots();
    for (language, words) in [
        (relink_core::Language::It, "Da ricollegare"),
        (relink_core::Language::Ja, "再接続が必要"),
        (relink_core::Language::En, "Needs reconnecting"),
    ] {
        store.set_team_language(rig.team.id, language).await.unwrap();
        browser.resize(1100, 900).await;
        browser.goto(&rig.url("team")).await;
        assert!(browser.text().await.contains(words), "{language}: {}", browser.text().await);
        browser.screenshot(&dir.join(format!("team-{language}.png"))).await;
    }
    browser.resize(390, 844).await;
    browser.goto(&rig.url("team")).await;
    browser.screenshot(&dir.join("team-en-phone.png")).await;
    browser.resize(1100, 900).await;

    // Reconnect on the red row: the reconnect link's page, the network, and back.
    browser.click(&format!("form[action$=\"/team/channels/{}/reconnect\"] button", rig.red.id)).await;
    browser.wait_for_url("/r/").await;
    assert!(browser.text().await.contains("Continue to X"));
    browser.click("button").await;
    browser.wait_for_url("/oauth/result/").await;
    assert!(browser.text().await.contains("brand page is connected again"));
    browser.click("main a").await;
    browser.wait_for_url_ending("/team").await;
    let reconnected = store.channel(rig.red.id).await.unwrap();
    assert_eq!((reconnected.health, reconnected.authorized_by), (Health::Healthy, Some(rig.admin.id)));

    let page = browser.text().await;
    assert!(page.contains("Healthy") && !page.contains("Needs reconnecting"), "{page}");
    assert!(page.contains("No open problems."), "a reconnected channel's problem is over: {page}");
    browser.screenshot(&dir.join("team-en-after.png")).await;
    browser.quit().await;
}
