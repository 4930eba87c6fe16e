//! Why a tree, a commit or a frame's claims about them were refused. Every variant has a stable
//! reason code ([`MstError::reason`], [`VerifyError::reason`]) for counters and log lines, and
//! carries the CID or path that locates the problem.

use cid::Cid;
use thiserror::Error;

use crate::crypto::SignatureError;

/// What is wrong inside one MST node (its bytes, or its place in the tree).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NodeProblem {
    #[error("not an MST node at byte {at}: {reason}")]
    Shape { at: usize, reason: &'static str },
    #[error("{0} entries, over the limit")]
    TooManyEntries(u64),
    #[error("entry {index}: first entry must have prefix length 0")]
    FirstPrefix { index: usize },
    #[error("entry {index}: prefix length {prefix} is longer than the previous key")]
    PrefixTooLong { index: usize, prefix: u64 },
    #[error("entry {index}: prefix length is not the whole common prefix")]
    PrefixNotMinimal { index: usize },
    #[error("entry {index}: key of {len} bytes is over the limit")]
    KeyTooLong { index: usize, len: u64 },
    #[error("entry {index}: key is not sorted after the previous one")]
    Unsorted { index: usize },
    #[error("entry {index}: same key as the previous one")]
    Duplicate { index: usize },
    #[error("entry {index}: invalid key: {reason}")]
    BadKey { index: usize, reason: String },
    #[error("entry {index}: key height {height} where the node's layer is {layer}")]
    WrongHeight { index: usize, height: u8, layer: u8 },
    #[error("entry {index}: key outside the range its parent gives this subtree")]
    OutOfRange { index: usize },
    #[error("node has no entries and no subtree")]
    Empty,
    #[error("root node has no entries, only a subtree (should have been pruned)")]
    RootOnlySubtree,
    #[error("node at layer 0 links to a subtree")]
    ChildBelowZero,
}

/// A Merkle Search Tree that cannot be read or changed as asked.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MstError {
    #[error("block {0} is not available")]
    MissingBlock(Cid),
    #[error("block {0} does not match its CID")]
    BadBlock(Cid),
    /// The problem is boxed: errors are rare, and every `Result` on the tree's paths is as
    /// large as its error.
    #[error("MST node {cid}: {problem}")]
    BadNode { cid: Cid, problem: Box<NodeProblem> },
    #[error("invalid MST key: {0}")]
    BadKey(String),
    #[error("tree deeper than layer {0}")]
    TooDeep(u8),
    /// An operation found the tree in a state a valid tree cannot be in (a key at the wrong
    /// layer, a subtree below layer 0). Loading checks prevent it; this is the backstop.
    #[error("inconsistent tree: {0}")]
    Inconsistent(&'static str),
    /// A spilled export could not be read back (ours: the disk, not the repository).
    #[error("spilled export: {0}")]
    Spool(String),
}

impl MstError {
    /// The node problem, when this is one.
    pub fn node_problem(&self) -> Option<&NodeProblem> {
        match self {
            MstError::BadNode { problem, .. } => Some(problem),
            _ => None,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            MstError::MissingBlock(_) => "missing_block",
            MstError::BadBlock(_) => "bad_block",
            MstError::BadNode { .. } => "bad_tree",
            MstError::BadKey(_) => "bad_key",
            MstError::TooDeep(_) | MstError::Inconsistent(_) => "bad_tree",
            MstError::Spool(_) => "spool",
        }
    }
}

/// A signed commit block that is not a v3 commit as the repository spec defines it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommitError {
    #[error("commit block: {0}")]
    Shape(String),
    #[error("commit block is not canonical (re-encoding gives other bytes: a missing prev, an unknown field or a non-canonical form)")]
    NotCanonical,
    #[error("commit version {0}, expected 3")]
    Version(u64),
    #[error("commit did: {0}")]
    Did(String),
    #[error("commit rev: {0}")]
    Rev(String),
    #[error("commit links to {0}, which is not a dag-cbor sha-256 CID")]
    Link(Cid),
}

/// Why a `#commit` or `#sync` frame failed verification. [`VerifyError::reason`] gives a
/// stable code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error("{what} block {cid} is missing")]
    MissingBlock { what: &'static str, cid: Cid },
    #[error("{what} block {cid} does not match its CID")]
    BadBlock { what: &'static str, cid: Cid },
    #[error("frame commit {frame} is not the CAR root {root}")]
    WrongCommit { frame: Box<Cid>, root: Box<Cid> },
    #[error("{0}")]
    BadCommit(CommitError),
    #[error("commit version {0}, expected 3")]
    BadVersion(u64),
    #[error("commit is for {commit}, the frame for {frame}")]
    WrongDid { frame: String, commit: String },
    #[error("commit rev {commit}, the frame's {frame}")]
    WrongRev { frame: String, commit: String },
    #[error("rev {rev} is {ahead_secs} s in the future")]
    FutureRev { rev: String, ahead_secs: i64 },
    #[error("signature: {0}")]
    BadSignature(SignatureError),
    #[error("tree: {0}")]
    BadTree(MstError),
    #[error("op {path}: {reason}")]
    BadOp { path: String, reason: &'static str },
    #[error("op {path}: {reason}")]
    OpMismatch { path: String, reason: &'static str },
    #[error("inverted tree root {computed} is not prevData {prev_data}")]
    BadProof {
        computed: Box<Cid>,
        prev_data: Box<Cid>,
    },
}

impl VerifyError {
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::MissingBlock { .. } => "missing_block",
            VerifyError::BadBlock { .. } => "bad_block",
            VerifyError::WrongCommit { .. } => "wrong_commit",
            VerifyError::BadCommit(_) => "bad_commit",
            VerifyError::BadVersion(_) => "bad_version",
            VerifyError::WrongDid { .. } => "wrong_did",
            VerifyError::WrongRev { .. } => "wrong_rev",
            VerifyError::FutureRev { .. } => "future_rev",
            VerifyError::BadSignature(_) => "bad_signature",
            VerifyError::BadTree(_) => "bad_tree",
            VerifyError::BadOp { .. } => "bad_op",
            VerifyError::OpMismatch { .. } => "op_mismatch",
            VerifyError::BadProof { .. } => "bad_proof",
        }
    }

    /// A tree error in a commit's proof: a missing node is reported as such.
    pub(crate) fn from_tree(e: MstError) -> VerifyError {
        match e {
            MstError::MissingBlock(cid) => VerifyError::MissingBlock {
                what: "MST node",
                cid,
            },
            MstError::BadBlock(cid) => VerifyError::BadBlock {
                what: "MST node",
                cid,
            },
            other => VerifyError::BadTree(other),
        }
    }
}
