//! `skyindex migrate`: create the database if it is missing, apply pending migrations.

use std::process::ExitCode;

use log::info;

use super::CommandError;
use crate::cli::DbArgs;
use crate::db::{connect, migrate};

pub fn run(args: &DbArgs) -> Result<ExitCode, CommandError> {
    connect::ensure_database(&args.database_url)?;
    let mut conn = connect::connect(&args.database_url)?;
    let applied = migrate::run_pending(&mut conn)?;
    if applied.is_empty() {
        info!("migrations: nothing pending");
    }
    for v in applied {
        info!("applied migration {v}");
    }
    Ok(ExitCode::SUCCESS)
}
