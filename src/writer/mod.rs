//! Writer threads: each owns the repos routed to it and one connection, and applies groups of
//! events in transactions: keys to load (`keys`), an in-memory view of those rows (`sim`), the
//! pure planner (`plan`, `rows`), and `apply`, which runs them against `db` in one transaction,
//! with any labels of the group (`input`: an envelope holds an event or a labeler's batch).

pub mod apply;
mod buffer;
pub mod cutover;
pub mod input;
pub mod keys;
mod kinds;
mod notify;
pub mod plan;
pub mod repo_sync;
pub mod resync;
mod rows;
pub mod sim;
pub mod worker;

use std::hash::{Hash, Hasher};

pub use input::{Envelope, LabelBatch, Ledger, Payload, SyncCommand, Ticket};

/// The writer that owns a repo. Stable across runs and platforms (SipHash with fixed keys), so
/// the same repo lands on the same writer for a given writer count.
pub fn writer_for(did: &str, writers: usize) -> usize {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    did.hash(&mut h);
    (h.finish() % writers.max(1) as u64) as usize
}

/// What the writers derive besides the records' own rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indexing {
    /// Notifications (README, "Notifications"): rows per like, repost, follow and post, and
    /// the thread reads and turns replies need. Off, none are written (nor withdrawn).
    pub notifications: bool,
    /// Repos' sync states (backfill on): events are applied, held or dropped by their repo's
    /// state (`repo_sync`). Off, every commit applies by rev alone, as without backfill.
    pub repo_sync: bool,
}

impl Default for Indexing {
    fn default() -> Self {
        Indexing {
            notifications: true,
            repo_sync: false,
        }
    }
}
