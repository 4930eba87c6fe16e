//! Creates the database named in DATABASE_URL when it does not exist yet, as `diesel setup`
//! does, so the quick start is one command on a fresh PostgreSQL.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;
use log::info;
use url::Url;

use crate::config::redact;

/// Connects to `url`; if its database is missing, creates it (through the `postgres` maintenance
/// database on the same server) and connects again.
pub fn ensure_database(url: &str) -> Result<(), String> {
    let err = match PgConnection::establish(url) {
        Ok(_) => return Ok(()),
        Err(e) => e.to_string(),
    };
    if !err.contains("does not exist") {
        return Err(format!(
            "database {} unreachable: {}",
            redact(url),
            err.trim()
        ));
    }
    let mut parsed = Url::parse(url).map_err(|e| format!("DATABASE_URL is not a URL: {e}"))?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    // The name goes into DDL, which cannot take a bind parameter: allow only plain identifiers.
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "database {name:?} does not exist, and its name is not one skyindex will create: create it yourself"
        ));
    }
    parsed.set_path("/postgres");
    let mut admin = PgConnection::establish(parsed.as_str()).map_err(|e| {
        format!("database {name:?} does not exist and the server refused to create it: {e}")
    })?;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .map_err(|e| format!("creating database {name:?}: {e}"))?;
    info!("created database {name}");
    Ok(())
}
