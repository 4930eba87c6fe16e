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
pub mod likes;
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

/// Up to this many rows go in by one multi-row INSERT, more by COPY. COPY is the cheapest way in
/// for many rows, but each one costs a round trip more and a fixed setup (~0.4–0.6 ms a table on
/// this machine, measured at 2,000 events/s, where a group holds a few rows per table): with
/// three to five tables a group, INSERT took a third off PostgreSQL's statement time there.
const COPY_FROM: usize = 64;

/// Appends rows that cannot conflict (the planner checked each key against the table and
/// deleted what they replace): a multi-row INSERT for a few, COPY for many.
macro_rules! append {
    ($conn:expr, $table:path, $rows:expr) => {{
        let rows = $rows;
        if rows.len() > $crate::db::COPY_FROM {
            diesel::copy_from($table)
                .from_insertable(rows)
                .execute($conn)?;
        } else if !rows.is_empty() {
            diesel::insert_into($table).values(rows).execute($conn)?;
        }
    }};
}
pub(crate) use append;
