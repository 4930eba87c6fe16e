//! Language tag syntax: well-formed BCP 47 (RFC 5646 §2.1 ABNF), as the atproto Lexicon
//! `language` format and the interop vectors define it. Well-formedness only: whether subtags
//! are registered, or repeated (RFC 5646 §2.2.9, the `language_parse_invalid.txt` vectors), is
//! not checked, and no length limit applies because the RFC sets none.

use super::SyntaxError;

const fn fail(reason: &'static str) -> SyntaxError {
    SyntaxError::new("language", reason)
}

/// Grandfathered tags that do not fit the `langtag` production (RFC 5646 "irregular"). The
/// "regular" grandfathered tags (`zh-hakka`, `art-lojban`, …) already match `langtag`, so they
/// need no list.
const IRREGULAR: [&[u8]; 17] = [
    b"en-GB-oed",
    b"i-ami",
    b"i-bnn",
    b"i-default",
    b"i-enochian",
    b"i-hak",
    b"i-klingon",
    b"i-lux",
    b"i-mingo",
    b"i-navajo",
    b"i-pwn",
    b"i-tao",
    b"i-tay",
    b"i-tsu",
    b"sgn-BE-FR",
    b"sgn-BE-NL",
    b"sgn-CH-DE",
];

/// Checks that `s` is a well-formed BCP 47 language tag.
///
/// BCP 47 is case-insensitive throughout, so `JA`, `X-fr-CH` and `de-X-foo` are accepted. Where
/// the two interop copies disagree this follows the newer `atproto/interop-test-files`: `jaja`
/// (a 4-letter primary subtag, allowed by the ABNF) and `JA` are well-formed there, moved to
/// `language_parse_invalid.txt`, while the older `atproto-interop-tests` listed them as syntax
/// errors; and `de-419-DE` (a second region) is a syntax error there, where the older copy had
/// that line commented out.
pub fn language(s: &str) -> Result<(), SyntaxError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(fail("empty"));
    }
    if IRREGULAR.iter().any(|t| t.eq_ignore_ascii_case(b)) {
        return Ok(());
    }

    let mut subtags = b.split(|&c| c == b'-');
    // `split` always yields at least one item.
    let first = subtags.next().unwrap_or_default();
    if first.eq_ignore_ascii_case(b"x") {
        return private_use(subtags);
    }
    if !(2..=8).contains(&first.len()) || !first.iter().all(u8::is_ascii_alphabetic) {
        return Err(fail("primary language subtag must be 2-8 letters"));
    }

    // Each optional part of `langtag` takes subtags of a shape none of the later parts can
    // start with, so a greedy left-to-right pass decides the grammar without backtracking.
    let mut next = subtags.next();
    if first.len() <= 3 {
        // Extended language subtags only follow a 2-3 letter primary subtag, at most three.
        for _ in 0..3 {
            match next {
                Some(t) if t.len() == 3 && all_alpha(t) => next = subtags.next(),
                _ => break,
            }
        }
    }
    if next.is_some_and(|t| t.len() == 4 && all_alpha(t)) {
        next = subtags.next(); // script
    }
    if next.is_some_and(|t| (t.len() == 2 && all_alpha(t)) || (t.len() == 3 && all_digit(t))) {
        next = subtags.next(); // region
    }
    while next.is_some_and(is_variant) {
        next = subtags.next();
    }
    while next.is_some_and(is_singleton) {
        next = subtags.next();
        if !next.is_some_and(|t| (2..=8).contains(&t.len()) && all_alnum(t)) {
            return Err(fail("extension needs subtags of 2-8 letters or digits"));
        }
        while next.is_some_and(|t| (2..=8).contains(&t.len()) && all_alnum(t)) {
            next = subtags.next();
        }
    }
    match next {
        None => Ok(()),
        Some(t) if t.eq_ignore_ascii_case(b"x") => private_use(subtags),
        Some(_) => Err(fail("subtag out of place or malformed")),
    }
}

/// The rest of a private-use sequence after its `x`: one or more subtags of 1-8 letters or digits.
fn private_use<'a>(rest: impl Iterator<Item = &'a [u8]>) -> Result<(), SyntaxError> {
    let mut any = false;
    for t in rest {
        if t.is_empty() || t.len() > 8 || !all_alnum(t) {
            return Err(fail("private-use subtags must be 1-8 letters or digits"));
        }
        any = true;
    }
    if any {
        Ok(())
    } else {
        Err(fail("private use needs at least one subtag after 'x'"))
    }
}

fn is_variant(t: &[u8]) -> bool {
    match t.len() {
        5..=8 => all_alnum(t),
        4 => t[0].is_ascii_digit() && all_alnum(t),
        _ => false,
    }
}

/// An extension singleton: one letter or digit other than `x`, which introduces private use.
fn is_singleton(t: &[u8]) -> bool {
    matches!(t, [c] if c.is_ascii_alphanumeric() && !c.eq_ignore_ascii_case(&b'x'))
}

fn all_alpha(t: &[u8]) -> bool {
    t.iter().all(u8::is_ascii_alphabetic)
}

fn all_digit(t: &[u8]) -> bool {
    t.iter().all(u8::is_ascii_digit)
}

fn all_alnum(t: &[u8]) -> bool {
    t.iter().all(u8::is_ascii_alphanumeric)
}
