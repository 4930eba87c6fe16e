//! `app.bsky.graph.verification`: one account vouching for another's identity, naming the
//! handle and display name it verified. Only verifiers an app trusts count; that is for the
//! read side, the record says nothing about it.

use chrono::{DateTime, Utc};

use super::common::check_no_nul;
use super::fields;
use super::{RecordError, VERIFICATION};
use crate::syntax;

#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// The account verified.
    pub subject: String,
    /// Its handle when verified (the verification holds only while the handle is the same).
    pub handle: String,
    /// Its display name when verified (likewise); the lexicon sets no length limit.
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Verification, RecordError> {
    let m = fields::record(VERIFICATION, bytes)?;
    let handle = fields::req_str(&m, "handle")?;
    syntax::handle(handle).map_err(|e| RecordError::field("handle", e))?;
    let display_name = fields::req_str(&m, "displayName")?;
    check_no_nul("displayName", display_name)?;
    Ok(Verification {
        subject: fields::req_did(&m, "subject")?,
        handle: handle.to_owned(),
        display_name: display_name.to_owned(),
        created_at: fields::created_at(&m)?,
    })
}
