//! Decode throughput on real frames, one core: header + body + CAR + CID checks + typed records.
//!
//! `cargo bench --bench decode [-- CAPTURE]` (default: the real-PDS fixture). Prints frames/s for
//! several rounds and their median.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use skyindex::decode::{decode_frame, Frame};
use skyindex::source::capture::CaptureReader;

fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pds-small/frames.bin")
        });
    let mut reader = CaptureReader::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut frames = Vec::new();
    while let Some(f) = reader.next_record().unwrap_or_else(|e| panic!("{e}")) {
        frames.push(f.to_vec());
    }
    let bytes: usize = frames.iter().map(Vec::len).sum();
    println!(
        "decode: {} frames, {:.1} MB, median frame {} bytes, from {}",
        frames.len(),
        bytes as f64 / 1e6,
        {
            let mut sizes: Vec<usize> = frames.iter().map(Vec::len).collect();
            sizes.sort_unstable();
            sizes.get(sizes.len() / 2).copied().unwrap_or(0)
        },
        path.display()
    );
    let mut rates = Vec::new();
    for round in 0..7 {
        let started = Instant::now();
        let mut n = 0u64;
        let mut ops = 0u64;
        while started.elapsed() < Duration::from_millis(700) {
            for f in &frames {
                if let Ok(Frame::Event(skyindex::decode::TypedEvent::Commit(c))) = decode_frame(f) {
                    ops += c.ops.len() as u64;
                }
                n += 1;
            }
        }
        let rate = n as f64 / started.elapsed().as_secs_f64();
        println!("round {round}: {rate:.0} frames/s ({ops} ops)");
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!("median: {:.0} frames/s", rates[rates.len() / 2]);
}
