//! Where frames come from: a relay's WebSocket, or a capture file. Either way the reader thread
//! sends raw messages downstream in order, through a bounded channel, and decodes nothing but
//! the error frames a relay ends a connection with (which it must act on).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crossbeam_channel::{SendTimeoutError, Sender};
use url::Url;

use crate::decode::ErrorFrame;

pub mod capture;
pub mod recorder;
pub mod websocket;

/// Where to read from: a relay's subscribeRepos endpoint, or a capture file.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    Relay(Url),
    File(PathBuf),
}

impl SourceSpec {
    /// The relay's HTTP origin (`https://host[:port]`, `http://` for a `ws://` relay), where its
    /// XRPC methods (listRepos, getRepo) are asked; `None` for a file.
    pub fn http_origin(&self) -> Option<String> {
        let SourceSpec::Relay(url) = self else {
            return None;
        };
        let scheme = if url.scheme() == "ws" {
            "http"
        } else {
            "https"
        };
        let host = url.host_str()?;
        Some(match url.port() {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        })
    }
}

/// One binary WebSocket message, as received.
#[derive(Debug)]
pub struct RawFrame {
    pub bytes: Vec<u8>,
    pub received: Instant,
}

#[derive(Debug)]
pub enum SourceMsg {
    Frame(RawFrame),
    /// An error frame the relay reader decoded and acted on; `bytes` is its size.
    ErrorFrame {
        error: ErrorFrame,
        bytes: usize,
    },
    /// A capture file ended: cleanly, or at damage (with the error).
    End(Result<(), capture::CaptureError>),
}

/// Where the relay reader resumes from on every (re)connection, and whom it tells when the
/// relay sends it back to the live tip (`FutureCursor`).
pub trait Resume: Sync {
    /// Everything at or below this seq is committed; `None` = nothing yet.
    fn cursor(&self) -> Option<i64>;
    /// The next connection starts at the live tip: forget the cursor.
    fn restart_live(&self);
}

/// How often a blocked send wakes up to look at the stop flag.
const SEND_TICK: Duration = Duration::from_millis(200);

/// Sends downstream, waking up to check for shutdown while the channel is full. False when
/// stopping or when nobody listens any more.
pub(crate) fn forward(out: &Sender<SourceMsg>, mut msg: SourceMsg, stop: &AtomicBool) -> bool {
    loop {
        match out.send_timeout(msg, SEND_TICK) {
            Ok(()) => return true,
            Err(SendTimeoutError::Timeout(m)) => {
                if stop.load(Relaxed) {
                    return false;
                }
                msg = m;
            }
            Err(SendTimeoutError::Disconnected(_)) => return false,
        }
    }
}
