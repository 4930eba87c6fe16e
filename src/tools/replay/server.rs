//! The replay server as a library: a capture served as `com.atproto.sync.subscribeRepos` on a
//! listener the caller binds (port 0 in tests), one blocking thread per connection, with faults
//! that can be switched on to rehearse what real relays do to consumers (drops, stalls, error
//! frames, garbage), and a record of who connected with which cursor.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use log::warn;

use super::connection;
use super::recording::Recording;

/// How often idle loops wake up to look at the stop flag.
pub(super) const TICK: Duration = Duration::from_millis(50);

/// What a connection without `?cursor=` gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WithoutCursor {
    /// The whole capture. A replay server has no live events, so "the live tip" would mean an
    /// empty stream; starting from the beginning makes a fresh indexer (or `capture` without
    /// `--cursor`) see the capture, which is what rehearsals want.
    #[default]
    FromStart,
    /// Nothing: the socket stays open, as a live relay with no new events. For tests of what a
    /// consumer does after it was told to go live.
    LiveTip,
}

/// Serving options. Faults counted in frames count capture frames only (not garbage or error
/// frames we add). A fault with a count of 0 never fires for `drop_every`/`garbage_every`, and
/// fires before the first frame for `stall_after`/`error_frame_after`.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Frames per second per connection; `None` = as fast as the consumer reads.
    pub rate: Option<f64>,
    pub without_cursor: WithoutCursor,
    /// Close the TCP connection without a close frame after every N frames sent on it (on every
    /// connection), as when a relay or a proxy goes away.
    pub drop_every: Option<usize>,
    /// Stop sending after N frames but keep the socket open and answer pings: a silent stall.
    /// Once per server lifetime (the first connection to reach N frames), so a consumer that
    /// detects the stall and reconnects is then served to the end.
    pub stall_after: Option<usize>,
    /// Send an error frame with this name (e.g. `ConsumerTooSlow`) after N frames, then close.
    /// Once per server lifetime, like the stall, so a consumer that reconnects can finish.
    pub error_frame_after: Option<(usize, String)>,
    /// After every N frames, send a binary message that is not a frame (on every connection).
    pub garbage_every: Option<usize>,
}

/// What the connection threads share.
pub(super) struct Shared {
    pub recording: Arc<Recording>,
    pub options: ReplayOptions,
    pub stop: AtomicBool,
    pub cursors: Mutex<Vec<Option<i64>>>,
    pub frames_sent: AtomicU64,
    pub stalled: AtomicBool,
    pub errored: AtomicBool,
}

pub struct ReplayServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl ReplayServer {
    /// Starts serving `recording` on `listener` in background threads.
    pub fn start(
        listener: TcpListener,
        recording: Arc<Recording>,
        options: ReplayOptions,
    ) -> io::Result<ReplayServer> {
        if let Some(rate) = options.rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("rate {rate}: must be a positive number of frames per second"),
                ));
            }
        }
        let addr = listener.local_addr()?;
        // Non-blocking so the accept loop can notice `stop` without a wake-up connection.
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            recording,
            options,
            stop: AtomicBool::new(false),
            cursors: Mutex::new(Vec::new()),
            frames_sent: AtomicU64::new(0),
            stalled: AtomicBool::new(false),
            errored: AtomicBool::new(false),
        });
        let accept = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("replay-accept".into())
                .spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(ReplayServer {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://ADDR`, what a consumer's relay URL would be.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// WebSocket connections accepted (handshakes completed) so far.
    pub fn connections(&self) -> usize {
        self.cursors().len()
    }

    /// The cursor each accepted connection asked for, in the order they connected.
    pub fn cursors(&self) -> Vec<Option<i64>> {
        self.shared
            .cursors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Capture frames sent over all connections.
    pub fn frames_sent(&self) -> u64 {
        self.shared.frames_sent.load(Relaxed)
    }

    /// Closes every connection and waits for the threads. Idempotent.
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Relaxed);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Relaxed) {
        match listener.accept() {
            Ok((stream, peer)) => {
                conns.retain(|c| !c.is_finished());
                let shared = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("replay-{peer}"))
                    .spawn(move || connection::serve(stream, peer, &shared));
                match spawned {
                    Ok(handle) => conns.push(handle),
                    Err(e) => warn!("replay: cannot start a thread for {peer}: {e}"),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(TICK / 5),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                warn!("replay: accept failed: {e}");
                std::thread::sleep(TICK);
            }
        }
    }
    for c in conns {
        let _ = c.join();
    }
}
