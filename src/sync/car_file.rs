//! A CAR v1 in a file, indexed in one sequential pass and read block by block: how a repository
//! export too large for memory is read. Every block's bytes are hashed against its CID during
//! the pass (a damaged block is marked, as [`CarSlice`](super::CarSlice) marks it); the index
//! keeps 16 bytes a block (the CID's first 8 digest bytes, and where the block is), and a
//! lookup reads the block back and compares its whole CID, so an index collision, even a
//! crafted one, can never return another block's bytes.
//!
//! The file is the caller's own (a spool it wrote and nobody else can reach): what was hashed
//! during the pass is what later reads return. It sits here, beside the spool, not in `ipld`:
//! the CAR rules are `ipld`'s (header, varints, CIDs, hashes), the file is ours.

use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;

use std::borrow::Cow;

use cid::Cid;

use crate::ipld::car::{hashes_to, header_roots, read_varint, CarError};
use crate::ipld::cid::read_cid;
use crate::ipld::limits::{MAX_CAR_HEADER_BYTES, MAX_SPOOLED_BLOCK_BYTES, MAX_SPOOLED_CAR_BLOCKS};
use crate::repo::{BlockSource, ExportError, MstError, RepoExport};

/// Offsets fit 40 bits (1 TiB), section lengths 22 (4 MiB), and one bit says "hash matches".
const OFFSET_BITS: u32 = 40;
const LEN_BITS: u32 = 22;

pub struct CarFile {
    file: File,
    pub roots: Vec<Cid>,
    /// (digest prefix, offset · length · valid), sorted by prefix then offset.
    index: Vec<(u64, u64)>,
}

impl std::fmt::Debug for CarFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarFile")
            .field("roots", &self.roots)
            .field("blocks", &self.index.len())
            .finish()
    }
}

fn prefix(cid: &Cid) -> u64 {
    let mut p = [0u8; 8];
    let digest = cid.hash().digest();
    let n = digest.len().min(8);
    p[..n].copy_from_slice(&digest[..n]);
    u64::from_be_bytes(p)
}

fn pack(offset: u64, len: u64, valid: bool) -> u64 {
    offset | (len << OFFSET_BITS) | (u64::from(valid) << (OFFSET_BITS + LEN_BITS))
}

fn unpack(v: u64) -> (u64, usize, bool) {
    let offset = v & ((1 << OFFSET_BITS) - 1);
    let len = (v >> OFFSET_BITS) & ((1 << LEN_BITS) - 1);
    (
        offset,
        len as usize,
        (v >> (OFFSET_BITS + LEN_BITS)) & 1 == 1,
    )
}

fn io(e: std::io::Error) -> CarError {
    CarError::Io(e.to_string())
}

/// A reader that knows where it is and what is left.
struct Cursor<R> {
    inner: R,
    pos: u64,
    len: u64,
}

impl<R: Read> Cursor<R> {
    fn byte(&mut self) -> Result<u8, CarError> {
        let mut b = [0u8; 1];
        if self.pos >= self.len {
            return Err(CarError::Truncated(self.pos as usize));
        }
        self.inner.read_exact(&mut b).map_err(io)?;
        self.pos += 1;
        Ok(b[0])
    }

    fn varint(&mut self) -> Result<u64, CarError> {
        read_varint(self.pos as usize, || self.byte())
    }

    fn take(&mut self, n: u64, buf: &mut Vec<u8>) -> Result<(), CarError> {
        if n > self.len - self.pos {
            return Err(CarError::Truncated(self.pos as usize));
        }
        buf.resize(n as usize, 0);
        self.inner.read_exact(buf).map_err(io)?;
        self.pos += n;
        Ok(())
    }
}

impl CarFile {
    /// Indexes the CAR in `file` (read from its start): header, then every block, hashed.
    pub fn index(file: File, max_blocks: usize) -> Result<CarFile, CarError> {
        let len = file.metadata().map_err(io)?.len();
        if len >= 1 << OFFSET_BITS {
            return Err(CarError::Io(format!(
                "{len} bytes is over the 1 TiB a spool indexes"
            )));
        }
        let mut cur = Cursor {
            inner: BufReader::with_capacity(1 << 20, &file),
            pos: 0,
            len,
        };
        let header_len = cur.varint()?;
        if header_len > MAX_CAR_HEADER_BYTES as u64 {
            return Err(CarError::HeaderTooLarge(header_len));
        }
        let mut buf = Vec::new();
        cur.take(header_len, &mut buf)?;
        let roots = header_roots(&buf)?;
        let mut index = Vec::new();
        while cur.pos < len {
            if index.len() >= max_blocks {
                return Err(CarError::OverBlockLimit(max_blocks));
            }
            let at = cur.pos;
            let section = cur.varint()?;
            if section > MAX_SPOOLED_BLOCK_BYTES {
                return Err(CarError::BlockTooLarge {
                    at,
                    len: section,
                    max: MAX_SPOOLED_BLOCK_BYTES,
                });
            }
            let offset = cur.pos;
            cur.take(section, &mut buf)?;
            let (cid, cid_len) = read_cid(&buf).map_err(|reason| CarError::BadCid {
                at: at as usize,
                reason,
            })?;
            let valid = hashes_to(&cid, &buf[cid_len..]);
            index.push((prefix(&cid), pack(offset, section, valid)));
        }
        // By prefix, then by offset (the packed value's low bits): duplicates stay in file order.
        index.sort_unstable_by_key(|&(p, v)| (p, v & ((1 << OFFSET_BITS) - 1)));
        index.shrink_to_fit();
        Ok(CarFile { file, roots, index })
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The bytes of the block with this CID: `Ok(None)` when absent, an error when the only
    /// blocks with this CID do not hash to it (a CID given twice keeps a copy that matches).
    pub fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, CarError> {
        let p = prefix(cid);
        let start = self.index.partition_point(|&(q, _)| q < p);
        let mut damaged = false;
        for &(q, v) in &self.index[start..] {
            if q != p {
                break;
            }
            let (offset, len, valid) = unpack(v);
            let mut section = vec![0u8; len];
            self.file.read_exact_at(&mut section, offset).map_err(io)?;
            let Ok((found, cid_len)) = read_cid(&section) else {
                continue;
            };
            if found != *cid {
                continue;
            }
            if !valid {
                damaged = true;
                continue;
            }
            section.drain(..cid_len);
            return Ok(Some(section));
        }
        if damaged {
            return Err(CarError::HashMismatch {
                cid: cid.to_string(),
            });
        }
        Ok(None)
    }
}

/// A spilled export: each block read back from its file (and owned).
impl BlockSource for CarFile {
    fn block(&self, cid: &Cid) -> Result<Option<Cow<'_, [u8]>>, MstError> {
        match self.get(cid) {
            Ok(found) => Ok(found.map(Cow::Owned)),
            Err(CarError::HashMismatch { .. }) => Err(MstError::BadBlock(*cid)),
            Err(e) => Err(MstError::Spool(e.to_string())),
        }
    }
}

/// Indexes the export in `file` (from its start) and reads its commit.
pub fn open_export(file: File) -> Result<RepoExport<CarFile>, ExportError> {
    let blocks = CarFile::index(file, MAX_SPOOLED_CAR_BLOCKS)?;
    let roots = blocks.roots.clone();
    RepoExport::over(blocks, &roots)
}
