//! The checker's side of the store: claiming due channels under a lease, writing renewed tokens
//! fenced by the lease and the row version, and finishing a batch of checks a few statements at a
//! time (quiet results on their own, the rest with their history and outbox rows in a transaction).
//!
//! A claim (`lease.rs`, the same for the delivery workers) sets `lease_owner`, `lease_until` and
//! pushes `next_check_at` to the lease's end, so the due index skips claimed rows and a crashed
//! process's channels come due again by themselves. A `next_check_at` below the lease's end was
//! pulled earlier while the check ran (a post scheduled, a sibling channel found dead) and the
//! check's writer keeps it when it is earlier than what the check decided. On PostgreSQL the
//! claim uses `FOR UPDATE SKIP LOCKED`, so several relink processes share the work without
//! waiting on each other; SQLite has one writer anyway.

use chrono::{DateTime, Utc};

use super::channel::{CHANNEL_COLUMNS, ChannelRow, health_columns};
use super::lease::{ClaimArgs, Leased};
use super::{Pool, Result, Store, StoreError, with_pool, with_writer};
use crate::checker::schedule::BEFORE_POST;
use crate::crypto::Binding;
use crate::domain::{Channel, ChannelId, Event, Health, HealthChanged, OperatorProblem, Scopes};
use crate::time::{from_millis, to_millis};
use crate::token::TokenSet;

/// Due channels, claimed by the checker through the `next_check_at` index. A lease still
/// running (`acquire_lease` took it) keeps the channel out even when it is due.
const DUE_CHANNELS: Leased = Leased {
    table: "channels",
    due: "next_check_at",
    also: "(lease_until IS NULL OR lease_until < $3)",
    order: "next_check_at",
    rows_per_limit: 1,
};

/// A claimed channel: everything a check needs, read in the claim itself.
#[derive(Debug)]
pub struct Claim {
    pub channel: Channel,
    /// The opened tokens, or why they do not open (an operator matter: wrong key, corruption).
    pub tokens: Result<TokenSet, String>,
    /// The row version the tokens were read at; a token write must still see it.
    pub version: i64,
    pub token_issued_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub failure_days: u32,
    pub last_failure_day: Option<i64>,
    pub refresh_uncertain_at: Option<DateTime<Utc>>,
    pub operator_problem: Option<String>,
    /// A push signal made the channel due (see `crate::signals`).
    pub signalled: bool,
    /// The earliest pending post due from now on.
    pub first_post_due: Option<DateTime<Utc>>,
    /// When the lease ends: past it another claim may check the channel too.
    pub lease_until: DateTime<Utc>,
    /// The team's own calm cadence, if it set one.
    pub check_every: Option<std::time::Duration>,
    /// The person behind the grant as the row knows them (a probe naming the same person
    /// learns nothing new).
    pub grantor: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    token_key_id: i64,
    token_ciphertext: Vec<u8>,
    version: i64,
    token_issued_at: Option<i64>,
    consecutive_failures: i64,
    failure_days: i64,
    last_failure_day: Option<i64>,
    refresh_uncertain_at: Option<i64>,
    operator_problem: Option<String>,
    signalled_at: Option<i64>,
    team_check_every_ms: Option<i64>,
    grantor_id: Option<String>,
}

const CLAIM_EXTRA: &str = "token_key_id, token_ciphertext, version, token_issued_at, consecutive_failures, \
    failure_days, last_failure_day, refresh_uncertain_at, operator_problem, signalled_at, grantor_id, \
    (SELECT s.check_every_ms FROM team_alert_settings s WHERE s.team_id = channels.team_id) AS team_check_every_ms";

/// One result as a row of the batch `finish_checks` writes.
/// One result as the batch's JSON carries it (serialized straight from borrowed fields: a
/// million checks an hour should not build a map per row).
#[derive(serde::Serialize)]
struct ResultRow<'a> {
    id: i64,
    health: &'static str,
    reason: Option<&'static str>,
    reason_detail: Option<&'a str>,
    next_check_at: i64,
    failures: u32,
    failure_days: u32,
    last_failure_day: Option<i64>,
    expiry: Option<i64>,
    scopes: Option<String>,
    grantor: Option<&'a str>,
    uncertain: Option<i64>,
    operator: Option<&'a str>,
}

fn result_row(result: &CheckResult) -> ResultRow<'_> {
    let (health, reason, reason_detail) = health_columns(&result.to);
    ResultRow {
        id: result.channel_id.0,
        health,
        reason,
        reason_detail,
        next_check_at: to_millis(result.next_check_at),
        failures: result.consecutive_failures,
        failure_days: result.failure_days,
        last_failure_day: result.last_failure_day,
        expiry: result.learned_expiry.map(to_millis),
        scopes: result.learned_scopes.as_ref().map(ToString::to_string),
        grantor: result.learned_grantor.as_deref(),
        uncertain: result.refresh_uncertain_at.map(to_millis),
        operator: result.operator_problem.as_deref(),
    }
}

/// The history rows and outbox events of the written results, in the results' order: a health
/// change, then a newly seen operator problem, per channel.
fn transition_rows(
    results: &[CheckResult],
    written: &std::collections::HashSet<i64>,
) -> Result<(Vec<serde_json::Value>, Vec<serde_json::Value>)> {
    let mut history = Vec::new();
    let mut events = Vec::new();
    for result in results.iter().filter(|r| written.contains(&r.channel_id.0)) {
        let (channel_id, team_id) = (result.channel_id.0, result.team_id.0);
        if result.from != result.to {
            let (from, from_reason, _) = health_columns(&result.from);
            let (to, to_reason, reason_detail) = health_columns(&result.to);
            let detail = result.detail.as_deref();
            history.push(serde_json::json!({
                "channel_id": channel_id, "from": from, "from_reason": from_reason, "to": to,
                "to_reason": to_reason, "reason_detail": reason_detail, "detail": detail,
            }));
            let event = Event::HealthChanged(HealthChanged {
                from: result.from.clone(),
                to: result.to.clone(),
                detail: result.detail.clone(),
                pushed: result.pushed,
            });
            events.push(outbox_row(team_id, channel_id, &event)?);
        }
        if let Some(problem) = &result.operator_problem
            && result.previous_operator_problem.as_ref() != Some(problem)
        {
            let event = Event::OperatorProblem(OperatorProblem { problem: problem.clone() });
            events.push(outbox_row(team_id, channel_id, &event)?);
        }
    }
    Ok((history, events))
}

/// One element of the batched outbox insert: the event's stored columns.
fn outbox_row(team_id: i64, channel_id: i64, event: &Event) -> Result<serde_json::Value> {
    let (kind, payload) = super::events::encode(event)?;
    Ok(serde_json::json!({ "team_id": team_id, "channel_id": channel_id, "kind": kind, "payload": payload }))
}

/// The channels whose new health has a cause that spans the person who authorised them, as a
/// JSON array of `{channel_id, provider}`: one row per network where that person's other channels
/// share the cause. A password change or the app's removal also ends what was authorised through
/// the same login and app (Instagram via Facebook is a Facebook login to relink's Meta app).
fn sibling_triggers(results: &[CheckResult], written: &std::collections::HashSet<i64>) -> String {
    use crate::domain::{Provider, Reason};
    let mut rows = Vec::new();
    for result in results.iter().filter(|r| written.contains(&r.channel_id.0) && r.from != r.to) {
        let Health::NeedsReauth(reason) = &result.to else { continue };
        if !matches!(reason, Reason::PasswordChanged | Reason::AppRevoked | Reason::SecurityCheckpoint) {
            continue;
        }
        let provider = result.provider;
        let facebook_login = [Provider::Facebook, Provider::InstagramBusiness];
        let mut networks = vec![provider];
        // Instagram via Facebook is a Facebook login through the same Meta app: a password
        // change or the app's removal ends both.
        if matches!(reason, Reason::PasswordChanged | Reason::AppRevoked) && facebook_login.contains(&provider) {
            networks = facebook_login.to_vec();
        }
        for network in networks {
            rows.push(serde_json::json!({ "channel_id": result.channel_id.0, "provider": network.as_str() }));
        }
    }
    serde_json::Value::from(rows).to_string()
}

/// What a finished check writes back.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub channel_id: ChannelId,
    pub team_id: crate::domain::TeamId,
    pub provider: crate::domain::Provider,
    /// The health the claim read.
    pub from: Health,
    pub to: Health,
    /// What the network said, in plain words (goes to the history; never a token).
    pub detail: Option<String>,
    pub next_check_at: DateTime<Utc>,
    pub consecutive_failures: u32,
    pub failure_days: u32,
    pub last_failure_day: Option<i64>,
    /// New expiry and scopes learned by the probe, if any.
    pub learned_expiry: Option<DateTime<Utc>>,
    pub learned_scopes: Option<Scopes>,
    /// The person behind the grant, learned by the probe (push signals name people).
    pub learned_grantor: Option<String>,
    pub refresh_uncertain_at: Option<DateTime<Utc>>,
    /// The operator problem now (None clears it); an event is written when it newly appears.
    pub operator_problem: Option<String>,
    pub previous_operator_problem: Option<String>,
    /// The check was caused by a push signal: its transition is marked `pushed`.
    pub pushed: bool,
    /// The row version at which the check learned nothing new (the expiry, scopes and grantor it
    /// learned, if any, are what the row held at that version); `None` when it learned something
    /// or its tokens were renewed. See [`CheckResult::quiet_at`].
    pub learned_nothing_at: Option<i64>,
}

impl CheckResult {
    /// The row version under which writing this result changes nothing but the schedule: a
    /// healthy channel found healthy, with no failures, no doubt over its refresh token, no
    /// operator problem and nothing new learned. Nearly every check of a pass is such a check;
    /// the store writes those with a narrow statement that the row itself must agree with
    /// (see `finish_part`).
    fn quiet_at(&self) -> Option<i64> {
        let calm = self.from == Health::Healthy
            && self.to == Health::Healthy
            && self.consecutive_failures == 0
            && self.failure_days == 0
            && self.last_failure_day.is_none()
            && self.refresh_uncertain_at.is_none()
            && self.operator_problem.is_none()
            && self.previous_operator_problem.is_none();
        self.learned_nothing_at.filter(|_| calm)
    }

    /// Whether writing this result records more than the channel's row: a health change (history
    /// and outbox) or a newly seen operator problem (outbox).
    fn records_something(&self) -> bool {
        self.from != self.to
            || self.operator_problem.as_ref().is_some_and(|p| self.previous_operator_problem.as_ref() != Some(p))
    }
}

impl Store {
    fn claim_from_row(&self, row: ClaimRow, lease_until: DateTime<Utc>) -> Result<Claim> {
        let channel = row.channel.into_channel()?;
        let id = channel.id;
        let tokens = u32::try_from(row.token_key_id)
            .map_err(|_| format!("stored key id {} is not a key id", row.token_key_id))
            .and_then(|key_id| {
                self.keyring().open(Binding::Channel(id), key_id, &row.token_ciphertext).map_err(|e| e.to_string())
            })
            .and_then(|plain| {
                TokenSet::from_secret_bytes(&plain, channel.token_expires_at, channel.scopes.clone())
                    .map_err(|_| format!("the sealed tokens of channel {id} are not a token set"))
            });
        Ok(Claim {
            channel,
            tokens,
            version: row.version,
            token_issued_at: row.token_issued_at.map(from_millis),
            consecutive_failures: u32::try_from(row.consecutive_failures).unwrap_or(u32::MAX),
            failure_days: u32::try_from(row.failure_days).unwrap_or(u32::MAX),
            last_failure_day: row.last_failure_day,
            refresh_uncertain_at: row.refresh_uncertain_at.map(from_millis),
            operator_problem: row.operator_problem,
            signalled: row.signalled_at.is_some(),
            first_post_due: None,
            lease_until,
            check_every: row
                .team_check_every_ms
                .and_then(|ms| u64::try_from(ms).ok())
                .map(std::time::Duration::from_millis),
            grantor: row.grantor_id,
        })
    }

    /// Claims up to `limit` channels due at `now` for `owner` until `lease_until`, earliest due
    /// first, through the `next_check_at` index.
    pub async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<Claim>> {
        // SQLite's one writer is shared with every other write (a reconnect button among
        // them): a large claim is taken in parts, each short, so nothing waits long behind it.
        let part = u32::try_from(self.db().rows_per_write()).unwrap_or(u32::MAX);
        let returning = format!("{CHANNEL_COLUMNS}, {CLAIM_EXTRA}");
        let mut rows: Vec<ClaimRow> = Vec::new();
        loop {
            let wanted = limit.saturating_sub(u32::try_from(rows.len()).unwrap_or(u32::MAX)).min(part);
            if wanted == 0 {
                break;
            }
            let args = ClaimArgs { owner, now, limit: wanted, lease_until };
            let claimed: Vec<ClaimRow> = DUE_CHANNELS.claim(self.db(), &returning, args).await?;
            let short = claimed.len() < wanted as usize;
            rows.extend(claimed);
            if short {
                break;
            }
        }
        self.ensure_keys(rows.iter().map(|row| row.token_key_id)).await;
        let mut claims =
            rows.into_iter().map(|row| self.claim_from_row(row, lease_until)).collect::<Result<Vec<_>>>()?;
        self.fill_first_posts(&mut claims, now).await?;
        Ok(claims)
    }

    /// Takes the lease of one channel (an admin's "refresh now" or "check now"), unless another
    /// process holds it. Like a claim, it moves `next_check_at` to the lease's end.
    pub async fn acquire_lease(
        &self,
        id: ChannelId,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Claim>> {
        let sql = format!(
            "UPDATE channels SET lease_owner = $1, lease_until = $2, next_check_at = $2 \
             WHERE id = $3 AND (lease_until IS NULL OR lease_until < $4) RETURNING {CHANNEL_COLUMNS}, {CLAIM_EXTRA}"
        );
        let row: Option<ClaimRow> = with_writer!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(to_millis(lease_until))
                .bind(id.0)
                .bind(to_millis(now))
                .fetch_all(pool)
                .await
                .map(super::first_row)
        })?;
        match row {
            None => {
                self.channel(id).await?;
                Ok(None)
            }
            Some(row) => {
                self.ensure_keys([row.token_key_id]).await;
                let mut claims = vec![self.claim_from_row(row, lease_until)?];
                self.fill_first_posts(&mut claims, now).await?;
                Ok(claims.pop())
            }
        }
    }

    /// [`Store::ensure_key`] for the distinct key ids of claimed rows.
    async fn ensure_keys(&self, key_ids: impl IntoIterator<Item = i64>) {
        let mut ids: Vec<u32> = key_ids.into_iter().filter_map(|id| u32::try_from(id).ok()).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            self.ensure_key(id).await;
        }
    }

    async fn fill_first_posts(&self, claims: &mut [Claim], now: DateTime<Utc>) -> Result<()> {
        if claims.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = claims.iter().map(|c| c.channel.id.0.to_string()).collect();
        // The ids are integers read from the database, so inlining them is safe.
        let sql = format!(
            "SELECT channel_id, MIN(due_at) FROM scheduled_posts WHERE status = 'pending' AND due_at >= $1 \
             AND channel_id IN ({}) GROUP BY channel_id",
            ids.join(",")
        );
        // A text of its own each batch: kept out of the connection's statement cache, where it
        // would only push out the statements that are run again.
        let rows: Vec<(i64, i64)> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(to_millis(now)).persistent(false).fetch_all(pool).await
        })?;
        for (channel, due) in rows {
            if let Some(claim) = claims.iter_mut().find(|c| c.channel.id.0 == channel) {
                claim.first_post_due = Some(from_millis(due));
            }
        }
        Ok(())
    }

    /// Writes renewed tokens for a channel `owner` holds the lease of, if the row is still at
    /// `version`. Returns the new version, or `None` when the lease or the version moved on (the
    /// caller lost a race and must re-read). A set without a refresh token keeps `previous`'s.
    pub async fn save_renewed_tokens(
        &self,
        id: ChannelId,
        owner: &str,
        version: i64,
        tokens: &TokenSet,
        previous: &TokenSet,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let mut merged = tokens.clone();
        merged.keep_from(previous);
        let sealed = self.keyring().seal(Binding::Channel(id), &merged.secret_bytes());
        let changed = with_writer!(self.db(), |pool| {
            sqlx::query(
                "UPDATE channels SET token_key_id = $1, token_ciphertext = $2, token_expires_at = $3, scopes = $4, \
                 version = version + 1, token_issued_at = $5, refresh_uncertain_at = NULL, updated_at = $5 \
                 WHERE id = $6 AND lease_owner = $7 AND version = $8",
            )
            .bind(i64::from(sealed.key_id))
            .bind(sealed.bytes)
            .bind(merged.expires_at.map(to_millis))
            .bind(merged.scopes.to_string())
            .bind(to_millis(now))
            .bind(id.0)
            .bind(owner)
            .bind(version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok((changed == 1).then_some(version + 1))
    }

    /// Re-reads a channel's tokens and version (after a refresh was refused: a sibling may have
    /// rotated the tokens first).
    pub async fn reread_tokens(&self, id: ChannelId) -> Result<(i64, TokenSet)> {
        let version: Option<i64> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT version FROM channels WHERE id = $1").bind(id.0).fetch_optional(pool).await
        })?;
        let version = version.ok_or_else(|| StoreError::NotFound(format!("no channel with id {id}")))?;
        Ok((version, self.tokens(id).await?))
    }

    /// Records, before a rotating refresh token is sent, that it may be spent from now on: if the
    /// answer is lost or the process dies before the new tokens are saved, the next process must
    /// not send it again. Fenced by the lease and the row version; `false` when either moved on
    /// (another process holds the channel now, and nothing may be sent).
    pub async fn mark_refresh_uncertain(
        &self,
        id: ChannelId,
        owner: &str,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let changed = with_writer!(self.db(), |pool| {
            sqlx::query(
                "UPDATE channels SET refresh_uncertain_at = $1 WHERE id = $2 AND lease_owner = $3 AND version = $4",
            )
            .bind(to_millis(now))
            .bind(id.0)
            .bind(owner)
            .bind(version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(changed == 1)
    }

    /// Clears the mark of [`Store::mark_refresh_uncertain`] after the network answered with a
    /// refusal (it issued nothing, so the stored refresh token was not spent). Fenced by the lease.
    pub async fn clear_refresh_uncertain(&self, id: ChannelId, owner: &str) -> Result<()> {
        with_writer!(self.db(), |pool| {
            sqlx::query("UPDATE channels SET refresh_uncertain_at = NULL WHERE id = $1 AND lease_owner = $2")
                .bind(id.0)
                .bind(owner)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// When a refresh of this channel may have spent its refresh token, as the row says now.
    pub async fn refresh_uncertain_at(&self, id: ChannelId) -> Result<Option<DateTime<Utc>>> {
        let at: Option<Option<i64>> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar("SELECT refresh_uncertain_at FROM channels WHERE id = $1")
                .bind(id.0)
                .fetch_optional(pool)
                .await
        })?;
        let at = at.ok_or_else(|| StoreError::NotFound(format!("no channel with id {id}")))?;
        Ok(at.map(from_millis))
    }

    /// Writes a batch of finished checks and releases their leases, in parts (see
    /// [`Store::finish_part`]). A result whose lease was lost (another process took over) is
    /// skipped, so a batch written again after an error writes nothing twice. Health changes go to the
    /// history and the outbox; a newly seen operator problem goes to the outbox.
    /// Returns the number of results written.
    pub async fn finish_checks(&self, owner: &str, results: &[CheckResult], now: DateTime<Utc>) -> Result<usize> {
        let mut written = 0;
        for part in results.chunks(self.db().rows_per_write()) {
            written += self.finish_part(owner, part, now).await?;
        }
        Ok(written)
    }

    /// [`Store::finish_checks`] for at most [`Db::rows_per_write`] results: the quiet ones by one
    /// statement of their own, the rest (with their history and outbox events) in one transaction.
    async fn finish_part(&self, owner: &str, results: &[CheckResult], now: DateTime<Utc>) -> Result<usize> {
        if results.is_empty() {
            return Ok(0);
        }
        let now_ms = to_millis(now);
        let elements = self.json_elements();
        let before_post_ms = i64::try_from(BEFORE_POST.as_millis()).unwrap_or(i64::MAX);
        // A claim sets `next_check_at` to the lease's end; a time below it was written during the
        // check (a sibling's password change found, a post due soon) and wins when earlier than
        // what the check decided. So does the hour before the first pending post still ahead: the
        // claim read the posts before the check, and one may have been scheduled since.
        // The smallest of several values: SQLite's scalar `MIN`, PostgreSQL's `LEAST`.
        let least = match self.db().pool {
            Pool::Sqlite(_) => "MIN",
            Pool::Postgres(_) => "LEAST",
        };
        let next_check_at = format!(
            "{least}(v.next_check_at, \
                 COALESCE(CASE WHEN channels.next_check_at < channels.lease_until THEN channels.next_check_at END, \
                          v.next_check_at), \
                 COALESCE((SELECT MIN(p.due_at) - $4 FROM scheduled_posts p \
                           WHERE p.channel_id = channels.id AND p.status = 'pending' AND p.due_at > $2 + $4), \
                          v.next_check_at))"
        );
        // The whole batch travels as JSON parameters and is written by a few statements,
        // whatever its size: a statement per row costs a round trip to the database each (on
        // SQLite a hop to its worker thread), which dominated a check's cost.
        //
        // Quiet results (`CheckResult::quiet_at`, nearly all of a pass) travel as
        // `[id, next_check_at, version]` and write only the schedule and the lease, sparing
        // SQLite thirteen JSON fields a row (about a fiftieth of a check's CPU). The row must
        // agree that nothing else changes: still at the version the check read (no token
        // written, no reconnect since) and still calm. A row that does not (or whose lease was lost) is
        // left alone by this statement and goes through the full one below, whose lease fence
        // skips the rows the quiet statement wrote (their lease is released).
        let (quiet, full): (Vec<&CheckResult>, Vec<&CheckResult>) =
            results.iter().partition(|result| result.quiet_at().is_some());
        let quiet_rows = serde_json::to_string(
            &quiet.iter().map(|r| (r.channel_id.0, to_millis(r.next_check_at), r.quiet_at())).collect::<Vec<_>>(),
        )
        .map_err(|e| StoreError::Corrupt(format!("cannot serialize check results: {e}")))?;
        let (healthy, _, _) = health_columns(&Health::Healthy);
        let quiet_update = format!(
            "UPDATE channels SET next_check_at = {next_check_at}, last_checked_at = $2, lease_owner = NULL, \
             lease_until = NULL, signalled_at = NULL \
             FROM (SELECT CAST(value ->> 0 AS BIGINT) AS id, CAST(value ->> 1 AS BIGINT) AS next_check_at, \
                          CAST(value ->> 2 AS BIGINT) AS version FROM {elements}) AS v \
             WHERE channels.id = v.id AND channels.lease_owner = $3 AND channels.version = v.version \
             AND channels.health = '{healthy}' AND channels.health_reason IS NULL AND channels.health_detail IS NULL \
             AND channels.consecutive_failures = 0 AND channels.failure_days = 0 AND channels.last_failure_day IS NULL \
             AND channels.refresh_uncertain_at IS NULL AND channels.operator_problem IS NULL"
        );
        let update = format!(
            "UPDATE channels SET health = v.health, health_reason = v.reason, health_detail = v.reason_detail, \
             next_check_at = {next_check_at}, \
             last_checked_at = $2, consecutive_failures = v.failures, \
             failure_days = v.failure_days, last_failure_day = v.last_failure_day, \
             token_expires_at = COALESCE(v.expiry, channels.token_expires_at), scopes = COALESCE(v.scopes, channels.scopes), \
             grantor_id = COALESCE(v.grantor, channels.grantor_id), \
             refresh_uncertain_at = v.uncertain, operator_problem = v.operator, lease_owner = NULL, lease_until = NULL, \
             signalled_at = NULL \
             FROM (SELECT CAST(value ->> 'id' AS BIGINT) AS id, value ->> 'health' AS health, \
                          value ->> 'reason' AS reason, value ->> 'reason_detail' AS reason_detail, \
                          CAST(value ->> 'next_check_at' AS BIGINT) AS next_check_at, \
                          CAST(value ->> 'failures' AS BIGINT) AS failures, \
                          CAST(value ->> 'failure_days' AS BIGINT) AS failure_days, \
                          CAST(value ->> 'last_failure_day' AS BIGINT) AS last_failure_day, \
                          CAST(value ->> 'expiry' AS BIGINT) AS expiry, value ->> 'scopes' AS scopes, \
                          value ->> 'grantor' AS grantor, CAST(value ->> 'uncertain' AS BIGINT) AS uncertain, value ->> 'operator' AS operator \
                   FROM {elements}) AS v \
             WHERE channels.id = v.id AND channels.lease_owner = $3"
        );
        let _turn = self.db().bulk_turn().await;
        let written: Result<usize, StoreError> = with_writer!(self.db(), |pool| {
            async {
                // The quiet statement is one statement on its own, outside any transaction: each
                // row it writes stands alone (nothing else is recorded with it), so the batch
                // spares a `BEGIN` and a `COMMIT` sent to the database, and SQLite the statement
                // journal a multi-row update inside a transaction keeps (a copy of every page
                // it changes, in case the statement fails half-way). A result it leaves (lease
                // lost, row not calm) goes through the full statement below, whose lease fence
                // skips the rows this one wrote (their lease is released); a crash or an error
                // in between leaves the rest leased, to come due again when the lease ends.
                let mut quiet_written = 0;
                let mut rest = full.clone();
                if !quiet.is_empty() {
                    let affected = sqlx::query(sqlx::AssertSqlSafe(quiet_update.clone()))
                        .bind(&quiet_rows)
                        .bind(now_ms)
                        .bind(owner)
                        .bind(before_post_ms)
                        .execute(pool)
                        .await?
                        .rows_affected();
                    quiet_written = usize::try_from(affected).unwrap_or(usize::MAX);
                    if quiet_written < quiet.len() {
                        rest.extend(quiet.iter().copied());
                    }
                }
                if rest.is_empty() {
                    return Ok(quiet_written);
                }
                let mut tx = pool.begin().await?;
                let rows = serde_json::to_string(&rest.iter().map(|result| result_row(result)).collect::<Vec<_>>())
                    .map_err(|e| StoreError::Corrupt(format!("cannot serialize check results: {e}")))?;
                // The written ids matter only to a batch with something to record: a health
                // change or a newly seen operator problem. Any other batch only counts its rows,
                // so the database does not hand a thousand ids back one row at a time.
                if !rest.iter().any(|result| result.records_something()) {
                    let written = sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                        .bind(&rows)
                        .bind(now_ms)
                        .bind(owner)
                        .bind(before_post_ms)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    return Ok(quiet_written.saturating_add(usize::try_from(written).unwrap_or(usize::MAX)));
                }
                let written: Vec<i64> =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("{update} RETURNING channels.id")))
                        .bind(&rows)
                        .bind(now_ms)
                        .bind(owner)
                        .bind(before_post_ms)
                        .fetch_all(&mut *tx)
                        .await?;
                // Only fenced writes count: a result whose lease was lost leaves no trace.
                let written_ids: std::collections::HashSet<i64> = written.iter().copied().collect();
                let (history, events) = transition_rows(results, &written_ids)?;
                if !history.is_empty() {
                    let sql = format!(
                        "INSERT INTO health_history \
                         (channel_id, at, from_health, from_reason, to_health, to_reason, reason_detail, detail) \
                         SELECT CAST(value ->> 'channel_id' AS BIGINT), $2, value ->> 'from', value ->> 'from_reason', \
                                value ->> 'to', value ->> 'to_reason', value ->> 'reason_detail', value ->> 'detail' \
                         FROM {elements} ORDER BY key"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(serde_json::Value::from(history).to_string())
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                if !events.is_empty() {
                    let sql = format!(
                        "INSERT INTO events (team_id, channel_id, kind, payload, created_at) \
                         SELECT CAST(value ->> 'team_id' AS BIGINT), CAST(value ->> 'channel_id' AS BIGINT), \
                                value ->> 'kind', value ->> 'payload', $2 \
                         FROM {elements} ORDER BY key"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(serde_json::Value::from(events).to_string())
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                let siblings = sibling_triggers(results, &written_ids);
                if siblings != "[]" {
                    // Channels found dead for a person-wide cause make that person's other
                    // channels due now, so they are found (and alerted) together.
                    let sql = format!(
                        "UPDATE channels SET next_check_at = $2 \
                         FROM (SELECT CAST(value ->> 'channel_id' AS BIGINT) AS source, value ->> 'provider' AS provider \
                               FROM {elements}) AS t, channels AS d \
                         WHERE d.id = t.source AND channels.team_id = d.team_id \
                         AND channels.authorized_by = d.authorized_by AND channels.provider = t.provider \
                         AND channels.id <> d.id AND channels.next_check_at > $2 AND channels.health <> 'needs_reauth' \
                         AND (channels.last_checked_at IS NULL OR channels.last_checked_at < $2)"
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&siblings).bind(now_ms).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(quiet_written.saturating_add(written.len()))
            }
            .await
        });
        written
    }

    /// The rows of the JSON array in parameter `$1`, as `value` (each element) and `key` (its
    /// position): SQLite's `jsonb_each` has these columns; PostgreSQL is told to name them so.
    pub(super) fn json_elements(&self) -> &'static str {
        match self.db().pool {
            // `jsonb_each` hands each object over as JSONB, which `->>` reads without parsing
            // the row's text again for every field.
            Pool::Sqlite(_) => "jsonb_each($1)",
            Pool::Postgres(_) => "jsonb_array_elements(CAST($1 AS jsonb)) WITH ORDINALITY AS j(value, key)",
        }
    }

    /// Releases a lease without writing a result (a check that could not run).
    pub async fn release_lease(&self, id: ChannelId, owner: &str, next_check_at: DateTime<Utc>) -> Result<()> {
        with_writer!(self.db(), |pool| {
            sqlx::query(
                "UPDATE channels SET lease_owner = NULL, lease_until = NULL, \
                 next_check_at = CASE WHEN next_check_at < lease_until AND next_check_at < $1 \
                                      THEN next_check_at ELSE $1 END \
                 WHERE id = $2 AND lease_owner = $3",
            )
            .bind(to_millis(next_check_at))
            .bind(id.0)
            .bind(owner)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Operator problems currently flagged on channels: (channel, problem).
    pub async fn operator_problems(&self) -> Result<Vec<(ChannelId, String)>> {
        let rows: Vec<(i64, String)> = with_pool!(self.db(), |pool| {
            sqlx::query_as("SELECT id, operator_problem FROM channels WHERE operator_problem IS NOT NULL ORDER BY id")
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(|(id, p)| (ChannelId(id), p)).collect())
    }

    /// How many channels are in each health state.
    pub async fn health_counts(&self) -> Result<Vec<(String, u64)>> {
        let rows: Vec<(String, i64)> = with_pool!(self.db(), |pool| {
            sqlx::query_as("SELECT health, COUNT(*) FROM channels GROUP BY health ORDER BY health")
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(|(h, n)| (h, n as u64)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Provider, Reason, TeamId};

    fn calm() -> CheckResult {
        CheckResult {
            channel_id: ChannelId(7),
            team_id: TeamId(1),
            provider: Provider::Facebook,
            from: Health::Healthy,
            to: Health::Healthy,
            detail: None,
            next_check_at: from_millis(0),
            consecutive_failures: 0,
            failure_days: 0,
            last_failure_day: None,
            learned_expiry: None,
            learned_scopes: None,
            learned_grantor: None,
            refresh_uncertain_at: None,
            operator_problem: None,
            previous_operator_problem: None,
            pushed: false,
            learned_nothing_at: Some(3),
        }
    }

    #[test]
    fn only_a_healthy_check_that_changes_nothing_but_the_schedule_is_quiet() {
        assert_eq!(calm().quiet_at(), Some(3), "guarded by the version the check read");
        assert_eq!(CheckResult { pushed: true, ..calm() }.quiet_at(), Some(3), "a signal's mark is cleared either way");
        let dead = Health::NeedsReauth(Reason::PasswordChanged);
        let loud = [
            CheckResult { learned_nothing_at: None, ..calm() },
            CheckResult { to: dead.clone(), ..calm() },
            CheckResult { from: dead, ..calm() },
            CheckResult { from: Health::Expiring, to: Health::Expiring, ..calm() },
            CheckResult { consecutive_failures: 1, ..calm() },
            CheckResult { failure_days: 1, ..calm() },
            CheckResult { last_failure_day: Some(20_000), ..calm() },
            CheckResult { refresh_uncertain_at: Some(from_millis(5)), ..calm() },
            CheckResult { operator_problem: Some("the app is in development mode".into()), ..calm() },
            CheckResult { previous_operator_problem: Some("the app is in development mode".into()), ..calm() },
        ];
        for result in loud {
            assert_eq!(result.quiet_at(), None, "{result:?}");
        }
    }
}
