//! Capture files (`shared/docs/capture-format.md`): `[u32 LE length][message]...`, plain or zstd
//! (by the `.zst` name). Reading never trusts a length: the buffer grows only as bytes arrive.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Instant;

use crossbeam_channel::Sender;
use thiserror::Error;

use super::{forward, RawFrame, SourceMsg};

/// A record longer than this is not a firehose message; the file is damaged.
pub const MAX_RECORD_BYTES: u32 = 64 << 20;

#[derive(Debug, Error)]
pub enum CaptureError {
    #[error("cannot open capture {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("capture truncated at byte {offset}: record of {wanted} bytes, {got} left")]
    Truncated { offset: u64, wanted: u64, got: u64 },
    #[error("capture damaged at byte {offset}: record length {len} is over the {MAX_RECORD_BYTES} byte limit")]
    TooLong { offset: u64, len: u32 },
    #[error("reading capture at byte {offset}: {source}")]
    Read { offset: u64, source: io::Error },
}

/// Reads the records of a capture one by one, into a buffer it reuses.
pub struct CaptureReader {
    inner: Box<dyn Read + Send>,
    offset: u64,
    buf: Vec<u8>,
}

impl CaptureReader {
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        let open_err = |source| CaptureError::Open {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(open_err)?;
        let inner: Box<dyn Read + Send> = if path.extension().is_some_and(|e| e == "zst") {
            Box::new(zstd::Decoder::new(file).map_err(open_err)?)
        } else {
            Box::new(BufReader::with_capacity(1 << 20, file))
        };
        Ok(CaptureReader::new(inner))
    }

    pub fn new(inner: Box<dyn Read + Send>) -> CaptureReader {
        CaptureReader {
            inner,
            offset: 0,
            buf: Vec::new(),
        }
    }

    /// Byte offset (in the uncompressed stream) of the next record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record, `None` at a clean end of file.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>, CaptureError> {
        let offset = self.offset;
        let mut len_bytes = [0u8; 4];
        let got = read_full(&mut self.inner, &mut len_bytes)
            .map_err(|source| CaptureError::Read { offset, source })?;
        if got == 0 {
            return Ok(None);
        }
        if got < 4 {
            return Err(CaptureError::Truncated {
                offset,
                wanted: 4,
                got: got as u64,
            });
        }
        let len = u32::from_le_bytes(len_bytes);
        if len > MAX_RECORD_BYTES {
            return Err(CaptureError::TooLong { offset, len });
        }
        self.buf.clear();
        let got = (&mut self.inner)
            .take(u64::from(len))
            .read_to_end(&mut self.buf)
            .map_err(|source| CaptureError::Read { offset, source })?;
        if got < len as usize {
            return Err(CaptureError::Truncated {
                offset,
                wanted: u64::from(len),
                got: got as u64,
            });
        }
        self.offset += 4 + u64::from(len);
        Ok(Some(&self.buf))
    }
}

/// Like `read_exact`, but says how much it got when the input ends first.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads a capture file to the end (or to damage, or to `stop`) and sends its messages on, then
/// how it ended.
pub fn run_file(path: &Path, out: &Sender<SourceMsg>, stop: &AtomicBool) {
    let end = (|| {
        let mut reader = CaptureReader::open(path)?;
        loop {
            if stop.load(Relaxed) {
                return Ok(());
            }
            match reader.next_record()? {
                Some(bytes) => {
                    let frame = RawFrame {
                        bytes: bytes.to_vec(),
                        received: Instant::now(),
                    };
                    if !forward(out, SourceMsg::Frame(frame), stop) {
                        return Ok(());
                    }
                }
                None => return Ok(()),
            }
        }
    })();
    let _ = out.send(SourceMsg::End(end));
}

/// Writes a capture, compressing it when the name ends in `.zst`.
pub struct CaptureWriter {
    inner: Box<dyn Write + Send>,
}

impl CaptureWriter {
    pub fn create(path: &Path) -> io::Result<CaptureWriter> {
        let file = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let inner: Box<dyn Write + Send> = if path.extension().is_some_and(|e| e == "zst") {
            Box::new(zstd::Encoder::new(file, 3)?.auto_finish())
        } else {
            Box::new(file)
        };
        Ok(CaptureWriter { inner })
    }

    pub fn write_record(&mut self, message: &[u8]) -> io::Result<()> {
        let len = u32::try_from(message.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message over 4 GiB"))?;
        self.inner.write_all(&len.to_le_bytes())?;
        self.inner.write_all(message)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
