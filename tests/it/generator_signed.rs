//! The stream generator's signed mode (`gen_stream --signed`), through the real binary's
//! verification: every commit of a generated stream is accepted by `--verify full` (signature
//! against the key in the DID document it wrote, ops against the tree, inversion to
//! `prevData`), and a commit whose signature has one bit flipped is dropped, it alone. The
//! documents are served by the verify suite's loopback directory; nothing leaves 127.0.0.1.

use std::collections::BTreeMap;

use crate::common::db::TestDb;
use crate::verify::{forge, has_row, run_over, unverified, Directory};

use crate::generator::stream::{Generator, Kind, Options};

const EVENTS: usize = 3000;

/// A signed stream over 2,000 accounts (sign-ups, identity and account changes, `#sync`s
/// included) and the documents of its accounts.
fn signed_stream() -> (Vec<Vec<u8>>, BTreeMap<String, serde_json::Value>, usize) {
    let mut gen = Generator::new(Options {
        seed: 11,
        repos: 2000,
        signed: true,
        ..Options::default()
    });
    let mut frames = Vec::with_capacity(EVENTS);
    let mut commits = 0;
    for _ in 0..EVENTS {
        let mut buf = Vec::new();
        if gen.append_frame(&mut buf).kind == Kind::Commit {
            commits += 1;
        }
        frames.push(buf);
    }
    let docs = gen.documents().into_iter().collect();
    (frames, docs, commits)
}

/// `commits=` of the last stats line: the commits routed to the writers.
fn routed_commits(log: &str) -> usize {
    log.lines()
        .rfind(|l| l.contains(" stats "))
        .and_then(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("commits="))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stats line with commits=; log:\n{log}"))
}

fn args(plc: &str) -> Vec<&str> {
    vec![
        "--verify",
        "full",
        "--verify-handles",
        "off",
        "--plc-url",
        plc,
        "--allow-private-hosts",
        "--plain-http",
        "--resolve-rate",
        "100000",
        "--key-refresh-interval",
        "0s",
    ]
}

/// Single-like commits, as (index, AT-URI of the like).
fn like_commits(frames: &[Vec<u8>]) -> Vec<(usize, String)> {
    frames
        .iter()
        .enumerate()
        .filter_map(|(i, frame)| {
            let f = forge::parse(frame);
            if f.t() != "#commit" {
                return None;
            }
            let ops = f.ops();
            let [op] = ops.as_slice() else { return None };
            let path = match (op.get("action"), op.get("path")) {
                (
                    Some(ipld_core::ipld::Ipld::String(a)),
                    Some(ipld_core::ipld::Ipld::String(p)),
                ) if a == "create" && p.starts_with("app.bsky.feed.like/") => p.clone(),
                _ => return None,
            };
            Some((i, format!("at://{}/{path}", f.text("repo"))))
        })
        .collect()
}

#[test]
fn every_signed_commit_verifies_and_one_flipped_signature_drops_only_its_commit() {
    let (frames, docs, commits) = signed_stream();
    // Deterministic like the unsigned stream: keys, trees and signatures (RFC 6979) included.
    let (again, again_docs, _) = signed_stream();
    assert!(
        frames == again && docs == again_docs,
        "two signed generations differ"
    );
    let directory = Directory::start(&docs);
    let url = directory.url();

    let db = TestDb::empty();
    let log = run_over(&db, &frames, &args(&url));
    assert_eq!(unverified(&log), BTreeMap::new(), "log:\n{log}");
    assert_eq!(routed_commits(&log), commits, "log:\n{log}");

    // One bit of one like's commit signature: that commit is dropped as bad_signature, its like
    // is not indexed, the like of the next such commit is, and every other commit still goes.
    // (Likes the stream keeps: some are deleted later, or their account is.)
    let likes: Vec<(usize, String)> = like_commits(&frames)
        .into_iter()
        .filter(|(_, uri)| has_row(&db, "likes", uri))
        .collect();
    assert!(likes.len() > 100, "{} single-like commits", likes.len());
    let (at, ref flipped_uri) = likes[likes.len() / 2];
    let (_, ref next_uri) = likes[likes.len() / 2 + 1];
    let mut bent = frames.clone();
    bent[at] = forge::flip_signature_bit(&frames[at], 17);
    let db = TestDb::empty();
    let log = run_over(&db, &bent, &args(&url));
    assert_eq!(
        unverified(&log),
        BTreeMap::from([("bad_signature".to_owned(), 1)]),
        "log:\n{log}"
    );
    assert_eq!(routed_commits(&log), commits - 1, "log:\n{log}");
    assert!(
        !has_row(&db, "likes", flipped_uri),
        "the flipped commit's like was indexed"
    );
    assert!(has_row(&db, "likes", next_uri));

    // The proofs are checked too: a `prevData` that is not the tree before (the signature
    // does not cover it) is caught by the inversion alone.
    let (other, ref other_uri) = likes[likes.len() / 4];
    bent[other] = forge::wrong_prev_data(&frames[other]);
    let db = TestDb::empty();
    let log = run_over(&db, &bent, &args(&url));
    assert_eq!(
        unverified(&log),
        BTreeMap::from([("bad_proof".to_owned(), 1), ("bad_signature".to_owned(), 1)]),
        "log:\n{log}"
    );
    assert!(!has_row(&db, "likes", other_uri));
}
