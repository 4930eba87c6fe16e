//! ECDSA verification as atproto specifies it: SHA-256 of the message, a 64-byte compact
//! `r || s` signature, and low-S required.
//!
//! The range and low-S checks are ours and run first, for both curves, so a refusal says why
//! in the same words whichever backend would have refused it (libsecp256k1 refuses high-S by
//! itself; `ring` accepts it, so for P-256 this check is the one that holds).

use sha2::{Digest, Sha256};

use super::error::SignatureError;
use super::key::{Curve, Inner, PublicKey};

/// Length of a compact signature: r and s, 32 bytes each, big-endian.
pub const SIGNATURE_LEN: usize = 64;

/// secp256k1's group order n, big-endian.
const K256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];
/// P-256's group order n, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];
const K256_HALF_ORDER: [u8; 32] = half(K256_ORDER);
const P256_HALF_ORDER: [u8; 32] = half(P256_ORDER);

/// floor(n / 2), computed rather than typed so it cannot drift from the order.
const fn half(n: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u8;
    let mut i = 0;
    while i < 32 {
        out[i] = (n[i] >> 1) | carry;
        carry = (n[i] & 1) << 7;
        i += 1;
    }
    out
}

/// Verifies `signature` over `message` (hashed here with SHA-256) with `key`.
pub fn verify(key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
    let sig: &[u8; SIGNATURE_LEN] = signature.try_into().map_err(|_| SignatureError::Length {
        got: signature.len(),
    })?;
    let (order, half_order) = match key.curve() {
        Curve::K256 => (&K256_ORDER, &K256_HALF_ORDER),
        Curve::P256 => (&P256_ORDER, &P256_HALF_ORDER),
    };
    let (r, s) = sig.split_at(32);
    // Equal-length big-endian byte strings compare as the numbers they encode.
    let in_range = |x: &[u8]| x.iter().any(|&b| b != 0) && x < order.as_slice();
    if !in_range(r) || !in_range(s) {
        return Err(SignatureError::OutOfRange);
    }
    if s > half_order.as_slice() {
        return Err(SignatureError::HighS);
    }
    match &key.0 {
        Inner::K256(pk) => {
            let digest: [u8; 32] = Sha256::digest(message).into();
            let sig = secp256k1::ecdsa::Signature::from_compact(sig)
                .map_err(|_| SignatureError::OutOfRange)?;
            secp256k1::ecdsa::verify(&sig, secp256k1::Message::from_digest(digest), pk)
                .map_err(|_| SignatureError::Mismatch)
        }
        Inner::P256(point) => ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            &point[..],
        )
        .verify(message, sig)
        .map_err(|_| SignatureError::Mismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_orders() {
        assert_eq!(K256_HALF_ORDER[0], 0x7f);
        assert_eq!(K256_HALF_ORDER[31], 0xa0);
        assert_eq!(P256_HALF_ORDER[..5], [0x7f, 0xff, 0xff, 0xff, 0x80]);
        assert_eq!(P256_HALF_ORDER[31], 0xa8);
    }
}
