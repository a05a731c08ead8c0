//! Instagram, two ways in:
//! - [`InstagramBusiness`]: a business account reached through Facebook login. The channel holds
//!   its Page's token, which lives and dies as Facebook's (no renewal). Probe:
//!   `GET {ig-user-id}?fields=id,username` with that token, then `debug_token` for the person
//!   who granted it (whom Meta's callbacks name).
//! - [`INSTAGRAM_LOGIN`]: a professional account logged in on Instagram itself. 60-day tokens,
//!   extended with `ig_refresh_token` once a day old and before they end (the Graph [`Login`] life
//!   cycle). Probe: `GET me?fields=user_id,username`.
//!
//! Personal accounts lost their API with the Basic Display API in December 2024: not supported.
//! Sources: <https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login>,
//! <https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token>

use secrecy::ExposeSecret;
use url::Url;

use super::classify::{self, Context, Family};
use super::graph::{self, Login};
use super::oauth::{self, ClientAuth};
use super::{Adapter, Connected, Ctx, Renewed, Validity, Verdict, facebook, held_secrets, http, not_renewable};
use crate::domain::{Channel, Provider};
use crate::token::TokenSet;

#[derive(Debug)]
pub(super) struct InstagramBusiness;

#[async_trait::async_trait]
impl Adapter for InstagramBusiness {
    fn provider(&self) -> Provider {
        Provider::InstagramBusiness
    }

    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict {
        let token = tokens.access_token.expose_secret();
        let cx = Context::for_channel(channel, tokens, ctx.now);
        let request = graph::get(ctx, &[channel.external_account_id.as_str()], &[("fields", "id,username")], token);
        let verdict = match http::probe(request, Family::Graph, &cx, &graph::secrets(ctx, token)).await.0 {
            // The Graph probe does not say whose grant the Page token is, and Meta's deauthorize
            // and data deletion callbacks name that person: `debug_token` tells. Its failure
            // leaves the grantor unknown this time and changes nothing else.
            Verdict::Valid(mut validity) => {
                if let Verdict::Valid(debugged) = facebook::debug_token(ctx, &cx, token).await {
                    validity.grantor_id = debugged.grantor_id;
                }
                Verdict::Valid(validity)
            }
            refused => refused,
        };
        classify::redact(verdict, &held_secrets(ctx, tokens))
    }

    /// The Page token does not renew, as on Facebook.
    async fn renew(&self, _ctx: Ctx<'_>, _channel: &Channel, _tokens: &TokenSet) -> Renewed {
        not_renewable(Provider::InstagramBusiness)
    }

    fn authorize_url(
        &self,
        ctx: Ctx<'_>,
        redirect_uri: &Url,
        state: &str,
        pkce_challenge: Option<&str>,
    ) -> Option<Url> {
        Some(graph::authorize_url(ctx, Provider::InstagramBusiness, redirect_uri, state, pkce_challenge))
    }

    /// The code gives the Page's token. Its account is `debug_token`'s `profile_id` (the
    /// contract's simplification: the real flow lists the person's Pages and reads each one's
    /// `instagram_business_account`), then the regular probe confirms the token reaches it and
    /// gives its username.
    async fn exchange_code(
        &self,
        ctx: Ctx<'_>,
        code: &str,
        redirect_uri: &Url,
        pkce_verifier: Option<&str>,
    ) -> Result<Connected, Verdict> {
        let provider = Provider::InstagramBusiness;
        let granted = oauth::exchange_code(ctx, provider, ClientAuth::Form, code, redirect_uri, pkce_verifier).await?;
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
        oauth::connected(provider, granted, Verdict::Valid(Validity { account_id: Some(account), ..debugged }), name)
    }
}

/// Instagram login: the Graph [`Login`] life cycle.
pub(super) static INSTAGRAM_LOGIN: Login = Login {
    provider: Provider::InstagramLogin,
    probe_fields: "user_id,username",
    exchange_grant: "ig_exchange_token",
    refresh_grant: "ig_refresh_token",
};
