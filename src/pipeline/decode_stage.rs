//! The decode stage: takes the source's messages in order, decodes frames (fanned out to rayon
//! when several are waiting, results kept in order), verifies them (each account's events in
//! stream order, different accounts in parallel: a key rotation or an `#identity` must be seen
//! by the commits after it and only by those) and hands each result, in stream order, to
//! [`Triage`]. Every frame is decoded exactly once: error frames the relay reader already
//! decoded arrive typed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use rayon::prelude::*;

use super::tracked::Tracked;
use super::triage::{Decoded, Triage};
use crate::decode::{decode_frame_with, peek, Frame, FrameError, Skipped};
use crate::source::capture::CaptureError;
use crate::source::SourceMsg;
use crate::verify::{Verdict, Verifier};

/// Most frames decoded in one rayon batch.
const BATCH: usize = 256;

/// Fewer frames than this are decoded on this thread: at the live rate a batch holds one or
/// two, and waking rayon's threads for them (which then spin before they sleep) cost more CPU
/// than the decoding, taken from PostgreSQL on two shared cores (`perf` at 2,000 events/s: the
/// unnamed threads, rayon's among them, a quarter of the process's samples, an eighth of that
/// in `sched_yield`).
const PARALLEL_FROM: usize = 8;

/// Runs until the source ends (returning how it ended), the channel closes, the writers are
/// gone, or `stop`.
pub fn run(
    rx: &Receiver<SourceMsg>,
    stop: &AtomicBool,
    triage: &mut Triage<'_>,
    verifier: Option<&Verifier>,
    tracked: Option<&Tracked>,
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
        let proof = verifier.is_some();
        let results: Vec<Option<Result<Frame, FrameError>>> = if batch.len() >= PARALLEL_FROM {
            batch
                .par_iter()
                .map(|m| decode(m, proof, tracked))
                .collect()
        } else {
            batch.iter().map(|m| decode(m, proof, tracked)).collect()
        };
        // The frames' buffers are freed here, on this thread, not on rayon's: glibc's malloc
        // pays for frees spread over threads that did not allocate (measured: +3% CPU).
        let mut decoded: Vec<Decoded> = batch
            .drain(..)
            .zip(results)
            .filter_map(|(msg, result)| decoded_of(msg, result))
            .collect();
        if let Some(verifier) = verifier {
            decoded = verify_in_order(decoded, verifier);
        }
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

/// Decodes a raw frame (one of an account not tracked only as far as its header and account);
/// the other messages need no decoding.
fn decode(
    msg: &SourceMsg,
    proof: bool,
    tracked: Option<&Tracked>,
) -> Option<Result<Frame, FrameError>> {
    match msg {
        SourceMsg::Frame(raw) => {
            if let Some(tracked) = tracked {
                if let Some(p) = peek(&raw.bytes) {
                    if p.did.as_deref().is_some_and(|d| !tracked.has(d)) {
                        return Some(Ok(Frame::Skipped(Skipped {
                            reason: "account not tracked (--only-tracked)",
                            ..p
                        })));
                    }
                }
            }
            Some(decode_frame_with(&raw.bytes, proof))
        }
        SourceMsg::ErrorFrame { .. } | SourceMsg::End(_) => None,
    }
}

fn decoded_of(msg: SourceMsg, result: Option<Result<Frame, FrameError>>) -> Option<Decoded> {
    match (msg, result) {
        (SourceMsg::Frame(raw), Some(result)) => Some(Decoded {
            bytes: raw.bytes.len(),
            received: Some(raw.received),
            result,
            verdict: Verdict::Accept,
        }),
        (SourceMsg::ErrorFrame { error, bytes }, _) => Some(Decoded {
            bytes,
            received: None,
            result: Ok(Frame::Error(error)),
            verdict: Verdict::Accept,
        }),
        _ => None,
    }
}

/// Verifies a batch: the events of one account one after another in stream order, accounts in
/// parallel. Returns the batch in its order, each with its verdict.
fn verify_in_order(decoded: Vec<Decoded>, verifier: &Verifier) -> Vec<Decoded> {
    let mut groups: Vec<Vec<(usize, Decoded)>> = Vec::new();
    let mut by_did: HashMap<String, usize> = HashMap::new();
    for (i, d) in decoded.into_iter().enumerate() {
        let did = match &d.result {
            Ok(Frame::Event(e)) => e.did().map(str::to_owned),
            _ => None,
        };
        let group = match did {
            Some(did) => *by_did.entry(did).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            }),
            None => {
                groups.push(Vec::new());
                groups.len() - 1
            }
        };
        groups[group].push((i, d));
    }
    let check = |group: Vec<(usize, Decoded)>| {
        group.into_iter().map(|(i, mut d)| {
            if let Ok(Frame::Event(event)) = &mut d.result {
                d.verdict = verifier.check(event);
            }
            (i, d)
        })
    };
    let mut out: Vec<(usize, Decoded)> = if groups.len() > 1 {
        groups.into_par_iter().flat_map_iter(check).collect()
    } else {
        groups.into_iter().flat_map(check).collect()
    };
    out.sort_unstable_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, d)| d).collect()
}
