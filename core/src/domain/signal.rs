//! Push signals: a network (or Telegram) telling relink that a grant may have ended. A signal
//! names a person or an account, never a relink channel, and it is never believed by itself:
//! the channels it names are checked at once and the check decides (see `crate::signals`).

use chrono::{DateTime, Utc};

use super::Provider;

/// Whom a push signal is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A chat where relink's bot was added, removed, promoted or demoted (`my_chat_member`):
    /// the Telegram channels whose account is `chat_id` or `@username`.
    TelegramChat { chat_id: i64, username: Option<String> },
    /// A Facebook user (app-scoped id) who removed relink's app or asked for their data to be
    /// deleted: Facebook and Instagram-via-Facebook channels granted by (or being) that user.
    FacebookUser(String),
    /// A Google account (`sub`): YouTube and Google Business Profile channels of that account.
    GoogleAccount(String),
}

impl Subject {
    /// The networks whose channels the subject can name.
    pub fn providers(&self) -> &'static [Provider] {
        match self {
            Subject::TelegramChat { .. } => &[Provider::Telegram],
            Subject::FacebookUser(_) => &[Provider::Facebook, Provider::InstagramBusiness],
            Subject::GoogleAccount(_) => &[Provider::Youtube, Provider::GoogleBusiness],
        }
    }

    /// The account ids a channel of the subject may be stored under.
    pub fn account_ids(&self) -> Vec<String> {
        match self {
            Subject::TelegramChat { chat_id, username } => {
                let mut ids = vec![chat_id.to_string()];
                if let Some(name) = username.as_deref().map(|n| n.trim_start_matches('@')).filter(|n| !n.is_empty()) {
                    ids.push(format!("@{name}"));
                }
                ids
            }
            Subject::FacebookUser(id) | Subject::GoogleAccount(id) => vec![id.clone()],
        }
    }

    /// The grantor id a channel of the subject may carry (people, not chats, grant tokens).
    pub fn grantor_id(&self) -> Option<&str> {
        match self {
            Subject::TelegramChat { .. } => None,
            Subject::FacebookUser(id) | Subject::GoogleAccount(id) => Some(id),
        }
    }
}

/// Where a signal came from: the metric label, the receipts' namespace, the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Telegram,
    FacebookDeauthorize,
    FacebookDataDeletion,
    GoogleRisc,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Telegram => "telegram",
            Source::FacebookDeauthorize => "facebook_deauthorize",
            Source::FacebookDataDeletion => "facebook_data_deletion",
            Source::GoogleRisc => "google_risc",
        }
    }
}

/// A data deletion request (Meta's callback) as its status page shows it. It names nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDeletion {
    pub provider: Provider,
    pub requested_at: DateTime<Utc>,
    /// How many channels' tokens were deleted.
    pub channels: usize,
    pub completed_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_telegram_chat_is_found_by_its_id_or_its_username() {
        let subject = Subject::TelegramChat { chat_id: -1001234, username: Some("news".into()) };
        assert_eq!(subject.account_ids(), vec!["-1001234".to_owned(), "@news".to_owned()]);
        assert_eq!(subject.grantor_id(), None);
        let nameless = Subject::TelegramChat { chat_id: -5, username: Some("@".into()) };
        assert_eq!(nameless.account_ids(), vec!["-5".to_owned()]);
    }

    #[test]
    fn a_facebook_user_names_facebook_and_instagram_via_facebook() {
        let subject = Subject::FacebookUser("10223".into());
        assert_eq!(subject.providers(), &[Provider::Facebook, Provider::InstagramBusiness]);
        assert_eq!(subject.grantor_id(), Some("10223"));
    }
}
