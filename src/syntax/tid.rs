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

const ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// The integer of a TID below 2^63 (first character `2`–`7`, `a` or `b`: every TID a clock
/// makes), which sorts as its text does; `None` for anything else. Compact record keys are
/// these integers (the migration's SQL `tid_int` is the same function).
pub fn tid_int(s: &str) -> Option<i64> {
    tid(s).ok()?;
    if !matches!(s.as_bytes()[0], b'2'..=b'7' | b'a' | b'b') {
        return None;
    }
    let mut v: i64 = 0;
    for &c in s.as_bytes() {
        let d = ALPHABET.iter().position(|&a| a == c)? as i64;
        v = v.checked_mul(32)?.checked_add(d)?;
    }
    Some(v)
}

/// The TID text of a compact record key (any non-negative integer; SQL `tid_text`).
pub fn tid_text(v: i64) -> String {
    (0..TID_LEN)
        .rev()
        .map(|i| ALPHABET[((v >> (5 * i)) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod compact_tests {
    use super::*;

    #[test]
    fn compact_keys_round_trip_and_sort_as_text() {
        let tids = [
            "2222222222222",
            "3kabcdefghijk",
            "3lzzzzzzzzzzz",
            "bzzzzzzzzzzzz",
        ];
        let ints: Vec<i64> = tids.iter().map(|t| tid_int(t).expect("tid")).collect();
        for (t, v) in tids.iter().zip(&ints) {
            assert_eq!(&tid_text(*v), t);
        }
        assert!(ints.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(tid_int("bzzzzzzzzzzzz"), Some(i64::MAX));
        assert_eq!(tid_int("2222222222222"), Some(0));
    }

    #[test]
    fn only_tids_below_two_to_the_63_are_compact() {
        for not in [
            "czzzzzzzzzzzz",
            "j222222222222",
            "self",
            "3kabcdefghij",
            "3KABCDEFGHIJK",
            "",
        ] {
            assert_eq!(tid_int(not), None, "{not}");
        }
    }
}
