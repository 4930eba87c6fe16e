//! AT-URI syntax in the restricted form Lexicon `at-uri` fields use
//! (<https://atproto.com/specs/at-uri-scheme>): `at://AUTHORITY[/COLLECTION[/RKEY]]`, where the
//! authority is a DID or handle, the collection an NSID and the last part a record key.

use super::{did, handle, nsid, record_key, SyntaxError};

/// Longest AT-URI, in bytes (8 KiB).
pub const AT_URI_MAX_LEN: usize = 8 * 1024;

const fn fail(reason: &'static str) -> SyntaxError {
    SyntaxError::new("at-uri", reason)
}

/// Checks that `s` is an AT-URI in the restricted Lexicon form.
///
/// The general AT-URI grammar allows a query and a fragment, but the spec says Lexicon use does
/// not support them yet, and the interop vectors reject every fragment form (`#`, `##`,
/// `#/frag`), so both are refused here. Percent-encoding needs no special case: the parts'
/// own rules never allow '%' in an NSID or record key, which keeps stored URIs normalised.
///
/// A failing part is reported under its own kind, e.g. `invalid at-uri collection: …`, with
/// the reason from that part's validator.
pub fn at_uri(s: &str) -> Result<(), SyntaxError> {
    let b = s.as_bytes();
    if b.len() > AT_URI_MAX_LEN {
        return Err(fail("longer than 8 KiB"));
    }
    let Some(rest) = s.strip_prefix("at://") else {
        return Err(fail("must start with \"at://\""));
    };
    if rest.bytes().any(|c| c == b'?') {
        return Err(fail("query part is not supported"));
    }
    if rest.bytes().any(|c| c == b'#') {
        return Err(fail("fragment part is not supported"));
    }
    if rest.ends_with('/') {
        return Err(fail("must not end with '/'"));
    }

    let mut parts = rest.split('/');
    // `split` always yields at least one item; an empty authority fails the handle rules.
    let authority = parts.next().unwrap_or_default();
    if authority.starts_with("did:") {
        did(authority).map_err(|e| SyntaxError::new("at-uri authority", e.reason))?;
    } else {
        handle(authority).map_err(|e| SyntaxError::new("at-uri authority", e.reason))?;
    }
    if let Some(collection) = parts.next() {
        if collection.is_empty() {
            return Err(fail("empty path segment (doubled '/')"));
        }
        nsid(collection).map_err(|e| SyntaxError::new("at-uri collection", e.reason))?;
    }
    if let Some(rkey) = parts.next() {
        if rkey.is_empty() {
            return Err(fail("empty path segment (doubled '/')"));
        }
        record_key(rkey).map_err(|e| SyntaxError::new("at-uri record key", e.reason))?;
    }
    if parts.next().is_some() {
        return Err(fail("more than two path segments"));
    }
    Ok(())
}
