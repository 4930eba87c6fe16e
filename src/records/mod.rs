//! The record types we index, typed and validated, plus a generic value for every other
//! collection. Pure: bytes of one DAG-CBOR record block in, a [`Record`] or a [`RecordError`] out.
//!
//! A record keeps its bytes, so it can be rendered as lex-JSON ([`Record::lex_json`]) for jsonb
//! columns and output without being decoded twice on the hot path.
//!
//! The six kinds on the hot path (posts, likes, reposts, follows, blocks, profiles) decode
//! straight into serde structs; the rarer kinds (lists and their items and blocks, starter
//! packs, feed generators, labeler services, verifications, status, declarations, thread and
//! post gates) read their fields from the decoded map (`fields`), so each wrong field is named.
//! Records that are valid per their lexicon are kept even where the reference AppView refuses to
//! index them (a gate for another repo's post, a list item on someone else's list): each such
//! type has a helper the planner asks instead (`ThreadGate::gates`, `ListItem::in_list_owner_repo`).

mod block;
pub mod chat_declaration;
mod common;
mod external;
mod facet;
mod fields;
mod follow;
pub mod generator;
mod generic;
pub mod labeler;
pub mod lexjson;
mod like;
pub mod list;
mod listblock;
mod listitem;
pub mod notification_declaration;
mod post;
mod postgate;
mod profile;
mod repost;
mod starterpack;
pub mod status;
mod subject_ref;
mod threadgate;
mod verification;

pub use block::Block;
pub use chat_declaration::ChatDeclaration;
pub use common::{Blob, StrongRef};
pub use external::External;
pub use facet::{Facet, FacetFeature};
pub use follow::Follow;
pub use generator::FeedGenerator;
pub use generic::Generic;
pub use labeler::{LabelValueDefinition, LabelValueStrings, LabelerPolicies, LabelerService};
pub use like::Like;
pub use list::List;
pub use listblock::ListBlock;
pub use listitem::ListItem;
pub use notification_declaration::NotificationDeclaration;
pub use post::{Embed, Post, ReplyRef};
pub use postgate::{PostGate, PostGateRule};
pub use profile::Profile;
pub use repost::Repost;
pub use starterpack::StarterPack;
pub use status::{ActorStatus, StatusEmbed};
pub use threadgate::{ThreadGate, ThreadGateRule};
pub use verification::Verification;

use thiserror::Error;

pub const POST: &str = "app.bsky.feed.post";
pub const LIKE: &str = "app.bsky.feed.like";
pub const REPOST: &str = "app.bsky.feed.repost";
pub const FOLLOW: &str = "app.bsky.graph.follow";
pub const BLOCK: &str = "app.bsky.graph.block";
pub const PROFILE: &str = "app.bsky.actor.profile";
pub const LIST: &str = "app.bsky.graph.list";
pub const LIST_ITEM: &str = "app.bsky.graph.listitem";
pub const LIST_BLOCK: &str = "app.bsky.graph.listblock";
pub const STARTER_PACK: &str = "app.bsky.graph.starterpack";
pub const FEED_GENERATOR: &str = "app.bsky.feed.generator";
pub const LABELER_SERVICE: &str = "app.bsky.labeler.service";
pub const VERIFICATION: &str = "app.bsky.graph.verification";
pub const ACTOR_STATUS: &str = "app.bsky.actor.status";
pub const NOTIFICATION_DECLARATION: &str = "app.bsky.notification.declaration";
pub const CHAT_DECLARATION: &str = "chat.bsky.actor.declaration";
pub const THREADGATE: &str = "app.bsky.feed.threadgate";
pub const POSTGATE: &str = "app.bsky.feed.postgate";

/// Every collection [`Record::decode`] types; records of any other are [`RecordValue::Other`].
pub const TYPED_COLLECTIONS: [&str; 18] = [
    POST,
    LIKE,
    REPOST,
    FOLLOW,
    BLOCK,
    PROFILE,
    LIST,
    LIST_ITEM,
    LIST_BLOCK,
    STARTER_PACK,
    FEED_GENERATOR,
    LABELER_SERVICE,
    VERIFICATION,
    ACTOR_STATUS,
    NOTIFICATION_DECLARATION,
    CHAT_DECLARATION,
    THREADGATE,
    POSTGATE,
];

/// Why a record is not indexed. The commit it came in is still applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    #[error("record is not valid DAG-CBOR: {0}")]
    Cbor(String),
    #[error("record does not match {collection}: {reason}")]
    Shape {
        collection: &'static str,
        reason: String,
    },
    #[error("record $type {found:?} does not match its collection")]
    Type { found: Option<String> },
    #[error("field {field}: {reason}")]
    Field { field: &'static str, reason: String },
}

impl RecordError {
    pub(crate) fn field(field: &'static str, reason: impl std::fmt::Display) -> RecordError {
        RecordError::Field {
            field,
            reason: reason.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RecordValue {
    Post(Post),
    Like(Like),
    Repost(Repost),
    Follow(Follow),
    Block(Block),
    Profile(Profile),
    List(List),
    ListItem(ListItem),
    ListBlock(ListBlock),
    StarterPack(StarterPack),
    FeedGenerator(FeedGenerator),
    LabelerService(LabelerService),
    Verification(Verification),
    ActorStatus(ActorStatus),
    NotificationDeclaration(NotificationDeclaration),
    ChatDeclaration(ChatDeclaration),
    ThreadGate(ThreadGate),
    PostGate(PostGate),
    /// Any other collection, kept whole.
    Other(Generic),
}

impl RecordValue {
    /// The record's `createdAt`, when its lexicon has one and it was valid.
    pub fn created_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            RecordValue::Post(p) => Some(p.created_at),
            RecordValue::Like(l) => Some(l.created_at),
            RecordValue::Repost(r) => Some(r.created_at),
            RecordValue::Follow(f) => Some(f.created_at),
            RecordValue::Block(b) => Some(b.created_at),
            RecordValue::Profile(p) => p.created_at,
            RecordValue::List(l) => Some(l.created_at),
            RecordValue::ListItem(l) => Some(l.created_at),
            RecordValue::ListBlock(l) => Some(l.created_at),
            RecordValue::StarterPack(s) => Some(s.created_at),
            RecordValue::FeedGenerator(g) => Some(g.created_at),
            RecordValue::LabelerService(l) => Some(l.created_at),
            RecordValue::Verification(v) => Some(v.created_at),
            RecordValue::ActorStatus(s) => Some(s.created_at),
            // The declarations' lexicons have no createdAt.
            RecordValue::NotificationDeclaration(_) | RecordValue::ChatDeclaration(_) => None,
            RecordValue::ThreadGate(t) => Some(t.created_at),
            RecordValue::PostGate(p) => Some(p.created_at),
            RecordValue::Other(g) => g.created_at,
        }
    }
}

/// A decoded, validated record and the exact bytes it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub value: RecordValue,
    pub bytes: Vec<u8>,
}

impl Record {
    /// Decodes and validates a record of `collection` from its (already CID-checked) block.
    pub fn decode(collection: &str, bytes: &[u8]) -> Result<Record, RecordError> {
        // Canonical, and no NUL anywhere: what we keep must render as lex-JSON and fit jsonb.
        crate::ipld::cbor::validate_record(bytes).map_err(|e| RecordError::Cbor(e.to_string()))?;
        let value = match collection {
            POST => RecordValue::Post(post::decode(bytes)?),
            LIKE => RecordValue::Like(like::decode(bytes)?),
            REPOST => RecordValue::Repost(repost::decode(bytes)?),
            FOLLOW => RecordValue::Follow(follow::decode(bytes)?),
            BLOCK => RecordValue::Block(block::decode(bytes)?),
            PROFILE => RecordValue::Profile(profile::decode(bytes)?),
            LIST => RecordValue::List(list::decode(bytes)?),
            LIST_ITEM => RecordValue::ListItem(listitem::decode(bytes)?),
            LIST_BLOCK => RecordValue::ListBlock(listblock::decode(bytes)?),
            STARTER_PACK => RecordValue::StarterPack(starterpack::decode(bytes)?),
            FEED_GENERATOR => RecordValue::FeedGenerator(generator::decode(bytes)?),
            LABELER_SERVICE => RecordValue::LabelerService(labeler::decode(bytes)?),
            VERIFICATION => RecordValue::Verification(verification::decode(bytes)?),
            ACTOR_STATUS => RecordValue::ActorStatus(status::decode(bytes)?),
            NOTIFICATION_DECLARATION => {
                RecordValue::NotificationDeclaration(notification_declaration::decode(bytes)?)
            }
            CHAT_DECLARATION => RecordValue::ChatDeclaration(chat_declaration::decode(bytes)?),
            THREADGATE => RecordValue::ThreadGate(threadgate::decode(bytes)?),
            POSTGATE => RecordValue::PostGate(postgate::decode(bytes)?),
            _ => RecordValue::Other(generic::decode(collection, bytes)?),
        };
        Ok(Record {
            value,
            bytes: bytes.to_vec(),
        })
    }

    /// The record as atproto lex-JSON (links as `{"$link"}`, bytes as `{"$bytes"}`).
    pub fn lex_json(&self) -> serde_json::Value {
        // The bytes were validated as DAG-CBOR when the record was decoded.
        lexjson::from_dag_cbor(&self.bytes).unwrap_or(serde_json::Value::Null)
    }
}

/// Decodes a typed record struct from DAG-CBOR, naming the collection in the error.
pub(crate) fn from_cbor<'a, T: serde::Deserialize<'a>>(
    collection: &'static str,
    bytes: &'a [u8],
) -> Result<T, RecordError> {
    serde_ipld_dagcbor::from_slice(bytes).map_err(|e| RecordError::Shape {
        collection,
        reason: e.to_string(),
    })
}

/// Checks a record's `$type` names its collection.
pub(crate) fn check_type(found: Option<&str>, collection: &str) -> Result<(), RecordError> {
    if found == Some(collection) {
        Ok(())
    } else {
        Err(RecordError::Type {
            found: found.map(str::to_owned),
        })
    }
}
