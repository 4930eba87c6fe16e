//! The decode stage: takes the source's messages in order, decodes frames (fanned out to rayon
//! when several are waiting, results kept in order) and hands each result, in stream order, to
//! [`Triage`]. Every frame is decoded exactly once: error frames the relay reader already
//! decoded arrive typed.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use rayon::prelude::*;

use super::triage::{Decoded, Triage};
use super::verify::{Verdict, Verifier};
use crate::decode::{decode_frame, Frame};
use crate::source::capture::CaptureError;
use crate::source::SourceMsg;

/// Most frames decoded in one rayon batch.
const BATCH: usize = 256;

/// Runs until the source ends (returning how it ended), the channel closes, the writers are
/// gone, or `stop`.
pub fn run(
    rx: &Receiver<SourceMsg>,
    stop: &AtomicBool,
    triage: &mut Triage<'_>,
    verifier: Option<&Verifier>,
) -> Result<(), CaptureError> {
    let mut batch: Vec<SourceMsg> = Vec::with_capacity(BATCH);
    loop {
        if stop.load(Relaxed) {
            return Ok(());
        }
        let first = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let mut end = take(first, &mut batch);
        while end.is_none() && batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => end = take(m, &mut batch),
                Err(_) => break,
            }
        }
        let work = |msg| decode(msg, verifier);
        let decoded: Vec<Decoded> = if batch.len() > 1 {
            batch.par_drain(..).filter_map(work).collect()
        } else {
            batch.drain(..).filter_map(work).collect()
        };
        // Stopping while a key was awaited: nothing of this batch is routed, so the cursor
        // does not pass it and it is read again on restart.
        if decoded.iter().any(|d| d.verdict == Verdict::Interrupted) {
            return Ok(());
        }
        for d in decoded {
            if !triage.handle(d) {
                return Ok(());
            }
        }
        if let Some(end) = end {
            return end;
        }
    }
}

/// Puts a message in the batch; the source's end, if that is what it was.
fn take(msg: SourceMsg, batch: &mut Vec<SourceMsg>) -> Option<Result<(), CaptureError>> {
    match msg {
        SourceMsg::End(r) => Some(r),
        other => {
            batch.push(other);
            None
        }
    }
}

/// Decodes a frame and, with a verifier, checks what it carries.
fn decode(msg: SourceMsg, verifier: Option<&Verifier>) -> Option<Decoded> {
    match msg {
        SourceMsg::Frame(raw) => {
            let mut result = decode_frame(&raw.bytes);
            let verdict = match (&mut result, verifier) {
                (Ok(Frame::Event(event)), Some(v)) => v.check(event),
                _ => Verdict::Accept,
            };
            Some(Decoded {
                bytes: raw.bytes.len(),
                received: Some(raw.received),
                result,
                verdict,
            })
        }
        SourceMsg::ErrorFrame { error, bytes } => Some(Decoded {
            bytes,
            received: None,
            result: Ok(Frame::Error(error)),
            verdict: Verdict::Accept,
        }),
        SourceMsg::End(_) => None,
    }
}
