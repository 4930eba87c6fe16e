//! Why a key string or a signature was refused. Each variant is one reason, so callers can
//! count and log them by [`SignatureError::reason`] without parsing messages.

use thiserror::Error;

/// A public key string or byte form that is not one we accept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("not a did:key (must start with \"did:key:\")")]
    NotDidKey,
    #[error("multibase must be base58btc (start with 'z')")]
    NotBase58btc,
    #[error("multibase string of {0} characters is over the limit")]
    TooLong(usize),
    #[error("not valid base58btc")]
    Base58,
    #[error("multicodec prefix is not a valid varint")]
    Varint,
    #[error("multicodec 0x{0:x} is not a secp256k1 or P-256 public key")]
    UnsupportedCodec(u64),
    #[error("key of {got} bytes, expected 33 (compressed) or 65 (uncompressed)")]
    Length { got: usize },
    #[error("Multikey keys must be compressed points")]
    NotCompressed,
    #[error("not a point on the {0} curve")]
    InvalidPoint(&'static str),
    #[error("verification method type {0:?} is not Multikey or a known legacy suite")]
    UnknownSuite(String),
}

/// A signature that does not verify, or could never verify, for the key and message given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// Not 64 bytes of r||s (DER-encoded signatures, 70-72 bytes, land here).
    #[error("signature of {got} bytes, expected 64 (compact r||s)")]
    Length { got: usize },
    /// r or s is zero or not below the curve order: no key could have made it.
    #[error("signature r or s is out of range")]
    OutOfRange,
    /// s is in the upper half of the order: mathematically valid, but atproto requires the
    /// low-S form so that each signature has exactly one encoding.
    #[error("signature is not in low-S form")]
    HighS,
    /// Well formed, and not made by this key over this message.
    #[error("signature does not match the key and message")]
    Mismatch,
}

impl SignatureError {
    /// A stable code for counters and log lines.
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::Length { .. } => "signature_length",
            SignatureError::OutOfRange => "signature_out_of_range",
            SignatureError::HighS => "signature_high_s",
            SignatureError::Mismatch => "signature_mismatch",
        }
    }
}
