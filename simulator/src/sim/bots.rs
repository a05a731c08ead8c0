//! Telegram bots: the tokens Telegram "accounts" (chats) are issued, and @BotFather revoking one.

use relink_core::Provider;
use serde::{Deserialize, Serialize};

use super::{SimError, Simulator};
use crate::account::{read, write};

/// A Telegram bot: its id and token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramBot {
    pub id: u64,
    pub token: String,
}

#[derive(Debug)]
pub(crate) struct Bot {
    pub id: u64,
    pub token: String,
    pub revoked: bool,
}

impl Simulator {
    /// Adds a bot; it is an admin that may post in every chat.
    pub fn add_telegram_bot(&self) -> TelegramBot {
        let mut bots = write(&self.inner.bots);
        let id = 7_000_000_001 + bots.len() as u64;
        let token = self.inner.codec.bot_token(id);
        bots.push(Bot { id, token: token.clone(), revoked: false });
        TelegramBot { id, token }
    }

    /// The first bot, created on first use: the token Telegram accounts are issued.
    pub fn telegram_bot(&self) -> TelegramBot {
        if let Some(bot) = read(&self.inner.bots).first() {
            return TelegramBot { id: bot.id, token: bot.token.clone() };
        }
        let mut bots = write(&self.inner.bots);
        if bots.is_empty() {
            let id = 7_000_000_001;
            bots.push(Bot { id, token: self.inner.codec.bot_token(id), revoked: false });
        }
        let bot = &bots[0];
        TelegramBot { id: bot.id, token: bot.token.clone() }
    }

    /// @BotFather revoked the token: every request with it answers 401, in every chat.
    pub fn revoke_telegram_bot(&self, bot_id: u64) -> Result<(), SimError> {
        let mut bots = write(&self.inner.bots);
        let bot = bots.iter_mut().find(|b| b.id == bot_id).ok_or(SimError::UnknownBot(bot_id))?;
        bot.revoked = true;
        Ok(())
    }

    pub(super) fn bot_token_for(&self, provider: Provider) -> Option<String> {
        (provider == Provider::Telegram).then(|| self.telegram_bot().token)
    }
}
