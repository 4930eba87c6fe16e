//! `skyindex run`: the service. Creates the database if it is missing, waits for it to answer,
//! applies migrations (or refuses to run behind them), reads the saved cursor, then runs the
//! pipeline until a signal or the end of a capture file.

use std::process::ExitCode;
use std::sync::Arc;

use log::{error, info};

use super::CommandError;
use crate::cli::RunArgs;
use crate::config::RunConfig;
use crate::db::{connect, cursor, migrate, pool, DbError};
use crate::error_chain::chain;
use crate::identity::Identities;
use crate::pipeline::{self, Outcome, Start, VerifyMode};
use crate::redact::redact;
use crate::source::SourceSpec;

pub fn run(args: &RunArgs) -> Result<ExitCode, CommandError> {
    let config = RunConfig::from_args(args)?;
    // tungstenite's rustls needs a process-wide crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stop = crate::shutdown::install().map_err(CommandError::Signals)?;
    // A missing database is created (like `diesel setup`); an unreachable server is waited for.
    match connect::ensure_database(&config.database_url) {
        Ok(()) | Err(DbError::Unreachable { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let db = pool::build(
        &config.database_url,
        config.pool_size,
        config.synchronous_commit_off,
    );
    let Some(mut keeper_conn) = pool::get_retrying(&db, &stop) else {
        return Ok(ExitCode::SUCCESS);
    };
    for version in migrate::prepare(&mut keeper_conn, config.migrate)? {
        info!("applied migration {version}");
    }
    let settings = &config.pipeline;
    let saved = cursor::read(&mut keeper_conn, &settings.service)
        .map_err(DbError::query("reading the cursor"))?;
    let (start, live) = config.cursor.resolve(saved);
    info!(
        "skyindex {} starting: source={} database={} writers={} pool={} batch={} cursor={} (saved={}) verify={} verify_handles={} plc={}",
        env!("CARGO_PKG_VERSION"),
        match &settings.source {
            SourceSpec::Relay(url) => redact(url.as_str()),
            SourceSpec::File(p) => format!("file:{}", p.display()),
        },
        redact(&config.database_url),
        settings.writers,
        config.pool_size,
        settings.batch_size,
        match (start, &settings.source) {
            (Some(c), _) => c.to_string(),
            (None, SourceSpec::Relay(_)) => "live".to_owned(),
            (None, SourceSpec::File(_)) => "start of file".to_owned(),
        },
        saved.map_or_else(|| "none".to_owned(), |c| c.to_string()),
        match settings.verify.mode {
            VerifyMode::Full => "full",
            VerifyMode::Signature => "signature",
            VerifyMode::Off => "off",
        },
        if settings.verify.handles { "on" } else { "off" },
        redact(&config.identity.plc_url),
    );
    let start = Start {
        cursor: start,
        live,
        saved,
    };
    if settings.labelers.any() {
        info!(
            "labelers: {}{}",
            settings.labelers.dids.join(","),
            match (settings.labelers.seen, settings.labelers.dids.is_empty()) {
                (true, true) => "seen",
                (true, false) => ",seen",
                (false, _) => "",
            }
        );
    }
    let identities = if settings.verify.needs_identities() || settings.labelers.any() {
        Some(Arc::new(
            Identities::new(config.identity.clone()).map_err(CommandError::Identity)?,
        ))
    } else {
        None
    };
    match pipeline::service::run(settings, &db, keeper_conn, start, identities, &stop)? {
        Outcome::Clean | Outcome::Abandoned => Ok(ExitCode::SUCCESS),
        Outcome::SourceFailed(e) => {
            error!(
                "source failed: {}; everything before it is indexed and the cursor saved",
                chain(&e)
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
