//! A capture file served as a `com.atproto.sync.subscribeRepos` endpoint, for tests and
//! rehearsals (`skyindex replay`). The capture is loaded once and shared by every connection;
//! each connection gets the frames after its `?cursor=` (all of them without one, see
//! [`WithoutCursor`]), a `FutureCursor` error frame if the cursor is past the capture's last seq,
//! and then silence with the socket open, as from a live relay with nothing new.
//!
//! [`ReplayServer`] has fault injection for reliability tests ([`ReplayOptions`]).

mod connection;
mod handshake;
mod options;
mod recording;
mod server;

pub use options::{ReplayOptions, WithoutCursor};
pub use recording::{error_frame, Recorded, Recording, Start};
pub use server::ReplayServer;
