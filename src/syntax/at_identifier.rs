//! `at-identifier` (<https://atproto.com/specs/lexicon>): the Lexicon format for a field that
//! holds either a DID or a handle, such as an AT-URI's authority or a repo parameter.

use super::{did, handle, SyntaxError};

/// Checks that `s` is a DID (when it starts with `did:`) or else a handle. The error is the one
/// of the branch taken, so it reads `invalid did: …` or `invalid handle: …`.
pub fn at_identifier(s: &str) -> Result<(), SyntaxError> {
    // A handle can never contain ':', so the prefix decides unambiguously which rules apply.
    if s.starts_with("did:") {
        did(s)
    } else {
        handle(s)
    }
}
