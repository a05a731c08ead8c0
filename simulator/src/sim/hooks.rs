//! What the networks push to relink instead of waiting to be asked: Meta's deauthorize and data
//! deletion callbacks, sent the way Meta sends them (a form POST of `signed_request`, signed with
//! the app secret the simulator knows).
//!
//! Where to send is a setting ([`Hooks`], `POST /_sim/settings {"hooks": {…}}`): `relink demo`
//! points it at its own web server. Nothing is sent while a hook is unset. When a switch removes
//! relink's app for a Facebook or Instagram-via-Facebook account, [`Simulator::apply`] sends the
//! deauthorize callback in the background; the data deletion request is sent on demand
//! ([`Simulator::request_data_deletion`], `POST /_sim/facebook/data-deletion`).
//!
//! The signer is the simulator's own (see the crate's invariant): relink's verifier must agree
//! with it through the wire format alone.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use relink_core::Provider;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::account::{lock, read};
use crate::sim::{SimError, Simulator};

/// Where the simulator sends what it pushes. `None`: not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Hooks {
    /// Meta's Deauthorize Callback URL (relink: `{public_url}/hooks/facebook/deauthorize`).
    pub facebook_deauthorize: Option<Url>,
    /// Meta's Data Deletion Request URL (relink: `{public_url}/hooks/facebook/data-deletion`).
    pub facebook_data_deletion: Option<Url>,
    /// Google's Cross-Account Protection receiver (relink: `{public_url}/hooks/google/risc`).
    pub google_risc: Option<Url>,
}

impl Hooks {
    /// Both of Meta's callbacks under relink's public URL.
    pub fn relink_at(public_url: &Url) -> Self {
        let under = |path: &str| {
            let mut url = public_url.clone();
            url.set_query(None);
            if let Ok(mut segments) = url.path_segments_mut() {
                segments.pop_if_empty().extend(path.split('/'));
            }
            url
        };
        Self {
            facebook_deauthorize: Some(under("hooks/facebook/deauthorize")),
            facebook_data_deletion: Some(under("hooks/facebook/data-deletion")),
            google_risc: Some(under("hooks/google/risc")),
        }
    }
}

/// How long the simulator waits for relink to answer a callback.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a provider's grants are given to relink's Meta app (removing the app removes them all).
pub(crate) fn meta_app(provider: Provider) -> bool {
    matches!(provider, Provider::Facebook | Provider::InstagramBusiness)
}

/// `base64url(HMAC-SHA256(payload_b64, secret)) "." payload_b64`, no padding, as Meta signs.
pub fn sign(payload: &Value, secret: &str) -> String {
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    let signature = match hmac::Hmac::<sha2_v011::Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(payload.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("{signature}.{payload}")
}

/// What relink answered a callback.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookAnswer {
    pub status: u16,
    /// The answer's JSON, or `null` when it was not JSON.
    pub body: Value,
}

impl Simulator {
    /// Replaces where pushes go.
    pub fn set_hooks(&self, hooks: Hooks) {
        *lock(&self.inner.hooks) = hooks;
    }

    pub fn hooks(&self) -> Hooks {
        lock(&self.inner.hooks).clone()
    }

    /// A `signed_request` for `user_id`, issued now and signed with the app secret, as Meta
    /// sends to both callbacks.
    pub fn signed_request(&self, user_id: &str) -> String {
        let payload = json!({
            "algorithm": "HMAC-SHA256",
            "issued_at": self.now().timestamp(),
            "user_id": user_id,
        });
        sign(&payload, &self.config().client_secret)
    }

    /// The id Meta's callbacks name an account's person by: the `user_id` `debug_token` reports.
    fn meta_user(&self, provider: Provider, account: &str) -> Result<String, SimError> {
        if !meta_app(provider) {
            return Err(SimError::NotApplicable { provider, what: "Meta's callbacks".to_owned() });
        }
        Ok(self.report(provider, account)?.user)
    }

    /// The person behind the account removed relink's Meta app: every Facebook and
    /// Instagram-via-Facebook grant of that person dies, and the deauthorize callback is sent in
    /// the background when one is set (called by [`Simulator::apply`]).
    pub(crate) fn remove_meta_app(&self, provider: Provider, index: u32) {
        let user = self.peek(provider, index, |state, _| state.user.clone()).flatten();
        let targets: Vec<(Provider, u32)> = match &user {
            Some(user) => read(&self.inner.directory)
                .users
                .get(user)
                .map(|all| all.iter().copied().filter(|(p, _)| meta_app(*p)).collect())
                .unwrap_or_default(),
            None => vec![(provider, index)],
        };
        for (provider, index) in targets {
            self.revoke_at(provider, index, crate::Revocation::AppRemoved);
        }
        let Some(url) = self.hooks().facebook_deauthorize else { return };
        let user_id = match user {
            Some(user) => user.to_string(),
            None => match self.tokens_at(provider, index) {
                Some(issued) => issued.user,
                None => return,
            },
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("simulator: no runtime to send the deauthorize callback from");
            return;
        };
        let signed = self.signed_request(&user_id);
        runtime.spawn(async move {
            match post_signed(&url, &signed).await {
                Ok(answer) => tracing::debug!(status = answer.status, "simulator: deauthorize callback sent"),
                Err(error) => tracing::warn!(%error, "simulator: deauthorize callback failed"),
            }
        });
    }

    /// Sends Meta's deauthorize callback for the account's person now, as the app's removal
    /// would, and returns relink's answer. Does not revoke anything (see [`Switch::RevokeApp`]).
    ///
    /// [`Switch::RevokeApp`]: crate::Switch::RevokeApp
    pub async fn send_deauthorize(&self, provider: Provider, account: &str) -> Result<HookAnswer, SimError> {
        let user = self.meta_user(provider, account)?;
        let url = self.hooks().facebook_deauthorize.ok_or_else(|| no_hook("facebook_deauthorize"))?;
        post_signed(&url, &self.signed_request(&user)).await
    }

    /// The account's person asks relink's Meta app to delete their data (Facebook: Settings →
    /// Apps and Websites → Send request): sends the data deletion callback and returns relink's
    /// answer (`{"url": …, "confirmation_code": …}`).
    pub async fn request_data_deletion(&self, provider: Provider, account: &str) -> Result<HookAnswer, SimError> {
        let user = self.meta_user(provider, account)?;
        let url = self.hooks().facebook_data_deletion.ok_or_else(|| no_hook("facebook_data_deletion"))?;
        post_signed(&url, &self.signed_request(&user)).await
    }
}

fn no_hook(name: &str) -> SimError {
    SimError::BadInput(format!("no `hooks.{name}` URL is set (POST /_sim/settings)"))
}

/// POSTs `signed_request=…` as a form, the way Meta calls both callbacks.
pub async fn post_signed(url: &Url, signed_request: &str) -> Result<HookAnswer, SimError> {
    let body =
        url::form_urlencoded::Serializer::new(String::new()).append_pair("signed_request", signed_request).finish();
    let client = reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| SimError::BadInput(format!("cannot build an HTTP client: {error}")))?;
    let response = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|error| SimError::BadInput(format!("relink did not answer the callback: {error}")))?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(HookAnswer { status, body })
}
