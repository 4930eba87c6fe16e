//! `skyindex backfill DID… [--dids-file FILE]`: a one-shot snapshot of those repos, through
//! the same writers and backfill stage as `run --backfill seen` (a running service's repos are
//! the service's: against a database a service is writing it refuses to start; use `resync`). Exits 0
//! when every repo was cut over, 1 when some failed (each logged with did, host and reason).

use std::process::ExitCode;
use std::sync::Arc;

use log::{info, warn};

use super::CommandError;
use crate::cli::BackfillCommandArgs;
use crate::config::{backfill_settings, ConfigError, RunConfig};
use crate::db::{connect, migrate, pool, repos, DbError};
use crate::identity::Identities;
use crate::pipeline::snapshots;

pub fn run(args: &BackfillCommandArgs) -> Result<ExitCode, CommandError> {
    let mut config = RunConfig::from_args(&args.run)?;
    if config.pipeline.backfill.is_none() {
        config.pipeline.backfill = Some(backfill_settings(&args.run.backfill, false)?);
    }
    let mut dids = args.dids.clone();
    if let Some(path) = &args.dids_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Invalid(format!("--dids-file {}: {e}", path.display())))?;
        dids.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    for did in &dids {
        crate::syntax::did(did)
            .map_err(|e| ConfigError::Invalid(format!("{did:?} is not a DID ({e})")))?;
    }
    dids.sort();
    dids.dedup();
    if dids.is_empty() {
        return Err(ConfigError::Invalid("no DIDs given (arguments or --dids-file)".into()).into());
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stop = crate::shutdown::install().map_err(CommandError::Signals)?;
    connect::ensure_database(&config.database_url)?;
    let db = pool::build(
        &config.database_url,
        config.pool_size + 1,
        config.synchronous_commit_off,
    );
    let _owner = crate::pipeline::owner::take(&config.database_url, config.owner_wait)?;
    let mut conn = connect::connect(&config.database_url)?;
    for version in migrate::prepare(&mut conn, config.migrate)? {
        info!("applied migration {version}");
    }
    let marked = repos::mark_desynchronized(&mut conn, &dids)
        .map_err(DbError::query("marking repos to fetch"))?;
    drop(conn);
    info!("backfill: {} repos to fetch ({marked} marked)", dids.len());
    let identities =
        Arc::new(Identities::new(config.identity.clone()).map_err(CommandError::Identity)?);
    let Some(b) = &config.pipeline.backfill else {
        return Ok(ExitCode::FAILURE);
    };
    let fetcher = Arc::new(super::run::fetcher(&config, b, identities)?);
    let done = snapshots::run(&config.pipeline, &db, fetcher, &dids, &stop)?;
    if done.left > 0 {
        warn!("backfill: stopped with {} repos left", done.left);
    }
    Ok(if done.failed == 0 && done.left == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
