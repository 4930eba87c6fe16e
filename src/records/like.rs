//! `app.bsky.feed.like` and `app.bsky.feed.repost`: a subject post by strong ref, and the record
//! that led to it (`via`, e.g. a repost).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::common::{created_at, StrongRef};
use super::{check_type, from_cbor, RecordError, LIKE, REPOST};

#[derive(Debug, Clone, PartialEq)]
pub struct Like {
    pub subject: StrongRef,
    pub via: Option<StrongRef>,
    pub created_at: DateTime<Utc>,
}

/// A repost has exactly a like's shape.
pub type Repost = Like;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw<'a> {
    #[serde(rename = "$type")]
    kind: Option<&'a str>,
    subject: StrongRef,
    via: Option<StrongRef>,
    created_at: &'a str,
}

fn decode(collection: &'static str, bytes: &[u8]) -> Result<Like, RecordError> {
    let raw: Raw = from_cbor(collection, bytes)?;
    check_type(raw.kind, collection)?;
    raw.subject.validate("subject")?;
    if let Some(via) = &raw.via {
        via.validate("via")?;
    }
    Ok(Like {
        created_at: created_at(raw.created_at)?,
        subject: raw.subject,
        via: raw.via,
    })
}

pub(crate) fn decode_like(bytes: &[u8]) -> Result<Like, RecordError> {
    decode(LIKE, bytes)
}

pub(crate) fn decode_repost(bytes: &[u8]) -> Result<Repost, RecordError> {
    decode(REPOST, bytes)
}
