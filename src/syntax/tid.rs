//! TID syntax (<https://atproto.com/specs/tid>): 13 characters of base32-sortable
//! (`234567abcdefghijklmnopqrstuvwxyz`) encoding a 64-bit integer whose top bit is zero.

use super::SyntaxError;

/// Length of every TID.
pub const TID_LEN: usize = 13;

const fn fail(reason: &'static str) -> SyntaxError {
    SyntaxError::new("tid", reason)
}

/// Checks that `s` is a TID.
///
/// The first character carries the integer's top 4 bits (13 × 5 = 65 bits, the first of which
/// is padding), so it must decode below 16 to keep the high bit zero: `2`–`7` or `a`–`j`.
/// Letter-led TIDs such as `a222222222222` are therefore valid, as the newer
/// `atproto/interop-test-files` `tid_syntax_valid.txt` lists; the older interop copy simply
/// does not mention them. Uppercase is rejected: the encoding is case-sensitive.
pub fn tid(s: &str) -> Result<(), SyntaxError> {
    let b = s.as_bytes();
    if b.len() != TID_LEN {
        return Err(fail("must be exactly 13 characters"));
    }
    if !b.iter().all(|&c| is_base32_sortable(c)) {
        return Err(fail("may only hold base32-sortable characters (234567a-z)"));
    }
    if !matches!(b[0], b'2'..=b'7' | b'a'..=b'j') {
        return Err(fail(
            "first character must be 2-7 or a-j (top bit must be zero)",
        ));
    }
    Ok(())
}

fn is_base32_sortable(c: u8) -> bool {
    matches!(c, b'2'..=b'7' | b'a'..=b'z')
}
