//! Pieces several lexicons share: strong refs, blobs, text limits.

use chrono::{DateTime, Utc};
use cid::Cid;
use serde::Deserialize;
use unicode_segmentation::UnicodeSegmentation;

use super::RecordError;
use crate::syntax;

/// `com.atproto.repo.strongRef`: a record by URI and CID (the CID as a string).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StrongRef {
    pub uri: String,
    pub cid: String,
}

impl StrongRef {
    pub(crate) fn validate(&self, field: &'static str) -> Result<(), RecordError> {
        syntax::at_uri(&self.uri).map_err(|e| RecordError::field(field, e))?;
        syntax::cid(&self.cid).map_err(|e| RecordError::field(field, e))?;
        Ok(())
    }
}

/// A blob reference, modern (`{$type: blob, ref, mimeType, size}`) or legacy (`{cid, mimeType}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blob {
    #[serde(rename = "ref")]
    pub link: Option<Cid>,
    /// Legacy blobs carry their CID as a string.
    pub cid: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<i64>,
}

impl Blob {
    /// The blob's CID as a string, whichever form it came in.
    pub fn cid_string(&self) -> Option<String> {
        match (&self.link, &self.cid) {
            (Some(link), _) => Some(link.to_string()),
            (None, Some(s)) => Some(s.clone()),
            (None, None) => None,
        }
    }
}

/// Checks a lexicon string's `maxLength` (UTF-8 bytes) and `maxGraphemes`, and refuses NUL,
/// which PostgreSQL text and jsonb cannot hold.
pub(crate) fn check_text(
    field: &'static str,
    s: &str,
    max_bytes: usize,
    max_graphemes: usize,
) -> Result<(), RecordError> {
    if s.len() > max_bytes {
        return Err(RecordError::field(
            field,
            format!("{} bytes, over the limit of {max_bytes}", s.len()),
        ));
    }
    // A string has no more graphemes than bytes, so short strings need no segmentation.
    if s.len() > max_graphemes && s.graphemes(true).count() > max_graphemes {
        return Err(RecordError::field(
            field,
            format!("over the limit of {max_graphemes} graphemes"),
        ));
    }
    check_no_nul(field, s)
}

pub(crate) fn check_no_nul(field: &'static str, s: &str) -> Result<(), RecordError> {
    if s.as_bytes().contains(&0) {
        return Err(RecordError::field(field, "contains a NUL character"));
    }
    Ok(())
}

pub(crate) fn created_at(s: &str) -> Result<DateTime<Utc>, RecordError> {
    syntax::parse_datetime(s).map_err(|e| RecordError::field("createdAt", e))
}

/// An AT-URI split into its authority (a DID or handle), collection and record key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UriParts<'a> {
    pub authority: &'a str,
    pub collection: Option<&'a str>,
    pub rkey: Option<&'a str>,
}

/// Splits an AT-URI; `None` if it does not start with `at://`. No other check: the URIs split
/// here were validated when their record was decoded, or are built by us from a repo and a path.
pub(crate) fn uri_parts(uri: &str) -> Option<UriParts<'_>> {
    let rest = uri.strip_prefix("at://")?;
    let mut parts = rest.splitn(3, '/');
    Some(UriParts {
        authority: parts.next().unwrap_or_default(),
        collection: parts.next(),
        rkey: parts.next(),
    })
}

/// Whether `a` and `b` name records in the same repo under the same record key, as a gate must
/// name its post (the reference compares the URIs' hosts and record keys, not their collections).
pub(crate) fn same_repo_and_rkey(a: &str, b: &str) -> bool {
    match (uri_parts(a), uri_parts(b)) {
        (Some(a), Some(b)) => a.authority == b.authority && a.rkey.is_some() && a.rkey == b.rkey,
        _ => false,
    }
}

/// Whether two AT-URIs have the same authority (the same repo, when both name it by DID).
pub(crate) fn same_repo(a: &str, b: &str) -> bool {
    match (uri_parts(a), uri_parts(b)) {
        (Some(a), Some(b)) => a.authority == b.authority,
        _ => false,
    }
}
