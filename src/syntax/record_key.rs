//! Record key syntax (<https://atproto.com/specs/record-key>): 1 to 512 bytes of
//! `[A-Za-z0-9._:~-]`, and not `.` or `..` (which would read as path navigation).

use super::SyntaxError;

/// Longest record key, in bytes.
pub const RECORD_KEY_MAX_LEN: usize = 512;

const fn fail(reason: &'static str) -> SyntaxError {
    SyntaxError::new("record key", reason)
}

/// Checks that `s` is a record key of any type (`tid`, `nsid`, `literal:…` or `any`); checking
/// the key type a Lexicon asks for is the caller's job.
pub fn record_key(s: &str) -> Result<(), SyntaxError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(fail("empty"));
    }
    if b.len() > RECORD_KEY_MAX_LEN {
        return Err(fail("longer than 512 bytes"));
    }
    if b == b"." || b == b".." {
        return Err(fail("must not be \".\" or \"..\""));
    }
    if !b
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'~' | b'-'))
    {
        return Err(fail("may only hold ASCII letters, digits and ._:~-"));
    }
    Ok(())
}
