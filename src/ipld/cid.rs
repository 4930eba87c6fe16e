//! CIDs as atproto allows them: version 1, dag-cbor or raw, sha-256 ("blessed" CIDs). Read from
//! bytes without trusting any length, and checked against that profile.

use cid::Cid;
use thiserror::Error;

pub const CODEC_DAG_CBOR: u64 = 0x71;
pub const CODEC_RAW: u64 = 0x55;
pub const HASH_SHA2_256: u64 = 0x12;

/// Why bytes are not a CID atproto allows.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CidError {
    #[error("bad CID: {0}")]
    Malformed(String),
    #[error("CID is not version 1")]
    Version,
    #[error("CID codec 0x{0:x} is not dag-cbor or raw")]
    Codec(u64),
    #[error("CID hash is not sha2-256")]
    Hash,
}

/// Reads a binary CID and checks it is one atproto allows: v1, dag-cbor or raw, sha-256.
pub fn read_cid(bytes: &[u8]) -> Result<(Cid, usize), CidError> {
    // Nearly every CID is exactly this shape (v1, dag-cbor or raw, sha2-256, 32 bytes); reading
    // it directly skips the general varint reader.
    if let [0x01, codec @ (0x71 | 0x55), 0x12, 0x20, rest @ ..] = bytes {
        if let Some(digest) = rest.get(..32) {
            let hash = cid::multihash::Multihash::wrap(HASH_SHA2_256, digest)
                .map_err(|e| CidError::Malformed(e.to_string()))?;
            return Ok((Cid::new_v1(u64::from(*codec), hash), 36));
        }
    }
    let mut cursor = std::io::Cursor::new(bytes);
    let cid = Cid::read_bytes(&mut cursor).map_err(|e| CidError::Malformed(e.to_string()))?;
    check_cid_profile(&cid)?;
    Ok((cid, cursor.position() as usize))
}

/// atproto's "blessed" CID form; anything else in a repo is an error.
pub fn check_cid_profile(cid: &Cid) -> Result<(), CidError> {
    if cid.version() != cid::Version::V1 {
        return Err(CidError::Version);
    }
    if cid.codec() != CODEC_DAG_CBOR && cid.codec() != CODEC_RAW {
        return Err(CidError::Codec(cid.codec()));
    }
    if cid.hash().code() != HASH_SHA2_256 || cid.hash().size() != 32 {
        return Err(CidError::Hash);
    }
    Ok(())
}
