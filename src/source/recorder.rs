//! Recording a relay to a capture file (`skyindex capture`) (`shared/docs/capture-format.md`), every
//! binary message byte for byte, error frames included, until `--max-events`, `--duration`, a
//! signal, or the relay closing. One connection, no reconnect: a capture is meant to be an exact
//! recording of one stream, and a reconnect would splice two.
//!
//! A relay that closes cleanly ends the capture successfully; a connection that breaks ends it
//! with an error (exit 1). Either way the file holds everything received up to then.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use log::{info, warn};
use thiserror::Error;
use tungstenite::{Bytes, Message};
use url::Url;

use super::capture::CaptureWriter;
use super::websocket::{self, ConnectError};
use crate::decode::{decode_frame, seq_of};

/// What to record, and when to stop.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The relay's subscribeRepos endpoint.
    pub endpoint: Url,
    pub out: PathBuf,
    /// Start after this seq (`None` = live).
    pub cursor: Option<i64>,
    pub max_frames: Option<u64>,
    pub duration: Option<Duration>,
}

#[derive(Debug, Error)]
pub enum RecordError {
    #[error("creating {}", .path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("connecting to the relay")]
    Connect(#[source] ConnectError),
    #[error("connection to the relay lost")]
    Lost(#[source] tungstenite::Error),
}

const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// What we have written so far, for the progress and final log lines.
struct Tally {
    frames: u64,
    bytes: u64,
    last: Option<Bytes>,
}

impl Tally {
    /// The seq of the last frame written, decoded only when asked for (every 10 s at most).
    fn last_seq(&self) -> String {
        let seq = self.last.as_deref().and_then(|b| seq_of(&decode_frame(b)));
        seq.map_or_else(|| "none".to_owned(), |s| s.to_string())
    }
}

/// Records until the limits, a signal, or the relay closing (`Ok`), or until the connection
/// breaks (`Err`); either way the file holds everything received.
pub fn record(args: &Recording, stop: &AtomicBool) -> Result<(), RecordError> {
    let endpoint = &args.endpoint;
    let url = websocket::with_cursor(endpoint, args.cursor);
    let out = args.out.display();
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| RecordError::Write { path, source }
    };
    let mut writer = CaptureWriter::create(&args.out).map_err(|source| RecordError::Create {
        path: args.out.clone(),
        source,
    })?;
    info!(
        "capture: connecting to {endpoint} cursor={}",
        args.cursor
            .map_or_else(|| "live".to_owned(), |c| c.to_string())
    );
    let mut ws = websocket::connect(&url).map_err(RecordError::Connect)?;
    info!("capture: connected, writing to {out}");
    let started = Instant::now();
    let deadline = args.duration.map(|d| started + d);
    let mut next_progress = started + PROGRESS_EVERY;
    let mut tally = Tally {
        frames: 0,
        bytes: 0,
        last: None,
    };
    let end: Result<String, RecordError> = loop {
        if stop.load(Relaxed) {
            break Ok("stopped by signal".into());
        }
        if args.max_frames.is_some_and(|max| tally.frames >= max) {
            break Ok("--max-events reached".into());
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break Ok("--duration reached".into());
        }
        if Instant::now() >= next_progress {
            next_progress += PROGRESS_EVERY;
            let secs = started.elapsed().as_secs_f64();
            info!(
                "capture: frames={} bytes={} frames_per_s={:.0} last_seq={}",
                tally.frames,
                tally.bytes,
                tally.frames as f64 / secs,
                tally.last_seq()
            );
        }
        match ws.read() {
            Ok(Message::Binary(bytes)) => {
                if let Err(e) = writer.write_record(&bytes) {
                    break Err(write_err(&args.out)(e));
                }
                tally.frames += 1;
                tally.bytes += bytes.len() as u64;
                tally.last = Some(bytes);
            }
            Ok(Message::Close(frame)) => {
                let why = frame.map(|f| format!(" ({f})")).unwrap_or_default();
                break Ok(format!("relay closed the connection{why}"));
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(tungstenite::Error::ConnectionClosed) => {
                break Ok("relay closed the connection".into())
            }
            Err(e) => break Err(RecordError::Lost(e)),
        }
    };
    // Best effort: the relay may already be gone, and the file is what matters.
    let _ = ws.close(None);
    let _ = ws.flush();
    let flushed = writer.flush().map_err(write_err(&args.out));
    // Dropping the writer finishes a .zst stream.
    drop(writer);
    let summary = format!(
        "{} frames ({} bytes) written to {out} in {:.1} s, last seq {}",
        tally.frames,
        tally.bytes,
        started.elapsed().as_secs_f64(),
        tally.last_seq()
    );
    match end.and_then(|why| flushed.map(|()| why)) {
        Ok(why) => {
            info!("capture: {why}; {summary}");
            Ok(())
        }
        Err(e) => {
            warn!("capture: {summary}");
            Err(e)
        }
    }
}
