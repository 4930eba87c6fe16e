//! Rows as Diesel writes them: what a plan inserts into each table. Field order follows the
//! schema, which `diesel print-schema` generates from the migrations; the compiler checks every
//! column name and type against it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::{
    blocks, feed_items, follows, generic_records, notifications, posts, reposts, users,
};

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = posts, treat_none_as_default_value = false)]
pub struct PostRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub text: String,
    pub langs: Vec<Option<String>>,
    pub parent_uri: Option<String>,
    pub parent_cid: Option<String>,
    pub root_uri: Option<String>,
    pub root_cid: Option<String>,
    pub quote_uri: Option<String>,
    pub quote_cid: Option<String>,
    pub embed: Option<serde_json::Value>,
    pub facets: Option<serde_json::Value>,
    pub labels: Vec<Option<String>>,
    pub tags: Vec<Option<String>>,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
    pub violates_thread_gate: bool,
    pub violates_embedding_rules: bool,
}

/// A like as the planner sees it; `db::likes` writes it by compact keys.
#[derive(Debug, Clone, PartialEq)]
pub struct LikeRow {
    pub uri: String,
    pub cid: String,
    pub user_did: String,
    pub post_uri: String,
    pub subject_cid: String,
    pub via_uri: Option<String>,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = reposts, treat_none_as_default_value = false)]
pub struct RepostRow {
    pub uri: String,
    pub cid: String,
    pub user_did: String,
    pub post_uri: String,
    pub subject_cid: String,
    pub via_uri: Option<String>,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = follows, treat_none_as_default_value = false)]
pub struct FollowRow {
    pub uri: String,
    pub cid: String,
    pub follower_did: String,
    pub following_did: String,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = blocks, treat_none_as_default_value = false)]
pub struct BlockRow {
    pub uri: String,
    pub cid: String,
    pub blocker_did: String,
    pub blocked_did: String,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = generic_records, treat_none_as_default_value = false)]
pub struct GenericRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub collection: String,
    pub record: serde_json::Value,
    pub created_at: Option<DateTime<Utc>>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = feed_items, treat_none_as_default_value = false)]
pub struct FeedItemRow {
    pub uri: String,
    pub post_uri: String,
    pub originator_did: String,
    #[diesel(column_name = type_)]
    pub kind: String,
    pub sort_at: DateTime<Utc>,
    pub cid: String,
}

/// An account's state columns: everything but the profile.
#[derive(Debug, Clone, PartialEq, Insertable, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserState {
    pub did: String,
    pub handle: Option<String>,
    pub active: bool,
    pub status: Option<String>,
    pub rev: Option<String>,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
    /// The MST root after the last commit applied (see `prevData`).
    pub data_cid: Option<String>,
}

/// The profile columns of an account, all `None` when the profile record is deleted.
#[derive(Debug, Clone, PartialEq, Default, AsChangeset)]
#[diesel(table_name = users, treat_none_as_null = true)]
pub struct ProfileColumns {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub avatar_cid: Option<String>,
    pub banner_cid: Option<String>,
    pub pinned_post_uri: Option<String>,
    pub joined_via_starter_pack_uri: Option<String>,
    pub profile_cid: Option<String>,
    pub profile_record: Option<serde_json::Value>,
}

/// One notification (see the `notifications` table): who is told, why, about what, because of
/// which record.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable, Selectable)]
#[diesel(table_name = notifications, treat_none_as_default_value = false)]
pub struct NotificationRow {
    pub record_uri: String,
    pub recipient_did: String,
    pub reason: String,
    pub reason_subject: Option<String>,
    pub author_did: String,
    pub record_cid: String,
    pub sort_at: DateTime<Utc>,
}
