//! Protocol limits on what a `subscribeRepos` frame may claim.

/// The protocol's bound on a commit's CAR slice (`blocks`).
pub const MAX_BLOCKS_BYTES: usize = 2_000_000;
/// The protocol's bound on a `#sync` event's CAR slice (the commit block only).
pub const MAX_SYNC_BLOCKS_BYTES: usize = 10_000;
/// The protocol's bound on the number of ops in one commit.
pub const MAX_OPS: usize = 200;
/// A whole frame: the CAR slice plus generous room for the rest of the body.
pub const MAX_FRAME_BYTES: usize = 5_000_000;
