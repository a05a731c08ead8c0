//! The words of Discord's own layout, in English, Italian and Japanese: the embed's field
//! names and the alert buttons' labels. What an alert says (title, explanation, remedy) comes
//! localized with the alert; reasons' short labels and command answers come from the command
//! layer's words.

use relink_core::Language;

/// One language's words for Discord.
#[derive(Debug)]
pub struct Words {
    pub reason: &'static str,
    pub expiry: &'static str,
    pub at_risk: &'static str,
    pub authorised_by: &'static str,
    pub channels: &'static str,
    /// `{count}` and `{date}`.
    pub at_risk_value: &'static str,
    pub nothing_at_risk: &'static str,
    pub nobody: &'static str,
    pub get_link: &'static str,
    /// `{name}`.
    pub reconnect_channel: &'static str,
}

const EN: Words = Words {
    reason: "Reason",
    expiry: "Access ends",
    at_risk: "Posts at risk",
    authorised_by: "Authorised by",
    channels: "Channels",
    at_risk_value: "{count} (the first on {date})",
    nothing_at_risk: "None",
    nobody: "Not recorded",
    get_link: "Get reconnect link",
    reconnect_channel: "Reconnect {name}",
};

const IT: Words = Words {
    reason: "Motivo",
    expiry: "Fine dell'accesso",
    at_risk: "Post a rischio",
    authorised_by: "Autorizzato da",
    channels: "Canali",
    at_risk_value: "{count} (il primo il {date})",
    nothing_at_risk: "Nessuno",
    nobody: "Non registrato",
    get_link: "Ricevi il link di ricollegamento",
    reconnect_channel: "Ricollega {name}",
};

const JA: Words = Words {
    reason: "原因",
    expiry: "アクセス期限",
    at_risk: "影響を受ける予約投稿",
    authorised_by: "認証したメンバー",
    channels: "チャンネル",
    at_risk_value: "{count}件（最初は{date}）",
    nothing_at_risk: "なし",
    nobody: "記録なし",
    get_link: "再接続リンクを受け取る",
    reconnect_channel: "{name} を再接続",
};

/// A language's words.
pub fn words(language: Language) -> &'static Words {
    match language {
        Language::En => &EN,
        Language::It => &IT,
        Language::Ja => &JA,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn italian_and_japanese_have_their_own_words() {
        for language in [Language::It, Language::Ja] {
            let words = words(language);
            let pairs = [
                (words.reason, EN.reason),
                (words.at_risk, EN.at_risk),
                (words.authorised_by, EN.authorised_by),
                (words.get_link, EN.get_link),
                (words.reconnect_channel, EN.reconnect_channel),
            ];
            for (own, english) in pairs {
                assert_ne!(own, english, "{language}");
            }
        }
    }
}
