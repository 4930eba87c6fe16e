//! Where frames come from: a relay's WebSocket, or a capture file.

pub mod capture;
