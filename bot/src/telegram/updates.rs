//! Updates: stored first, handled from the store. A message is a command for the command layer
//! (in a group only messages starting with `/`); a button press is answered privately to the
//! person who pressed it; a group that became a supergroup moves its binding; a change of the
//! bot's own standing in a chat (`my_chat_member`: removed, demoted, its posting right taken,
//! promoted back) is a push signal: the channels of that chat are checked now.

use std::sync::Arc;
use std::time::Duration;

use relink_core::domain::{ChatPlatform, Language};
use relink_core::signals::{self, Source, Subject};
use teloxide::payloads::{AnswerCallbackQuerySetters as _, GetUpdatesSetters as _};
use teloxide::prelude::Requester as _;
use teloxide::types::{
    AllowedUpdate, CallbackQuery, ChatId, ChatMemberUpdated, Message as TgMessage, Update, UpdateKind, User, UserId,
};
use teloxide::{ApiError, RequestError};
use tokio_util::sync::CancellationToken;

use super::{SendError, Telegram, chat_is_gone, render};
use crate::commands::{self, Audience, Caller, ChatKind, Reply};
use crate::lease::Standing;

/// How long a process holds an update it is handling; a crashed process's updates come back.
const UPDATE_LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// Updates handled per claim.
const BATCH: u32 = 32;

/// The kinds of update relink asks Telegram for, in `getUpdates` and `setWebhook` alike: it
/// must say so, because a bot that does not gets the list it (or anyone with its token) gave
/// last, which may leave `my_chat_member` out.
pub(super) const ALLOWED_UPDATES: [AllowedUpdate; 3] =
    [AllowedUpdate::Message, AllowedUpdate::CallbackQuery, AllowedUpdate::MyChatMember];

fn language_of(user: &User) -> Option<Language> {
    user.language_code.as_deref().and_then(|code| code.split('-').next()?.parse().ok())
}

impl Telegram {
    /// Stores an update as received (the JSON body); `false` for a replay.
    pub async fn store_update(&self, update_id: i64, body: &str) -> Result<bool, relink_core::store::StoreError> {
        let stored =
            self.services.store.store_telegram_update(self.bot, update_id, body, self.services.clock.now()).await?;
        if stored {
            self.stored.notify_one();
        }
        Ok(stored)
    }

    /// Handles every stored update nobody handled yet; returns how many.
    pub async fn handle_pending(&self) -> Result<usize, relink_core::store::StoreError> {
        let store = &self.services.store;
        let mut handled = 0;
        loop {
            let now = self.services.clock.now();
            let claimed = store.claim_telegram_updates(self.bot, now, now + UPDATE_LEASE, BATCH).await?;
            if claimed.is_empty() {
                return Ok(handled);
            }
            for (update_id, body) in claimed {
                match serde_json::from_str::<Update>(&body) {
                    Ok(update) => self.handle_update(&update).await,
                    Err(error) => tracing::warn!(update_id, %error, "a Telegram update relink cannot read is skipped"),
                }
                store.finish_telegram_update(self.bot, update_id, self.services.clock.now()).await?;
                handled += 1;
            }
        }
    }

    /// Handles one update. Problems are logged; an update is never retried for a reply that
    /// could not be sent (the person can ask again).
    pub async fn handle_update(&self, update: &Update) {
        match &update.kind {
            UpdateKind::Message(message) => self.on_message(message).await,
            UpdateKind::CallbackQuery(query) => self.on_press(query).await,
            UpdateKind::MyChatMember(change) => self.on_standing_changed(change).await,
            // teloxide reads a kind it does not know, or a known one that does not read, as this.
            UpdateKind::Error(_) => {
                tracing::info!(update_id = update.id.0, "a Telegram update relink cannot read is skipped");
            }
            _ => {}
        }
    }

    /// The bot was added, removed, promoted or demoted in a chat. Whatever changed, the
    /// channels of that chat are checked now: the check asks Telegram and decides, so an
    /// update that says more (or less) than is true changes no health by itself.
    async fn on_standing_changed(&self, change: &ChatMemberUpdated) {
        let chat = change.chat.id.0;
        let Some(subject) = signal_subject(change, self.bot) else {
            tracing::debug!(chat, "a my_chat_member update that names no channel is skipped");
            return;
        };
        tracing::info!(
            chat,
            from = ?change.old_chat_member.status(),
            to = ?change.new_chat_member.status(),
            "relink's bot changed standing in a Telegram chat"
        );
        let wake = self.services.checker.as_ref().map(|checker| checker.wake_handle()).unwrap_or_default();
        let now = self.services.clock.now();
        if let Err(error) = signals::receive(&self.services.store, &wake, Source::Telegram, &subject, now).await {
            // The channel's next ordinary check still finds what changed.
            tracing::warn!(%error, chat, "cannot make a Telegram chat's channels due after my_chat_member");
        }
    }

    async fn on_message(&self, message: &TgMessage) {
        let chat = message.chat.id.0;
        if let Some(new) = message.migrate_to_chat_id() {
            match self.services.store.move_chat(ChatPlatform::Telegram, chat, new.0).await {
                Ok(moved) => tracing::info!(from = chat, to = new.0, moved, "a Telegram group became a supergroup"),
                Err(error) => tracing::warn!(%error, "cannot move the bindings of a migrated Telegram group"),
            }
            return;
        }
        let (Some(text), Some(from)) = (message.text(), message.from.as_ref()) else { return };
        let private = message.chat.is_private();
        if !private && !text.starts_with('/') {
            return;
        }
        let mut caller = Caller {
            platform: ChatPlatform::Telegram,
            user_id: user_id(from.id),
            chat_id: chat,
            chat_kind: if private { ChatKind::Private } else { ChatKind::Group },
            is_chat_admin: private,
            language_hint: language_of(from),
        };
        if !private && commands::parse(text).is_ok_and(|c| c.needs_chat_admin()) {
            caller.is_chat_admin = match self.api.get_chat_member(ChatId(chat), from.id).await {
                Ok(member) => member.is_privileged(),
                Err(error) => {
                    tracing::info!(%error, "cannot ask Telegram whether the caller administers the group");
                    false
                }
            };
        }
        let reply = commands::handle(&self.services, &caller, text).await;
        self.deliver_reply(&caller, &reply).await;
    }

    /// Sends a reply: caller-only messages to the caller's private chat, the rest to the chat;
    /// from a group, when the private chat is closed, the fallback line instead.
    async fn deliver_reply(&self, caller: &Caller, reply: &Reply) {
        let private_failed = !self.send_to_caller(caller, reply).await;
        let fallback =
            reply.if_private_fails.as_deref().filter(|_| private_failed && caller.chat_kind == ChatKind::Group);
        if let Some(text) = fallback {
            if let Err(error) = self.send_html(caller.chat_id, &render::escape(text), None).await {
                log_send_failure(&error);
            }
            return;
        }
        for message in reply.messages.iter().filter(|m| m.audience == Audience::Chat && !m.parts.is_empty()) {
            let html = render::message_html(message);
            if let Err(error) = self.send_html(caller.chat_id, &html, render::keyboard(&message.buttons)).await {
                log_send_failure(&error);
            }
        }
    }

    /// Sends a reply's caller-only messages to the caller's private chat; `false` when one of
    /// them could not go (the person never opened a private chat with the bot, or blocked it).
    async fn send_to_caller(&self, caller: &Caller, reply: &Reply) -> bool {
        let mut reached = true;
        for message in reply.messages.iter().filter(|m| m.audience == Audience::Caller) {
            let html = render::message_html(message);
            if let Err(error) = self.send_html(caller.user_id, &html, render::keyboard(&message.buttons)).await {
                reached = false;
                log_send_failure(&error);
            }
        }
        reached
    }

    /// A button press: in a private chat the answer goes there; in a group, links go to the
    /// presser's private chat and everything else is a notice only they see.
    async fn on_press(&self, query: &CallbackQuery) {
        let Some(chat) = query.message.as_ref().map(|m| m.chat()) else { return };
        let private = chat.is_private();
        let caller = Caller {
            platform: ChatPlatform::Telegram,
            user_id: user_id(query.from.id),
            chat_id: chat.id.0,
            chat_kind: if private { ChatKind::Private } else { ChatKind::Group },
            is_chat_admin: private,
            language_hint: language_of(&query.from),
        };
        let reply = commands::press(&self.services, &caller, query.data.as_deref().unwrap_or_default()).await;
        let mut notice = None;
        if private {
            self.deliver_reply(&caller, &reply).await;
        } else {
            let reached = self.send_to_caller(&caller, &reply).await;
            let said: Vec<String> = reply
                .messages
                .iter()
                .filter(|m| m.audience == Audience::Chat && !m.parts.is_empty())
                .map(|m| m.plain_text())
                .collect();
            notice = if reached { Some(said.join("\n")) } else { reply.if_private_fails.clone() };
        }
        let mut answer = self.api.answer_callback_query(query.id.clone());
        if let Some(text) = notice.filter(|t| !t.is_empty()) {
            answer = answer.text(truncate(&text, 200)).show_alert(true);
        }
        if let Err(error) = answer.await {
            tracing::info!(%error, "cannot answer a Telegram button press");
        }
    }

    /// One long poll: asks for the updates after the last stored one, stores them, handles
    /// what is pending. Returns how many updates were handled. It does not look at the polling
    /// lease ([`Telegram::poll_turn`] does): for a single bot, as the tests drive it.
    pub async fn poll_once(&self) -> Result<usize, RequestError> {
        self.poll(self.settings.poll_timeout).await
    }

    /// A long poll of at most `wait` (whole seconds), its updates stored and handled.
    async fn poll(&self, wait: Duration) -> Result<usize, RequestError> {
        let store = &self.services.store;
        let after = store.last_telegram_update(self.bot).await.map_err(store_failure)?;
        let timeout = u32::try_from(wait.as_secs()).unwrap_or(30);
        let mut request = self.api.get_updates().timeout(timeout).allowed_updates(ALLOWED_UPDATES);
        if let Some(last) = after {
            request = request.offset(i32::try_from(last + 1).unwrap_or(i32::MAX));
        }
        // The call must end before the lease does, whatever the network does: past it, another
        // process may poll, and Telegram would end one of the two with 409.
        let limit = wait.saturating_add(POLL_MARGIN);
        let updates = match tokio::time::timeout(limit, request).await {
            Ok(updates) => updates?,
            Err(_) => {
                tracing::info!("a Telegram long poll took too long and was given up");
                Vec::new()
            }
        };
        for update in updates {
            let body = serde_json::to_string(&update).map_err(|e| store_failure(e.to_string()))?;
            self.store_update(i64::from(update.id.0), &body).await.map_err(store_failure)?;
        }
        self.handle_pending().await.map_err(store_failure)
    }

    /// One turn of the polling loop: renews (or takes) the polling lease, then polls once if
    /// this process holds it, for at most what is left of the lease less [`POLL_MARGIN`] twice
    /// over. A process that does not hold it handles what is pending (a dead poller's updates
    /// come back after their lease) and says until when the holder's lease runs.
    pub async fn poll_turn(&self) -> Result<PollTurn, RequestError> {
        let now = self.services.clock.now();
        let until = match self.poll_lease.renew(now).await.map_err(store_failure)? {
            Standing::Held { until } => until,
            Standing::Elsewhere { until } => {
                self.handle_pending().await.map_err(store_failure)?;
                return Ok(PollTurn::Waiting { until });
            }
        };
        let left = (until - now).to_std().unwrap_or_default().saturating_sub(POLL_MARGIN * 2);
        match self.poll(self.settings.poll_timeout.min(left)).await {
            Ok(handled) => Ok(PollTurn::Polled(handled)),
            Err(error) if is_conflict(&error) => Ok(PollTurn::Conflict(error.to_string())),
            Err(error) => Err(error),
        }
    }

    /// The bot's loop until `shutdown`: register the commands, configure polling or the
    /// webhook, then poll (or wait for the webhook's updates) and handle them. In polling mode
    /// only the holder of the polling lease polls; the others wait to take it over, and the
    /// holder gives it up at shutdown.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_secs(1);
        loop {
            let setup = async {
                self.register_commands().await?;
                self.configure_delivery().await
            };
            tokio::select! {
                result = setup => match result {
                    Ok(()) => break,
                    Err(error) => tracing::warn!(%error, "cannot set up the Telegram bot; trying again"),
                },
                () = shutdown.cancelled() => return,
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = shutdown.cancelled() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(300));
        }
        tracing::info!(bot = self.bot, mode = ?self.settings.mode, "Telegram bot started");
        let mut backoff = Duration::from_secs(1);
        let mut conflicts = 0_u32;
        loop {
            let step = async {
                match self.settings.mode {
                    super::Mode::Polling => match self.poll_turn().await? {
                        PollTurn::Polled(_) => {
                            conflicts = 0;
                            Ok(())
                        }
                        PollTurn::Waiting { until } => {
                            let now = self.services.clock.now();
                            let left = until.and_then(|until| (until - now).to_std().ok()).unwrap_or_default();
                            tokio::time::sleep(left.clamp(Duration::from_millis(50), LOOK_AGAIN)).await;
                            Ok(())
                        }
                        PollTurn::Conflict(said) => {
                            conflicts = conflicts.saturating_add(1);
                            let wait = conflict_wait(conflicts);
                            if conflicts == 1 {
                                tracing::warn!(
                                    said,
                                    wait_seconds = wait.as_secs(),
                                    "Telegram refused getUpdates with 409 Conflict: something else takes this bot's \
                                     updates (another installation or program polling with the same bot token, or a \
                                     webhook set for it). relink polls again later, more and more rarely while it lasts; \
                                     stop the other poller, or use one mode for every process"
                                );
                            }
                            tokio::time::sleep(wait).await;
                            Ok(())
                        }
                    },
                    super::Mode::Webhook => {
                        let handled = self.handle_pending().await.map(|_| ()).map_err(store_failure);
                        // Wake on a stored update, or look again for another process's leftovers.
                        tokio::select! {
                            () = self.stored.notified() => {}
                            () = tokio::time::sleep(Duration::from_secs(30)) => {}
                        }
                        handled
                    }
                }
            };
            let result = tokio::select! {
                result = step => result,
                () = shutdown.cancelled() => break,
            };
            match result {
                Ok(()) => backoff = Duration::from_secs(1),
                Err(error) => {
                    tracing::warn!(%error, "the Telegram update loop failed; trying again");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
        self.poll_lease.release().await;
    }
}

/// What one turn of the polling loop ([`Telegram::poll_turn`]) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollTurn {
    /// This process holds the polling lease and asked Telegram once; that many updates were
    /// handled.
    Polled(usize),
    /// Another process holds the polling lease, until then (`None`: it just ended; ask again).
    /// Nothing was asked of Telegram.
    Waiting { until: Option<chrono::DateTime<chrono::Utc>> },
    /// Telegram answered 409 Conflict (its words): another `getUpdates` call with this bot's
    /// token, or a webhook set for it, takes the updates.
    Conflict(String),
}

/// How much sooner than the lease's end a long poll must be over.
const POLL_MARGIN: Duration = Duration::from_secs(2);

/// The longest a process without the polling lease waits before asking for it again (a holder
/// that shut down gives it up; one that died lets it run out, and the wait ends then).
const LOOK_AGAIN: Duration = Duration::from_secs(5);

/// The wait after the `n`th 409 Conflict in a row: half a lease, doubling to five minutes.
fn conflict_wait(n: u32) -> Duration {
    (crate::lease::TERM / 2).saturating_mul(1 << n.saturating_sub(1).min(5)).min(Duration::from_secs(300))
}

/// Whether Telegram refused `getUpdates` because something else takes the updates: another
/// `getUpdates` call (409 "terminated by other getUpdates request") or a webhook.
fn is_conflict(error: &RequestError) -> bool {
    match error {
        RequestError::Api(ApiError::TerminatedByOtherGetUpdates | ApiError::CantGetUpdates) => true,
        RequestError::Api(ApiError::Unknown(text)) => text.starts_with("Conflict"),
        _ => false,
    }
}

/// Whom a `my_chat_member` update is about: the chat, by id and `@username`, when the change
/// is relink's bot's own (`bot`) in a group, supergroup or channel. `None` for a private chat (a
/// person blocked or unblocked the bot) or another user.
fn signal_subject(change: &ChatMemberUpdated, bot: i64) -> Option<Subject> {
    let chat = &change.chat;
    let about_bot = i64::try_from(change.new_chat_member.user.id.0).ok() == Some(bot);
    (about_bot && !chat.is_private())
        .then(|| Subject::TelegramChat { chat_id: chat.id.0, username: chat.username().map(str::to_owned) })
}

fn user_id(id: UserId) -> i64 {
    i64::try_from(id.0).unwrap_or(i64::MAX)
}

fn store_failure(error: impl std::fmt::Display) -> RequestError {
    RequestError::Io(Arc::new(std::io::Error::other(error.to_string())))
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn log_send_failure(error: &SendError) {
    match error {
        SendError::Api(api) if chat_is_gone(api) => {
            tracing::info!(%error, "the chat does not take messages from the bot")
        }
        _ => tracing::warn!(%error, "cannot send a Telegram reply"),
    }
}

#[cfg(test)]
mod tests {
    //! Whatever JSON arrives as an update (on the webhook or from a poll), reading it, and the
    //! parts of it relink acts on, never panics: it reads or it is skipped.

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
            prop::sample::select(vec![
                "/status",
                "/snooze a 2d",
                "private",
                "group",
                "supergroup",
                "channel",
                "en-US",
                "it",
                "administrator",
                "kicked",
                "left",
                "member",
            ])
            .prop_map(Value::from),
        ];
        let keys = vec![
            "update_id",
            "message",
            "callback_query",
            "chat",
            "from",
            "id",
            "type",
            "text",
            "date",
            "message_id",
            "is_bot",
            "first_name",
            "language_code",
            "data",
            "migrate_to_chat_id",
            "chat_instance",
            "title",
            "my_chat_member",
            "old_chat_member",
            "new_chat_member",
            "status",
            "user",
            "username",
            "until_date",
            "can_post_messages",
        ];
        leaf.prop_recursive(4, 40, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(keys.clone()), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    /// A message update that reads, with any text, user and language in it.
    fn message_update() -> impl Strategy<Value = Value> {
        (0..i64::from(i32::MAX), 1..i64::MAX, 1..u64::from(u32::MAX), ".{1,40}", "[a-z]{2}(-[A-Z]{2})?").prop_map(
            |(update_id, chat, user, text, language)| {
                json!({
                    "update_id": update_id,
                    "message": {
                        "message_id": 1, "date": 1_772_366_400, "text": text,
                        "chat": {"id": chat, "type": "private", "first_name": "A"},
                        "from": {"id": user, "is_bot": false, "first_name": "A", "language_code": language},
                    }
                })
            },
        )
    }

    /// A `my_chat_member` update about the bot (id 4242) in any chat, between any standings.
    fn standing_update() -> impl Strategy<Value = (i64, Option<String>, Value)> {
        let standing = prop::sample::select(vec![
            json!({"status": "kicked", "until_date": 0}),
            json!({"status": "left"}),
            json!({"status": "member"}),
            json!({"status": "administrator", "can_be_edited": false, "is_anonymous": false,
                   "can_manage_chat": true, "can_change_info": false, "can_post_messages": false,
                   "can_delete_messages": true, "can_manage_video_chats": false, "can_invite_users": true,
                   "can_restrict_members": false, "can_promote_members": false}),
        ]);
        (any::<i64>(), prop::option::of("[a-z][a-z0-9_]{4,31}"), standing.clone(), standing).prop_map(
            |(chat, username, mut old, mut new)| {
                let bot = json!({ "id": 4242, "is_bot": true, "first_name": "relink" });
                old["user"] = bot.clone();
                new["user"] = bot;
                let mut chat_json = json!({ "id": chat, "type": "channel", "title": "News" });
                if let Some(name) = &username {
                    chat_json["username"] = json!(name);
                }
                let update = json!({
                    "update_id": 1,
                    "my_chat_member": {
                        "chat": chat_json, "date": 1_772_366_400,
                        "from": { "id": 1, "is_bot": false, "first_name": "Admin" },
                        "old_chat_member": old, "new_chat_member": new,
                    }
                });
                (chat, username, update)
            },
        )
    }

    #[test]
    fn repeated_409_conflicts_wait_half_a_lease_then_longer_and_longer_up_to_five_minutes() {
        let waits: Vec<u64> = [1, 2, 3, 4, 5, 6, 100, u32::MAX].map(|n| conflict_wait(n).as_secs()).to_vec();
        assert_eq!(waits, [15, 30, 60, 120, 240, 300, 300, 300]);
        let conflict = RequestError::Api(ApiError::TerminatedByOtherGetUpdates);
        let webhook = RequestError::Api(ApiError::Unknown(
            "Conflict: can't use getUpdates method while webhook is active".into(),
        ));
        assert!(is_conflict(&conflict) && is_conflict(&webhook));
        assert!(!is_conflict(&RequestError::Api(ApiError::BotBlocked)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_change_of_the_bots_standing_in_any_channel_names_that_channel((chat, username, json) in standing_update()) {
            let update = serde_json::from_str::<Update>(&json.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let UpdateKind::MyChatMember(change) = &update.kind else {
                return Err(TestCaseError::fail(format!("{:?}", update.kind)));
            };
            prop_assert_eq!(signal_subject(change, 4242), Some(Subject::TelegramChat { chat_id: chat, username }));
            prop_assert_eq!(signal_subject(change, 4243), None, "another user's change names nothing");
        }

        #[test]
        fn any_update_json_reads_or_is_skipped_without_panic(json in prop_oneof![json_value(), message_update()]) {
            let Ok(update) = serde_json::from_str::<Update>(&json.to_string()) else { return Ok(()) };
            if let UpdateKind::MyChatMember(change) = &update.kind {
                let _ = signal_subject(change, 4242);
            }
            if let UpdateKind::Message(message) = &update.kind {
                let _ = message.migrate_to_chat_id();
                if let (Some(text), Some(from)) = (message.text(), message.from.as_ref()) {
                    let _ = (commands::parse(text), language_of(from), user_id(from.id), message.chat.is_private());
                }
            }
        }

        #[test]
        fn a_message_with_any_text_and_language_reads(json in message_update()) {
            let update = serde_json::from_str::<Update>(&json.to_string());
            prop_assert!(matches!(update, Ok(Update { kind: UpdateKind::Message(_), .. })), "{:?}", update);
        }
    }
}
