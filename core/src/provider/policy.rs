//! What each network does with tokens, as data. Each fact carries its source; facts marked
//! "uncertain" in PROVIDERS.md are defaults an operator can override, never assumptions.
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

const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3_600);

const FACEBOOK: Policy = Policy {
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

const INSTAGRAM_BUSINESS: Policy = Policy {
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

const INSTAGRAM_LOGIN: Policy = Policy {
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

const LINKEDIN: Policy = Policy {
    provider: Provider::Linkedin,
    access_lifetime: Some(Duration::from_secs(60 * 86_400)),
    // Refresh tokens only for approved partner apps; their 365 days count from the first grant.
    renewal: Renewal::RefreshToken,
    inactivity: None,
    probe: "POST /introspectToken (token, client_id, client_secret)",
    default_api_base: "https://www.linkedin.com/oauth/v2/",
    default_authorize_url: "https://www.linkedin.com/oauth/v2/authorization",
    default_token_url: "https://www.linkedin.com/oauth/v2/accessToken",
    scopes: &["openid", "profile", "w_member_social"],
    pkce: false,
    rate_per_second: 20.0,
    sources: &[
        "https://learn.microsoft.com/en-us/linkedin/shared/authentication/token-introspection",
        "https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens",
    ],
};

const X: Policy = Policy {
    provider: Provider::X,
    // OAuth 2.0 user tokens last two hours; the offline.access refresh token is single-use.
    access_lifetime: Some(Duration::from_secs(2 * 3_600)),
    renewal: Renewal::RotatingRefreshToken,
    inactivity: None,
    probe: "GET /2/users/me (a billed read: probe sparingly)",
    default_api_base: "https://api.x.com/",
    default_authorize_url: "https://x.com/i/oauth2/authorize",
    default_token_url: "https://api.x.com/2/oauth2/token",
    scopes: &["tweet.read", "tweet.write", "users.read", "offline.access"],
    pkce: true,
    rate_per_second: 5.0,
    sources: &["https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code"],
};

const PINTEREST: Policy = Policy {
    provider: Provider::Pinterest,
    access_lifetime: Some(Duration::from_secs(30 * 86_400)),
    // "Continuous refresh" for new apps; rotation details uncertain: always store what comes back.
    renewal: Renewal::RotatingRefreshToken,
    // The seeds' "30 days without publishing activity" (configurable).
    inactivity: Some(Duration::from_secs(30 * 86_400)),
    probe: "GET /user_account",
    default_api_base: "https://api.pinterest.com/v5/",
    default_authorize_url: "https://www.pinterest.com/oauth/",
    default_token_url: "https://api.pinterest.com/v5/oauth/token",
    scopes: &["boards:read", "pins:read", "pins:write", "user_accounts:read"],
    pkce: false,
    rate_per_second: 10.0,
    sources: &["https://developers.pinterest.com/docs/getting-started/authentication-and-scopes/"],
};

const YOUTUBE: Policy = Policy {
    provider: Provider::Youtube,
    access_lifetime: Some(HOUR),
    // Google refresh tokens die when revoked, unused for six months, beyond 100 per account and
    // client, or after 7 days while the app is in "Testing".
    renewal: Renewal::RefreshToken,
    inactivity: None,
    probe: "the refresh grant itself, or GET /tokeninfo?access_token=… (never a quota-metered Data API call)",
    default_api_base: "https://oauth2.googleapis.com/",
    default_authorize_url: "https://accounts.google.com/o/oauth2/v2/auth",
    default_token_url: "https://oauth2.googleapis.com/token",
    // `profile`: Google sends Cross-Account Protection events (the RISC push signal) only for
    // people who granted `profile` or `email` (https://developers.google.com/identity/protocols/risc).
    scopes: &[
        "https://www.googleapis.com/auth/youtube.upload",
        "https://www.googleapis.com/auth/youtube.readonly",
        "profile",
    ],
    pkce: true,
    rate_per_second: 20.0,
    sources: &["https://developers.google.com/identity/protocols/oauth2#expiration"],
};

const GOOGLE_BUSINESS: Policy = Policy {
    provider: Provider::GoogleBusiness,
    scopes: &["https://www.googleapis.com/auth/business.manage", "profile"],
    ..YOUTUBE
};

const TELEGRAM: Policy = Policy {
    provider: Provider::Telegram,
    // The bot token never expires; @BotFather revokes it. Per channel: the bot must stay an admin
    // with the right to post.
    access_lifetime: None,
    renewal: Renewal::None,
    inactivity: None,
    probe: "POST /bot{token}/getChat and /bot{token}/getChatMember (chat, the bot)",
    default_api_base: "https://api.telegram.org/",
    default_authorize_url: "https://t.me/BotFather",
    default_token_url: "https://api.telegram.org/",
    scopes: &[],
    pkce: false,
    rate_per_second: 20.0,
    sources: &["https://core.telegram.org/bots/api#getchatmember", "https://core.telegram.org/bots/faq"],
};

const THREADS: Policy = Policy {
    provider: Provider::Threads,
    access_lifetime: Some(Duration::from_secs(60 * 86_400)),
    renewal: Renewal::ExtendWhileValid { min_age: DAY },
    inactivity: None,
    probe: "GET /me?fields=id,username",
    default_api_base: "https://graph.threads.net/",
    default_authorize_url: "https://threads.net/oauth/authorize",
    default_token_url: "https://graph.threads.net/oauth/access_token",
    scopes: &["threads_basic", "threads_content_publish"],
    pkce: false,
    rate_per_second: 20.0,
    sources: &["https://developers.facebook.com/docs/threads/get-started/long-lived-tokens"],
};

/// A network the operator declares: any OAuth 2.0 authorization server with an OpenID Connect
/// UserInfo endpoint (`{api_base}userinfo`, whose `sub` names the account). Lifetimes come from
/// the token answers; refresh tokens, when issued, are used and never assumed to rotate (what
/// comes back is stored either way). PKCE S256 always (RFC 9700 recommends it to every client,
/// and RFC 6749 servers ignore parameters they do not know). The endpoints have no public
/// default: `[providers.oauth2]` must name them.
const GENERIC_OAUTH2: Policy = Policy {
    provider: Provider::GenericOauth2,
    access_lifetime: None,
    renewal: Renewal::RefreshToken,
    inactivity: None,
    probe: "GET {api_base}userinfo with the bearer token (OpenID Connect UserInfo): sub names the account",
    default_api_base: "https://oauth2.invalid/",
    default_authorize_url: "https://oauth2.invalid/authorize",
    default_token_url: "https://oauth2.invalid/token",
    scopes: &["openid"],
    pkce: true,
    rate_per_second: 10.0,
    sources: &[
        "https://www.rfc-editor.org/rfc/rfc6749",
        "https://www.rfc-editor.org/rfc/rfc9700",
        "https://openid.net/specs/openid-connect-core-1_0.html#UserInfo",
    ],
};

/// The policy of a network.
pub fn policy(provider: Provider) -> &'static Policy {
    match provider {
        Provider::Facebook => &FACEBOOK,
        Provider::InstagramBusiness => &INSTAGRAM_BUSINESS,
        Provider::InstagramLogin => &INSTAGRAM_LOGIN,
        Provider::Linkedin => &LINKEDIN,
        Provider::X => &X,
        Provider::Pinterest => &PINTEREST,
        Provider::Youtube => &YOUTUBE,
        Provider::GoogleBusiness => &GOOGLE_BUSINESS,
        Provider::Telegram => &TELEGRAM,
        Provider::Threads => &THREADS,
        Provider::GenericOauth2 => &GENERIC_OAUTH2,
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
