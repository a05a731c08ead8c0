//! Every word an alert says, in English, Italian and Japanese (the seeds' audiences): for each
//! reason a channel needs reconnecting and each alert kind, a plain explanation and what to do,
//! hand-written and short. Nothing is translated at run time: a team's language picks a
//! [`Catalog`], and [`render_text`] lays an alert out as plain text (the log notifier's output and
//! the fallback body for chat renderers).

use chrono::{DateTime, Utc};

use secrecy::ExposeSecret as _;

use super::model::{Alert, AlertKind, Severity};
use crate::domain::alert::ChannelLink;
use crate::domain::{ChannelId, Language, Provider, Reason};
use crate::provider::classify::chat_gone;

/// An explanation and a remedy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Texts {
    pub explanation: &'static str,
    pub remedy: &'static str,
}

/// A title for one channel and for several (`{subject}`, and `{days}` for warnings).
#[derive(Debug, Clone, Copy)]
struct Title {
    one: &'static str,
    many: &'static str,
}

/// A network's own words for a reason, where the general ones would send a team the wrong way
/// (see [`Catalog::reason_on`]).
#[derive(Debug)]
struct NetworkTexts {
    /// Telegram `app_revoked`: the bot was removed from the chat, or blocked.
    telegram_removed: Texts,
    /// Telegram `permission_lost`: the bot is no longer an administrator allowed to post.
    telegram_cannot_post: Texts,
    /// Telegram's chat was deleted, or the Bot API no longer knows it.
    telegram_chat_gone: Texts,
    /// X `security_checkpoint`: the account is locked or suspended.
    x_locked: Texts,
    /// YouTube `security_checkpoint`: no YouTube channel yet, or the account closed or suspended.
    youtube_account: Texts,
}

/// The networks' names where a language says them its own way (the others are product names).
#[derive(Debug)]
struct Labels {
    instagram_business: &'static str,
    instagram_login: &'static str,
    generic: &'static str,
}

/// One language's words.
#[derive(Debug)]
pub struct Catalog {
    expired: Texts,
    password_changed: Texts,
    app_revoked: Texts,
    permission_lost: Texts,
    inactivity: Texts,
    security_checkpoint: Texts,
    account_mismatch: Texts,
    other: Texts,
    networks: NetworkTexts,
    labels: Labels,
    expiring_token: Texts,
    expiring_inactivity: Texts,
    degraded: Texts,
    resolved: Texts,
    operator_problem: Texts,
    expiring_title: Title,
    disconnected_title: Title,
    reminder_title: Title,
    escalated_title: Title,
    degraded_title: Title,
    resolved_title: Title,
    operator_title: Title,
    /// `{name}` and `{network}`.
    one_channel: &'static str,
    /// `{n}`.
    many_channels: &'static str,
    one_day: &'static str,
    /// `{n}`.
    many_days: &'static str,
    channels_header: &'static str,
    /// `{detail}`.
    network_said: &'static str,
    /// `{date}`.
    deadline: &'static str,
    urgent: &'static str,
    /// `{count}` and `{date}`.
    at_risk: &'static str,
    nothing_at_risk: &'static str,
    /// `{name}`.
    authorised_by: &'static str,
    nobody_authorised: &'static str,
    /// `{link}`.
    reconnect_link: &'static str,
    /// `{name}` and `{link}`: one line per channel when an alert speaks for several.
    reconnect_channel_link: &'static str,
    reconnect_without_link: &'static str,
    date_format: &'static str,
    /// Short reason labels, for lists and digest lines.
    reasons: ReasonLabels,
    digest: DigestWords,
}

/// A short label per reason ("password changed"), for lists: the chat commands' channel states
/// and the digest's lines.
#[derive(Debug)]
struct ReasonLabels {
    expired: &'static str,
    password_changed: &'static str,
    app_revoked: &'static str,
    permission_lost: &'static str,
    inactivity: &'static str,
    security_checkpoint: &'static str,
    account_mismatch: &'static str,
    other: &'static str,
    /// Telegram's forms of `app_revoked`, `permission_lost` and a chat that is gone.
    bot_removed: &'static str,
    bot_cannot_post: &'static str,
    chat_gone: &'static str,
}

/// The words of a reminder digest and of the per-channel lines of grouped alerts.
#[derive(Debug)]
struct DigestWords {
    /// The title for one open problem.
    title_one: &'static str,
    /// `{n}`.
    title_many: &'static str,
    texts: Texts,
    /// `{date}` and `{reason}`.
    needs_reauth: &'static str,
    /// `{date}`.
    expiring: &'static str,
    expiring_soon: &'static str,
    /// `{count}` and `{date}`.
    at_risk: &'static str,
    nothing_at_risk: &'static str,
    /// `{name}`.
    authorised_by: &'static str,
    /// The word beside 🚨 on a channel with a post due within 24 hours.
    urgent: &'static str,
    /// After a struck-through line of an edited digest.
    connected_again: &'static str,
    /// `{n}`: the channels a message had no room for.
    and_more: &'static str,
    /// Between the parts of a channel's line.
    separator: &'static str,
}

const EN: Catalog = Catalog {
    expired: Texts {
        explanation: "The access the network gave relink has reached its end, and the network does not let relink renew it.",
        remedy: "Reconnect the channel: sign in to the network and approve relink again.",
    },
    password_changed: Texts {
        explanation: "The password or username of the account that authorised relink was changed, and the network ended every session of that account.",
        remedy: "The person who authorised the channel signs in with the new password and reconnects it; channels authorised through the same account need the same.",
    },
    app_revoked: Texts {
        explanation: "relink was removed from the account's authorised apps on the network, so it can no longer publish.",
        remedy: "Reconnect the channel and approve relink again; if the removal was on purpose, remove the channel from relink instead.",
    },
    permission_lost: Texts {
        explanation: "The account that authorised relink lost its admin role, or a permission relink needs, on this page or channel.",
        remedy: "Give that person the admin role back, or have another admin of the page reconnect the channel.",
    },
    inactivity: Texts {
        explanation: "The network ends access after a period without publishing through the tool (Pinterest: 30 days).",
        remedy: "Reconnect the channel, then publish through the tool regularly so it does not lapse again.",
    },
    security_checkpoint: Texts {
        explanation: "The network's security checks blocked the account (for example logins from unusual places, shared credentials or reported content).",
        remedy: "Sign in to the network directly, complete its security check, then reconnect the channel.",
    },
    account_mismatch: Texts {
        explanation: "The network says the channel's token belongs to a different account from the one this channel is for, so relink no longer uses it for this channel.",
        remedy: "Reconnect while signed in to the network as the account that manages this channel.",
    },
    other: Texts {
        explanation: "The network refuses relink's access and gave no reason relink recognises.",
        remedy: "Reconnect the channel; if it keeps failing, tell your relink operator what the network said.",
    },
    networks: NetworkTexts {
        telegram_removed: Texts {
            explanation: "The relink bot was removed from the Telegram chat (or blocked), so relink can no longer post there.",
            remedy: "Add the relink bot back to the chat as an administrator with the right to post messages; the channel works again at relink's next check, or at once with /check.",
        },
        telegram_cannot_post: Texts {
            explanation: "The relink bot is no longer an administrator of the Telegram chat, or lost its right to post messages.",
            remedy: "In the chat's settings, make the relink bot an administrator again with the right to post messages; the channel works again at relink's next check, or at once with /check.",
        },
        telegram_chat_gone: Texts {
            explanation: "The Telegram chat no longer exists (it was deleted), so relink cannot post there.",
            remedy: "If the team posts to a new chat, add the relink bot there as an administrator and ask your relink operator to add that chat; then remove this channel from relink.",
        },
        x_locked: Texts {
            explanation: "X has locked or suspended the account, so relink cannot act for it.",
            remedy: "Sign in to x.com as that account: complete the check X shows, or appeal the suspension from X's Help Center; then reconnect the channel.",
        },
        youtube_account: Texts {
            explanation: "Google says the account has no usable YouTube channel: it was never created, or the account or channel was closed or suspended.",
            remedy: "Sign in to youtube.com with that Google account: create the channel if YouTube asks, or resolve the suspension in YouTube Studio; then reconnect the channel.",
        },
    },
    labels: Labels {
        instagram_business: "Instagram (via Facebook)",
        instagram_login: "Instagram (Instagram login)",
        generic: "OAuth 2.0 network",
    },
    expiring_token: Texts {
        explanation: "This network's access cannot be renewed automatically, so the channel disconnects when it ends.",
        remedy: "Reconnect the channel before then so scheduled posts keep going out.",
    },
    expiring_inactivity: Texts {
        explanation: "The network ends access after a period without publishing through the tool, and nothing has been published lately.",
        remedy: "Publish a post through the tool, or reconnect the channel, before then.",
    },
    degraded: Texts {
        explanation: "The network has been failing or not answering relink's checks for a while. The channel is not disconnected and relink keeps trying.",
        remedy: "Nothing to do for now. If posts fail, check the network's status page.",
    },
    resolved: Texts {
        explanation: "The channel works again.",
        remedy: "Nothing to do: scheduled posts go out as planned.",
    },
    operator_problem: Texts {
        explanation: "relink's own app or bot has a problem with this channel; the team cannot fix it.",
        remedy: "Check relink's app credentials and bot for this network (`relink channel show` gives the detail).",
    },
    expiring_title: Title { one: "{subject} disconnects in {days}", many: "{subject} disconnect in {days}" },
    disconnected_title: Title { one: "{subject} is disconnected", many: "{subject} are disconnected" },
    reminder_title: Title {
        one: "Reminder: {subject} is still disconnected",
        many: "Reminder: {subject} are still disconnected",
    },
    escalated_title: Title {
        one: "Nobody has reconnected {subject} yet",
        many: "Nobody has reconnected {subject} yet",
    },
    degraded_title: Title {
        one: "{subject}: the network has not been answering for a while",
        many: "{subject}: the network has not been answering for a while",
    },
    resolved_title: Title { one: "{subject} is connected again", many: "{subject} are connected again" },
    operator_title: Title {
        one: "relink needs an operator for {subject}",
        many: "relink needs an operator for {subject}",
    },
    one_channel: "{name} ({network})",
    many_channels: "{n} channels",
    one_day: "1 day",
    many_days: "{n} days",
    channels_header: "Channels:",
    network_said: "The network said: {detail}",
    deadline: "Access ends {date}.",
    urgent: "A post is due within 24 hours.",
    at_risk: "Scheduled posts at risk: {count}, the first due {date}.",
    nothing_at_risk: "No scheduled posts at risk.",
    authorised_by: "Authorised by {name}.",
    nobody_authorised: "Nobody is recorded as having authorised it.",
    reconnect_link: "Reconnect: {link}",
    reconnect_channel_link: "Reconnect {name}: {link}",
    reconnect_without_link: "Get a reconnect link with /reconnect in the relink bot.",
    date_format: "%Y-%m-%d %H:%M UTC",
    reasons: ReasonLabels {
        expired: "access expired",
        password_changed: "password changed",
        app_revoked: "relink was removed from the account's apps",
        permission_lost: "admin role or permission lost",
        inactivity: "no publishing for too long",
        security_checkpoint: "the account must act on the network",
        account_mismatch: "the token is another account's",
        other: "refused by the network",
        bot_removed: "the bot was removed from the chat",
        bot_cannot_post: "the bot may no longer post in the chat",
        chat_gone: "the chat was deleted",
    },
    digest: DigestWords {
        title_one: "Still to fix: 1 channel",
        title_many: "Still to fix: {n} channels",
        texts: Texts {
            explanation: "These channels need someone: until they are reconnected, their scheduled posts are at risk.",
            remedy: "Reconnect each one; if someone is already on it, say so with /ack or snooze it with /snooze.",
        },
        needs_reauth: "needs reconnecting since {date}: {reason}",
        expiring: "access ends {date}",
        expiring_soon: "access ends soon",
        at_risk: "posts at risk: {count}, the first due {date}",
        nothing_at_risk: "no posts at risk",
        authorised_by: "authorised by {name}",
        urgent: "urgent",
        connected_again: "connected again",
        and_more: "…and {n} more",
        separator: " — ",
    },
};

const IT: Catalog = Catalog {
    expired: Texts {
        explanation: "L'accesso che il social ha concesso a relink è scaduto, e il social non permette a relink di rinnovarlo.",
        remedy: "Ricollega il canale: accedi al social e autorizza di nuovo relink.",
    },
    password_changed: Texts {
        explanation: "La password o il nome utente dell'account che ha autorizzato relink sono stati cambiati e il social ha chiuso tutte le sessioni di quell'account.",
        remedy: "Chi ha autorizzato il canale accede con la nuova password e lo ricollega; lo stesso vale per i canali autorizzati con lo stesso account.",
    },
    app_revoked: Texts {
        explanation: "relink è stato rimosso dalle app autorizzate dell'account sul social, quindi non può più pubblicare.",
        remedy: "Ricollega il canale e autorizza di nuovo relink; se la rimozione era voluta, elimina invece il canale da relink.",
    },
    permission_lost: Texts {
        explanation: "L'account che ha autorizzato relink ha perso il ruolo di amministratore, o un permesso necessario, su questa pagina o canale.",
        remedy: "Restituisci a quella persona il ruolo di amministratore, oppure fai ricollegare il canale da un altro amministratore della pagina.",
    },
    inactivity: Texts {
        explanation: "Il social revoca l'accesso dopo un periodo senza pubblicazioni tramite lo strumento (Pinterest: 30 giorni).",
        remedy: "Ricollega il canale e poi pubblica regolarmente tramite lo strumento, così l'accesso non scade di nuovo.",
    },
    security_checkpoint: Texts {
        explanation: "I controlli di sicurezza del social hanno bloccato l'account (per esempio accessi da luoghi insoliti, credenziali condivise o contenuti segnalati).",
        remedy: "Accedi direttamente al social, completa la verifica di sicurezza e poi ricollega il canale.",
    },
    account_mismatch: Texts {
        explanation: "Il social dice che il token del canale appartiene a un account diverso da quello del canale, quindi relink non lo usa più per questo canale.",
        remedy: "Ricollega il canale dopo aver effettuato l'accesso al social con l'account che gestisce questo canale.",
    },
    other: Texts {
        explanation: "Il social rifiuta l'accesso di relink senza un motivo che relink riconosca.",
        remedy: "Ricollega il canale; se continua a non funzionare, riferisci all'operatore di relink cosa ha risposto il social.",
    },
    networks: NetworkTexts {
        telegram_removed: Texts {
            explanation: "Il bot di relink è stato rimosso dalla chat Telegram (o bloccato), quindi relink non può più pubblicarvi.",
            remedy: "Aggiungi di nuovo il bot di relink alla chat come amministratore con il permesso di pubblicare messaggi; il canale torna a funzionare al controllo successivo di relink, o subito con /check.",
        },
        telegram_cannot_post: Texts {
            explanation: "Il bot di relink non è più amministratore della chat Telegram, o ha perso il permesso di pubblicare messaggi.",
            remedy: "Nelle impostazioni della chat, rendi di nuovo il bot di relink amministratore con il permesso di pubblicare messaggi; il canale torna a funzionare al controllo successivo di relink, o subito con /check.",
        },
        telegram_chat_gone: Texts {
            explanation: "La chat Telegram non esiste più (è stata eliminata), quindi relink non può pubblicarvi.",
            remedy: "Se il team pubblica in una nuova chat, aggiungi lì il bot di relink come amministratore e chiedi all'operatore di relink di aggiungerla; poi elimina questo canale da relink.",
        },
        x_locked: Texts {
            explanation: "X ha bloccato o sospeso l'account, quindi relink non può agire per suo conto.",
            remedy: "Accedi a x.com con quell'account: completa la verifica che X mostra, oppure fai ricorso contro la sospensione dal Centro assistenza di X; poi ricollega il canale.",
        },
        youtube_account: Texts {
            explanation: "Google dice che l'account non ha un canale YouTube utilizzabile: non è mai stato creato, oppure l'account o il canale è stato chiuso o sospeso.",
            remedy: "Accedi a youtube.com con quell'account Google: crea il canale se YouTube lo chiede, oppure risolvi la sospensione in YouTube Studio; poi ricollega il canale.",
        },
    },
    labels: Labels {
        instagram_business: "Instagram (tramite Facebook)",
        instagram_login: "Instagram (accesso con Instagram)",
        generic: "social OAuth 2.0",
    },
    expiring_token: Texts {
        explanation: "L'accesso a questo social non si può rinnovare in automatico: alla scadenza il canale si disconnette.",
        remedy: "Ricollega il canale prima della scadenza, così i post programmati continuano a uscire.",
    },
    expiring_inactivity: Texts {
        explanation: "Il social revoca l'accesso dopo un periodo senza pubblicazioni tramite lo strumento, e di recente non è stato pubblicato nulla.",
        remedy: "Pubblica un post tramite lo strumento, oppure ricollega il canale, prima di allora.",
    },
    degraded: Texts {
        explanation: "Da un po' il social non risponde o dà errori ai controlli di relink. Il canale non è disconnesso e relink continua a riprovare.",
        remedy: "Per ora non serve fare nulla. Se i post non escono, controlla la pagina di stato del social.",
    },
    resolved: Texts {
        explanation: "Il canale funziona di nuovo.",
        remedy: "Non serve fare nulla: i post programmati usciranno come previsto.",
    },
    operator_problem: Texts {
        explanation: "L'app o il bot di relink ha un problema con questo canale; il team non può risolverlo.",
        remedy: "Controlla le credenziali dell'app e il bot di relink per questo social (`relink channel show` mostra i dettagli).",
    },
    expiring_title: Title { one: "{subject} si disconnette tra {days}", many: "{subject} si disconnettono tra {days}" },
    disconnected_title: Title { one: "{subject} è disconnesso", many: "{subject} sono disconnessi" },
    reminder_title: Title {
        one: "Promemoria: {subject} è ancora disconnesso",
        many: "Promemoria: {subject} sono ancora disconnessi",
    },
    escalated_title: Title {
        one: "Nessuno ha ancora ricollegato {subject}",
        many: "Nessuno ha ancora ricollegato {subject}",
    },
    degraded_title: Title {
        one: "{subject}: il social non risponde da un po'",
        many: "{subject}: il social non risponde da un po'",
    },
    resolved_title: Title { one: "{subject} è di nuovo collegato", many: "{subject} sono di nuovo collegati" },
    operator_title: Title {
        one: "relink ha bisogno di un operatore per {subject}",
        many: "relink ha bisogno di un operatore per {subject}",
    },
    one_channel: "{name} ({network})",
    many_channels: "{n} canali",
    one_day: "1 giorno",
    many_days: "{n} giorni",
    channels_header: "Canali:",
    network_said: "Il social ha risposto: {detail}",
    deadline: "L'accesso termina il {date}.",
    urgent: "Un post è previsto entro 24 ore.",
    at_risk: "Post programmati a rischio: {count}, il primo previsto il {date}.",
    nothing_at_risk: "Nessun post programmato a rischio.",
    authorised_by: "Autorizzato da {name}.",
    nobody_authorised: "Non risulta chi l'abbia autorizzato.",
    reconnect_link: "Ricollega: {link}",
    reconnect_channel_link: "Ricollega {name}: {link}",
    reconnect_without_link: "Ricevi un link di ricollegamento con /reconnect nel bot di relink.",
    date_format: "%d/%m/%Y %H:%M UTC",
    reasons: ReasonLabels {
        expired: "accesso scaduto",
        password_changed: "password cambiata",
        app_revoked: "relink rimosso dalle app dell'account",
        permission_lost: "ruolo di amministratore o permesso perso",
        inactivity: "nessuna pubblicazione da troppo tempo",
        security_checkpoint: "l'account deve intervenire sul social",
        account_mismatch: "il token è di un altro account",
        other: "rifiutato dal social",
        bot_removed: "il bot è stato rimosso dalla chat",
        bot_cannot_post: "il bot non può più pubblicare nella chat",
        chat_gone: "la chat è stata eliminata",
    },
    digest: DigestWords {
        title_one: "Da sistemare: 1 canale",
        title_many: "Da sistemare: {n} canali",
        texts: Texts {
            explanation: "Questi canali hanno bisogno di qualcuno: finché non vengono ricollegati, i loro post programmati sono a rischio.",
            remedy: "Ricollega ciascuno; se qualcuno se ne sta già occupando, dillo con /ack o sospendi gli avvisi con /snooze.",
        },
        needs_reauth: "da ricollegare dal {date}: {reason}",
        expiring: "l'accesso termina il {date}",
        expiring_soon: "l'accesso termina a breve",
        at_risk: "post a rischio: {count}, il primo il {date}",
        nothing_at_risk: "nessun post a rischio",
        authorised_by: "autorizzato da {name}",
        urgent: "urgente",
        connected_again: "di nuovo collegato",
        and_more: "…e altri {n}",
        separator: " — ",
    },
};

const JA: Catalog = Catalog {
    expired: Texts {
        explanation: "SNSがrelinkに与えたアクセス権の有効期限が切れました。このSNSでは、relinkが自動で更新することはできません。",
        remedy: "チャンネルを再接続してください。SNSにログインし、relinkをもう一度承認します。",
    },
    password_changed: Texts {
        explanation: "relinkを認証したアカウントのパスワードまたはユーザー名が変更され、SNSがそのアカウントのすべてのセッションを終了しました。",
        remedy: "チャンネルを認証した人が新しいパスワードでログインし、再接続してください。同じアカウントで認証した他のチャンネルも同様です。",
    },
    app_revoked: Texts {
        explanation: "SNSのアカウント設定で、relinkが連携済みアプリから削除されたため、投稿できなくなりました。",
        remedy: "チャンネルを再接続し、relinkをもう一度承認してください。意図的に削除した場合は、relinkからチャンネルを削除してください。",
    },
    permission_lost: Texts {
        explanation: "relinkを認証したアカウントが、このページやチャンネルの管理者権限、またはrelinkに必要な権限を失いました。",
        remedy: "その人に管理者権限を戻すか、ページの別の管理者がチャンネルを再接続してください。",
    },
    inactivity: Texts {
        explanation: "ツール経由の投稿が一定期間ないと、SNSがアクセス権を失効させます（Pinterestは30日）。",
        remedy: "チャンネルを再接続し、その後はツールから定期的に投稿して、再び失効しないようにしてください。",
    },
    security_checkpoint: Texts {
        explanation: "SNSのセキュリティチェックによりアカウントがブロックされました（普段と違う場所からのログイン、認証情報の共有、報告されたコンテンツなど）。",
        remedy: "SNSに直接ログインしてセキュリティ確認を完了してから、チャンネルを再接続してください。",
    },
    account_mismatch: Texts {
        explanation: "SNSによると、このチャンネルのトークンはチャンネルとは別のアカウントのものです。relinkはこのチャンネルでは使用しません。",
        remedy: "このチャンネルを管理しているアカウントでSNSにログインした状態で、再接続してください。",
    },
    other: Texts {
        explanation: "SNSがrelinkのアクセスを拒否しましたが、relinkが判別できる理由は示されていません。",
        remedy: "チャンネルを再接続してください。それでも失敗する場合は、SNSの応答内容をrelinkの運用担当者に伝えてください。",
    },
    networks: NetworkTexts {
        telegram_removed: Texts {
            explanation: "relinkのボットがTelegramのチャットから削除された（またはブロックされた）ため、relinkはそこに投稿できなくなりました。",
            remedy: "relinkのボットを、メッセージ投稿権限のある管理者としてチャットに再度追加してください。relinkの次回の確認で、または /check ですぐにチャンネルが復旧します。",
        },
        telegram_cannot_post: Texts {
            explanation: "relinkのボットがTelegramのチャットの管理者ではなくなったか、メッセージの投稿権限を失いました。",
            remedy: "チャットの設定で、relinkのボットをメッセージ投稿権限のある管理者に戻してください。relinkの次回の確認で、または /check ですぐにチャンネルが復旧します。",
        },
        telegram_chat_gone: Texts {
            explanation: "Telegramのチャットが存在しません（削除されました）。relinkはそこに投稿できません。",
            remedy: "チームが新しいチャットに投稿する場合は、そこにrelinkのボットを管理者として追加し、relinkの運用担当者にそのチャットの追加を依頼してください。その後、このチャンネルをrelinkから削除してください。",
        },
        x_locked: Texts {
            explanation: "Xがアカウントをロックまたは凍結したため、relinkはこのアカウントで操作できません。",
            remedy: "そのアカウントでx.comにログインし、Xが表示する確認を完了するか、Xのヘルプセンターから凍結に異議を申し立ててください。その後、チャンネルを再接続してください。",
        },
        youtube_account: Texts {
            explanation: "Googleによると、このアカウントには使えるYouTubeチャンネルがありません（作成されていないか、アカウントまたはチャンネルが閉鎖・停止されています）。",
            remedy: "そのGoogleアカウントでyoutube.comにログインし、求められたらチャンネルを作成するか、YouTube Studioで停止を解決してください。その後、チャンネルを再接続してください。",
        },
    },
    labels: Labels {
        instagram_business: "Instagram（Facebook経由）",
        instagram_login: "Instagram（Instagramログイン）",
        generic: "OAuth 2.0のSNS",
    },
    expiring_token: Texts {
        explanation: "このSNSのアクセス権は自動で更新できないため、期限が来るとチャンネルの接続が切れます。",
        remedy: "予約投稿が止まらないよう、期限までにチャンネルを再接続してください。",
    },
    expiring_inactivity: Texts {
        explanation: "ツール経由の投稿が一定期間ないとSNSがアクセス権を失効させますが、最近は投稿がありません。",
        remedy: "期限までにツールから投稿するか、チャンネルを再接続してください。",
    },
    degraded: Texts {
        explanation: "しばらく前から、SNSがrelinkの確認にエラーを返すか応答していません。チャンネルの接続は切れておらず、relinkは再試行を続けています。",
        remedy: "今のところ対応は不要です。投稿が失敗する場合は、SNSの障害情報を確認してください。",
    },
    resolved: Texts {
        explanation: "チャンネルは再び正常に動作しています。",
        remedy: "対応は不要です。予約投稿は予定どおり公開されます。",
    },
    operator_problem: Texts {
        explanation: "relink自体のアプリまたはボットに、このチャンネルに関する問題があります。チームでは解決できません。",
        remedy: "このSNS向けのrelinkのアプリ認証情報とボットを確認してください（詳細は `relink channel show` で確認できます）。",
    },
    expiring_title: Title {
        one: "{subject}の接続は{days}後に切れます", many: "{subject}の接続は{days}後に切れます"
    },
    disconnected_title: Title {
        one: "{subject}の接続が切れました", many: "{subject}の接続が切れました"
    },
    reminder_title: Title {
        one: "リマインダー：{subject}の接続はまだ切れたままです",
        many: "リマインダー：{subject}の接続はまだ切れたままです",
    },
    escalated_title: Title {
        one: "{subject}はまだ誰も再接続していません",
        many: "{subject}はまだ誰も再接続していません",
    },
    degraded_title: Title {
        one: "{subject}：SNSからしばらく応答がありません",
        many: "{subject}：SNSからしばらく応答がありません",
    },
    resolved_title: Title { one: "{subject}は再接続されました", many: "{subject}は再接続されました" },
    operator_title: Title {
        one: "{subject}について、relinkの運用担当者の対応が必要です",
        many: "{subject}について、relinkの運用担当者の対応が必要です",
    },
    one_channel: "{name}（{network}）",
    many_channels: "{n}件のチャンネル",
    one_day: "1日",
    many_days: "{n}日",
    channels_header: "チャンネル：",
    network_said: "SNSの応答：{detail}",
    deadline: "アクセス期限：{date}",
    urgent: "24時間以内に公開予定の投稿があります。",
    at_risk: "影響を受ける予約投稿：{count}件（最初の投稿は{date}）",
    nothing_at_risk: "影響を受ける予約投稿はありません。",
    authorised_by: "認証したメンバー：{name}",
    nobody_authorised: "認証したメンバーは記録されていません。",
    reconnect_link: "再接続：{link}",
    reconnect_channel_link: "{name}を再接続：{link}",
    reconnect_without_link: "relinkボットで /reconnect を使うと、再接続用のリンクが届きます。",
    date_format: "%Y年%m月%d日 %H:%M UTC",
    reasons: ReasonLabels {
        expired: "アクセス期限切れ",
        password_changed: "パスワード変更",
        app_revoked: "連携済みアプリからrelinkが削除された",
        permission_lost: "管理者権限または必要な権限の喪失",
        inactivity: "長期間投稿なし",
        security_checkpoint: "アカウント側でSNSでの対応が必要",
        account_mismatch: "トークンが別のアカウントのもの",
        other: "SNSによる拒否",
        bot_removed: "ボットがチャットから削除された",
        bot_cannot_post: "ボットがチャットに投稿できない",
        chat_gone: "チャットが削除された",
    },
    digest: DigestWords {
        title_one: "対応待ち：1件のチャンネル",
        title_many: "対応待ち：{n}件のチャンネル",
        texts: Texts {
            explanation: "これらのチャンネルは対応が必要です。再接続されるまで、予約投稿が失敗するおそれがあります。",
            remedy: "それぞれ再接続してください。すでに誰かが対応中なら、/ack で知らせるか /snooze で通知を一時停止してください。",
        },
        needs_reauth: "{date}から再接続が必要：{reason}",
        expiring: "アクセス期限：{date}",
        expiring_soon: "まもなくアクセス期限",
        at_risk: "影響を受ける予約投稿：{count}件（最初は{date}）",
        nothing_at_risk: "影響を受ける予約投稿なし",
        authorised_by: "認証：{name}",
        urgent: "緊急",
        connected_again: "再接続済み",
        and_more: "ほか{n}件",
        separator: "／",
    },
};

/// A language's words.
pub fn catalog(language: Language) -> &'static Catalog {
    match language {
        Language::En => &EN,
        Language::It => &IT,
        Language::Ja => &JA,
    }
}

/// Why an expiring channel's access ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryCause {
    /// The token's own expiry, which relink cannot renew.
    Token,
    /// The network's rule on publishing inactivity (Pinterest).
    Inactivity,
}

impl Catalog {
    /// What a reason means on a network and what to do about it: the network's own words where
    /// the general ones would send a team the wrong way (a Telegram bot is added back, not
    /// re-approved; a suspended X account is appealed), else [`Catalog::reason`].
    pub fn reason_on(&self, provider: Provider, reason: &Reason) -> Texts {
        let own = &self.networks;
        match (provider, reason) {
            (Provider::Telegram, Reason::AppRevoked) => own.telegram_removed,
            (Provider::Telegram, Reason::PermissionLost) => own.telegram_cannot_post,
            (Provider::Telegram, reason) if chat_gone(reason) => own.telegram_chat_gone,
            (Provider::X, Reason::SecurityCheckpoint) => own.x_locked,
            (Provider::Youtube, Reason::SecurityCheckpoint) => own.youtube_account,
            (_, reason) => self.reason(reason),
        }
    }

    /// Whether the words for a reason say all the network did, so its own (English) words are
    /// not shown beside them: every reason but an unrecognised one.
    pub fn explains(provider: Provider, reason: &Reason) -> bool {
        reason.detail().is_none_or(str::is_empty) || (provider == Provider::Telegram && chat_gone(reason))
    }

    /// The name people know a network by, in this language.
    pub fn network(&self, provider: Provider) -> &'static str {
        match provider {
            Provider::InstagramBusiness => self.labels.instagram_business,
            Provider::InstagramLogin => self.labels.instagram_login,
            Provider::GenericOauth2 => self.labels.generic,
            other => other.label(),
        }
    }

    /// What a reason means and what to do about it, on any network.
    pub fn reason(&self, reason: &Reason) -> Texts {
        match reason {
            Reason::Expired => self.expired,
            Reason::PasswordChanged => self.password_changed,
            Reason::AppRevoked => self.app_revoked,
            Reason::PermissionLost => self.permission_lost,
            Reason::Inactivity => self.inactivity,
            Reason::SecurityCheckpoint => self.security_checkpoint,
            Reason::AccountMismatch => self.account_mismatch,
            Reason::Other(_) => self.other,
        }
    }

    pub fn expiring(&self, cause: ExpiryCause) -> Texts {
        match cause {
            ExpiryCause::Token => self.expiring_token,
            ExpiryCause::Inactivity => self.expiring_inactivity,
        }
    }

    /// The texts of kinds that do not depend on a reason; `None` for the others.
    pub fn kind(&self, kind: AlertKind) -> Option<Texts> {
        match kind {
            AlertKind::Degraded => Some(self.degraded),
            AlertKind::Resolved => Some(self.resolved),
            AlertKind::OperatorProblem => Some(self.operator_problem),
            AlertKind::Expiring | AlertKind::Disconnected | AlertKind::Reminder | AlertKind::Escalated => None,
        }
    }

    /// The title of an alert about `channels` (name, network label); `days` for warnings.
    pub fn title(&self, kind: AlertKind, channels: &[(&str, &str)], days: Option<i64>) -> String {
        let title = match kind {
            AlertKind::Expiring => self.expiring_title,
            AlertKind::Disconnected => self.disconnected_title,
            AlertKind::Reminder => self.reminder_title,
            AlertKind::Escalated => self.escalated_title,
            AlertKind::Degraded => self.degraded_title,
            AlertKind::Resolved => self.resolved_title,
            AlertKind::OperatorProblem => self.operator_title,
        };
        let (template, subject) = match channels {
            [(name, network)] => (title.one, self.one_channel.replace("{name}", name).replace("{network}", network)),
            many => (title.many, self.many_channels.replace("{n}", &many.len().to_string())),
        };
        let days = match days.unwrap_or(1).max(1) {
            1 => self.one_day.to_owned(),
            n => self.many_days.replace("{n}", &n.to_string()),
        };
        template.replace("{subject}", &subject).replace("{days}", &days)
    }

    pub fn date(&self, at: DateTime<Utc>) -> String {
        at.format(self.date_format).to_string()
    }

    /// A date on a team's wall clock (`zone`, an IANA name), with the zone's abbreviation where
    /// the plain format says UTC; UTC itself, or a zone this build does not know, as [`Self::date`].
    pub fn date_in(&self, at: DateTime<Utc>, zone: Option<&str>) -> String {
        self.date_on(at, zone.and_then(|name| super::calendar::Zone::parse(name).ok()).as_ref())
    }

    /// [`Self::date_in`] for a zone already read (`None`: UTC).
    pub fn date_on(&self, at: DateTime<Utc>, zone: Option<&super::calendar::Zone>) -> String {
        match zone.filter(|z| !z.is_utc()) {
            Some(zone) => {
                let (local, abbreviation) = zone.wall_clock(at);
                local.format(&self.date_format.replace("UTC", &abbreviation)).to_string()
            }
            None => self.date(at),
        }
    }

    /// The title and texts of a reminder digest listing `count` open problems.
    pub fn digest(&self, count: usize) -> (String, Texts) {
        let title = match count {
            1 => self.digest.title_one.to_owned(),
            n => self.digest.title_many.replace("{n}", &n.to_string()),
        };
        (title, self.digest.texts)
    }

    /// One channel's status in a reminder digest ("needs reconnecting since …: password changed"),
    /// its dates on the team's wall clock (`zone`, an IANA name; UTC without one).
    pub fn digest_status(&self, provider: Provider, line: DigestLine<'_>, zone: Option<&str>) -> String {
        let words = &self.digest;
        match line {
            DigestLine::NeedsReauth { reason, since } => words
                .needs_reauth
                .replace("{date}", &self.date_in(since, zone))
                .replace("{reason}", self.reason_label_on(provider, reason)),
            DigestLine::Expiring { deadline: Some(deadline) } => {
                words.expiring.replace("{date}", &self.date_in(deadline, zone))
            }
            DigestLine::Expiring { deadline: None } => words.expiring_soon.to_owned(),
        }
    }

    /// A reason's short label on a network ("password changed"; a Telegram bot is removed, not
    /// an app), for lists.
    pub fn reason_label_on(&self, provider: Provider, reason: &Reason) -> &'static str {
        let r = &self.reasons;
        match (provider, reason) {
            (Provider::Telegram, Reason::AppRevoked) => r.bot_removed,
            (Provider::Telegram, Reason::PermissionLost) => r.bot_cannot_post,
            (Provider::Telegram, reason) if chat_gone(reason) => r.chat_gone,
            (_, reason) => self.reason_label(reason),
        }
    }

    /// A reason's short label on any network.
    pub fn reason_label(&self, reason: &Reason) -> &'static str {
        let r = &self.reasons;
        match reason {
            Reason::Expired => r.expired,
            Reason::PasswordChanged => r.password_changed,
            Reason::AppRevoked => r.app_revoked,
            Reason::PermissionLost => r.permission_lost,
            Reason::Inactivity => r.inactivity,
            Reason::SecurityCheckpoint => r.security_checkpoint,
            Reason::AccountMismatch => r.account_mismatch,
            Reason::Other(_) => r.other,
        }
    }

    /// "…and 12 more": the line that ends a list cut to fit a platform's limits.
    pub fn and_more(&self, n: usize) -> String {
        self.digest.and_more.replace("{n}", &n.to_string())
    }

    /// The word beside 🚨 on a channel with a post due within 24 hours.
    pub fn urgent_word(&self) -> &'static str {
        self.digest.urgent
    }

    /// What follows a struck-through line of an edited digest.
    pub fn connected_again(&self) -> &'static str {
        self.digest.connected_again
    }

    /// Between the parts of a channel's line.
    pub fn separator(&self) -> &'static str {
        self.digest.separator
    }

    /// The header above an alert's list of channels.
    pub fn channels_header(&self) -> &'static str {
        self.channels_header
    }

    /// "Name (network)".
    pub fn channel_subject(&self, name: &str, provider: Provider) -> String {
        self.one_channel.replace("{name}", name).replace("{network}", self.network(provider))
    }
}

/// One channel of a grouped alert or of a digest, in the alert's language and without markup,
/// for each renderer to mark up: urgent lines take 🚨, resolved lines are struck through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLine {
    pub channel: ChannelId,
    /// "Name (network)".
    pub subject: String,
    /// The whole line: the subject, "urgent", the digest's status, the channel's posts at risk
    /// and (in a digest) who authorised it.
    pub text: String,
    pub urgent: bool,
    /// Connected again since the digest was first sent.
    pub resolved: bool,
}

/// Whether an alert is a reminder digest: one message listing every open problem a reader
/// hears about, each channel with its own status line.
pub fn is_digest(alert: &Alert) -> bool {
    alert.kind == AlertKind::Reminder && alert.channels.iter().any(|c| c.status.is_some())
}

/// The lines listing an alert's channels, in the alert's order (a digest's is most urgent
/// first); empty for an alert about one channel, which says it all in its other lines.
pub fn channel_lines(alert: &Alert) -> Vec<ChannelLine> {
    let digest = is_digest(alert);
    if !digest && alert.channels.len() <= 1 {
        return Vec::new();
    }
    let words = catalog(alert.language);
    let risky = matches!(
        alert.kind,
        AlertKind::Expiring | AlertKind::Disconnected | AlertKind::Reminder | AlertKind::Escalated
    );
    alert
        .channels
        .iter()
        .map(|channel| {
            let subject = words.channel_subject(&channel.name, channel.network);
            let urgent = risky && channel.urgent && !channel.resolved;
            let mut parts = vec![subject.clone()];
            if urgent {
                parts.push(words.digest.urgent.to_owned());
            }
            if let Some(status) = channel.status.as_deref().filter(|_| digest) {
                parts.push(status.to_owned());
            }
            if risky {
                parts.push(match channel.at_risk.first_due {
                    Some(first) => words
                        .digest
                        .at_risk
                        .replace("{count}", &channel.at_risk.count.to_string())
                        .replace("{date}", &words.date_in(first, alert.zone.as_deref())),
                    None => words.digest.nothing_at_risk.to_owned(),
                });
            }
            if let Some(name) = channel.authorised_by.as_deref().filter(|_| digest) {
                parts.push(words.digest.authorised_by.replace("{name}", name));
            }
            ChannelLine {
                channel: channel.id,
                subject,
                text: parts.join(words.digest.separator),
                urgent,
                resolved: channel.resolved,
            }
        })
        .collect()
}

/// How many of a list's lines (their sizes in `costs`, in order) fit in `room`, keeping room
/// for the "and N more" line (`more(n)` its size) when not all of them fit.
pub fn fitting(costs: &[usize], room: usize, more: impl Fn(usize) -> usize) -> usize {
    if costs.iter().fold(0usize, |sum, cost| sum.saturating_add(*cost)) <= room {
        return costs.len();
    }
    let mut used = 0usize;
    let mut shown = 0;
    for (i, cost) in costs.iter().enumerate() {
        let with = used.saturating_add(*cost);
        if with.saturating_add(more(costs.len() - i - 1)) > room {
            break;
        }
        used = with;
        shown = i + 1;
    }
    shown
}

/// What a digest line says about a channel.
#[derive(Debug, Clone, Copy)]
pub enum DigestLine<'a> {
    /// It needs reconnecting, for this reason, since then.
    NeedsReauth { reason: &'a Reason, since: DateTime<Utc> },
    /// Its access ends at the deadline (when known) unless someone reconnects it.
    Expiring { deadline: Option<DateTime<Utc>> },
}

/// The alert as plain text in its language; `link` is the reconnect link for this reader, if
/// one was minted (only private destinations get one).
pub fn render_text(alert: &Alert, links: &[ChannelLink]) -> String {
    let layout = layout(alert, links);
    let words = catalog(alert.language);
    let mut lines = vec![format!("{} {}", layout.icon, alert.title)];
    lines.extend(layout.intro);
    if !layout.channels.is_empty() {
        lines.push(words.channels_header.to_owned());
        lines.extend(layout.channels.iter().map(|line| match (line.resolved, line.urgent) {
            (true, _) => format!("- ✅ {}{}{}", line.subject, words.digest.separator, words.digest.connected_again),
            (false, true) => format!("- 🚨 {}", line.text),
            (false, false) => format!("- {}", line.text),
        }));
        if alert.unlisted > 0 {
            lines.push(words.and_more(alert.unlisted as usize));
        }
    }
    lines.extend(layout.facts);
    lines.extend(layout.links);
    lines.join("\n")
}

/// An alert's text in parts, before a renderer marks them up and fits them to its limits.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Before the title: ✅ ℹ️ ⚠️ 🔴 🚨.
    pub icon: &'static str,
    /// The explanation and the remedy.
    pub intro: Vec<String>,
    /// Each channel of a grouped alert or a digest (see [`channel_lines`]).
    pub channels: Vec<ChannelLine>,
    /// What the network said, the end of access, urgency, the posts at risk, who authorised the
    /// channels (a digest says these per channel).
    pub facts: Vec<String>,
    /// "Reconnect X: https://…" per link of this reader (a digest's resolved channels have
    /// none), or how to get one when there is none.
    pub links: Vec<String>,
}

/// Lays an alert out in parts (see [`Layout`]).
pub fn layout(alert: &Alert, links: &[ChannelLink]) -> Layout {
    let words = catalog(alert.language);
    let digest = is_digest(alert);
    let icon = match (alert.kind, alert.severity) {
        (AlertKind::Resolved, _) => "✅",
        (_, Severity::Info) => "ℹ️",
        (_, Severity::Warning) => "⚠️",
        (_, Severity::Critical) => "🔴",
        (_, Severity::Urgent) => "🚨",
    };
    let mut facts = Vec::new();
    if let Some(detail) = alert.detail.as_deref().filter(|d| !d.is_empty()) {
        facts.push(words.network_said.replace("{detail}", detail));
    }
    if !digest {
        if let Some(deadline) = alert.deadline {
            facts.push(words.deadline.replace("{date}", &words.date_in(deadline, alert.zone.as_deref())));
        }
        if alert.severity == Severity::Urgent {
            facts.push(words.urgent.to_owned());
        }
        if alert.kind != AlertKind::Resolved {
            facts.push(match alert.at_risk.first_due {
                Some(first) => words
                    .at_risk
                    .replace("{count}", &alert.at_risk.count.to_string())
                    .replace("{date}", &words.date_in(first, alert.zone.as_deref())),
                None => words.nothing_at_risk.to_owned(),
            });
        }
        if alert.kind != AlertKind::OperatorProblem {
            facts.push(match &alert.authorised_by {
                Some(name) => words.authorised_by.replace("{name}", name),
                None => words.nobody_authorised.to_owned(),
            });
        }
    }
    let mut lines = Vec::new();
    if alert.reconnect.is_some() {
        let open: Vec<&ChannelLink> = links.iter().filter(|link| !resolved_in(alert, link.channel_id)).collect();
        match open.as_slice() {
            [] if links.is_empty() => lines.push(words.reconnect_without_link.to_owned()),
            [] => {}
            [only] if alert.channels.len() <= 1 => {
                lines.push(words.reconnect_link.replace("{link}", only.url.expose_secret()));
            }
            open => lines.extend(open.iter().map(|link| {
                let name = alert.channels.iter().find(|c| c.id == link.channel_id).map_or("?", |c| c.name.as_str());
                words.reconnect_channel_link.replace("{name}", name).replace("{link}", link.url.expose_secret())
            })),
        }
    }
    Layout {
        icon,
        intro: vec![alert.explanation.clone(), alert.remedy.clone()],
        channels: channel_lines(alert),
        facts,
        links: lines,
    }
}

/// Whether a channel of the alert was connected again since the alert (a digest) was sent.
pub fn resolved_in(alert: &Alert, channel: ChannelId) -> bool {
    alert.channels.iter().any(|c| c.id == channel && c.resolved)
}

/// The English words, raw identifiers and (in Japanese) ASCII brackets or the old spelling
/// チャネル that a text in Italian or Japanese carries, outside code spans and `/commands`
/// and placeholders (product names stay as they are). The words tests of every crate that
/// writes to people use it.
pub fn foreign_words(text: &str, language: Language) -> Vec<&'static str> {
    let mut plain = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 0 {
            plain.push_str(part);
        }
    }
    // A `/command` is typed as it is in every language, and a `{placeholder}` is filled in.
    let mut kept = String::with_capacity(plain.len());
    let mut in_command = false;
    let mut in_placeholder = false;
    for c in plain.chars() {
        if c == '/' {
            in_command = true;
        } else if in_command && !(c.is_ascii_alphanumeric() || c == '_') {
            in_command = false;
        }
        if c == '{' {
            in_placeholder = true;
        }
        if !in_command && !in_placeholder {
            kept.push(c);
        }
        if c == '}' {
            in_placeholder = false;
        }
    }
    const ENGLISH: [&str; 22] = [
        " the ",
        "The ",
        " your ",
        " you ",
        "reconnect",
        "Reconnect",
        "channel",
        "network",
        "Nobody",
        "Reminder",
        " is ",
        " and ",
        " via ",
        " with ",
        " login",
        "needs_reauth",
        "password_changed",
        "app_revoked",
        "permission_lost",
        "security_checkpoint",
        "chat not found",
        "_",
    ];
    let mut found: Vec<&'static str> = ENGLISH.into_iter().filter(|word| kept.contains(word)).collect();
    if language == Language::Ja {
        found.extend(["(", ")", "チャネル"].into_iter().filter(|mark| kept.contains(mark)));
        if kept.chars().any(char::is_alphabetic) && kept.is_ascii() {
            found.push("no Japanese at all");
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const REASONS: [Reason; 8] = [
        Reason::Expired,
        Reason::PasswordChanged,
        Reason::AppRevoked,
        Reason::PermissionLost,
        Reason::Inactivity,
        Reason::SecurityCheckpoint,
        Reason::AccountMismatch,
        Reason::Other(String::new()),
    ];

    /// Every explanation and remedy of a catalog, the networks' own included.
    fn all_texts(words: &Catalog) -> Vec<Texts> {
        let mut texts: Vec<Texts> = REASONS.iter().map(|r| words.reason(r)).collect();
        for provider in Provider::ALL {
            texts.extend(REASONS.iter().map(|r| words.reason_on(*provider, r)));
            texts.push(words.reason_on(*provider, &Reason::Other(crate::provider::classify::CHAT_DELETED.into())));
        }
        texts.extend([words.expiring(ExpiryCause::Token), words.expiring(ExpiryCause::Inactivity)]);
        texts.extend(AlertKind::ALL.iter().filter_map(|k| words.kind(*k)));
        texts
    }

    /// Every title of a catalog, for one channel and for three.
    fn all_titles(words: &Catalog) -> Vec<String> {
        let one = [("Acme", "Facebook")];
        let three = [("A", "X"), ("B", "X"), ("C", "X")];
        AlertKind::ALL
            .iter()
            .flat_map(|kind| [words.title(*kind, &one, Some(3)), words.title(*kind, &three, Some(1))])
            .collect()
    }

    #[test]
    fn every_reason_and_kind_has_an_explanation_and_a_remedy_in_every_language() {
        for language in Language::ALL {
            let words = catalog(*language);
            for reason in &REASONS {
                let texts = words.reason(reason);
                assert!(texts.explanation.len() > 20 && texts.remedy.len() > 20, "{language} {reason}");
            }
            for kind in AlertKind::ALL {
                let has_own = words.kind(*kind).is_some();
                let speaks_of_a_reason = matches!(
                    kind,
                    AlertKind::Expiring | AlertKind::Disconnected | AlertKind::Reminder | AlertKind::Escalated
                );
                assert!(has_own != speaks_of_a_reason, "{language} {kind}: texts come from exactly one place");
            }
            for texts in all_texts(words) {
                assert_ne!(texts.explanation, texts.remedy, "{language}");
            }
            for title in all_titles(words) {
                assert!(!title.contains('{'), "{language}: unfilled placeholder in {title}");
            }
        }
    }

    #[test]
    fn italian_and_japanese_texts_carry_no_english() {
        // Product names, commands and code spans may stay as they are.
        let strip = |text: &str| -> String {
            let mut out = String::new();
            for (i, part) in text.split('`').enumerate() {
                if i % 2 == 0 {
                    out.push_str(part);
                }
            }
            out.replace("/reconnect", "")
        };
        let english =
            [" the ", "The ", " your ", "reconnect", "channel", "network", "Nobody", "Reminder", " is ", " and "];
        for language in [Language::It, Language::Ja] {
            let words = catalog(language);
            let mut texts: Vec<String> =
                all_texts(words).iter().flat_map(|t| [t.explanation.to_owned(), t.remedy.to_owned()]).collect();
            texts.extend(all_titles(words));
            texts.extend(
                [words.at_risk, words.nothing_at_risk, words.reconnect_without_link, words.urgent].map(String::from),
            );
            texts.extend(list_texts(words).into_iter().map(String::from));
            for text in texts {
                let plain = strip(&text);
                for word in english {
                    assert!(!plain.contains(word), "{language}: `{word}` in {text}");
                }
                if language == Language::Ja {
                    assert!(!plain.is_ascii(), "Japanese text without Japanese: {text}");
                }
            }
        }
    }

    /// An alert of every kind about a channel of every network, and one about three.
    fn every_alert(language: Language) -> Vec<Alert> {
        use super::super::model::{AlertChannel, AlertId, AtRisk, ReconnectAction};
        use crate::domain::{ChannelId, TeamId};
        let words = catalog(language);
        let now = DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z").map(|t| t.to_utc()).unwrap_or_default();
        let mut alerts = Vec::new();
        for provider in Provider::ALL {
            for kind in AlertKind::ALL {
                for reason in REASONS.iter().chain([&Reason::Other(crate::provider::classify::CHAT_NOT_FOUND.into())]) {
                    let channels: Vec<AlertChannel> = (1..=if *kind == AlertKind::Disconnected { 3 } else { 1 })
                        .map(|n| AlertChannel::new(ChannelId(n), format!("Acme {n}"), *provider))
                        .collect();
                    let names: Vec<(&str, &str)> =
                        channels.iter().map(|c| (c.name.as_str(), words.network(c.network))).collect();
                    let texts = match kind {
                        AlertKind::Expiring => words.expiring(ExpiryCause::Inactivity),
                        AlertKind::Disconnected | AlertKind::Reminder | AlertKind::Escalated => {
                            words.reason_on(*provider, reason)
                        }
                        other => words.kind(*other).unwrap_or(words.other),
                    };
                    alerts.push(Alert {
                        id: AlertId(1),
                        kind: *kind,
                        severity: Severity::Urgent,
                        language,
                        team_id: TeamId(1),
                        team: "Acme".into(),
                        title: words.title(*kind, &names, Some(3)),
                        channels,
                        incidents: Vec::new(),
                        reason: Some(reason.as_str().into()),
                        detail: (!Catalog::explains(*provider, reason)).then(|| "HTTP 418".into()),
                        explanation: texts.explanation.into(),
                        remedy: texts.remedy.into(),
                        authorised_by: None,
                        at_risk: AtRisk { count: 2, first_due: Some(now) },
                        deadline: Some(now),
                        reconnect: Some(ReconnectAction { team_id: TeamId(1), channel_ids: vec![ChannelId(1)] }),
                        edits: None,
                        unlisted: 0,
                        zone: None,
                        created_at: now,
                    });
                }
            }
        }
        for provider in Provider::ALL {
            alerts.push(digest(language, *provider));
            alerts.push(Alert {
                channels: digest(language, *provider)
                    .channels
                    .into_iter()
                    .map(|mut c| {
                        c.resolved = false;
                        c
                    })
                    .collect(),
                ..digest(language, *provider)
            });
        }
        alerts.push(grouped(language));
        alerts
    }

    /// The words of lists and digests, for comparing languages text by text.
    fn list_texts(words: &Catalog) -> Vec<&'static str> {
        let r = &words.reasons;
        let d = &words.digest;
        vec![
            r.expired,
            r.password_changed,
            r.app_revoked,
            r.permission_lost,
            r.inactivity,
            r.security_checkpoint,
            r.account_mismatch,
            r.other,
            r.bot_removed,
            r.bot_cannot_post,
            r.chat_gone,
            d.title_one,
            d.title_many,
            d.texts.explanation,
            d.texts.remedy,
            d.needs_reauth,
            d.expiring,
            d.expiring_soon,
            d.at_risk,
            d.nothing_at_risk,
            d.authorised_by,
            d.urgent,
            d.connected_again,
            d.and_more,
        ]
    }

    fn placeholders(text: &str) -> Vec<&str> {
        let mut found: Vec<&str> =
            text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(key, _)| key)).collect();
        found.sort_unstable();
        found
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.to_utc()).unwrap_or_default()
    }

    /// A grouped alert about three channels of one password change, the second urgent.
    pub(crate) fn grouped(language: Language) -> Alert {
        use super::super::model::{AlertChannel, AlertId, AtRisk, ReconnectAction};
        use crate::domain::{ChannelId, TeamId};
        let words = catalog(language);
        let channels: Vec<AlertChannel> = [
            ("Acme page", Provider::Facebook, 0),
            ("Acme shop", Provider::InstagramBusiness, 2),
            ("Acme news", Provider::Facebook, 1),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (name, network, posts))| {
            let mut channel = AlertChannel::new(ChannelId(i as i64 + 1), name, network);
            channel.at_risk = AtRisk {
                count: posts,
                first_due: (posts > 0).then(|| at("2026-12-06T18:00:00Z") + chrono::Duration::days(i as i64 - 1)),
            };
            channel.urgent = i == 1;
            channel
        })
        .collect();
        let names: Vec<(&str, &str)> = channels.iter().map(|c| (c.name.as_str(), words.network(c.network))).collect();
        let texts = words.reason(&Reason::PasswordChanged);
        Alert {
            id: AlertId(9),
            kind: AlertKind::Disconnected,
            severity: Severity::Urgent,
            language,
            team_id: TeamId(1),
            team: "Acme".into(),
            title: words.title(AlertKind::Disconnected, &names, None),
            at_risk: channels.iter().fold(AtRisk::default(), |sum, c| sum.plus(c.at_risk)),
            reconnect: Some(ReconnectAction {
                team_id: TeamId(1),
                channel_ids: channels.iter().map(|c| c.id).collect(),
            }),
            channels,
            incidents: Vec::new(),
            reason: Some("password_changed".into()),
            detail: None,
            explanation: texts.explanation.into(),
            remedy: texts.remedy.into(),
            authorised_by: Some("Dana".into()),
            deadline: None,
            edits: None,
            unlisted: 0,
            zone: None,
            created_at: at("2026-12-06T10:00:00Z"),
        }
    }

    /// A digest of three problems on `provider` (a password change, urgent; a removed app; an
    /// expiring token), as edited after the second was connected again.
    pub(crate) fn digest(language: Language, provider: Provider) -> Alert {
        use super::super::model::{AlertChannel, AlertId, AtRisk, ReconnectAction};
        use crate::domain::{ChannelId, TeamId};
        let words = catalog(language);
        let lines = [
            DigestLine::NeedsReauth { reason: &Reason::PasswordChanged, since: at("2026-12-05T09:00:00Z") },
            DigestLine::NeedsReauth { reason: &Reason::AppRevoked, since: at("2026-12-04T09:00:00Z") },
            DigestLine::Expiring { deadline: Some(at("2026-12-09T09:00:00Z")) },
        ];
        let channels: Vec<AlertChannel> = lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| {
                let mut channel = AlertChannel::new(ChannelId(i as i64 + 1), format!("Acme {}", i + 1), provider);
                channel.status = Some(words.digest_status(provider, line, None));
                channel.authorised_by = (i != 2).then(|| "Dana".to_owned());
                channel.at_risk =
                    AtRisk { count: 2 - i as u32, first_due: (i < 2).then(|| at("2026-12-06T18:00:00Z")) };
                channel.urgent = i == 0;
                channel.resolved = i == 1;
                channel
            })
            .collect();
        let (title, texts) = words.digest(channels.len());
        Alert {
            id: AlertId(10),
            kind: AlertKind::Reminder,
            severity: Severity::Urgent,
            language,
            team_id: TeamId(1),
            team: "Acme".into(),
            title,
            at_risk: channels.iter().fold(AtRisk::default(), |sum, c| sum.plus(c.at_risk)),
            reconnect: Some(ReconnectAction { team_id: TeamId(1), channel_ids: vec![ChannelId(1), ChannelId(3)] }),
            channels,
            incidents: Vec::new(),
            reason: None,
            detail: None,
            explanation: texts.explanation.into(),
            remedy: texts.remedy.into(),
            authorised_by: None,
            deadline: None,
            edits: Some(AlertId(8)),
            unlisted: 0,
            zone: None,
            created_at: at("2026-12-06T10:00:00Z"),
        }
    }

    fn links(ids: &[i64]) -> Vec<ChannelLink> {
        ids.iter()
            .map(|i| ChannelLink {
                channel_id: ChannelId(*i),
                url: secrecy::SecretString::from(format!("https://relink.test/r/{i}")),
            })
            .collect()
    }

    #[test]
    fn every_language_has_the_digest_words_with_the_same_placeholders() {
        let english = list_texts(&EN);
        for language in [Language::It, Language::Ja] {
            for (en, text) in english.iter().zip(list_texts(catalog(language))) {
                assert!(!text.trim().is_empty(), "{language}: empty text for {en}");
                assert_ne!(*en, text, "{language}: not translated");
                assert_eq!(placeholders(en), placeholders(text), "{language}: {text}");
            }
        }
    }

    #[test]
    fn a_grouped_alert_as_text_lists_each_channel_with_its_own_posts_and_marks_the_urgent_one() {
        for language in Language::ALL {
            let words = catalog(*language);
            let text = render_text(&grouped(*language), &[]);
            let lines: Vec<&str> = text.lines().collect();
            let header = lines.iter().position(|l| *l == words.channels_header).expect(&text);
            let listed = &lines[header + 1..header + 4];
            assert!(listed[0].starts_with("- Acme page") && listed[0].contains(words.digest.nothing_at_risk), "{text}");
            assert!(listed[1].starts_with("- 🚨 Acme shop") && listed[1].contains(words.digest.urgent), "{text}");
            assert!(listed[1].contains(&words.date(at("2026-12-06T18:00:00Z"))), "{text}");
            assert!(!listed[2].contains("🚨") && !listed[2].contains(words.digest.urgent), "{text}");
            assert!(listed[2].contains(&words.date(at("2026-12-07T18:00:00Z"))), "{text}");
        }
    }

    #[test]
    fn a_digest_as_text_has_a_line_per_channel_and_no_link_for_one_connected_again() {
        for language in Language::ALL {
            let words = catalog(*language);
            let text = render_text(&digest(*language, Provider::Facebook), &links(&[1, 2, 3]));
            let lines: Vec<&str> = text.lines().collect();
            let header = lines.iter().position(|l| *l == words.channels_header).expect(&text);
            let listed = &lines[header + 1..header + 4];
            assert!(
                listed[0].starts_with("- 🚨 Acme 1") && listed[0].contains(words.reasons.password_changed),
                "{text}"
            );
            assert!(listed[0].contains(&words.digest.authorised_by.replace("{name}", "Dana")), "{text}");
            assert!(
                listed[1].starts_with("- ✅ Acme 2") && listed[1].ends_with(words.digest.connected_again),
                "{text}"
            );
            assert!(!listed[1].contains(words.reasons.app_revoked), "{text}");
            assert!(listed[2].contains(&words.date(at("2026-12-09T09:00:00Z"))), "{text}");
            assert!(text.contains("/r/1") && text.contains("/r/3") && !text.contains("/r/2"), "{text}");
            assert!(!text.contains(words.nobody_authorised), "a digest says it per channel: {text}");
        }
    }

    #[test]
    fn a_list_cut_to_fit_keeps_room_for_and_n_more() {
        assert_eq!(fitting(&[10, 10, 10], 30, |_| 5), 3);
        assert_eq!(fitting(&[10, 10, 10], 29, |_| 5), 2);
        assert_eq!(fitting(&[10, 10, 10], 24, |_| 5), 1);
        assert_eq!(fitting(&[10, 10, 10], 4, |_| 5), 0);
        assert_eq!(fitting(&[], 0, |_| 5), 0);
        assert_eq!(EN.and_more(12), "…and 12 more");
    }

    #[test]
    fn every_alert_rendered_in_italian_and_japanese_carries_no_english_or_raw_identifier() {
        for language in [Language::It, Language::Ja] {
            for alert in every_alert(language) {
                let text = render_text(&alert, &[]);
                let found = foreign_words(&text, language);
                assert!(found.is_empty(), "{language}: {found:?} in\n{text}");
            }
        }
    }

    #[test]
    fn a_telegram_bot_removed_is_added_back_not_approved_again() {
        for language in Language::ALL {
            let words = catalog(*language);
            let general = words.reason(&Reason::AppRevoked);
            let telegram = words.reason_on(Provider::Telegram, &Reason::AppRevoked);
            assert_ne!(telegram, general, "{language}");
            assert_ne!(words.reason_on(Provider::Telegram, &Reason::PermissionLost), words.permission_lost);
            let gone = Reason::Other(crate::provider::classify::CHAT_NOT_FOUND.into());
            assert_ne!(words.reason_on(Provider::Telegram, &gone), words.other, "{language}");
            assert!(Catalog::explains(Provider::Telegram, &gone));
            assert_ne!(words.reason_on(Provider::X, &Reason::SecurityCheckpoint), words.security_checkpoint);
            assert_ne!(words.reason_on(Provider::Youtube, &Reason::SecurityCheckpoint), words.security_checkpoint);
            assert_eq!(words.reason_on(Provider::Facebook, &Reason::AppRevoked), general);
        }
        assert!(EN.reason_on(Provider::Telegram, &Reason::AppRevoked).remedy.contains("bot back"));
    }

    #[test]
    fn titles_agree_with_the_number_of_channels_and_days() {
        let one = [("Acme Facebook", "Facebook")];
        assert_eq!(EN.title(AlertKind::Expiring, &one, Some(1)), "Acme Facebook (Facebook) disconnects in 1 day");
        assert_eq!(EN.title(AlertKind::Disconnected, &[("a", "X"), ("b", "X")], None), "2 channels are disconnected");
        assert_eq!(
            IT.title(AlertKind::Expiring, &one, Some(7)),
            "Acme Facebook (Facebook) si disconnette tra 7 giorni"
        );
        assert_eq!(IT.title(AlertKind::Resolved, &[("a", "X"), ("b", "X")], None), "2 canali sono di nuovo collegati");
        assert_eq!(JA.title(AlertKind::Expiring, &one, Some(3)), "Acme Facebook（Facebook）の接続は3日後に切れます");
    }
}
