//! A repository as its PDS serves it (`com.atproto.sync.getRepo`), walked and decoded: what the
//! owning writer diffs against what it holds of the repo, then cuts over to.

use cid::Cid;
use thiserror::Error;

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

/// Spilled records could not be read back (the disk, not the repository).
#[derive(Debug, Error)]
#[error("spilled snapshot records: {0}")]
pub struct SpillError(pub String);

/// One chunk of a snapshot's records, or why there is none.
pub type Chunk = Result<Vec<SnapshotRecord>, SpillError>;

/// Records too many to hold in memory, kept where the reader put them (a file, in
/// `sync::spill`) and read back in path order a chunk at a time, from the first each time
/// asked (a cutover retried after a database error reads them again).
pub trait SpilledRecords: Send + Sync + std::fmt::Debug {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn chunks(&self, max: usize) -> Box<dyn Iterator<Item = Chunk> + '_>;
}

/// A whole repository at one commit.
#[derive(Debug)]
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
    /// Every record that decoded, in path order, when they are few enough to hold.
    pub records: Vec<SnapshotRecord>,
    /// Every record that decoded, in path order, when they were too many to hold: then
    /// `records` is empty.
    pub spilled: Option<Box<dyn SpilledRecords>>,
    /// Records the lexicon refused (kept out, as a live op would be), for the log.
    pub refused: usize,
}

impl Snapshot {
    /// Records it holds, in memory or spilled.
    pub fn len(&self) -> usize {
        self.spilled
            .as_ref()
            .map_or(self.records.len(), |s| s.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every record in path order, `max` at a time.
    pub fn chunks(&self, max: usize) -> Box<dyn Iterator<Item = Chunk> + '_> {
        match &self.spilled {
            Some(spilled) => spilled.chunks(max),
            None => Box::new(self.records.chunks(max.max(1)).map(|c| Ok(c.to_vec()))),
        }
    }
}
