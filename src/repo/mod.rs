//! Repositories (<https://atproto.com/specs/repository>) and their verification as Sync 1.1
//! (the "inductive firehose") defines it: the Merkle Search Tree ([`Tree`], partial, over a
//! commit's CAR slice; [`Walk`], whole, over an export), the signed commit object
//! ([`Commit`]), and the checks a consumer runs on `#commit` and `#sync` frames
//! ([`verify_commit`], [`verify_sync`]).
//!
//! Pure, like [`crate::ipld`] below it and [`crate::crypto`] beside it: blocks and values in,
//! values or typed errors with stable reason codes out; the caller finds the account's key and
//! decides what a failure costs. It imports `crypto`, `ipld` and `syntax` only, so the decode
//! stage (which owns frames) can call it without a cycle.

mod blocks;
mod commit;
mod encode;
mod error;
mod export;
mod key;
mod node;
mod ops;
mod place;
mod rev;
mod tree;
mod verify;
mod walk;

pub use blocks::{BlockMap, BlockSource, NoBlocks};
pub use commit::{Commit, REPO_VERSION};
pub use encode::dag_cbor_cid;
pub use error::{CommitError, MstError, NodeProblem, VerifyError};
pub use export::{ExportCommit, ExportError, RepoExport};
pub use key::{common_prefix_len, height, KeyRule, MAX_KEY_LEN};
pub use node::{encode_node, EntryData, EntryRef, NodeData, MAX_NODE_ENTRIES};
pub use ops::{check_ops, inversion_order, Action, RepoOp};
pub use rev::{seconds_in_future, tid_timestamp_micros, FUTURE_REV_TOLERANCE};
pub use tree::Tree;
pub use verify::{
    check_forward, invert, read_commit, verify_commit, verify_commit_proof, verify_sync,
    CommitFrame, Proof, SyncFrame, Verified,
};
pub use walk::Walk;
