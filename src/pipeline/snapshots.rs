//! `skyindex backfill`: the writers and the backfill stage without the firehose, until the
//! repos asked for are all cut over (or have failed), with a progress line per interval.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::info;

use super::labelers::LabelRouter;
use super::progress::Progress;
use super::service::{start_writers, Settings, SpawnError};
use crate::db::pool::PgPool;
use crate::db::repos;
use crate::stats::Stats;
use crate::sync::{Fetcher, Stage, StageSettings};

/// How the one-shot backfill ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    pub synchronized: usize,
    pub failed: usize,
    /// Still pending when a signal stopped it.
    pub left: usize,
}

/// Fetches and cuts over `dids` (already `desynchronized`), then stops.
pub fn run(
    settings: &Settings,
    pool: &PgPool,
    fetcher: Arc<Fetcher>,
    dids: &[String],
    stop: &Arc<AtomicBool>,
) -> Result<Done, SpawnError> {
    let progress = Arc::new(Progress::new(None));
    let stats = Arc::new(Stats::new());
    let writers = start_writers(settings, pool, &progress, &stats)?;
    let router = Arc::new(LabelRouter::new(writers.label_senders.clone()));
    let stage = Stage::start(
        StageSettings {
            fetchers: settings.backfill.as_ref().map_or(8, |b| b.fetchers),
            poll: Duration::from_millis(200),
            enumerate: None,
            wants: super::service::wants_of(settings),
        },
        pool.clone(),
        fetcher,
        router.clone(),
        stats.clone(),
    )
    .map_err(|e| SpawnError("backfill", e))?;
    let started = Instant::now();
    let mut last_line = Instant::now();
    // On a terminal a bar; in a log, a line per interval.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(dids.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "backfill {bar:40} {pos}/{len} repos, {msg}, eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let done = loop {
        std::thread::sleep(Duration::from_millis(200));
        let counts = pool
            .get()
            .ok()
            .and_then(|mut c| repos::states_of(&mut c, dids).ok());
        let Some((synchronized, failed, left)) = counts else {
            continue;
        };
        let finished = left == 0 || stop.load(Relaxed);
        if let Some(bar) = &bar {
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            bar.set_position((synchronized + failed) as u64);
            bar.set_message(format!(
                "{failed} failed, {:.0} records/s",
                stats.backfill_records.load(Relaxed) as f64 / secs
            ));
        }
        if finished || (bar.is_none() && last_line.elapsed() >= settings.stats_interval) {
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            last_line = Instant::now();
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            let done = synchronized + failed;
            let rate = done as f64 / secs;
            let eta = if rate > 0.0 { left as f64 / rate } else { 0.0 };
            info!(
                "backfill: {done}/{} repos ({synchronized} synchronized, {failed} failed) records/sec={:.0} fetch_bytes/sec={:.0} eta_s={eta:.0}",
                dids.len(),
                stats.backfill_records.load(Relaxed) as f64 / secs,
                stats.fetch_bytes.load(Relaxed) as f64 / secs,
            );
        }
        if finished {
            break Done {
                synchronized,
                failed,
                left,
            };
        }
    };
    stage.join();
    router.close();
    drop(writers.router);
    drop(writers.label_senders);
    drop(writers.probe);
    for h in writers.handles {
        let _ = h.join();
    }
    Ok(done)
}
