//! Backfill and repair (atproto sync spec, "Record-Level Synchronization"): repos to fetch are
//! found in their sync state (`db::repos`), fetched whole from their PDS (`fetch`), read into
//! snapshots (`snapshot`), and cut over by the writer that owns each (`writer::cutover`); the
//! stage (`stage`) runs the scheduler and the fetch threads.

pub mod car_file;
pub mod enumerate;
pub mod fetch;
pub mod snapshot;
pub mod spill;
pub mod spool;
pub mod stage;
pub mod writers;

pub use enumerate::EnumerateSettings;
pub use fetch::{FetchError, Fetcher};
pub use snapshot::SnapshotError;
pub use stage::{Stage, StageSettings};
pub use writers::ToWriters;
