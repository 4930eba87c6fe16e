//! Writer threads: each owns the repos routed to it and one connection, and applies groups of
//! events in transactions: keys to load (`keys`), an in-memory view of those rows (`sim`), the
//! pure planner (`plan`, `rows`), and `apply`, which runs them against `db` in one transaction,
//! with any labels of the group (`input`: an envelope holds an event or a labeler's batch).

pub mod apply;
pub mod input;
pub mod keys;
mod kinds;
mod notify;
pub mod plan;
mod rows;
pub mod sim;
pub mod worker;

pub use input::{Envelope, LabelBatch, Ledger, Payload, Ticket};

/// What the writers derive besides the records' own rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indexing {
    /// Notifications (README, "Notifications"): rows per like, repost, follow and post, and
    /// the thread reads and turns replies need. Off, none are written (nor withdrawn).
    pub notifications: bool,
}

impl Default for Indexing {
    fn default() -> Self {
        Indexing {
            notifications: true,
        }
    }
}
