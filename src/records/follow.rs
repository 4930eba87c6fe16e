//! `app.bsky.graph.follow`: the subject account by DID.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::common::created_at;
use super::{check_type, from_cbor, RecordError, FOLLOW};
use crate::syntax;

#[derive(Debug, Clone, PartialEq)]
pub struct Follow {
    pub subject: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Raw<'a> {
    #[serde(rename = "$type")]
    pub kind: Option<&'a str>,
    pub subject: String,
    pub created_at: &'a str,
}

/// Decodes a record whose payload is a subject DID and a time (follows and blocks).
pub(super) fn decode_did_subject(
    collection: &'static str,
    bytes: &[u8],
) -> Result<(String, DateTime<Utc>), RecordError> {
    let raw: Raw = from_cbor(collection, bytes)?;
    check_type(raw.kind, collection)?;
    syntax::did(&raw.subject).map_err(|e| RecordError::field("subject", e))?;
    Ok((raw.subject, created_at(raw.created_at)?))
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Follow, RecordError> {
    let (subject, created_at) = decode_did_subject(FOLLOW, bytes)?;
    Ok(Follow {
        subject,
        created_at,
    })
}
