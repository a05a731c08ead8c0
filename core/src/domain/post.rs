//! Scheduled posts: when a post is due on a channel. A channel that will be disconnected before
//! its next posts puts them at risk, and alerts say how many and when the first is due.

use chrono::{DateTime, Utc};

use super::{ChannelId, id_type, keyword_enum};

id_type!(
    /// A scheduled post's row id.
    PostId, "post id"
);

keyword_enum! {
    /// Where a scheduled post stands.
    PostStatus, "post status", {
        Pending => "pending",
        Published => "published",
        Cancelled => "cancelled" | "canceled",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledPost {
    pub id: PostId,
    pub channel_id: ChannelId,
    pub due_at: DateTime<Utc>,
    pub status: PostStatus,
    /// The publishing tool's own id for the post, if it gave one.
    pub external_ref: Option<String>,
    pub created_at: DateTime<Utc>,
}
