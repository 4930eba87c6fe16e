//! What a replay server is asked to do ([`ReplayOptions`]: pace, faults, what a connection
//! without a cursor gets) and the state its connection threads share.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
