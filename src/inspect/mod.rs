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

use std::io::{self, Write};
use std::path::Path;

use log::info;

use crate::decode::{decode_frame, Frame, TypedEvent};
use crate::source::capture::{CaptureError, CaptureReader};

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
) -> io::Result<Option<CaptureError>> {
    let mut summary = Summary::new();
    let damage = for_each_record(reader, |bytes| {
        summary.add(&decode_frame(bytes), bytes.len());
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
}

/// Writes one Jetstream-shaped JSON line per event to `out`, and logs what it left out; returns
/// the damage, if the capture has any.
pub fn json_lines(
    reader: &mut CaptureReader,
    out: &mut dyn Write,
) -> io::Result<Option<CaptureError>> {
    let mut lines = 0u64;
    let mut unshown = Unshown::default();
    let damage = for_each_record(reader, |bytes| {
        let event = match decode_frame(bytes) {
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
         bad_frames {} invalid_ops {} bad_time {}",
        u.sync, u.info, u.error_frames, u.skipped, u.bad_frames, u.invalid_ops, u.bad_time
    );
    Ok(damage)
}
