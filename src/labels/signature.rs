//! A label's signature: by the labeler's `#atproto_label` key, over the DAG-CBOR of the label
//! without `sig` (<https://atproto.com/specs/label>, "Signature"), K-256 or P-256, 64 bytes,
//! low-S. Pure: the bytes were cut out of the frame by `frame.rs`, the key parsed by
//! `labeler.rs`; this only puts them together, so the rule is in one place.

use super::frame::Unverified;
use crate::crypto::{self, PublicKey, SignatureError};

/// Checks `item`'s signature with `key`.
pub fn verify(key: &PublicKey, item: &Unverified) -> Result<(), SignatureError> {
    crypto::verify(key, &item.unsigned, &item.label.sig)
}
