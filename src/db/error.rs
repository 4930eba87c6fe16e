//! What can go wrong between us and PostgreSQL outside the writers' transactions (those are
//! judged by [`super::blame`]): connecting, creating the database, migrations, operator queries.

use thiserror::Error;

/// Boxed errors of the migration harness (its own type is not nameable).
pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Error)]
pub enum DbError {
    /// The server did not answer or refused us. The URL is redacted.
    #[error("database {url} unreachable")]
    Unreachable {
        url: String,
        #[source]
        source: diesel::ConnectionError,
    },
    /// No connection could be taken from the pool in time.
    #[error("no database connection")]
    Pool(#[source] r2d2::Error),
    #[error("DATABASE_URL is not a URL")]
    BadUrl(#[source] url::ParseError),
    #[error("database {name:?} does not exist, and its name is not one skyindex will create: create it yourself")]
    UnsafeName { name: String },
    #[error("creating database {name:?}")]
    Create {
        name: String,
        #[source]
        source: diesel::result::Error,
    },
    #[error("migrations")]
    Migrations(#[source] MigrationError),
    #[error("--no-migrate: {} migration(s) pending ({}); apply them with `diesel migration run` or `skyindex migrate`", .0.len(), .0.join(", "))]
    Pending(Vec<String>),
    /// A query of ours failed; `what` names it (a table, "the cursor", …).
    #[error("{what}")]
    Query {
        what: String,
        #[source]
        source: diesel::result::Error,
    },
}

impl DbError {
    /// Wraps a query error with what we were doing.
    pub fn query(what: impl Into<String>) -> impl FnOnce(diesel::result::Error) -> DbError {
        let what = what.into();
        move |source| DbError::Query { what, source }
    }
}
