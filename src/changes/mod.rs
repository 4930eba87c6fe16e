//! A group's change set, as types only: what a group of events needs from the database
//! ([`Needs`]), what was loaded for it ([`Loaded`]), the plan the writer made ([`Plan`], made of
//! [`rows`]), the counter deltas ([`Deltas`]), and a repository snapshot to cut over to
//! ([`Snapshot`]).
//!
//! The writer's planner produces these and `db` reads and writes them; neither knows the other,
//! both know this.

pub mod deltas;
pub mod kinds;
pub mod loaded;
pub mod needs;
pub mod plan;
pub mod repos;
pub mod rows;
pub mod snapshot;

pub use deltas::{Deltas, PostDelta, UserDelta};
pub use kinds::{Kind, KindRow};
pub use loaded::{Descendant, EdgeInfo, GateFacts, HeldThreadGate, Loaded, PostInfo, PostLink};
pub use needs::{pair_key, GateCheck, Lookup, Needs, Pair, Rejudge};
pub use plan::{Plan, PlanStats, TableDiff};
pub use repos::{Hosting, ListedRepo, RepoState, RepoStatus};
pub use snapshot::{Chunk, Snapshot, SnapshotRecord, SpillError, SpilledRecords};
