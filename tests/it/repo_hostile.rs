//! Hostile trees and commits: nodes that point at themselves or form cycles (through a block
//! source that does not check hashes, the only way to build one), unsorted and duplicate keys,
//! wrong heights, bad prefix lengths, truncated and mutated nodes, and commit frames altered one
//! claim at a time. Each must give its typed error, never a panic.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cid::Cid;
use ipld_core::ipld::Ipld;
use rand::{Rng, SeedableRng};
use skyindex::crypto::PublicKey;
use skyindex::ipld::car::CarSlice;
use skyindex::repo::{
    self, dag_cbor_cid, encode_node, Action, BlockMap, BlockSource, CommitError, EntryRef, KeyRule,
    MstError, NodeData, NodeProblem, RepoOp, Tree, VerifyError, Walk,
};

use crate::decode_support::{car, encode, map, text};
use crate::repo_support::body_from_json;

/// Keys of known heights (the interop example keys name theirs).
const H0: &[u8] = b"A0/374913";
const H0B: &[u8] = b"B0/601692";
const H1: &[u8] = b"A1/076595";
const H2: &[u8] = b"A2/827942";

fn leaf() -> Cid {
    dag_cbor_cid(b"\xa0")
}

/// A block source that believes every CID it is given: how a cycle could be presented.
struct Lying(HashMap<Cid, Vec<u8>>);

impl BlockSource for Lying {
    fn block(&self, cid: &Cid) -> Result<Option<std::borrow::Cow<'_, [u8]>>, MstError> {
        Ok(self
            .0
            .get(cid)
            .map(|v| std::borrow::Cow::Borrowed(v.as_slice())))
    }
}

/// A node written entry by entry, prefix lengths as given (not computed).
fn raw_node(left: Option<Cid>, entries: &[(u64, &[u8], Option<Cid>)]) -> Vec<u8> {
    let e = entries
        .iter()
        .map(|(p, k, t)| {
            map(vec![
                ("k", Ipld::Bytes(k.to_vec())),
                ("p", Ipld::Integer((*p).into())),
                ("t", t.map(Ipld::Link).unwrap_or(Ipld::Null)),
                ("v", Ipld::Link(leaf())),
            ])
        })
        .collect();
    encode(&map(vec![
        ("e", Ipld::List(e)),
        ("l", left.map(Ipld::Link).unwrap_or(Ipld::Null)),
    ]))
}

fn problem(bytes: &[u8]) -> NodeProblem {
    NodeData::decode(bytes, KeyRule::AnyBytes).expect_err("must be refused")
}

#[test]
fn nodes_pointing_at_themselves_and_cycles() {
    let x = dag_cbor_cid(b"x");
    let y = dag_cbor_cid(b"y");
    let root = dag_cbor_cid(b"root");
    // root (layer 2) -> x -> x -> ...: x is an empty node whose subtree is itself.
    let mut blocks = HashMap::new();
    blocks.insert(root, raw_node(Some(x), &[(0, H2, None)]));
    blocks.insert(x, raw_node(Some(x), &[]));
    let lying = Lying(blocks);
    let walked: Result<Vec<_>, _> = Walk::new(&lying, root, KeyRule::AnyBytes).collect();
    assert_eq!(
        walked.unwrap_err().node_problem(),
        Some(&NodeProblem::ChildBelowZero)
    );
    let mut tree = Tree::load(&lying, root, KeyRule::AnyBytes).unwrap();
    assert!(tree.get(H0).is_err());
    // x -> y -> x with entries: heights cannot go down forever either.
    let mut blocks = HashMap::new();
    blocks.insert(root, raw_node(Some(x), &[(0, H2, None)]));
    blocks.insert(x, raw_node(Some(y), &[(0, H1, None)]));
    blocks.insert(y, raw_node(Some(x), &[(0, H0, None)]));
    let lying = Lying(blocks);
    let walked: Result<Vec<_>, _> = Walk::new(&lying, root, KeyRule::AnyBytes).collect();
    assert!(
        matches!(walked, Err(MstError::BadNode { .. })),
        "{walked:?}"
    );
    // The root pointing at itself is refused at its first reading of itself.
    let mut blocks = HashMap::new();
    blocks.insert(root, raw_node(Some(root), &[(0, H2, None)]));
    let lying = Lying(blocks);
    let walked: Result<Vec<_>, _> = Walk::new(&lying, root, KeyRule::AnyBytes).collect();
    assert!(
        matches!(
            walked.as_ref().unwrap_err().node_problem(),
            Some(NodeProblem::WrongHeight { .. })
        ),
        "{walked:?}"
    );
    // With blocks checked against their CIDs (a CAR slice), such a block is simply damaged.
    let bytes = raw_node(Some(root), &[(0, H2, None)]);
    let slice = car(&[root], &[(root, bytes)]);
    let parsed = CarSlice::parse(&slice).unwrap();
    assert_eq!(
        Tree::load(&parsed, root, KeyRule::AnyBytes).err(),
        Some(MstError::BadBlock(root))
    );
}

#[test]
fn entry_rules() {
    // Unsorted, duplicate.
    assert_eq!(
        problem(&raw_node(None, &[(0, H0B, None), (0, H0, None)])),
        NodeProblem::Unsorted { index: 1 }
    );
    assert_eq!(
        problem(&raw_node(None, &[(0, H0, None), (9, b"", None)])),
        NodeProblem::Duplicate { index: 1 }
    );
    // Heights: a height-1 key beside a height-0 one.
    assert!(matches!(
        problem(&raw_node(None, &[(0, H0, None), (1, b"1/076595", None)])),
        NodeProblem::WrongHeight {
            index: 1,
            height: 1,
            layer: 0
        }
    ));
    // Prefix lengths: first not 0, longer than the previous key, not the whole shared prefix.
    assert_eq!(
        problem(&raw_node(None, &[(1, H0, None)])),
        NodeProblem::FirstPrefix { index: 0 }
    );
    assert!(matches!(
        problem(&raw_node(None, &[(0, H0, None), (10, b"x", None)])),
        NodeProblem::PrefixTooLong {
            index: 1,
            prefix: 10
        }
    ));
    // "A0/374913" then "A0/4…" written with p = 2 ("A0") instead of 3 ("A0/").
    assert_eq!(
        problem(&raw_node(None, &[(0, H0, None), (2, b"/400000", None)])),
        NodeProblem::PrefixNotMinimal { index: 1 }
    );
    // Keys: empty, over 1024 bytes, not a record path where one is required.
    assert!(matches!(
        problem(&raw_node(None, &[(0, b"", None)])),
        NodeProblem::BadKey { index: 0, .. }
    ));
    let long = vec![b'a'; 1025];
    assert!(matches!(
        problem(&raw_node(None, &[(0, &long, None)])),
        NodeProblem::BadKey { .. }
    ));
    assert!(matches!(
        NodeData::decode(&raw_node(None, &[(0, H0, None)]), KeyRule::RepoPath),
        Err(NodeProblem::BadKey { .. })
    ));
    // A subtree link that is not dag-cbor; a node that is a map of something else.
    let raw = Cid::new_v1(0x55, *leaf().hash());
    assert!(matches!(
        problem(&raw_node(Some(raw), &[(0, H0, None)])),
        NodeProblem::Shape { .. }
    ));
    assert!(matches!(
        problem(&encode(&map(vec![
            ("e", Ipld::List(vec![])),
            ("x", Ipld::Null)
        ]))),
        NodeProblem::Shape { .. }
    ));
    // `l` absent (nullable means present): not the canonical node.
    assert!(matches!(
        problem(&encode(&map(vec![("e", Ipld::List(vec![]))]))),
        NodeProblem::Shape { .. }
    ));
}

#[test]
fn placement_rules() {
    let child = dag_cbor_cid(b"child");
    let root = dag_cbor_cid(b"root");
    let check = |root_bytes: Vec<u8>, child_bytes: Option<Vec<u8>>| {
        let mut m = HashMap::new();
        m.insert(root, root_bytes);
        if let Some(c) = child_bytes {
            m.insert(child, c);
        }
        let lying = Lying(m);
        let walked: Result<Vec<_>, _> = Walk::new(&lying, root, KeyRule::AnyBytes).collect();
        match walked {
            Err(MstError::BadNode { problem, .. }) => *problem,
            other => panic!("{other:?}"),
        }
    };
    // Root with no entries and only a subtree; an empty non-root node; layer 0 with a child.
    assert_eq!(
        check(
            raw_node(Some(child), &[]),
            Some(raw_node(None, &[(0, H0, None)]))
        ),
        NodeProblem::RootOnlySubtree
    );
    assert_eq!(
        check(
            raw_node(Some(child), &[(0, H1, None)]),
            Some(raw_node(None, &[]))
        ),
        NodeProblem::Empty
    );
    assert_eq!(
        check(
            raw_node(Some(child), &[(0, H0B, None)]),
            Some(raw_node(None, &[(0, H0, None)]))
        ),
        NodeProblem::ChildBelowZero
    );
    // A subtree one layer too low (skipping a layer), and keys outside the child's range.
    assert!(matches!(
        check(
            raw_node(Some(child), &[(0, H2, None)]),
            Some(raw_node(None, &[(0, H0, None)]))
        ),
        NodeProblem::WrongHeight { .. }
    ));
    assert!(matches!(
        check(
            raw_node(None, &[(0, H1, Some(child))]),
            Some(raw_node(None, &[(0, H0, None)]))
        ),
        NodeProblem::OutOfRange { .. }
    ));
    // The same out-of-range child seen through the partial tree's lookup.
    let mut m = HashMap::new();
    m.insert(root, raw_node(None, &[(0, H1, Some(child))]));
    m.insert(child, raw_node(None, &[(0, H0, None)]));
    let lying = Lying(m);
    let mut tree = Tree::load(&lying, root, KeyRule::AnyBytes).unwrap();
    assert!(matches!(
        tree.get(b"B0/601692").unwrap_err().node_problem(),
        Some(NodeProblem::OutOfRange { .. })
    ));
    // A missing subtree is reported as missing, by CID.
    let mut m = HashMap::new();
    m.insert(root, raw_node(None, &[(0, H1, Some(child))]));
    let lying = Lying(m);
    let mut tree = Tree::load(&lying, root, KeyRule::AnyBytes).unwrap();
    assert_eq!(tree.get(b"B0/601692"), Err(MstError::MissingBlock(child)));
    // But a key the root's layer settles needs no subtree.
    assert_eq!(tree.get(b"B1/000000").map(|_| ()), Ok(()));
}

#[test]
fn truncated_and_mutated_nodes_never_panic() {
    let c = leaf();
    let entries = [
        EntryRef {
            key: H0,
            value: &c,
            right: None,
        },
        EntryRef {
            key: H0B,
            value: &c,
            right: None,
        },
    ];
    let good = encode_node(Some(&c), &entries);
    assert!(NodeData::decode(&good, KeyRule::AnyBytes).is_ok());
    for n in 0..good.len() {
        assert!(
            NodeData::decode(&good[..n], KeyRule::AnyBytes).is_err(),
            "prefix {n}"
        );
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(12);
    for _ in 0..20_000 {
        let mut bytes = good.clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..bytes.len());
            bytes[i] = rng.random();
        }
        let _ = NodeData::decode(&bytes, KeyRule::AnyBytes);
    }
    // Claimed lengths far beyond the bytes: refused before any allocation.
    let mut huge = vec![0xa2, 0x61, b'e', 0x9b];
    huge.extend_from_slice(&u64::MAX.to_be_bytes());
    assert!(matches!(problem(&huge), NodeProblem::TooManyEntries(_)));
    let mut lie = vec![0xa2, 0x61, b'e', 0x99, 0x0f, 0xff];
    lie.extend_from_slice(&[0u8; 16]);
    assert!(matches!(problem(&lie), NodeProblem::Shape { .. }));
}

/// One signed Sync 1.1 commit from the relay scenarios and its account key.
fn signed_commit() -> Option<(crate::repo_support::Body, PublicKey)> {
    let path = crate::common::shared_fixtures()?
        .join("indigo/cmd/relay/testing/testdata/post_lifecycle.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let k = &doc["accounts"][0]["identity"]["keys"]["atproto"];
    let key = PublicKey::from_multikey(k["publicKeyMultibase"].as_str().unwrap()).unwrap();
    // The update: an op with both cid and prev.
    let msg = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["frame"]["body"]["ops"][0]["action"] == "update")
        .unwrap();
    Some((body_from_json(&msg["frame"]["body"]), key))
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_760_000_000)
}

#[test]
fn commit_frames_altered_one_claim_at_a_time() {
    let Some((b, key)) = signed_commit() else {
        return;
    };
    let parsed = CarSlice::parse(&b.blocks).unwrap();
    let ops = b.ops();
    let good = b.commit_frame(&parsed, &ops);
    assert!(repo::verify_commit(&good, &key, now()).is_ok());
    let reason = |r: Result<repo::Verified, VerifyError>| r.unwrap_err().reason();

    let mut f = good;
    f.repo = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
    assert_eq!(reason(repo::verify_commit(&f, &key, now())), "wrong_did");
    let mut f = good;
    f.rev = "3lmxk25y7ad23";
    assert_eq!(reason(repo::verify_commit(&f, &key, now())), "wrong_rev");
    // The rev is from 2025: seen from 2024 it is far in the future.
    let past = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(reason(repo::verify_commit(&good, &key, past)), "future_rev");
    let mut f = good;
    f.prev_data = Some(leaf());
    assert_eq!(reason(repo::verify_commit(&f, &key, now())), "bad_proof");
    let mut f = good;
    f.prev_data = None;
    assert_eq!(
        repo::verify_commit(&f, &key, now()).unwrap().proof.reason(),
        "legacy_no_prev_data"
    );
    let mut f = good;
    f.commit = leaf();
    assert_eq!(reason(repo::verify_commit(&f, &key, now())), "wrong_commit");
    let other =
        PublicKey::from_did_key("did:key:zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc")
            .unwrap();
    assert_eq!(
        reason(repo::verify_commit(&good, &other, now())),
        "bad_signature"
    );

    // Ops: another cid, another prev, a duplicate, a delete that still exists, a malformed op.
    let op = ops[0].clone();
    let with = |o: Vec<RepoOp<'_>>| {
        let mut f = good;
        f.ops = Box::leak(o.into_boxed_slice());
        reason(repo::verify_commit(&f, &key, now()))
    };
    assert_eq!(
        with(vec![RepoOp {
            cid: Some(leaf()),
            ..op.clone()
        }]),
        "op_mismatch"
    );
    assert_eq!(
        with(vec![RepoOp {
            prev: Some(leaf()),
            ..op.clone()
        }]),
        "bad_proof"
    );
    assert_eq!(with(vec![op.clone(), op.clone()]), "bad_op");
    assert_eq!(
        with(vec![RepoOp {
            action: Action::Delete,
            cid: None,
            ..op.clone()
        }]),
        "op_mismatch"
    );
    assert_eq!(
        with(vec![RepoOp {
            action: Action::Delete,
            ..op.clone()
        }]),
        "bad_op"
    );
    assert_eq!(
        with(vec![RepoOp {
            prev: None,
            ..op.clone()
        }]),
        "bad_op"
    );
    assert_eq!(
        with(vec![RepoOp {
            path: "not a path",
            ..op.clone()
        }]),
        "bad_op"
    );
    assert_eq!(with(vec![]), "bad_proof");

    // The record block removed from the slice.
    let record = op.cid.unwrap();
    let kept: Vec<(Cid, Vec<u8>)> = parsed
        .blocks
        .iter()
        .filter(|blk| blk.cid != record)
        .map(|blk| (blk.cid, blk.data.to_vec()))
        .collect();
    let slice = car(&parsed.roots, &kept);
    let without = CarSlice::parse(&slice).unwrap();
    let mut f = good;
    f.blocks = &without;
    assert_eq!(
        reason(repo::verify_commit(&f, &key, now())),
        "missing_block"
    );
    // Every MST node removed in turn: missing_block, naming a node (never another reason).
    for node in parsed
        .blocks
        .iter()
        .filter(|blk| blk.cid != record && blk.cid != good.commit)
    {
        let kept: Vec<(Cid, Vec<u8>)> = parsed
            .blocks
            .iter()
            .filter(|blk| blk.cid != node.cid)
            .map(|blk| (blk.cid, blk.data.to_vec()))
            .collect();
        let slice = car(&parsed.roots, &kept);
        let without = CarSlice::parse(&slice).unwrap();
        let mut f = good;
        f.blocks = &without;
        match repo::verify_commit(&f, &key, now()) {
            Err(VerifyError::MissingBlock { cid, .. }) => assert_eq!(cid, node.cid),
            Ok(_) => {} // a proof node this implementation does not need
            Err(e) => panic!("without {}: {e}", node.cid),
        }
    }
}

#[test]
fn commit_blocks_that_are_not_v3_commits() {
    let data = dag_cbor_cid(&encode_node(None, &[]));
    let commit = |fields: Vec<(&str, Ipld)>| {
        let bytes = encode(&map(fields));
        let cid = dag_cbor_cid(&bytes);
        (cid, bytes)
    };
    let base = || {
        vec![
            ("did", text("did:plc:abc")),
            ("rev", text("3lmxjza3nva27")),
            ("sig", Ipld::Bytes(vec![1; 64])),
            ("data", Ipld::Link(data)),
            ("prev", Ipld::Null),
            ("version", Ipld::Integer(3)),
        ]
    };
    let decode = |fields| repo::Commit::decode(&commit(fields).1);
    assert!(decode(base()).is_ok());
    let mut v2 = base();
    v2[5] = ("version", Ipld::Integer(2));
    assert_eq!(decode(v2), Err(CommitError::Version(2)));
    let mut extra = base();
    extra.push(("extra", Ipld::Null));
    assert_eq!(decode(extra), Err(CommitError::NotCanonical));
    let mut no_prev = base();
    no_prev.remove(4);
    assert_eq!(decode(no_prev), Err(CommitError::NotCanonical));
    let mut bad_did = base();
    bad_did[0] = ("did", text("nope"));
    assert!(matches!(decode(bad_did), Err(CommitError::Did(_))));
    let mut bad_rev = base();
    bad_rev[1] = ("rev", text("0000000000000"));
    assert!(matches!(decode(bad_rev), Err(CommitError::Rev(_))));
    let mut raw_data = base();
    raw_data[3] = ("data", Ipld::Link(Cid::new_v1(0x55, *data.hash())));
    assert!(matches!(decode(raw_data), Err(CommitError::Link(_))));
    assert!(matches!(
        repo::Commit::decode(&[0xa1, 0x61]),
        Err(CommitError::Shape(_))
    ));

    // In a frame: bad_version and bad_commit, before any signature work.
    let mut v2 = base();
    v2[5] = ("version", Ipld::Integer(2));
    let (cid, bytes) = commit(v2);
    let slice = car(&[cid], &[(cid, bytes)]);
    let parsed = CarSlice::parse(&slice).unwrap();
    let frame = repo::CommitFrame {
        repo: "did:plc:abc",
        rev: "3lmxjza3nva27",
        commit: cid,
        blocks: &parsed,
        ops: &[],
        prev_data: None,
    };
    assert_eq!(
        repo::verify_commit_proof(&frame, now())
            .unwrap_err()
            .reason(),
        "bad_version"
    );
    let (cid, bytes) = commit(base());
    let slice = car(&[cid], &[(cid, bytes.clone())]);
    let parsed = CarSlice::parse(&slice).unwrap();
    let frame = repo::CommitFrame {
        commit: cid,
        blocks: &parsed,
        ..frame
    };
    // A commit whose MST root is not in the slice.
    assert_eq!(
        repo::verify_commit_proof(&frame, now())
            .unwrap_err()
            .reason(),
        "missing_block"
    );
    let slice = car(&[cid], &[]);
    let parsed = CarSlice::parse(&slice).unwrap();
    let frame = repo::CommitFrame {
        blocks: &parsed,
        ..frame
    };
    assert_eq!(
        repo::verify_commit_proof(&frame, now())
            .unwrap_err()
            .reason(),
        "missing_block"
    );
}

/// Random damage to a real commit's CAR slice: whatever it becomes, a typed result.
#[test]
fn mutated_real_commits_never_panic() {
    let Some((b, key)) = signed_commit() else {
        return;
    };
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let mut refused = 0;
    for _ in 0..3_000 {
        let mut blocks = b.blocks.clone();
        for _ in 0..rng.random_range(1..3) {
            let i = rng.random_range(0..blocks.len());
            blocks[i] ^= 1 << rng.random_range(0..8);
        }
        let Ok(parsed) = CarSlice::parse(&blocks) else {
            refused += 1;
            continue;
        };
        // Mutated blocks no longer match their CIDs; the lying source accepts them anyway,
        // so the MST and commit decoders see the damage itself.
        let mut map = BlockMap::new();
        for blk in &parsed.blocks {
            map.insert(skyindex::ipld::car::Block {
                valid: true,
                ..*blk
            });
        }
        if let Some(root) = parsed.roots.first() {
            if let Ok(Some(bytes)) = map.block(root) {
                if let Ok(commit) = repo::Commit::decode(&bytes) {
                    if let Ok(mut tree) = Tree::load(&map, commit.data, KeyRule::RepoPath) {
                        let _ = repo::check_forward(&mut tree, &map, &b.ops());
                        let _ = repo::invert(&mut tree, &b.ops());
                        let _ = tree.root_cid();
                    }
                }
            }
        }
        let ops = b.ops();
        let frame = b.commit_frame(&parsed, &ops);
        if repo::verify_commit(&frame, &key, now()).is_err() {
            refused += 1;
        }
    }
    assert_eq!(refused, 3_000, "every damaged slice is refused");
}

/// The `#sync` frame of the relay scenarios, altered: another key, another DID, another rev,
/// a slice without its commit block.
#[test]
fn sync_frames_altered() {
    let Some(shared) = crate::common::shared_fixtures() else {
        return;
    };
    let path = shared.join("indigo/cmd/relay/testing/testdata/account_lifecycle.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let k = &doc["accounts"][0]["identity"]["keys"]["atproto"];
    let key = PublicKey::from_multikey(k["publicKeyMultibase"].as_str().unwrap()).unwrap();
    let msg = doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["frame"]["header"]["t"] == "#sync")
        .unwrap();
    let b = body_from_json(&msg["frame"]["body"]);
    let parsed = CarSlice::parse(&b.blocks).unwrap();
    let good = b.sync_frame(&parsed);
    let commit = repo::verify_sync(&good, &key, now()).unwrap();
    assert_eq!(commit.did, good.did);
    let reason = |r: Result<repo::Commit, VerifyError>| r.unwrap_err().reason();
    let other =
        PublicKey::from_did_key("did:key:zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc")
            .unwrap();
    assert_eq!(
        reason(repo::verify_sync(&good, &other, now())),
        "bad_signature"
    );
    let mut f = good;
    f.did = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
    assert_eq!(reason(repo::verify_sync(&f, &key, now())), "wrong_did");
    let mut f = good;
    f.rev = "2222222222222";
    assert_eq!(reason(repo::verify_sync(&f, &key, now())), "wrong_rev");
    let empty = car(&parsed.roots, &[]);
    let without = CarSlice::parse(&empty).unwrap();
    let mut f = good;
    f.blocks = &without;
    assert_eq!(reason(repo::verify_sync(&f, &key, now())), "missing_block");
}
