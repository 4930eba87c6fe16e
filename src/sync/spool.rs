//! A fetched body kept where it fits: in memory up to a threshold, past it in an unlinked
//! temporary file (in `TMPDIR`; gone with the process, even after a kill -9), so an export of
//! any size costs the fetch thread a bounded amount of memory.

use std::fs::File;
use std::io::{self, BufWriter, Seek, Write};

/// Memory a body may take before it goes to disk: small repos (most of the network) never
/// touch the disk, and a fetch thread's worst case stays a few MB.
pub const DEFAULT_MEMORY: usize = 8 << 20;

/// A body as it arrives.
pub struct Spool {
    threshold: usize,
    memory: Vec<u8>,
    file: Option<BufWriter<File>>,
    len: u64,
}

/// A body once complete.
#[derive(Debug)]
pub enum Spooled {
    Memory(Vec<u8>),
    /// The whole body, from the file's start.
    File {
        file: File,
        len: u64,
    },
}

impl Spooled {
    pub fn len(&self) -> u64 {
        match self {
            Spooled::Memory(v) => v.len() as u64,
            Spooled::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Spool {
    pub fn new(threshold: usize) -> Spool {
        Spool {
            threshold,
            memory: Vec::new(),
            file: None,
            len: 0,
        }
    }

    pub fn finish(self) -> io::Result<Spooled> {
        match self.file {
            None => Ok(Spooled::Memory(self.memory)),
            Some(w) => {
                let mut file = w.into_inner().map_err(|e| e.into_error())?;
                file.rewind()?;
                Ok(Spooled::File {
                    file,
                    len: self.len,
                })
            }
        }
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.memory.len() + buf.len() > self.threshold {
            let mut w = BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
            w.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(w);
        }
        match &mut self.file {
            Some(w) => w.write_all(buf)?,
            None => self.memory.extend_from_slice(buf),
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}
