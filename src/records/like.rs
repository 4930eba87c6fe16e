//! `app.bsky.feed.like`: a subject (a post, a feed generator, a labeler…) by strong ref, and the
//! record that led to it (`via`, e.g. a repost).

use chrono::{DateTime, Utc};

use super::common::StrongRef;
use super::{subject_ref, RecordError, LIKE};

#[derive(Debug, Clone, PartialEq)]
pub struct Like {
    pub subject: StrongRef,
    pub via: Option<StrongRef>,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Like, RecordError> {
    let r = subject_ref::decode(LIKE, bytes)?;
    Ok(Like {
        subject: r.subject,
        via: r.via,
        created_at: r.created_at,
    })
}
