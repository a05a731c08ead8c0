//! What a network does with tokens, as data: the [`Policy`] type, and [`policy`], which finds a
//! network's row. Each row lives in its network's file, beside its adapter and its answer rules
//! (`x::POLICY`…). Each fact carries its source; facts marked "uncertain" in PROVIDERS.md are
//! defaults an operator can override, never assumptions. The tests here read every row.
//!
//! Endpoint paths are the networks' real ones, relative to the configured base URLs, so the
//! simulator serves the same paths under `/{provider}/`.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::ProviderConfig;
use crate::domain::Provider;

/// How a network lets a token be renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// No renewal: a person reconnects when the token ends.
    None,
    /// A still-valid token can be exchanged for a longer one once it is `min_age` old; an expired
    /// one cannot. Extend about a day early.
    ExtendWhileValid { min_age: Duration },
    /// A refresh token that survives its use (Google, LinkedIn partner apps).
    RefreshToken,
    /// A single-use refresh token, rotated on every refresh; reusing an old one may kill the
    /// grant. Refresh late, under a lease, and store what comes back before anything else.
    RotatingRefreshToken,
}

/// One network's token facts.
#[derive(Debug, Clone)]
pub struct Policy {
    pub provider: Provider,
    /// How long an access token lives; `None`: no natural expiry.
    pub access_lifetime: Option<Duration>,
    pub renewal: Renewal,
    /// Tokens lapse after this long without publishing activity through the tool.
    pub inactivity: Option<Duration>,
    /// The probe, in words (for documentation and `relink providers`).
    pub probe: &'static str,
    pub default_api_base: &'static str,
    pub default_authorize_url: &'static str,
    pub default_token_url: &'static str,
    /// Scopes relink asks for when a person reconnects.
    pub scopes: &'static [&'static str],
    pub pkce: bool,
    /// Default checks per second against this network, per process.
    pub rate_per_second: f64,
    pub sources: &'static [&'static str],
}

pub(super) const DAY: Duration = Duration::from_secs(86_400);
pub(super) const HOUR: Duration = Duration::from_secs(3_600);

/// The policy of a network.
pub fn policy(provider: Provider) -> &'static Policy {
    match provider {
        Provider::Facebook => &super::facebook::POLICY,
        Provider::InstagramBusiness => &super::instagram::BUSINESS_POLICY,
        Provider::InstagramLogin => &super::instagram::LOGIN_POLICY,
        Provider::Linkedin => &super::linkedin::POLICY,
        Provider::X => &super::x::POLICY,
        Provider::Pinterest => &super::pinterest::POLICY,
        Provider::Youtube => &super::google::YOUTUBE_POLICY,
        Provider::GoogleBusiness => &super::google::GOOGLE_BUSINESS_POLICY,
        Provider::Telegram => &super::telegram::POLICY,
        Provider::Threads => &super::threads::POLICY,
        Provider::GenericOauth2 => &super::generic::POLICY,
    }
}

impl Policy {
    /// The public endpoints, without app credentials.
    pub fn default_config(&self) -> ProviderConfig {
        ProviderConfig {
            api_base: Url::parse(self.default_api_base).expect("policy URLs are valid"),
            authorize_url: Url::parse(self.default_authorize_url).expect("policy URLs are valid"),
            token_url: Url::parse(self.default_token_url).expect("policy URLs are valid"),
            client_id: String::new(),
            client_secret: SecretString::from(String::new()),
            rate_per_second: self.rate_per_second,
            scopes: None,
        }
    }

    /// Every endpoint under one root (`{root}api/`, `{root}authorize`, `{root}token`): the
    /// layout of the provider simulator.
    pub fn config_under(
        &self,
        root: &Url,
        client_id: &str,
        client_secret: &str,
        rate_per_second: f64,
    ) -> ProviderConfig {
        let join = |path: &str| root.join(path).expect("simulator paths are valid");
        ProviderConfig {
            api_base: join("api/"),
            authorize_url: join("authorize"),
            token_url: join("token"),
            client_id: client_id.to_owned(),
            client_secret: SecretString::from(client_secret.to_owned()),
            rate_per_second,
            scopes: None,
        }
    }

    /// Whether relink can renew this network's tokens without a person.
    pub fn renews_itself(&self) -> bool {
        self.renewal != Renewal::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_has_a_policy_with_sources_and_valid_urls() {
        for provider in Provider::ALL {
            let policy = policy(*provider);
            assert_eq!(policy.provider, *provider);
            assert!(!policy.sources.is_empty(), "{provider} has no source");
            let config = policy.default_config();
            assert!(config.api_base.as_str().ends_with('/'), "{provider}: api_base must end with / to join paths");
            assert!(policy.rate_per_second > 0.0);
        }
    }

    #[test]
    fn the_seed_lifetimes_are_encoded() {
        let days = |p: Provider| policy(p).access_lifetime.map(|d| d.as_secs() / 86_400);
        assert_eq!(days(Provider::Facebook), Some(60));
        assert_eq!(days(Provider::Linkedin), Some(60));
        assert_eq!(days(Provider::Telegram), None);
        assert_eq!(policy(Provider::Pinterest).inactivity, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(policy(Provider::X).renewal, Renewal::RotatingRefreshToken);
        assert!(policy(Provider::Youtube).renews_itself());
        assert!(!policy(Provider::Facebook).renews_itself());
    }
}
