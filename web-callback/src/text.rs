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
    pub team: TeamWords,
}

/// The team page (`/team`), its sign-in page and its buttons' answers.
#[derive(Debug)]
pub struct TeamWords {
    /// `{team}`.
    pub title: &'static str,
    /// `{name}`, `{role}`.
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    /// Primary owner, owner, admin, editor, viewer.
    pub roles: [&'static str; 5],
    pub viewer_note: &'static str,
    pub channels: &'static str,
    pub no_channels: &'static str,
    /// The state words beside each row's icon: needs reconnecting, expiring, degraded, healthy,
    /// not checked yet.
    pub states: [&'static str; 5],
    /// `{date}`.
    pub access_ends: &'static str,
    pub access_ends_soon: &'static str,
    pub degraded: &'static str,
    pub unknown: &'static str,
    pub healthy: &'static str,
    pub label_network: &'static str,
    pub label_authorised: &'static str,
    pub label_at_risk: &'static str,
    pub label_last_check: &'static str,
    pub label_next_check: &'static str,
    pub nobody: &'static str,
    pub never: &'static str,
    /// `{count}`, `{date}`.
    pub at_risk: &'static str,
    pub none_at_risk: &'static str,
    pub button_reconnect: &'static str,
    pub button_check: &'static str,
    pub button_refresh: &'static str,
    pub button_ack: &'static str,
    pub button_snooze: &'static str,
    /// 1 hour, 4 hours, 1 day, 3 days, 7 days.
    pub snooze_for: [&'static str; 5],
    pub incidents: &'static str,
    pub no_incidents: &'static str,
    /// Expiring, needs reconnecting, degraded for long, operator problem.
    pub problems: [&'static str; 4],
    /// `{date}`.
    pub opened: &'static str,
    /// `{name}`, `{date}`.
    pub acknowledged: &'static str,
    /// `{name}`, `{date}`.
    pub snoozed: &'static str,
    pub nobody_on_it: &'static str,
    pub alerts: &'static str,
    pub no_alerts: &'static str,
    /// The answers of the buttons, each `{channel}` (and `{state}` after a check or a renewal).
    pub flash: Flash,
    /// `{team}`.
    pub signin_title: &'static str,
    /// `{name}`, `{team}`.
    pub signin_lead: &'static str,
    pub signin_button: &'static str,
    /// `{date}`.
    pub signin_fine: &'static str,
    /// Title, explanation, next step.
    pub signed_out: [&'static str; 3],
    pub signin_used: [&'static str; 3],
    pub signin_expired: [&'static str; 3],
    pub signin_unknown: [&'static str; 3],
    pub forbidden: [&'static str; 3],
    pub cross_site: [&'static str; 3],
    pub channel_not_found: [&'static str; 3],
    /// The outcome page's link back to `/team`.
    pub back: &'static str,
}

/// What a button did, shown once at the top of `/team`.
#[derive(Debug)]
pub struct Flash {
    pub checked: &'static str,
    pub busy: &'static str,
    pub renewed: &'static str,
    pub not_renewable: &'static str,
    pub not_yet: &'static str,
    pub renewal_failed: &'static str,
    pub acknowledged: &'static str,
    pub snoozed: &'static str,
    pub nothing_open: &'static str,
    pub failed: &'static str,
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
    team: TeamWords {
        title: "{team}: channels",
        signed_in_as: "Signed in as {name} ({role})",
        sign_out: "Sign out",
        roles: ["primary owner", "owner", "admin", "editor", "viewer"],
        viewer_note: "You can see everything here; only owners and admins can act on channels.",
        channels: "Channels",
        no_channels: "This team has no channels yet.",
        states: ["Needs reconnecting", "Expiring", "Degraded", "Healthy", "Not checked yet"],
        access_ends: "Access ends {date}.",
        access_ends_soon: "Access ends soon.",
        degraded: "The network is not answering; relink keeps trying.",
        unknown: "relink has not checked it yet.",
        healthy: "Connected.",
        label_network: "Network",
        label_authorised: "Authorised by",
        label_at_risk: "Posts at risk",
        label_last_check: "Last check",
        label_next_check: "Next check",
        nobody: "not recorded",
        never: "never",
        at_risk: "{count}, the first due {date}",
        none_at_risk: "none",
        button_reconnect: "Reconnect",
        button_check: "Check now",
        button_refresh: "Refresh access",
        button_ack: "I'm on it",
        button_snooze: "Snooze",
        snooze_for: ["1 hour", "4 hours", "1 day", "3 days", "7 days"],
        incidents: "Open problems",
        no_incidents: "No open problems.",
        problems: ["access ending", "needs reconnecting", "network not answering", "relink set-up problem"],
        opened: "since {date}",
        acknowledged: "{name} is on it (since {date}).",
        snoozed: "Snoozed by {name} until {date}.",
        nobody_on_it: "Nobody has said they are on it yet.",
        alerts: "Latest alerts",
        no_alerts: "No alerts yet.",
        flash: Flash {
            checked: "{channel} was checked: {state}",
            busy: "{channel} is being checked or renewed right now; try again in a minute.",
            renewed: "The access of {channel} was renewed: {state}",
            not_renewable: "This network does not let relink renew {channel} by itself: reconnect it instead.",
            not_yet: "The network does not renew {channel} yet; relink renews it by itself when it can.",
            renewal_failed: "The network refused to renew {channel}: {state}",
            acknowledged: "Noted: you are on {channel}. Its alerts stop escalating.",
            snoozed: "The alerts of {channel} are snoozed.",
            nothing_open: "{channel} has no open problem.",
            failed: "relink could not do that because of a problem on its side. Try again in a few minutes.",
        },
        signin_title: "Sign in to the page of {team}",
        signin_lead: "You are signing in as {name} to see the channels of {team}.",
        signin_button: "Sign in",
        signin_fine: "This link works once, until {date}. You stay signed in for 12 hours in this browser.",
        signed_out: [
            "Sign in to see your team's page",
            "This page shows your team's channels to its members, after signing in.",
            "Ask the relink bot for a sign-in link: /dashboard in Telegram, /relink dashboard in Discord.",
        ],
        signin_used: [
            "This sign-in link was already used",
            "Each sign-in link works once.",
            "Ask the relink bot for a new one: /dashboard in Telegram, /relink dashboard in Discord.",
        ],
        signin_expired: [
            "This sign-in link has expired",
            "Sign-in links work for 15 minutes, and this one is over.",
            "Ask the relink bot for a new one: /dashboard in Telegram, /relink dashboard in Discord.",
        ],
        signin_unknown: [
            "This sign-in link is not valid",
            "It may have been copied only in part, or it never existed.",
            "Open the link from the message again, or ask the relink bot for a new one with /dashboard.",
        ],
        forbidden: [
            "Only owners and admins can do this",
            "Your role lets you see the team page, not act on channels. Nothing was changed.",
            "Ask an owner or admin of your team.",
        ],
        cross_site: [
            "This request did not come from relink's page",
            "It was sent from another site or app, or from an old copy of the page, so relink refused it. Nothing was changed.",
            "Open the team page again and press the button there.",
        ],
        channel_not_found: [
            "No such channel in your team",
            "The channel was removed, or it belongs to another team. Nothing was changed.",
            "Open the team page again.",
        ],
        back: "Back to the team page",
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
    team: TeamWords {
        title: "{team}: canali",
        signed_in_as: "Accesso come {name} ({role})",
        sign_out: "Esci",
        roles: ["proprietario principale", "proprietario", "amministratore", "editor", "lettore"],
        viewer_note: "Puoi vedere tutto qui; solo proprietari e amministratori possono agire sui canali.",
        channels: "Canali",
        no_channels: "Questo team non ha ancora canali.",
        states: ["Da ricollegare", "In scadenza", "Non risponde", "Collegato", "Non ancora controllato"],
        access_ends: "L'accesso termina il {date}.",
        access_ends_soon: "L'accesso termina a breve.",
        degraded: "Il social non risponde; relink continua a riprovare.",
        unknown: "relink non l'ha ancora controllato.",
        healthy: "Collegato.",
        label_network: "Social",
        label_authorised: "Autorizzato da",
        label_at_risk: "Post a rischio",
        label_last_check: "Ultimo controllo",
        label_next_check: "Prossimo controllo",
        nobody: "non registrato",
        never: "mai",
        at_risk: "{count}, il primo il {date}",
        none_at_risk: "nessuno",
        button_reconnect: "Ricollega",
        button_check: "Controlla ora",
        button_refresh: "Rinnova l'accesso",
        button_ack: "Me ne occupo io",
        button_snooze: "Posticipa",
        snooze_for: ["1 ora", "4 ore", "1 giorno", "3 giorni", "7 giorni"],
        incidents: "Problemi aperti",
        no_incidents: "Nessun problema aperto.",
        problems: [
            "accesso in scadenza",
            "da ricollegare",
            "il social non risponde",
            "problema di configurazione di relink",
        ],
        opened: "dal {date}",
        acknowledged: "Se ne occupa {name} (dal {date}).",
        snoozed: "Posticipato da {name} fino al {date}.",
        nobody_on_it: "Nessuno ha ancora detto di occuparsene.",
        alerts: "Ultimi avvisi",
        no_alerts: "Ancora nessun avviso.",
        flash: Flash {
            checked: "{channel} è stato controllato: {state}",
            busy: "{channel} è in fase di controllo o di rinnovo proprio ora; riprova fra un minuto.",
            renewed: "L'accesso di {channel} è stato rinnovato: {state}",
            not_renewable: "Questo social non permette a relink di rinnovare {channel} da solo: ricollegalo.",
            not_yet: "Il social non rinnova ancora {channel}; relink lo rinnoverà da solo appena possibile.",
            renewal_failed: "Il social ha rifiutato di rinnovare {channel}: {state}",
            acknowledged: "Registrato: ti occupi tu di {channel}. I suoi avvisi non vengono più inoltrati ad altri.",
            snoozed: "Gli avvisi di {channel} sono posticipati.",
            nothing_open: "{channel} non ha problemi aperti.",
            failed: "relink non ha potuto farlo per un problema interno. Riprova fra qualche minuto.",
        },
        signin_title: "Accedi alla pagina di {team}",
        signin_lead: "Stai accedendo come {name} per vedere i canali di {team}.",
        signin_button: "Accedi",
        signin_fine: "Questo link funziona una sola volta, fino al {date}. In questo browser resti collegato per 12 ore.",
        signed_out: [
            "Accedi per vedere la pagina del tuo team",
            "Questa pagina mostra i canali del team ai suoi membri, dopo l'accesso.",
            "Chiedi un link di accesso al bot di relink: /dashboard su Telegram, /relink dashboard su Discord.",
        ],
        signin_used: [
            "Questo link di accesso è già stato usato",
            "Ogni link di accesso funziona una sola volta.",
            "Chiedine uno nuovo al bot di relink: /dashboard su Telegram, /relink dashboard su Discord.",
        ],
        signin_expired: [
            "Questo link di accesso è scaduto",
            "I link di accesso valgono 15 minuti, e questo è scaduto.",
            "Chiedine uno nuovo al bot di relink: /dashboard su Telegram, /relink dashboard su Discord.",
        ],
        signin_unknown: [
            "Questo link di accesso non è valido",
            "Potrebbe essere stato copiato solo in parte, oppure non è mai esistito.",
            "Apri di nuovo il link dal messaggio, oppure chiedine uno nuovo al bot di relink con /dashboard.",
        ],
        forbidden: [
            "Solo proprietari e amministratori possono farlo",
            "Il tuo ruolo permette di vedere la pagina del team, non di agire sui canali. Non è stato modificato nulla.",
            "Chiedi a un proprietario o a un amministratore del tuo team.",
        ],
        cross_site: [
            "Questa richiesta non arriva dalla pagina di relink",
            "È stata inviata da un altro sito o da un'altra app, oppure da una vecchia copia della pagina, quindi relink l'ha rifiutata. Non è stato modificato nulla.",
            "Apri di nuovo la pagina del team e premi lì il pulsante.",
        ],
        channel_not_found: [
            "Questo canale non è nel tuo team",
            "Il canale è stato rimosso, oppure appartiene a un altro team. Non è stato modificato nulla.",
            "Apri di nuovo la pagina del team.",
        ],
        back: "Torna alla pagina del team",
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
    team: TeamWords {
        title: "{team}：チャンネル一覧",
        signed_in_as: "{name}（{role}）としてログイン中",
        sign_out: "ログアウト",
        roles: ["プライマリーオーナー", "オーナー", "管理者", "編集者", "閲覧者"],
        viewer_note: "このページはすべて閲覧できますが、チャンネルを操作できるのはオーナーと管理者だけです。",
        channels: "チャンネル",
        no_channels: "このチームにはまだチャンネルがありません。",
        states: ["再接続が必要", "期限切れ間近", "応答なし", "正常", "未確認"],
        access_ends: "アクセスは{date}に終了します。",
        access_ends_soon: "アクセスはまもなく終了します。",
        degraded: "SNSが応答していません。relinkは再試行を続けています。",
        unknown: "relinkはまだ確認していません。",
        healthy: "接続中です。",
        label_network: "ソーシャルネットワーク",
        label_authorised: "認証したメンバー",
        label_at_risk: "影響を受ける投稿",
        label_last_check: "前回の確認",
        label_next_check: "次回の確認",
        nobody: "記録なし",
        never: "未実施",
        at_risk: "{count}件、最初は{date}",
        none_at_risk: "なし",
        button_reconnect: "再接続",
        button_check: "今すぐ確認",
        button_refresh: "アクセスを更新",
        button_ack: "対応します",
        button_snooze: "スヌーズ",
        snooze_for: ["1時間", "4時間", "1日", "3日", "7日"],
        incidents: "未解決の問題",
        no_incidents: "未解決の問題はありません。",
        problems: ["アクセス期限切れ間近", "再接続が必要", "SNSが応答しない", "relinkの設定の問題"],
        opened: "{date}から",
        acknowledged: "{name}が対応中です（{date}から）。",
        snoozed: "{name}が{date}までスヌーズしました。",
        nobody_on_it: "まだ誰も対応を表明していません。",
        alerts: "最近の通知",
        no_alerts: "通知はまだありません。",
        flash: Flash {
            checked: "{channel}を確認しました：{state}",
            busy: "{channel}は現在確認中または更新中です。1分後にもう一度お試しください。",
            renewed: "{channel}のアクセスを更新しました：{state}",
            not_renewable: "このSNSではrelinkが{channel}を自動で更新できません。再接続してください。",
            not_yet: "SNSはまだ{channel}を更新しません。可能になればrelinkが自動で更新します。",
            renewal_failed: "SNSが{channel}の更新を拒否しました：{state}",
            acknowledged: "{channel}をあなたが対応中として記録しました。通知のエスカレーションは止まります。",
            snoozed: "{channel}の通知をスヌーズしました。",
            nothing_open: "{channel}に未解決の問題はありません。",
            failed: "relink側の問題で実行できませんでした。数分後に再度お試しください。",
        },
        signin_title: "{team}のページにログイン",
        signin_lead: "{name}としてログインし、{team}のチャンネルを表示します。",
        signin_button: "ログイン",
        signin_fine: "このリンクは{date}まで、一度だけ使えます。このブラウザでは12時間ログインしたままになります。",
        signed_out: [
            "チームページを見るにはログインしてください",
            "このページは、ログインしたチームメンバーにチームのチャンネルを表示します。",
            "relinkのボットにログイン用リンクを依頼してください。Telegramでは /dashboard、Discordでは /relink dashboard です。",
        ],
        signin_used: [
            "このログイン用リンクはすでに使用されています",
            "ログイン用リンクは一度しか使えません。",
            "relinkのボットに新しいリンクを依頼してください。Telegramでは /dashboard、Discordでは /relink dashboard です。",
        ],
        signin_expired: [
            "このログイン用リンクは期限切れです",
            "ログイン用リンクの有効期間は15分で、このリンクは期限が切れています。",
            "relinkのボットに新しいリンクを依頼してください。Telegramでは /dashboard、Discordでは /relink dashboard です。",
        ],
        signin_unknown: [
            "このログイン用リンクは無効です",
            "リンクの一部しかコピーされていないか、存在しないリンクです。",
            "メッセージからもう一度リンクを開くか、relinkのボットに /dashboard で新しいリンクを依頼してください。",
        ],
        forbidden: [
            "この操作ができるのはオーナーと管理者だけです",
            "あなたの役割ではチームページの閲覧はできますが、チャンネルの操作はできません。何も変更していません。",
            "チームのオーナーまたは管理者に依頼してください。",
        ],
        cross_site: [
            "このリクエストはrelinkのページから送信されていません",
            "別のサイトやアプリ、または古いページから送信されたため、relinkは拒否しました。何も変更していません。",
            "チームページをもう一度開き、そこにあるボタンを押してください。",
        ],
        channel_not_found: [
            "このチャンネルはあなたのチームにありません",
            "チャンネルが削除されたか、別のチームのものです。何も変更していません。",
            "チームページをもう一度開いてください。",
        ],
        back: "チームページに戻る",
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
        texts.extend(team(&t.team));
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

    /// Every text of the team page, in a fixed order.
    fn team(w: &TeamWords) -> Vec<&'static str> {
        let f = &w.flash;
        let mut texts = vec![
            w.title,
            w.signed_in_as,
            w.sign_out,
            w.viewer_note,
            w.channels,
            w.no_channels,
            w.access_ends,
            w.access_ends_soon,
            w.degraded,
            w.unknown,
            w.healthy,
            w.label_network,
            w.label_authorised,
            w.label_at_risk,
            w.label_last_check,
            w.label_next_check,
            w.nobody,
            w.never,
            w.at_risk,
            w.none_at_risk,
            w.button_reconnect,
            w.button_check,
            w.button_refresh,
            w.button_ack,
            w.button_snooze,
            w.incidents,
            w.no_incidents,
            w.opened,
            w.acknowledged,
            w.snoozed,
            w.nobody_on_it,
            w.alerts,
            w.no_alerts,
            f.checked,
            f.busy,
            f.renewed,
            f.not_renewable,
            f.not_yet,
            f.renewal_failed,
            f.acknowledged,
            f.snoozed,
            f.nothing_open,
            f.failed,
            w.signin_title,
            w.signin_lead,
            w.signin_button,
            w.signin_fine,
            w.back,
        ];
        texts.extend(w.roles);
        texts.extend(w.states);
        texts.extend(w.snooze_for);
        texts.extend(w.problems);
        for lines in [
            w.signed_out,
            w.signin_used,
            w.signin_expired,
            w.signin_unknown,
            w.forbidden,
            w.cross_site,
            w.channel_not_found,
        ] {
            texts.extend(lines);
        }
        texts
    }

    #[test]
    fn every_team_page_text_has_the_same_placeholders_in_every_language() {
        let names = |text: &str| {
            let mut names: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
                .collect();
            names.sort_unstable();
            names
        };
        let english = team(&EN.team);
        for other in [&IT.team, &JA.team] {
            let other = team(other);
            assert_eq!(other.len(), english.len());
            for (en, text) in english.iter().zip(&other) {
                assert!(!text.trim().is_empty(), "empty text for {en}");
                assert_eq!(names(en), names(text), "{text}");
            }
        }
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
