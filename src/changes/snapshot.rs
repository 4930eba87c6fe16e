//! A repository as its PDS serves it (`com.atproto.sync.getRepo`), walked and decoded: what the
//! owning writer diffs against what it holds of the repo, then cuts over to.

use cid::Cid;

use crate::records::Record;

/// One record of the snapshot, at its path.
#[derive(Debug, Clone)]
pub struct SnapshotRecord {
    pub collection: String,
    pub rkey: String,
    pub cid: Cid,
    pub record: Record,
}

impl SnapshotRecord {
    pub fn path(&self) -> String {
        format!("{}/{}", self.collection, self.rkey)
    }
}

/// A whole repository at one commit.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub did: String,
    pub rev: String,
    /// The commit's CID and its MST root.
    pub commit: Cid,
    pub data: Cid,
    /// The host it was fetched from.
    pub host: String,
    /// The account's handle as its DID document gives it (checked both ways when handles are
    /// verified, else `handle.invalid`), for a repo never seen live.
    pub handle: Option<String>,
    /// When it was fetched (RFC 3339): the `indexed_at` of the rows it writes.
    pub fetched_at: String,
    /// Every record that decoded, in path order.
    pub records: Vec<SnapshotRecord>,
    /// Records the lexicon refused (kept out, as a live op would be), for the log.
    pub refused: usize,
}
