//! Our bounds on what IPLD bytes may claim, whoever reads them (frames, repo exports, labels).

/// Our bound on CAR roots; real slices and repo exports have exactly one.
pub const MAX_CAR_ROOTS: usize = 16;
/// Our bound on the CAR header; a header with one root is about 60 bytes.
pub const MAX_CAR_HEADER_BYTES: usize = 4_096;
/// Our bound on the blocks in one CAR slice: 200 ops each with a record and an MST path of a
/// few nodes stays far below this.
pub const MAX_CAR_BLOCKS: usize = 10_000;
/// Nesting depth of any CBOR value we accept; records are a handful of levels deep.
pub const MAX_CBOR_DEPTH: usize = 64;
/// Our bound on the blocks of a whole repository export (backfill), separate from the frame
/// bound above: a record and a fraction of an MST node per key, so about 800,000 records. Held
/// in memory (the parsed slice and its index) that is about 350 bytes a block, 350 MB at the
/// bound; backfill only holds exports of up to 8 MiB in memory, larger ones are spilled.
pub const MAX_REPO_CAR_BLOCKS: usize = 1_000_000;
/// Our bound on the blocks of a repository export spilled to disk (`sync::car_file`): its
/// index keeps 16 bytes a block in memory, 160 MB at the bound (about 8M records, past the
/// largest repositories on the network).
pub const MAX_SPOOLED_CAR_BLOCKS: usize = 10_000_000;
/// Our bound on one block of a spilled export (its CID and bytes): records are at most 1 MiB,
/// MST nodes far less.
pub const MAX_SPOOLED_BLOCK_BYTES: u64 = (1 << 22) - 1;
