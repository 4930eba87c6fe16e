//! `app.bsky.graph.listblock`: blocking every account on a (moderation) list, by the list's
//! AT-URI. The list may be anyone's.

use chrono::{DateTime, Utc};

use super::fields;
use super::{RecordError, LIST_BLOCK};

#[derive(Debug, Clone, PartialEq)]
pub struct ListBlock {
    /// The list blocked, by AT-URI.
    pub subject: String,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<ListBlock, RecordError> {
    let m = fields::record(LIST_BLOCK, bytes)?;
    Ok(ListBlock {
        subject: fields::req_at_uri(&m, "subject")?,
        created_at: fields::created_at(&m)?,
    })
}
