//! The cursor keeper, on its own thread with its own connection: saves the watermark at least
//! every second and once more when the writers are done (the firehose's, and each labeler's
//! through `labelers.rs`, which also starts labelers on this connection), logs the stats line
//! (and one line per labeler), and pings the systemd watchdog while the pipeline makes progress
//! (or has nothing to do).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use log::{error, info, warn};

use super::labelers::Labelers;
use super::progress::Progress;
use crate::backoff::Backoff;
use crate::db::pool::{PgPool, PgPooled};
use crate::db::{cursor, DbError};
use crate::error_chain::chain;
use crate::stats::{self, Stats};

const TICK: Duration = Duration::from_millis(250);
const SAVE_EVERY: Duration = Duration::from_secs(1);

pub struct Keeper<'a> {
    pub pool: &'a PgPool,
    /// The connection saves go through; replaced when it fails.
    pub conn: Option<PgPooled>,
    /// The `firehose_cursor` row.
    pub service: &'a str,
    pub progress: &'a Progress,
    pub stats: &'a Stats,
    pub stats_interval: Duration,
    pub writers: usize,
    /// Events waiting in the writers' channels.
    pub queued: &'a (dyn Fn() -> usize + Sync),
    /// The cursor the database holds.
    pub saved: Option<i64>,
    /// The labelers followed, if any.
    pub labelers: Option<&'a Labelers>,
}

impl Keeper<'_> {
    /// Runs until `writers_done`, then saves a last time; returns the cursor the database holds.
    pub fn run(mut self, writers_done: &AtomicBool) -> Option<i64> {
        let mut last_save = Instant::now();
        let mut last_stats = Instant::now();
        let mut prev = stats::Snapshot::take(self.stats);
        let mut watchdog = Watchdog::new();
        // Labelers start at once rather than a second in.
        self.save_labelers(false);
        loop {
            let done = writers_done.load(Relaxed);
            if done || last_save.elapsed() >= SAVE_EVERY {
                self.save(done);
                self.save_labelers(done);
                last_save = Instant::now();
            }
            watchdog.ping_if_progressing(self.stats, self.progress);
            if last_stats.elapsed() >= self.stats_interval || done {
                let now = stats::Snapshot::take(self.stats);
                self.log_stats(&prev, &now, last_stats.elapsed());
                prev = now;
                last_stats = Instant::now();
            }
            if done {
                return self.saved;
            }
            std::thread::sleep(TICK);
        }
    }

    /// Saves the watermark if it moved. The last save is the one a restart resumes from: it is
    /// retried for a while.
    fn save(&mut self, last: bool) {
        let (cursor, time) = self.progress.watermark();
        let Some(c) = cursor else { return };
        if self.saved == Some(c) {
            return;
        }
        let attempts = if last { 10 } else { 1 };
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for attempt in 1..=attempts {
            match self.write(c, time) {
                Ok(()) => {
                    self.saved = Some(c);
                    return;
                }
                Err(e) if attempt < attempts => {
                    warn!("saving cursor={c} failed (retrying): {}", chain(&e));
                    std::thread::sleep(backoff.next_delay());
                }
                Err(e) if last => error!(
                    "saving the final cursor={c} failed: {}; the database keeps cursor={} and the events after it will be replayed",
                    chain(&e),
                    self.saved
                        .map_or_else(|| "(none saved by this run)".to_owned(), |s| s.to_string())
                ),
                Err(e) => error!("saving cursor={c} failed (will retry): {}", chain(&e)),
            }
        }
    }

    /// The labelers' turn: new ones started, cursors that moved saved; the last one is
    /// retried for a while, like the firehose's.
    fn save_labelers(&mut self, last: bool) {
        let Some(labelers) = self.labelers else {
            return;
        };
        let attempts = if last { 10 } else { 1 };
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for attempt in 1..=attempts {
            match self.with_conn(|c| labelers.tick(c)) {
                Ok(()) => return,
                Err(e) if attempt < attempts => {
                    warn!("saving labeler cursors failed (retrying): {}", chain(&e));
                    std::thread::sleep(backoff.next_delay());
                }
                Err(e) if last => error!(
                    "saving the final labeler cursors failed: {}; their labels after the saved cursors will be replayed",
                    chain(&e)
                ),
                Err(e) => warn!("labeler cursors or new labelers: {} (will retry)", chain(&e)),
            }
        }
    }

    /// Writes the cursor on the keeper's connection.
    fn write(
        &mut self,
        seq: i64,
        time: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), DbError> {
        let service = self.service;
        self.with_conn(|c| {
            cursor::write(c, service, seq, time).map_err(DbError::query("the cursor"))
        })
    }

    /// Runs `f` on the keeper's connection, replacing the connection when it has failed (a
    /// terminated backend, a restarted server).
    fn with_conn<T>(
        &mut self,
        f: impl FnOnce(&mut diesel::PgConnection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let mut c = match self.conn.take() {
            Some(c) => c,
            None => self.pool.get().map_err(DbError::Pool)?,
        };
        let out = f(&mut c)?;
        self.conn = Some(c);
        Ok(out)
    }

    fn log_stats(&self, prev: &stats::Snapshot, now: &stats::Snapshot, elapsed: Duration) {
        let ctx = stats::LineContext {
            queue: (self.queued)(),
            in_flight: self.progress.in_flight(),
            cursor: self.saved,
            writers: self.writers,
            now_us: chrono::Utc::now().timestamp_micros(),
        };
        info!("{}", stats::line(self.stats, prev, now, elapsed, &ctx));
        if let Some(labelers) = self.labelers {
            labelers.log_lines(chrono::Utc::now());
        }
    }
}

/// systemd's watchdog, pinged at half its interval while events get committed or none wait.
struct Watchdog {
    interval: Option<Duration>,
    last_ping: Instant,
    last_committed: u64,
}

impl Watchdog {
    fn new() -> Watchdog {
        Watchdog {
            interval: crate::notify::watchdog_interval(),
            last_ping: Instant::now(),
            last_committed: 0,
        }
    }

    fn ping_if_progressing(&mut self, stats: &Stats, progress: &Progress) {
        let Some(interval) = self.interval else {
            return;
        };
        let committed = stats.committed.load(Relaxed);
        let progressing = committed != self.last_committed || progress.in_flight() == 0;
        if progressing && self.last_ping.elapsed() >= interval / 2 {
            crate::notify::watchdog();
            self.last_ping = Instant::now();
            self.last_committed = committed;
        }
    }
}
