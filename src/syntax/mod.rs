//! AT Protocol string formats: DID, handle, NSID, AT-URI, record key, TID, CID, datetime and
//! language tag, as the specs at <https://atproto.com/specs> and the public interop vectors
//! (`interop-test-files/syntax` in bluesky-social/atproto) define them.
//!
//! These run on every record of a firehose carrying tens of thousands of events a second, so
//! each check is one pass over the bytes with no allocation, and every format with a length
//! limit checks it before scanning: a hostile multi-megabyte string costs one comparison.
//!
//! Errors never hold the input: it can be huge and hostile, and the caller knows which field it
//! was checking, so it adds the value (shortened as it sees fit) to its own error context.

mod at_identifier;
mod at_uri;
mod cid;
mod datetime;
mod did;
mod handle;
mod language;
mod nsid;
mod record_key;
mod tid;

pub use at_identifier::at_identifier;
pub use at_uri::{at_uri, AT_URI_MAX_LEN};
pub use cid::cid;
pub use datetime::{datetime, parse_datetime};
pub use did::{did, DID_MAX_LEN};
pub use handle::{handle, HANDLE_MAX_LEN};
pub use language::language;
pub use nsid::{nsid, NSID_MAX_LEN};
pub use record_key::{record_key, RECORD_KEY_MAX_LEN};
pub use tid::{tid, tid_int, tid_text, TID_LEN};

/// A string that is not of the expected format: which format, and the first rule it broke.
///
/// Displays as `invalid <kind>: <reason>`, e.g. `invalid did: method must be lowercase letters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct SyntaxError {
    /// The format checked, e.g. `did`, `handle`, or `at-uri collection` for a part of an AT-URI.
    pub kind: &'static str,
    /// The first rule the string broke.
    pub reason: &'static str,
}

impl SyntaxError {
    pub(crate) const fn new(kind: &'static str, reason: &'static str) -> Self {
        Self { kind, reason }
    }
}
