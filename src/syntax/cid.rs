//! CID string syntax as the atproto interop vectors define it (`cid_syntax_*.txt`): a quick
//! shape check for Lexicon `cid` strings, not a decode. Decoding and hashing are done where the
//! CID is actually used, with the `cid` crate.

use super::SyntaxError;

// Not spec limits: the reference implementation's bounds. Every real CIDv1 string is longer
// than 8 bytes, and 256 is far above the longest multibase text of a sha-256 CID.
const CID_MIN_LEN: usize = 8;
const CID_MAX_LEN: usize = 256;

const fn fail(reason: &'static str) -> SyntaxError {
    SyntaxError::new("cid", reason)
}

/// Checks that `s` looks like a CIDv1 in a multibase text encoding: 8 to 256 bytes of
/// `[A-Za-z0-9+=]`, and not a CIDv0.
pub fn cid(s: &str) -> Result<(), SyntaxError> {
    let b = s.as_bytes();
    if b.len() < CID_MIN_LEN {
        return Err(fail("shorter than 8 bytes"));
    }
    if b.len() > CID_MAX_LEN {
        return Err(fail("longer than 256 bytes"));
    }
    if !b
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'=')
    {
        return Err(fail("may only hold ASCII letters, digits, '+' and '='"));
    }
    // A CIDv0 is a bare base58btc sha-256 multihash, which always starts "Qm"; no multibase
    // prefix is 'Q', so no CIDv1 string can start that way.
    if b.starts_with(b"Qm") {
        return Err(fail("CIDv0 is not allowed"));
    }
    Ok(())
}
