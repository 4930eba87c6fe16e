//! `app.bsky.feed.repost`: a post by strong ref, and the record that led to it (`via`, e.g.
//! another repost).

use chrono::{DateTime, Utc};

use super::common::StrongRef;
use super::{subject_ref, RecordError, REPOST};

#[derive(Debug, Clone, PartialEq)]
pub struct Repost {
    pub subject: StrongRef,
    pub via: Option<StrongRef>,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Repost, RecordError> {
    let r = subject_ref::decode(REPOST, bytes)?;
    Ok(Repost {
        subject: r.subject,
        via: r.via,
        created_at: r.created_at,
    })
}
