//! The tools beside the indexer, on the real PDS capture: `inspect` (its summary against the
//! capture tool's own `summary.json`, its Jetstream lines against `truth.json`, a damaged file),
//! the replay server (cursors, FutureCursor, every fault, reconnects) and `capture` recording
//! from a replay server.

mod capture;
mod inspect;
mod replay;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use skyindex::decode::{decode_frame, Frame};
use skyindex::replay::{Recording, ReplayOptions, ReplayServer};

use crate::common::{pds_small, read_capture};

pub fn fixture_frames() -> Vec<Vec<u8>> {
    read_capture(&pds_small().join("frames.bin"))
}

pub fn seq_of(frame: &[u8]) -> Option<i64> {
    match decode_frame(frame) {
        Ok(Frame::Event(e)) => e.seq(),
        _ => None,
    }
}

/// A fresh directory under the system's temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "skyindex-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn skyindex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skyindex"))
        .args(args)
        .output()
        .expect("run skyindex")
}

/// The fixture served on a free port.
pub fn serve(options: ReplayOptions) -> ReplayServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let recording = Arc::new(Recording::from_messages(fixture_frames()));
    ReplayServer::start(listener, recording, options).unwrap()
}
