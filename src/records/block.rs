//! `app.bsky.graph.block`: the blocked account by DID.

use chrono::{DateTime, Utc};

use super::follow::decode_did_subject;
use super::{RecordError, BLOCK};

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub subject: String,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Block, RecordError> {
    let (subject, created_at) = decode_did_subject(BLOCK, bytes)?;
    Ok(Block {
        subject,
        created_at,
    })
}
