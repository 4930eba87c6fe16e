//! Handle -> DID, by the two methods of the handle spec (<https://atproto.com/specs/handle>):
//! a DNS TXT record `_atproto.<handle>` holding `did=<DID>`, and the body of
//! `https://<handle>/.well-known/atproto-did`.
//!
//! Uncached and unlimited, like `resolver`: `identities` decides when to ask, how often, and
//! what a verdict is worth. What lives here is what each answer means: TXT records that do not
//! start with `did=` are ignored, several different DIDs make the DNS answer ambiguous (a
//! failure, as the spec says), a well-known body is trimmed of surrounding whitespace and must
//! be a DID, and a 404 is "no claim here", not an error.

use std::sync::Arc;

use super::dns::TxtLookup;
use super::error::{short, HandleError};
use super::http::HttpGet;
use crate::syntax;

/// What `#identity`-aware services show for an account without a bidirectionally valid handle.
pub const INVALID_HANDLE: &str = "handle.invalid";

const ACCEPT_TEXT: &str = "text/plain, */*;q=0.1";

/// Longest name DNS can carry in text form; `_atproto.` plus a handle over 244 bytes exceeds it,
/// and the spec sends such handles to the well-known method.
const DNS_NAME_MAX: usize = 253;

/// An account's handle after verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandleStatus {
    /// The document claims this handle and the handle resolves back to the DID.
    Verified(String),
    /// No bidirectionally valid handle; `claimed` is what the document said, if anything.
    Invalid { claimed: Option<String> },
}

impl HandleStatus {
    /// The handle to show: the verified one, or `handle.invalid`.
    pub fn as_str(&self) -> &str {
        match self {
            HandleStatus::Verified(h) => h,
            HandleStatus::Invalid { .. } => INVALID_HANDLE,
        }
    }

    pub fn is_verified(&self) -> bool {
        matches!(self, HandleStatus::Verified(_))
    }
}

/// Resolves handles to DIDs over DNS and HTTP.
pub struct HandleResolver {
    dns: Arc<dyn TxtLookup>,
    http: Arc<dyn HttpGet>,
    scheme: &'static str,
    max_body: usize,
}

impl HandleResolver {
    /// `plain_http` asks the well-known URL over http (tests, development).
    pub fn new(
        dns: Arc<dyn TxtLookup>,
        http: Arc<dyn HttpGet>,
        plain_http: bool,
        max_body: usize,
    ) -> HandleResolver {
        HandleResolver {
            dns,
            http,
            scheme: if plain_http { "http" } else { "https" },
            max_body,
        }
    }

    /// The DID the DNS TXT method names for `handle` (lowercase, checked), `None` without one.
    pub fn via_dns(&self, handle: &str) -> Result<Option<String>, HandleError> {
        let name = format!("_atproto.{handle}");
        if name.len() > DNS_NAME_MAX {
            return Ok(None);
        }
        let records = self.dns.txt(&name).map_err(|source| HandleError::Dns {
            handle: short(handle),
            source,
        })?;
        did_from_txt(&records).map_err(|Ambiguous| HandleError::Ambiguous {
            handle: short(handle),
        })
    }

    /// The DID the well-known method names for `handle`, `None` on a 404.
    pub fn via_well_known(&self, handle: &str) -> Result<Option<String>, HandleError> {
        let url = format!("{}://{handle}/.well-known/atproto-did", self.scheme);
        let response = self
            .http
            .get(&url, ACCEPT_TEXT, self.max_body)
            .map_err(|source| HandleError::Http {
                handle: short(handle),
                source,
            })?;
        match response.status {
            200..=299 => did_from_body(&response.body)
                .map(Some)
                .ok_or(HandleError::NotADid {
                    handle: short(handle),
                }),
            404 | 410 => Ok(None),
            status => Err(HandleError::Status {
                handle: short(handle),
                status,
            }),
        }
    }
}

/// `did=` records that name more than one DID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ambiguous;

/// The one DID named by `did=` records; `Err` when they name several.
pub fn did_from_txt(records: &[Vec<u8>]) -> Result<Option<String>, Ambiguous> {
    let mut found: Option<&str> = None;
    for record in records {
        let Some(value) = record.strip_prefix(b"did=") else {
            continue;
        };
        let Ok(did) = std::str::from_utf8(value) else {
            continue;
        };
        if syntax::did(did).is_err() {
            continue;
        }
        match found {
            Some(prev) if prev != did => return Err(Ambiguous),
            _ => found = Some(did),
        }
    }
    Ok(found.map(str::to_owned))
}

/// A well-known body as a DID: UTF-8, surrounding whitespace trimmed, valid DID syntax.
pub fn did_from_body(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    syntax::did(text).ok()?;
    Some(text.to_owned())
}

/// The key a handle's lookups are rate-limited under: its last two labels, so the thousands of
/// `*.bsky.social` handles count against one host, as they are one service.
pub fn limit_key(handle: &str) -> &str {
    let mut dots = handle.rmatch_indices('.');
    dots.next();
    match dots.next() {
        Some((i, _)) => &handle[i + 1..],
        None => handle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_records() {
        let r = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(did_from_txt(&r(&[])), Ok(None));
        assert_eq!(did_from_txt(&r(&["v=spf1 -all", "did=nope"])), Ok(None));
        assert_eq!(
            did_from_txt(&r(&["v=spf1", "did=did:plc:abc", "did=did:plc:abc"])),
            Ok(Some("did:plc:abc".into()))
        );
        assert_eq!(
            did_from_txt(&r(&["did=did:plc:abc", "did=did:plc:xyz"])),
            Err(Ambiguous)
        );
        assert_eq!(did_from_txt(&r(&["DID=did:plc:abc"])), Ok(None));
    }

    #[test]
    fn bodies() {
        assert_eq!(
            did_from_body(b" did:plc:abc\r\n").as_deref(),
            Some("did:plc:abc")
        );
        assert_eq!(did_from_body(b"<html>"), None);
        assert_eq!(did_from_body(b"did:plc:abc did:plc:xyz"), None);
        assert_eq!(did_from_body(&[0xff, 0xfe]), None);
    }

    #[test]
    fn limit_keys() {
        assert_eq!(limit_key("alice.bsky.social"), "bsky.social");
        assert_eq!(limit_key("example.com"), "example.com");
        assert_eq!(limit_key("a.b.c.example.com"), "example.com");
    }
}
