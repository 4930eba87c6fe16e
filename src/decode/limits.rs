//! Protocol limits and our own sanity bounds on what a frame may claim.

/// The protocol's bound on a commit's CAR slice (`blocks`).
pub const MAX_BLOCKS_BYTES: usize = 2_000_000;
/// The protocol's bound on a `#sync` event's CAR slice (the commit block only).
pub const MAX_SYNC_BLOCKS_BYTES: usize = 10_000;
/// The protocol's bound on the number of ops in one commit.
pub const MAX_OPS: usize = 200;
/// A whole frame: the CAR slice plus generous room for the rest of the body.
pub const MAX_FRAME_BYTES: usize = 5_000_000;
/// Our bound on CAR roots; real slices have exactly one.
pub const MAX_CAR_ROOTS: usize = 16;
/// Our bound on the CAR header; a header with one root is about 60 bytes.
pub const MAX_CAR_HEADER_BYTES: usize = 4_096;
/// Our bound on the blocks in one CAR slice: 200 ops each with a record and an MST path of a
/// few nodes stays far below this.
pub const MAX_CAR_BLOCKS: usize = 10_000;
/// Nesting depth of any CBOR value we accept; records are a handful of levels deep.
pub const MAX_CBOR_DEPTH: usize = 64;
