//! The live pipeline's own pieces, with threads and channels: the decode stage (rayon, in
//! order) and its triage of what is bad or skipped, the collection filter, routing by repo to
//! the writers, the watermark (`progress`), the cursor keeper, the labelers' readers and their
//! way to the writers (`labelers`), and `service`, which wires them with the source and the
//! writers and runs them with a stop protocol.

pub mod decode_stage;
pub mod filter;
pub mod keeper;
pub mod labelers;
pub mod owner;
pub mod progress;
pub mod route;
pub mod service;
pub mod snapshots;
pub mod tracked;
pub mod triage;

pub use crate::verify::{VerifyMode, VerifySettings};
pub use crate::writer::{Indexing, NotifyBackfill};
pub use filter::{CollectionFilter, FilterError};
pub use labelers::LabelerSettings;
pub use service::{BackfillSettings, Outcome, Settings, Start};
