//! The decode stage's cost per frame with verification as the pipeline runs it, one core: the
//! real-PDS capture whose accounts' keys are known (`tests/fixtures/pds-verify`, every commit
//! really signed), through `decode_frame` and then `Verifier::check` with the documents in an
//! in-memory directory (warm cache: what a running indexer pays per event, not the first
//! fetch of an account).
//!
//! `cargo bench --bench verify_stage` (pin it: `taskset -c 0 target/release/deps/verify_stage-…`).
//! Prints frames/s for decode only, `--verify signature` and `--verify full`, medians of 7.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use skyindex::decode::{decode_frame, decode_frame_with, Frame};
use skyindex::identity::clock::SystemClock;
use skyindex::identity::dns::TxtLookup;
use skyindex::identity::http::{HttpGet, HttpResponse};
use skyindex::identity::{DnsError, HttpError, Identities, IdentityConfig};
use skyindex::source::capture::CaptureReader;
use skyindex::verify::{Verdict, Verifier, VerifyMode, VerifySettings};

/// The fixture's documents, by URL.
struct Directory(HashMap<String, Vec<u8>>);

impl HttpGet for Directory {
    fn get(&self, url: &str, _accept: &str, _max: usize) -> Result<HttpResponse, HttpError> {
        Ok(match self.0.get(url) {
            Some(body) => HttpResponse {
                status: 200,
                body: body.clone(),
                retry_after: None,
            },
            None => HttpResponse {
                status: 404,
                body: Vec::new(),
                retry_after: None,
            },
        })
    }
}

struct NoDns;

impl TxtLookup for NoDns {
    fn txt(&self, _name: &str) -> Result<Vec<Vec<u8>>, DnsError> {
        Ok(Vec::new())
    }
}

fn verifier(mode: VerifyMode, fixture: &std::path::Path) -> (Verifier, Arc<Identities>) {
    let docs: HashMap<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixture.join("dids.json")).expect("dids.json"))
            .expect("dids json");
    let plc = "https://plc.example";
    let directory = Directory(
        docs.iter()
            .map(|(did, doc)| (format!("{plc}/{did}"), doc.to_string().into_bytes()))
            .collect(),
    );
    let config = IdentityConfig {
        plc_url: plc.to_owned(),
        ..IdentityConfig::default()
    };
    let identities = Identities::with_clients(
        config,
        Arc::new(directory),
        Arc::new(NoDns),
        Arc::new(SystemClock),
    )
    .expect("identities");
    let settings = VerifySettings {
        mode,
        handles: false,
    };
    let identities = Arc::new(identities);
    let v = Verifier::new(
        settings,
        identities.clone(),
        Arc::new(AtomicBool::new(false)),
    );
    (v, identities)
}

/// Decodes (and verifies) every frame; how many were dropped.
fn pass(frames: &[Vec<u8>], verifier: Option<&Verifier>) -> usize {
    let mut dropped = 0;
    for f in frames {
        if let (Ok(Frame::Event(mut event)), Some(v)) = (decode_frame_with(f, true), verifier) {
            if matches!(v.check(&mut event), Verdict::Drop { .. }) {
                dropped += 1;
            }
        }
    }
    dropped
}

fn median_rate(frames: &[Vec<u8>], verifier: Option<&Verifier>) -> f64 {
    let mut rates = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < Duration::from_millis(500) {
            std::hint::black_box(pass(frames, verifier));
            n += frames.len() as u64;
        }
        rates.push(n as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn main() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pds-verify");
    let mut reader =
        CaptureReader::open(&fixture.join("frames.bin")).unwrap_or_else(|e| panic!("{e}"));
    let mut frames = Vec::new();
    while let Some(f) = reader.next_record().unwrap_or_else(|e| panic!("{e}")) {
        frames.push(f.to_vec());
    }
    // `#identity` purges the account's document: replaying the same frames round after round
    // would fetch every document again each round (a cold start's cost, not a running
    // indexer's). The rounds run without them; the cache is warmed once.
    frames.retain(|f| {
        !matches!(
            decode_frame(f),
            Ok(Frame::Event(skyindex::decode::TypedEvent::Identity(_)))
        )
    });
    let commits = frames
        .iter()
        .filter(|f| {
            matches!(
                decode_frame(f),
                Ok(Frame::Event(skyindex::decode::TypedEvent::Commit(_)))
            )
        })
        .count();
    println!(
        "verify_stage: {} frames ({commits} commits) from {}",
        frames.len(),
        fixture.display()
    );
    let decode = median_rate(&frames, None);
    println!("decode only:                 {decode:>8.0} frames/s");
    for (name, mode) in [
        ("--verify signature", VerifyMode::Signature),
        ("--verify full", VerifyMode::Full),
    ] {
        let (v, identities) = verifier(mode, &fixture);
        // Warm the cache (one fetch per account), and check the fixture verifies.
        let dropped = pass(&frames, Some(&v));
        assert_eq!(dropped, 0, "{name}: {dropped} frames failed verification");
        let rate = median_rate(&frames, Some(&v));
        println!("  identity cache: {:?}", identities.stats().snapshot());
        let per_commit_us = (1e6 / rate - 1e6 / decode) * frames.len() as f64 / commits as f64;
        println!(
            "decode + {name:<19} {rate:>8.0} frames/s  (verification {per_commit_us:.1} µs per commit)"
        );
    }
}
