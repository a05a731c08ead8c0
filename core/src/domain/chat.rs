//! Chat bindings: a Discord channel or Telegram chat that receives a team's alerts.

use chrono::{DateTime, Utc};

use super::{ParseError, TeamId, keyword_enum};

keyword_enum! {
    /// A chat platform relink talks on.
    ChatPlatform, "platform", {
        Discord => "discord",
        Telegram => "telegram" | "tg",
    }
}

impl ChatPlatform {
    /// Parses a chat id as the platform writes it: a Discord channel snowflake (positive) or a
    /// Telegram chat id (negative for groups and channels).
    pub fn parse_chat_id(self, raw: &str) -> Result<i64, ParseError> {
        let parsed = raw.trim().parse::<i64>().ok();
        match (self, parsed) {
            (ChatPlatform::Discord, Some(id)) if id > 0 => Ok(id),
            (ChatPlatform::Telegram, Some(id)) if id != 0 => Ok(id),
            _ => Err(ParseError::new("chat id", format!("`{}` is not a {self} chat id", raw.trim()))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatBinding {
    pub team_id: TeamId,
    pub platform: ChatPlatform,
    pub chat_id: i64,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_ids_follow_each_platform_rules() {
        assert_eq!(ChatPlatform::Telegram.parse_chat_id("-1001234").unwrap(), -1001234);
        assert!(ChatPlatform::Discord.parse_chat_id("-5").is_err());
        assert_eq!(ChatPlatform::Discord.parse_chat_id("abc").unwrap_err().field, "chat id");
    }
}
