//! What a writer is handed and whom it tells: an [`Envelope`] per item, and a [`Ledger`] that
//! hears of every item committed (or skipped for good) by its [`Ticket`].
//!
//! An item is a firehose event or a labeler's batch of labels. The writer does not know who
//! registered it: a firehose event goes back to the writer's own ledger (the firehose's
//! watermark), a labels batch carries its labeler's ledger with it, so every labeler keeps its
//! own cursor while all of them share the writers. The firehose's envelope costs nothing more
//! than before: the batch is boxed, so an event is moved as it was, with no allocation, lock
//! or reference count added.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Sender;

use crate::changes::{Hosting, ListedRepo, Snapshot};
use crate::decode::TypedEvent;
use crate::labels::Batch;

/// Names one registered item to the ledger that issued it. Opaque to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(pub u64);

/// Hears of items finished: committed, or refused by the database and skipped for good.
pub trait Ledger: Send + Sync {
    fn done(&self, ticket: Ticket);
}

/// An item on its way to a writer.
#[derive(Debug)]
pub struct Envelope {
    pub ticket: Ticket,
    pub payload: Payload,
    /// When the frame was read from the source, for receive-to-commit latency.
    pub received: Instant,
}

// The event is the big variant on purpose: boxing it would cost the firehose an allocation per
// event; the rare labels batch is the one boxed.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Payload {
    /// A firehose event; its ticket belongs to the writer's own ledger.
    Event(TypedEvent),
    /// A labeler's labels, with the ledger their ticket belongs to.
    Labels(Box<LabelBatch>),
    /// A step of a repo's resync, from the backfill stage; its ticket is not used.
    Sync(Box<SyncCommand>),
}

/// What the backfill stage asks of the writer that owns a repo: every change to a repo's sync
/// state goes through its writer, in order with the repo's live events.
// Boxed whole in the payload already: the snapshot's size costs nothing to the other variants.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum SyncCommand {
    /// Take the repo for a fetch (`desynchronized`/`error` → `resyncing`; with `reclaim`, also
    /// a `resyncing` left by a fetch that died with the process). `reply` hears whether it was
    /// taken, once committed: live events are buffered from then on, so the fetch may start.
    Claim {
        did: String,
        reclaim: bool,
        reply: Sender<(String, bool)>,
    },
    /// The fetched repository: cut over to it.
    Snapshot(Snapshot),
    /// The fetch failed: the repo is in `error` until its retry.
    Failed {
        did: String,
        reason: String,
        hosting: Option<Hosting>,
        /// The wait the server asked for, instead of our own backoff.
        retry_in: Option<std::time::Duration>,
    },
    /// Repos the relay lists (all owned by this writer): new ones become `desynchronized`, and
    /// known ones whose listed rev is ahead of ours too. `reply` hears when it is committed, so
    /// the enumeration's page cursor is saved only after.
    Discover {
        repos: Vec<ListedRepo>,
        reply: Sender<usize>,
    },
    /// Repos (all owned by this writer) a whole enumeration did not list: to fetch again.
    Recheck {
        dids: Vec<String>,
        reply: Sender<usize>,
    },
}

impl SyncCommand {
    pub fn did(&self) -> &str {
        match self {
            SyncCommand::Claim { did, .. } | SyncCommand::Failed { did, .. } => did,
            SyncCommand::Snapshot(s) => &s.did,
            SyncCommand::Discover { repos, .. } => repos.first().map_or("", |r| &r.did),
            SyncCommand::Recheck { dids, .. } => dids.first().map_or("", String::as_str),
        }
    }
}

/// One labeler frame's checked labels, and the labeler's ledger.
pub struct LabelBatch {
    pub batch: Batch,
    pub ledger: Arc<dyn Ledger>,
}

impl std::fmt::Debug for LabelBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelBatch")
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl Envelope {
    /// A firehose event's envelope.
    pub fn event(ticket: Ticket, event: TypedEvent, received: Instant) -> Envelope {
        Envelope {
            ticket,
            payload: Payload::Event(event),
            received,
        }
    }

    /// A backfill stage's command.
    pub fn sync(command: SyncCommand) -> Envelope {
        Envelope {
            ticket: Ticket(0),
            payload: Payload::Sync(Box::new(command)),
            received: Instant::now(),
        }
    }

    pub fn event_ref(&self) -> Option<&TypedEvent> {
        match &self.payload {
            Payload::Event(e) => Some(e),
            Payload::Labels(_) | Payload::Sync(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_do_not_make_the_firehose_envelope_bigger() {
        // The enum keeps the event's own layout (the box fits in the event's niche).
        assert_eq!(
            std::mem::size_of::<Payload>(),
            std::mem::size_of::<TypedEvent>()
        );
    }
}
