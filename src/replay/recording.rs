//! A capture held in memory for serving: every message as received, with the seq decoding found
//! in it, so each connection can start after its cursor without decoding anything again.

use std::path::Path;

use log::warn;
use rayon::prelude::*;
use tungstenite::Bytes;

use crate::decode::{decode_frame, seq_of};
use crate::source::capture::{CaptureError, CaptureReader};

/// One message of the capture.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Shared with every connection that sends it; cloning does not copy.
    pub bytes: Bytes,
    /// `None` for frames without one (error frames, `#info`, undecodable frames that gave none).
    pub seq: Option<i64>,
}

#[derive(Debug, Default)]
pub struct Recording {
    frames: Vec<Recorded>,
    max_seq: Option<i64>,
}

/// Where a connection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Send from this index on, skipping frames whose seq is at or below the cursor.
    At { index: usize, cursor: Option<i64> },
    /// The cursor is past everything we have.
    FutureCursor,
}

impl Recording {
    /// Reads a capture (plain or `.zst`). A damaged capture is served up to the damage, as the
    /// capture format asks of readers, with a warning.
    pub fn load(path: &Path) -> Result<Recording, CaptureError> {
        let mut reader = CaptureReader::open(path)?;
        let mut messages = Vec::new();
        loop {
            match reader.next_record() {
                Ok(Some(bytes)) => messages.push(bytes.to_vec()),
                Ok(None) => break,
                Err(e) => {
                    warn!(
                        "{}: {e}; serving the {} frames before it",
                        path.display(),
                        messages.len()
                    );
                    break;
                }
            }
        }
        Ok(Recording::from_messages(messages))
    }

    /// Messages in the order they are to be sent, e.g. built by a test.
    pub fn from_messages(messages: Vec<Vec<u8>>) -> Recording {
        // Decoding is the only costly part of loading a large capture, and frames are independent.
        let frames: Vec<Recorded> = messages
            .into_par_iter()
            .map(|m| Recorded {
                seq: seq_of(&decode_frame(&m)),
                bytes: Bytes::from(m),
            })
            .collect();
        let max_seq = frames.iter().filter_map(|f| f.seq).max();
        Recording { frames, max_seq }
    }

    pub fn frames(&self) -> &[Recorded] {
        &self.frames
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn first_seq(&self) -> Option<i64> {
        self.frames.iter().find_map(|f| f.seq)
    }

    pub fn max_seq(&self) -> Option<i64> {
        self.max_seq
    }

    /// Where a consumer with `cursor` (the last seq it has) starts. Frames without a seq that lie
    /// before the first frame it is owed belong to history it already has, so they are not sent.
    pub fn start(&self, cursor: i64) -> Start {
        if cursor > self.max_seq.unwrap_or(0) {
            return Start::FutureCursor;
        }
        let index = self
            .frames
            .iter()
            .position(|f| f.seq.is_some_and(|s| s > cursor))
            .unwrap_or(self.frames.len());
        Start::At {
            index,
            cursor: Some(cursor),
        }
    }

    /// Whether the frame at `index` is owed to a consumer that started with `cursor`.
    pub fn owed(&self, index: usize, cursor: Option<i64>) -> bool {
        match (self.frames.get(index).and_then(|f| f.seq), cursor) {
            (Some(seq), Some(c)) => seq > c,
            _ => true,
        }
    }
}

/// An error frame as relays send it: header `{op: -1}`, body `{error, message}` (DAG-CBOR, keys
/// in canonical order).
pub fn error_frame(error: &str, message: &str) -> Vec<u8> {
    let mut out = vec![0xa1, 0x62, b'o', b'p', 0x20, 0xa2];
    cbor_text(&mut out, "error");
    cbor_text(&mut out, error);
    cbor_text(&mut out, "message");
    cbor_text(&mut out, message);
    out
}

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    const TEXT: u8 = 3 << 5;
    let len = s.len();
    if len < 24 {
        out.push(TEXT | len as u8);
    } else if let Ok(n) = u8::try_from(len) {
        out.extend([TEXT | 24, n]);
    } else if let Ok(n) = u16::try_from(len) {
        out.push(TEXT | 25);
        out.extend(n.to_be_bytes());
    } else {
        // Messages are ours and short; anything longer is cut rather than mis-encoded.
        let n = u32::try_from(len).unwrap_or(u32::MAX);
        out.push(TEXT | 26);
        out.extend(n.to_be_bytes());
        out.extend(&s.as_bytes()[..n as usize]);
        return;
    }
    out.extend(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::error_frame;
    use crate::decode::{decode_frame, ErrorFrame, Frame};

    #[test]
    fn error_frames_decode() {
        let long = "x".repeat(300);
        for message in ["Cursor in the future.", long.as_str()] {
            match decode_frame(&error_frame("FutureCursor", message)) {
                Ok(Frame::Error(ErrorFrame::FutureCursor(Some(m)))) => assert_eq!(m, message),
                other => panic!("not a FutureCursor frame: {other:?}"),
            }
        }
    }
}
