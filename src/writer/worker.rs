//! The writer loop: take a group from the channel (up to `batch_size` events, waiting at most
//! `batch_wait` for more), apply it in one transaction, report each event finished to the
//! watermark. Database faults are retried with backoff on a fresh connection, forever: nothing is
//! acknowledged until committed. An event the database refuses for its content is isolated (the
//! group retried one event at a time), logged with seq, repo and paths, counted, and skipped.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use log::{debug, info, warn};

use super::apply::{apply_group_as, GroupStats};
use super::input::{Envelope, Ledger};
use super::Indexing;
use crate::backoff::Backoff;
use crate::db::blame::{blame, Blame};
use crate::db::pool::{PgPool, PgPooled};
use crate::decode::TypedEvent;
use crate::stats::Stats;

#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    pub batch_size: usize,
    pub batch_wait: Duration,
    pub indexing: Indexing,
}

pub struct Writer {
    pub id: usize,
    pub rx: Receiver<Envelope>,
    pub pool: PgPool,
    pub ledger: Arc<dyn Ledger>,
    pub stats: Arc<Stats>,
    pub config: WriterConfig,
    conn: Option<PgPooled>,
}

impl Writer {
    pub fn new(
        id: usize,
        rx: Receiver<Envelope>,
        pool: PgPool,
        ledger: Arc<dyn Ledger>,
        stats: Arc<Stats>,
        config: WriterConfig,
    ) -> Writer {
        Writer {
            id,
            rx,
            pool,
            ledger,
            stats,
            config,
            conn: None,
        }
    }

    /// Runs until every sender is gone and the channel is drained.
    pub fn run(mut self) {
        debug!("writer {} started", self.id);
        while let Some(group) = self.next_group() {
            self.apply(&group);
            let now = Instant::now();
            for envelope in &group {
                self.stats
                    .latency
                    .record(now.duration_since(envelope.received));
                self.ledger.done(envelope.ticket);
            }
            Stats::add(&self.stats.committed, group.len() as u64);
            self.stats.mark_commit();
            if let Some(t) = group
                .iter()
                .filter_map(|e| e.event.time())
                .filter_map(|t| crate::syntax::parse_datetime(t).ok())
                .max()
            {
                self.stats
                    .last_event_us
                    .fetch_max(t.timestamp_micros(), Relaxed);
            }
        }
        debug!("writer {} drained and stopped", self.id);
    }

    fn next_group(&self) -> Option<Vec<Envelope>> {
        let first = self.rx.recv().ok()?;
        let mut group = Vec::with_capacity(self.config.batch_size.min(1024));
        group.push(first);
        let deadline = Instant::now() + self.config.batch_wait;
        while group.len() < self.config.batch_size {
            match self.rx.try_recv() {
                Ok(e) => group.push(e),
                Err(_) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    match self.rx.recv_timeout(deadline - now) {
                        Ok(e) => group.push(e),
                        Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                            break
                        }
                    }
                }
            }
        }
        Some(group)
    }

    fn apply(&mut self, group: &[Envelope]) {
        let events: Vec<&TypedEvent> = group.iter().map(|e| &e.event).collect();
        match self.apply_retrying(&events) {
            Ok(stats) => self.count(&stats),
            Err(e) if events.len() == 1 => self.skip(events[0], &e),
            Err(e) => {
                debug!(
                    "writer {}: group of {} refused ({e}); applying its events one by one",
                    self.id,
                    events.len()
                );
                for event in events {
                    match self.apply_retrying(&[event]) {
                        Ok(stats) => self.count(&stats),
                        Err(e) => self.skip(event, &e),
                    }
                }
            }
        }
    }

    /// Applies the events, retrying for as long as the fault is the database's. Returns the
    /// error only when it is the events' fault.
    fn apply_retrying(
        &mut self,
        events: &[&TypedEvent],
    ) -> Result<GroupStats, diesel::result::Error> {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let indexing = self.config.indexing;
        loop {
            let conn = match self.connection() {
                Ok(conn) => conn,
                Err(e) => {
                    let wait = backoff.next_delay();
                    warn!(
                        "writer {}: no database connection ({e}); retry {} in {} ms",
                        self.id,
                        backoff.attempts(),
                        wait.as_millis()
                    );
                    Stats::add(&self.stats.db_retries, 1);
                    std::thread::sleep(wait);
                    continue;
                }
            };
            let started = Instant::now();
            let result = apply_group_as(conn, events, indexing);
            Stats::add(&self.stats.db_busy_us, started.elapsed().as_micros() as u64);
            match result {
                Ok(stats) => {
                    if backoff.attempts() > 0 {
                        info!(
                            "writer {}: database back after {} retries",
                            self.id,
                            backoff.attempts()
                        );
                    }
                    return Ok(stats);
                }
                Err(e) if blame(&e) == Blame::Event => return Err(e),
                Err(e) => {
                    // The connection may be the problem (terminated, broken): take a fresh one.
                    self.conn = None;
                    let wait = backoff.next_delay();
                    warn!(
                        "writer {}: database error, nothing committed ({e}); retry {} in {} ms",
                        self.id,
                        backoff.attempts(),
                        wait.as_millis()
                    );
                    Stats::add(&self.stats.db_retries, 1);
                    std::thread::sleep(wait);
                }
            }
        }
    }

    fn connection(&mut self) -> Result<&mut PgPooled, r2d2::Error> {
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.pool.get()?,
        };
        Ok(self.conn.insert(conn))
    }

    fn count(&self, s: &GroupStats) {
        let p = &s.plan;
        Stats::add(&self.stats.commits, p.commits);
        Stats::add(&self.stats.ops_create, p.ops_create);
        Stats::add(&self.stats.ops_update, p.ops_update);
        Stats::add(&self.stats.ops_delete, p.ops_delete);
        Stats::add(&self.stats.rev_gaps, p.rev_gaps);
        Stats::add(
            &self.stats.skipped,
            p.stale_commits + p.stale_events + p.deleted_account_commits,
        );
        if s.purged_accounts > 0 {
            info!(
                "writer {}: purged {} deleted account(s), {} records",
                self.id, s.purged_accounts, s.purged_records
            );
        }
    }

    fn skip(&self, event: &TypedEvent, e: &diesel::result::Error) {
        let paths = match event {
            TypedEvent::Commit(c) => c.ops.iter().map(|o| o.path()).collect::<Vec<_>>().join(","),
            _ => String::new(),
        };
        warn!(
            "skipping event the database refused: seq={} did={} kind={} paths={paths} reason={e}",
            event.seq().unwrap_or(-1),
            event.did().unwrap_or("-"),
            event.kind(),
        );
        Stats::add(&self.stats.failed_events, 1);
    }
}
