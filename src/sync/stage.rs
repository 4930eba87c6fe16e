//! The backfill stage: a scheduler thread that finds repos due for a fetch and claims each
//! through the writer that owns it, and fetch threads that get the claimed repos, read them into
//! snapshots and hand those to the same writer for the cutover (or report the failure). Every
//! change to a repo's state is the owning writer's, in order with the repo's live events.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, select, unbounded, Receiver, Sender};
use log::{info, warn};

use super::enumerate::{self, EnumerateSettings};
use super::fetch::Fetcher;
use super::snapshot;
use super::writers::ToWriters;
use crate::db::pool::PgPool;
use crate::db::repos;
use crate::identity::http::HttpGet;
use crate::stats::Stats;
use crate::writer::{Envelope, SyncCommand};

#[derive(Clone)]
pub struct StageSettings {
    /// Fetch threads: repos fetched at once, overall.
    pub fetchers: usize,
    /// How often the scheduler looks for repos due when it has room.
    pub poll: Duration,
    /// The relay's repos enumerated (`--backfill all`), with the client to ask it.
    pub enumerate: Option<(EnumerateSettings, Arc<dyn HttpGet>)>,
    /// The collections kept (`--collections`): a snapshot's other records are dropped, as the
    /// live stream's are.
    pub wants: Option<Wants>,
}

pub use super::snapshot::Wants;

impl Default for StageSettings {
    fn default() -> Self {
        StageSettings {
            fetchers: 8,
            poll: Duration::from_secs(1),
            enumerate: None,
            wants: None,
        }
    }
}

pub struct Stage {
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Stage {
    /// Starts the scheduler and the fetch threads.
    pub fn start(
        settings: StageSettings,
        pool: PgPool,
        fetcher: Arc<Fetcher>,
        writers: Arc<dyn ToWriters>,
        stats: Arc<Stats>,
    ) -> std::io::Result<Stage> {
        let stop = Arc::new(AtomicBool::new(false));
        stats.backfill_on.store(true, Relaxed);
        let fetchers = settings.fetchers.max(1);
        let (job_tx, job_rx) = bounded::<String>(fetchers);
        let (done_tx, done_rx) = unbounded::<String>();
        let mut handles = Vec::new();
        for i in 0..fetchers {
            let (job_rx, done_tx) = (job_rx.clone(), done_tx.clone());
            let wants = settings.wants.clone();
            let (fetcher, writers, stats, stop) = (
                fetcher.clone(),
                writers.clone(),
                stats.clone(),
                stop.clone(),
            );
            handles.push(
                std::thread::Builder::new()
                    .name(format!("fetch-{i}"))
                    .spawn(move || {
                        let ends = Ends {
                            jobs: &job_rx,
                            done: &done_tx,
                            writers: &*writers,
                        };
                        fetch_loop(&ends, &fetcher, wants.as_ref(), &stats, &stop)
                    })?,
            );
        }
        drop((job_rx, done_tx));
        if let Some((e, http)) = settings.enumerate.clone() {
            let (pool, writers, stop) = (pool.clone(), writers.clone(), stop.clone());
            handles.push(
                std::thread::Builder::new()
                    .name("enumerate".into())
                    .spawn(move || enumerate::run(&e, &pool, &*http, &writers, &stop))?,
            );
        }
        let scheduler = Scheduler {
            settings,
            pool,
            writers,
            job_tx,
            done_rx,
            stop: stop.clone(),
            capacity: fetchers,
            stats,
        };
        handles.push(
            std::thread::Builder::new()
                .name("backfill".into())
                .spawn(move || scheduler.run())?,
        );
        Ok(Stage { handles, stop })
    }

    pub fn stop(&self) {
        self.stop.store(true, Relaxed);
    }

    pub fn join(self) {
        self.stop();
        for h in self.handles {
            let _ = h.join();
        }
    }
}

struct Scheduler {
    settings: StageSettings,
    pool: PgPool,
    writers: Arc<dyn ToWriters>,
    job_tx: Sender<String>,
    done_rx: Receiver<String>,
    stop: Arc<AtomicBool>,
    /// Repos claimed or fetched at once, at most.
    capacity: usize,
    stats: Arc<Stats>,
}

impl Scheduler {
    fn run(self) {
        let (claim_tx, claim_rx) = unbounded::<(String, bool)>();
        // Claimed or being fetched: not asked for again until its fetch is done.
        let mut pending: HashSet<String> = HashSet::new();
        // Repos left `resyncing` by a process that died mid-fetch are claimed again first.
        let mut reclaim = true;
        let mut next_poll = Instant::now();
        while !self.stop.load(Relaxed) {
            if Instant::now() >= next_poll && pending.len() < self.capacity {
                next_poll = Instant::now() + self.settings.poll;
                let room = (self.capacity - pending.len()) as i64;
                let due = match self.pool.get() {
                    Ok(mut conn) if reclaim => repos::resyncing(&mut conn, 10_000),
                    Ok(mut conn) => repos::due(&mut conn, room + pending.len() as i64),
                    Err(e) => {
                        warn!("backfill: no database connection ({e})");
                        Ok(Vec::new())
                    }
                };
                match due {
                    Ok(dids) => {
                        for did in dids {
                            if pending.len() >= self.capacity && !reclaim {
                                break;
                            }
                            if !pending.insert(did.clone()) {
                                continue;
                            }
                            let claim = SyncCommand::Claim {
                                did: did.clone(),
                                reclaim,
                                reply: claim_tx.clone(),
                            };
                            if !self.writers.send(&did, Envelope::sync(claim), &self.stop) {
                                return;
                            }
                        }
                        reclaim = false;
                    }
                    Err(e) => warn!("backfill: looking for repos due failed ({e})"),
                }
            }
            self.stats
                .repos_in_flight
                .store(pending.len() as u64, Relaxed);
            select! {
                recv(claim_rx) -> msg => if let Ok((did, taken)) = msg {
                    if !taken {
                        pending.remove(&did);
                    } else if self.job_tx.send(did).is_err() {
                        return;
                    }
                },
                recv(self.done_rx) -> msg => if let Ok(did) = msg {
                    pending.remove(&did);
                },
                default(Duration::from_millis(100)) => {}
            }
        }
        info!(
            "backfill: stopped with {} repos claimed or in flight",
            pending.len()
        );
    }
}

/// Where a fetch thread gets its repos and sends what it made of them.
struct Ends<'a> {
    jobs: &'a Receiver<String>,
    done: &'a Sender<String>,
    writers: &'a dyn ToWriters,
}

fn fetch_loop(
    ends: &Ends<'_>,
    fetcher: &Fetcher,
    wants: Option<&Wants>,
    stats: &Stats,
    stop: &AtomicBool,
) {
    let Ends {
        jobs,
        done,
        writers,
    } = ends;
    while let Ok(did) = jobs.recv() {
        if stop.load(Relaxed) {
            break;
        }
        let fetched_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let started = Instant::now();
        let command = match fetcher.fetch(&did) {
            Ok(f) => {
                let fetched = started.elapsed();
                let bytes = f.body.len();
                let spooled = matches!(f.body, super::spool::Spooled::File { .. });
                Stats::add(&stats.fetch_bytes, bytes);
                let read = snapshot::read_spooled(
                    &did,
                    f.body,
                    &f.host,
                    &fetched_at,
                    wants,
                    f.key.as_ref(),
                );
                match read {
                    Ok(mut snap) => {
                        snap.handle = f.handle;
                        // A repo too large for memory is worth a line of its own: where its
                        // time went before the writer's cutover.
                        if spooled {
                            info!(
                                "backfill: did={did} host={} {bytes} bytes on disk, fetched in {:.1} s, read ({} records) in {:.1} s",
                                f.host,
                                fetched.as_secs_f64(),
                                snap.len(),
                                (started.elapsed() - fetched).as_secs_f64()
                            );
                        }
                        SyncCommand::Snapshot(snap)
                    }
                    Err(e) => {
                        warn!(
                            "backfill: did={did} host={} unusable repository: {e}",
                            f.host
                        );
                        SyncCommand::Failed {
                            did: did.clone(),
                            reason: e.to_string(),
                            hosting: None,
                            retry_in: None,
                        }
                    }
                }
            }
            Err(e) => {
                warn!("backfill: did={did} fetch failed: {e}");
                SyncCommand::Failed {
                    did: did.clone(),
                    reason: e.to_string(),
                    hosting: e.hosting(),
                    retry_in: e.retry_after(),
                }
            }
        };
        crate::crashpoint::reached("fetched");
        let sent = writers.send(&did, Envelope::sync(command), stop);
        let _ = done.send(did);
        if !sent {
            break;
        }
    }
}
