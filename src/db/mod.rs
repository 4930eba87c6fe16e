//! PostgreSQL: the generated schema, row types, the connection pool, migrations, the cursor, and
//! the statements that load and write a planned group of events. Knows nothing of the pipeline.

pub mod cursor;
pub mod errors;
pub mod load;
pub mod migrate;
pub mod models;
pub mod pool;
pub mod purge;
pub mod schema;
pub mod setup;
pub mod store;
