//! Backfill's cost: reading exports into snapshots (CAR parse, every block's CID, the MST walk,
//! each record through its lexicon; one core) and cutting them over (diff, planner, rows and
//! counters, the repo's state; one writer thread per connection, as `run` does), into an empty
//! database and into one that already holds the previous rounds' records.
//!
//! `BENCH_PG=postgres://postgres@127.0.0.1:5432 cargo bench --bench backfill -- [REPOS] [ROUNDS]`
//! (default 400 repos of 300 records, 3 rounds; writers 1, 2 and 4, or `BENCH_WRITERS=2,4`). Creates and drops the
//! database `skyindex_bench_backfill`. Prints records/s per phase.

use std::sync::Arc;
use std::time::Instant;

use cid::Cid;
use diesel::prelude::*;
use ipld_core::ipld::Ipld;
use skyindex::changes::Snapshot;
use skyindex::db::repos;
use skyindex::repo::{dag_cbor_cid, KeyRule, NoBlocks, Tree};
use skyindex::sync::snapshot;
use skyindex::writer::cutover::cutover;
use skyindex::writer::{writer_for, Indexing};

const POSTS: usize = 60;
const LIKES: usize = 180;
const FOLLOWS: usize = 60;

fn tid(n: u64) -> String {
    const B32: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";
    (0..13)
        .map(|i| B32[((n >> (60 - 5 * i)) & 31) as usize] as char)
        .collect()
}

fn did(n: usize) -> String {
    format!("did:plc:bench{n:019}")
}

fn encode(v: &Ipld) -> Vec<u8> {
    serde_ipld_dagcbor::to_vec(v).expect("encode")
}

fn map(entries: Vec<(&str, Ipld)>) -> Ipld {
    Ipld::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn s(v: &str) -> Ipld {
    Ipld::String(v.to_owned())
}

/// One repo's export: posts, likes of other repos' posts, follows; commit v3.
fn export(round: usize, n: usize, repos: usize) -> Vec<u8> {
    let me = did(round * repos + n);
    let created = s("2024-05-01T12:00:00.000Z");
    let mut records: Vec<(String, Vec<u8>)> = Vec::new();
    let base = ((round * repos + n) as u64) << 20;
    for i in 0..POSTS {
        let bytes = encode(&map(vec![
            ("$type", s("app.bsky.feed.post")),
            ("text", s(&format!("post {i} of repo {n}, round {round}"))),
            ("createdAt", created.clone()),
        ]));
        records.push((
            format!("app.bsky.feed.post/{}", tid(base + i as u64)),
            bytes,
        ));
    }
    for i in 0..LIKES {
        let other = did((round * repos + (n * 7 + i) % repos) % (repos * (round + 1)));
        let subject = format!(
            "at://{other}/app.bsky.feed.post/{}",
            tid(((round * repos + (n * 7 + i) % repos) as u64) << 20 | (i % POSTS) as u64)
        );
        let subject_cid = dag_cbor_cid(subject.as_bytes());
        let bytes = encode(&map(vec![
            ("$type", s("app.bsky.feed.like")),
            (
                "subject",
                map(vec![
                    ("uri", s(&subject)),
                    ("cid", s(&subject_cid.to_string())),
                ]),
            ),
            ("createdAt", created.clone()),
        ]));
        records.push((
            format!("app.bsky.feed.like/{}", tid(base + 4096 + i as u64)),
            bytes,
        ));
    }
    for i in 0..FOLLOWS {
        let bytes = encode(&map(vec![
            ("$type", s("app.bsky.graph.follow")),
            ("subject", s(&did((n + i + 1) % repos))),
            ("createdAt", created.clone()),
        ]));
        records.push((
            format!("app.bsky.graph.follow/{}", tid(base + 8192 + i as u64)),
            bytes,
        ));
    }
    records.sort();
    let mut tree = Tree::empty(&NoBlocks, KeyRule::RepoPath);
    let mut blocks: Vec<(Cid, Vec<u8>)> = Vec::new();
    for (path, bytes) in &records {
        let cid = dag_cbor_cid(bytes);
        tree.insert(path.as_bytes(), cid).expect("insert");
        blocks.push((cid, bytes.clone()));
    }
    let data = tree.root_cid();
    blocks.extend(tree.node_blocks());
    let commit = encode(&map(vec![
        ("did", s(&me)),
        ("version", Ipld::Integer(3)),
        ("data", Ipld::Link(data)),
        ("rev", s(&tid(1 << 40 | round as u64))),
        ("prev", Ipld::Null),
        ("sig", Ipld::Bytes(vec![0; 64])),
    ]));
    let root = dag_cbor_cid(&commit);
    blocks.push((root, commit));
    car(root, &blocks)
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn car(root: Cid, blocks: &[(Cid, Vec<u8>)]) -> Vec<u8> {
    let header = encode(&map(vec![
        ("version", Ipld::Integer(1)),
        ("roots", Ipld::List(vec![Ipld::Link(root)])),
    ]));
    let mut out = Vec::new();
    varint(header.len() as u64, &mut out);
    out.extend(header);
    for (cid, data) in blocks {
        let c = cid.to_bytes();
        varint((c.len() + data.len()) as u64, &mut out);
        out.extend(c);
        out.extend(data);
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let repos: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(400);
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let pg =
        std::env::var("BENCH_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let per_repo = POSTS + LIKES + FOLLOWS;
    println!("backfill bench: {repos} repos x {per_repo} records per round, {rounds} rounds");

    let counts: Vec<usize> = std::env::var("BENCH_WRITERS")
        .ok()
        .map(|v| v.split(',').filter_map(|w| w.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2, 4]);
    for writers in counts {
        let name = "skyindex_bench_backfill";
        let mut admin = PgConnection::establish(&format!("{pg}/postgres")).expect("connect");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .expect("drop");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create");
        let url = format!("{pg}/{name}");
        let mut conn = PgConnection::establish(&url).expect("connect");
        skyindex::db::migrate::run_pending(&mut conn).expect("migrate");
        let mut held = 0usize;
        for round in 0..rounds {
            let cars: Vec<Vec<u8>> = (0..repos).map(|n| export(round, n, repos)).collect();
            let bytes: usize = cars.iter().map(Vec::len).sum();
            let started = Instant::now();
            let snaps: Vec<Snapshot> = cars
                .iter()
                .enumerate()
                .map(|(n, car)| {
                    snapshot::read(
                        &did(round * repos + n),
                        car,
                        "bench",
                        "2026-01-01T00:00:00Z",
                    )
                    .expect("snapshot")
                })
                .collect();
            let read = started.elapsed();
            let records: usize = snaps.iter().map(|s| s.records.len()).sum();
            let refused: usize = snaps.iter().map(|s| s.refused).sum();
            assert_eq!(refused, 0, "the bench's records are valid");
            let dids: Vec<String> = snaps.iter().map(|s| s.did.clone()).collect();
            repos::mark_desynchronized(&mut conn, &dids).expect("mark");
            for d in &dids {
                repos::claim(&mut conn, d, false).expect("claim");
            }
            let snaps = Arc::new(snaps);
            let started = Instant::now();
            std::thread::scope(|scope| {
                for w in 0..writers {
                    let (snaps, url) = (snaps.clone(), url.clone());
                    scope.spawn(move || {
                        let mut conn = PgConnection::establish(&url).expect("connect");
                        for s in snaps.iter().filter(|s| writer_for(&s.did, writers) == w) {
                            cutover(
                                &mut conn,
                                s,
                                Indexing {
                                    notifications: false,
                                    notify_backfill: skyindex::writer::NotifyBackfill::None,
                                    quiet_before: None,
                                    snapshot: false,
                                    first_sight_needs_ops: false,
                                    repo_sync: false,
                                },
                            )
                            .expect("cutover");
                        }
                    });
                }
            });
            let applied = started.elapsed();
            println!(
                "writers={writers} round={round} held_before={held} read: {:.0} records/s ({:.1} MB/s, one core) apply: {:.0} records/s ({records} records in {:.2} s)",
                records as f64 / read.as_secs_f64(),
                bytes as f64 / 1e6 / read.as_secs_f64(),
                records as f64 / applied.as_secs_f64(),
                applied.as_secs_f64()
            );
            held += records;
        }
    }
}
