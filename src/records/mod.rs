//! The record types we index, typed and validated, plus a generic value for every other
//! collection. Pure: bytes of one DAG-CBOR record block in, a [`Record`] or a [`RecordError`] out.
//!
//! A record keeps its bytes, so it can be rendered as lex-JSON ([`Record::lex_json`]) for jsonb
//! columns and output without being decoded twice on the hot path.

mod block;
mod common;
mod follow;
mod generic;
pub mod lexjson;
mod like;
mod post;
mod profile;
mod repost;
mod subject_ref;

pub use block::Block;
pub use common::{Blob, StrongRef};
pub use follow::Follow;
pub use generic::Generic;
pub use like::Like;
pub use post::{Embed, Facet, FacetFeature, Post, ReplyRef};
pub use profile::Profile;
pub use repost::Repost;

use thiserror::Error;

pub const POST: &str = "app.bsky.feed.post";
pub const LIKE: &str = "app.bsky.feed.like";
pub const REPOST: &str = "app.bsky.feed.repost";
pub const FOLLOW: &str = "app.bsky.graph.follow";
pub const BLOCK: &str = "app.bsky.graph.block";
pub const PROFILE: &str = "app.bsky.actor.profile";

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
    Other(Generic),
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
