//! DID syntax as atproto restricts it (<https://atproto.com/specs/did>): `did:`, a method of
//! lowercase letters, `:`, and an identifier of `[A-Za-z0-9._:%-]` not ending in `:` or `%`.

use super::SyntaxError;

/// The spec's initial hard limit on a DID, in bytes.
pub const DID_MAX_LEN: usize = 2048;

const fn fail(reason: &'static str) -> SyntaxError {
    SyntaxError::new("did", reason)
}

/// Checks that `s` is a DID as atproto accepts it. Method names are not restricted to the
/// "blessed" `plc` and `web`: that is policy for the caller, not syntax.
pub fn did(s: &str) -> Result<(), SyntaxError> {
    let b = s.as_bytes();
    if b.len() > DID_MAX_LEN {
        return Err(fail("longer than 2048 bytes"));
    }
    let Some(rest) = b.strip_prefix(b"did:") else {
        return Err(fail("must start with lowercase \"did:\""));
    };
    let Some(colon) = rest.iter().position(|&c| c == b':') else {
        return Err(fail("missing ':' after the method"));
    };
    let (method, id) = (&rest[..colon], &rest[colon + 1..]);
    if method.is_empty() || !method.iter().all(u8::is_ascii_lowercase) {
        return Err(fail("method must be lowercase letters"));
    }
    if !id.iter().all(|&c| is_id_char(c)) {
        return Err(fail(
            "identifier may only hold ASCII letters, digits and ._:%-",
        ));
    }
    // The spec does not ask implementations to check percent-encoding beyond this: a trailing
    // '%' can never start a valid escape, and a trailing ':' would leave an empty segment.
    match id.last() {
        None => Err(fail("empty identifier")),
        Some(b':' | b'%') => Err(fail("must not end in ':' or '%'")),
        Some(_) => Ok(()),
    }
}

fn is_id_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'%' | b'-')
}
