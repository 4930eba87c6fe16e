//! Verification cost on real commits, one core: decode, then the Sync 1.1 proof (commit block,
//! ops against the partial tree, inversion to `prevData`), then the signature.
//!
//! `cargo bench --bench verify` (pin it: `taskset -c 0 target/release/deps/verify-…`). The
//! real-PDS capture's account keys are unknown, so its commits get everything but the
//! signature; the signature is timed on the relay scenarios' real signed commits (with their
//! keys, from `../shared/fixtures` when present) and on the interop signature vectors. Prints
//! µs per commit for each step and frames/s for decode + full verification, for the capture's
//! small repos and for the scenarios' large one. `VERIFY_PROFILE=1` runs only the large-repo
//! proofs for a few seconds, for `perf record`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use cid::Cid;
use serde::Deserialize;
use skyindex::crypto::PublicKey;
use skyindex::decode::decode_frame;
use skyindex::ipld::car::CarSlice;
use skyindex::repo::{self, Action, CommitFrame, KeyRule, RepoOp, Tree};
use skyindex::source::capture::CaptureReader;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    repo: &'a str,
    rev: &'a str,
    commit: Cid,
    #[serde(borrow)]
    blocks: &'a [u8],
    ops: Vec<RawOp<'a>>,
    prev_data: Option<Cid>,
}

/// A frame's body, CAR slice and ops, parsed once ahead of a timed loop.
type Parsed<'a> = (Body<'a>, CarSlice<'a>, Vec<RepoOp<'a>>);

#[derive(Deserialize)]
struct RawOp<'a> {
    action: &'a str,
    path: &'a str,
    cid: Option<Cid>,
    prev: Option<Cid>,
}

fn split(frame: &[u8]) -> Option<&[u8]> {
    let n = skyindex::ipld::cbor::validate_item(frame).ok()?;
    let body = &frame[n..];
    // The header says `#commit` in its text; cheaper than decoding it for the filter.
    frame[..n]
        .windows(7)
        .any(|w| w == b"#commit")
        .then_some(body)
}

fn ops<'a>(raw: &[RawOp<'a>]) -> Vec<RepoOp<'a>> {
    raw.iter()
        .filter_map(|o| {
            Some(RepoOp {
                action: Action::parse(o.action)?,
                path: o.path,
                cid: o.cid,
                prev: o.prev,
            })
        })
        .collect()
}

/// Median over rounds of `f` run over all `items`, in µs per item.
fn per_item<T>(name: &str, items: &[T], mut f: impl FnMut(&T)) -> f64 {
    let mut rounds = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < Duration::from_millis(400) {
            for item in items {
                f(item);
            }
            n += items.len() as u64;
        }
        rounds.push(started.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    rounds.sort_by(f64::total_cmp);
    let median = rounds[rounds.len() / 2];
    println!("{name:<58} {median:>8.2} µs");
    median
}

fn load(path: &std::path::Path) -> Vec<Vec<u8>> {
    let mut reader = CaptureReader::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut frames = Vec::new();
    while let Some(f) = reader.next_record().unwrap_or_else(|e| panic!("{e}")) {
        frames.push(f.to_vec());
    }
    frames
}

/// The relay scenarios' signed Sync 1.1 commits as binary bodies, with their keys.
fn signed_commits(shared: &std::path::Path) -> Vec<(Vec<u8>, PublicKey)> {
    let dir = shared.join("indigo/cmd/relay/testing/testdata");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read(entry.path()) else {
            continue;
        };
        let doc: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
        let k = &doc["accounts"][0]["identity"]["keys"]["atproto"]["publicKeyMultibase"];
        let Some(Ok(key)) = k.as_str().map(PublicKey::from_multikey) else {
            continue;
        };
        for msg in doc["messages"].as_array().into_iter().flatten() {
            let body = &msg["frame"]["body"];
            if msg["frame"]["header"]["t"] == "#commit"
                && !msg["drop"].as_bool().unwrap_or(false)
                && body["prevData"].is_object()
            {
                out.push((lex_json_to_cbor(body), key.clone()));
            }
        }
    }
    out
}

/// atproto JSON (`$link`, `$bytes`) to DAG-CBOR through ipld-core's value type.
fn lex_json_to_cbor(v: &serde_json::Value) -> Vec<u8> {
    use base64::Engine;
    use ipld_core::ipld::Ipld;
    fn conv(v: &serde_json::Value) -> Ipld {
        match v {
            serde_json::Value::Null => Ipld::Null,
            serde_json::Value::Bool(b) => Ipld::Bool(*b),
            serde_json::Value::Number(n) => Ipld::Integer(n.as_i64().unwrap_or(0).into()),
            serde_json::Value::String(s) => Ipld::String(s.clone()),
            serde_json::Value::Array(a) => Ipld::List(a.iter().map(conv).collect()),
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(l)) = m.get("$link") {
                    return Ipld::Link(Cid::try_from(l.as_str()).unwrap());
                }
                if let Some(serde_json::Value::String(b)) = m.get("$bytes") {
                    return Ipld::Bytes(
                        base64::engine::general_purpose::STANDARD_NO_PAD
                            .decode(b.trim_end_matches('='))
                            .unwrap(),
                    );
                }
                Ipld::Map(m.iter().map(|(k, v)| (k.clone(), conv(v))).collect())
            }
        }
    }
    serde_ipld_dagcbor::to_vec(&conv(v)).unwrap()
}

/// Parses a commit body and its slice and hands the verifier's view of it to `f`.
fn with_frame<R>(b: &[u8], f: impl FnOnce(&CommitFrame<'_>) -> R) -> R {
    let body: Body = serde_ipld_dagcbor::from_slice(b).unwrap();
    let car = CarSlice::parse(body.blocks).unwrap();
    let ops = ops(&body.ops);
    f(&CommitFrame {
        repo: body.repo,
        rev: body.rev,
        commit: body.commit,
        blocks: &car,
        ops: &ops,
        prev_data: body.prev_data,
    })
}

/// The proof's steps, each line including the ones above it.
fn proof_steps(label: &str, commits: &[&[u8]], now: SystemTime) -> (f64, f64) {
    per_item(&format!("{label}: body + CAR slice parse"), commits, |b| {
        let body: Body = serde_ipld_dagcbor::from_slice(b).unwrap();
        black_box(CarSlice::parse(body.blocks).ok());
    });
    per_item(
        &format!("{label}: + commit block read (strict, round trip)"),
        commits,
        |b| {
            let body: Body = serde_ipld_dagcbor::from_slice(b).unwrap();
            let car = CarSlice::parse(body.blocks).unwrap();
            black_box(repo::read_commit(&car, &body.commit, body.repo, body.rev, now).ok());
        },
    );
    let forward = per_item(
        &format!("{label}: + ops checked forwards on the partial tree"),
        commits,
        |b| {
            let body: Body = serde_ipld_dagcbor::from_slice(b).unwrap();
            let car = CarSlice::parse(body.blocks).unwrap();
            let c = repo::read_commit(&car, &body.commit, body.repo, body.rev, now).unwrap();
            let ops = ops(&body.ops);
            let mut tree = Tree::load(&car, c.data, KeyRule::RepoPath).unwrap();
            black_box(repo::check_forward(&mut tree, &car, &ops).ok());
        },
    );
    let proof = per_item(
        &format!("{label}: + inversion to prevData (verify_commit_proof)"),
        commits,
        |b| {
            with_frame(b, |frame| {
                assert!(repo::verify_commit_proof(frame, now).is_ok());
            });
        },
    );
    println!(
        "  -> inversion alone ≈ {:.2} µs, ops forwards + commit ≈ {:.2} µs of it",
        proof - forward,
        forward
    );
    (forward, proof)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let frames = load(&root.join("tests/fixtures/pds-small/frames.bin"));
    let commits: Vec<&[u8]> = frames.iter().filter_map(|f| split(f)).collect();
    println!(
        "verify: {} frames, {} #commit, real-PDS capture, one core",
        frames.len(),
        commits.len()
    );
    let now = SystemTime::now();

    let decode = per_item("decode_frame (every frame, for reference)", &frames, |f| {
        black_box(decode_frame(f).ok());
    });
    let (_, proof) = proof_steps("#commit", &commits, now);

    let Some(shared) = Some(root.join("../shared/fixtures")).filter(|p| p.is_dir()) else {
        println!("../shared/fixtures absent: no signature figures");
        return;
    };
    let signed = signed_commits(&shared);
    println!(
        "signed Sync 1.1 commits with known keys (relay scenarios): {}",
        signed.len()
    );
    let parsed: Vec<(repo::Commit, PublicKey)> = signed
        .iter()
        .map(|(b, key)| {
            let body: Body = serde_ipld_dagcbor::from_slice(b).unwrap();
            let car = CarSlice::parse(body.blocks).unwrap();
            let c = repo::read_commit(&car, &body.commit, body.repo, body.rev, now).unwrap();
            (c, key.clone())
        })
        .collect();
    let sizes: Vec<usize> = signed
        .iter()
        .map(|(b, _)| {
            let body: Body = serde_ipld_dagcbor::from_slice(b).unwrap();
            CarSlice::parse(body.blocks)
                .map(|c| c.blocks.len())
                .unwrap_or(0)
        })
        .collect();
    println!("  blocks per commit: {sizes:?} (a large real repo: deep tree, long proofs)");
    let bodies: Vec<&[u8]> = signed.iter().map(|(b, _)| b.as_slice()).collect();
    if std::env::var_os("VERIFY_PROFILE").is_some() {
        // For `perf record`: nothing but the proof of the large-repo commits, for a while.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(6) {
            for b in &bodies {
                with_frame(b, |frame| {
                    black_box(repo::verify_commit_proof(frame, now).ok());
                });
            }
        }
        return;
    }
    // What their proofs hold: MST nodes and entries (each entry's key is hashed for its height).
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut node_bytes: Vec<Vec<u8>> = Vec::new();
    for b in &bodies {
        let body: Body = serde_ipld_dagcbor::from_slice(b).unwrap();
        let car = CarSlice::parse(body.blocks).unwrap();
        for blk in &car.blocks {
            if let Ok((node, _)) = repo::NodeData::decode(blk.data, KeyRule::RepoPath) {
                keys.extend(node.entries.into_iter().map(|e| e.key));
                node_bytes.push(blk.data.to_vec());
            }
        }
    }
    println!(
        "  MST nodes in their slices: {} ({:.1} per commit), {} entries ({:.1} per node), {:.0} bytes per node",
        node_bytes.len(),
        node_bytes.len() as f64 / bodies.len() as f64,
        keys.len(),
        keys.len() as f64 / node_bytes.len().max(1) as f64,
        node_bytes.iter().map(Vec::len).sum::<usize>() as f64 / node_bytes.len().max(1) as f64
    );
    per_item("  height(key), one MST key", &keys, |k| {
        black_box(repo::height(k));
    });
    per_item(
        "  NodeData::decode, one node (keys checked, hashed)",
        &node_bytes,
        |n| {
            black_box(repo::NodeData::decode(n, KeyRule::RepoPath).ok());
        },
    );
    per_item(
        "  NodeData::decode, one node, keys as any bytes",
        &node_bytes,
        |n| {
            black_box(repo::NodeData::decode(n, KeyRule::AnyBytes).ok());
        },
    );
    per_item(
        "  sha-256 of one node's bytes (its CID)",
        &node_bytes,
        |n| {
            black_box(repo::dag_cbor_cid(n));
        },
    );
    proof_steps("signed", &bodies, now);
    let sig = per_item(
        "signature (K-256, real commits: unsigned re-encode + verify)",
        &parsed,
        |(c, k)| {
            assert!(c.verify_signature(k).is_ok());
        },
    );
    per_item(
        "verify_commit (all of it, real signed commits)",
        &signed,
        |(b, key)| {
            with_frame(b, |frame| {
                assert!(repo::verify_commit(frame, key, now).is_ok());
            });
        },
    );
    // The large-repo commits as whole frames (header + body): decode + full verification with
    // their real keys, the verifier re-parsing the slice (today) or sharing it (integration).
    let header = serde_ipld_dagcbor::to_vec(&ipld_core::ipld::Ipld::Map(
        [
            ("op".to_string(), ipld_core::ipld::Ipld::Integer(1)),
            (
                "t".to_string(),
                ipld_core::ipld::Ipld::String("#commit".into()),
            ),
        ]
        .into_iter()
        .collect(),
    ))
    .unwrap();
    let big_frames: Vec<Vec<u8>> = bodies.iter().map(|b| [&header[..], b].concat()).collect();
    assert!(big_frames.iter().all(|f| decode_frame(f).is_ok()));
    per_item("large-repo frames: decode_frame", &big_frames, |f| {
        black_box(decode_frame(f).ok());
    });
    let full = per_item(
        "large-repo frames: decode + verify_commit (re-parses)",
        &big_frames,
        |f| {
            black_box(decode_frame(f).ok());
            let body: Body = serde_ipld_dagcbor::from_slice(split(f).unwrap()).unwrap();
            let car = CarSlice::parse(body.blocks).unwrap();
            let ops = ops(&body.ops);
            let frame = CommitFrame {
                repo: body.repo,
                rev: body.rev,
                commit: body.commit,
                blocks: &car,
                ops: &ops,
                prev_data: body.prev_data,
            };
            let key = &signed[0].1;
            black_box(repo::verify_commit(&frame, key, now).ok());
        },
    );
    let parsed_big: Vec<Parsed> = big_frames
        .iter()
        .map(|f| {
            let body: Body = serde_ipld_dagcbor::from_slice(split(f).unwrap()).unwrap();
            let car = CarSlice::parse(body.blocks).unwrap();
            let ops = ops(&body.ops);
            (body, car, ops)
        })
        .collect();
    let pairs: Vec<(&Vec<u8>, &Parsed)> = big_frames.iter().zip(&parsed_big).collect();
    let shared_full = per_item(
        "large-repo frames: decode + verify_commit (slice shared)",
        &pairs,
        |(f, (body, car, ops))| {
            black_box(decode_frame(f).ok());
            let frame = CommitFrame {
                repo: body.repo,
                rev: body.rev,
                commit: body.commit,
                blocks: car,
                ops,
                prev_data: body.prev_data,
            };
            assert!(repo::verify_commit(&frame, &signed[0].1, now).is_ok());
        },
    );
    println!(
        "  -> large-repo commits: {:.0} frames/s re-parsing, {:.0} frames/s sharing the slice, one core",
        1e6 / full,
        1e6 / shared_full
    );

    // Both curves on the interop vectors (no real P-256 commit in the fixtures).
    let vectors =
        std::fs::read(shared.join("atproto-interop-tests/crypto/signature-fixtures.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .unwrap_or_default();
    for case in vectors.as_array().into_iter().flatten() {
        if case["validSignature"] != true {
            continue;
        }
        let key = PublicKey::from_did_key(case["publicKeyDid"].as_str().unwrap()).unwrap();
        let msg = base64_decode(case["messageBase64"].as_str().unwrap());
        let sig = base64_decode(case["signatureBase64"].as_str().unwrap());
        let name = format!("signature ({}, interop vector)", key.curve().name());
        per_item(&name, &[()], |_| {
            assert!(skyindex::crypto::verify(&key, &msg, &sig).is_ok());
        });
    }

    // One core doing every commit of the capture completely: decode + proof + one K-256
    // signature per commit (the capture's own keys being unknown, a real commit's stands in).
    let (c0, k0) = &parsed[0];
    let total_start = Instant::now();
    let mut n = 0u64;
    while total_start.elapsed() < Duration::from_secs(3) {
        for f in &frames {
            black_box(decode_frame(f).ok());
            if let Some(b) = split(f) {
                with_frame(b, |frame| {
                    black_box(repo::verify_commit_proof(frame, now).ok());
                });
                black_box(c0.verify_signature(k0).ok());
            }
            n += 1;
        }
    }
    let rate = n as f64 / total_start.elapsed().as_secs_f64();
    println!(
        "decode + full verification, every frame of the capture: {rate:.0} frames/s on one core \
         (sum of medians: decode {decode:.2} + proof {proof:.2} + signature {sig:.2} µs per commit)"
    );

    // The same with the body and CAR slice parsed once, as when the decode stage hands its
    // parsed slice to the verifier: today the verifier parses and hashes them a second time.
    let shared_parse: Vec<Option<Parsed>> = frames
        .iter()
        .map(|f| {
            let b = split(f)?;
            let body: Body = serde_ipld_dagcbor::from_slice(b).ok()?;
            let car = CarSlice::parse(body.blocks).ok()?;
            let ops = ops(&body.ops);
            Some((body, car, ops))
        })
        .collect();
    let total_start = Instant::now();
    let mut n = 0u64;
    while total_start.elapsed() < Duration::from_secs(3) {
        for (f, parsed) in frames.iter().zip(&shared_parse) {
            black_box(decode_frame(f).ok());
            if let Some((body, car, ops)) = parsed {
                let frame = CommitFrame {
                    repo: body.repo,
                    rev: body.rev,
                    commit: body.commit,
                    blocks: car,
                    ops,
                    prev_data: body.prev_data,
                };
                black_box(repo::verify_commit_proof(&frame, now).ok());
                black_box(c0.verify_signature(k0).ok());
            }
            n += 1;
        }
    }
    let rate = n as f64 / total_start.elapsed().as_secs_f64();
    println!("decode + full verification, slice parsed once: {rate:.0} frames/s on one core");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s.trim_end_matches('='))
        .unwrap()
}
