//! What the pages say, in the team's language (English, Italian, Japanese: the seeds'
//! audiences), written by hand. Placeholders (`{channel}`, `{network}`, `{expected}`, `{got}`)
//! are filled with escaped values by `page`.
//!
//! Every failure page says what happened, that nothing was changed, and what to do next.

use relink_core::Language;

/// The texts of one language.
#[derive(Debug)]
pub struct Text {
    pub lang: &'static str,
    pub title_reconnect: &'static str,
    pub title_renew: &'static str,
    pub lead_reconnect: &'static str,
    pub lead_renew: &'static str,
    pub label_channel: &'static str,
    pub label_network: &'static str,
    pub label_account: &'static str,
    pub label_authorised: &'static str,
    pub label_status: &'static str,
    pub label_valid_until: &'static str,
    pub nobody_recorded: &'static str,
    pub what_happens: &'static str,
    pub button: &'static str,
    pub single_use: &'static str,
    pub telegram_title: &'static str,
    pub telegram_body: &'static str,
    pub deletion: Deletion,
    /// A channel's state on the link page: connected, disconnects soon, needs reconnecting
    /// (`{reason}`: the reason's explanation), the network not answering, not checked yet.
    pub states: [&'static str; 5],
    pub outcomes: Outcomes,
}

/// The status page of a Meta data deletion request (`{date}`, `{count}`). It names nobody.
#[derive(Debug)]
pub struct Deletion {
    pub title: &'static str,
    pub received: &'static str,
    pub deleted: &'static str,
    pub label_status: &'static str,
    pub done: &'static str,
    pub pending: &'static str,
}

/// Title, explanation and next step of each outcome page.
#[derive(Debug)]
pub struct Outcomes {
    pub connected: [&'static str; 3],
    pub account_mismatch: [&'static str; 3],
    pub cancelled: [&'static str; 3],
    pub provider_error: [&'static str; 3],
    pub link_expired: [&'static str; 3],
    pub link_used: [&'static str; 3],
    pub link_unknown: [&'static str; 3],
    pub flow_unknown: [&'static str; 3],
    pub other_browser: [&'static str; 3],
    pub wrong_network: [&'static str; 3],
    pub not_configured: [&'static str; 3],
    pub not_found: [&'static str; 3],
    pub unavailable: [&'static str; 3],
    pub cross_site: [&'static str; 3],
    pub member_cannot_reconnect: [&'static str; 3],
}

pub fn text(language: Language) -> &'static Text {
    match language {
        Language::En => &EN,
        Language::It => &IT,
        Language::Ja => &JA,
    }
}

/// The language a browser prefers among relink's, for pages shown before the team is known
/// (an unknown link). Reads `Accept-Language` in order, ignoring weights' fine print.
pub fn negotiate(accept_language: Option<&str>) -> Language {
    accept_language
        .unwrap_or_default()
        .split(',')
        .filter_map(|part| part.split(';').next())
        .map(|tag| tag.trim().to_ascii_lowercase())
        .find_map(|tag| match tag.split('-').next() {
            Some("en") => Some(Language::En),
            Some("it") => Some(Language::It),
            Some("ja") => Some(Language::Ja),
            _ => None,
        })
        .unwrap_or(Language::En)
}

static EN: Text = Text {
    lang: "en",
    title_reconnect: "Reconnect {channel}",
    title_renew: "Renew access for {channel}",
    lead_reconnect: "relink can no longer publish to this channel. Sign in to {network} with an account that manages it to restore access.",
    lead_renew: "This channel still works. You can renew its access now, before it expires.",
    label_channel: "Channel",
    label_network: "Network",
    label_account: "Account",
    label_authorised: "Authorised by",
    label_status: "Status",
    label_valid_until: "This link works until",
    nobody_recorded: "not recorded",
    what_happens: "When you continue, {network} asks you to sign in and to approve relink. You then come back here: relink checks that the same account came back and stores the new access. Nothing is posted.",
    button: "Continue to {network}",
    single_use: "This link works once, only for this channel.",
    telegram_title: "Telegram channels reconnect without a sign-in",
    telegram_body: "Add the relink bot back to {channel} as an administrator with the right to post messages. Then send /check {channel} to the relink bot: relink checks at once and the alert closes. Otherwise the channel comes back at relink's next scheduled check, within a few hours.",
    deletion: Deletion {
        title: "Data deletion request",
        received: "relink received this request to delete data from Facebook on {date}.",
        deleted: "The access tokens of {count} connections were deleted. relink keeps no other data from Facebook about the person who asked.",
        label_status: "Status",
        done: "Done",
        pending: "In progress",
    },
    states: [
        "connected",
        "disconnects soon",
        "needs reconnecting: {reason}",
        "the network is not answering; relink keeps trying",
        "not checked yet",
    ],
    outcomes: Outcomes {
        connected: [
            "{channel} is connected again",
            "relink stored the new access for {network} and checks it from now on. Scheduled posts go out as planned.",
            "You can close this page.",
        ],
        account_mismatch: [
            "A different account came back",
            "You signed in to {network} as account {got}, but {channel} is account {expected}. Nothing was changed.",
            "Switch to the account that manages {channel} on {network} (or sign out there), then ask for a new reconnect link.",
        ],
        cancelled: [
            "Reconnection cancelled",
            "The sign-in on {network} was cancelled. Nothing was changed.",
            "When you are ready, ask for a new reconnect link (the /reconnect command in Discord or Telegram).",
        ],
        provider_error: [
            "{network} did not complete the sign-in",
            "{network} answered with an error, so relink could not renew the access. Nothing was changed.",
            "Try again in a few minutes with a new reconnect link. If it keeps failing, tell your relink operator.",
        ],
        link_expired: [
            "This link has expired",
            "Reconnect links work for a limited time, and this one is over.",
            "Ask for a new link with the /reconnect command in Discord or Telegram, or ask an admin of your team.",
        ],
        link_used: [
            "This link was already used",
            "Each reconnect link works once.",
            "If the channel still needs reconnecting, ask for a new link with the /reconnect command in Discord or Telegram.",
        ],
        link_unknown: [
            "This link is not valid",
            "It may have been copied only in part, or it never existed.",
            "Open the link from the message again, or ask for a new one with the /reconnect command.",
        ],
        flow_unknown: [
            "This sign-in cannot be completed",
            "It started more than ten minutes ago, was already completed, or did not start here. Nothing was changed.",
            "Start again from a new reconnect link.",
        ],
        other_browser: [
            "Finish in the browser you started in",
            "This sign-in was started in another browser, or this browser blocked relink's cookie, so relink cannot accept it. Nothing was changed.",
            "Open a new reconnect link in this browser and complete the sign-in without switching browsers.",
        ],
        wrong_network: [
            "This sign-in came back from the wrong network",
            "The answer arrived on the address of another network than the one the sign-in was sent to, so relink refused it. Nothing was changed.",
            "Start again from a new reconnect link. If it happens again, tell your relink operator.",
        ],
        not_configured: [
            "{network} is not set up in relink",
            "relink's operator has not configured relink's app on {network}, so the sign-in cannot start. The link was not used.",
            "Tell your relink operator; this link keeps working until it expires.",
        ],
        not_found: [
            "Page not found",
            "There is nothing at this address.",
            "Check the address, or open the link from the message again.",
        ],
        unavailable: [
            "relink is having trouble",
            "relink could not finish your request because of a problem on its side. Nothing was changed.",
            "Try again in a few minutes. If it keeps failing, tell your relink operator.",
        ],
        cross_site: [
            "This request did not come from relink's page",
            "The button was submitted from another site or app, so relink refused it. The link was not used.",
            "Open the link from your message again and press the button on relink's own page.",
        ],
        member_cannot_reconnect: [
            "This link no longer works",
            "It was made for a team member who has since left the team or no longer has a role that may reconnect channels. Nothing was changed.",
            "Ask an owner or admin of your team for a new link with the /reconnect command in Discord or Telegram.",
        ],
    },
};

static IT: Text = Text {
    lang: "it",
    title_reconnect: "Ricollega {channel}",
    title_renew: "Rinnova l'accesso di {channel}",
    lead_reconnect: "relink non può più pubblicare su questo canale. Accedi a {network} con un account che lo gestisce per ripristinare l'accesso.",
    lead_renew: "Questo canale funziona ancora. Puoi rinnovarne l'accesso ora, prima che scada.",
    label_channel: "Canale",
    label_network: "Social",
    label_account: "Account",
    label_authorised: "Autorizzato da",
    label_status: "Stato",
    label_valid_until: "Questo link è valido fino al",
    nobody_recorded: "non registrato",
    what_happens: "Proseguendo, {network} ti chiede di accedere e di autorizzare relink. Poi torni qui: relink verifica che sia tornato lo stesso account e salva il nuovo accesso. Non viene pubblicato nulla.",
    button: "Prosegui su {network}",
    single_use: "Questo link funziona una sola volta e solo per questo canale.",
    telegram_title: "I canali Telegram si ricollegano senza accesso",
    telegram_body: "Aggiungi di nuovo il bot di relink a {channel} come amministratore con il permesso di pubblicare messaggi. Poi invia /check {channel} al bot di relink: relink controlla subito e l'avviso si chiude. Altrimenti il canale torna attivo al successivo controllo programmato di relink, entro poche ore.",
    deletion: Deletion {
        title: "Richiesta di eliminazione dei dati",
        received: "relink ha ricevuto questa richiesta di eliminare i dati provenienti da Facebook il {date}.",
        deleted: "I token di accesso di {count} collegamenti sono stati eliminati. relink non conserva altri dati di Facebook sulla persona che l'ha chiesto.",
        label_status: "Stato",
        done: "Completata",
        pending: "In corso",
    },
    states: [
        "collegato",
        "si disconnette a breve",
        "da ricollegare: {reason}",
        "il social non risponde; relink continua a riprovare",
        "non ancora controllato",
    ],
    outcomes: Outcomes {
        connected: [
            "{channel} è di nuovo collegato",
            "relink ha salvato il nuovo accesso a {network} e da ora lo controlla. I post programmati usciranno come previsto.",
            "Puoi chiudere questa pagina.",
        ],
        account_mismatch: [
            "È tornato un account diverso",
            "Hai effettuato l'accesso a {network} con l'account {got}, ma {channel} è l'account {expected}. Non è stato modificato nulla.",
            "Passa all'account che gestisce {channel} su {network} (o esci da {network}), poi chiedi un nuovo link di ricollegamento.",
        ],
        cancelled: [
            "Ricollegamento annullato",
            "L'accesso su {network} è stato annullato. Non è stato modificato nulla.",
            "Quando sei pronto, chiedi un nuovo link di ricollegamento (il comando /reconnect su Discord o Telegram).",
        ],
        provider_error: [
            "{network} non ha completato l'accesso",
            "{network} ha risposto con un errore, quindi relink non ha potuto rinnovare l'accesso. Non è stato modificato nulla.",
            "Riprova fra qualche minuto con un nuovo link. Se continua a non funzionare, avvisa chi gestisce relink.",
        ],
        link_expired: [
            "Questo link è scaduto",
            "I link di ricollegamento valgono per un tempo limitato, e questo è scaduto.",
            "Chiedi un nuovo link con il comando /reconnect su Discord o Telegram, oppure chiedi a un amministratore del tuo team.",
        ],
        link_used: [
            "Questo link è già stato usato",
            "Ogni link di ricollegamento funziona una sola volta.",
            "Se il canale va ancora ricollegato, chiedi un nuovo link con il comando /reconnect su Discord o Telegram.",
        ],
        link_unknown: [
            "Questo link non è valido",
            "Potrebbe essere stato copiato solo in parte, oppure non è mai esistito.",
            "Apri di nuovo il link dal messaggio, oppure chiedine uno nuovo con il comando /reconnect.",
        ],
        flow_unknown: [
            "Questo accesso non può essere completato",
            "È iniziato più di dieci minuti fa, è già stato completato, oppure non è partito da qui. Non è stato modificato nulla.",
            "Ricomincia da un nuovo link di ricollegamento.",
        ],
        other_browser: [
            "Completa l'accesso nel browser in cui l'hai iniziato",
            "Questo accesso è stato avviato in un altro browser, oppure questo browser ha bloccato il cookie di relink, quindi relink non può accettarlo. Non è stato modificato nulla.",
            "Apri un nuovo link di ricollegamento in questo browser e completa l'accesso senza cambiare browser.",
        ],
        wrong_network: [
            "Questo accesso è tornato dal social sbagliato",
            "La risposta è arrivata all'indirizzo di un social diverso da quello a cui era stato inviato l'accesso, quindi relink l'ha rifiutata. Non è stato modificato nulla.",
            "Ricomincia da un nuovo link. Se succede di nuovo, avvisa chi gestisce relink.",
        ],
        not_configured: [
            "{network} non è configurato in relink",
            "Chi gestisce relink non ha configurato l'app di relink su {network}, quindi l'accesso non può partire. Il link non è stato usato.",
            "Avvisa chi gestisce relink; questo link resta valido fino alla scadenza.",
        ],
        not_found: [
            "Pagina non trovata",
            "A questo indirizzo non c'è nulla.",
            "Controlla l'indirizzo, oppure apri di nuovo il link dal messaggio.",
        ],
        unavailable: [
            "relink ha un problema",
            "relink non ha potuto completare la richiesta per un problema interno. Non è stato modificato nulla.",
            "Riprova fra qualche minuto. Se continua a non funzionare, avvisa chi gestisce relink.",
        ],
        cross_site: [
            "Questa richiesta non arriva dalla pagina di relink",
            "Il pulsante è stato inviato da un altro sito o da un'altra app, quindi relink l'ha rifiutato. Il link non è stato usato.",
            "Apri di nuovo il link dal messaggio e premi il pulsante sulla pagina di relink.",
        ],
        member_cannot_reconnect: [
            "Questo link non è più valido",
            "Era stato creato per un membro che nel frattempo ha lasciato il team o non ha più un ruolo che può ricollegare i canali. Non è stato modificato nulla.",
            "Chiedi un nuovo link a un proprietario o a un amministratore del tuo team con il comando /reconnect su Discord o Telegram.",
        ],
    },
};

static JA: Text = Text {
    lang: "ja",
    title_reconnect: "{channel} を再接続",
    title_renew: "{channel} のアクセスを更新",
    lead_reconnect: "relink はこのチャンネルに投稿できなくなりました。アクセスを回復するには、このチャンネルを管理しているアカウントで {network} にログインしてください。",
    lead_renew: "このチャンネルはまだ使えます。期限が切れる前に、今すぐアクセスを更新できます。",
    label_channel: "チャンネル",
    label_network: "ソーシャルネットワーク",
    label_account: "アカウント",
    label_authorised: "認証したメンバー",
    label_status: "状態",
    label_valid_until: "このリンクの有効期限",
    nobody_recorded: "記録なし",
    what_happens: "続行すると、{network} でログインと relink の承認を求められます。その後このページに戻り、relink が同じアカウントであることを確認して新しいアクセスを保存します。投稿は行われません。",
    button: "{network} に進む",
    single_use: "このリンクは一度だけ、このチャンネルにのみ使えます。",
    telegram_title: "Telegram チャンネルはログインなしで再接続します",
    telegram_body: "relink のボットを、メッセージ投稿権限のある管理者として {channel} に再度追加してください。その後 relink のボットに /check {channel} を送ると、relink がすぐに確認し、通知が解決します。送らない場合は、数時間以内の relink の次回の定期確認でチャンネルが復旧します。",
    deletion: Deletion {
        title: "データ削除リクエスト",
        received: "relink は {date} に、Facebook から取得したデータの削除リクエストを受け付けました。",
        deleted: "{count} 件の接続のアクセストークンを削除しました。relink は、リクエストした方について Facebook から取得したその他のデータを保持していません。",
        label_status: "状態",
        done: "完了",
        pending: "処理中",
    },
    states: [
        "接続中",
        "まもなく接続が切れます",
        "再接続が必要：{reason}",
        "SNSが応答していません（relinkは再試行中）",
        "未確認",
    ],
    outcomes: Outcomes {
        connected: [
            "{channel} が再接続されました",
            "relink は {network} の新しいアクセスを保存し、これからチェックを続けます。予約投稿は予定どおり公開されます。",
            "このページは閉じてかまいません。",
        ],
        account_mismatch: [
            "別のアカウントが返されました",
            "{network} にアカウント {got} でログインしましたが、{channel} はアカウント {expected} です。何も変更していません。",
            "{network} で {channel} を管理しているアカウントに切り替えて（またはログアウトして）から、新しい再接続リンクを依頼してください。",
        ],
        cancelled: [
            "再接続はキャンセルされました",
            "{network} でのログインがキャンセルされました。何も変更していません。",
            "準備ができたら、新しい再接続リンクを依頼してください（Discord または Telegram の /reconnect コマンド）。",
        ],
        provider_error: [
            "{network} でログインが完了しませんでした",
            "{network} がエラーを返したため、relink はアクセスを更新できませんでした。何も変更していません。",
            "数分後に新しい再接続リンクで再度お試しください。失敗が続く場合は relink の運用担当者に連絡してください。",
        ],
        link_expired: [
            "このリンクは期限切れです",
            "再接続リンクの有効期間は限られており、このリンクは期限が切れています。",
            "Discord または Telegram の /reconnect コマンドで新しいリンクを依頼するか、チームの管理者に依頼してください。",
        ],
        link_used: [
            "このリンクはすでに使用されています",
            "再接続リンクは一度しか使えません。",
            "まだ再接続が必要な場合は、Discord または Telegram の /reconnect コマンドで新しいリンクを依頼してください。",
        ],
        link_unknown: [
            "このリンクは無効です",
            "リンクの一部しかコピーされていないか、存在しないリンクです。",
            "メッセージからもう一度リンクを開くか、/reconnect コマンドで新しいリンクを依頼してください。",
        ],
        flow_unknown: [
            "このログインは完了できません",
            "開始から10分以上経過したか、すでに完了しているか、ここから開始されたものではありません。何も変更していません。",
            "新しい再接続リンクからやり直してください。",
        ],
        other_browser: [
            "開始したブラウザで完了してください",
            "このログインは別のブラウザで開始されたか、このブラウザが relink の Cookie をブロックしたため、受け付けられません。何も変更していません。",
            "このブラウザで新しい再接続リンクを開き、ブラウザを切り替えずにログインを完了してください。",
        ],
        wrong_network: [
            "別のネットワークから応答が返されました",
            "ログインを送ったネットワークとは別のネットワークのアドレスに応答が届いたため、relink は拒否しました。何も変更していません。",
            "新しい再接続リンクからやり直してください。再び起きた場合は relink の運用担当者に連絡してください。",
        ],
        not_configured: [
            "{network} は relink で設定されていません",
            "relink の運用担当者が {network} 上の relink アプリを設定していないため、ログインを開始できません。リンクは使用されていません。",
            "relink の運用担当者に連絡してください。このリンクは期限まで有効です。",
        ],
        not_found: [
            "ページが見つかりません",
            "このアドレスには何もありません。",
            "アドレスを確認するか、メッセージからもう一度リンクを開いてください。",
        ],
        unavailable: [
            "relink で問題が発生しています",
            "relink 側の問題でリクエストを完了できませんでした。何も変更していません。",
            "数分後に再度お試しください。失敗が続く場合は relink の運用担当者に連絡してください。",
        ],
        cross_site: [
            "このリクエストは relink のページから送信されていません",
            "ボタンが別のサイトまたはアプリから送信されたため、relink は拒否しました。リンクは使用されていません。",
            "メッセージからもう一度リンクを開き、relink のページにあるボタンを押してください。",
        ],
        member_cannot_reconnect: [
            "このリンクはもう使えません",
            "このリンクは、その後チームを離れたか、チャンネルを再接続できる役割ではなくなったメンバーのために作成されました。何も変更していません。",
            "チームのオーナーまたは管理者に、Discord または Telegram の /reconnect コマンドで新しいリンクを依頼してください。",
        ],
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_their_language_or_english() {
        assert_eq!(negotiate(Some("it-IT,it;q=0.9,en;q=0.8")), Language::It);
        assert_eq!(negotiate(Some("ja")), Language::Ja);
        assert_eq!(negotiate(Some("de-DE, en;q=0.5")), Language::En);
        assert_eq!(negotiate(Some("fr")), Language::En);
        assert_eq!(negotiate(None), Language::En);
    }

    /// Every text of a page language.
    fn all(t: &Text) -> Vec<&'static str> {
        let o = &t.outcomes;
        let mut texts = vec![
            t.title_reconnect,
            t.title_renew,
            t.lead_reconnect,
            t.lead_renew,
            t.label_channel,
            t.label_network,
            t.label_account,
            t.label_authorised,
            t.label_status,
            t.label_valid_until,
            t.nobody_recorded,
            t.what_happens,
            t.button,
            t.single_use,
            t.telegram_title,
            t.telegram_body,
        ];
        texts.extend(t.states);
        for outcome in [
            o.connected,
            o.account_mismatch,
            o.cancelled,
            o.provider_error,
            o.link_expired,
            o.link_used,
            o.link_unknown,
            o.flow_unknown,
            o.other_browser,
            o.wrong_network,
            o.not_configured,
            o.not_found,
            o.unavailable,
            o.cross_site,
            o.member_cannot_reconnect,
        ] {
            texts.extend(outcome);
        }
        texts
    }

    #[test]
    fn italian_and_japanese_pages_carry_no_english_or_raw_identifier() {
        let mut wrong = Vec::new();
        for language in [Language::It, Language::Ja] {
            for text in all(super::text(language)) {
                let found = relink_core::alerts::messages::foreign_words(text, language);
                if !found.is_empty() {
                    wrong.push(format!("{language}: {found:?} in {text}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn every_language_uses_the_same_placeholders() {
        let placeholders = |t: &Text| {
            let all = [t.title_reconnect, t.lead_reconnect, t.what_happens, t.button, t.telegram_body]
                .into_iter()
                .chain(t.outcomes.account_mismatch)
                .chain(t.outcomes.connected)
                .collect::<Vec<_>>()
                .join(" ");
            let mut names: Vec<String> = all
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
                .collect();
            names.sort_unstable();
            names.dedup();
            names
        };
        let english = placeholders(&EN);
        let deletion = |t: &Text| {
            let d = &t.deletion;
            let mut names: Vec<String> = [d.received, d.deleted]
                .join(" ")
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
                .collect();
            names.sort_unstable();
            names
        };
        assert_eq!(deletion(&EN), ["count", "date"]);
        assert_eq!(deletion(&IT), deletion(&EN));
        assert_eq!(deletion(&JA), deletion(&EN));
        assert_eq!(english, ["channel", "expected", "got", "network"]);
        assert_eq!(placeholders(&IT), english);
        assert_eq!(placeholders(&JA), english);
    }
}
