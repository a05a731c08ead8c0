//! Every word the chat commands say, in English, Italian and Japanese, hand-written like the
//! alert catalog (`relink_core::alerts::messages`), whose explanations and short labels of reasons they reuse.
//! Placeholders are `{name}`-style and filled by [`fill`]; a test checks that every language has
//! the same placeholders for each text.

use chrono::{DateTime, Utc};
use relink_core::alerts::Zone;
use relink_core::alerts::messages::catalog;
use relink_core::{Language, Provider, Reason, Role};

/// The commands' words in one language.
#[derive(Debug)]
pub struct Words {
    pub intro: &'static str,
    /// `{id}`.
    pub this_chat_id: &'static str,
    /// `{name}`, `{role}`, `{team}`.
    pub linked_as: &'static str,
    pub not_linked: &'static str,
    pub group_not_subscribed: &'static str,
    pub help_header: &'static str,
    /// `{usage}`.
    pub usage: &'static str,
    /// `{command}`.
    pub unknown_command: &'static str,
    /// `{command}`.
    pub did_you_mean: &'static str,
    pub see_help: &'static str,
    /// `{role}`.
    pub role_refused: &'static str,
    pub group_admin_only: &'static str,
    pub no_channels: &'static str,
    /// `{query}`.
    pub unknown_channel: &'static str,
    /// `{query}`.
    pub ambiguous_channel: &'static str,
    pub healthy: &'static str,
    /// `{date}` (or the next text when the expiry is unknown).
    pub expiring: &'static str,
    pub expiring_soon: &'static str,
    /// `{reason}`.
    pub needs_reauth: &'static str,
    pub degraded: &'static str,
    pub unknown: &'static str,
    /// The language, whose alert catalog holds the reasons' short labels.
    language: Language,
    /// `{team}`, `{count}`.
    pub status_title: &'static str,
    /// `{date}`.
    pub expires: &'static str,
    pub no_expiry: &'static str,
    /// `{count}`, `{date}`.
    pub at_risk: &'static str,
    pub nothing_at_risk: &'static str,
    /// `{name}`.
    pub authorised_by: &'static str,
    pub nobody_authorised: &'static str,
    /// `{date}`.
    pub last_checked: &'static str,
    pub never_checked: &'static str,
    /// `{name}`.
    pub acknowledged_by: &'static str,
    /// `{date}`.
    pub snoozed_until: &'static str,
    /// `{name}`.
    pub reconnect_label: &'static str,
    /// `{date}`.
    pub reconnect_note: &'static str,
    /// `{name}`.
    pub sent_privately: &'static str,
    /// `{team}`.
    pub dashboard_label: &'static str,
    /// `{date}`.
    pub dashboard_note: &'static str,
    pub dashboard_sent_privately: &'static str,
    pub open_private_chat: &'static str,
    /// `{name}`, `{state}`.
    pub refresh_renewed: &'static str,
    /// `{name}`, `{network}`.
    pub refresh_not_renewable: &'static str,
    /// `{name}`.
    pub refresh_busy: &'static str,
    /// `{name}`, `{network}`, `{date}`.
    pub refresh_not_yet: &'static str,
    /// `{name}`, `{detail}`.
    pub refresh_failed: &'static str,
    pub refresh_unavailable: &'static str,
    /// `{name}`, `{state}`.
    pub check_done: &'static str,
    pub check_unavailable: &'static str,
    /// `{name}`, `{date}`.
    pub snoozed: &'static str,
    /// `{name}`.
    pub nothing_open: &'static str,
    pub snooze_range: &'static str,
    /// `{name}`.
    pub acknowledged: &'static str,
    /// `{name}`.
    pub history_title: &'static str,
    pub history_empty: &'static str,
    /// `{team}`.
    pub subscribed: &'static str,
    /// `{teams}`.
    pub which_team: &'static str,
    /// `{name}`, `{role}`, `{team}`.
    pub link_done: &'static str,
    pub link_invalid: &'static str,
    pub link_private_only: &'static str,
    pub link_taken: &'static str,
    pub button_reconnect: &'static str,
    pub button_ack: &'static str,
    pub button_snooze_day: &'static str,
    pub button_refresh: &'static str,
    pub failed: &'static str,
    pub roles: [&'static str; 5],
    pub commands: CommandWords,
}

/// One line per command, for `/help` and the platforms' command menus.
#[derive(Debug)]
pub struct CommandWords {
    pub start: &'static str,
    pub help: &'static str,
    pub link: &'static str,
    pub subscribe: &'static str,
    pub status: &'static str,
    pub channel: &'static str,
    pub reconnect: &'static str,
    pub refresh: &'static str,
    pub check: &'static str,
    pub snooze: &'static str,
    pub ack: &'static str,
    pub history: &'static str,
    pub dashboard: &'static str,
}

const EN: Words = Words {
    intro: "relink watches your team's social channels and tells owners and admins, with a reconnect link, before a disconnected channel makes scheduled posts fail.",
    this_chat_id: "This chat's id: {id}",
    linked_as: "You are {name} ({role}) in {team}.",
    not_linked: "Your account is not linked to a team member yet: ask your relink operator for a code (`relink member invite`) and send /link CODE to me in a private chat.",
    group_not_subscribed: "This chat does not receive any team's alerts yet: an owner or admin of the team who also administers this group sends /subscribe here.",
    help_header: "Commands:",
    usage: "Usage: {usage}",
    unknown_command: "I don't know {command}.",
    did_you_mean: "Did you mean {command}?",
    see_help: "Send /help for the list of commands.",
    role_refused: "Only the primary owner, owners and admins may do this; your role is {role}.",
    group_admin_only: "In a group, only the group's admins may subscribe it to a team.",
    no_channels: "The team has no channels yet.",
    unknown_channel: "No channel matches “{query}”. The channels are:",
    ambiguous_channel: "“{query}” matches several channels; which one?",
    healthy: "connected",
    expiring: "disconnects {date}",
    expiring_soon: "disconnects soon",
    needs_reauth: "needs reconnecting: {reason}",
    degraded: "the network is not answering; relink keeps trying",
    unknown: "not checked yet",
    language: Language::En,
    status_title: "{team}: {count} channels",
    expires: "Access ends {date}.",
    no_expiry: "Access has no set end.",
    at_risk: "Scheduled posts at risk: {count}, the first due {date}.",
    nothing_at_risk: "No scheduled posts at risk.",
    authorised_by: "Authorised by {name}.",
    nobody_authorised: "Nobody is recorded as having authorised it.",
    last_checked: "Last checked {date}.",
    never_checked: "Not checked yet.",
    acknowledged_by: "{name} is on it.",
    snoozed_until: "Alerts snoozed until {date}.",
    reconnect_label: "Reconnect {name}",
    reconnect_note: "The link works once, until {date}. Open it, press the button and sign in to the network.",
    sent_privately: "I sent you the reconnect link for {name} in a private message.",
    dashboard_label: "Open the team page of {team}",
    dashboard_note: "This link signs you in once, until {date}. Do not forward it: whoever opens it sees your team's page as you.",
    dashboard_sent_privately: "I sent you a sign-in link to the team page in a private message.",
    open_private_chat: "I cannot write to you privately yet: open a private chat with me, press Start, then try again.",
    refresh_renewed: "{name}: access renewed; the channel is {state}.",
    refresh_not_renewable: "{network} does not let relink renew access to {name}: reconnect it instead (/reconnect).",
    refresh_busy: "relink is checking {name} right now; try again in a minute.",
    refresh_not_yet: "{network} extends access to {name} only from {date}; until then it works as it is, so there is nothing to do.",
    refresh_failed: "The network did not renew access to {name}: {detail}",
    refresh_unavailable: "Renewing on demand is not available here.",
    check_done: "{name} checked with the network just now: {state}.",
    check_unavailable: "Checking on demand is not available here.",
    snoozed: "Alerts about {name} are snoozed until {date}.",
    nothing_open: "{name} has no open alerts.",
    snooze_range: "A snooze lasts from 5 minutes to 30 days.",
    acknowledged: "Noted: alerts about {name} will not escalate to everyone; reminders go on until it is fixed.",
    history_title: "History of {name}:",
    history_empty: "No changes recorded yet.",
    subscribed: "This chat now receives {team}'s alerts.",
    which_team: "You belong to several teams; name one: {teams}",
    link_done: "Linked: you are {name} ({role}) in {team}.",
    link_invalid: "This code is unknown, used or expired: ask your relink operator for a new one.",
    link_private_only: "Codes are personal: send /link CODE to me in a private chat.",
    link_taken: "This account is already linked to another member of the team.",
    button_reconnect: "Get reconnect link",
    button_ack: "I'm on it",
    button_snooze_day: "Snooze 1 day",
    button_refresh: "Refresh now",
    failed: "Something went wrong on relink's side; please try again later.",
    roles: ["primary owner", "owner", "admin", "editor", "viewer"],
    commands: CommandWords {
        start: "what relink is, and this chat's id",
        help: "the list of commands",
        link: "link your account to your team with a code",
        subscribe: "send this chat the team's alerts",
        status: "every channel, the ones needing attention first",
        channel: "one channel: reason, expiry, posts at risk, who authorised it",
        reconnect: "get a reconnect link (privately)",
        refresh: "renew a channel's access now",
        check: "check a channel with its network now",
        snooze: "silence a channel's alerts for a while",
        ack: "say you are on it (stops the escalation)",
        history: "a channel's recent health changes",
        dashboard: "a sign-in link to the team page (privately)",
    },
};

const IT: Words = Words {
    intro: "relink controlla i canali social del tuo team e avvisa proprietari e amministratori, con un link per ricollegare, prima che un canale disconnesso faccia fallire i post programmati.",
    this_chat_id: "Id di questa chat: {id}",
    linked_as: "Sei {name} ({role}) in {team}.",
    not_linked: "Il tuo account non è ancora collegato a un membro del team: chiedi un codice all'operatore di relink (`relink member invite`) e inviami /link CODICE in una chat privata.",
    group_not_subscribed: "Questa chat non riceve ancora gli avvisi di nessun team: un proprietario o amministratore del team che amministra anche questo gruppo invia qui /subscribe.",
    help_header: "Comandi:",
    usage: "Uso: {usage}",
    unknown_command: "Non conosco {command}.",
    did_you_mean: "Forse intendevi {command}?",
    see_help: "Invia /help per l'elenco dei comandi.",
    role_refused: "Solo il proprietario principale, i proprietari e gli amministratori possono farlo; il tuo ruolo è {role}.",
    group_admin_only: "In un gruppo, solo i suoi amministratori possono iscriverlo a un team.",
    no_channels: "Il team non ha ancora canali.",
    unknown_channel: "Nessun canale corrisponde a «{query}». I canali sono:",
    ambiguous_channel: "«{query}» corrisponde a più canali; quale?",
    healthy: "collegato",
    expiring: "si disconnette il {date}",
    expiring_soon: "si disconnette a breve",
    needs_reauth: "da ricollegare: {reason}",
    degraded: "il social non risponde; relink continua a riprovare",
    unknown: "non ancora controllato",
    language: Language::It,
    status_title: "{team}: {count} canali",
    expires: "L'accesso termina il {date}.",
    no_expiry: "L'accesso non ha una scadenza fissa.",
    at_risk: "Post programmati a rischio: {count}, il primo previsto il {date}.",
    nothing_at_risk: "Nessun post programmato a rischio.",
    authorised_by: "Autorizzato da {name}.",
    nobody_authorised: "Non risulta chi l'abbia autorizzato.",
    last_checked: "Ultimo controllo: {date}.",
    never_checked: "Non ancora controllato.",
    acknowledged_by: "Se ne occupa {name}.",
    snoozed_until: "Avvisi sospesi fino al {date}.",
    reconnect_label: "Ricollega {name}",
    reconnect_note: "Il link funziona una sola volta, fino al {date}. Aprilo, premi il pulsante e accedi al social.",
    sent_privately: "Ti ho inviato in privato il link per ricollegare {name}.",
    dashboard_label: "Apri la pagina del team {team}",
    dashboard_note: "Questo link ti fa accedere una sola volta, fino al {date}. Non inoltrarlo: chi lo apre vede la pagina del tuo team come se fosse te.",
    dashboard_sent_privately: "Ti ho inviato in privato un link per accedere alla pagina del team.",
    open_private_chat: "Non posso ancora scriverti in privato: apri una chat privata con me, premi Avvia e riprova.",
    refresh_renewed: "{name}: accesso rinnovato; il canale è {state}.",
    refresh_not_renewable: "{network} non permette a relink di rinnovare l'accesso a {name}: ricollegalo (/reconnect).",
    refresh_busy: "relink sta controllando {name} proprio ora; riprova tra un minuto.",
    refresh_not_yet: "{network} permette di rinnovare l'accesso a {name} solo dal {date}; fino ad allora funziona così com'è, non c'è niente da fare.",
    refresh_failed: "Il social non ha rinnovato l'accesso a {name}: {detail}",
    refresh_unavailable: "Il rinnovo su richiesta non è disponibile qui.",
    check_done: "{name} appena verificato con il social: {state}.",
    check_unavailable: "La verifica su richiesta non è disponibile qui.",
    snoozed: "Avvisi su {name} sospesi fino al {date}.",
    nothing_open: "{name} non ha avvisi aperti.",
    snooze_range: "Una sospensione dura da 5 minuti a 30 giorni.",
    acknowledged: "Preso nota: gli avvisi su {name} non verranno estesi a tutti; i promemoria continuano finché non è risolto.",
    history_title: "Storico di {name}:",
    history_empty: "Nessun cambiamento registrato.",
    subscribed: "Questa chat ora riceve gli avvisi di {team}.",
    which_team: "Fai parte di più team; indicane uno: {teams}",
    link_done: "Collegato: sei {name} ({role}) in {team}.",
    link_invalid: "Codice sconosciuto, già usato o scaduto: chiedine uno nuovo all'operatore di relink.",
    link_private_only: "I codici sono personali: inviami /link CODICE in una chat privata.",
    link_taken: "Questo account è già collegato a un altro membro del team.",
    button_reconnect: "Ricevi il link per ricollegare",
    button_ack: "Me ne occupo io",
    button_snooze_day: "Sospendi 1 giorno",
    button_refresh: "Rinnova ora",
    failed: "Qualcosa non ha funzionato in relink; riprova più tardi.",
    roles: ["proprietario principale", "proprietario", "amministratore", "editor", "visualizzatore"],
    commands: CommandWords {
        start: "cos'è relink e l'id di questa chat",
        help: "l'elenco dei comandi",
        link: "collega il tuo account al team con un codice",
        subscribe: "invia a questa chat gli avvisi del team",
        status: "tutti i canali, prima quelli da sistemare",
        channel: "un canale: motivo, scadenza, post a rischio, chi l'ha autorizzato",
        reconnect: "ricevi un link per ricollegare (in privato)",
        refresh: "rinnova subito l'accesso di un canale",
        check: "verifica subito un canale con il suo social",
        snooze: "sospendi per un po' gli avvisi di un canale",
        ack: "conferma che te ne occupi (ferma l'escalation)",
        history: "i cambiamenti di stato recenti di un canale",
        dashboard: "un link per accedere alla pagina del team (in privato)",
    },
};

const JA: Words = Words {
    intro: "relinkはチームのSNSチャンネルを監視し、接続が切れて予約投稿が失敗する前に、オーナーと管理者へ再接続用のリンク付きでお知らせします。",
    this_chat_id: "このチャットのID：{id}",
    linked_as: "{team}の{name}（{role}）としてリンクされています。",
    not_linked: "あなたのアカウントはまだチームのメンバーとリンクされていません。relinkの運用担当者にコードを発行してもらい（`relink member invite`）、私とのプライベートチャットで /link コード を送ってください。",
    group_not_subscribed: "このチャットはまだどのチームの通知も受け取っていません。このグループの管理者でもあるチームのオーナーまたは管理者が、ここで /subscribe を送ってください。",
    help_header: "コマンド：",
    usage: "使い方：{usage}",
    unknown_command: "{command} というコマンドはありません。",
    did_you_mean: "{command} のことですか？",
    see_help: "/help でコマンドの一覧を表示します。",
    role_refused: "この操作はプライマリオーナー、オーナー、管理者だけが行えます。あなたの役割は{role}です。",
    group_admin_only: "グループをチームに登録できるのは、そのグループの管理者だけです。",
    no_channels: "チームにはまだチャンネルがありません。",
    unknown_channel: "「{query}」に一致するチャンネルはありません。チャンネル一覧：",
    ambiguous_channel: "「{query}」は複数のチャンネルに一致します。どれですか？",
    healthy: "接続中",
    expiring: "{date}に接続が切れます",
    expiring_soon: "まもなく接続が切れます",
    needs_reauth: "再接続が必要：{reason}",
    degraded: "SNSが応答していません（relinkは再試行中）",
    unknown: "未確認",
    language: Language::Ja,
    status_title: "{team}：{count}件のチャンネル",
    expires: "アクセス期限：{date}",
    no_expiry: "アクセスに決まった期限はありません。",
    at_risk: "影響を受ける予約投稿：{count}件（最初の投稿は{date}）",
    nothing_at_risk: "影響を受ける予約投稿はありません。",
    authorised_by: "認証したメンバー：{name}",
    nobody_authorised: "認証したメンバーは記録されていません。",
    last_checked: "最終確認：{date}",
    never_checked: "まだ確認していません。",
    acknowledged_by: "{name}さんが対応中です。",
    snoozed_until: "{date}まで通知を一時停止中です。",
    reconnect_label: "{name}を再接続",
    reconnect_note: "このリンクは{date}まで、一度だけ使えます。開いてボタンを押し、SNSにログインしてください。",
    sent_privately: "{name}の再接続用リンクをプライベートメッセージで送りました。",
    dashboard_label: "{team}のチームページを開く",
    dashboard_note: "このリンクは{date}まで、一度だけログインに使えます。転送しないでください。開いた人があなたとしてチームページを見られます。",
    dashboard_sent_privately: "チームページへのログイン用リンクをプライベートメッセージで送りました。",
    open_private_chat: "まだプライベートメッセージを送れません。私とのプライベートチャットを開いて「開始」を押してから、もう一度お試しください。",
    refresh_renewed: "{name}：アクセスを更新しました。チャンネルの状態は「{state}」です。",
    refresh_not_renewable: "{network}ではrelinkが{name}のアクセスを更新できません。再接続してください（/reconnect）。",
    refresh_busy: "relinkが今{name}を確認中です。1分後にもう一度お試しください。",
    refresh_not_yet: "{network}で{name}のアクセスを延長できるのは{date}からです。それまでは今のまま使えるので、対応は不要です。",
    refresh_failed: "SNSが{name}のアクセスを更新しませんでした：{detail}",
    refresh_unavailable: "ここでは手動の更新は利用できません。",
    check_done: "{name}をSNSで今確認しました：{state}。",
    check_unavailable: "ここでは手動の確認は利用できません。",
    snoozed: "{name}の通知を{date}まで一時停止しました。",
    nothing_open: "{name}に未解決の通知はありません。",
    snooze_range: "一時停止は5分から30日までです。",
    acknowledged: "了解しました。{name}の通知は全員には広げません。解決するまでリマインダーは続きます。",
    history_title: "{name}の履歴：",
    history_empty: "まだ変更の記録はありません。",
    subscribed: "このチャットで{team}の通知を受け取るようになりました。",
    which_team: "複数のチームに所属しています。チームを指定してください：{teams}",
    link_done: "リンクしました：{team}の{name}（{role}）です。",
    link_invalid: "このコードは無効、使用済み、または期限切れです。relinkの運用担当者に新しいコードを発行してもらってください。",
    link_private_only: "コードは個人用です。私とのプライベートチャットで /link コード を送ってください。",
    link_taken: "このアカウントは、すでにチームの別のメンバーにリンクされています。",
    button_reconnect: "再接続用リンクを受け取る",
    button_ack: "対応します",
    button_snooze_day: "1日停止",
    button_refresh: "今すぐ更新",
    failed: "relink側で問題が発生しました。しばらくしてからもう一度お試しください。",
    roles: ["プライマリオーナー", "オーナー", "管理者", "編集者", "閲覧者"],
    commands: CommandWords {
        start: "relinkの説明とこのチャットのID",
        help: "コマンドの一覧",
        link: "コードでアカウントをチームにリンク",
        subscribe: "このチャットでチームの通知を受け取る",
        status: "全チャンネル（対応が必要なものから）",
        channel: "チャンネルの詳細：理由、期限、影響する投稿、認証者",
        reconnect: "再接続用リンクを受け取る（プライベート）",
        refresh: "チャンネルのアクセスを今すぐ更新",
        check: "チャンネルをSNSで今すぐ確認",
        snooze: "チャンネルの通知を一時停止",
        ack: "対応中であることを伝える（エスカレーション停止）",
        history: "チャンネルの最近の状態変化",
        dashboard: "チームページへのログイン用リンク（非公開）",
    },
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
    /// A date on the team's wall clock (`zone`; UTC without one), in the alert catalog's format,
    /// so a team reads the same date in its alerts, its page and the commands' answers.
    pub fn date(&self, at: DateTime<Utc>, zone: Option<&Zone>) -> String {
        catalog(self.language).date_on(at, zone)
    }

    pub fn role(&self, role: Role) -> &'static str {
        match role {
            Role::PrimaryOwner => self.roles[0],
            Role::Owner => self.roles[1],
            Role::Admin => self.roles[2],
            Role::Editor => self.roles[3],
            Role::Viewer => self.roles[4],
        }
    }

    /// A reason's short label on a network (a Telegram bot is removed, not an app): the alert
    /// catalog's, so commands and alerts say it the same way.
    pub fn reason_on(&self, provider: Provider, reason: &Reason) -> &'static str {
        catalog(self.language).reason_label_on(provider, reason)
    }

    pub fn reason(&self, reason: &Reason) -> &'static str {
        catalog(self.language).reason_label(reason)
    }
}

impl CommandWords {
    /// Every description, in menu order.
    pub fn all(&self) -> [&'static str; 13] {
        [
            self.start,
            self.help,
            self.link,
            self.subscribe,
            self.status,
            self.channel,
            self.reconnect,
            self.refresh,
            self.check,
            self.snooze,
            self.ack,
            self.history,
            self.dashboard,
        ]
    }
}

/// Fills `{key}` placeholders.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |text, (key, value)| text.replace(&format!("{{{key}}}"), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text of a catalog, in a fixed order, so languages can be compared text by text.
    fn all(w: &Words) -> Vec<&'static str> {
        let mut texts = vec![
            w.intro,
            w.this_chat_id,
            w.linked_as,
            w.not_linked,
            w.group_not_subscribed,
            w.help_header,
            w.usage,
            w.unknown_command,
            w.did_you_mean,
            w.see_help,
            w.role_refused,
            w.group_admin_only,
            w.no_channels,
            w.unknown_channel,
            w.ambiguous_channel,
            w.healthy,
            w.expiring,
            w.expiring_soon,
            w.needs_reauth,
            w.degraded,
            w.unknown,
            w.status_title,
            w.expires,
            w.no_expiry,
            w.at_risk,
            w.nothing_at_risk,
            w.authorised_by,
            w.nobody_authorised,
            w.last_checked,
            w.never_checked,
            w.acknowledged_by,
            w.snoozed_until,
            w.reconnect_label,
            w.reconnect_note,
            w.sent_privately,
            w.dashboard_label,
            w.dashboard_note,
            w.dashboard_sent_privately,
            w.open_private_chat,
            w.refresh_renewed,
            w.refresh_not_renewable,
            w.refresh_busy,
            w.refresh_not_yet,
            w.refresh_failed,
            w.refresh_unavailable,
            w.check_done,
            w.check_unavailable,
            w.snoozed,
            w.nothing_open,
            w.snooze_range,
            w.acknowledged,
            w.history_title,
            w.history_empty,
            w.subscribed,
            w.which_team,
            w.link_done,
            w.link_invalid,
            w.link_private_only,
            w.link_taken,
            w.button_reconnect,
            w.button_ack,
            w.button_snooze_day,
            w.button_refresh,
            w.failed,
        ];
        texts.extend(w.commands.all());
        texts.extend(w.roles);
        texts
    }

    fn placeholders(text: &str) -> Vec<&str> {
        let mut found: Vec<&str> =
            text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(key, _)| key)).collect();
        found.sort_unstable();
        found
    }

    #[test]
    fn every_language_has_every_text_with_the_same_placeholders() {
        let english = all(&EN);
        for language in [Language::It, Language::Ja] {
            let other = all(words(language));
            assert_eq!(other.len(), english.len());
            for (en, text) in english.iter().zip(&other) {
                assert!(!text.trim().is_empty(), "{language}: empty text for {en}");
                assert_eq!(placeholders(en), placeholders(text), "{language}: {text}");
                if language == Language::Ja && en.chars().any(char::is_alphabetic) && *en != "editor" {
                    assert!(!text.is_ascii(), "Japanese text without Japanese: {text}");
                }
            }
        }
    }

    #[test]
    fn italian_and_japanese_command_words_carry_no_english_or_raw_identifier() {
        for language in [Language::It, Language::Ja] {
            for text in all(words(language)) {
                // Role names are the product's ("editor" is Italian too).
                let found = relink_core::alerts::messages::foreign_words(text, language);
                assert!(found.is_empty(), "{language}: {found:?} in {text}");
            }
        }
    }

    #[test]
    fn command_descriptions_fit_the_platforms_menus() {
        // Telegram: 1–256 characters; Discord: 1–100.
        for language in Language::ALL {
            for text in words(*language).commands.all() {
                assert!((3..=100).contains(&text.chars().count()), "{language}: {text}");
            }
        }
    }

    #[test]
    fn placeholders_are_filled_by_name() {
        assert_eq!(fill("{name} in {team}", &[("team", "Acme"), ("name", "Alice")]), "Alice in Acme");
    }

    /// A date on a team's wall clock, in each language's format: the local time with the zone's
    /// abbreviation of that day (Rome's winter and summer time), UTC without a zone.
    #[test]
    fn dates_are_on_the_teams_wall_clock_with_the_zones_abbreviation() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().expect("a time");
        let rome = Zone::parse("Europe/Rome").expect("a zone");
        let (winter, summer) = (at("2026-12-07T08:30:00Z"), at("2026-07-07T08:30:00Z"));
        assert_eq!(EN.date(winter, None), "2026-12-07 08:30 UTC");
        assert_eq!(EN.date(winter, Some(&Zone::utc())), "2026-12-07 08:30 UTC");
        assert_eq!(EN.date(winter, Some(&rome)), "2026-12-07 09:30 CET");
        assert_eq!(EN.date(summer, Some(&rome)), "2026-07-07 10:30 CEST");
        assert_eq!(IT.date(summer, Some(&rome)), "07/07/2026 10:30 CEST");
        let tokyo = Zone::parse("Asia/Tokyo").expect("a zone");
        assert_eq!(JA.date(at("2026-12-07T20:00:00Z"), Some(&tokyo)), "2026年12月08日 05:00 JST");
    }
}
