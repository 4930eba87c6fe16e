//! `skyindex replay`: serve a capture file as a `com.atproto.sync.subscribeRepos` endpoint, for
//! tests and rehearsals. The capture is loaded once and shared by every connection; each
//! connection gets the frames after its `?cursor=` (all of them without one, see
//! [`WithoutCursor`]), a `FutureCursor` error frame if the cursor is past the capture's last seq,
//! and then silence with the socket open, as from a live relay with nothing new.
//!
//! [`ReplayServer`] is the same server as a library, with fault injection for reliability tests.

mod connection;
mod handshake;
mod recording;
mod server;

pub use recording::{error_frame, Recorded, Recording, Start};
pub use server::{ReplayOptions, ReplayServer, WithoutCursor};

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use log::info;

use crate::cli::ReplayArgs;

pub fn serve(args: &ReplayArgs, stop: &AtomicBool) -> Result<(), String> {
    let recording = Arc::new(Recording::load(&args.file)?);
    let listener = TcpListener::bind(&args.listen)
        .map_err(|e| format!("listening on {}: {e}", args.listen))?;
    let options = ReplayOptions {
        rate: args.rate,
        ..ReplayOptions::default()
    };
    let seqs = match (recording.first_seq(), recording.max_seq()) {
        (Some(first), Some(last)) => format!("seq {first}..{last}"),
        _ => "no seqs".to_owned(),
    };
    let mut server = ReplayServer::start(listener, recording.clone(), options)
        .map_err(|e| format!("replay: {e}"))?;
    info!(
        "replay: serving {} frames ({seqs}) of {} at {}/xrpc/com.atproto.sync.subscribeRepos",
        recording.len(),
        args.file.display(),
        server.url()
    );
    while !stop.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    server.stop();
    info!(
        "replay: stopped after {} connections, {} frames sent",
        server.connections(),
        server.frames_sent()
    );
    Ok(())
}
