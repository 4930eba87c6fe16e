//! What happens to each decoded frame, in stream order: events are filtered and routed to their
//! writer; what is bad or skipped is counted, logged once with its seq and repo, and passed by
//! the watermark, so one bad item never stops the stream nor holds the cursor back.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use log::{debug, info, warn};

use super::filter::CollectionFilter;
use super::route::Router;
use crate::decode::{seq_of, ErrorFrame, Frame, FrameError, Skipped, TypedEvent};
use crate::stats::Stats;
use crate::verify::Verdict;

/// A message of the source, decoded.
pub struct Decoded {
    /// Size of the frame as received.
    pub bytes: usize,
    /// When the frame was read (absent for error frames, which are never routed).
    pub received: Option<Instant>,
    pub result: Result<Frame, FrameError>,
    /// What verification said of the event.
    pub verdict: Verdict,
}

pub struct Triage<'a> {
    pub router: &'a Router,
    pub stats: &'a Stats,
    /// Capture files replay from the start; events at or below this seq were committed already.
    pub skip_through: Option<i64>,
    pub filter: Option<CollectionFilter>,
    /// The last seq seen, to place a bad frame whose own seq cannot be read.
    pub last_seq: Option<i64>,
    /// Raised on `OutdatedCursor`: with backfill on, the relay's repos are listed again and
    /// compared with ours (any of them may have missed events).
    pub outdated: Option<&'a AtomicBool>,
}

impl Triage<'_> {
    /// False when the writers are gone.
    pub fn handle(&mut self, d: Decoded) -> bool {
        Stats::add(&self.stats.frames, 1);
        Stats::add(&self.stats.bytes, d.bytes as u64);
        let after = self.last_seq;
        if let Some(seq) = seq_of(&d.result) {
            self.last_seq = Some(seq);
        }
        match d.result {
            Ok(Frame::Event(event)) => match d.verdict {
                Verdict::Drop { reason, detail } => {
                    self.unverified(&event, reason, &detail);
                    true
                }
                _ => self.event(event, d.received.unwrap_or_else(Instant::now)),
            },
            Ok(Frame::Error(e)) => {
                self.error_frame(e);
                true
            }
            Ok(Frame::Skipped(s)) => {
                self.skipped(&s);
                true
            }
            Err(e) => {
                self.bad_frame(&e, d.bytes, after);
                true
            }
        }
    }

    /// An event that failed verification: dropped whole, counted by reason, logged once.
    fn unverified(&self, event: &TypedEvent, reason: &'static str, detail: &str) {
        self.stats.verify_failed(reason);
        warn!(
            "unverified {} dropped: seq={} did={} reason={reason} detail={detail}",
            event.kind(),
            event.seq().unwrap_or(-1),
            event.did().unwrap_or("-"),
        );
        if let Some(seq) = event.seq() {
            self.router.pass(seq);
        }
    }

    fn error_frame(&self, e: ErrorFrame) {
        Stats::add(&self.stats.error_frames, 1);
        match e {
            // The relay reader has acted on these (they end the connection).
            ErrorFrame::FutureCursor(_) | ErrorFrame::ConsumerTooSlow(_) => {}
            ErrorFrame::Other { error, message } => {
                warn!(
                    "relay sent error frame {error}: {}",
                    message.unwrap_or_default()
                )
            }
        }
    }

    fn skipped(&self, s: &Skipped) {
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
    }

    fn bad_frame(&self, e: &FrameError, bytes: usize, after: Option<i64>) {
        Stats::add(&self.stats.bad_frames, 1);
        // A frame damaged before its seq cannot say which it was: say where it came.
        let place = match (e.seq, after) {
            (None, Some(a)) => format!(" after_seq={a}"),
            _ => String::new(),
        };
        warn!("bad frame ({bytes} bytes), skipped: {e}{place}");
        if let Some(seq) = e.seq {
            self.router.pass(seq);
        }
    }

    fn event(&self, mut event: TypedEvent, received: Instant) -> bool {
        if let TypedEvent::Info(info) = &event {
            if info.name == "OutdatedCursor" {
                warn!(
                    "relay says OutdatedCursor ({}): our cursor is older than its history; events in between are gone{}",
                    info.message.as_deref().unwrap_or(""),
                    if self.outdated.is_some() { " (the relay's repos are enumerated again)" } else { "" }
                );
                if let Some(flag) = self.outdated {
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                }
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
        // What verification needed is done with: writers' queues must not hold it.
        match &mut event {
            TypedEvent::Commit(c) => c.proof = None,
            TypedEvent::Sync(s) => s.proof = None,
            _ => {}
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
        self.router.send(&did, event, received).is_ok()
    }
}
