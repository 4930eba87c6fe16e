//! Where frames come from: a relay's WebSocket, or a capture file. Either way the reader thread
//! sends raw messages downstream in order, through a bounded channel.

use std::time::Instant;

pub mod capture;
pub mod websocket;

/// One binary WebSocket message, as received.
#[derive(Debug)]
pub struct RawFrame {
    pub bytes: Vec<u8>,
    pub received: Instant,
}

#[derive(Debug)]
pub enum SourceMsg {
    Frame(RawFrame),
    /// A capture file ended: cleanly, or at damage (with the error).
    End(Result<(), String>),
}
