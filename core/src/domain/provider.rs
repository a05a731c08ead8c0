//! The social networks relink knows. What each one does with tokens (lifetime, renewal, probe,
//! error meanings) is policy data, kept beside the provider adapters; this is only the name.

use super::keyword_enum;

keyword_enum! {
    /// A social network a channel is connected through.
    Provider, "provider", {
        Facebook => "facebook" | "fb" | "facebook_page" | "facebook_pages",
        InstagramBusiness => "instagram_business" | "ig_business" | "instagram_facebook" | "instagram_via_facebook",
        InstagramLogin => "instagram_login" | "ig_login" | "instagram_professional",
        Linkedin => "linkedin" | "li" | "linked_in",
        X => "x" | "twitter",
        Pinterest => "pinterest",
        Youtube => "youtube" | "yt",
        GoogleBusiness => "google_business" | "gbp" | "google_business_profile" | "google_my_business",
        Telegram => "telegram" | "tg",
        Threads => "threads",
        GenericOauth2 => "oauth2" | "generic" | "generic_oauth2" | "oidc",
    }
}

impl Provider {
    /// The name people know the network by, for messages and tables.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Facebook => "Facebook",
            Provider::InstagramBusiness => "Instagram (via Facebook)",
            Provider::InstagramLogin => "Instagram (Instagram login)",
            Provider::Linkedin => "LinkedIn",
            Provider::X => "X",
            Provider::Pinterest => "Pinterest",
            Provider::Youtube => "YouTube",
            Provider::GoogleBusiness => "Google Business Profile",
            Provider::Telegram => "Telegram",
            Provider::Threads => "Threads",
            Provider::GenericOauth2 => "OAuth 2.0 network",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_accept_the_names_people_use() {
        let table = [
            ("facebook", Provider::Facebook),
            ("FB", Provider::Facebook),
            ("instagram-business", Provider::InstagramBusiness),
            ("instagram login", Provider::InstagramLogin),
            ("LinkedIn", Provider::Linkedin),
            ("twitter", Provider::X),
            ("x", Provider::X),
            ("pinterest", Provider::Pinterest),
            ("YouTube", Provider::Youtube),
            ("gbp", Provider::GoogleBusiness),
            ("google-business", Provider::GoogleBusiness),
            ("telegram", Provider::Telegram),
        ];
        for (raw, provider) in table {
            assert_eq!(raw.parse::<Provider>().unwrap(), provider, "{raw}");
        }
        for provider in Provider::ALL {
            assert_eq!(provider.as_str().parse::<Provider>().unwrap(), *provider);
        }
    }

    #[test]
    fn an_ambiguous_or_unknown_provider_lists_the_valid_ones() {
        for raw in ["instagram", "myspace", ""] {
            let err = raw.parse::<Provider>().unwrap_err();
            assert_eq!(err.field, "provider");
            assert!(err.message.contains("instagram_business, instagram_login"), "{err}");
        }
    }
}
