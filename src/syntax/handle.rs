//! Handle syntax (<https://atproto.com/specs/handle>): a DNS hostname of at least two labels,
//! with a top-level label that does not start with a digit (so IPv4 addresses are excluded).
//! Reserved TLDs such as `.local` are syntactically valid; refusing them is policy.

use super::SyntaxError;

/// Longest handle, in bytes (the DNS limit on a hostname's text form).
pub const HANDLE_MAX_LEN: usize = 253;

/// Longest single DNS label, shared with NSID domain-authority segments.
pub(super) const LABEL_MAX_LEN: usize = 63;

const fn fail(reason: &'static str) -> SyntaxError {
    SyntaxError::new("handle", reason)
}

/// Checks that `s` is a handle. Case is not checked: handles are case-insensitive and
/// normalising them is the caller's business.
pub fn handle(s: &str) -> Result<(), SyntaxError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(fail("empty"));
    }
    if b.len() > HANDLE_MAX_LEN {
        return Err(fail("longer than 253 bytes"));
    }
    let mut labels = 0usize;
    let mut last: &[u8] = &[];
    for label in b.split(|&c| c == b'.') {
        domain_label(label).map_err(fail)?;
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return Err(fail("needs at least two labels"));
    }
    if last.first().is_some_and(u8::is_ascii_digit) {
        return Err(fail("top-level label must not start with a digit"));
    }
    Ok(())
}

/// One DNS label: 1 to 63 ASCII letters, digits or hyphens, not starting or ending with a hyphen.
/// Returns the broken rule so handles and NSIDs can each report it under their own kind.
pub(super) fn domain_label(label: &[u8]) -> Result<(), &'static str> {
    if label.is_empty() {
        return Err("empty label (leading, trailing or doubled '.')");
    }
    if label.len() > LABEL_MAX_LEN {
        return Err("label longer than 63 bytes");
    }
    if !label
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'-')
    {
        return Err("labels may only hold ASCII letters, digits and '-'");
    }
    if label.first() == Some(&b'-') || label.last() == Some(&b'-') {
        return Err("label must not start or end with '-'");
    }
    Ok(())
}
