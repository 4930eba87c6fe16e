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
use diesel::Connection;
use log::{debug, info, warn};

use super::apply::{apply_in, apply_items, GroupStats};
use super::cutover::{cutover, CutoverStats};
use super::input::{Envelope, LabelBatch, Ledger, Payload, SyncCommand};
use super::repo_sync;
use super::Indexing;
use crate::backoff::Backoff;
use crate::changes::Lookup;
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
            let result = apply_items(conn, events, labels, indexing);
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

    /// Runs a resync step, retrying for as long as the fault is the database's. A step the
    /// database refuses for its content (a snapshot with a record it cannot store) fails the
    /// repo instead, so it is retried later rather than blocking its writer.
    fn sync(&mut self, command: SyncCommand) {
        let did = command.did().to_owned();
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let indexing = self.config.indexing;
        loop {
            let conn = match self.connection() {
                Ok(conn) => conn,
                Err(e) => {
                    let wait = backoff.next_delay();
                    warn!(
                        "writer {}: no database connection ({e}); retry in {} ms",
                        self.id,
                        wait.as_millis()
                    );
                    std::thread::sleep(wait);
                    continue;
                }
            };
            let result = match &command {
                SyncCommand::Claim { did, reclaim, .. } => {
                    repos::claim(conn, did, *reclaim).map(|taken| (taken, None))
                }
                SyncCommand::Snapshot(snap) => {
                    cutover(conn, snap, indexing).map(|stats| (stats.applied, Some(stats)))
                }
                SyncCommand::Failed {
                    did,
                    reason,
                    hosting,
                    retry_in,
                } => conn
                    .transaction(|c| {
                        repos::fail(c, did, reason, *hosting, *retry_in)?;
                        if let Some(event) = hosting.and_then(|h| repo_sync::hosting_event(did, h))
                        {
                            let indexing = Indexing {
                                repo_sync: false,
                                ..indexing
                            };
                            apply_in(c, &[&event], &[], Lookup::Careful, indexing)?;
                        }
                        Ok(())
                    })
                    .map(|()| (true, None)),
                SyncCommand::Discover { repos, reply } => conn
                    .transaction(|c| {
                        let found = repo_sync::discover(c, repos)?;
                        let events: Vec<&TypedEvent> = found.accounts.iter().collect();
                        if !events.is_empty() {
                            let indexing = Indexing {
                                repo_sync: false,
                                ..indexing
                            };
                            apply_in(c, &events, &[], Lookup::Careful, indexing)?;
                        }
                        Ok(found.marked)
                    })
                    .map(|n| {
                        let _ = reply.send(n);
                        (true, None)
                    }),
                SyncCommand::Recheck { dids, reply } => repo_sync::recheck(conn, dids).map(|n| {
                    let _ = reply.send(n);
                    (true, None)
                }),
            };
            match result {
                Ok((done, stats)) => {
                    self.synced(&command, done, stats);
                    return;
                }
                Err(e) if blame(&e) == Blame::Event => {
                    warn!(
                        "writer {}: resync of did={did} refused by the database ({e})",
                        self.id
                    );
                    let reason = format!("database refused: {e}");
                    let recorded = match self.connection() {
                        Ok(c) => c
                            .transaction(|c| repos::fail(c, &did, &reason, None, None))
                            .is_ok(),
                        Err(_) => false,
                    };
                    if !recorded {
                        warn!(
                            "writer {}: could not record the failure of did={did}",
                            self.id
                        );
                    }
                    match &command {
                        SyncCommand::Claim { reply, .. } => {
                            let _ = reply.send((did.clone(), false));
                        }
                        SyncCommand::Discover { reply, .. }
                        | SyncCommand::Recheck { reply, .. } => {
                            let _ = reply.send(0);
                        }
                        _ => {}
                    }
                    return;
                }
                Err(e) => {
                    self.conn = None;
                    let wait = backoff.next_delay();
                    warn!(
                        "writer {}: database error in resync of did={did} ({e}); retry in {} ms",
                        self.id,
                        wait.as_millis()
                    );
                    Stats::add(&self.stats.db_retries, 1);
                    std::thread::sleep(wait);
                }
            }
        }
    }

    fn synced(&self, command: &SyncCommand, done: bool, stats: Option<CutoverStats>) {
        match command {
            SyncCommand::Claim { did, reply, .. } => {
                // The stage may have stopped; nothing is lost (the repo stays `resyncing` and is
                // claimed again at the next start).
                let _ = reply.send((did.clone(), done));
            }
            SyncCommand::Snapshot(snap) => {
                let Some(s) = stats.filter(|s| s.applied) else {
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
                    snap.records.len(),
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
            SyncCommand::Discover { .. } | SyncCommand::Recheck { .. } => {}
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
