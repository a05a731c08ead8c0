//! The Telegram rate budget: at most `overall_per_second` messages overall, one message per
//! `1 / per_chat_per_second` in a chat and `per_group_per_minute` in a group, shared by every
//! relink process using the bot token through the database (`telegram_rate`, a virtual schedule
//! per scope). A sender whose chat is free reserves the chat's slot, then the bot's next slot at
//! or after it (one transaction), and waits until then; a sender whose chat is busy (another
//! lane, perhaps in another process, has just sent there) waits for the chat first and reserves
//! nothing meanwhile, so the bot's schedule stays with the chats that can send. A 429's
//! `retry_after` pushes the bot's whole schedule back.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use relink_core::store::{RateSlot, Store, StoreError};

/// The caps (`[telegram.caps]`), Telegram's published limits by default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Caps {
    pub overall_per_second: f64,
    pub per_chat_per_second: f64,
    pub per_group_per_minute: f64,
    /// Slots are spaced this much wider than the caps (0.02: 2 %), so network jitter between
    /// reserving a slot and Telegram receiving the message never breaks a limit.
    pub headroom: f64,
}

impl Default for Caps {
    fn default() -> Self {
        Self { overall_per_second: 30.0, per_chat_per_second: 1.0, per_group_per_minute: 20.0, headroom: 0.02 }
    }
}

/// How late after its slot a message may still go, in microseconds: well inside the headroom
/// (2 % of a second over 30 messages is 20 ms).
const MAX_LATENESS: i64 = 8_000;

/// How many times a sender that came too late to its slot reserves another.
const LATE_RETRIES: u32 = 3;

/// How far ahead of now a sender asks for its slot, in microseconds: the reservation's round
/// trip to the database. A slot asked for at now comes back already past when the bot has room
/// (the slot is then the instant asked for), and past [`MAX_LATENESS`] the sender would give up
/// a slot it could have used.
const LEAD: i64 = 15_000;

/// Microseconds since the Unix epoch on the system clock: every process's budget is on it.
fn now_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Sleeps until `at` (microseconds since the epoch) on the system clock.
async fn sleep_until(at: i64) {
    let wait = at.saturating_sub(now_micros());
    if wait > 0 {
        tokio::time::sleep(Duration::from_micros(wait.unsigned_abs())).await;
    }
}

/// One bot's budget.
#[derive(Debug, Clone)]
pub struct Budget {
    store: Store,
    bot: i64,
    caps: Caps,
}

impl Budget {
    pub fn new(store: Store, bot: i64, caps: Caps) -> Self {
        Self { store, bot, caps }
    }

    fn interval(&self, per_second: f64) -> i64 {
        // Truncation is intended: whole microseconds.
        #[allow(clippy::cast_possible_truncation)]
        let micros = (1_000_000.0 / per_second.max(0.001) * (1.0 + self.caps.headroom)).ceil() as i64;
        micros.max(1)
    }

    /// The spacing of messages in a chat: groups (negative ids) also keep the per-minute cap.
    fn chat_interval(&self, chat: i64) -> i64 {
        let per_chat = self.interval(self.caps.per_chat_per_second);
        if chat < 0 { per_chat.max(self.interval(self.caps.per_group_per_minute / 60.0)) } else { per_chat }
    }

    /// Waits until a message may go to `chat`.
    ///
    /// While the chat is busy the sender waits for it without a slot (see
    /// [`Store::reserve_rate_slots`]). A sender that reaches its slot late (a busy machine, a
    /// slow database) would send close behind the next senders, which are on time, and break a
    /// one-second window; past [`MAX_LATENESS`] it gives the chat's slot back (the chat's
    /// schedule does not move a chat interval on for a message that did not go) and reserves
    /// again from now ([`LATE_RETRIES`] times at most; then it sends late, on its slot).
    pub async fn acquire(&self, chat: i64) -> Result<(), StoreError> {
        let chat_scope = format!("{}:{chat}", self.bot);
        let bot_scope = self.bot.to_string();
        let bot_interval = self.interval(self.caps.overall_per_second);
        let chat_interval = self.chat_interval(chat);
        let mut late = 0;
        loop {
            let reserved = self
                .store
                .reserve_rate_slots(
                    (&chat_scope, chat_interval),
                    (&bot_scope, bot_interval),
                    now_micros().saturating_add(LEAD),
                    bot_interval,
                )
                .await?;
            let slot = match reserved {
                RateSlot::Reserved(slot) => slot,
                RateSlot::ChatBusyUntil(at) => {
                    sleep_until(at).await;
                    continue;
                }
            };
            sleep_until(slot).await;
            // The last time, the sender keeps its slot however late: given back, it would let
            // the chat's next message go right behind this one.
            if now_micros().saturating_sub(slot) <= MAX_LATENESS || late == LATE_RETRIES {
                return Ok(());
            }
            late += 1;
            self.store.give_back_rate_slot((&chat_scope, chat_interval), slot).await?;
        }
    }

    /// Telegram said to wait: nothing goes out on this bot until then.
    pub async fn pause(&self, retry_after: Duration) -> Result<(), StoreError> {
        let wait = relink_core::time::network_wait(retry_after);
        let until = now_micros().saturating_add(i64::try_from(wait.as_micros()).unwrap_or(i64::MAX));
        self.store.reserve_rate_slot(&self.bot.to_string(), until, 0).await?;
        Ok(())
    }
}
