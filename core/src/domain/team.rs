//! A team: the workspace whose channels relink watches and whose admins it warns.

use chrono::{DateTime, Utc};

use super::{Language, ParseError, id_type, parse_label};

id_type!(
    /// A team's row id.
    TeamId, "team id"
);

/// A team's name, unique across the installation: 1–64 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        parse_label("team name", raw, 64).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TeamName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub name: TeamName,
    pub language: Language,
    pub created_at: DateTime<Utc>,
}
