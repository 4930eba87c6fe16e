//! The shape likes and reposts share: a subject record by strong ref, the record that led to it
//! (`via`, e.g. a repost), and when. Decoded once here; each lexicon wraps it in its own type.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::common::{created_at, StrongRef};
use super::{check_type, from_cbor, RecordError};

pub(super) struct SubjectRef {
    pub subject: StrongRef,
    pub via: Option<StrongRef>,
    pub created_at: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw<'a> {
    #[serde(rename = "$type")]
    kind: Option<&'a str>,
    subject: StrongRef,
    via: Option<StrongRef>,
    created_at: &'a str,
}

pub(super) fn decode(collection: &'static str, bytes: &[u8]) -> Result<SubjectRef, RecordError> {
    let raw: Raw = from_cbor(collection, bytes)?;
    check_type(raw.kind, collection)?;
    raw.subject.validate("subject")?;
    if let Some(via) = &raw.via {
        via.validate("via")?;
    }
    Ok(SubjectRef {
        created_at: created_at(raw.created_at)?,
        subject: raw.subject,
        via: raw.via,
    })
}
