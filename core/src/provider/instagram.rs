//! Instagram, two ways in:
//! - [`InstagramBusiness`]: a business account reached through Facebook login. The channel holds
//!   its Page's token, which lives and dies as Facebook's (no renewal: a [`Page`] network). Probe:
//!   `GET {ig-user-id}?fields=id,username` with that token, then `debug_token` for the person
//!   who granted it (whom Meta's callbacks name).
//! - [`INSTAGRAM_LOGIN`]: a professional account logged in on Instagram itself. 60-day tokens,
//!   extended with `ig_refresh_token` once a day old and before they end (the Graph [`Login`] life
//!   cycle). Probe: `GET me?fields=user_id,username`.
//!
//! Personal accounts lost their API with the Basic Display API in December 2024: not supported.
//! Sources: <https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login>,
//! <https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token>

use std::time::Duration;

use secrecy::ExposeSecret;

use super::classify::{Context, Family};
use super::graph::{self, Login, Page, PageNetwork};
use super::oauth::{self, Granted};
use super::policy::{DAY, Policy, Renewal};
use super::{Connected, Ctx, Validity, Verdict, facebook, http};
use crate::domain::{Channel, Provider};

/// What Instagram through a Page does with tokens (see [`Policy`]).
pub(super) const BUSINESS_POLICY: Policy = Policy {
    provider: Provider::InstagramBusiness,
    // The Page's token, through Facebook login: as Facebook.
    access_lifetime: Some(Duration::from_secs(60 * 86_400)),
    renewal: Renewal::None,
    inactivity: None,
    probe: "GET /{ig-user-id}?fields=id,username with the Page token",
    default_api_base: "https://graph.facebook.com/v21.0/",
    default_authorize_url: "https://www.facebook.com/v21.0/dialog/oauth",
    default_token_url: "https://graph.facebook.com/v21.0/oauth/access_token",
    scopes: &["instagram_basic", "instagram_content_publish", "pages_show_list"],
    pkce: false,
    rate_per_second: 50.0,
    sources: &["https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login"],
};

/// What Instagram login does with tokens (see [`Policy`]).
pub(super) const LOGIN_POLICY: Policy = Policy {
    provider: Provider::InstagramLogin,
    access_lifetime: Some(Duration::from_secs(60 * 86_400)),
    // Refreshable once at least 24 hours old and not yet expired.
    renewal: Renewal::ExtendWhileValid { min_age: DAY },
    inactivity: None,
    probe: "GET /me?fields=user_id,username",
    default_api_base: "https://graph.instagram.com/",
    default_authorize_url: "https://www.instagram.com/oauth/authorize",
    default_token_url: "https://api.instagram.com/oauth/access_token",
    scopes: &["instagram_business_basic", "instagram_business_content_publish"],
    pkce: false,
    rate_per_second: 50.0,
    sources: &["https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token"],
};

/// Instagram through a Facebook Page: a [`Page`] network.
pub(super) static INSTAGRAM_BUSINESS: Page<InstagramBusiness> = Page(InstagramBusiness);

#[derive(Debug)]
pub(super) struct InstagramBusiness;

#[async_trait::async_trait]
impl PageNetwork for InstagramBusiness {
    const PROVIDER: Provider = Provider::InstagramBusiness;
    /// The account through the Page, then `debug_token` for whose grant it is.
    const PROBE_REQUESTS: u32 = 2;

    async fn probe(&self, ctx: Ctx<'_>, cx: &Context, channel: &Channel, token: &str) -> Verdict {
        let request = graph::get(ctx, &[channel.external_account_id.as_str()], &[("fields", "id,username")], token);
        match http::probe(request, Family::Graph, cx, &graph::secrets(ctx, token)).await.0 {
            // The Graph probe does not say whose grant the Page token is, and Meta's deauthorize
            // and data deletion callbacks name that person: `debug_token` tells. Its failure
            // leaves the grantor unknown this time and changes nothing else.
            Verdict::Valid(mut validity) => {
                if let Verdict::Valid(debugged) = facebook::debug_token(ctx, cx, token).await {
                    validity.grantor_id = debugged.grantor_id;
                }
                Verdict::Valid(validity)
            }
            refused => refused,
        }
    }

    /// The code gives the Page's token. Its account is `debug_token`'s `profile_id` (the
    /// contract's simplification: the real flow lists the person's Pages and reads each one's
    /// `instagram_business_account`), then the regular probe confirms the token reaches it and
    /// gives its username.
    async fn connect(&self, ctx: Ctx<'_>, granted: Granted) -> Result<Connected, Verdict> {
        let token = granted.tokens.access_token.expose_secret();
        let cx = Context::at(ctx.now);
        let debugged = match facebook::debug_token(ctx, &cx, token).await {
            Verdict::Valid(debugged) => debugged,
            refused => return Err(refused),
        };
        let Some(account) = debugged.account_id.clone() else {
            return Err(Verdict::Unknown("Instagram: debug_token did not say whose token this is".into()));
        };
        let request = graph::get(ctx, &[&account], &[("fields", "id,username")], token);
        let (probe, answer) = http::probe(request, Family::Graph, &cx, &graph::secrets(ctx, token)).await;
        let Verdict::Valid(_) = probe else { return Err(probe) };
        let name = answer.and_then(|a| a.str_at("/username"));
        let validity = Validity { account_id: Some(account), ..debugged };
        oauth::connected(Provider::InstagramBusiness, granted, Verdict::Valid(validity), name)
    }
}

/// Instagram login: the Graph [`Login`] life cycle.
pub(super) static INSTAGRAM_LOGIN: Login = Login {
    provider: Provider::InstagramLogin,
    probe_fields: "user_id,username",
    exchange_grant: "ig_exchange_token",
    refresh_grant: "ig_refresh_token",
};
