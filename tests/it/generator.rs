//! The stream generator (`examples/gen_stream`): its core is included here as a module, so the
//! test exercises the very code the example runs. Everything it makes must decode with our
//! strict decoder without a single error, look like the live network (mix, skew, block counts,
//! frame sizes), be byte-identical for the same seed, and, with hostile frames mixed in, fail
//! in exactly the places its corruption list says.

use std::collections::{BTreeMap, HashMap, HashSet};

use ipld_core::ipld::Ipld;
use sha2::{Digest, Sha256};
use skyindex::decode::{decode_frame, Frame, OpAction, TypedEvent};
use skyindex::ipld::cbor::{validate_exact, validate_item};
use skyindex::ipld::CarSlice;
use skyindex::records::{Embed, RecordValue};

// Also used by the signed-mode and chaos suites (`crate::generator::stream`).
#[allow(dead_code)]
#[path = "../../examples/gen_stream/generator.rs"]
pub(crate) mod stream;

use stream::{CorruptKind, Corruption, Detect, Generator, Options};

const EVENTS: usize = 20_000;

fn generate(seed: u64, corrupt_per_mille: u32, events: usize) -> (Vec<Vec<u8>>, Generator) {
    let mut gen = Generator::new(Options {
        seed,
        corrupt_per_mille,
        ..Options::default()
    });
    let mut frames = Vec::with_capacity(events);
    let mut buf = Vec::new();
    for i in 0..events {
        buf.clear();
        let info = gen.append_frame(&mut buf);
        assert_eq!(info.seq, i as i64 + 1);
        assert_eq!(info.len, buf.len());
        frames.push(buf.clone());
    }
    (frames, gen)
}

/// A digest of the whole stream, lengths included.
fn stream_digest(frames: &[Vec<u8>]) -> [u8; 32] {
    let mut h = Sha256::new();
    for f in frames {
        h.update((f.len() as u32).to_le_bytes());
        h.update(f);
    }
    h.finalize().into()
}

/// Header and body of a frame as generic IPLD (the frame must be valid DAG-CBOR).
fn split(frame: &[u8]) -> (&[u8], &[u8]) {
    let n = validate_item(frame).expect("header is DAG-CBOR");
    (&frame[..n], &frame[n..])
}

fn ipld(bytes: &[u8]) -> Ipld {
    serde_ipld_dagcbor::from_slice(bytes).expect("decodes as IPLD")
}

fn field<'a>(v: &'a Ipld, key: &str) -> &'a Ipld {
    match v {
        Ipld::Map(m) => m.get(key).unwrap_or_else(|| panic!("no field {key}")),
        _ => panic!("not a map"),
    }
}

/// Bytes that re-encode to themselves through serde_ipld_dagcbor are in canonical form.
fn assert_canonical(bytes: &[u8], what: &str) {
    validate_exact(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    let again = serde_ipld_dagcbor::to_vec(&ipld(bytes)).expect("re-encode");
    assert_eq!(again, bytes, "{what} is not in canonical DAG-CBOR form");
}

fn share(n: u64, total: u64) -> f64 {
    100.0 * n as f64 / total.max(1) as f64
}

fn median(mut v: Vec<usize>) -> usize {
    v.sort_unstable();
    v[v.len() / 2]
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, _) = generate(7, 0, 3000);
    let (b, _) = generate(7, 0, 3000);
    assert_eq!(stream_digest(&a), stream_digest(&b));
    let (c, _) = generate(8, 0, 3000);
    assert_ne!(stream_digest(&a), stream_digest(&c));
    // The hostile stream is just as deterministic.
    let (d, gd) = generate(7, 50, 3000);
    let (e, ge) = generate(7, 50, 3000);
    assert_eq!(stream_digest(&d), stream_digest(&e));
    assert_eq!(gd.corruptions_json(), ge.corruptions_json());
}

#[derive(Default)]
struct Seen {
    kinds: BTreeMap<&'static str, u64>,
    ops: BTreeMap<(String, &'static str), u64>,
    total_ops: u64,
    commits: u64,
    multi: u64,
    max_ops: usize,
    blocks: Vec<usize>,
    mst_sizes: Vec<usize>,
    frame_sizes: Vec<usize>,
    posts: u64,
    replies: u64,
    quotes: u64,
    images: u64,
    facets: u64,
    langs: u64,
    like_subjects: HashMap<String, u64>,
    commits_by_repo: HashMap<String, u64>,
}

#[test]
fn clean_stream_decodes_and_looks_like_the_network() {
    let (frames, gen) = generate(7, 0, EVENTS);
    // Byte-identical on a second run with the same seed.
    let (again, _) = generate(7, 0, EVENTS);
    assert_eq!(stream_digest(&frames), stream_digest(&again));
    drop(again);

    let mut seen = Seen::default();
    let mut last_time = String::new();
    let mut last_rev: HashMap<String, String> = HashMap::new();
    let mut last_data: HashMap<String, cid::Cid> = HashMap::new();
    for (i, frame) in frames.iter().enumerate() {
        let seq = i as i64 + 1;
        seen.frame_sizes.push(frame.len());
        let decoded = decode_frame(frame).unwrap_or_else(|e| panic!("frame {seq}: {e}"));
        let Frame::Event(event) = decoded else {
            panic!("frame {seq} is not an event: {decoded:?}");
        };
        assert_eq!(event.seq(), Some(seq));
        // Relay time: milliseconds and Z, never going back.
        let time = event.time().expect("a time").to_owned();
        assert!(
            time.len() == 24 && time.ends_with('Z') && &time[19..20] == ".",
            "time {time}"
        );
        skyindex::syntax::parse_datetime(&time).expect("time parses");
        assert!(time >= last_time, "time went back at seq {seq}");
        last_time = time;
        *seen.kinds.entry(event.kind()).or_default() += 1;

        // Every frame is canonical DAG-CBOR, header and body.
        let (header, body) = split(frame);
        if i % 7 == 0 {
            assert_canonical(header, "header");
            assert_canonical(body, "body");
        }
        let body_ipld = ipld(body);
        match &event {
            TypedEvent::Commit(c) => {
                seen.commits += 1;
                assert!(
                    c.invalid.is_empty(),
                    "seq {seq}: invalid ops {:?}",
                    c.invalid
                );
                assert!(!c.too_big && !c.rebase);
                assert_eq!(field(&body_ipld, "blobs"), &Ipld::List(vec![]));
                // Revs increase per repo; since is the repo's previous rev.
                let prev = last_rev.get(&c.repo);
                assert_eq!(c.since.as_ref(), prev, "seq {seq}: since");
                if let Some(p) = prev {
                    assert!(&c.rev > p, "seq {seq}: rev {} not after {p}", c.rev);
                }
                last_rev.insert(c.repo.clone(), c.rev.clone());
                *seen.commits_by_repo.entry(c.repo.clone()).or_default() += 1;

                // The CAR slice: every block matches its CID, MST nodes included.
                let Ipld::Bytes(blocks) = field(&body_ipld, "blocks") else {
                    panic!("blocks are not bytes");
                };
                let car = CarSlice::parse(blocks).expect("CAR parses");
                car.verify_all().expect("every block matches its CID");
                assert_eq!(car.roots, vec![c.commit]);
                let commit_block = ipld(car.get(&c.commit).expect("commit block"));
                assert_eq!(field(&commit_block, "version"), &Ipld::Integer(3));
                assert_eq!(field(&commit_block, "prev"), &Ipld::Null);
                assert_eq!(field(&commit_block, "did"), &Ipld::String(c.repo.clone()));
                assert_eq!(field(&commit_block, "rev"), &Ipld::String(c.rev.clone()));
                let Ipld::Bytes(sig) = field(&commit_block, "sig") else {
                    panic!("sig is not bytes");
                };
                assert_eq!(sig.len(), 64);
                let Ipld::Link(data) = field(&commit_block, "data") else {
                    panic!("data is not a link");
                };
                // prevData is the MST root of the repo's previous commit (or sync).
                if c.ops.is_empty() {
                    assert_eq!(c.prev_data, None, "the initial commit has no prevData");
                } else {
                    let pd = c.prev_data.expect("prevData");
                    if let Some(d) = last_data.get(&c.repo) {
                        assert_eq!(&pd, d, "seq {seq}: prevData");
                    }
                }
                last_data.insert(c.repo.clone(), *data);

                let record_cids: HashSet<_> = c.ops.iter().filter_map(|o| o.cid).collect();
                for b in &car.blocks {
                    if i % 7 == 0 {
                        assert_canonical(b.data, "block");
                    }
                    if b.cid != c.commit && !record_cids.contains(&b.cid) {
                        seen.mst_sizes.push(b.data.len());
                    }
                }
                seen.blocks.push(car.blocks.len());
                if c.ops.is_empty() {
                    assert_eq!(
                        car.blocks.len(),
                        2,
                        "the initial commit: commit and empty MST"
                    );
                } else {
                    assert!(
                        (4..=17).contains(&car.blocks.len()),
                        "seq {seq}: {} blocks",
                        car.blocks.len()
                    );
                }
                seen.max_ops = seen.max_ops.max(c.ops.len());
                seen.multi += u64::from(c.ops.len() > 1);
                for op in &c.ops {
                    seen.total_ops += 1;
                    *seen
                        .ops
                        .entry((op.collection.clone(), op.action.as_str()))
                        .or_default() += 1;
                    if op.action != OpAction::Create {
                        assert!(op.prev.is_some(), "seq {seq}: {} without prev", op.path());
                    }
                    if op.collection == "app.bsky.actor.profile"
                        || op.collection == "chat.bsky.actor.declaration"
                    {
                        assert_eq!(op.rkey, "self");
                    } else {
                        skyindex::syntax::tid(&op.rkey).expect("rkeys are TIDs");
                    }
                    match op.record.as_ref().map(|r| &r.value) {
                        Some(RecordValue::Post(p)) => {
                            seen.posts += 1;
                            seen.replies += u64::from(p.reply.is_some());
                            seen.quotes += u64::from(p.quote().is_some());
                            seen.images += u64::from(matches!(
                                p.embed,
                                Some(Embed::Images(_)) | Some(Embed::RecordWithMedia { .. })
                            ));
                            seen.facets += u64::from(!p.facets.is_empty());
                            seen.langs += u64::from(!p.langs.is_empty());
                            for f in &p.facets {
                                let text = p.text.as_bytes();
                                assert!(f.byte_start < f.byte_end);
                                assert!(f.byte_end as usize <= text.len());
                            }
                        }
                        Some(RecordValue::Like(l)) => {
                            *seen.like_subjects.entry(l.subject.uri.clone()).or_default() += 1;
                        }
                        Some(RecordValue::Other(g)) => {
                            assert_eq!(g.json["$type"], op.collection.as_str());
                        }
                        _ => {}
                    }
                }
            }
            TypedEvent::Sync(s) => {
                if let Some(p) = last_rev.get(&s.did) {
                    assert!(&s.rev > p, "sync rev goes back");
                }
                last_rev.insert(s.did.clone(), s.rev.clone());
                let Ipld::Bytes(blocks) = field(&body_ipld, "blocks") else {
                    panic!("blocks are not bytes");
                };
                let car = CarSlice::parse(blocks).expect("CAR parses");
                assert_eq!(car.blocks.len(), 1, "a #sync carries the commit block only");
                let commit_block = ipld(car.blocks[0].data);
                let Ipld::Link(data) = field(&commit_block, "data") else {
                    panic!("data is not a link");
                };
                if let Some(d) = last_data.get(&s.did) {
                    assert_eq!(d, data, "a #sync states the current MST root");
                }
                last_data.insert(s.did.clone(), *data);
            }
            TypedEvent::Identity(_) | TypedEvent::Account(_) => {}
            TypedEvent::Info(_) => panic!("no #info expected"),
        }
        assert!(decoded_did_is_plc(&event));
    }

    // Frame types.
    let kinds = &seen.kinds;
    eprintln!("frame types: {kinds:?}");
    for k in ["commit", "identity", "account", "sync"] {
        assert!(kinds.get(k).copied().unwrap_or(0) > 0, "no {k} frames");
    }
    assert!(share(kinds["commit"], EVENTS as u64) > 95.0);

    // Op mix.
    let ops = |c: &str, a: &str| seen.ops.get(&(c.to_owned(), a)).copied().unwrap_or(0);
    let total = seen.total_ops;
    let creates = |c: &str| share(ops(c, "create"), total);
    let deletes: u64 = seen
        .ops
        .iter()
        .filter(|((_, a), _)| *a == "delete")
        .map(|(_, n)| n)
        .sum();
    eprintln!(
        "ops {total}: likes {:.1}% posts {:.1}% reposts {:.1}% follows {:.1}% blocks {:.1}% deletes {:.1}%",
        creates("app.bsky.feed.like"),
        creates("app.bsky.feed.post"),
        creates("app.bsky.feed.repost"),
        creates("app.bsky.graph.follow"),
        creates("app.bsky.graph.block"),
        share(deletes, total)
    );
    let within = |what: &str, v: f64, lo: f64, hi: f64| {
        assert!((lo..=hi).contains(&v), "{what}: {v:.2}% not in {lo}..{hi}");
    };
    within("likes", creates("app.bsky.feed.like"), 62.0, 75.0);
    within("posts", creates("app.bsky.feed.post"), 8.0, 15.0);
    within("reposts", creates("app.bsky.feed.repost"), 7.0, 13.0);
    within("follows", creates("app.bsky.graph.follow"), 3.0, 9.0);
    within("blocks", creates("app.bsky.graph.block"), 0.4, 2.0);
    within("deletes", share(deletes, total), 2.0, 7.0);
    for c in [
        "app.bsky.feed.like",
        "app.bsky.feed.post",
        "app.bsky.feed.repost",
        "app.bsky.graph.follow",
    ] {
        assert!(ops(c, "delete") > 0, "no deletes of {c}");
    }
    assert!(ops("app.bsky.actor.profile", "create") + ops("app.bsky.actor.profile", "update") > 0);
    for c in [
        "app.bsky.graph.list",
        "app.bsky.feed.threadgate",
        "app.bsky.graph.listitem",
    ] {
        assert!(ops(c, "create") > 0, "no {c}");
    }
    // Most commits carry one op; a few are applyWrites batches of 2 to 8.
    within(
        "multi-op commits",
        share(seen.multi, seen.commits),
        0.8,
        5.0,
    );
    assert!(seen.max_ops <= 8 && seen.max_ops >= 3);

    // Posts: many replies, some quotes, images, facets, almost all with langs.
    within("replies", share(seen.replies, seen.posts), 30.0, 65.0);
    within("quotes", share(seen.quotes, seen.posts), 2.0, 10.0);
    within("images", share(seen.images, seen.posts), 12.0, 30.0);
    within("facets", share(seen.facets, seen.posts), 8.0, 25.0);
    within("langs", share(seen.langs, seen.posts), 85.0, 100.0);

    // Sizes.
    let blocks = median(seen.blocks.clone());
    let frame = median(seen.frame_sizes.clone());
    let mst = median(seen.mst_sizes.clone());
    eprintln!(
        "median blocks/commit {blocks}, median frame {frame} B, median MST node {mst} B (min {}, max {})",
        seen.mst_sizes.iter().min().unwrap(),
        seen.mst_sizes.iter().max().unwrap()
    );
    assert!((4..=17).contains(&blocks));
    assert!((8..=12).contains(&blocks), "median blocks/commit {blocks}");
    assert!((4000..=6500).contains(&frame), "median frame {frame}");
    assert!((100..=600).contains(&mst), "median MST node {mst}");
    let in_range = seen
        .mst_sizes
        .iter()
        .filter(|n| (100..=600).contains(*n))
        .count();
    within(
        "MST nodes of 100-600 bytes",
        share(in_range as u64, seen.mst_sizes.len() as u64),
        95.0,
        100.0,
    );

    // Skew: a few posts get much of the engagement, a few repos do much of the writing.
    let top_share = |counts: &HashMap<String, u64>, top: f64| {
        let mut v: Vec<u64> = counts.values().copied().collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        let n = ((v.len() as f64 * top).ceil() as usize).max(1);
        share(v[..n].iter().sum(), v.iter().sum())
    };
    let liked = top_share(&seen.like_subjects, 0.01);
    let active = top_share(&seen.commits_by_repo, 0.01);
    eprintln!(
        "top 1% of liked posts get {liked:.1}% of likes ({} posts liked); top 1% of repos make {active:.1}% of commits ({} repos)",
        seen.like_subjects.len(),
        seen.commits_by_repo.len()
    );
    assert!(liked > 15.0, "likes are not skewed: {liked:.1}%");
    assert!(active > 8.0, "activity is not skewed: {active:.1}%");
    assert!(seen.commits_by_repo.len() > 2000, "too few repos write");

    // The generator's own counts agree with what decoding found.
    let stats = gen.stats();
    assert_eq!(stats.frames, EVENTS as u64);
    assert_eq!(stats.total_ops(), total);
    assert_eq!(stats.commits, seen.commits);
    assert_eq!(stats.median_blocks(), blocks);
    assert_eq!(
        stats.ops_of(stream::content::Coll::Like, stream::Action::Create),
        ops("app.bsky.feed.like", "create")
    );
    assert!(gen.corruptions().is_empty());
}

fn decoded_did_is_plc(event: &TypedEvent) -> bool {
    let did = event.did().expect("a did");
    did.len() == 32
        && did.starts_with("did:plc:")
        && did[8..]
            .bytes()
            .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c))
}

#[test]
fn hostile_frames_are_all_counted() {
    let (frames, gen) = generate(11, 10, EVENTS);
    let list: &[Corruption] = gen.corruptions();
    let json = gen.corruptions_json();
    assert_eq!(json["total"], list.len());

    let mut failing_seqs = HashSet::new();
    let mut invalid_op_seqs = HashSet::new();
    let mut invalid_ops = 0;
    for (i, frame) in frames.iter().enumerate() {
        // Hostile frames take their place in the sequence: frame i has seq i + 1.
        let seq = i as i64 + 1;
        match decode_frame(frame) {
            Err(_) => {
                failing_seqs.insert(seq);
            }
            Ok(Frame::Event(TypedEvent::Commit(c))) => {
                assert_eq!(c.seq, seq);
                if !c.invalid.is_empty() {
                    invalid_ops += c.invalid.len();
                    invalid_op_seqs.insert(seq);
                }
            }
            Ok(Frame::Event(e)) => assert_eq!(e.seq(), Some(seq)),
            Ok(other) => panic!("seq {seq}: unexpected {other:?}"),
        }
    }
    let listed = |d: Detect| -> HashSet<i64> {
        list.iter()
            .filter(|c| c.detect == d)
            .map(|c| c.seq)
            .collect()
    };
    assert_eq!(
        failing_seqs,
        listed(Detect::Frame),
        "frames failing to decode"
    );
    assert_eq!(
        invalid_op_seqs,
        listed(Detect::Op),
        "frames with an invalid op"
    );
    assert_eq!(failing_seqs.len() + invalid_ops, list.len());
    assert_eq!(json["frames_failing"], failing_seqs.len());
    assert_eq!(json["invalid_ops"], invalid_ops);

    // About 1% of frames, every kind present in roughly equal parts.
    let n = list.len();
    eprintln!("hostile: {n}, by kind {}", json["by_kind"]);
    assert!((120..=300).contains(&n), "{n} hostile frames");
    for kind in stream::CORRUPT_KINDS {
        let k = list.iter().filter(|c| c.kind == kind).count();
        assert!(
            k * 5 > n / 2 && k * 5 < n * 2,
            "{} hostile frames of kind {}",
            k,
            kind.name()
        );
        assert_eq!(json["by_kind"][kind.name()], k);
    }
    // What each kind does to a consumer.
    for c in list {
        match c.kind {
            CorruptKind::Truncated | CorruptKind::AbsurdLength => {
                assert_eq!(c.detect, Detect::Frame)
            }
            CorruptKind::CidMismatch | CorruptKind::InvalidRecord => {
                assert_eq!(c.detect, Detect::Op)
            }
            CorruptKind::BitFlip => {}
        }
    }
    // A CID mismatch is reported as one; invalid records fail validation, not hashing.
    for c in list.iter().filter(|c| c.detect == Detect::Op) {
        let Ok(Frame::Event(TypedEvent::Commit(commit))) =
            decode_frame(&frames[c.seq as usize - 1])
        else {
            panic!("seq {} should decode", c.seq);
        };
        let reason = &commit.invalid[0].reason;
        match c.kind {
            CorruptKind::CidMismatch => {
                assert!(reason.contains("does not match its CID"), "{reason}")
            }
            CorruptKind::InvalidRecord => {
                assert!(
                    reason.contains("createdAt") || reason.contains("subject"),
                    "{reason}"
                )
            }
            _ => {}
        }
    }
}

#[test]
fn capture_round_trip() {
    let (frames, _) = generate(3, 5, 1500);
    let dir = std::env::temp_dir().join(format!("gen-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["gen.bin", "gen.bin.zst"] {
        let path = dir.join(name);
        {
            let mut w = skyindex::source::capture::CaptureWriter::create(&path).unwrap();
            for f in &frames {
                w.write_record(f).unwrap();
            }
            w.flush().unwrap();
        }
        let mut r = skyindex::source::capture::CaptureReader::open(&path).unwrap();
        let mut n = 0;
        while let Some(rec) = r.next_record().unwrap() {
            assert_eq!(rec, frames[n].as_slice());
            n += 1;
        }
        assert_eq!(n, frames.len());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
