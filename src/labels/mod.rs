//! Labels: moderation statements signed by labeler services and published on each labeler's own
//! `com.atproto.label.subscribeLabels` stream, not on the relay's firehose.
//!
//! ```text
//! reader.rs (one blocking thread per labeler; connect, reconnect, stall, cursor)
//!   -> labeler.rs: DID document -> #atproto_labeler endpoint, #atproto_label key (identity)
//!   -> frame.rs (pure): message -> #labels {seq, labels} | #info | error frame (ipld::cbor)
//!        -> label.rs (pure): each label's fields checked
//!   -> checks.rs: each label's signature (signature.rs, pure: over its bytes without `sig`),
//!        the key fetched again when it fails; refusals counted and logged
//!   -> LabelSink (the pipeline): the labeler's watermark, the writer that owns the labeler
//! ```
//!
//! What goes on is a [`Batch`] per frame holding only labels that passed every check; what was
//! refused is counted and logged, never stored. Applying batches (the table's rules: negations,
//! newer `cts`, replays) is the writer's and the database's business.

mod checks;
pub mod frame;
pub mod label;
pub mod labeler;
pub mod reader;
pub mod signature;
pub mod stats;

use std::sync::Arc;
use std::time::Instant;

pub use label::Label;
pub use reader::{LabelSink, Reader, ReaderConfig};
pub use stats::LabelerStats;

/// The good labels of one `#labels` frame of one labeler.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The labeler's DID (every label's `src`).
    pub labeler: Arc<str>,
    pub seq: i64,
    pub labels: Vec<Label>,
    /// When the frame was read.
    pub received: Instant,
}

impl Batch {
    /// The newest `cts` of the batch: the labeler's time of the frame, for the cursor's lag.
    pub fn time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.labels.iter().map(|l| l.cts).max()
    }
}
