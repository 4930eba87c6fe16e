//! The labelers in the pipeline: which ones are followed (`--labelers DID,…`, or `seen`: every
//! account whose `app.bsky.labeler.service` record we hold, looked for again every
//! `--labelers-rescan`), one reader thread each (`labels::Reader`), each with its own watermark
//! (`Progress`) and cursor row (`labels:<DID>` in `firehose_cursor`), and the way their
//! batches reach the writers: all of one labeler's to one writer (`hash(DID)`), so they apply
//! in seq order.
//!
//! The keeper thread drives the database side ([`Labelers::tick`], on its own connection: the
//! pool has no other to spare): starting labelers with their saved cursors, and saving each
//! cursor after the data it covers, by the firehose's rule.
//!
//! Readers send through a [`LabelRouter`] that shutdown can close: a reader stuck somewhere
//! (a slow DID document fetch) then holds no sender, and cannot keep the writers from ending.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{SendTimeoutError, Sender};
use diesel::PgConnection;
use log::{info, warn};

use super::progress::Progress;
use crate::db::{cursor, labels as db_labels, DbError};
use crate::identity::Identities;
use crate::labels::{Batch, LabelSink, LabelerStats, Reader, ReaderConfig};
use crate::stats::Stats;
use crate::writer::writer_for;
use crate::writer::{Envelope, LabelBatch, Payload};

/// `--labelers` and the settings of their readers.
#[derive(Debug, Clone, Default)]
pub struct LabelerSettings {
    /// Labelers named on the command line.
    pub dids: Vec<String>,
    /// Also every labeler whose service record we hold.
    pub seen: bool,
    /// How often `seen` looks for new labelers.
    pub rescan: Duration,
    pub stall_timeout: Duration,
    pub allow_private_hosts: bool,
}

impl LabelerSettings {
    pub fn any(&self) -> bool {
        self.seen || !self.dids.is_empty()
    }
}

/// The `firehose_cursor` row of a labeler.
pub fn service_of(did: &str) -> String {
    format!("{}{did}", crate::db::status::LABELER_CURSOR_PREFIX)
}

/// Labelers started per keeper tick (a second) at most. Each start fetches a DID document
/// through the same per-host rate limit as the firehose's verification (default 10 a second
/// toward the PLC directory), so a `seen` that finds hundreds of labelers must not queue them
/// all ahead of the firehose's keys: they start over minutes instead.
const STARTS_PER_TICK: usize = 5;

/// Labelers logged one line each beside the `stats` line; more get one line for all.
const MAX_LINES: usize = 20;

/// How often a blocked send wakes up to look at the stop flag (and lets shutdown close).
const SEND_TICK: Duration = Duration::from_millis(200);

/// The writers' channels as the labelers use them; closed at shutdown.
pub struct LabelRouter {
    senders: RwLock<Option<Vec<Sender<Envelope>>>>,
}

impl LabelRouter {
    pub fn new(senders: Vec<Sender<Envelope>>) -> LabelRouter {
        LabelRouter {
            senders: RwLock::new(Some(senders)),
        }
    }

    /// Hands `envelope` to the writer that owns `did`, waiting while its channel is full. The
    /// lock is held for one wait of a tick at most, so `close` is never held up for long.
    fn send(&self, did: &str, mut envelope: Envelope, stop: &AtomicBool) -> bool {
        loop {
            let guard = self.senders.read().unwrap_or_else(|p| p.into_inner());
            let Some(senders) = guard.as_ref() else {
                return false;
            };
            let sender = &senders[writer_for(did, senders.len())];
            match sender.send_timeout(envelope, SEND_TICK) {
                Ok(()) => return true,
                Err(SendTimeoutError::Timeout(e)) => envelope = e,
                Err(SendTimeoutError::Disconnected(_)) => return false,
            }
            drop(guard);
            if stop.load(Relaxed) {
                return false;
            }
        }
    }

    /// Drops the senders: the writers end once the firehose's router is gone too.
    pub fn close(&self) {
        self.senders
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
}

impl crate::sync::ToWriters for LabelRouter {
    fn send(&self, did: &str, envelope: Envelope, stop: &AtomicBool) -> bool {
        LabelRouter::send(self, did, envelope, stop)
    }

    fn writers(&self) -> usize {
        self.senders
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, Vec::len)
    }
}

/// One labeler followed.
pub struct Followed {
    pub did: Arc<str>,
    pub service: String,
    pub progress: Arc<Progress>,
    pub stats: Arc<LabelerStats>,
    /// The cursor the database holds for it.
    saved: Mutex<Option<i64>>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Followed {
    pub fn saved(&self) -> Option<i64> {
        *self.saved.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A reader's way to the writers: its labeler's watermark, then the writer owning the labeler.
struct ToWriter {
    router: Arc<LabelRouter>,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
}

impl LabelSink for ToWriter {
    fn send(&self, batch: Batch) -> bool {
        let ticket = self.progress.register(batch.seq, batch.time());
        let received = batch.received;
        let did = batch.labeler.clone();
        let envelope = Envelope {
            ticket,
            payload: Payload::Labels(Box::new(LabelBatch {
                batch,
                ledger: self.progress.clone(),
            })),
            received,
        };
        // Not sent: the ticket stays open, so the cursor never passes this frame and it is
        // read again on the next start.
        self.router.send(&did, envelope, &self.stop)
    }

    fn pass(&self, seq: i64) {
        let ticket = self.progress.register(seq, None);
        self.progress.done(ticket);
    }
}

/// Every labeler followed, their readers and cursors.
pub struct Labelers {
    settings: LabelerSettings,
    identities: Arc<Identities>,
    router: Arc<LabelRouter>,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    followed: Mutex<Vec<Arc<Followed>>>,
    /// When `seen` last looked (`None`: not yet).
    scanned: Mutex<Option<Instant>>,
    /// Labelers wanted and not started yet, in the order found.
    pending: Mutex<VecDeque<String>>,
}

impl Labelers {
    pub fn new(
        settings: LabelerSettings,
        identities: Arc<Identities>,
        router: LabelRouter,
        stats: Arc<Stats>,
    ) -> Labelers {
        Labelers {
            settings,
            identities,
            router: Arc::new(router),
            stats,
            stop: Arc::new(AtomicBool::new(false)),
            followed: Mutex::new(Vec::new()),
            scanned: Mutex::new(None),
            pending: Mutex::new(VecDeque::new()),
        }
    }

    pub fn followed(&self) -> Vec<Arc<Followed>> {
        self.followed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The keeper's turn, on its connection: start labelers not yet followed (found on the
    /// first tick and, with `seen`, every rescan; `STARTS_PER_TICK` at most), then save the
    /// cursors that moved.
    pub fn tick(&self, conn: &mut PgConnection) -> Result<(), DbError> {
        if !self.stop.load(Relaxed) {
            self.start_new(conn)?;
        }
        self.save(conn)
    }

    fn start_new(&self, conn: &mut PgConnection) -> Result<(), DbError> {
        // The named labelers on the first tick; `seen`'s on the first and every rescan. A scan
        // that fails is tried again next tick (`scanned` is set only once it succeeded).
        let mut found: Vec<String> = Vec::new();
        {
            let mut scanned = self.scanned.lock().unwrap_or_else(|p| p.into_inner());
            let first = scanned.is_none();
            let due =
                self.settings.seen && scanned.is_none_or(|t| t.elapsed() >= self.settings.rescan);
            if first {
                found.extend(self.settings.dids.iter().cloned());
            }
            if due {
                found.extend(
                    db_labels::seen_labelers(conn).map_err(DbError::query("seen labelers"))?,
                );
            }
            if first || due {
                *scanned = Some(Instant::now());
            }
        }
        let known: BTreeSet<String> = self.followed().iter().map(|f| f.did.to_string()).collect();
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for did in found {
            if !known.contains(&did) && !pending.contains(&did) {
                pending.push_back(did);
            }
        }
        let room = (db_labels::MAX_SEEN_LABELERS as usize).saturating_sub(known.len());
        if pending.len() > room {
            warn!(
                "not following {} more labelers: {} are the most followed at once",
                pending.len() - room,
                db_labels::MAX_SEEN_LABELERS
            );
            pending.truncate(room);
        }
        let starting: Vec<String> = (0..STARTS_PER_TICK)
            .map_while(|_| pending.pop_front())
            .collect();
        drop(pending);
        for (i, did) in starting.iter().enumerate() {
            let service = service_of(did);
            match cursor::read(conn, &service) {
                Ok(saved) => self.start(did, service, saved),
                Err(e) => {
                    // Not lost: these start on a later tick.
                    let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                    for did in starting[i..].iter().rev() {
                        pending.push_front(did.clone());
                    }
                    return Err(DbError::query("a labeler's cursor")(e));
                }
            }
        }
        Ok(())
    }

    fn start(&self, did: &str, service: String, saved: Option<i64>) {
        info!(
            "following labeler did={did} from cursor={}",
            saved.map_or_else(|| "0 (none saved)".to_owned(), |c| c.to_string())
        );
        let followed = Arc::new(Followed {
            did: Arc::from(did),
            service,
            progress: Arc::new(Progress::new(saved)),
            stats: Arc::new(LabelerStats::new()),
            saved: Mutex::new(saved),
            handle: Mutex::new(None),
        });
        let config = ReaderConfig {
            stall_timeout: self.settings.stall_timeout,
            allow_private_hosts: self.settings.allow_private_hosts,
        };
        let (identities, stats, stop) = (
            self.identities.clone(),
            self.stats.clone(),
            self.stop.clone(),
        );
        let sink = ToWriter {
            router: self.router.clone(),
            progress: followed.progress.clone(),
            stop: stop.clone(),
        };
        let f = followed.clone();
        let n = self.followed.lock().map_or(0, |v| v.len());
        let spawned = std::thread::Builder::new()
            .name(format!("labeler-{n}"))
            .spawn(move || {
                Reader {
                    did: f.did.clone(),
                    config,
                    identities: &identities,
                    resume: &*f.progress,
                    sink: &sink,
                    stats: &stats,
                    labeler_stats: &f.stats,
                    stop: &stop,
                }
                .run()
            });
        match spawned {
            Ok(handle) => {
                *followed.handle.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
                self.followed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(followed);
            }
            Err(e) => warn!("cannot start the reader of labeler did={did}: {e}"),
        }
    }

    /// Saves each labeler's watermark that moved since its last save.
    fn save(&self, conn: &mut PgConnection) -> Result<(), DbError> {
        for f in self.followed() {
            let (c, time) = f.progress.watermark();
            let Some(c) = c else { continue };
            if f.saved() == Some(c) {
                continue;
            }
            cursor::write(conn, &f.service, c, time)
                .map_err(DbError::query("a labeler's cursor"))?;
            *f.saved.lock().unwrap_or_else(|p| p.into_inner()) = Some(c);
        }
        Ok(())
    }

    /// One line per labeler beside the `stats` line; past `MAX_LINES` labelers, one line for
    /// all of them (`status` has each one's cursor).
    pub fn log_lines(&self, now: chrono::DateTime<chrono::Utc>) {
        let followed = self.followed();
        if followed.len() > MAX_LINES {
            let connected = followed
                .iter()
                .filter(|f| f.stats.connected.load(Relaxed))
                .count();
            let sum = |c: fn(&LabelerStats) -> &std::sync::atomic::AtomicU64| -> u64 {
                followed.iter().map(|f| c(&f.stats).load(Relaxed)).sum()
            };
            info!(
                "labelers followed={} connected={connected} labels={} refused={} reconnects={} in_flight={}",
                followed.len(),
                sum(|s| &s.labels),
                sum(|s| &s.refused),
                sum(|s| &s.reconnects),
                self.in_flight(),
            );
            return;
        }
        for f in followed {
            let s = &f.stats;
            let (_, time) = f.progress.watermark();
            let read = s.last_seq.load(Relaxed);
            info!(
                "labeler did={} connected={} cursor={} read_seq={} lag_ms={} labels={} refused={} reconnects={} in_flight={}",
                f.did,
                if s.connected.load(Relaxed) { "yes" } else { "no" },
                f.saved().map_or_else(|| "-".to_owned(), |c| c.to_string()),
                if read < 0 { "-".to_owned() } else { read.to_string() },
                time.map_or_else(|| "-".to_owned(), |t| (now - t).num_milliseconds().to_string()),
                s.labels.load(Relaxed),
                s.refused.load(Relaxed),
                s.reconnects.load(Relaxed),
                f.progress.in_flight(),
            );
        }
    }

    /// Labels read and not yet committed, over every labeler.
    pub fn in_flight(&self) -> usize {
        self.followed().iter().map(|f| f.progress.in_flight()).sum()
    }

    /// Stops the readers and closes their way to the writers (they may still be finishing a
    /// network call: they hold no sender any more, so the writers can drain and end).
    pub fn stop(&self) {
        self.stop.store(true, Relaxed);
        self.router.close();
    }

    /// Waits up to `timeout` for the readers to end; the rest are left (they end on their own
    /// when their call returns, and hold nothing the process needs).
    pub fn join(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for f in self.followed() {
            let handle = f.handle.lock().unwrap_or_else(|p| p.into_inner()).take();
            let Some(handle) = handle else { continue };
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}
