//! Reconnect links and the OAuth authorization requests they start, in the store.
//!
//! A link's token and a request's `state` are kept only as SHA-256 hashes; a request's PKCE
//! verifier is sealed with the keyring, bound to its state's hash. A link is spent by the one
//! `INSERT … SELECT … WHERE used_at IS NULL AND expires_at > now` that records its request (a
//! trigger marks the link used and refuses a second request); a state is consumed by one
//! `UPDATE … WHERE used_at IS NULL AND expires_at > now RETURNING …`. Two requests racing for
//! the same one cannot both win, on either engine.
//!
//! A completed reconnection ([`Store::complete_reconnect`]) writes the new tokens, the health,
//! the history and the outbox in one transaction; an account that came back wrong writes only an
//! `account_mismatch` event ([`Store::record_account_mismatch`]).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use super::channel::{corrupt, health_columns, insert_transition};
use super::events::insert_event;
use super::presses::{Press, press_query};
use super::{Engine, Pool, Result, Store, StoreError, parse_column, with_pool, with_writer};
use crate::crypto::Binding;
use crate::domain::{
    ChannelId, Event, Health, LinkId, MemberId, Provider, ReconnectLink, Reconnected, Role, TeamId, Transition,
};
use crate::opaque::OpaqueToken;
use crate::time::{from_millis, to_millis};
use crate::token::TokenSet;

#[derive(sqlx::FromRow)]
pub(super) struct LinkRow {
    pub(super) id: i64,
    pub(super) team_id: i64,
    pub(super) channel_id: i64,
    pub(super) member_id: Option<i64>,
    pub(super) created_at: i64,
    pub(super) expires_at: i64,
    pub(super) used_at: Option<i64>,
}

pub(super) const LINK_COLUMNS: &str = "id, team_id, channel_id, member_id, created_at, expires_at, used_at";

impl LinkRow {
    pub(super) fn into_link(self) -> ReconnectLink {
        ReconnectLink {
            id: LinkId(self.id),
            team_id: TeamId(self.team_id),
            channel_id: ChannelId(self.channel_id),
            member_id: self.member_id.map(MemberId),
            created_at: from_millis(self.created_at),
            expires_at: from_millis(self.expires_at),
            used_at: self.used_at.map(from_millis),
        }
    }
}

/// An OAuth authorization request waiting for its callback.
#[derive(Debug)]
pub struct NewOAuthState<'a> {
    pub state: &'a OpaqueToken,
    pub provider: Provider,
    /// The secret of the cookie that binds the request to one browser.
    pub browser: &'a OpaqueToken,
    /// The PKCE code verifier, for networks that take PKCE.
    pub verifier: Option<&'a OpaqueToken>,
    pub expires_at: DateTime<Utc>,
}

/// A consumed authorization request, as the callback needs it.
#[derive(Debug)]
pub struct OAuthState {
    pub id: i64,
    pub provider: Provider,
    pub channel_id: ChannelId,
    pub link_id: LinkId,
    /// SHA-256 of the browser-binding cookie the request was started with.
    pub browser_hash: [u8; 32],
    pub verifier: Option<OpaqueToken>,
}

#[derive(sqlx::FromRow)]
struct StateRow {
    id: i64,
    provider: String,
    channel_id: i64,
    link_id: i64,
    browser_hash: Vec<u8>,
    verifier_key_id: Option<i64>,
    verifier_ciphertext: Option<Vec<u8>>,
}

/// The outcome of a callback, shown at a clean URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthResult {
    pub outcome: String,
    pub channel_id: ChannelId,
    pub link_id: LinkId,
}

/// When a press may spend the link `link` (a `reconnect_links` row) at `now` (an SQL
/// expression): the link is unused and unexpired, and its member is still in the link's team
/// with a role that may reconnect. One text for the statement of one press and of a group.
pub(super) fn link_may_be_spent(link: &str, now: &str) -> String {
    // The roles that may reconnect, as an SQL list of literals: `'primary_owner', 'owner', 'admin'`.
    let roles = Role::ALL
        .iter()
        .filter(|role| role.may_reconnect())
        .map(|role| format!("'{}'", role.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{link}.used_at IS NULL AND {link}.expires_at > {now} \
         AND EXISTS (SELECT 1 FROM members m WHERE m.id = {link}.member_id \
         AND m.team_id = {link}.team_id AND m.role IN ({roles}))"
    )
}

/// The statement of one press (parameters: state hash, provider, browser hash, verifier key
/// id, verifier ciphertext, now, expiry, token hash): the authorization request is inserted from
/// the link's row if [`link_may_be_spent`]; the trigger of migration 0006 spends the link in the
/// same statement. Returns the link's id when it was spent. On PostgreSQL the link's row is
/// locked while read (`FOR UPDATE`).
fn begin_flow_statement(lock: &str) -> String {
    format!(
        "INSERT INTO oauth_states (state_hash, provider, channel_id, link_id, browser_hash, verifier_key_id, \
         verifier_ciphertext, created_at, expires_at) \
         SELECT $1, $2, channel_id, id, $3, $4, $5, $6, $7 FROM reconnect_links \
         WHERE token_hash = $8 AND {} {lock} \
         RETURNING link_id",
        link_may_be_spent("reconnect_links", "$6")
    )
}

static BEGIN_FLOW_SQLITE: LazyLock<String> = LazyLock::new(|| begin_flow_statement(""));
static BEGIN_FLOW_POSTGRES: LazyLock<String> = LazyLock::new(|| begin_flow_statement("FOR UPDATE"));

/// The press statement for `engine`.
pub(super) fn begin_flow_sql(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => BEGIN_FLOW_SQLITE.as_str(),
        Engine::Postgres => BEGIN_FLOW_POSTGRES.as_str(),
    }
}

impl Store {
    /// Stores a new reconnect link by the hash of its token.
    pub async fn create_link(
        &self,
        token: &OpaqueToken,
        channel_id: ChannelId,
        member_id: Option<MemberId>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<ReconnectLink> {
        let sql = format!(
            "INSERT INTO reconnect_links (token_hash, team_id, channel_id, member_id, created_at, expires_at) \
             SELECT $1, team_id, id, $2, $3, $4 FROM channels WHERE id = $5 RETURNING {LINK_COLUMNS}"
        );
        let row: Option<LinkRow> = with_writer!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token.hash().to_vec())
                .bind(member_id.map(|m| m.0))
                .bind(to_millis(now))
                .bind(to_millis(expires_at))
                .bind(channel_id.0)
                .fetch_all(pool)
                .await
                .map(super::first_row)
        })
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound("the member the link is for does not exist".into())
            }
            _ => e.into(),
        })?;
        Ok(row.ok_or_else(|| StoreError::NotFound(format!("no channel with id {channel_id}")))?.into_link())
    }

    /// The link a token names, used or not (showing a link never consumes it).
    pub async fn link(&self, token: &OpaqueToken) -> Result<Option<ReconnectLink>> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM reconnect_links WHERE token_hash = $1");
        let row: Option<LinkRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(token.hash().to_vec()).fetch_optional(pool).await
        })?;
        Ok(row.map(LinkRow::into_link))
    }

    /// A link by its row id.
    pub async fn link_by_id(&self, id: LinkId) -> Result<Option<ReconnectLink>> {
        let sql = format!("SELECT {LINK_COLUMNS} FROM reconnect_links WHERE id = $1");
        let row: Option<LinkRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(pool).await
        })?;
        Ok(row.map(LinkRow::into_link))
    }

    /// Consumes a link if it is unused and unexpired at `now`, and its member is still in the
    /// link's team with a role that may reconnect, and records the authorization request it
    /// starts, atomically (a link that names no member, or whose member was removed, starts
    /// nothing): the state's and the browser cookie's hashes, the sealed
    /// PKCE verifier. `true` when this call spent the link; `false` when the link cannot be used
    /// (the caller reads it with [`Store::link`] to say why), and nothing is written then. Of
    /// two racing callers, one wins.
    ///
    /// One statement: the state is inserted from the link's row, and a trigger spends the link
    /// (migration 0006). On PostgreSQL the link's row is locked while read, so a racing caller
    /// waits, then finds it spent. On SQLite (one writer) the statement waits in the press queue
    /// and is written with the presses beside it, in one transaction (`presses.rs`); a press
    /// whose caller is gone before its turn writes nothing.
    pub async fn begin_flow(&self, token: &OpaqueToken, new: &NewOAuthState<'_>, now: DateTime<Utc>) -> Result<bool> {
        let press = self.press(token, new, now);
        match self.db().presses() {
            // SQLite: written with the presses that arrive beside it, in one transaction.
            Some(queue) => queue.press(press).await,
            None => self.press_alone(&press).await,
        }
    }

    /// Several presses at once, answered in order: what [`Store::begin_flow`] does with presses
    /// that arrive together. On SQLite they are one group on the writer (`presses.rs`): one
    /// statement for the first press of each link, so a link's later presses find it spent; a
    /// statement that fails is retried press by press, so a failing press fails alone and a
    /// refused write answers each press with the store's error, nothing written. On PostgreSQL
    /// each press is its own statement, in order.
    pub async fn begin_flows(
        &self,
        presses: &[(&OpaqueToken, &NewOAuthState<'_>)],
        now: DateTime<Utc>,
    ) -> Vec<Result<bool>> {
        let presses: Vec<Press> = presses.iter().map(|(token, new)| self.press(token, new, now)).collect();
        match &self.db().writer {
            Pool::Sqlite(writer) => super::presses::write_together(writer, presses).await,
            Pool::Postgres(_) => {
                let mut outcomes = Vec::with_capacity(presses.len());
                for press in &presses {
                    outcomes.push(self.press_alone(press).await);
                }
                outcomes
            }
        }
    }

    /// What a press writes, its verifier sealed.
    fn press(&self, token: &OpaqueToken, new: &NewOAuthState<'_>, now: DateTime<Utc>) -> Press {
        let state_hash = new.state.hash();
        let sealed = new
            .verifier
            .map(|verifier| self.keyring().seal(Binding::PkceVerifier(state_hash), verifier.expose().as_bytes()));
        Press {
            state_hash: new.state.ordered_key(),
            provider: new.provider.as_str(),
            browser_hash: new.browser.hash().to_vec(),
            verifier_key_id: sealed.as_ref().map(|s| i64::from(s.key_id)),
            verifier_ciphertext: sealed.map(|s| s.bytes),
            now: to_millis(now),
            expires_at: to_millis(new.expires_at),
            token_hash: token.hash().to_vec(),
        }
    }

    /// One press, its statement alone on the writer (PostgreSQL, where row locks let presses go
    /// together; and groups of SQLite presses that failed).
    async fn press_alone(&self, press: &Press) -> Result<bool> {
        let spent: Vec<i64> = with_writer!(self.db(), |pool| {
            press_query!(press, begin_flow_sql(self.db().engine())).fetch_all(pool).await
        })?;
        Ok(!spent.is_empty())
    }

    /// The browser-binding cookie's hash of the authorization request a `state` names, if it is
    /// unused and unexpired; reads without consuming, so the callback compares the cookie first
    /// and a leaked `state` presented by another browser leaves the request to its own.
    pub async fn oauth_state_browser(&self, state: &OpaqueToken, now: DateTime<Utc>) -> Result<Option<[u8; 32]>> {
        let row: Option<Vec<u8>> = with_pool!(self.db(), |pool| {
            sqlx::query_scalar(
                "SELECT browser_hash FROM oauth_states WHERE state_hash IN ($1, $3) AND used_at IS NULL AND expires_at > $2",
            )
            .bind(state.ordered_key())
            .bind(to_millis(now))
            .bind(state.hash().to_vec())
            .fetch_optional(pool)
            .await
        })?;
        row.map(|hash| hash.as_slice().try_into().map_err(|_| corrupt("a browser hash is not 32 bytes"))).transpose()
    }

    /// Consumes the authorization request a `state` names, if it is unused and unexpired; `None`
    /// for a forged, reused or expired state. The verifier comes back opened.
    pub async fn consume_oauth_state(&self, state: &OpaqueToken, now: DateTime<Utc>) -> Result<Option<OAuthState>> {
        let state_hash = state.hash();
        // A person waits on this write: it goes before the checker's bulk parts.
        let _first = self.db().urgent();
        let row: Option<StateRow> = with_writer!(self.db(), |pool| {
            sqlx::query_as(
                "UPDATE oauth_states SET used_at = $1 WHERE state_hash IN ($2, $3) AND used_at IS NULL AND expires_at > $1 \
                 RETURNING id, provider, channel_id, link_id, browser_hash, verifier_key_id, verifier_ciphertext",
            )
            .bind(to_millis(now))
            .bind(state.ordered_key())
            .bind(state_hash.to_vec())
            .fetch_all(pool)
            .await.map(super::first_row)
        })?;
        let Some(row) = row else { return Ok(None) };
        let verifier = match (row.verifier_key_id, row.verifier_ciphertext) {
            (Some(key_id), Some(bytes)) => {
                let key_id = u32::try_from(key_id).map_err(|_| corrupt(format!("key id {key_id}")))?;
                self.ensure_key(key_id).await;
                let plain = self.keyring().open(Binding::PkceVerifier(state_hash), key_id, &bytes)?;
                let text = std::str::from_utf8(&plain).map_err(|_| corrupt("a PKCE verifier is not text"))?;
                Some(OpaqueToken::parse("pkce verifier", text).map_err(corrupt)?)
            }
            _ => None,
        };
        Ok(Some(OAuthState {
            id: row.id,
            provider: parse_column(&row.provider)?,
            channel_id: ChannelId(row.channel_id),
            link_id: LinkId(row.link_id),
            browser_hash: row
                .browser_hash
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("a browser hash is not 32 bytes"))?,
            verifier,
        }))
    }

    /// Records what a callback concluded, under a fresh result token the browser is sent to.
    pub async fn set_oauth_outcome(&self, state_id: i64, outcome: &str, result: &OpaqueToken) -> Result<()> {
        // A person waits on this write: it goes before the checker's bulk parts.
        let _first = self.db().urgent();
        with_writer!(self.db(), |pool| {
            sqlx::query("UPDATE oauth_states SET outcome = $1, result_hash = $2 WHERE id = $3")
                .bind(outcome)
                .bind(result.hash().to_vec())
                .bind(state_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The outcome a result token names, while its request has not expired.
    pub async fn oauth_result(&self, result: &OpaqueToken, now: DateTime<Utc>) -> Result<Option<OAuthResult>> {
        let row: Option<(String, i64, i64)> = with_pool!(self.db(), |pool| {
            sqlx::query_as(
                "SELECT outcome, channel_id, link_id FROM oauth_states \
                 WHERE result_hash = $1 AND outcome IS NOT NULL AND expires_at > $2",
            )
            .bind(result.hash().to_vec())
            .bind(to_millis(now))
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|(outcome, channel, link)| OAuthResult {
            outcome,
            channel_id: ChannelId(channel),
            link_id: LinkId(link),
        }))
    }

    /// Deletes authorization requests, reconnect links, and the team page's sign-in links and
    /// sessions that expired before `before`. Returns how many rows went.
    pub async fn purge_expired_flows(&self, before: DateTime<Utc>) -> Result<u64> {
        let sessions = self.purge_expired_sessions(before).await?;
        let before = to_millis(before);
        let states = with_writer!(self.db(), |pool| {
            sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
                .bind(before)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        let links = with_writer!(self.db(), |pool| {
            sqlx::query(
                "DELETE FROM reconnect_links WHERE expires_at < $1 \
                 AND NOT EXISTS (SELECT 1 FROM oauth_states s WHERE s.link_id = reconnect_links.id)",
            )
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(states + links + sessions)
    }

    /// A completed reconnection: the new tokens (a refresh token is never replaced by none), the
    /// member who reconnected as the channel's authoriser, health `healthy`, the check lease
    /// dropped (a check of the old token in flight is then discarded) and the next check due at
    /// `now`. The health change goes to the history and the outbox, and a `reconnected` event to
    /// the outbox, all in one transaction.
    pub async fn complete_reconnect(
        &self,
        id: ChannelId,
        tokens: &TokenSet,
        member: Option<MemberId>,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Transition>> {
        let mut merged = tokens.clone();
        if merged.refresh_token.is_none() {
            merged.keep_from(&self.tokens(id).await?);
        }
        let sealed = self.keyring().seal(crate::crypto::Binding::Channel(id), &merged.secret_bytes());
        let now_ms = to_millis(now);
        let (to_health, _, _) = health_columns(&Health::Healthy);
        // A person waits on this write: it goes before the checker's bulk parts.
        let _first = self.db().urgent();
        let from: Result<Health, StoreError> = with_writer!(self.db(), |pool| {
            async {
                let mut tx = pool.begin().await?;
                let current: Option<(String, Option<String>, Option<String>, i64)> =
                    sqlx::query_as("SELECT health, health_reason, health_detail, team_id FROM channels WHERE id = $1")
                        .bind(id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                let (health, reason, old_detail, team_id) =
                    current.ok_or_else(|| StoreError::NotFound(format!("no channel with id {id}")))?;
                let from = Health::from_parts(&health, reason.as_deref(), old_detail.as_deref()).map_err(corrupt)?;
                // The grant is new and its person is not known yet (the next check, due now, learns
                // them): a push signal about the previous grantor must not reach it meanwhile.
                sqlx::query(
                    "UPDATE channels SET token_key_id = $1, token_ciphertext = $2, token_expires_at = $3, scopes = $4, \
                     version = version + 1, token_issued_at = $5, refresh_uncertain_at = NULL, updated_at = $5, \
                     grantor_id = NULL, \
                     authorized_by = COALESCE($6, authorized_by), health = $7, health_reason = NULL, \
                     health_detail = NULL, last_checked_at = $5, next_check_at = $5, lease_owner = NULL, \
                     lease_until = NULL, consecutive_failures = 0 WHERE id = $8",
                )
                .bind(i64::from(sealed.key_id))
                .bind(sealed.bytes)
                .bind(merged.expires_at.map(to_millis))
                .bind(merged.scopes.to_string())
                .bind(now_ms)
                .bind(member.map(|m| m.0))
                .bind(to_health)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                if from != Health::Healthy {
                    insert_transition!(tx, id.0, team_id, now_ms, &from, &Health::Healthy, Some(detail));
                }
                let event = Event::Reconnected(Reconnected { member_id: member, previous_health: from.to_string() });
                insert_event!(&mut *tx, team_id, Some(id.0), &event, now_ms);
                tx.commit().await?;
                Ok(from)
            }
            .await
        });
        let from = from?;
        Ok((from != Health::Healthy).then(|| Transition {
            channel_id: id,
            at: from_millis(now_ms),
            from,
            to: Health::Healthy,
            detail: Some(detail.to_owned()),
        }))
    }
}
