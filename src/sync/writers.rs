//! How the backfill stage reaches the writers: the pipeline's router for side streams, behind a
//! trait so the stage knows nothing of the pipeline.

use std::sync::atomic::AtomicBool;

use crate::writer::Envelope;

pub trait ToWriters: Send + Sync {
    /// Hands `envelope` to the writer that owns `did`; false once the writers are closing.
    fn send(&self, did: &str, envelope: Envelope, stop: &AtomicBool) -> bool;
    /// How many writers there are (repos are theirs by `writer_for`).
    fn writers(&self) -> usize;
}
