//! The migrations in `migrations/`, embedded: `skyindex migrate` and `skyindex run` apply the same
//! ones the diesel CLI applies.

use diesel::pg::PgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Applies pending migrations; returns the versions applied.
pub fn run_pending(conn: &mut PgConnection) -> Result<Vec<String>, DbError> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(DbError::Migrations)?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// The versions not yet applied.
pub fn pending(conn: &mut PgConnection) -> Result<Vec<String>, DbError> {
    let pending = conn
        .pending_migrations(MIGRATIONS)
        .map_err(DbError::Migrations)?;
    Ok(pending.iter().map(|m| m.name().to_string()).collect())
}

/// The service's policy at start: apply what is pending (`apply`), or refuse to run while
/// anything is (`--no-migrate`), naming it. Returns the versions applied.
pub fn prepare(conn: &mut PgConnection, apply: bool) -> Result<Vec<String>, DbError> {
    if apply {
        return run_pending(conn);
    }
    let pending = pending(conn)?;
    if pending.is_empty() {
        Ok(Vec::new())
    } else {
        Err(DbError::Pending(pending))
    }
}
