//! What a writer is handed and whom it tells: an [`Envelope`] per event, and a [`Ledger`] that
//! hears of every event committed (or skipped for good) by its [`Ticket`].
//!
//! The writer does not know who registered the event (the firehose's watermark today; a
//! labeler's or a backfill's tomorrow): it only hands the ticket back, so any stage can feed
//! the same writers.

use std::time::Instant;

use crate::decode::TypedEvent;

/// Names one registered event to the ledger that issued it. Opaque to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(pub u64);

/// Hears of events finished: committed, or refused by the database and skipped for good.
pub trait Ledger: Send + Sync {
    fn done(&self, ticket: Ticket);
}

/// An event on its way to a writer.
#[derive(Debug)]
pub struct Envelope {
    pub ticket: Ticket,
    pub event: TypedEvent,
    /// When the frame was read from the source, for receive-to-commit latency.
    pub received: Instant,
}
