//! The pipeline's threads, wired and run with an explicit stop protocol:
//!
//! ```text
//! source thread ──raw frames──▶ decode stage (rayon, in order) ─triage─route─▶ N writer threads ──▶ PostgreSQL
//!                                                          progress ◀── done ──┘
//! keeper thread: saves progress.watermark() every second and at the end; stats line; watchdog
//! labeler threads (labelers.rs) ──labels──▶ the same writers, each labeler with its own progress
//! ```
//!
//! Stop: a signal (or the end of a capture file) stops the source; the decode stage returns and
//! drops the router and the labelers close theirs, which closes the writers' channels; writers
//! drain what they hold and exit; the keeper saves the final watermarks. If draining takes
//! longer than the shutdown timeout we return without the writers (the process then exits):
//! the saved cursors cover only committed work, so nothing is lost, only replayed.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};
use log::{info, warn};
use thiserror::Error;

use super::decode_stage;
use super::filter::CollectionFilter;
use super::keeper::Keeper;
use super::labelers::{LabelRouter, LabelerSettings, Labelers};
use super::progress::Progress;
use super::route::Router;
use super::tracked::Tracked;
use super::triage::Triage;
use crate::db::pool::{PgPool, PgPooled};
use crate::identity::Identities;
use crate::source::capture::CaptureError;
use crate::source::websocket::RelayConfig;
use crate::source::{self, SourceSpec};
use crate::stats::Stats;
use crate::sync::{EnumerateSettings, Fetcher, Stage, StageSettings};
use crate::verify::{Verifier, VerifySettings};
use crate::writer::worker::{Writer, WriterConfig};
use crate::writer::{Envelope, Indexing};

/// Raw frames buffered between the source and the decode stage.
const RAW_CAPACITY: usize = 1024;
/// How long shutdown waits for labeler readers once the writers are done (they hold nothing
/// the exit needs; one stuck in a DID document fetch is left to finish on its own).
const LABELERS_JOIN: Duration = Duration::from_secs(2);

/// What the pipeline runs with (the validated part of `run`'s configuration it needs).
#[derive(Debug, Clone)]
pub struct Settings {
    pub source: SourceSpec,
    /// The `firehose_cursor` key.
    pub service: String,
    pub writers: usize,
    pub batch_size: usize,
    pub batch_wait: Duration,
    /// Accounts' rows kept in memory by all the writers together (`--account-cache`).
    pub user_cache: usize,
    pub channel_capacity: usize,
    pub stats_interval: Duration,
    pub stall_timeout: Duration,
    pub shutdown_timeout: Duration,
    pub filter: Option<CollectionFilter>,
    pub verify: VerifySettings,
    pub indexing: Indexing,
    pub labelers: LabelerSettings,
    /// Backfill and repair, when on.
    pub backfill: Option<BackfillSettings>,
    /// Index only the accounts `skyindex track` named.
    pub only_tracked: bool,
}

/// `--backfill seen`'s settings.
#[derive(Debug, Clone)]
pub struct BackfillSettings {
    pub fetchers: usize,
    pub host_rate: f64,
    pub host_in_flight: usize,
    pub max_bytes: usize,
    pub timeout: Duration,
    /// `all`: the relay's repos are enumerated too, every `interval`.
    pub enumerate: bool,
    pub interval: Duration,
    /// Only repos holding these collections are tracked (listReposByCollection).
    pub collections: Vec<String>,
}

/// Where the stream starts.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    /// Everything at or below this seq is committed already.
    pub cursor: Option<i64>,
    /// The first relay connection starts at the live tip.
    pub live: bool,
    /// The cursor the database holds now.
    pub saved: Option<i64>,
}

/// How the pipeline ended.
#[derive(Debug)]
pub enum Outcome {
    /// Stopped by a signal, or a capture file indexed to its end.
    Clean,
    /// A capture file was damaged: everything before the damage is indexed.
    SourceFailed(CaptureError),
    /// The writers did not drain within the shutdown timeout; they are abandoned (still
    /// running) and the process should exit. The saved cursor covers only committed work.
    Abandoned,
}

#[derive(Debug, Error)]
#[error("starting the {0} thread")]
pub struct SpawnError(pub &'static str, #[source] pub std::io::Error);

/// Runs the pipeline until the source ends or `stop`; `keeper_conn` is the connection the cursor
/// is saved through (the writers take theirs from `pool`). `identities` is how verification
/// finds keys and handles, and labelers their endpoints and keys (needed unless
/// `settings.verify` asks for nothing and no labeler is followed).
pub fn run(
    settings: &Settings,
    pool: &PgPool,
    keeper_conn: PgPooled,
    start: Start,
    identities: Option<Arc<Identities>>,
    fetcher: Option<Arc<Fetcher>>,
    stop: &Arc<AtomicBool>,
) -> Result<Outcome, SpawnError> {
    let verifier = identities
        .clone()
        .filter(|_| settings.verify.needs_identities())
        .map(|ids| Verifier::new(settings.verify, ids, stop.clone()));
    let tracked = match settings.only_tracked {
        // Without the set, nothing could be told apart: the run does not start.
        true => Some(
            Tracked::load(pool)
                .map_err(|e| SpawnError("tracked", std::io::Error::other(e.to_string())))?,
        ),
        false => None,
    };
    if let Some(t) = &tracked {
        info!("--only-tracked: {} accounts tracked", t.len());
    }
    let started = Instant::now();
    let progress = Arc::new(Progress::new(start.cursor));
    let stats = Arc::new(Stats::new());
    let Writers {
        handles: writer_handles,
        router,
        probe,
        label_senders,
    } = start_writers(settings, pool, &progress, &stats)?;
    // The backfill stage reaches the writers as the labelers do: through a router it closes
    // when it stops, so the writers can end.
    let sync_router = Arc::new(LabelRouter::new(label_senders.clone()));
    let outdated = Arc::new(AtomicBool::new(false));
    let backfill = match (&settings.backfill, fetcher) {
        (Some(b), Some(fetcher)) => Some(
            Stage::start(
                StageSettings {
                    fetchers: b.fetchers,
                    enumerate: enumerate_settings(settings, b, start, &outdated).map(|mut e| {
                        e.identities = identities.clone().map(|ids| (ids, settings.verify.handles));
                        (e, fetcher.http.clone())
                    }),
                    wants: wants_of(settings),
                    ..StageSettings::default()
                },
                pool.clone(),
                fetcher,
                sync_router.clone(),
                stats.clone(),
            )
            .map_err(|e| SpawnError("backfill", e))?,
        ),
        _ => {
            sync_router.close();
            None
        }
    };
    let labelers = identities.filter(|_| settings.labelers.any()).map(|ids| {
        Labelers::new(
            settings.labelers.clone(),
            ids,
            LabelRouter::new(label_senders),
            stats.clone(),
        )
    });
    // Clones of the writers' receivers (not senders: those would keep the writers waiting),
    // only to read queue lengths for the stats line.
    let queued = move || probe.iter().map(|r| r.len()).sum::<usize>();
    let (raw_tx, raw_rx) = bounded::<source::SourceMsg>(RAW_CAPACITY);
    let writers_done = AtomicBool::new(false);
    let tracked_done = AtomicBool::new(false);

    let (outcome, saved) = std::thread::scope(|s| -> Result<_, SpawnError> {
        spawn_source(s, settings, start.live, &progress, &stats, raw_tx, stop)?;
        let keeper = Keeper {
            pool,
            conn: Some(keeper_conn),
            service: &settings.service,
            progress: &progress,
            stats: &stats,
            stats_interval: settings.stats_interval,
            writers: settings.writers,
            queued: &queued,
            saved: start.saved,
            labelers: labelers.as_ref(),
        };
        let writers_done = &writers_done;
        let keeper = std::thread::Builder::new()
            .name("cursor".into())
            .spawn_scoped(s, move || keeper.run(writers_done))
            .map_err(|e| SpawnError("cursor", e))?;

        // The decode stage runs here, on the scope's own thread.
        let mut triage = Triage {
            router: &router,
            stats: &stats,
            skip_through: match settings.source {
                SourceSpec::File(_) => start.cursor,
                SourceSpec::Relay(_) => None,
            },
            filter: settings.filter.clone(),
            last_seq: start.cursor,
            outdated: settings
                .backfill
                .as_ref()
                .filter(|b| b.enumerate)
                .map(|_| &*outdated),
        };
        if let Some(t) = &tracked {
            let (pool, done) = (pool, &tracked_done);
            std::thread::Builder::new()
                .name("tracked".into())
                .spawn_scoped(s, move || t.keep_fresh(pool, done))
                .map_err(|e| SpawnError("tracked", e))?;
        }
        let ended = decode_stage::run(
            &raw_rx,
            stop,
            &mut triage,
            verifier.as_ref(),
            tracked.as_ref(),
        );
        tracked_done.store(true, Relaxed);
        // Whatever ended the decode stage, the source must stop too: its next send fails.
        drop(raw_rx);
        if stop.load(Relaxed) {
            crate::notify::stopping();
            info!("stopping: draining {} queued events", router.queued());
        }
        drop(triage);
        drop(router);
        if let Some(l) = &labelers {
            l.stop();
        }
        if let Some(b) = &backfill {
            b.stop();
        }
        sync_router.close();

        let drained = drain(writer_handles, settings.shutdown_timeout, stop, &progress);
        writers_done.store(true, Relaxed);
        let saved = keeper.join().ok().flatten();
        if let Some(l) = &labelers {
            l.join(LABELERS_JOIN);
        }
        if let Some(b) = backfill {
            b.join();
        }
        if !drained {
            info!(
                "stopped: saved cursor={}",
                saved.map_or_else(|| "-".to_owned(), |c| c.to_string())
            );
            return Ok((Outcome::Abandoned, saved));
        }
        let outcome = match ended {
            Ok(()) => Outcome::Clean,
            Err(e) => Outcome::SourceFailed(e),
        };
        Ok((outcome, saved))
    })?;
    if matches!(outcome, Outcome::Abandoned) {
        return Ok(outcome);
    }
    info!("totals {} {}", stats.summary(), stats.labels_summary());
    if settings.backfill.is_some() {
        info!("backfill totals {}", stats.backfill_summary());
    }
    info!(
        "stopped after {:.1} s: {} events committed, cursor={}",
        started.elapsed().as_secs_f64(),
        stats.committed.load(Relaxed),
        // What the database holds, which is what the next start resumes from.
        saved.map_or_else(|| "-".to_owned(), |c| c.to_string())
    );
    Ok(outcome)
}

/// `--backfill all` on a relay: its HTTP origin, and whether to enumerate now (the stream
/// starts without a saved cursor, so it may have missed anything).
fn enumerate_settings(
    settings: &Settings,
    b: &BackfillSettings,
    start: Start,
    outdated: &Arc<AtomicBool>,
) -> Option<EnumerateSettings> {
    if !b.enumerate {
        return None;
    }
    let base = settings.source.http_origin()?;
    Some(EnumerateSettings {
        base,
        service: settings.service.clone(),
        interval: b.interval,
        now: start.saved.is_none(),
        outdated: outdated.clone(),
        identities: None,
        collections: b.collections.clone(),
    })
}

/// The running writers: their threads, the router that feeds them, clones of their
/// receivers (to read queue lengths), and clones of their senders for the labelers.
pub(super) struct Writers {
    pub(super) handles: Vec<JoinHandle<()>>,
    pub(super) router: Router,
    pub(super) probe: Vec<Receiver<Envelope>>,
    pub(super) label_senders: Vec<Sender<Envelope>>,
}

/// Starts the writers (not scoped: writers stuck on the database past the shutdown timeout are
/// left behind rather than waited for) and the router that feeds them.
pub(super) fn start_writers(
    settings: &Settings,
    pool: &PgPool,
    progress: &Arc<Progress>,
    stats: &Arc<Stats>,
) -> Result<Writers, SpawnError> {
    let config = WriterConfig {
        batch_size: settings.batch_size,
        batch_wait: settings.batch_wait,
        indexing: settings.indexing,
        user_cache: settings.user_cache / settings.writers.max(1),
    };
    let mut senders = Vec::with_capacity(settings.writers);
    let mut handles = Vec::with_capacity(settings.writers);
    let mut probe = Vec::with_capacity(settings.writers);
    for id in 0..settings.writers {
        let (tx, rx) = bounded(settings.channel_capacity);
        senders.push(tx);
        probe.push(rx.clone());
        let w = Writer::new(
            id,
            rx,
            pool.clone(),
            progress.clone(),
            stats.clone(),
            config,
        );
        let handle = std::thread::Builder::new()
            .name(format!("writer-{id}"))
            .spawn(move || w.run())
            .map_err(|e| SpawnError("writer", e))?;
        handles.push(handle);
    }
    Ok(Writers {
        handles,
        label_senders: senders.clone(),
        router: Router::new(senders, progress.clone()),
        probe,
    })
}

fn spawn_source<'s>(
    s: &'s std::thread::Scope<'s, '_>,
    settings: &'s Settings,
    start_live: bool,
    progress: &'s Progress,
    stats: &'s Stats,
    out: crossbeam_channel::Sender<source::SourceMsg>,
    stop: &'s AtomicBool,
) -> Result<(), SpawnError> {
    let ready = || crate::notify::ready();
    std::thread::Builder::new()
        .name("source".into())
        .spawn_scoped(s, move || match &settings.source {
            SourceSpec::Relay(endpoint) => {
                let relay = RelayConfig {
                    endpoint: endpoint.clone(),
                    stall_timeout: settings.stall_timeout,
                    start_live,
                };
                // READY once, on the first connection.
                let once = std::sync::Once::new();
                let connected = || once.call_once(ready);
                source::websocket::run(&relay, progress, &out, stop, stats, &connected);
            }
            SourceSpec::File(path) => {
                ready();
                source::capture::run_file(path, &out, stop);
            }
        })
        .map(drop)
        .map_err(|e| SpawnError("source", e))
}

/// Waits for the writers to drain; bounded by the shutdown timeout once a signal asked us to
/// stop. False when they did not finish in time.
fn drain(
    handles: Vec<JoinHandle<()>>,
    timeout: Duration,
    stop: &AtomicBool,
    progress: &Progress,
) -> bool {
    let deadline = Instant::now() + timeout;
    while handles.iter().any(|h| !h.is_finished()) {
        if stop.load(Relaxed) && Instant::now() >= deadline {
            let (cursor, _) = progress.watermark();
            warn!(
                "writers did not drain within {} s; exiting with cursor={} (uncommitted work will be replayed)",
                timeout.as_secs_f64(),
                cursor.map_or_else(|| "-".to_owned(), |c| c.to_string())
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for h in handles {
        let _ = h.join();
    }
    true
}

/// The `--collections` filter, for the snapshots' records.
pub(super) fn wants_of(settings: &Settings) -> Option<crate::sync::stage::Wants> {
    settings.filter.clone().map(|f| {
        let wants: crate::sync::stage::Wants = Arc::new(move |c: &str| f.wants(c));
        wants
    })
}
