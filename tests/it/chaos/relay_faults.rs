//! Scenario 3: relay faults through the replay server. `tests/it/relay.rs` already checks each
//! fault alone on the fixture; here they run all at once (fast), and one by one over a 100k-event
//! capture with figures for scripts/chaos.sh (`scale_relay_faults`, ignored by default).
//!
//! `scale_relay_faults` reads: `CHAOS_INPUTS` (`gen,pds`; default `pds`), `CHAOS_CAPTURE` (the
//! generated capture for `gen`), `CHAOS_CLEAN_GEN` / `CHAOS_CLEAN_PDS` (URLs of databases holding
//! clean runs to compare with; without them a clean run is made first), `CHAOS_BIN` and
//! `CHAOS_RESULTS` (see support.rs).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::Connection;
use skyindex::replay::{Recording, ReplayOptions, ReplayServer};

use crate::common::{self, truth};

use super::support::{
    compare, dump, field_u64, ms_summary, recovery_ms, report, start_worker, wait_for_cursor,
    ChaosDb, Dump, Row,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Drops,
    Stall,
    FutureCursor,
    ConsumerTooSlow,
    Garbage,
    AllAtOnce,
}

const ALL: [Fault; 6] = [
    Fault::Drops,
    Fault::Stall,
    Fault::FutureCursor,
    Fault::ConsumerTooSlow,
    Fault::Garbage,
    Fault::AllAtOnce,
];

/// Log lines that start an outage, and the one that ends it.
const OUTAGES: [&str; 4] = [
    "relay connection lost",
    "(stall timeout): reconnecting",
    "relay says",
    "relay closed the connection",
];
const RECONNECTED: &str = "connected to ws://";

struct Input {
    name: &'static str,
    source: PathBuf,
    recording: Arc<Recording>,
    last: i64,
    clean: Dump,
    /// The fixture's ground truth, when there is one.
    truth: Option<truth::Truth>,
}

fn clean_dump(name: &str, source: &Path, url: Option<String>) -> Dump {
    if let Some(url) = url {
        let mut conn = PgConnection::establish(&url).expect("connect to the clean database");
        return dump(&mut conn);
    }
    let db = ChaosDb::new(&format!("clean_{name}"));
    let mut w = start_worker(&db.url, &["--relay", &format!("file:{}", source.display())]);
    let status = w.wait(Duration::from_secs(600));
    assert!(status.success(), "clean run: {status}\n{}", w.log_text());
    dump(&mut db.conn())
}

fn input(name: &'static str) -> Input {
    let (source, clean_env, truth) = match name {
        "pds" => (
            common::pds_small().join("frames.bin"),
            "CHAOS_CLEAN_PDS",
            Some(truth::load(&common::pds_small())),
        ),
        "gen" => (
            PathBuf::from(
                std::env::var("CHAOS_CAPTURE")
                    .unwrap_or_else(|_| "/work/bench/chaos100k.bin".into()),
            ),
            "CHAOS_CLEAN_GEN",
            None,
        ),
        other => panic!("unknown input {other}"),
    };
    let loaded = Instant::now();
    let recording = Arc::new(Recording::load(&source).expect("load capture"));
    eprintln!(
        "{name}: {} frames loaded in {:.1} s",
        recording.len(),
        loaded.elapsed().as_secs_f64()
    );
    let last = recording.max_seq().expect("a capture with events");
    let clean = clean_dump(name, &source, std::env::var(clean_env).ok());
    assert_eq!(
        clean.cursor,
        Some(last),
        "the clean run ends on the last seq"
    );
    Input {
        name,
        source,
        recording,
        last,
        clean,
        truth,
    }
}

/// The fault's options and worker arguments, scaled to the capture's length.
fn plan(fault: Fault, frames: usize, last: i64) -> (ReplayOptions, Vec<String>, String) {
    let n = frames;
    let stall = if n > 10_000 { "2s" } else { "1s" };
    let mut o = ReplayOptions::default();
    let mut args = Vec::new();
    let params = match fault {
        Fault::Drops => {
            o.drop_every = Some((n / 10).max(50));
            format!("connection dropped every {} frames", n / 10)
        }
        Fault::Stall => {
            o.stall_after = Some(n * 3 / 10);
            args = vec!["--stall-timeout".into(), stall.into()];
            format!(
                "silent after {} frames, --stall-timeout {stall}",
                n * 3 / 10
            )
        }
        Fault::FutureCursor => {
            let c = last + 1_000_000;
            args = vec!["--cursor".into(), c.to_string()];
            format!("--cursor {c}: FutureCursor, then from live")
        }
        Fault::ConsumerTooSlow => {
            o.error_frame_after = Some((n / 2, "ConsumerTooSlow".into()));
            format!("ConsumerTooSlow after {} frames", n / 2)
        }
        Fault::Garbage => {
            o.garbage_every = Some((n / 100).max(10));
            format!("a garbage frame after every {} frames", (n / 100).max(10))
        }
        Fault::AllAtOnce => {
            // Counts are per connection, and a drop starts a new one: the error frame and the
            // stall (once per server each) must come before the first drop to happen at all.
            o.error_frame_after = Some((n / 10, "ConsumerTooSlow".into()));
            o.stall_after = Some(n / 5);
            o.drop_every = Some(n / 4);
            o.garbage_every = Some((n / 50).max(10));
            args = vec!["--stall-timeout".into(), stall.into()];
            format!(
                "ConsumerTooSlow at {}, stall at {} (timeout {stall}), drop every {}, garbage every {}",
                n / 10,
                n / 5,
                n / 4,
                (n / 50).max(10)
            )
        }
    };
    (o, args, params)
}

/// Runs one fault over one input; returns whether all was well, after reporting the row.
fn run(input: &Input, fault: Fault) -> bool {
    let (options, extra, params) = plan(fault, input.recording.len(), input.last);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server =
        ReplayServer::start(listener, input.recording.clone(), options).expect("replay server");
    let db = ChaosDb::new(&format!("relay_{}", input.name));
    let url = server.url();
    let mut args: Vec<&str> = vec!["--relay", &url];
    args.extend(extra.iter().map(String::as_str));
    let mut w = start_worker(&db.url, &args);
    wait_for_cursor(&db, &mut w, input.last, Duration::from_secs(900));
    w.stop();
    let connections = server.connections();
    drop(server);
    let log = w.log_text();
    let stats = w.last_stats();
    let got = dump(&mut db.conn());
    let diff = compare(&input.clean, &got);
    let mut problems = Vec::new();
    if !diff.is_empty() {
        problems.push(diff.sample.join("; "));
    }
    if got.cursor != Some(input.last) {
        problems.push(format!("cursor {:?}", got.cursor));
    }
    if let Some(t) = &input.truth {
        let d = truth::differences(&mut db.conn(), t);
        if !d.is_empty() {
            problems.push(format!("{} differences from truth: {}", d.len(), d[0]));
        }
    }
    let count = |s: &str| log.matches(s).count() as u64;
    let drops = count("relay connection lost") + count("relay closed the connection");
    let stalls = count("(stall timeout): reconnecting");
    let future = count("relay says FutureCursor");
    let slow = count("relay says ConsumerTooSlow");
    let bad_frames = field_u64(&stats, "bad_frames");
    let expect = |ok: bool, what: String, problems: &mut Vec<String>| {
        if !ok {
            problems.push(what);
        }
    };
    let faults = match fault {
        Fault::Drops => {
            expect(drops >= 5, format!("{drops} drops seen"), &mut problems);
            drops
        }
        Fault::Stall => {
            expect(stalls == 1, format!("{stalls} stalls seen"), &mut problems);
            stalls
        }
        Fault::FutureCursor => {
            expect(future == 1, format!("{future} FutureCursor"), &mut problems);
            future
        }
        Fault::ConsumerTooSlow => {
            expect(slow == 1, format!("{slow} ConsumerTooSlow"), &mut problems);
            slow
        }
        Fault::Garbage => {
            let want = (input.recording.len() / (input.recording.len() / 100).max(10)) as u64;
            expect(
                bad_frames >= want && bad_frames == count("bad frame ("),
                format!("bad_frames={bad_frames}, want at least {want}, one warning each"),
                &mut problems,
            );
            bad_frames
        }
        Fault::AllAtOnce => {
            expect(
                drops >= 2 && stalls == 1 && slow == 1 && bad_frames > 0,
                format!("drops {drops} stalls {stalls} too-slow {slow} garbage {bad_frames}"),
                &mut problems,
            );
            drops + stalls + slow + bad_frames
        }
    };
    let mut outages = Vec::new();
    for start in OUTAGES {
        outages.extend(recovery_ms(&log, start, RECONNECTED));
    }
    let stall_note = extra
        .iter()
        .position(|a| a == "--stall-timeout")
        .map(|i| format!("stall noticed after {}; ", extra[i + 1]))
        .unwrap_or_default();
    let recover = match fault {
        Fault::Garbage => "- (nothing to recover from)".to_owned(),
        _ => format!("{stall_note}reconnect {}", ms_summary(&outages)),
    };
    let ok = problems.is_empty();
    report(&Row {
        scenario: "3 relay faults",
        input: input.name,
        params: format!("{params}, replay server"),
        runs: 1,
        faults,
        diff: &diff,
        recover,
        ok,
        note: format!(
            "connections {}; reconnects={} error_frames={} bad_frames={}; {}",
            connections,
            field_u64(&stats, "reconnects"),
            field_u64(&stats, "error_frames"),
            bad_frames,
            if ok {
                "all checks passed".to_owned()
            } else {
                problems.join("; ")
            }
        ),
    });
    if !ok {
        eprintln!("{} / {fault:?} failed; log:\n{log}", input.name);
    }
    ok
}

/// Every fault in one run over the fixture: drops, garbage, ConsumerTooSlow and a stall.
#[test]
fn every_relay_fault_at_once_ends_equal_to_a_clean_run() {
    let input = input("pds");
    assert!(run(&input, Fault::AllAtOnce));
}

/// Each fault alone, then all at once, over the inputs in `CHAOS_INPUTS`: the figures of
/// scenario 3 in RELIABILITY.md.
#[test]
#[ignore = "long: run by scripts/chaos.sh"]
fn scale_relay_faults() {
    let names = std::env::var("CHAOS_INPUTS").unwrap_or_else(|_| "pds".into());
    let mut failed = Vec::new();
    for name in names.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let input = match name {
            "gen" => input("gen"),
            "pds" => input("pds"),
            other => panic!("unknown input {other}"),
        };
        eprintln!("{}: {}", input.name, input.source.display());
        for fault in ALL {
            if !run(&input, fault) {
                failed.push(format!("{name}/{fault:?}"));
            }
        }
    }
    assert!(failed.is_empty(), "failed: {failed:?}");
}
