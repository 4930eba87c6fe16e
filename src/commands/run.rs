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
use crate::identity::http_ureq::UreqClient;
use crate::identity::limit::HostLimiter;
use crate::identity::{Identities, LimitConfig};
use crate::pipeline::{self, BackfillSettings, Outcome, Start, VerifyMode};
use crate::redact::redact;
use crate::source::SourceSpec;
use crate::sync::Fetcher;

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
    // The backfill scheduler takes one more connection, now and then.
    let backfill = config.pipeline.backfill.clone();
    let db = pool::build(
        &config.database_url,
        config.pool_size + u32::from(backfill.is_some()),
        config.synchronous_commit_off,
    );
    let Some(mut keeper_conn) = pool::get_retrying(&db, &stop) else {
        return Ok(ExitCode::SUCCESS);
    };
    // Before anything is written: a second instance on the same database refuses to start.
    let _owner = pipeline::owner::take(&config.database_url, config.owner_wait)?;
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
    let identities =
        if settings.verify.needs_identities() || settings.labelers.any() || backfill.is_some() {
            Some(Arc::new(
                Identities::new(config.identity.clone()).map_err(CommandError::Identity)?,
            ))
        } else {
            None
        };
    let fetcher = match (&backfill, &identities) {
        (Some(b), Some(ids)) => {
            info!(
                "backfill: {} (fetchers={} per-host rate={}/s in-flight={} max={} MiB)",
                if b.enumerate { "all" } else { "seen" },
                b.fetchers,
                b.host_rate,
                b.host_in_flight,
                b.max_bytes >> 20
            );
            Some(Arc::new(fetcher(&config, b, ids.clone())?))
        }
        _ => None,
    };
    match pipeline::service::run(
        settings,
        &db,
        keeper_conn,
        start,
        identities,
        fetcher,
        &stop,
    )? {
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

/// The getRepo client: the identity client's guard and TLS, with the backfill's own timeout,
/// size cap and per-host limits.
pub(super) fn fetcher(
    config: &RunConfig,
    b: &BackfillSettings,
    identities: Arc<Identities>,
) -> Result<Fetcher, CommandError> {
    let mut http = Identities::http_config(&config.identity).map_err(CommandError::Identity)?;
    http.total_timeout = b.timeout;
    http.read_timeout = http.read_timeout.max(std::time::Duration::from_secs(30));
    let limits = LimitConfig {
        rate_per_sec: b.host_rate,
        max_in_flight: b.host_in_flight,
        ..crate::sync::fetch::default_limits()
    };
    Ok(Fetcher {
        identities,
        http: Arc::new(UreqClient::new(&http)),
        limiter: HostLimiter::new(limits),
        relay: config.pipeline.source.http_origin(),
        relay_paused: std::sync::Mutex::new(None),
        max_bytes: b.max_bytes,
        verify_signatures: config.pipeline.verify.mode != crate::verify::VerifyMode::Off,
        spool_memory: crate::sync::spool::DEFAULT_MEMORY,
        verify_handles: config.pipeline.verify.handles,
    })
}
