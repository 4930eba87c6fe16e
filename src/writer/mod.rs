//! Writer threads: each owns the repos routed to it and one connection, and applies groups of
//! events in transactions: keys to load (`keys`), an in-memory view of those rows (`sim`), the
//! pure planner (`plan`, `rows`), and `apply`, which runs them against `db` in one transaction,
//! with any labels of the group (`input`: an envelope holds an event or a labeler's batch).

pub mod apply;
mod buffer;
pub mod cutover;
mod gates;
pub mod input;
pub mod keys;
mod kinds;
mod notify;
pub mod numbered;
pub mod plan;
pub mod repo_sync;
pub mod resync;
mod rows;
pub mod sim;
pub mod user_cache;
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
    /// Which of a snapshot's records notify (`--notify-backfill`). Those that do not are
    /// written without notifications; the records a snapshot deletes withdraw theirs all the
    /// same.
    pub notify_backfill: NotifyBackfill,
    /// Set by the cutover for a snapshot's records: notifications of the segment's own records
    /// dated before this are not written.
    pub quiet_before: Option<chrono::DateTime<chrono::Utc>>,
    /// This segment is a snapshot's (set by the cutover): its records carry the fetch's time,
    /// not the stream's, so gates judge them, and a gate in it judges its thread's replies,
    /// whatever the times.
    pub snapshot: bool,
    /// A repo first seen is fetched only when its commit writes a kept collection (its ops,
    /// after `--collections`, are not empty): `--backfill-collection`.
    pub first_sight_needs_ops: bool,
    /// Repos' sync states (backfill on): events are applied, held or dropped by their repo's
    /// state (`repo_sync`). Off, every commit applies by rev alone, as without backfill.
    pub repo_sync: bool,
}

impl Default for Indexing {
    fn default() -> Self {
        Indexing {
            notifications: true,
            notify_backfill: NotifyBackfill::default(),
            quiet_before: None,
            snapshot: false,
            first_sight_needs_ops: false,
            repo_sync: false,
        }
    }
}

/// Which of a snapshot's records notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyBackfill {
    /// None: a freshly backfilled AppView must not tell every account of years of old likes.
    None,
    /// Those dated (the earlier of createdAt and the fetch) at most this long before the
    /// fetch: what the live stream was saying when a repo first seen was fetched, which the
    /// snapshot carries in place of the live events it dropped.
    Recent(std::time::Duration),
    /// All, as if every record had come live.
    All,
}

impl Default for NotifyBackfill {
    fn default() -> Self {
        NotifyBackfill::Recent(std::time::Duration::from_secs(3600))
    }
}

impl NotifyBackfill {
    /// The cut for a snapshot fetched at `fetched_at`.
    pub fn cut(
        self,
        fetched_at: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            NotifyBackfill::None => Some(chrono::DateTime::<chrono::Utc>::MAX_UTC),
            NotifyBackfill::Recent(d) => {
                Some(fetched_at - chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX))
            }
            NotifyBackfill::All => None,
        }
    }
}
