//! PostgreSQL: the connection pool, migrations, the cursor, and the statements that load and
//! write a group's change set (`changes`), purge an account, apply labels, and answer the
//! operator commands.
//! Knows no threads, channels or stages: every function takes a connection and values.

pub mod blame;
pub mod connect;
pub mod counters;
pub mod cursor;
pub mod error;
pub mod gates;
pub mod held;
pub mod kinds;
pub mod labels;
pub mod load;
pub mod migrate;
pub mod owner;
pub mod pool;
pub mod purge;
pub mod replies;
pub mod repos;
pub mod status;
pub mod store;
pub mod threads;
pub mod tracked;

pub use error::DbError;

/// Rows per multi-row INSERT: well under PostgreSQL's 65,535 bind parameters for our widest row.
const CHUNK: usize = 1000;
