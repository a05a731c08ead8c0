//! What a page about one channel shows — the channel, its team, who authorised it, and the
//! reconnect link it was opened with and the role of the member it was made for — read in
//! **one query**.
//!
//! The reconnect pages take the traffic of every chat app that previews a link and of every
//! button press. Four small queries cost four hops to the database's worker thread each, and on
//! a busy machine those hops, not the queries, were most of a page's cost.

use std::sync::LazyLock;

use super::channel::{CHANNEL_COLUMNS, ChannelRow};
use super::links::{LINK_COLUMNS, LinkRow};
use super::{Result, Store, StoreError, parse_column, with_pool};
use crate::domain::{Channel, ChannelId, MemberName, ReconnectLink, Role, Team, TeamName};
use crate::opaque::OpaqueToken;
use crate::time::from_millis;

/// A channel with its team and the name of the member who authorised it.
#[derive(Debug, Clone)]
pub struct ChannelContext {
    pub channel: Channel,
    pub team: Team,
    pub authorised_by: Option<MemberName>,
}

#[derive(sqlx::FromRow)]
struct ContextRow {
    #[sqlx(flatten)]
    channel: ChannelRow,
    team_name: String,
    team_language: String,
    team_created_at: i64,
    member_name: Option<String>,
}

/// A reconnect link with its channel's context and the member it was made for.
#[derive(Debug, Clone)]
pub struct LinkContext {
    pub link: ReconnectLink,
    pub context: ChannelContext,
    /// The role the link's member has now, in the link's team: `None` when the link names no
    /// member, or the member was removed (which clears the link's `member_id`).
    pub member_role: Option<Role>,
}

#[derive(sqlx::FromRow)]
struct LinkContextRow {
    #[sqlx(flatten)]
    context: ContextRow,
    #[sqlx(flatten)]
    link: PrefixedLinkRow,
    link_member_role: Option<String>,
}

/// A link's columns under `link_` names, beside the channel's own `id`, `team_id` ….
#[derive(sqlx::FromRow)]
struct PrefixedLinkRow {
    link_id: i64,
    link_team_id: i64,
    link_channel_id: i64,
    link_member_id: Option<i64>,
    link_created_at: i64,
    link_expires_at: i64,
    link_used_at: Option<i64>,
}

/// The columns and joins both reads share: the channel's columns as they are, the team's and
/// the member's under other names.
static CONTEXT_SELECT: LazyLock<String> = LazyLock::new(|| {
    let channel = CHANNEL_COLUMNS.split(',').map(|c| format!("c.{}", c.trim())).collect::<Vec<_>>().join(", ");
    format!(
        "SELECT {channel}, t.name AS team_name, t.language AS team_language, t.created_at AS team_created_at, \
         m.name AS member_name"
    )
});

/// Joins a channel `c` to its team and its authoriser.
const CONTEXT_JOINS: &str = "JOIN teams t ON t.id = c.team_id LEFT JOIN members m ON m.id = c.authorized_by";

static LINK_CONTEXT_SQL: LazyLock<String> = LazyLock::new(|| {
    let link = LINK_COLUMNS.split(',').map(|c| format!("l.{0} AS link_{0}", c.trim())).collect::<Vec<_>>().join(", ");
    format!(
        "{}, {link}, lm.role AS link_member_role FROM reconnect_links l JOIN channels c ON c.id = l.channel_id \
         {CONTEXT_JOINS} LEFT JOIN members lm ON lm.id = l.member_id AND lm.team_id = l.team_id \
         WHERE l.token_hash = $1",
        *CONTEXT_SELECT
    )
});

static CHANNEL_CONTEXT_SQL: LazyLock<String> =
    LazyLock::new(|| format!("{} FROM channels c {CONTEXT_JOINS} WHERE c.id = $1", *CONTEXT_SELECT));

impl ContextRow {
    fn into_context(self) -> Result<ChannelContext> {
        let channel = self.channel.into_channel()?;
        let team = Team {
            id: channel.team_id,
            name: TeamName::parse(&self.team_name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            language: parse_column(&self.team_language)?,
            created_at: from_millis(self.team_created_at),
        };
        let authorised_by = self
            .member_name
            .map(|name| MemberName::parse(&name).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()?;
        Ok(ChannelContext { channel, team, authorised_by })
    }
}

impl Store {
    /// A channel with its team and its authoriser's name.
    pub async fn channel_context(&self, id: ChannelId) -> Result<ChannelContext> {
        let row: Option<ContextRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(CHANNEL_CONTEXT_SQL.as_str())).bind(id.0).fetch_optional(pool).await
        })?;
        row.ok_or_else(|| StoreError::NotFound(format!("no channel with id {id}")))?.into_context()
    }

    /// The link a token names, used or not (reading never consumes it), with its channel's
    /// context and its member's current role; `None` for a token no link has.
    pub async fn link_context(&self, token: &OpaqueToken) -> Result<Option<LinkContext>> {
        let row: Option<LinkContextRow> = with_pool!(self.db(), |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(LINK_CONTEXT_SQL.as_str()))
                .bind(token.hash().to_vec())
                .fetch_optional(pool)
                .await
        })?;
        let Some(LinkContextRow { context, link, link_member_role }) = row else { return Ok(None) };
        let link = LinkRow {
            id: link.link_id,
            team_id: link.link_team_id,
            channel_id: link.link_channel_id,
            member_id: link.link_member_id,
            created_at: link.link_created_at,
            expires_at: link.link_expires_at,
            used_at: link.link_used_at,
        };
        let member_role = link_member_role.as_deref().map(parse_column).transpose()?;
        Ok(Some(LinkContext { link: link.into_link(), context: context.into_context()?, member_role }))
    }
}
