//! Decoding: one binary WebSocket message of `com.atproto.sync.subscribeRepos` in, a typed
//! [`Frame`] or a typed [`DecodeError`] out. Pure: no I/O, no logging, no global state, so the
//! same function serves the relay, capture files, `inspect`, benchmarks and the fuzzer.
//!
//! Every length read from the input is checked against what is left of the input (or a protocol
//! limit) before anything is allocated for it, so no input can make us allocate much more than it
//! is long.

mod body;
mod error;
mod event;
mod frame;
pub mod limits;

pub use error::{DecodeError, FrameError, InvalidOp};
pub use event::{
    Account, AccountStatus, Commit, ErrorFrame, Frame, Identity, Info, Op, OpAction, Proof,
    ProofOp, Skipped, SyncEvent, TypedEvent,
};
pub use frame::{decode_frame, decode_frame_with, peek, seq_of};
