//! Operator commands: `migrate`, `health`, `status`.

use std::process::ExitCode;

use diesel::pg::PgConnection;
use diesel::prelude::*;

use crate::cli::{DbArgs, HealthArgs, StatusArgs};
use crate::config::redact;
use crate::db::migrate;

fn connect(db: &DbArgs) -> Result<PgConnection, String> {
    PgConnection::establish(&db.database_url)
        .map_err(|e| format!("database {} unreachable: {e}", redact(&db.database_url)))
}

pub fn migrate(args: &DbArgs) -> Result<(), String> {
    let mut conn = connect(args)?;
    let applied = migrate::run_pending(&mut conn).map_err(|e| format!("migrations: {e}"))?;
    if applied.is_empty() {
        log::info!("migrations: nothing pending");
    }
    for v in applied {
        log::info!("applied migration {v}");
    }
    Ok(())
}

pub fn health(args: &HealthArgs) -> ExitCode {
    let _ = args;
    println!("health: not implemented yet");
    ExitCode::FAILURE
}

pub fn status(args: &StatusArgs) -> Result<(), String> {
    let _ = connect(&args.db)?;
    Err("status: not implemented yet".into())
}
