//! `skyindex run`: wires the stages together and runs them in a thread scope with an explicit
//! stop protocol:
//!
//! ```text
//! source thread ──raw frames──▶ dispatch (decode, rayon) ──route──▶ N writer threads ──▶ PostgreSQL
//!                                                   progress ◀── done ──┘
//! cursor keeper: saves progress.watermark() every second and at the end; stats line; watchdog
//! ```
//!
//! Stop: a signal (or the end of a capture file) stops the source; dispatch returns and drops the
//! router, which closes the writers' channels; writers drain what they hold and exit; the cursor
//! keeper saves the final watermark. If draining takes longer than the shutdown timeout we exit
//! anyway: the saved cursor covers only committed work, so nothing is lost, only replayed.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use diesel::pg::PgConnection;
use log::{error, info, warn};

use crate::backoff::Backoff;
use crate::config::{redact, CursorStart, RunConfig, SourceSpec};
use crate::db::{cursor, migrate, pool};
use crate::dispatch::Dispatcher;
use crate::progress::Progress;
use crate::route::Router;
use crate::source::{self, websocket::RelayConfig};
use crate::stats::{self, Stats};
use crate::writer::worker::{Writer, WriterConfig};

/// How `run` ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stopped by a signal, or a capture file indexed to its end.
    Clean,
    /// A capture file was damaged: everything before the damage is indexed.
    SourceError(String),
}

/// Connects, retrying with backoff until the database answers or we are told to stop.
fn connect_db(pool: &pool::PgPool, stop: &AtomicBool) -> Option<pool::PgPooled> {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        match pool.get() {
            Ok(conn) => return Some(conn),
            Err(e) => {
                let wait = backoff.next_delay();
                warn!(
                    "database unreachable ({e}); retry {} in {} ms",
                    backoff.attempts(),
                    wait.as_millis()
                );
                let until = Instant::now() + wait;
                while Instant::now() < until {
                    if stop.load(Relaxed) {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

fn prepare_schema(conn: &mut PgConnection, config: &RunConfig) -> Result<(), String> {
    if config.migrate {
        let applied =
            migrate::run_pending(conn).map_err(|e| format!("applying migrations: {e}"))?;
        for version in applied {
            info!("applied migration {version}");
        }
        return Ok(());
    }
    let pending = migrate::pending(conn).map_err(|e| format!("checking migrations: {e}"))?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "--no-migrate: {} migration(s) pending ({}); apply them with `diesel migration run` or `skyindex migrate`",
            pending.len(),
            pending.join(", ")
        ))
    }
}

pub fn run(config: &RunConfig, stop: Arc<AtomicBool>) -> Result<Outcome, String> {
    let started = Instant::now();
    // A missing database is created (like `diesel setup`); an unreachable server is retried below.
    if let Err(e) = crate::db::setup::ensure_database(&config.database_url) {
        if !e.contains("unreachable") {
            return Err(e);
        }
    }
    let db = pool::build(
        &config.database_url,
        config.pool_size,
        config.synchronous_commit_off,
    );
    let Some(mut keeper_conn) = connect_db(&db, &stop) else {
        return Ok(Outcome::Clean);
    };
    prepare_schema(&mut keeper_conn, config)?;
    let saved = cursor::read(&mut keeper_conn, &config.service)
        .map_err(|e| format!("reading the cursor: {e}"))?;
    let (start, start_live) = match config.cursor {
        CursorStart::At(n) => (Some(n), false),
        CursorStart::Live => (None, true),
        CursorStart::Saved => (saved, saved.is_none()),
    };
    let source_desc = match &config.source {
        SourceSpec::Relay(url) => redact(url.as_str()),
        SourceSpec::File(p) => format!("file:{}", p.display()),
    };
    info!(
        "skyindex {} starting: source={} database={} writers={} pool={} batch={} cursor={} (saved={})",
        env!("CARGO_PKG_VERSION"),
        source_desc,
        redact(&config.database_url),
        config.writers,
        config.pool_size,
        config.batch_size,
        match (start, &config.source) {
            (Some(c), _) => c.to_string(),
            (None, SourceSpec::Relay(_)) => "live".to_owned(),
            (None, SourceSpec::File(_)) => "start of file".to_owned(),
        },
        saved.map_or_else(|| "none".to_owned(), |c| c.to_string()),
    );

    let progress = Arc::new(Progress::new(start));
    let stats = Arc::new(Stats::new());
    let writer_config = WriterConfig {
        batch_size: config.batch_size,
        batch_wait: config.batch_wait,
    };
    let mut senders = Vec::with_capacity(config.writers);
    let mut receivers = Vec::with_capacity(config.writers);
    for _ in 0..config.writers {
        let (tx, rx) = bounded(config.channel_capacity);
        senders.push(tx);
        receivers.push(rx);
    }
    // Clones of the writers' receivers, only to read queue lengths for the stats line.
    let queue_probe: Vec<_> = receivers.clone();
    let queued = move || queue_probe.iter().map(|r| r.len()).sum::<usize>();
    let router = Router::new(senders, progress.clone());
    let (raw_tx, raw_rx) = bounded::<source::SourceMsg>(1024);
    let writers_done = AtomicBool::new(false);
    let ready_sent = AtomicBool::new(false);

    let outcome = std::thread::scope(|s| -> Result<(Outcome, Option<i64>), String> {
        // Writers: each takes one connection from the pool when it first needs it.
        let mut writer_handles = Vec::new();
        for (id, rx) in receivers.into_iter().enumerate() {
            let w = Writer::new(
                id,
                rx,
                db.clone(),
                progress.clone(),
                stats.clone(),
                writer_config,
            );
            let handle = std::thread::Builder::new()
                .name(format!("writer-{id}"))
                .spawn_scoped(s, move || w.run())
                .map_err(|e| format!("starting writer thread: {e}"))?;
            writer_handles.push(handle);
        }

        // Source.
        let stop_ref = &*stop;
        let progress_ref = &progress;
        let stats_ref = &stats;
        let ready_ref = &ready_sent;
        let source_config = config.source.clone();
        let stall_timeout = config.stall_timeout;
        std::thread::Builder::new()
            .name("source".into())
            .spawn_scoped(s, move || match source_config {
                SourceSpec::Relay(endpoint) => {
                    let relay = RelayConfig {
                        endpoint,
                        stall_timeout,
                        start_live,
                    };
                    let connected = || {
                        if !ready_ref.swap(true, Relaxed) {
                            crate::notify::ready();
                        }
                    };
                    source::websocket::run(
                        &relay,
                        progress_ref,
                        &raw_tx,
                        stop_ref,
                        stats_ref,
                        &connected,
                    );
                }
                SourceSpec::File(path) => {
                    if !ready_ref.swap(true, Relaxed) {
                        crate::notify::ready();
                    }
                    source::capture::run_file(&path, &raw_tx, stop_ref);
                }
            })
            .map_err(|e| format!("starting source thread: {e}"))?;

        // Cursor keeper, stats line and watchdog.
        let keeper = std::thread::Builder::new()
            .name("cursor".into())
            .spawn_scoped(s, || {
                keep_cursor(
                    &db,
                    keeper_conn,
                    config,
                    &progress,
                    &stats,
                    &queued,
                    &writers_done,
                    saved,
                )
            })
            .map_err(|e| format!("starting cursor thread: {e}"))?;

        // Dispatch runs here, on the scope's own thread.
        let dispatcher = Dispatcher {
            router: &router,
            stats: &stats,
            skip_through: match config.source {
                SourceSpec::File(_) => start,
                SourceSpec::Relay(_) => None,
            },
            filter: config.filter.clone(),
            last_seq: std::cell::Cell::new(start),
        };
        let ended = dispatcher.run(&raw_rx, &stop);
        // Whatever ended dispatch, the source must stop too: its next send fails.
        drop(raw_rx);
        if stop.load(Relaxed) {
            crate::notify::stopping();
            info!("stopping: draining {} queued events", router.queued());
        }
        drop(dispatcher);
        drop(router);

        // Writers drain; bounded by the shutdown timeout once a signal asked us to stop.
        let deadline = Instant::now() + config.shutdown_timeout;
        while writer_handles.iter().any(|h| !h.is_finished()) {
            if stop.load(Relaxed) && Instant::now() >= deadline {
                let (cursor, _) = progress.watermark();
                warn!(
                    "writers did not drain within {} s; exiting with cursor={} (uncommitted work will be replayed)",
                    config.shutdown_timeout.as_secs_f64(),
                    cursor.map_or_else(|| "-".to_owned(), |c| c.to_string())
                );
                writers_done.store(true, Relaxed);
                // The keeper saves the watermark on its way out; then leave without waiting for
                // writers stuck on the database.
                let saved = keeper.join().ok().flatten();
                info!(
                    "stopped: saved cursor={}",
                    saved.map_or_else(|| "-".to_owned(), |c| c.to_string())
                );
                std::process::exit(0);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for h in writer_handles {
            let _ = h.join();
        }
        writers_done.store(true, Relaxed);
        let saved = keeper.join().ok().flatten();
        let outcome = match ended {
            Ok(()) => Outcome::Clean,
            Err(e) => Outcome::SourceError(e),
        };
        Ok((outcome, saved))
    })?;
    let (outcome, saved) = outcome;
    info!("totals {}", stats.summary());
    info!(
        "stopped after {:.1} s: {} events committed, cursor={}",
        started.elapsed().as_secs_f64(),
        stats.committed.load(Relaxed),
        // What the database holds, which is what the next start resumes from.
        saved.map_or_else(|| "-".to_owned(), |c| c.to_string())
    );
    Ok(outcome)
}

/// Saves the watermark at least every second, logs the stats line, pings the watchdog while the
/// pipeline makes progress (or has nothing to do), and saves once more when the writers are done.
#[allow(clippy::too_many_arguments)]
fn keep_cursor(
    pool: &pool::PgPool,
    conn: pool::PgPooled,
    config: &RunConfig,
    progress: &Progress,
    stats: &Stats,
    queued: &dyn Fn() -> usize,
    writers_done: &AtomicBool,
    in_database: Option<i64>,
) -> Option<i64> {
    let tick = Duration::from_millis(250);
    let mut conn = Some(conn);
    let mut saved: Option<i64> = in_database;
    let mut last_save = Instant::now();
    let mut last_stats = Instant::now();
    let mut prev = stats::Snapshot::take(stats);
    let mut last_committed = 0;
    let watchdog = crate::notify::watchdog_interval();
    let mut last_ping = Instant::now();
    loop {
        let done = writers_done.load(Relaxed);
        if done || last_save.elapsed() >= Duration::from_secs(1) {
            let (cursor, time) = progress.watermark();
            if let Some(c) = cursor {
                if saved != Some(c) {
                    // The last save is the one a restart resumes from: retry it for a while.
                    let attempts = if done { 10 } else { 1 };
                    let mut backoff =
                        Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
                    for attempt in 1..=attempts {
                        match save(pool, &mut conn, &config.service, c, time) {
                            Ok(()) => {
                                saved = Some(c);
                                break;
                            }
                            Err(e) if attempt < attempts => {
                                warn!("saving cursor={c} failed (retrying): {e}");
                                std::thread::sleep(backoff.next_delay());
                            }
                            Err(e) if done => error!(
                                "saving the final cursor={c} failed: {e}; the database keeps cursor={} and the events after it will be replayed",
                                saved.map_or_else(|| "(none saved by this run)".to_owned(), |s| s.to_string())
                            ),
                            Err(e) => error!("saving cursor={c} failed (will retry): {e}"),
                        }
                    }
                }
            }
            last_save = Instant::now();
        }
        if let Some(interval) = watchdog {
            let committed = stats.committed.load(Relaxed);
            let progressing = committed != last_committed || progress.in_flight() == 0;
            if progressing && last_ping.elapsed() >= interval / 2 {
                crate::notify::watchdog();
                last_ping = Instant::now();
                last_committed = committed;
            }
        }
        if last_stats.elapsed() >= config.stats_interval || done {
            let now = stats::Snapshot::take(stats);
            let ctx = stats::LineContext {
                queue: queued(),
                in_flight: progress.in_flight(),
                cursor: saved,
                writers: config.writers,
                now_us: chrono::Utc::now().timestamp_micros(),
            };
            info!(
                "{}",
                stats::line(stats, &prev, &now, last_stats.elapsed(), &ctx)
            );
            prev = now;
            last_stats = Instant::now();
        }
        if done {
            return saved;
        }
        std::thread::sleep(tick);
    }
}

/// Saves the cursor on the keeper's connection, replacing the connection when it has failed
/// (a terminated backend, a restarted server).
fn save(
    pool: &pool::PgPool,
    conn: &mut Option<pool::PgPooled>,
    service: &str,
    seq: i64,
    time: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), String> {
    let mut c = match conn.take() {
        Some(c) => c,
        None => pool.get().map_err(|e| e.to_string())?,
    };
    cursor::write(&mut c, service, seq, time).map_err(|e| e.to_string())?;
    *conn = Some(c);
    Ok(())
}
