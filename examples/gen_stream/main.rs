//! Writes a deterministic, realistic firehose capture for benchmarks and chaos tests.
//!
//! ```text
//! cargo run --release --example gen_stream -- --events 1000000 --seed 1 --out /tmp/gen.bin.zst
//! ```
//!
//! The same arguments always give byte-identical files. Frames are made on the main thread and
//! written (and zstd-compressed, for a `.zst` name) by `CaptureWriter` on a second thread. With
//! `--corrupt-per-mille N`, hostile frames are mixed in and listed in `FILE.corruptions.json`.
//! With `--signed DIR`, every commit carries a real MST proof and its account's signature, and
//! the accounts' DID documents go to `DIR/dids.json` (one object, by DID) for a loopback
//! directory to serve (`examples/plc_directory.rs`). A summary goes to stderr.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use clap::Parser;
use skyindex::source::capture::CaptureWriter;

// Shared with `tests/it/generator.rs`, which uses parts of it this binary does not.
#[allow(dead_code)]
mod generator;

use generator::{Generator, Options, CORRUPT_KINDS};

#[derive(Parser, Debug)]
#[command(about = "Generate a deterministic, realistic subscribeRepos capture")]
struct Args {
    /// Number of frames to write.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// Seed: the same arguments give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of accounts (about 1% of them sign up during the stream).
    #[arg(long, default_value_t = 100_000)]
    repos: u32,
    /// Output capture; a name ending in `.zst` is zstd-compressed.
    #[arg(long)]
    out: PathBuf,
    /// Simulated events per second, for the `time` field.
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// Hostile frames per thousand (truncated, bit-flipped, CID mismatch, absurd lengths,
    /// invalid records), listed in `OUT.corruptions.json`.
    #[arg(long, default_value_t = 0)]
    corrupt_per_mille: u32,
    /// Sign every commit with its account's key over a real MST proof (`--verify full`
    /// accepts them all) and write the accounts' DID documents to `DIR/dids.json`.
    #[arg(long, value_name = "DIR")]
    signed: Option<PathBuf>,
}

/// A batch of frames on its way to the writer thread: their bytes back to back, and their ends.
struct Batch {
    data: Vec<u8>,
    ends: Vec<usize>,
}

const BATCH_BYTES: usize = 4 << 20;

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("gen_stream: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        return Err("--rate must be a positive number".into());
    }
    if args.corrupt_per_mille > 1000 {
        return Err("--corrupt-per-mille is at most 1000".into());
    }
    if args.signed.is_some() && args.corrupt_per_mille > 0 {
        return Err("--signed makes honest streams only: no --corrupt-per-mille".into());
    }
    if args.repos < 2 {
        return Err("--repos must be at least 2".into());
    }
    let started = Instant::now();
    let mut writer = CaptureWriter::create(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;

    // Full batches go to the writer; emptied ones come back to be filled again.
    let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(4);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    let writer_thread = std::thread::spawn(move || -> std::io::Result<()> {
        for mut batch in full_rx {
            let mut start = 0;
            for &end in &batch.ends {
                writer.write_record(&batch.data[start..end])?;
                start = end;
            }
            batch.data.clear();
            batch.ends.clear();
            let _ = empty_tx.send(batch);
        }
        writer.flush()?;
        // Dropping the writer finishes the zstd frame.
        drop(writer);
        Ok(())
    });

    let mut gen = Generator::new(Options {
        seed: args.seed,
        repos: args.repos,
        rate: args.rate,
        corrupt_per_mille: args.corrupt_per_mille,
        signed: args.signed.is_some(),
    });
    let setup = started.elapsed();
    let mut batch = Batch {
        data: Vec::with_capacity(BATCH_BYTES + (1 << 20)),
        ends: Vec::new(),
    };
    let mut send_failed = false;
    for _ in 0..args.events {
        gen.append_frame(&mut batch.data);
        batch.ends.push(batch.data.len());
        if batch.data.len() >= BATCH_BYTES {
            let next = empty_rx.try_recv().unwrap_or_else(|_| Batch {
                data: Vec::with_capacity(BATCH_BYTES + (1 << 20)),
                ends: Vec::new(),
            });
            if full_tx.send(std::mem::replace(&mut batch, next)).is_err() {
                send_failed = true;
                break;
            }
        }
    }
    let generated = started.elapsed();
    if !batch.ends.is_empty() && !send_failed {
        let _ = full_tx.send(batch);
    }
    drop(full_tx);
    writer_thread
        .join()
        .map_err(|_| "writer thread panicked".to_string())?
        .map_err(|e| format!("writing {}: {e}", args.out.display()))?;
    let elapsed = started.elapsed();

    let file_bytes = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
    let stats = gen.stats();
    let mut sidecar = None;
    if args.corrupt_per_mille > 0 {
        let mut name = args.out.clone().into_os_string();
        name.push(".corruptions.json");
        let path = PathBuf::from(name);
        let json = serde_json::to_vec_pretty(&gen.corruptions_json()).map_err(|e| e.to_string())?;
        std::fs::write(&path, json).map_err(|e| format!("writing {}: {e}", path.display()))?;
        sidecar = Some(path);
    }

    if let Some(dir) = &args.signed {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let path = dir.join("dids.json");
        let json = serde_json::to_vec(&gen.documents()).map_err(|e| e.to_string())?;
        std::fs::write(&path, json).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!(
            "DID documents of {} accounts in {}",
            args.repos,
            path.display()
        );
    }

    eprint!("{}", stats.summary());
    eprintln!(
        "file {}: {} bytes ({:.1} MB, {:.1}% of the frames' bytes)",
        args.out.display(),
        file_bytes,
        file_bytes as f64 / 1e6,
        100.0 * file_bytes as f64 / (stats.bytes + 4 * stats.frames).max(1) as f64
    );
    eprintln!(
        "elapsed {:.2} s (setup {:.2} s, generation done at {:.2} s): {:.0} events/s, {:.1} MB/s of frames",
        elapsed.as_secs_f64(),
        setup.as_secs_f64(),
        generated.as_secs_f64(),
        stats.frames as f64 / elapsed.as_secs_f64(),
        stats.bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );
    if let Some(path) = sidecar {
        let counts: Vec<String> = CORRUPT_KINDS
            .iter()
            .map(|k| format!("{} {}", k.name(), stats.corrupt[*k as usize]))
            .collect();
        eprintln!(
            "hostile frames: {} ({}), listed in {}",
            gen.corruptions().len(),
            counts.join(", "),
            path.display()
        );
    }
    Ok(())
}
