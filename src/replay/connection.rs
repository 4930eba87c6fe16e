//! One consumer of the replay server: the handshake (`?cursor=`), then the capture from the
//! cursor on, paced and with the configured faults, then silence with the socket open, as a
//! live relay with nothing new to say, until the consumer leaves or the server stops.
//!
//! Sending and reading share one blocking socket: writes time out every tick so a consumer
//! that stops reading cannot keep the thread from seeing `stop`, and reads are polled (pings
//! are answered, a close is noticed) between frames and while idle.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use log::{debug, info};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Bytes, Message, WebSocket};

use super::handshake::handshake;
use super::options::{Shared, WithoutCursor, TICK};
use super::recording::{error_frame, Start};

/// Frames sent between two looks at what the consumer sent us.
const POLL_EVERY: usize = 64;
/// How long we wait for the consumer's half of a close handshake.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Not a frame: `0xff` is a CBOR break code, which no item can start with.
const GARBAGE: &[u8] = b"\xff\x00replay-server-garbage";

/// Why a connection ended.
enum End {
    ClientLeft,
    Stopping,
    /// We closed, for this reason.
    Closed(String),
    Failed(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::ClientLeft => f.write_str("the consumer left"),
            End::Stopping => f.write_str("the server is stopping"),
            End::Closed(reason) => write!(f, "closed by us: {reason}"),
            End::Failed(e) => write!(f, "{e}"),
        }
    }
}

pub(super) fn serve(stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    let (ws, cursor) = match handshake(stream) {
        Ok(accepted) => accepted,
        Err(e) => {
            debug!("replay: handshake with {peer} failed: {e}");
            return;
        }
    };
    shared
        .cursors
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(cursor);
    info!(
        "replay: {peer} connected, cursor={}",
        cursor.map_or_else(|| "none".to_owned(), |c| c.to_string())
    );
    let mut conn = Conn {
        ws,
        shared,
        sent: 0,
    };
    let end = conn.run(cursor);
    info!("replay: {peer} done after {} frames: {end}", conn.sent);
}

struct Conn<'a> {
    ws: WebSocket<TcpStream>,
    shared: &'a Shared,
    /// Capture frames sent on this connection.
    sent: usize,
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn lost(e: tungstenite::Error) -> End {
    match e {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => End::ClientLeft,
        e => End::Failed(e.to_string()),
    }
}

impl Conn<'_> {
    fn run(&mut self, cursor: Option<i64>) -> End {
        let recording = self.shared.recording.clone();
        let start = match (cursor, self.shared.options.without_cursor) {
            (Some(c), _) => recording.start(c),
            (None, WithoutCursor::FromStart) => Start::At {
                index: 0,
                cursor: None,
            },
            (None, WithoutCursor::LiveTip) => Start::At {
                index: recording.len(),
                cursor: None,
            },
        };
        let (index, cursor) = match start {
            Start::At { index, cursor } => (index, cursor),
            Start::FutureCursor => {
                return self.error_and_close("FutureCursor", "Cursor in the future.");
            }
        };
        // Faults are looked at once per frame sent (and once before any), never per frame
        // skipped, so a count is acted on exactly once.
        if let Some(end) = self.fault() {
            return end;
        }
        let paced_from = Instant::now();
        for (i, frame) in recording.frames().iter().enumerate().skip(index) {
            if !recording.owed(i, cursor) {
                continue;
            }
            if let Err(end) = self.pace(paced_from) {
                return end;
            }
            if let Err(end) = self.send(Message::Binary(frame.bytes.clone())) {
                return end;
            }
            self.sent += 1;
            self.shared.frames_sent.fetch_add(1, Relaxed);
            if let Some(end) = self.fault() {
                return end;
            }
            if self.sent % POLL_EVERY == 0 {
                if let Err(end) = self.poll() {
                    return end;
                }
            }
        }
        self.idle()
    }

    /// The fault due now that `sent` frames are out, if any; garbage is sent on the spot.
    fn fault(&mut self) -> Option<End> {
        let shared = self.shared;
        let options = &shared.options;
        let sent = self.sent;
        let every = |n: Option<usize>| n.is_some_and(|n| n > 0 && sent > 0 && sent % n == 0);
        if every(options.garbage_every) {
            if let Err(end) = self.send(Message::Binary(Bytes::from_static(GARBAGE))) {
                return Some(end);
            }
        }
        if every(options.drop_every) {
            return Some(self.drop_abruptly());
        }
        if let Some((n, name)) = &options.error_frame_after {
            if sent == *n && !shared.errored.swap(true, Relaxed) {
                let message = format!("replay server fault after {n} frames");
                return Some(self.error_and_close(name, &message));
            }
        }
        if options.stall_after == Some(sent) && !shared.stalled.swap(true, Relaxed) {
            return Some(self.idle());
        }
        None
    }

    /// Waits until the next frame is due under `--rate`, answering the consumer meanwhile.
    fn pace(&mut self, from: Instant) -> Result<(), End> {
        let Some(rate) = self.shared.options.rate else {
            return Ok(());
        };
        let due = from + Duration::from_secs_f64(self.sent as f64 / rate);
        loop {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            self.wait(left.min(TICK))?;
        }
    }

    /// Sends one message, waiting out a consumer that reads slowly (the message stays queued in
    /// tungstenite when a write times out) until it reads or the server stops.
    fn send(&mut self, message: Message) -> Result<(), End> {
        let mut result = self.ws.send(message);
        loop {
            match result {
                Ok(()) => return Ok(()),
                Err(tungstenite::Error::Io(e)) if is_timeout(&e) => {
                    if self.shared.stop.load(Relaxed) {
                        return Err(End::Stopping);
                    }
                    result = self.ws.flush();
                }
                Err(e) => return Err(lost(e)),
            }
        }
    }

    /// Reads whatever the consumer has sent, without waiting.
    fn poll(&mut self) -> Result<(), End> {
        if self.shared.stop.load(Relaxed) {
            return Err(self.close(CloseCode::Away, "replay server stopping"));
        }
        let set = |ws: &WebSocket<TcpStream>, on| {
            ws.get_ref()
                .set_nonblocking(on)
                .map_err(|e| End::Failed(e.to_string()))
        };
        set(&self.ws, true)?;
        let read = loop {
            match self.read() {
                Ok(true) => {}
                Ok(false) => break Ok(()),
                Err(end) => break Err(end),
            }
        };
        set(&self.ws, false)?;
        read
    }

    /// Reads for up to `d` (at most one message). Ok(true) if something came.
    fn wait(&mut self, d: Duration) -> Result<bool, End> {
        if self.shared.stop.load(Relaxed) {
            return Err(self.close(CloseCode::Away, "replay server stopping"));
        }
        // A zero timeout would mean "block forever" to the socket.
        let d = d.max(Duration::from_millis(1));
        self.ws
            .get_ref()
            .set_read_timeout(Some(d))
            .map_err(|e| End::Failed(e.to_string()))?;
        self.read()
    }

    fn read(&mut self) -> Result<bool, End> {
        match self.ws.read() {
            Ok(Message::Close(_)) => {
                // tungstenite has queued our reply; send it so the consumer's close completes.
                let _ = self.ws.flush();
                Err(End::ClientLeft)
            }
            // Pings are answered by tungstenite itself; anything else a consumer says is ignored.
            Ok(_) => Ok(true),
            Err(tungstenite::Error::Io(e)) if is_timeout(&e) => Ok(false),
            Err(e) => Err(lost(e)),
        }
    }

    /// Nothing more to send: keep the socket open, as a live relay with no new events does.
    fn idle(&mut self) -> End {
        loop {
            if let Err(end) = self.wait(TICK) {
                return end;
            }
        }
    }

    /// Sends an error frame, as relays do before they close.
    fn error_and_close(&mut self, error: &str, message: &str) -> End {
        let frame = error_frame(error, message);
        if let Err(end) = self.send(Message::Binary(Bytes::from(frame))) {
            return end;
        }
        self.close(CloseCode::Policy, error)
    }

    /// A clean close: our close frame, then the consumer's reply (briefly).
    fn close(&mut self, code: CloseCode, reason: &str) -> End {
        let frame = CloseFrame {
            code,
            reason: reason.to_owned().into(),
        };
        if let Err(e) = self.ws.close(Some(frame)) {
            if !matches!(&e, tungstenite::Error::Io(io) if is_timeout(io)) {
                return lost(e);
            }
        }
        // When the server is stopping, nobody waits for the reply.
        let stopping = self.shared.stop.load(Relaxed);
        let until = Instant::now() + if stopping { Duration::ZERO } else { CLOSE_WAIT };
        while Instant::now() < until {
            let _ = self.ws.get_ref().set_read_timeout(Some(TICK));
            match self.ws.read() {
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if is_timeout(&e) => {}
                Err(_) => break,
            }
        }
        if stopping {
            End::Stopping
        } else {
            End::Closed(reason.to_owned())
        }
    }

    /// Ends the TCP connection without a close frame, after everything sent so far.
    fn drop_abruptly(&mut self) -> End {
        // Unread input makes the kernel answer our close with a reset, which can destroy frames
        // still in flight to the consumer; read it first.
        let _ = self.poll();
        let _ = self.ws.get_ref().shutdown(Shutdown::Write);
        End::Closed(format!(
            "dropped without a close frame after {} frames (fault)",
            self.sent
        ))
    }
}
