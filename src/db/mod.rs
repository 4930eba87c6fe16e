//! PostgreSQL: the generated schema, row types, the connection pool, migrations, the cursor, and
//! the statements that load and write a planned group of events.

pub mod models;
pub mod schema;
