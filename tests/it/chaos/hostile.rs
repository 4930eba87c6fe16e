//! Scenario 5, small: a 5k-event capture with 1% hostile frames, made in-process by the stream
//! generator. The worker must exit 0, count exactly the generator's bad frames and invalid ops,
//! log each invalid op once with its seq, commit every other event, and end with the cursor on
//! the last decodable seq.

use std::collections::BTreeMap;
use std::time::Duration;

use skyindex::source::capture::CaptureWriter;

use crate::common::proc::TempDir;

use super::support::{field_u64, start_worker, ChaosDb};

// The generator's core, as `tests/it/generator.rs` includes it.
use crate::generator::stream::{Corruption, Detect, Generator, Options};

const EVENTS: usize = 5_000;

struct Hostile {
    _dir: TempDir,
    source: String,
    corruptions: Vec<Corruption>,
}

fn hostile_capture() -> Hostile {
    let dir = TempDir::new("hostile");
    let path = dir.0.join("hostile.bin");
    let mut gen = Generator::new(Options {
        seed: 7,
        corrupt_per_mille: 10,
        ..Options::default()
    });
    let mut writer = CaptureWriter::create(&path).expect("create capture");
    let mut frame = Vec::new();
    for _ in 0..EVENTS {
        frame.clear();
        gen.append_frame(&mut frame);
        writer.write_record(&frame).expect("write frame");
    }
    writer.flush().expect("flush");
    drop(writer);
    Hostile {
        source: format!("file:{}", path.display()),
        corruptions: gen.corruptions().to_vec(),
        _dir: dir,
    }
}

/// The seqs named by log lines containing `marker`, with how often each is named.
fn seqs_named(log: &str, marker: &str) -> BTreeMap<i64, usize> {
    let mut out = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains(marker)) {
        if let Some(seq) = super::support::field(line, "seq").and_then(|s| s.parse().ok()) {
            *out.entry(seq).or_insert(0) += 1;
        }
    }
    out
}

/// Runs the worker over the capture to its end; returns the log.
fn index(h: &Hostile, db: &ChaosDb) -> String {
    let mut w = start_worker(&db.url, &["--relay", &h.source]);
    let status = w.wait(Duration::from_secs(120));
    let log = w.log_text();
    assert!(status.success(), "exit {status}; log:\n{log}");
    log
}

#[test]
fn one_percent_hostile_frames_are_counted_logged_and_skipped_exactly() {
    let h = hostile_capture();
    let by = |d: Detect| -> Vec<i64> {
        h.corruptions
            .iter()
            .filter(|c| c.detect == d)
            .map(|c| c.seq)
            .collect()
    };
    let (frame_seqs, op_seqs) = (by(Detect::Frame), by(Detect::Op));
    assert!(
        frame_seqs.len() >= 10 && op_seqs.len() >= 10,
        "{} bad frames and {} bad ops: not enough to test",
        frame_seqs.len(),
        op_seqs.len()
    );

    let db = ChaosDb::new("hostile");
    let log = index(&h, &db);
    let stats = log
        .lines()
        .rfind(|l| l.contains(" stats "))
        .expect("a stats line");
    assert_eq!(
        field_u64(stats, "bad_frames"),
        frame_seqs.len() as u64,
        "{stats}"
    );
    assert_eq!(field_u64(stats, "bad_ops"), op_seqs.len() as u64, "{stats}");
    assert_eq!(field_u64(stats, "failed_events"), 0, "{stats}");
    assert_eq!(
        log.matches("bad frame (").count(),
        frame_seqs.len(),
        "one warning per bad frame"
    );
    // Each invalid op is logged once, with its seq and a reason; nothing else is.
    let ops = seqs_named(&log, "invalid record skipped:");
    let want: BTreeMap<i64, usize> = op_seqs.iter().map(|s| (*s, 1)).collect();
    assert_eq!(ops, want, "invalid-op warnings by seq");
    assert!(log
        .lines()
        .filter(|l| l.contains("invalid record skipped:"))
        .all(|l| l.contains(" reason=")));
    // Bad frames that name a seq name one of the corrupted ones, once.
    for (seq, n) in seqs_named(&log, "bad frame (") {
        assert!(
            frame_seqs.contains(&seq) && n == 1,
            "seq {seq} named {n} times"
        );
    }
    // Every other event is committed, and the cursor is on the last decodable seq.
    let committed = format!("{} events committed", EVENTS - frame_seqs.len());
    assert!(log.contains(&committed), "want {committed:?}:\n{log}");
    let mut last_good = EVENTS as i64;
    while frame_seqs.contains(&last_good) {
        last_good -= 1;
    }
    assert_eq!(db.cursor(), Some(last_good));
}

/// The README promises that a bad frame is logged with its `seq` and `did`. Frames whose body
/// fails the canonical DAG-CBOR check (truncated, absurd lengths, most bit flips) are logged with
/// neither, although both sit in the intact first bytes of the body (`src/decode/frame.rs`,
/// the `validate_exact(body)` error path sets `seq: None, did: None`). Ignored until that is
/// fixed; see RELIABILITY.md, scenario 5.
#[test]
fn every_bad_frame_is_logged_with_its_seq() {
    let h = hostile_capture();
    let db = ChaosDb::new("hostile_seq");
    let log = index(&h, &db);
    let named = seqs_named(&log, "bad frame (");
    let unnamed: Vec<&Corruption> = h
        .corruptions
        .iter()
        .filter(|c| c.detect == Detect::Frame && !named.contains_key(&c.seq))
        .collect();
    assert!(
        unnamed.is_empty(),
        "{} of {} bad frames logged without their seq, e.g. {:?}",
        unnamed.len(),
        h.corruptions
            .iter()
            .filter(|c| c.detect == Detect::Frame)
            .count(),
        unnamed.iter().take(5).collect::<Vec<_>>()
    );
}
