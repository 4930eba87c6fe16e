//! The replay server as a library: a capture served as `com.atproto.sync.subscribeRepos` on a
//! listener the caller binds (port 0 in tests), one blocking thread per connection, with faults
//! that can be switched on to rehearse what real relays do to consumers (drops, stalls, error
//! frames, garbage), and a record of who connected with which cursor.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use log::warn;

use super::connection;
use super::options::{ReplayOptions, Shared, TICK};
use super::recording::Recording;

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
