//! The decode → route stage: takes raw messages in order, decodes them (fanned out to rayon when
//! several are waiting, results kept in order), counts and logs what is bad or skipped, and routes
//! each event to the writer that owns its repo.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use log::{debug, info, warn};
use rayon::prelude::*;

use crate::decode::{decode_frame, ErrorFrame, Frame, FrameError, TypedEvent};
use crate::route::Router;
use crate::source::{RawFrame, SourceMsg};
use crate::stats::Stats;

/// Most frames decoded in one rayon batch.
const BATCH: usize = 256;

/// `--collections`: NSIDs or prefixes ending in `.*` (like Jetstream's wantedCollections). Ops of
/// other collections are dropped before they reach a writer; the commit itself (its rev) still
/// applies.
#[derive(Debug, Clone, Default)]
pub struct CollectionFilter {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl CollectionFilter {
    pub fn parse(spec: &str) -> Result<CollectionFilter, String> {
        let mut f = CollectionFilter::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(prefix) = item.strip_suffix(".*") {
                crate::syntax::nsid(&format!("{prefix}.x"))
                    .or_else(|_| crate::syntax::nsid(&format!("{prefix}.x.y")))
                    .map_err(|e| format!("--collections {item:?}: {e}"))?;
                f.prefixes.push(format!("{prefix}."));
            } else {
                crate::syntax::nsid(item).map_err(|e| format!("--collections {item:?}: {e}"))?;
                f.exact.push(item.to_owned());
            }
        }
        if f.exact.is_empty() && f.prefixes.is_empty() {
            return Err("--collections is empty".into());
        }
        Ok(f)
    }

    pub fn wants(&self, collection: &str) -> bool {
        self.exact.iter().any(|c| c == collection)
            || self.prefixes.iter().any(|p| collection.starts_with(p))
    }
}

pub struct Dispatcher<'a> {
    pub router: &'a Router,
    pub stats: &'a Stats,
    /// Capture files replay from the start; events at or below this seq were committed already.
    pub skip_through: Option<i64>,
    pub filter: Option<CollectionFilter>,
    /// The last seq seen, to place a bad frame whose own seq cannot be read.
    pub last_seq: std::cell::Cell<Option<i64>>,
}

impl Dispatcher<'_> {
    /// Runs until the source ends (returning how it ended), the channel closes, or `stop`.
    pub fn run(&self, rx: &Receiver<SourceMsg>, stop: &AtomicBool) -> Result<(), String> {
        let mut batch: Vec<RawFrame> = Vec::with_capacity(BATCH);
        loop {
            if stop.load(Relaxed) {
                return Ok(());
            }
            let first = match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            };
            let mut end = None;
            match first {
                SourceMsg::Frame(f) => batch.push(f),
                SourceMsg::End(r) => end = Some(r),
            }
            while end.is_none() && batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(SourceMsg::Frame(f)) => batch.push(f),
                    Ok(SourceMsg::End(r)) => end = Some(r),
                    Err(_) => break,
                }
            }
            let decoded: Vec<Result<Frame, FrameError>> = if batch.len() > 1 {
                batch.par_iter().map(|f| decode_frame(&f.bytes)).collect()
            } else {
                batch.iter().map(|f| decode_frame(&f.bytes)).collect()
            };
            for (raw, result) in batch.drain(..).zip(decoded) {
                Stats::add(&self.stats.frames, 1);
                Stats::add(&self.stats.bytes, raw.bytes.len() as u64);
                let seq = match &result {
                    Ok(Frame::Event(e)) => e.seq(),
                    Ok(Frame::Skipped(s)) => s.seq,
                    Ok(Frame::Error(_)) => None,
                    Err(e) => e.seq,
                };
                let after = self.last_seq.get();
                if seq.is_some() {
                    self.last_seq.set(seq);
                }
                if !self.handle(raw, result, after) {
                    return Ok(());
                }
            }
            if let Some(end) = end {
                return end;
            }
        }
    }

    /// False when the writers are gone.
    fn handle(&self, raw: RawFrame, result: Result<Frame, FrameError>, after: Option<i64>) -> bool {
        match result {
            Ok(Frame::Event(event)) => self.event(raw, event),
            Ok(Frame::Error(e)) => {
                Stats::add(&self.stats.error_frames, 1);
                match e {
                    // The reader has acted on these already.
                    ErrorFrame::FutureCursor(_) | ErrorFrame::ConsumerTooSlow(_) => {}
                    ErrorFrame::Other { error, message } => {
                        warn!(
                            "relay sent error frame {error}: {}",
                            message.unwrap_or_default()
                        )
                    }
                }
                true
            }
            Ok(Frame::Skipped(s)) => {
                Stats::add(&self.stats.skipped, 1);
                debug!(
                    "skipping t={} seq={} did={}: {}",
                    s.t,
                    s.seq.unwrap_or(-1),
                    s.did.as_deref().unwrap_or("-"),
                    s.reason
                );
                if let Some(seq) = s.seq {
                    self.router.pass(seq);
                }
                true
            }
            Err(e) => {
                Stats::add(&self.stats.bad_frames, 1);
                // A frame damaged before its seq cannot say which it was: say where it came.
                let place = match (e.seq, after) {
                    (None, Some(a)) => format!(" after_seq={a}"),
                    _ => String::new(),
                };
                warn!("bad frame ({} bytes), skipped: {e}{place}", raw.bytes.len());
                if let Some(seq) = e.seq {
                    self.router.pass(seq);
                }
                true
            }
        }
    }

    fn event(&self, raw: RawFrame, mut event: TypedEvent) -> bool {
        if let TypedEvent::Info(info) = &event {
            if info.name == "OutdatedCursor" {
                warn!(
                    "relay says OutdatedCursor ({}): our cursor is older than its history; events in between are gone",
                    info.message.as_deref().unwrap_or("")
                );
            } else {
                info!(
                    "relay info {}: {}",
                    info.name,
                    info.message.as_deref().unwrap_or("")
                );
            }
            return true;
        }
        let seq = event.seq().unwrap_or(-1);
        if self.skip_through.is_some_and(|c| seq <= c) {
            Stats::add(&self.stats.skipped, 1);
            return true;
        }
        if let TypedEvent::Commit(c) = &mut event {
            for bad in &c.invalid {
                Stats::add(&self.stats.bad_ops, 1);
                warn!(
                    "invalid record skipped: seq={} did={} path={} reason={}",
                    c.seq, c.repo, bad.path, bad.reason
                );
            }
            if let Some(filter) = &self.filter {
                c.ops.retain(|op| filter.wants(&op.collection));
            }
        }
        let Some(did) = event.did().map(str::to_owned) else {
            return true;
        };
        Stats::add(&self.stats.events, 1);
        self.stats.mark_first_event();
        self.router.send(&did, event, raw.received).is_ok()
    }
}
