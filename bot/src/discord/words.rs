//! The words of Discord's own layout, in English, Italian and Japanese: embed field names, the
//! short label of each reason, button labels and the answers to the "Get reconnect link"
//! button. What an alert says (title, explanation, remedy) comes localized with the alert.

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
    pub here_is_your_link: &'static str,
    pub not_allowed: &'static str,
    pub not_a_member: &'static str,
    pub alert_gone: &'static str,
    pub expired: &'static str,
    pub password_changed: &'static str,
    pub app_revoked: &'static str,
    pub permission_lost: &'static str,
    pub inactivity: &'static str,
    pub security_checkpoint: &'static str,
    pub account_mismatch: &'static str,
    pub other: &'static str,
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
    here_is_your_link: "Your reconnect links (single use, only for you):",
    not_allowed: "Only the primary owner, owners and admins of the team may reconnect channels.",
    not_a_member: "Your Discord account is not linked to a member of this team; ask your relink operator to link it.",
    alert_gone: "This alert is no longer available.",
    expired: "Access expired",
    password_changed: "Password or username changed",
    app_revoked: "relink removed from the account's apps",
    permission_lost: "Admin role or permission lost",
    inactivity: "No publishing activity",
    security_checkpoint: "Blocked by the network's security checks",
    account_mismatch: "Reconnected with another account",
    other: "Refused by the network",
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
    here_is_your_link: "I tuoi link di ricollegamento (monouso, solo per te):",
    not_allowed: "Solo il proprietario principale, i proprietari e gli amministratori del team possono ricollegare i canali.",
    not_a_member: "Il tuo account Discord non è collegato a un membro di questo team: chiedi all'operatore di relink di collegarlo.",
    alert_gone: "Questo avviso non è più disponibile.",
    expired: "Accesso scaduto",
    password_changed: "Password o nome utente cambiati",
    app_revoked: "relink rimosso dalle app dell'account",
    permission_lost: "Ruolo di amministratore o permesso perso",
    inactivity: "Nessuna pubblicazione recente",
    security_checkpoint: "Bloccato dai controlli di sicurezza del social",
    account_mismatch: "Ricollegato con un altro account",
    other: "Rifiutato dal social",
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
    here_is_your_link: "あなた専用の再接続リンク（1回のみ有効）：",
    not_allowed: "チャンネルを再接続できるのは、チームのプライマリーオーナー、オーナー、管理者だけです。",
    not_a_member: "あなたのDiscordアカウントはこのチームのメンバーに紐付けられていません。relinkの運用担当者に紐付けを依頼してください。",
    alert_gone: "このアラートはもう利用できません。",
    expired: "アクセスの期限切れ",
    password_changed: "パスワードまたはユーザー名の変更",
    app_revoked: "アカウントの連携アプリからrelinkが削除された",
    permission_lost: "管理者権限または必要な権限の喪失",
    inactivity: "投稿アクティビティなし",
    security_checkpoint: "SNSのセキュリティチェックによるブロック",
    account_mismatch: "別のアカウントで再接続された",
    other: "SNSによる拒否",
};

/// A language's words.
pub fn words(language: Language) -> &'static Words {
    match language {
        Language::En => &EN,
        Language::It => &IT,
        Language::Ja => &JA,
    }
}

impl Words {
    /// The short label of a reason's stored spelling (`password_changed`); `other:…` and
    /// anything unknown read as "refused by the network".
    pub fn reason_label(&self, reason: &str) -> &'static str {
        match reason {
            "expired" => self.expired,
            "password_changed" => self.password_changed,
            "app_revoked" => self.app_revoked,
            "permission_lost" => self.permission_lost,
            "inactivity" => self.inactivity,
            "security_checkpoint" => self.security_checkpoint,
            "account_mismatch" => self.account_mismatch,
            _ => self.other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_label_in_every_language() {
        let reasons = [
            "expired",
            "password_changed",
            "app_revoked",
            "permission_lost",
            "inactivity",
            "security_checkpoint",
            "account_mismatch",
            "other",
        ];
        for language in [Language::En, Language::It, Language::Ja] {
            let words = words(language);
            let labels: std::collections::HashSet<_> = reasons.iter().map(|r| words.reason_label(r)).collect();
            assert_eq!(labels.len(), reasons.len(), "{language}");
            if language != Language::En {
                assert_ne!(words.get_link, EN.get_link);
                assert_ne!(words.not_allowed, EN.not_allowed);
            }
        }
    }
}
