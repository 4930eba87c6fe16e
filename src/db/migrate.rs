//! The migrations in `migrations/`, embedded: `skyindex migrate` and `skyindex run` apply the same
//! ones the diesel CLI applies.

use diesel::pg::PgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Applies pending migrations; returns the versions applied.
pub fn run_pending(conn: &mut PgConnection) -> Result<Vec<String>, Error> {
    let applied = conn.run_pending_migrations(MIGRATIONS)?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// The versions not yet applied.
pub fn pending(conn: &mut PgConnection) -> Result<Vec<String>, Error> {
    let pending = conn.pending_migrations(MIGRATIONS)?;
    Ok(pending.iter().map(|m| m.name().to_string()).collect())
}
