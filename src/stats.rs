//! Counters shared by every stage (atomics behind an `Arc`), and the periodic `stats` log line
//! operators grep: stable `key=value` fields, rates over the interval, units in the names.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Receive-to-commit latency, in buckets a quarter of a power of two wide (about ±10%).
pub struct Histogram {
    buckets: [AtomicU64; 128],
    max_us: AtomicU64,
}

fn bucket_of(us: u64) -> usize {
    if us < 4 {
        return us as usize;
    }
    let log = 63 - u64::from(us.leading_zeros());
    let quarter = (us >> (log - 2)) & 3;
    ((log * 4 + quarter) as usize).min(127)
}

fn bucket_floor(b: usize) -> u64 {
    if b < 4 {
        return b as u64;
    }
    let log = (b / 4) as u32;
    let quarter = (b % 4) as u64;
    (4 + quarter) << (log - 2)
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            max_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn record(&self, d: Duration) {
        let us = d.as_micros().min(u128::from(u64::MAX)) as u64;
        self.buckets[bucket_of(us)].fetch_add(1, Relaxed);
        self.max_us.fetch_max(us, Relaxed);
    }

    pub fn counts(&self) -> [u64; 128] {
        std::array::from_fn(|i| self.buckets[i].load(Relaxed))
    }

    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us.load(Relaxed))
    }
}

/// The quantile `q` (0..=1) of a set of bucket counts, as the bucket's lower bound.
pub fn quantile(counts: &[u64; 128], q: f64) -> Duration {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return Duration::ZERO;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (b, n) in counts.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Duration::from_micros(bucket_floor(b));
        }
    }
    Duration::ZERO
}

#[derive(Default)]
pub struct Stats {
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    /// Events handed to writers.
    pub events: AtomicU64,
    /// Events committed by writers.
    pub committed: AtomicU64,
    pub commits: AtomicU64,
    pub ops_create: AtomicU64,
    pub ops_update: AtomicU64,
    pub ops_delete: AtomicU64,
    /// Replays recognised and skipped (stale commits and events, commits of deleted accounts),
    /// and frames we do not apply by design (unknown types, `#migrate`, before the cursor).
    pub skipped: AtomicU64,
    /// Frames that failed to decode.
    pub bad_frames: AtomicU64,
    /// Ops of good commits that failed validation.
    pub bad_ops: AtomicU64,
    /// Events the database refused for their content, skipped.
    pub failed_events: AtomicU64,
    pub error_frames: AtomicU64,
    /// Events that failed verification, dropped; by reason below.
    pub unverified: AtomicU64,
    pub unverified_by_reason: Mutex<BTreeMap<&'static str, u64>>,
    pub rev_gaps: AtomicU64,
    /// Backfill (README, "Backfill and repair"): live events held for repos under resync, and
    /// dropped for repos waiting for theirs; commits and `#sync`s that sent a repo to resync;
    /// snapshots cut over, the records they held, fetches failed, and the bytes fetched.
    pub sync_buffered: AtomicU64,
    pub sync_dropped: AtomicU64,
    pub chain_breaks: AtomicU64,
    pub repos_synced: AtomicU64,
    pub backfill_records: AtomicU64,
    pub repos_failed: AtomicU64,
    pub fetch_bytes: AtomicU64,
    /// Repos claimed or being fetched now (the backfill stage's gauge), and whether the stage
    /// runs at all (the stats line shows its figures only then).
    pub repos_in_flight: AtomicU64,
    pub backfill_on: std::sync::atomic::AtomicBool,
    /// Labels committed (in batches from labelers), and the rows they inserted or replaced
    /// (fewer: replays and older labels change nothing, and of one identity's labels in one
    /// transaction only the newest is written).
    pub labels: AtomicU64,
    pub label_rows_written: AtomicU64,
    /// Labels refused (fields, `src`, signature), and frames of labelers that could not be
    /// read; by reason below. Never stored.
    pub labels_refused: AtomicU64,
    pub labels_refused_by_reason: Mutex<BTreeMap<&'static str, u64>>,
    pub db_retries: AtomicU64,
    /// Accounts a group found in its writer's memory, and those it read from `users`.
    pub account_cache_hits: AtomicU64,
    pub account_cache_misses: AtomicU64,
    /// Time writers spent inside transactions, summed over writers.
    pub db_busy_us: AtomicU64,
    pub reconnects: AtomicU64,
    /// Relay time of the newest committed event, in microseconds since the epoch.
    pub last_event_us: AtomicI64,
    pub latency: Histogram,
    /// When the first event was routed and the last group committed, in microseconds after
    /// `origin` (0 = not yet): the span throughput is measured over.
    pub first_event_us: AtomicU64,
    pub last_commit_us: AtomicU64,
    pub origin: Option<std::time::Instant>,
}

impl Stats {
    pub fn new() -> Stats {
        Stats {
            origin: Some(std::time::Instant::now()),
            ..Stats::default()
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    fn since_origin_us(&self) -> u64 {
        self.origin
            .map_or(0, |o| o.elapsed().as_micros() as u64)
            .max(1)
    }

    pub fn mark_first_event(&self) {
        if self.first_event_us.load(Relaxed) == 0 {
            let _ =
                self.first_event_us
                    .compare_exchange(0, self.since_origin_us(), Relaxed, Relaxed);
        }
    }

    pub fn mark_commit(&self) {
        self.last_commit_us
            .fetch_max(self.since_origin_us(), Relaxed);
    }

    /// The closing line's figures: events committed, the span from first event to last commit,
    /// and receive-to-commit latency over the whole run.
    pub fn summary(&self) -> String {
        let committed = self.committed.load(Relaxed);
        let first = self.first_event_us.load(Relaxed);
        let last = self.last_commit_us.load(Relaxed);
        let span = Duration::from_micros(last.saturating_sub(first));
        let rate = if span.is_zero() {
            0.0
        } else {
            committed as f64 / span.as_secs_f64()
        };
        let counts = self.latency.counts();
        format!(
            "events={committed} first_event_to_last_commit_s={:.3} events/sec={rate:.0} commit_p50_ms={:.1} commit_p99_ms={:.1} commit_max_ms={:.1} unverified={} unverified_by_reason={} account_cache_hits={} account_cache_misses={}",
            span.as_secs_f64(),
            quantile(&counts, 0.5).as_secs_f64() * 1e3,
            quantile(&counts, 0.99).as_secs_f64() * 1e3,
            self.latency.max().as_secs_f64() * 1e3,
            self.unverified.load(Relaxed),
            self.unverified_reasons(),
            self.account_cache_hits.load(Relaxed),
            self.account_cache_misses.load(Relaxed),
        )
    }

    pub fn errors(&self) -> u64 {
        self.bad_frames.load(Relaxed)
            + self.bad_ops.load(Relaxed)
            + self.failed_events.load(Relaxed)
            + self.unverified.load(Relaxed)
    }

    /// Counts an event dropped by verification.
    pub fn verify_failed(&self, reason: &'static str) {
        self.unverified.fetch_add(1, Relaxed);
        *self
            .unverified_by_reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    /// `reason:count,…`, or `-` when nothing failed verification.
    pub fn unverified_reasons(&self) -> String {
        by_reason(&self.unverified_by_reason)
    }

    /// Counts a label (or a labeler's frame) refused.
    pub fn label_refused(&self, reason: &'static str) {
        self.labels_refused.fetch_add(1, Relaxed);
        *self
            .labels_refused_by_reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(reason)
            .or_default() += 1;
    }

    /// The closing line's backfill figures.
    pub fn backfill_summary(&self) -> String {
        format!(
            "repos_synced={} repos_failed={} backfill_records={} fetch_bytes={} sync_buffered={} sync_dropped={} chain_breaks={}",
            self.repos_synced.load(Relaxed),
            self.repos_failed.load(Relaxed),
            self.backfill_records.load(Relaxed),
            self.fetch_bytes.load(Relaxed),
            self.sync_buffered.load(Relaxed),
            self.sync_dropped.load(Relaxed),
            self.chain_breaks.load(Relaxed),
        )
    }

    /// The closing line's label figures: `labels=… label_rows_written=… labels_refused=…
    /// labels_refused_by_reason=reason:count,…`.
    pub fn labels_summary(&self) -> String {
        format!(
            "labels={} label_rows_written={} labels_refused={} labels_refused_by_reason={}",
            self.labels.load(Relaxed),
            self.label_rows_written.load(Relaxed),
            self.labels_refused.load(Relaxed),
            by_reason(&self.labels_refused_by_reason),
        )
    }
}

/// `reason:count,…` in reason order, or `-` when empty.
fn by_reason(map: &Mutex<BTreeMap<&'static str, u64>>) -> String {
    let by = map.lock().unwrap_or_else(|p| p.into_inner());
    if by.is_empty() {
        return "-".to_owned();
    }
    by.iter()
        .map(|(r, n)| format!("{r}:{n}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// One reading of the counters, to compute rates between two readings.
#[derive(Clone)]
pub struct Snapshot {
    pub committed: u64,
    pub db_busy_us: u64,
    pub latency: [u64; 128],
    pub backfill_records: u64,
    pub fetch_bytes: u64,
}

impl Snapshot {
    pub fn take(stats: &Stats) -> Snapshot {
        Snapshot {
            committed: stats.committed.load(Relaxed),
            db_busy_us: stats.db_busy_us.load(Relaxed),
            latency: stats.latency.counts(),
            backfill_records: stats.backfill_records.load(Relaxed),
            fetch_bytes: stats.fetch_bytes.load(Relaxed),
        }
    }
}

/// What the line needs besides the counters.
pub struct LineContext {
    pub queue: usize,
    pub in_flight: usize,
    pub cursor: Option<i64>,
    pub writers: usize,
    pub now_us: i64,
}

/// The periodic line, e.g.
/// `stats events/sec=1843.2 commits=… ops_create=… ops_update=… ops_delete=… skipped=…
/// errors=… queue=… cursor=… lag_ms=… db_busy=…% …`.
pub fn line(
    stats: &Stats,
    prev: &Snapshot,
    now: &Snapshot,
    elapsed: Duration,
    ctx: &LineContext,
) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = now.committed.saturating_sub(prev.committed) as f64 / secs;
    let busy = now.db_busy_us.saturating_sub(prev.db_busy_us) as f64
        / (secs * 1e6 * ctx.writers.max(1) as f64)
        * 100.0;
    let mut window = [0u64; 128];
    for (i, w) in window.iter_mut().enumerate() {
        *w = now.latency[i].saturating_sub(prev.latency[i]);
    }
    let last = stats.last_event_us.load(Relaxed);
    let lag = if last > 0 {
        ((ctx.now_us - last) / 1000).to_string()
    } else {
        "-".to_owned()
    };
    let load = |c: &AtomicU64| c.load(Relaxed);
    let backfill = if stats.backfill_on.load(Relaxed) {
        format!(
            " repos_in_flight={} repos_synced={} repos_failed={} backfill_records/sec={:.0} fetch_bytes/sec={:.0} sync_buffered={} chain_breaks={}",
            load(&stats.repos_in_flight),
            load(&stats.repos_synced),
            load(&stats.repos_failed),
            now.backfill_records.saturating_sub(prev.backfill_records) as f64 / secs,
            now.fetch_bytes.saturating_sub(prev.fetch_bytes) as f64 / secs,
            load(&stats.sync_buffered),
            load(&stats.chain_breaks),
        )
    } else {
        String::new()
    };
    format!(
        "stats events/sec={rate:.1} events={} commits={} ops_create={} ops_update={} ops_delete={} skipped={} errors={} bad_frames={} bad_ops={} failed_events={} error_frames={} queue={} in_flight={} cursor={} lag_ms={lag} db_busy={busy:.0}% db_retries={} reconnects={} commit_p50_ms={:.1} commit_p99_ms={:.1} unverified={} labels={} labels_refused={}{backfill}",
        now.committed,
        load(&stats.commits),
        load(&stats.ops_create),
        load(&stats.ops_update),
        load(&stats.ops_delete),
        load(&stats.skipped),
        stats.errors(),
        load(&stats.bad_frames),
        load(&stats.bad_ops),
        load(&stats.failed_events),
        load(&stats.error_frames),
        ctx.queue,
        ctx.in_flight,
        ctx.cursor.map_or_else(|| "-".to_owned(), |c| c.to_string()),
        load(&stats.db_retries),
        load(&stats.reconnects),
        quantile(&window, 0.5).as_secs_f64() * 1e3,
        quantile(&window, 0.99).as_secs_f64() * 1e3,
        load(&stats.unverified),
        load(&stats.labels),
        load(&stats.labels_refused),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut prev = 0;
        for us in 0..100_000u64 {
            let b = bucket_of(us);
            assert!(b >= prev);
            prev = b;
            let floor = bucket_floor(b);
            assert!(floor <= us, "{us} floor {floor}");
            assert!(
                us < 4 || (us as f64) < floor as f64 * 1.26,
                "{us} floor {floor}"
            );
        }
    }

    #[test]
    fn quantiles() {
        let h = Histogram::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        let c = h.counts();
        let p50 = quantile(&c, 0.5).as_millis();
        assert!((40..=50).contains(&p50), "{p50}");
        assert_eq!(h.max(), Duration::from_millis(100));
    }
}
