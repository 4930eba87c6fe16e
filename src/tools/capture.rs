//! `skyindex capture`: record a relay to a capture file (`shared/docs/capture-format.md`), every
//! binary message byte for byte, error frames included, until `--max-events`, `--duration`, a
//! signal, or the relay closing. One connection, no reconnect: a capture is meant to be an exact
//! recording of one stream, and a reconnect would splice two.
//!
//! A relay that closes cleanly ends the capture successfully; a connection that breaks ends it
//! with an error (exit 1). Either way the file holds everything received up to then.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use log::{info, warn};
use tungstenite::{Bytes, Message};

use crate::cli::CaptureArgs;
use crate::config::parse_duration;
use crate::decode::{decode_frame, Frame};
use crate::source::capture::CaptureWriter;
use crate::source::websocket;

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
        let seq = match self.last.as_deref().map(decode_frame) {
            Some(Ok(Frame::Event(e))) => e.seq(),
            Some(Ok(Frame::Skipped(s))) => s.seq,
            Some(Err(e)) => e.seq,
            Some(Ok(Frame::Error(_))) | None => None,
        };
        seq.map_or_else(|| "none".to_owned(), |s| s.to_string())
    }
}

pub fn run(args: &CaptureArgs, stop: &AtomicBool) -> Result<(), String> {
    let duration = args
        .duration
        .as_deref()
        .map(|d| parse_duration("--duration", d))
        .transpose()?;
    let endpoint = websocket::endpoint(&args.relay)?;
    let url = websocket::with_cursor(&endpoint, args.cursor);
    let out = args.out.display();
    let mut writer =
        CaptureWriter::create(&args.out).map_err(|e| format!("creating {out}: {e}"))?;
    info!(
        "capture: connecting to {endpoint} cursor={}",
        args.cursor
            .map_or_else(|| "live".to_owned(), |c| c.to_string())
    );
    let mut ws = websocket::connect(&url)?;
    info!("capture: connected, writing to {out}");
    let started = Instant::now();
    let deadline = duration.map(|d| started + d);
    let mut next_progress = started + PROGRESS_EVERY;
    let mut tally = Tally {
        frames: 0,
        bytes: 0,
        last: None,
    };
    let end: Result<String, String> = loop {
        if stop.load(Relaxed) {
            break Ok("stopped by signal".into());
        }
        if args.max_events.is_some_and(|max| tally.frames >= max) {
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
                    break Err(format!("writing {out}: {e}"));
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
            Err(e) => break Err(format!("connection to the relay lost: {e}")),
        }
    };
    // Best effort: the relay may already be gone, and the file is what matters.
    let _ = ws.close(None);
    let _ = ws.flush();
    let flushed = writer.flush().map_err(|e| format!("writing {out}: {e}"));
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
