//! NSID syntax (<https://atproto.com/specs/nsid>): a reversed domain authority of at least two
//! labels, then a name of ASCII letters and digits that does not start with a digit.

use super::handle::{domain_label, LABEL_MAX_LEN};
use super::SyntaxError;

/// Longest NSID, in bytes: a 253-byte authority, the '.', and a 63-byte name.
pub const NSID_MAX_LEN: usize = 317;

const fn fail(reason: &'static str) -> SyntaxError {
    SyntaxError::new("nsid", reason)
}

/// Checks that `s` is an NSID.
///
/// The spec also caps the authority alone at 253 bytes, but the interop vectors (both copies)
/// list `com.middle.middle…middle.foo`, whose authority is 283 bytes, as valid; like the
/// reference implementations, only the overall 317-byte limit is enforced.
pub fn nsid(s: &str) -> Result<(), SyntaxError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(fail("empty"));
    }
    if b.len() > NSID_MAX_LEN {
        return Err(fail("longer than 317 bytes"));
    }
    let Some(dot) = b.iter().rposition(|&c| c == b'.') else {
        return Err(fail("needs at least three segments"));
    };
    let (authority, name) = (&b[..dot], &b[dot + 1..]);

    let mut labels = 0usize;
    for label in authority.split(|&c| c == b'.') {
        domain_label(label).map_err(fail)?;
        labels += 1;
    }
    if labels < 2 {
        return Err(fail("needs at least three segments"));
    }
    // The first segment is the top-level domain, which (as for handles) can't start with a digit.
    if authority.first().is_some_and(u8::is_ascii_digit) {
        return Err(fail("first segment must not start with a digit"));
    }

    match name.first() {
        None => Err(fail("empty name")),
        Some(c) if !c.is_ascii_alphabetic() => Err(fail("name must start with a letter")),
        Some(_) if name.len() > LABEL_MAX_LEN => Err(fail("name longer than 63 bytes")),
        Some(_) if !name.iter().all(u8::is_ascii_alphanumeric) => {
            Err(fail("name may only hold ASCII letters and digits"))
        }
        Some(_) => Ok(()),
    }
}
