//! A strict reader for the CAR v1 slices in `blocks`: header (version 1, roots), then blocks of
//! `varint(len) CID data`. Blocks borrow from the frame; every block's bytes are checked against
//! its CID (sha-256) as it is parsed, so a block we index can never differ from what was signed,
//! and a damaged block we do not index (an MST node) is still noticed.
//!
//! Why our own reader: it borrows instead of copying, enforces atproto's CID profile (v1,
//! dag-cbor or raw, sha-256), bounds every length by the bytes actually left, and returns typed
//! errors the tests can match on. `rs-car-sync` reads from `io::Read` into owned `Vec`s and knows
//! nothing of those limits (see README, "Dependencies").

use cid::Cid;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::cbor;
use super::cid::{read_cid, CidError};
use super::limits::{MAX_CAR_BLOCKS, MAX_CAR_HEADER_BYTES, MAX_CAR_ROOTS};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CarError {
    #[error("truncated at byte {0}")]
    Truncated(usize),
    #[error("bad varint at byte {0}")]
    Varint(usize),
    #[error("header of {0} bytes is over the limit")]
    HeaderTooLarge(u64),
    #[error("header: {0}")]
    Header(String),
    #[error("version {0}, only CAR v1 is read")]
    Version(u64),
    #[error("{0} roots, expected 1 to {MAX_CAR_ROOTS}")]
    Roots(usize),
    #[error("more than {MAX_CAR_BLOCKS} blocks")]
    TooManyBlocks,
    /// Over the bound given to [`CarSlice::parse_with_limit`] (a repo export's, not a frame's).
    #[error("more than {0} blocks")]
    OverBlockLimit(usize),
    #[error("block at byte {at}: {reason}")]
    BadCid { at: usize, reason: CidError },
    #[error("block {cid} does not match its CID")]
    HashMismatch { cid: String },
    #[error("block {cid} is not in the CAR slice")]
    Missing { cid: String },
    #[error("block at byte {at} claims {len} bytes, over the {max}-byte limit for one block")]
    BlockTooLarge { at: u64, len: u64, max: u64 },
    #[error("reading the spilled CAR: {0}")]
    Io(String),
}

#[derive(Debug, Clone, Copy)]
pub struct Block<'a> {
    pub cid: Cid,
    pub data: &'a [u8],
    /// The data hashes to the CID.
    pub valid: bool,
}

/// A parsed CAR slice. Parsing checks structure, every CID's form and every block's hash; a
/// block that does not match is kept (marked) so the ops that need it can say why they fail.
#[derive(Debug)]
pub struct CarSlice<'a> {
    pub roots: Vec<Cid>,
    pub blocks: Vec<Block<'a>>,
}

#[derive(Deserialize)]
struct Header {
    version: u64,
    roots: Vec<Cid>,
}

impl<'a> CarSlice<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<CarSlice<'a>, CarError> {
        CarSlice::parse_with_limit(bytes, MAX_CAR_BLOCKS)
    }

    /// [`CarSlice::parse`] with another bound on the number of blocks, for CARs that are not
    /// frame slices (whole repository exports).
    pub fn parse_with_limit(bytes: &'a [u8], max_blocks: usize) -> Result<CarSlice<'a>, CarError> {
        let mut pos = 0;
        let header_len = varint(bytes, &mut pos)?;
        if header_len > MAX_CAR_HEADER_BYTES as u64 {
            return Err(CarError::HeaderTooLarge(header_len));
        }
        let header_bytes = take(bytes, &mut pos, header_len)?;
        let roots = header_roots(header_bytes)?;
        let mut blocks = Vec::new();
        while pos < bytes.len() {
            if blocks.len() >= max_blocks {
                return Err(if max_blocks == MAX_CAR_BLOCKS {
                    CarError::TooManyBlocks
                } else {
                    CarError::OverBlockLimit(max_blocks)
                });
            }
            let at = pos;
            let len = varint(bytes, &mut pos)?;
            let section = take(bytes, &mut pos, len)?;
            let (cid, cid_len) =
                read_cid(section).map_err(|reason| CarError::BadCid { at, reason })?;
            let data = &section[cid_len..];
            blocks.push(Block {
                cid,
                data,
                valid: hashes_to(&cid, data),
            });
        }
        Ok(CarSlice { roots, blocks })
    }

    /// The bytes of the block with this CID, checked against it.
    pub fn get(&self, cid: &Cid) -> Result<&'a [u8], CarError> {
        let block =
            self.blocks
                .iter()
                .find(|b| &b.cid == cid)
                .ok_or_else(|| CarError::Missing {
                    cid: cid.to_string(),
                })?;
        if !block.valid {
            return Err(CarError::HashMismatch {
                cid: block.cid.to_string(),
            });
        }
        Ok(block.data)
    }

    /// The first block that does not match its CID, as an error.
    pub fn verify_all(&self) -> Result<(), CarError> {
        match self.blocks.iter().find(|b| !b.valid) {
            Some(b) => Err(CarError::HashMismatch {
                cid: b.cid.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Blocks that do not match their CIDs.
    pub fn bad_blocks(&self) -> impl Iterator<Item = &Block<'a>> {
        self.blocks.iter().filter(|b| !b.valid)
    }
}

/// The roots of a CAR header's bytes, checked (canonical, version 1, 1 to 16 roots).
pub(crate) fn header_roots(header_bytes: &[u8]) -> Result<Vec<Cid>, CarError> {
    cbor::validate_exact(header_bytes).map_err(|e| CarError::Header(e.to_string()))?;
    let header: Header = serde_ipld_dagcbor::from_slice(header_bytes)
        .map_err(|e| CarError::Header(e.to_string()))?;
    if header.version != 1 {
        return Err(CarError::Version(header.version));
    }
    if header.roots.is_empty() || header.roots.len() > MAX_CAR_ROOTS {
        return Err(CarError::Roots(header.roots.len()));
    }
    Ok(header.roots)
}

pub(crate) fn hashes_to(cid: &Cid, data: &[u8]) -> bool {
    cid.hash().digest() == Sha256::digest(data).as_slice()
}

fn varint(bytes: &[u8], pos: &mut usize) -> Result<u64, CarError> {
    let start = *pos;
    read_varint(start, || {
        let b = *bytes.get(*pos).ok_or(CarError::Truncated(*pos))?;
        *pos += 1;
        Ok(b)
    })
}

/// An unsigned varint starting at byte `start`, its bytes from `next`: minimal, at most 9
/// bytes (the slice reader and the file reader read them the same way).
pub(crate) fn read_varint(
    start: usize,
    mut next: impl FnMut() -> Result<u8, CarError>,
) -> Result<u64, CarError> {
    let mut value: u64 = 0;
    for i in 0..9 {
        let b = next()?;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // Unsigned-varint forbids padding: a last byte of zero after the first is non-minimal.
            if b == 0 && i > 0 {
                return Err(CarError::Varint(start));
            }
            return Ok(value);
        }
    }
    Err(CarError::Varint(start))
}

fn take<'a>(bytes: &'a [u8], pos: &mut usize, len: u64) -> Result<&'a [u8], CarError> {
    let left = (bytes.len() - *pos) as u64;
    if len > left {
        return Err(CarError::Truncated(*pos));
    }
    let start = *pos;
    *pos += len as usize;
    Ok(&bytes[start..*pos])
}
