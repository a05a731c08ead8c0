//! A channel: one connected account of a team on a network (a Facebook page, a LinkedIn profile,
//! a YouTube channel…). Its tokens live encrypted in the store; this is what may be shown.

use chrono::{DateTime, Utc};

use super::{Health, MemberId, ParseError, Provider, TeamId, id_type, parse_label};

id_type!(
    /// A channel's row id; also the associated data its tokens are sealed with.
    ChannelId, "channel id"
);

/// The network's id for the account (page id, user id, channel id): what a reconnect must bring
/// back. 1–256 characters without whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalAccountId(String);

impl ExternalAccountId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let text = parse_label("account id", raw, 256)?;
        if text.chars().any(char::is_whitespace) {
            return Err(ParseError::new("account id", "must not contain spaces"));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ExternalAccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name people know the channel by ("Acme on Instagram"): 1–100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        parse_label("channel name", raw, 100).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DisplayName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The OAuth scopes a token was granted, kept sorted and without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses scopes separated by commas or whitespace, as providers and people write them.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let mut scopes: Vec<String> =
            raw.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        if let Some(bad) = scopes.iter().find(|s| s.len() > 200 || s.chars().any(char::is_control)) {
            return Err(ParseError::new("scopes", format!("`{bad}` is not a scope")));
        }
        scopes.sort();
        scopes.dedup();
        Ok(Self(scopes))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// What is needed to register a channel (its tokens come separately, as a `TokenSet`).
#[derive(Debug, Clone)]
pub struct NewChannel {
    pub team_id: TeamId,
    pub provider: Provider,
    pub external_account_id: ExternalAccountId,
    pub display_name: DisplayName,
    pub authorized_by: Option<MemberId>,
}

/// A channel as relink shows it. Token expiry and scopes are not secret and are kept in clear so
/// the scheduler never decrypts anything to decide when to look next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: ChannelId,
    pub team_id: TeamId,
    pub provider: Provider,
    pub external_account_id: ExternalAccountId,
    pub display_name: DisplayName,
    pub authorized_by: Option<MemberId>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub scopes: Scopes,
    pub last_activity_at: Option<DateTime<Utc>>,
    pub health: Health,
    pub next_check_at: DateTime<Utc>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Why a typed channel name did not pick exactly one channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelLookupError {
    #[error("no channel matches `{query}`{}", candidates_suffix(.candidates))]
    Unknown { query: String, candidates: Vec<String> },
    #[error("`{query}` matches several channels: {}", .candidates.join(", "))]
    Ambiguous { query: String, candidates: Vec<String> },
}

fn candidates_suffix(candidates: &[String]) -> String {
    if candidates.is_empty() {
        " (the team has no channels)".into()
    } else {
        format!(" (channels: {})", candidates.join(", "))
    }
}

/// The channel id a query spells out (`2`, `#2`), if it is one.
pub fn explicit_channel_id(query: &str) -> Option<i64> {
    query.trim().trim_start_matches('#').parse().ok()
}

/// Picks the channel a person meant: its id, its exact name (any case), or a unique prefix or
/// fragment of its name. Unknown and ambiguous names come back with the candidates.
///
/// An explicit id (`2`, `#2`) that is none of `channels` (another team's channel, a removed one)
/// is unknown: never a name that happens to contain the digits, which would act on a channel
/// the person did not name. Only a bare number that is exactly a channel's name still picks it.
pub fn find_channel<'a>(channels: &'a [Channel], query: &str) -> Result<&'a Channel, ChannelLookupError> {
    let wanted = query.trim().trim_start_matches('#').to_lowercase();
    let name = |c: &Channel| c.display_name.as_str().to_lowercase();
    let label = |c: &Channel| format!("{} (#{}, {})", c.display_name, c.id, c.provider.label());
    if let Some(id) = explicit_channel_id(query) {
        if let Some(found) = channels.iter().find(|c| c.id.0 == id) {
            return Ok(found);
        }
        let named: Vec<&Channel> = channels.iter().filter(|c| name(c) == wanted).collect();
        if let (false, [one]) = (query.trim().starts_with('#'), named.as_slice()) {
            return Ok(one);
        }
        return Err(ChannelLookupError::Unknown {
            query: query.trim().to_owned(),
            candidates: channels.iter().map(label).collect(),
        });
    }
    let tiers: [&dyn Fn(&Channel) -> bool; 3] =
        [&|c| name(c) == wanted, &|c| name(c).starts_with(&wanted), &|c| name(c).contains(&wanted)];
    for matches in tiers {
        let hits: Vec<&Channel> = channels.iter().filter(|c| !wanted.is_empty() && matches(c)).collect();
        match hits.as_slice() {
            [one] => return Ok(one),
            [] => continue,
            many => {
                return Err(ChannelLookupError::Ambiguous {
                    query: query.trim().to_owned(),
                    candidates: many.iter().map(|c| label(c)).collect(),
                });
            }
        }
    }
    Err(ChannelLookupError::Unknown {
        query: query.trim().to_owned(),
        candidates: channels.iter().map(label).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(id: i64, name: &str) -> Channel {
        Channel {
            id: ChannelId(id),
            team_id: TeamId(1),
            provider: Provider::Facebook,
            external_account_id: ExternalAccountId::parse("1").unwrap(),
            display_name: DisplayName::parse(name).unwrap(),
            authorized_by: None,
            token_expires_at: None,
            scopes: Scopes::default(),
            last_activity_at: None,
            health: Health::Unknown,
            next_check_at: DateTime::<Utc>::MIN_UTC,
            last_checked_at: None,
            created_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn channel_names_match_loosely_and_ambiguity_lists_candidates() {
        let channels = [channel(1, "Acme Facebook"), channel(2, "Acme Instagram"), channel(3, "Bakery")];
        let pick = |q: &str| find_channel(&channels, q).map(|c| c.id.0);
        assert_eq!(pick("acme facebook"), Ok(1));
        assert_eq!(pick("#2"), Ok(2));
        assert_eq!(pick("bak"), Ok(3));
        assert_eq!(pick("insta"), Ok(2));
        match find_channel(&channels, "acme") {
            Err(ChannelLookupError::Ambiguous { candidates, .. }) => assert_eq!(candidates.len(), 2),
            other => panic!("expected ambiguity, got {other:?}"),
        }
        let err = find_channel(&channels, "zebra").unwrap_err().to_string();
        assert!(err.contains("Bakery (#3, Facebook)"), "{err}");
        assert!(find_channel(&channels, "  ").is_err());
    }

    #[test]
    fn an_explicit_id_of_another_teams_channel_is_no_channel_never_a_name_with_its_digits() {
        let channels = [channel(1, "Acme Page 2"), channel(3, "2024"), channel(4, "Shop 7")];
        let pick = |q: &str| find_channel(&channels, q).map(|c| c.id.0);
        for query in ["2", "#2", " #2 ", "7", "#7", "202"] {
            assert!(
                matches!(find_channel(&channels, query), Err(ChannelLookupError::Unknown { .. })),
                "{query}: {:?}",
                pick(query)
            );
        }
        assert_eq!(pick("#4"), Ok(4));
        assert_eq!(pick("2024"), Ok(3), "a bare number that is exactly a channel's name");
        assert!(find_channel(&channels, "#2024").is_err(), "`#` says it is an id");
        let err = find_channel(&channels, "zebra").unwrap_err().to_string();
        assert!(err.contains("Shop 7 (#4, Facebook)"), "{err}");
        assert!(find_channel(&channels, "  ").is_err());
    }

    #[test]
    fn scopes_split_on_commas_and_spaces_and_are_deduplicated() {
        let scopes = Scopes::parse("pages_show_list, pages_manage_posts pages_show_list\tads_read").unwrap();
        assert_eq!(scopes.to_string(), "ads_read pages_manage_posts pages_show_list");
        assert!(scopes.contains("ads_read"));
        assert!(Scopes::parse("").unwrap().is_empty());
    }

    #[test]
    fn account_ids_and_names_name_their_field_when_wrong() {
        assert_eq!(ExternalAccountId::parse("12 34").unwrap_err().field, "account id");
        assert_eq!(ExternalAccountId::parse("").unwrap_err().field, "account id");
        assert_eq!(DisplayName::parse(&"x".repeat(101)).unwrap_err().field, "channel name");
        assert_eq!(DisplayName::parse(" Acme IG ").unwrap().as_str(), "Acme IG");
    }
}
