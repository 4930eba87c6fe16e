//! Public keys and signatures as atproto uses them (<https://atproto.com/specs/cryptography>):
//! the two "blessed" curves, secp256k1 (`ES256K`) and NIST P-256 (`ES256`), keys as `did:key`
//! and Multikey strings (and the legacy DID-document suites), and verification of 64-byte
//! compact signatures over SHA-256 with low-S required.
//!
//! Pure: strings and bytes in, keys or typed errors out; no I/O, no logging, no global state
//! of ours. Keys are parsed once (point decompression and curve checks cost several µs) and
//! then verify many commits, so [`PublicKey`] holds the parsed form each backend wants.
//!
//! Backends, chosen by measurement (BENCHMARKS.md, "Signatures"): libsecp256k1 (the `secp256k1`
//! crate) for K-256, which is where nearly every atproto signing key lives, ~3× faster than
//! the pure-Rust `k256`; `ring` for P-256 verification (already in the build for rustls, ~4×
//! faster than `p256`), with `p256`'s arithmetic only to parse and decompress P-256 points.

mod error;
mod key;
mod multikey;
mod signature;

pub use error::{KeyError, SignatureError};
pub use key::{Curve, PublicKey};
pub use signature::{verify, SIGNATURE_LEN};
