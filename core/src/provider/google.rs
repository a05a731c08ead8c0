//! Google: YouTube and Business Profile, one adapter parametrised by the network. Access tokens
//! live an hour; the refresh token (`access_type=offline`, `prompt=consent` so it is issued again
//! on a reconnect) survives its use and dies when revoked, unused for six months, beyond 100 per
//! account and client, on a password change (Gmail scopes) or after 7 days while the app is in
//! "Testing".
//!
//! Validation never spends Data API quota (YouTube: 10,000 units a day). An access token that is
//! spent or about to be (within five minutes) is not probed: "renew now", and the refresh grant is
//! the check. Otherwise `GET tokeninfo`; its `invalid_token` also means "renew now" when a refresh
//! token exists. `validate` never stores tokens: "renew now" is a valid verdict whose access token
//! expires at `now` ([`Verdict::renew_now`]), and the checker renews, then stores what comes back.
//! Source: <https://developers.google.com/identity/protocols/oauth2#expiration>

use secrecy::ExposeSecret;
use url::Url;

use super::classify::{self, Context, Family};
use super::oauth::{self, ClientAuth};
use super::{Adapter, Connected, Ctx, Renewed, Verdict, held_secrets, http};
use crate::domain::{Channel, Provider};
use crate::token::TokenSet;

#[derive(Debug)]
pub(super) struct Google {
    provider: Provider,
}

pub(super) static YOUTUBE: Google = Google { provider: Provider::Youtube };
pub(super) static GOOGLE_BUSINESS: Google = Google { provider: Provider::GoogleBusiness };

#[async_trait::async_trait]
impl Adapter for Google {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn validate(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Verdict {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        if cx.refreshable && oauth::spent(tokens, ctx.now) {
            return Verdict::renew_now(ctx.now);
        }
        let verdict = tokeninfo(ctx, &cx, tokens.access_token.expose_secret()).await;
        classify::redact(verdict, &held_secrets(ctx, tokens))
    }

    async fn renew(&self, ctx: Ctx<'_>, channel: &Channel, tokens: &TokenSet) -> Renewed {
        let cx = Context::for_channel(channel, tokens, ctx.now);
        oauth::refresh(ctx, self.provider, ClientAuth::Form, &cx, tokens).await
    }

    /// Space-separated scopes, `access_type=offline` and `prompt=consent` (a refresh token every
    /// time), PKCE S256 when given.
    fn authorize_url(
        &self,
        ctx: Ctx<'_>,
        redirect_uri: &Url,
        state: &str,
        pkce_challenge: Option<&str>,
    ) -> Option<Url> {
        let scopes = ctx.config.requested_scopes(self.provider, " ");
        let pkce = oauth::pkce(self.provider, pkce_challenge);
        let extra = [("access_type", "offline"), ("prompt", "consent")];
        Some(oauth::authorize_url(ctx, redirect_uri, state, &scopes, pkce, &extra))
    }

    async fn exchange_code(
        &self,
        ctx: Ctx<'_>,
        code: &str,
        redirect_uri: &Url,
        pkce_verifier: Option<&str>,
    ) -> Result<Connected, Verdict> {
        let granted =
            oauth::exchange_code(ctx, self.provider, ClientAuth::Form, code, redirect_uri, pkce_verifier).await?;
        let probe = tokeninfo(ctx, &Context::at(ctx.now), granted.tokens.access_token.expose_secret()).await;
        oauth::connected(self.provider, granted, probe, None)
    }
}

/// `GET tokeninfo?access_token=T`; the account is `sub`.
async fn tokeninfo(ctx: Ctx<'_>, cx: &Context, token: &str) -> Verdict {
    let request = ctx.http.get(http::endpoint(&ctx.config.api_base, &["tokeninfo"])).query(&[("access_token", token)]);
    http::probe(request, Family::Google, cx, &[token, ctx.config.client_secret.expose_secret()]).await.0
}
