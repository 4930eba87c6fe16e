//! Opening a connection outside the pool (operator commands, set-up), with errors that name the
//! server but never its password; and creating the database named in DATABASE_URL when it does
//! not exist yet, as `diesel setup` does, so the quick start is one command on a fresh server.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use log::info;
use url::Url;

use super::DbError;
use crate::redact::redact;

/// Connects to `url`.
pub fn connect(url: &str) -> Result<PgConnection, DbError> {
    PgConnection::establish(url).map_err(|source| DbError::Unreachable {
        url: redact(url),
        source,
    })
}

/// Connects to `url`; if its database is missing, creates it (through the `postgres` maintenance
/// database on the same server). Whether it is missing is asked of the server (`pg_database`),
/// not read from the wording of an error.
pub fn ensure_database(url: &str) -> Result<(), DbError> {
    let first = match connect(url) {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let mut admin_url = Url::parse(url).map_err(DbError::BadUrl)?;
    let name = admin_url.path().trim_start_matches('/').to_owned();
    admin_url.set_path("/postgres");
    // The server itself is down or refuses us: the first error says why.
    let Ok(mut admin) = PgConnection::establish(admin_url.as_str()) else {
        return Err(first);
    };
    let exists: bool =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(&name)
            .get_result::<Exists>(&mut admin)
            .map(|e| e.exists)
            .map_err(DbError::query("pg_database"))?;
    if exists {
        return Err(first);
    }
    // The name goes into DDL, which cannot take a bind parameter: allow only plain identifiers.
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(DbError::UnsafeName { name });
    }
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .map_err(|source| DbError::Create {
            name: name.clone(),
            source,
        })?;
    info!("created database {name}");
    Ok(())
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}
