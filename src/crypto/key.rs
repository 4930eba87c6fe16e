//! Public keys of the two atproto curves, parsed once from any of the forms a DID document or
//! a `did:key` carries, and rendered back to the canonical `did:key` (compressed point,
//! multicodec prefix, base58btc).
//!
//! Each curve keeps the form its verifier wants: a libsecp256k1 key for K-256; for P-256 the
//! uncompressed point, checked on the curve here, because `ring` reads only uncompressed
//! points and would otherwise redo nothing but a cheap check on every signature.

use std::fmt;

use p256::elliptic_curve::sec1::ToEncodedPoint;

use super::error::KeyError;
use super::multikey::{
    codec_prefix, decode_base58btc, encode_base58btc, split_codec, CODEC_P256_PUB,
    CODEC_SECP256K1_PUB,
};

/// The curves atproto allows for signing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// secp256k1, JWT `ES256K`.
    K256,
    /// NIST P-256 (secp256r1), JWT `ES256`.
    P256,
}

impl Curve {
    /// The JWT algorithm name, as the interop fixtures name curves.
    pub fn jwt_alg(self) -> &'static str {
        match self {
            Curve::K256 => "ES256K",
            Curve::P256 => "ES256",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Curve::K256 => "secp256k1",
            Curve::P256 => "P-256",
        }
    }

    fn codec(self) -> u64 {
        match self {
            Curve::K256 => CODEC_SECP256K1_PUB,
            Curve::P256 => CODEC_P256_PUB,
        }
    }
}

/// A parsed public key: on its curve, ready to verify.
#[derive(Clone)]
pub struct PublicKey(pub(super) Inner);

#[derive(Clone)]
pub(super) enum Inner {
    K256(secp256k1::PublicKey),
    /// SEC1 uncompressed: 0x04 || x || y.
    P256([u8; 65]),
}

impl PublicKey {
    /// Parses `did:key:z…` (a Multikey value after the prefix).
    pub fn from_did_key(did: &str) -> Result<PublicKey, KeyError> {
        let multibase = did.strip_prefix("did:key:").ok_or(KeyError::NotDidKey)?;
        PublicKey::from_multikey(multibase)
    }

    /// Parses a Multikey `publicKeyMultibase`: base58btc of a multicodec prefix
    /// (`secp256k1-pub` or `p256-pub`) and a compressed point.
    pub fn from_multikey(multibase: &str) -> Result<PublicKey, KeyError> {
        let decoded = decode_base58btc(multibase)?;
        let (codec, point) = split_codec(decoded.bytes())?;
        let curve = match codec {
            CODEC_SECP256K1_PUB => Curve::K256,
            CODEC_P256_PUB => Curve::P256,
            other => return Err(KeyError::UnsupportedCodec(other)),
        };
        // atproto's did:key and Multikey forms are compressed; one key, one string.
        if point.len() != 33 {
            return Err(if point.len() == 65 {
                KeyError::NotCompressed
            } else {
                KeyError::Length { got: point.len() }
            });
        }
        PublicKey::from_sec1(curve, point)
    }

    /// Parses the `publicKeyMultibase` of a legacy DID-document suite
    /// (`EcdsaSecp256k1VerificationKey2019`, `EcdsaSecp256r1VerificationKey2019`): base58btc of
    /// the bare point, compressed or uncompressed, with no multicodec prefix.
    pub fn from_legacy_multibase(curve: Curve, multibase: &str) -> Result<PublicKey, KeyError> {
        let decoded = decode_base58btc(multibase)?;
        PublicKey::from_sec1(curve, decoded.bytes())
    }

    /// Parses a DID document's verification method by its `type`: `Multikey` or one of the
    /// two legacy suites.
    pub fn from_verification_method(
        kind: &str,
        public_key_multibase: &str,
    ) -> Result<PublicKey, KeyError> {
        match kind {
            "Multikey" => PublicKey::from_multikey(public_key_multibase),
            "EcdsaSecp256k1VerificationKey2019" => {
                PublicKey::from_legacy_multibase(Curve::K256, public_key_multibase)
            }
            "EcdsaSecp256r1VerificationKey2019" => {
                PublicKey::from_legacy_multibase(Curve::P256, public_key_multibase)
            }
            other => Err(KeyError::UnknownSuite(other.chars().take(64).collect())),
        }
    }

    /// Parses a SEC1 point: 33 bytes compressed (0x02/0x03) or 65 uncompressed (0x04). Hybrid
    /// forms (0x06/0x07), which libsecp256k1 would take, are refused: nothing in atproto
    /// writes them.
    pub fn from_sec1(curve: Curve, point: &[u8]) -> Result<PublicKey, KeyError> {
        match (point.len(), point.first()) {
            (33, Some(0x02 | 0x03)) | (65, Some(0x04)) => {}
            (33 | 65, _) => return Err(KeyError::InvalidPoint(curve.name())),
            (got, _) => return Err(KeyError::Length { got }),
        }
        match curve {
            Curve::K256 => secp256k1::PublicKey::from_slice(point)
                .map(|k| PublicKey(Inner::K256(k)))
                .map_err(|_| KeyError::InvalidPoint(curve.name())),
            Curve::P256 => {
                let key = p256::PublicKey::from_sec1_bytes(point)
                    .map_err(|_| KeyError::InvalidPoint(curve.name()))?;
                let encoded = key.to_encoded_point(false);
                let mut out = [0u8; 65];
                if encoded.as_bytes().len() != out.len() {
                    return Err(KeyError::InvalidPoint(curve.name()));
                }
                out.copy_from_slice(encoded.as_bytes());
                Ok(PublicKey(Inner::P256(out)))
            }
        }
    }

    pub fn curve(&self) -> Curve {
        match self.0 {
            Inner::K256(_) => Curve::K256,
            Inner::P256(_) => Curve::P256,
        }
    }

    /// The SEC1 compressed point.
    pub fn compressed(&self) -> [u8; 33] {
        match &self.0 {
            Inner::K256(k) => k.serialize(),
            Inner::P256(u) => {
                let mut out = [0u8; 33];
                out[0] = 0x02 | (u[64] & 1);
                out[1..].copy_from_slice(&u[1..33]);
                out
            }
        }
    }

    /// The Multikey `publicKeyMultibase` form (prefix + compressed point, base58btc).
    pub fn to_multikey(&self) -> String {
        let mut bytes = codec_prefix(self.curve().codec());
        bytes.extend_from_slice(&self.compressed());
        encode_base58btc(&bytes)
    }

    /// The canonical `did:key`.
    pub fn to_did_key(&self) -> String {
        format!("did:key:{}", self.to_multikey())
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.curve() == other.curve() && self.compressed() == other.compressed()
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_did_key())
    }
}
