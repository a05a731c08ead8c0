//! Facebook Pages. A channel holds a Page token: no time expiry (`expires_at: 0`), dead on a
//! password change, a lost Page role or the app's removal, and never renewed (a person reconnects):
//! a [`Page`] network.
//!
//! The probe is `debug_token`, signed with relink's app token (`client_id|client_secret`): it
//! costs the Page nothing and says why a token died. A top-level error there is about the app
//! token, so it goes to the operators (see [`rules`], beside the adapter).
//! Source: <https://developers.facebook.com/docs/graph-api/reference/debug_token>

use std::time::Duration;

use secrecy::ExposeSecret;

use super::classify::{Context, Family, fallback, graph_json, graph_label, int};
use super::graph::{Page, PageNetwork};
use super::http::{self, Answer};
use super::oauth::{self, Granted};
use super::policy::{Policy, Renewal};
use super::{Connected, Ctx, Verdict};
use crate::domain::{Channel, Provider};

/// What Facebook does with tokens (see [`Policy`]).
pub(super) const POLICY: Policy = Policy {
    provider: Provider::Facebook,
    // Long-lived user tokens last about 60 days; Page tokens made from them have no time expiry
    // (`expires_at: 0`) but die on password change, Page-role loss or app removal.
    access_lifetime: Some(Duration::from_secs(60 * 86_400)),
    renewal: Renewal::None,
    inactivity: None,
    probe: "GET /debug_token?input_token=TOKEN&access_token=APP_ID|APP_SECRET",
    default_api_base: "https://graph.facebook.com/v21.0/",
    default_authorize_url: "https://www.facebook.com/v21.0/dialog/oauth",
    default_token_url: "https://graph.facebook.com/v21.0/oauth/access_token",
    scopes: &["pages_show_list", "pages_read_engagement", "pages_manage_posts"],
    pkce: false,
    rate_per_second: 50.0,
    sources: &[
        "https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived",
        "https://developers.facebook.com/docs/graph-api/reference/debug_token",
        "https://developers.facebook.com/docs/graph-api/guides/error-handling",
    ],
};

/// Facebook's adapter: a [`Page`] network whose probe is `debug_token`.
pub(super) static FACEBOOK: Page<Facebook> = Page(Facebook);

#[derive(Debug)]
pub(super) struct Facebook;

#[async_trait::async_trait]
impl PageNetwork for Facebook {
    const PROVIDER: Provider = Provider::Facebook;

    async fn probe(&self, ctx: Ctx<'_>, cx: &Context, _channel: &Channel, token: &str) -> Verdict {
        debug_token(ctx, cx, token).await
    }

    async fn connect(&self, ctx: Ctx<'_>, granted: Granted) -> Result<Connected, Verdict> {
        let probe = debug_token(ctx, &Context::at(ctx.now), granted.tokens.access_token.expose_secret()).await;
        oauth::connected(Provider::Facebook, granted, probe, None)
    }
}

/// `GET debug_token?input_token=T&access_token=CLIENT_ID|SECRET`; the account is `profile_id`
/// (the Page) or `user_id`. Instagram via Facebook uses it too, to learn a new token's account.
pub(super) async fn debug_token(ctx: Ctx<'_>, cx: &Context, token: &str) -> Verdict {
    let secret = ctx.config.client_secret.expose_secret();
    let app_token = format!("{}|{secret}", ctx.config.client_id);
    let request = ctx
        .http
        .get(http::endpoint(&ctx.config.api_base, &["debug_token"]))
        .query(&[("input_token", token), ("access_token", app_token.as_str())]);
    http::probe(request, Family::DebugToken, cx, &[token, secret, &app_token]).await.0
}

/// Facebook's `debug_token`. The verdict on the channel's token is `data.is_valid` and
/// `data.error`; an error at the top level is about the app token relink signs the call with.
/// Source: <https://developers.facebook.com/docs/graph-api/reference/debug_token>
pub(super) fn rules(cx: &Context, answer: &Answer) -> Verdict {
    let Some(json) = answer.json() else { return fallback("Facebook debug_token", answer) };
    match json.get("error").filter(|e| e.is_object()) {
        Some(error) if matches!(int(error.get("code")), Some(100 | 101 | 102 | 104 | 190)) => {
            Verdict::Operator(format!(
                "Facebook refused relink's app token on debug_token ({}): check the app id and secret",
                graph_label(error)
            ))
        }
        _ => graph_json(cx, answer, &json),
    }
}

#[cfg(test)]
pub(super) mod tests {
    //! Facebook's rows of PROVIDERS.md's "What an answer means"; `classify`'s table test runs them
    //! again with every network's and the shared rules.

    use crate::provider::classify::testing::*;

    /// Facebook's cells of the table, one row per line.
    #[rustfmt::skip]
    pub(in crate::provider) fn rows() -> Vec<Row> {
        vec![
            // ---- Facebook debug_token
            (F::DebugToken, Cx::Live, 200, &[], s(r#"{"data":{"app_id":"1","type":"PAGE","is_valid":true,"expires_at":0,"scopes":["pages_show_list"],"profile_id":"99"}}"#), Want::Valid),
            (F::DebugToken, Cx::Live, 200, &[], debug_err(190, 460), Want::Dead(Reason::PasswordChanged)),
            (F::DebugToken, Cx::Live, 200, &[], debug_err(190, 458), Want::Dead(Reason::AppRevoked)),
            (F::DebugToken, Cx::Live, 200, &[], debug_err(190, 459), Want::Account(Reason::SecurityCheckpoint)),
            (F::DebugToken, Cx::Live, 200, &[], s(r#"{"data":{"is_valid":false,"expires_at":1700000000}}"#), Want::Dead(Reason::Expired)),
            // A top-level error is about relink's app token, not the channel's.
            (F::DebugToken, Cx::Live, 400, &[], graph_err(190, None), Want::Operator),
            (F::DebugToken, Cx::Live, 400, &[], graph_err(4, None), Want::Transient(None)),
        ]
    }

    #[test]
    fn every_facebook_answer_gets_its_class() {
        check(&rows());
    }
}
