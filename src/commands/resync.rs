//! `skyindex resync DID…`: mark repositories `desynchronized`, so the running service (with
//! `--backfill seen`) fetches them whole again and cuts over; one being fetched already is left
//! to finish.

use std::process::ExitCode;

use log::info;

use super::CommandError;
use crate::cli::ResyncArgs;
use crate::db::{connect, repos, DbError};

pub fn run(args: &ResyncArgs) -> Result<ExitCode, CommandError> {
    for did in &args.dids {
        if let Err(e) = crate::syntax::did(did) {
            return Err(
                crate::config::ConfigError::Invalid(format!("{did:?} is not a DID ({e})")).into(),
            );
        }
    }
    let mut conn = connect::connect(&args.db.database_url)?;
    let marked = repos::mark_desynchronized(&mut conn, &args.dids)
        .map_err(DbError::query("marking repos to resync"))?;
    info!(
        "resync: {marked} of {} repos marked (the others are being fetched already)",
        args.dids.len()
    );
    Ok(ExitCode::SUCCESS)
}
