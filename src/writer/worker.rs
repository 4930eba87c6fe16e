//! The writer loop: take a group from the channel (up to `batch_size` items, waiting at most
//! `batch_wait` for more), apply it in one transaction, report each item finished to its
//! ledger (the firehose's watermark for events, the labeler's for labels). Database faults are
//! retried with backoff on a fresh connection, forever: nothing is acknowledged until
//! committed. An item the database refuses for its content is isolated (the group retried one
//! item at a time), logged with seq, repo (or labeler) and paths, counted, and skipped.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use diesel::pg::PgConnection;
use diesel::{Connection, QueryResult};
use log::{debug, info, warn};

use super::apply::{apply_items_cached, GroupStats};
use super::input::{Envelope, LabelBatch, Ledger, Payload, SyncCommand};
use super::resync::{self, Ran};
use super::user_cache::UserCache;
use super::Indexing;
use crate::backoff::Backoff;
use crate::db::blame::{blame, Blame};
use crate::db::pool::{PgPool, PgPooled};
use crate::db::repos;
use crate::decode::TypedEvent;
use crate::stats::Stats;

#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    pub batch_size: usize,
    pub batch_wait: Duration,
    pub indexing: Indexing,
    /// Accounts' rows this writer keeps in memory (see `user_cache`); 0 reads them every group.
    pub user_cache: usize,
}

pub struct Writer {
    pub id: usize,
    pub rx: Receiver<Envelope>,
    pub pool: PgPool,
    pub ledger: Arc<dyn Ledger>,
    pub stats: Arc<Stats>,
    pub config: WriterConfig,
    conn: Option<PgPooled>,
    cache: UserCache,
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
            cache: UserCache::new(config.user_cache),
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
            let mut events = 0;
            for envelope in &group {
                match &envelope.payload {
                    Payload::Event(_) => {
                        events += 1;
                        self.stats
                            .latency
                            .record(now.duration_since(envelope.received));
                        self.ledger.done(envelope.ticket);
                    }
                    Payload::Labels(l) => l.ledger.done(envelope.ticket),
                    Payload::Sync(_) => {}
                }
            }
            Stats::add(&self.stats.committed, events);
            // The firehose's throughput is measured to its last commit: a group of labels only
            // must not stretch it.
            if events > 0 {
                self.stats.mark_commit();
            }
            if let Some(t) = group
                .iter()
                .filter_map(|e| e.event_ref()?.time())
                .filter_map(|t| crate::syntax::parse_datetime(t).ok())
                .max()
            {
                self.stats
                    .last_event_us
                    .fetch_max(t.timestamp_micros(), Relaxed);
            }
            // A repo's resync steps, after the events that came before them.
            for envelope in group {
                if let Payload::Sync(command) = envelope.payload {
                    self.sync(*command);
                }
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
        let mut events: Vec<&TypedEvent> = Vec::with_capacity(group.len());
        let mut labels: Vec<&LabelBatch> = Vec::new();
        for envelope in group {
            match &envelope.payload {
                Payload::Event(e) => events.push(e),
                Payload::Labels(l) => labels.push(l),
                Payload::Sync(_) => {}
            }
        }
        if events.is_empty() && labels.is_empty() {
            return;
        }
        match self.apply_retrying(&events, &labels) {
            Ok(stats) => self.count(&stats),
            Err(e) if group.len() == 1 => self.skip(&group[0].payload, &e),
            Err(e) => {
                debug!(
                    "writer {}: group of {} refused ({e}); applying its items one by one",
                    self.id,
                    group.len()
                );
                for envelope in group {
                    let result = match &envelope.payload {
                        Payload::Event(event) => self.apply_retrying(&[event], &[]),
                        Payload::Labels(l) => self.apply_retrying(&[], &[l]),
                        Payload::Sync(_) => continue,
                    };
                    match result {
                        Ok(stats) => self.count(&stats),
                        Err(e) => self.skip(&envelope.payload, &e),
                    }
                }
            }
        }
    }

    /// Applies the events and labels, retrying for as long as the fault is the database's.
    /// Returns the error only when it is the items' fault.
    fn apply_retrying(
        &mut self,
        events: &[&TypedEvent],
        labels: &[&LabelBatch],
    ) -> Result<GroupStats, diesel::result::Error> {
        let indexing = self.config.indexing;
        let stats = self.stats.clone();
        let mut cache = std::mem::replace(&mut self.cache, UserCache::none());
        let (hits, misses) = (cache.hits, cache.misses);
        let result = self.retrying(|conn| {
            let started = Instant::now();
            let result = apply_items_cached(conn, events, labels, indexing, &mut cache);
            Stats::add(&stats.db_busy_us, started.elapsed().as_micros() as u64);
            result
        });
        Stats::add(&self.stats.account_cache_hits, cache.hits - hits);
        Stats::add(&self.stats.account_cache_misses, cache.misses - misses);
        self.cache = cache;
        result
    }

    /// Runs `work` on the writer's connection until it commits, retrying with backoff (on a
    /// fresh connection) for as long as the fault is the database's; returns the error only
    /// when it is the work's own fault.
    fn retrying<T>(
        &mut self,
        mut work: impl FnMut(&mut PgConnection) -> QueryResult<T>,
    ) -> QueryResult<T> {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
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
            match work(conn) {
                Ok(done) => {
                    if backoff.attempts() > 0 {
                        info!(
                            "writer {}: database back after {} retries",
                            self.id,
                            backoff.attempts()
                        );
                    }
                    return Ok(done);
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

    /// Runs a resync step until it commits. A step the database refuses for its content (a
    /// snapshot with a record it cannot store) fails its repo instead, so the repo is retried
    /// later rather than blocking its writer.
    fn sync(&mut self, command: SyncCommand) {
        let indexing = self.config.indexing;
        let result = self.retrying(|conn| resync::run(conn, &command, indexing));
        // A resync step writes account rows besides the groups' own (a cutover's rev, an
        // enumeration's handles and hosting news): they are read again. A listing page comes
        // split by owning writer, so the repos it names are all this writer's.
        match &command {
            SyncCommand::Discover { repos, .. } => {
                for r in repos {
                    self.cache.forget(&r.did);
                }
            }
            SyncCommand::Recheck { .. } => {}
            other => self.cache.forget(other.did()),
        }
        match result {
            Ok(ran) => self.synced(&command, ran),
            Err(e) => {
                let did = command.did().to_owned();
                warn!(
                    "writer {}: resync of did={did} refused by the database ({e})",
                    self.id
                );
                match &command {
                    SyncCommand::Claim { .. }
                    | SyncCommand::Snapshot(_)
                    | SyncCommand::Failed { .. } => {
                        let reason = format!("database refused: {e}");
                        let recorded = self
                            .retrying(|c| {
                                c.transaction(|c| repos::fail(c, &did, &reason, None, None))
                            })
                            .is_ok();
                        if !recorded {
                            warn!(
                                "writer {}: could not record the failure of did={did}",
                                self.id
                            );
                        }
                    }
                    SyncCommand::Discover { .. } | SyncCommand::Recheck { .. } => {}
                }
                self.synced(&command, Ran::default());
            }
        }
    }

    /// Tells the stage what a step did (the replies it waits for), counts and logs it.
    fn synced(&self, command: &SyncCommand, ran: Ran) {
        match command {
            SyncCommand::Claim { did, reply, .. } => {
                // The stage may have stopped; nothing is lost (the repo stays `resyncing` and is
                // claimed again at the next start).
                let _ = reply.send((did.clone(), ran.done));
            }
            SyncCommand::Snapshot(snap) => {
                let Some(s) = ran.cutover.filter(|s| s.applied) else {
                    info!(
                        "writer {}: snapshot of did={} not wanted any more (no longer resyncing)",
                        self.id, snap.did
                    );
                    return;
                };
                Stats::add(&self.stats.repos_synced, u64::from(!s.broke));
                Stats::add(
                    &self.stats.backfill_records,
                    s.creates + s.updates + s.deletes + s.unchanged,
                );
                info!(
                    "writer {}: did={} rev={} host={} records={} creates={} updates={} deletes={} refused={} drained={} skipped={}{}",
                    self.id,
                    snap.did,
                    snap.rev,
                    snap.host,
                    snap.len(),
                    s.creates,
                    s.updates,
                    s.deletes,
                    snap.refused,
                    s.drained,
                    s.skipped,
                    if s.broke { " buffer broke the chain: to fetch again" } else { "" }
                );
            }
            SyncCommand::Failed { did, reason, .. } => {
                Stats::add(&self.stats.repos_failed, 1);
                debug!("writer {}: did={did} in error: {reason}", self.id);
            }
            SyncCommand::Discover { reply, .. } | SyncCommand::Recheck { reply, .. } => {
                let _ = reply.send(ran.marked);
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
        Stats::add(&self.stats.labels, s.labels);
        Stats::add(&self.stats.sync_buffered, s.triage.buffered);
        Stats::add(
            &self.stats.sync_dropped,
            s.triage.dropped + s.triage.first_seen,
        );
        Stats::add(&self.stats.chain_breaks, s.triage.chain_breaks);
        Stats::add(&self.stats.label_rows_written, s.label_rows_written);
        if s.purged_accounts > 0 {
            info!(
                "writer {}: purged {} deleted account(s), {} records",
                self.id, s.purged_accounts, s.purged_records
            );
        }
    }

    fn skip(&self, payload: &Payload, e: &diesel::result::Error) {
        let event = match payload {
            Payload::Event(event) => event,
            Payload::Sync(_) => return,
            Payload::Labels(l) => {
                warn!(
                    "skipping labels the database refused: labeler={} seq={} labels={} reason={e}",
                    l.batch.labeler,
                    l.batch.seq,
                    l.batch.labels.len()
                );
                for _ in &l.batch.labels {
                    self.stats.label_refused("db_refused");
                }
                return;
            }
        };
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
