//! A repository far larger than memory should hold: generated here (posts, likes and follows in
//! one export), served from loopback, backfilled by the real `skyindex backfill`, whose peak
//! resident memory (VmHWM) must stay under 200 MB for the whole process while the export, its
//! records and its cutover stream through it.
//!
//! `SKYINDEX_BIG_REPO_RECORDS` sets the size (default 1,000,000: about 305 MB of CAR, 2 to 3
//! minutes with the debug build); `SKYINDEX_BIG_REPO_BIN=target/release/skyindex` runs another
//! build (BENCHMARKS.md, "Backfill").

use std::process::Command;
use std::time::{Duration, Instant};

use cid::Cid;
use ipld_core::ipld::Ipld;
use skyindex::repo::{KeyRule, NoBlocks, Tree};

use crate::backfill_fetch::doc;
use crate::common::db::TestDb;
use crate::common::proc;
use crate::decode_support::{car, cid_of, encode, map, text, DAG_CBOR};
use crate::identity::support::{plc, HttpServer, Reply};

const LIMIT_KB: u64 = 200 * 1024;

fn tid(n: u64) -> String {
    const B32: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    (0..13)
        .map(|i| B32[((n >> (60 - 5 * i)) & 31) as usize] as char)
        .collect()
}

/// An export of `did` with `n` records: a fifth posts, a tenth follows, the rest likes of
/// other accounts' posts. Returns the CAR and the count of each.
fn big_export(did: &str, n: usize) -> (Vec<u8>, [usize; 3]) {
    let created = text("2024-05-01T12:00:00.000Z");
    let mut tree = Tree::empty(&NoBlocks, KeyRule::RepoPath);
    let mut blocks: Vec<(Cid, Vec<u8>)> = Vec::with_capacity(n + n / 3);
    let mut counts = [0usize; 3];
    for i in 0..n {
        let (collection, bytes) = match i % 10 {
            0 | 1 => {
                counts[0] += 1;
                let b = encode(&map(vec![
                    ("$type", text("app.bsky.feed.post")),
                    (
                        "text",
                        text(&format!("post number {i} of a very large repository")),
                    ),
                    ("createdAt", created.clone()),
                ]));
                ("app.bsky.feed.post", b)
            }
            2 => {
                counts[2] += 1;
                let b = encode(&map(vec![
                    ("$type", text("app.bsky.graph.follow")),
                    ("subject", text(&plc(1_000_000 + i))),
                    ("createdAt", created.clone()),
                ]));
                ("app.bsky.graph.follow", b)
            }
            _ => {
                counts[1] += 1;
                let uri = format!(
                    "at://{}/app.bsky.feed.post/{}",
                    plc(2_000_000 + i % 5000),
                    tid(i as u64)
                );
                let subject_cid = cid_of(DAG_CBOR, uri.as_bytes());
                let b = encode(&map(vec![
                    ("$type", text("app.bsky.feed.like")),
                    (
                        "subject",
                        map(vec![
                            ("uri", text(&uri)),
                            ("cid", text(&subject_cid.to_string())),
                        ]),
                    ),
                    ("createdAt", created.clone()),
                ]));
                ("app.bsky.feed.like", b)
            }
        };
        let cid = cid_of(DAG_CBOR, &bytes);
        let path = format!("{collection}/{}", tid(1 << 40 | i as u64));
        tree.insert(path.as_bytes(), cid).expect("insert");
        blocks.push((cid, bytes));
    }
    let data = tree.root_cid();
    blocks.extend(tree.node_blocks());
    let commit = encode(&map(vec![
        ("did", text(did)),
        ("version", Ipld::Integer(3)),
        ("data", Ipld::Link(data)),
        ("rev", text("3kbigrepo2222")),
        ("prev", Ipld::Null),
        ("sig", Ipld::Bytes(vec![0; 64])),
    ]));
    let commit_cid = cid_of(DAG_CBOR, &commit);
    blocks.push((commit_cid, commit));
    (car(&[commit_cid], &blocks), counts)
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn a_repository_larger_than_memory_backfills_in_bounded_memory() {
    let n: usize = std::env::var("SKYINDEX_BIG_REPO_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let binary = std::env::var("SKYINDEX_BIG_REPO_BIN").unwrap_or_else(|_| proc::bin().into());
    let did = plc(77);
    let started = Instant::now();
    let (export, counts) = big_export(&did, n);
    let made = started.elapsed();
    let size = export.len();
    let holder: std::sync::Arc<std::sync::OnceLock<String>> = Default::default();
    let (h, d) = (holder.clone(), did.clone());
    let server = HttpServer::start(move |seen| {
        if seen.path.starts_with("/xrpc/com.atproto.sync.getRepo") {
            Reply::ok(export.clone())
        } else if seen.path == format!("/{d}") {
            Reply::ok(doc(&d, h.get().map(String::as_str).unwrap_or("")))
        } else {
            Reply::status(404)
        }
    });
    let _ = holder.set(server.url(""));
    let db = TestDb::new();
    let dir = proc::TempDir::new("big-repo");
    let log = dir.0.join("backfill.log");
    let mut child = Command::new(&binary)
        .arg("--log-file")
        .arg(&log)
        .arg("backfill")
        .arg(&did)
        .args([
            "--plc-url",
            &server.url(""),
            "--allow-private-hosts",
            "--plain-http",
        ])
        // Its commit is signed by nothing (the signature check has its own tests).
        .args([
            "--verify",
            "off",
            "--verify-handles",
            "off",
            "--stats-interval",
            "5s",
        ])
        .args(["--backfill-max-mib", "4096", "--backfill-timeout", "20m"])
        .env("DATABASE_URL", &db.url)
        .env("LOG_LEVEL", "info")
        .env("TMPDIR", &dir.0)
        .spawn()
        .expect("skyindex backfill");
    let pid = child.id();
    let began = Instant::now();
    let mut peak = 0;
    let status = loop {
        if let Some(kb) = vm_hwm_kb(pid) {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            began.elapsed() < Duration::from_secs(1800),
            "backfill of {n} records still running after 30 min"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = began.elapsed();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "exit {status}:\n{text}");
    let count = |table: &str| db.rows(table) as usize;
    assert_eq!(
        [count("posts"), count("likes"), count("follows")],
        counts,
        "{text}"
    );
    eprintln!(
        "big repo: {n} records, export {:.1} MB (made in {:.1} s), backfilled in {:.1} s \
         ({:.0} records/s, {binary}), peak RSS {:.1} MB",
        size as f64 / 1e6,
        made.as_secs_f64(),
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        peak as f64 / 1024.0
    );
    for line in text.lines().filter(|l| l.contains("did=")) {
        eprintln!("  {line}");
    }
    assert!(
        peak < LIMIT_KB,
        "peak RSS {peak} kB over {LIMIT_KB} kB for {n} records:\n{text}"
    );
    // The spool went where it was told, and nothing of it is left.
    let left: Vec<_> = std::fs::read_dir(&dir.0)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "backfill.log")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
