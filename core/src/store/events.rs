//! The outbox of events: the one place a [`domain::Event`](crate::domain::Event) becomes a row
//! (its `kind` column and `payload` JSON) and a row becomes an event again. Rows written before
//! events were typed have the same columns and read back the same way.
//!
//! A row that does not decode (an unknown kind, a garbled payload) is the store's problem, not
//! the engine's: the alerts pass logs it with its id and leaves it processed, so one bad row
//! never stops the outbox.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, with_pool, with_writer};
use crate::domain::{AccountMismatch, ChannelId, Event, TeamId};
use crate::time::to_millis;

/// An event as its two stored columns: `kind` and the `payload` JSON text.
pub(crate) fn encode(event: &Event) -> Result<(&'static str, String)> {
    let cannot = |e: serde_json::Error| StoreError::Corrupt(format!("cannot store a {} event: {e}", event.kind()));
    let mut tagged = serde_json::to_value(event).map_err(cannot)?;
    let payload = tagged.get_mut("payload").map(serde_json::Value::take).unwrap_or(serde_json::Value::Null);
    Ok((event.kind(), payload.to_string()))
}

/// An event read back from its stored columns; the error says what is wrong with the row.
pub(crate) fn decode(kind: &str, payload: &str) -> std::result::Result<Event, String> {
    let payload: serde_json::Value =
        serde_json::from_str(payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
    serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload }))
        .map_err(|e| format!("not a readable `{kind}` event: {e}"))
}

/// Appends an event to the outbox inside the caller's transaction. A macro because each
/// engine's transaction is its own type.
macro_rules! insert_event {
    ($tx:expr, $team:expr, $channel:expr, $event:expr, $at_ms:expr) => {{
        let (kind, payload) = $crate::store::events::encode($event)?;
        sqlx::query("INSERT INTO events (team_id, channel_id, kind, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind($team)
            .bind($channel)
            .bind(kind)
            .bind(payload)
            .bind($at_ms)
            .execute($tx)
            .await?;
    }};
}
pub(super) use insert_event;

impl Store {
    /// The outbox events of a channel, oldest first, decoded. For operators and tests; a row
    /// that does not decode is an error naming what is wrong with it.
    pub async fn channel_events(&self, id: ChannelId) -> Result<Vec<Event>> {
        let rows: Vec<(String, String)> = with_pool!(self.db(), |pool| {
            sqlx::query_as("SELECT kind, payload FROM events WHERE channel_id = $1 ORDER BY id")
                .bind(id.0)
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(|(kind, payload)| decode(&kind, &payload).map_err(StoreError::Corrupt)).collect()
    }

    /// Records that a reconnect of `channel` brought back another account than its own (the
    /// channel is untouched; the person saw the refusal on the page).
    pub async fn record_account_mismatch(
        &self,
        team: TeamId,
        channel: ChannelId,
        mismatch: AccountMismatch,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let event = Event::AccountMismatch(mismatch);
        let now_ms = to_millis(now);
        // A person waits on this write: it goes before the checker's bulk parts.
        let _first = self.db().urgent();
        let written: Result<(), StoreError> = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                insert_event!(&mut *tx, team.0, Some(channel.0), &event, now_ms);
                tx.commit().await?;
                Ok(())
            }
            .await
        });
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Health, HealthChanged, LinkId, MemberId, OperatorProblem, Provider, Reason, Reconnected};

    /// Payloads exactly as the code before typed events wrote them (`serde_json::json!` of
    /// these keys, compact).
    #[test]
    fn an_event_row_of_each_kind_in_the_old_format_decodes() {
        let rows = [
            (
                "health_changed",
                r#"{"detail":"token revoked","from":"healthy","from_reason":null,"reason_detail":null,"to":"needs_reauth","to_reason":"app_revoked"}"#,
                Event::HealthChanged(HealthChanged {
                    from: Health::Healthy,
                    to: Health::NeedsReauth(Reason::AppRevoked),
                    detail: Some("token revoked".into()),
                    pushed: false,
                }),
            ),
            (
                "health_changed",
                r#"{"detail":null,"from":"needs_reauth","from_reason":"other","pushed":true,"reason_detail":"code 368","to":"needs_reauth","to_reason":"other"}"#,
                Event::HealthChanged(HealthChanged {
                    from: Health::NeedsReauth(Reason::Other(String::new())),
                    to: Health::NeedsReauth(Reason::Other("code 368".into())),
                    detail: None,
                    pushed: true,
                }),
            ),
            (
                "operator_problem",
                r#"{"problem":"the client secret is wrong"}"#,
                Event::OperatorProblem(OperatorProblem { problem: "the client secret is wrong".into() }),
            ),
            (
                "reconnected",
                r#"{"member_id":7,"previous_health":"needs_reauth (expired)"}"#,
                Event::Reconnected(Reconnected {
                    member_id: Some(MemberId(7)),
                    previous_health: "needs_reauth (expired)".into(),
                }),
            ),
            (
                "reconnected",
                r#"{"member_id":null,"previous_health":"expiring"}"#,
                Event::Reconnected(Reconnected { member_id: None, previous_health: "expiring".into() }),
            ),
            (
                "account_mismatch",
                r#"{"expected_account":"brand","got_account":"someone-else","link_id":3,"provider":"x"}"#,
                Event::AccountMismatch(AccountMismatch {
                    provider: Provider::X,
                    expected_account: "brand".into(),
                    got_account: "someone-else".into(),
                    link_id: LinkId(3),
                }),
            ),
        ];
        for (kind, payload, expected) in rows {
            let event = decode(kind, payload).unwrap_or_else(|e| panic!("{kind} {payload}: {e}"));
            assert_eq!(event, expected);
            // And what is written now is the same row.
            let (kind_again, payload_again) = encode(&event).unwrap();
            assert_eq!(kind_again, kind);
            assert_eq!(payload_again, payload, "{kind}");
        }
    }

    #[test]
    fn rows_that_are_not_events_are_refused_with_a_reason() {
        let rows = [
            ("health_changed", "{not json", "not JSON"),
            ("health_changed", r#"{"to":"sick"}"#, "health_changed"),
            ("health_changed", r#"{"from":"healthy","to":"needs_reauth","to_reason":null}"#, "reason"),
            ("party", r#"{}"#, "party"),
            ("operator_problem", r#"[1]"#, "operator_problem"),
        ];
        for (kind, payload, says) in rows {
            let error = decode(kind, payload).unwrap_err();
            assert!(error.contains(says), "{kind} {payload}: {error}");
        }
    }
}
