//! A snapshot's records spilled to an unlinked temporary file, for repos too large to hold:
//! written once in path order by the fetch thread (each record already decoded once, so only
//! records that decode are kept), read back by the owning writer a chunk at a time.
//!
//! Each entry is the record's collection, rkey, CID and block bytes, length-prefixed; the
//! writer decodes each chunk's records again (cheaper than keeping a million decoded records,
//! and it keeps the format our own and trivial).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;

use cid::Cid;

use crate::changes::{Chunk, SnapshotRecord, SpillError, SpilledRecords};
use crate::records::Record;

pub struct SpillWriter {
    out: BufWriter<File>,
    count: usize,
}

impl SpillWriter {
    pub fn new() -> io::Result<SpillWriter> {
        Ok(SpillWriter {
            out: BufWriter::with_capacity(1 << 20, tempfile::tempfile()?),
            count: 0,
        })
    }

    /// Appends one record (its collection and rkey checked by the caller, as paths are).
    pub fn push(
        &mut self,
        collection: &str,
        rkey: &str,
        cid: &Cid,
        block: &[u8],
    ) -> io::Result<()> {
        let too_long =
            || io::Error::new(io::ErrorKind::InvalidInput, "record path or block too long");
        let c = u16::try_from(collection.len()).map_err(|_| too_long())?;
        let r = u16::try_from(rkey.len()).map_err(|_| too_long())?;
        let b = u32::try_from(block.len()).map_err(|_| too_long())?;
        let cid = cid.to_bytes();
        self.out.write_all(&c.to_le_bytes())?;
        self.out.write_all(collection.as_bytes())?;
        self.out.write_all(&r.to_le_bytes())?;
        self.out.write_all(rkey.as_bytes())?;
        self.out.write_all(&[cid.len() as u8])?;
        self.out.write_all(&cid)?;
        self.out.write_all(&b.to_le_bytes())?;
        self.out.write_all(block)?;
        self.count += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn finish(self) -> io::Result<SpilledFile> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok(SpilledFile {
            file,
            count: self.count,
        })
    }
}

/// The records of one snapshot, in a file only this process can reach.
#[derive(Debug)]
pub struct SpilledFile {
    file: File,
    count: usize,
}

/// Reads a file from an offset of its own, so readers never share (or move) a file position.
struct At<'f> {
    file: &'f File,
    pos: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

struct Chunks<'f> {
    input: BufReader<At<'f>>,
    left: usize,
    max: usize,
}

impl Chunks<'_> {
    fn bytes(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut v = vec![0u8; n];
        self.input.read_exact(&mut v)?;
        Ok(v)
    }

    fn len<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.input.read_exact(&mut b)?;
        Ok(b)
    }

    fn record(&mut self) -> Result<SnapshotRecord, SpillError> {
        let bad = |e: io::Error| SpillError(e.to_string());
        let text = |v: Vec<u8>| String::from_utf8(v).map_err(|e| SpillError(e.to_string()));
        let c = u16::from_le_bytes(self.len::<2>().map_err(bad)?) as usize;
        let collection = text(self.bytes(c).map_err(bad)?)?;
        let r = u16::from_le_bytes(self.len::<2>().map_err(bad)?) as usize;
        let rkey = text(self.bytes(r).map_err(bad)?)?;
        let [cid_len] = self.len::<1>().map_err(bad)?;
        let cid = Cid::try_from(self.bytes(cid_len as usize).map_err(bad)?.as_slice())
            .map_err(|e| SpillError(e.to_string()))?;
        let b = u32::from_le_bytes(self.len::<4>().map_err(bad)?) as usize;
        let block = self.bytes(b).map_err(bad)?;
        // It decoded when it was spilled; the same bytes decode the same way.
        let record = Record::decode(&collection, &block)
            .map_err(|e| SpillError(format!("{collection}/{rkey}: {e}")))?;
        Ok(SnapshotRecord {
            collection,
            rkey,
            cid,
            record,
        })
    }
}

impl Iterator for Chunks<'_> {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        if self.left == 0 {
            return None;
        }
        let n = self.left.min(self.max);
        let mut chunk = Vec::with_capacity(n);
        for _ in 0..n {
            match self.record() {
                Ok(r) => chunk.push(r),
                Err(e) => {
                    self.left = 0;
                    return Some(Err(e));
                }
            }
        }
        self.left -= n;
        Some(Ok(chunk))
    }
}

impl SpilledRecords for SpilledFile {
    fn len(&self) -> usize {
        self.count
    }

    fn chunks(&self, max: usize) -> Box<dyn Iterator<Item = Chunk> + '_> {
        Box::new(Chunks {
            input: BufReader::with_capacity(
                256 << 10,
                At {
                    file: &self.file,
                    pos: 0,
                },
            ),
            left: self.count,
            max: max.max(1),
        })
    }
}
