//! What is in a capture (`skyindex inspect`), as a summary (frames by type, ops by collection,
//! seq range and gaps, invalid items by reason, sizes), or as Jetstream-shaped JSON lines for
//! tools that speak Jetstream.
//!
//! A damaged (truncated) capture is reported after everything before the damage has been
//! counted or printed: the functions here return the damage, and the caller decides.

mod jetstream;
mod summary;

pub use jetstream::{events as jetstream_events, Event as JetstreamEvent};
pub use summary::{reason_group, Summary, GAPS_KEPT};

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use log::info;

use crate::decode::{decode_frame_with, Frame, TypedEvent};
use crate::source::capture::{CaptureError, CaptureReader};
use crate::verify::{Verdict, Verifier};

/// Where a damaged capture stops being readable.
pub fn damage_offset(e: &CaptureError) -> u64 {
    match e {
        CaptureError::Truncated { offset, .. }
        | CaptureError::TooLong { offset, .. }
        | CaptureError::Read { offset, .. } => *offset,
        CaptureError::Open { .. } => 0,
    }
}

/// Hands every record to `each` up to the end of the capture or its damage (returned). Errors
/// are `each`'s own, i.e. writing the output.
fn for_each_record(
    reader: &mut CaptureReader,
    mut each: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<Option<CaptureError>> {
    loop {
        match reader.next_record() {
            Ok(Some(bytes)) => each(bytes)?,
            Ok(None) => return Ok(None),
            Err(e) => return Ok(Some(e)),
        }
    }
}

/// Writes the summary of the capture at `path` (read through `reader`) to `out`; returns the
/// damage, if the capture has any.
pub fn summary(
    path: &Path,
    reader: &mut CaptureReader,
    out: &mut dyn Write,
    verifier: Option<&Verifier>,
) -> io::Result<Option<CaptureError>> {
    let mut summary = Summary::new();
    let mut verification = Verification::default();
    let damage = for_each_record(reader, |bytes| {
        let mut decoded = decode_frame_with(bytes, verifier.is_some());
        summary.add(&decoded, bytes.len());
        if let (Some(v), Ok(Frame::Event(event))) = (verifier, &mut decoded) {
            let verdict = v.check(event);
            verification.add(event, verdict);
        }
        Ok(())
    })?;
    writeln!(out, "capture {}", path.display())?;
    let file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if file_bytes == reader.offset() || damage.is_some() {
        writeln!(out, "file bytes {file_bytes}")?;
    } else {
        writeln!(
            out,
            "file bytes {file_bytes} (uncompressed {})",
            reader.offset()
        )?;
    }
    summary.write_text(out)?;
    if verifier.is_some() {
        verification.write_text(out)?;
    }
    if let Some(e) = &damage {
        writeln!(
            out,
            "DAMAGED: {e}; the counts above cover the {} frames before byte {}",
            summary.frames,
            damage_offset(e)
        )?;
    }
    Ok(damage)
}

/// What `--json` leaves out, reported at the end so nothing disappears silently.
#[derive(Default)]
struct Unshown {
    sync: u64,
    info: u64,
    error_frames: u64,
    skipped: u64,
    bad_frames: u64,
    invalid_ops: u64,
    bad_time: u64,
    unverified: u64,
}

/// What verification made of a capture's events.
#[derive(Default)]
struct Verification {
    commits: u64,
    syncs: u64,
    /// Accepted commits without `prevData` (pre-Sync-1.1): signature checked, proof not.
    legacy: u64,
    dropped: BTreeMap<&'static str, u64>,
}

impl Verification {
    fn add(&mut self, event: &TypedEvent, verdict: Verdict) {
        match (event, verdict) {
            (_, Verdict::Drop { reason, .. }) => *self.dropped.entry(reason).or_default() += 1,
            (TypedEvent::Commit(c), _) => {
                self.commits += 1;
                self.legacy += u64::from(c.prev_data.is_none());
            }
            (TypedEvent::Sync(_), _) => self.syncs += 1,
            _ => {}
        }
    }

    fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "verification: commits verified {}  (without prevData {})  #sync verified {}",
            self.commits, self.legacy, self.syncs
        )?;
        if self.dropped.is_empty() {
            return writeln!(out, "verification failures: none");
        }
        writeln!(out, "verification failures:")?;
        for (reason, n) in &self.dropped {
            writeln!(out, "  {reason:<16}  {n:>8}")?;
        }
        Ok(())
    }
}

/// Writes one Jetstream-shaped JSON line per event to `out`, and logs what it left out; returns
/// the damage, if the capture has any.
pub fn json_lines(
    reader: &mut CaptureReader,
    out: &mut dyn Write,
    verifier: Option<&Verifier>,
) -> io::Result<Option<CaptureError>> {
    let mut lines = 0u64;
    let mut unshown = Unshown::default();
    let damage = for_each_record(reader, |bytes| {
        let mut event = match decode_frame_with(bytes, verifier.is_some()) {
            Ok(Frame::Event(event)) => event,
            Ok(Frame::Error(_)) => {
                unshown.error_frames += 1;
                return Ok(());
            }
            Ok(Frame::Skipped(_)) => {
                unshown.skipped += 1;
                return Ok(());
            }
            Err(_) => {
                unshown.bad_frames += 1;
                return Ok(());
            }
        };
        if let Some(v) = verifier {
            if matches!(v.check(&mut event), Verdict::Drop { .. }) {
                unshown.unverified += 1;
                return Ok(());
            }
        }
        match &event {
            TypedEvent::Sync(_) => unshown.sync += 1,
            TypedEvent::Info(_) => unshown.info += 1,
            TypedEvent::Commit(c) => unshown.invalid_ops += c.invalid.len() as u64,
            TypedEvent::Identity(_) | TypedEvent::Account(_) => {}
        }
        let Some(events) = jetstream::events(&event) else {
            unshown.bad_time += 1;
            return Ok(());
        };
        for e in &events {
            serde_json::to_writer(&mut *out, e)?;
            out.write_all(b"\n")?;
            lines += 1;
        }
        Ok(())
    })?;
    let u = &unshown;
    info!(
        "inspect: {lines} JSON lines; not shown: #sync {} #info {} error_frames {} skipped {} \
         bad_frames {} invalid_ops {} bad_time {} unverified {}",
        u.sync,
        u.info,
        u.error_frames,
        u.skipped,
        u.bad_frames,
        u.invalid_ops,
        u.bad_time,
        u.unverified
    );
    Ok(damage)
}
