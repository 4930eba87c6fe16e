//! What one labeler's reader has seen, for its line beside the `stats` line and for `status`:
//! atomics the reader bumps and the keeper reads, nothing that blocks the reader.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};

#[derive(Debug, Default)]
pub struct LabelerStats {
    /// Messages read from the labeler.
    pub frames: AtomicU64,
    /// Labels read (good and refused).
    pub labels: AtomicU64,
    /// Labels refused (fields, signature) and frames that could not be read.
    pub refused: AtomicU64,
    pub reconnects: AtomicU64,
    pub connected: AtomicBool,
    /// The highest seq read (not yet committed: the cursor says that).
    pub last_seq: AtomicI64,
}

impl LabelerStats {
    pub fn new() -> LabelerStats {
        LabelerStats {
            last_seq: AtomicI64::new(-1),
            ..LabelerStats::default()
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }
}
