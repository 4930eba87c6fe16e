//! `skyindex track DID…`: add accounts to those `run --only-tracked` indexes (the running
//! service reads them again within seconds), each marked for a fetch as `resync` marks it, so
//! with backfill on it is fetched whole; `--remove` takes them away (what is held of them
//! stays).

use std::process::ExitCode;

use log::info;

use super::CommandError;
use crate::cli::TrackArgs;
use crate::db::{connect, repos, tracked, DbError};

pub fn run(args: &TrackArgs) -> Result<ExitCode, CommandError> {
    for did in &args.dids {
        if let Err(e) = crate::syntax::did(did) {
            return Err(
                crate::config::ConfigError::Invalid(format!("{did:?} is not a DID ({e})")).into(),
            );
        }
    }
    let mut conn = connect::connect(&args.db.database_url)?;
    if args.remove {
        let n = tracked::remove(&mut conn, &args.dids)
            .map_err(DbError::query("removing tracked accounts"))?;
        info!(
            "track: {n} of {} accounts no longer tracked",
            args.dids.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let added =
        tracked::add(&mut conn, &args.dids).map_err(DbError::query("adding tracked accounts"))?;
    repos::mark_desynchronized(&mut conn, &args.dids)
        .map_err(DbError::query("marking tracked accounts to fetch"))?;
    info!(
        "track: {added} of {} accounts added (the others were tracked already)",
        args.dids.len()
    );
    Ok(ExitCode::SUCCESS)
}
