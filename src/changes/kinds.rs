//! The record kinds an AppView indexes beyond the first six (posts, likes, reposts, follows,
//! blocks, profiles): their tables and the rows a plan writes into them. List items are planned
//! apart (their members count once per account, like likes per post), the rest all alike.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::{
    actor_statuses, chat_declarations, feed_generators, labeler_services, list_blocks, list_items,
    lists, notification_declarations, postgates, starter_packs, threadgates, verifications,
};

/// The tables of these kinds, list items aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Lists,
    ListBlocks,
    StarterPacks,
    FeedGenerators,
    LabelerServices,
    Verifications,
    ActorStatuses,
    NotificationDeclarations,
    ChatDeclarations,
    Threadgates,
    Postgates,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Lists,
        Kind::ListBlocks,
        Kind::StarterPacks,
        Kind::FeedGenerators,
        Kind::LabelerServices,
        Kind::Verifications,
        Kind::ActorStatuses,
        Kind::NotificationDeclarations,
        Kind::ChatDeclarations,
        Kind::Threadgates,
        Kind::Postgates,
    ];

    pub fn table(self) -> &'static str {
        match self {
            Kind::Lists => "lists",
            Kind::ListBlocks => "list_blocks",
            Kind::StarterPacks => "starter_packs",
            Kind::FeedGenerators => "feed_generators",
            Kind::LabelerServices => "labeler_services",
            Kind::Verifications => "verifications",
            Kind::ActorStatuses => "actor_statuses",
            Kind::NotificationDeclarations => "notification_declarations",
            Kind::ChatDeclarations => "chat_declarations",
            Kind::Threadgates => "threadgates",
            Kind::Postgates => "postgates",
        }
    }
}

/// A row of one of the [`Kind`] tables.
#[derive(Debug, Clone, PartialEq)]
pub enum KindRow {
    List(ListRow),
    ListBlock(ListBlockRow),
    StarterPack(StarterPackRow),
    FeedGenerator(FeedGeneratorRow),
    LabelerService(LabelerServiceRow),
    Verification(VerificationRow),
    ActorStatus(ActorStatusRow),
    NotificationDeclaration(NotificationDeclarationRow),
    ChatDeclaration(ChatDeclarationRow),
    Threadgate(ThreadgateRow),
    Postgate(PostgateRow),
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = lists, treat_none_as_default_value = false)]
pub struct ListRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub name: String,
    pub purpose: String,
    pub description: Option<String>,
    pub avatar_cid: Option<String>,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = list_items, treat_none_as_default_value = false)]
pub struct ListItemRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub subject_did: String,
    pub list_uri: String,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = list_blocks, treat_none_as_default_value = false)]
pub struct ListBlockRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub list_uri: String,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = starter_packs, treat_none_as_default_value = false)]
pub struct StarterPackRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub name: String,
    pub description: Option<String>,
    pub list_uri: String,
    pub feed_uris: Vec<Option<String>>,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = feed_generators, treat_none_as_default_value = false)]
pub struct FeedGeneratorRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub feed_did: String,
    pub display_name: String,
    pub description: Option<String>,
    pub avatar_cid: Option<String>,
    pub accepts_interactions: Option<bool>,
    pub content_mode: Option<String>,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = labeler_services, treat_none_as_default_value = false)]
pub struct LabelerServiceRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub label_values: Vec<Option<String>>,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = verifications, treat_none_as_default_value = false)]
pub struct VerificationRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub subject_did: String,
    pub handle: String,
    pub display_name: String,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = actor_statuses, treat_none_as_default_value = false)]
pub struct ActorStatusRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub status: String,
    pub duration_minutes: Option<i64>,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = notification_declarations, treat_none_as_default_value = false)]
pub struct NotificationDeclarationRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub allow_subscriptions: String,
    pub record: serde_json::Value,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = chat_declarations, treat_none_as_default_value = false)]
pub struct ChatDeclarationRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub allow_incoming: String,
    pub allow_group_invites: Option<String>,
    pub record: serde_json::Value,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = threadgates, treat_none_as_default_value = false)]
pub struct ThreadgateRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub post_uri: String,
    pub allow: Option<serde_json::Value>,
    pub hidden_replies: Vec<Option<String>>,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = postgates, treat_none_as_default_value = false)]
pub struct PostgateRow {
    pub uri: String,
    pub cid: String,
    pub author_did: String,
    pub post_uri: String,
    pub detached_embedding_uris: Vec<Option<String>>,
    pub embedding_disabled: bool,
    pub record: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub indexed_at: DateTime<Utc>,
}
