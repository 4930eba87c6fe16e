//! Hostile input: real frames cut short, bit-flipped and tampered with; lengths that claim
//! gigabytes; bad UTF-8; nesting deep enough to blow a stack; random bytes. Every case must come
//! back as a typed error (or a good frame), quickly, without a panic or an abort.

use std::time::{Duration, Instant};

use ipld_core::ipld::Ipld;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use skyindex::decode::limits::{MAX_BLOCKS_BYTES, MAX_FRAME_BYTES, MAX_OPS};
use skyindex::decode::{decode_frame, DecodeError, Frame, FrameError, TypedEvent};
use skyindex::ipld::car::{CarError, CarSlice};
use skyindex::ipld::cbor::{validate_exact, validate_item};
use skyindex::ipld::limits::MAX_CAR_BLOCKS;
use skyindex::records::{self, lexjson, Record};

use crate::decode_support::{
    capture_frames, car, cid_of, commit_body, commit_frame, encode, frame, head, header, map,
    record, sample_frames, text, varint, DAG_CBOR,
};

const REPO: &str = "did:plc:44ybard66vv44zksje25o7dz";

/// Decodes, and on success checks what a good frame promises: every record it carries is
/// canonical DAG-CBOR and renders as lex-JSON.
fn decode_checked(bytes: &[u8]) -> Result<Frame, FrameError> {
    let frame = decode_frame(bytes)?;
    if let Frame::Event(TypedEvent::Commit(c)) = &frame {
        assert!(c.ops.len() + c.invalid.len() <= MAX_OPS);
        for op in &c.ops {
            if let Some(rec) = &op.record {
                validate_exact(&rec.bytes).expect("a decoded record is canonical");
                assert!(!rec.lex_json().is_null());
            }
        }
    }
    Ok(frame)
}

fn body_error(bytes: &[u8]) -> DecodeError {
    decode_frame(bytes).expect_err("must be rejected").error
}

/// Runs `f`, asserting it took less than a second (the bound is loose for debug builds; a decoder
/// that allocated or walked what a length claims would take minutes or abort).
fn quick<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{what} took {:?}",
        start.elapsed()
    );
    out
}

// ---------------------------------------------------------------------------------------------
// real frames, damaged

#[test]
fn decode_hostile_truncation_at_every_offset() {
    let frames = capture_frames();
    let samples = sample_frames(&frames);
    assert!(samples.len() >= 5);
    for f in &samples {
        decode_checked(f).expect("the sample itself is good");
        for n in 0..f.len() {
            assert!(
                decode_frame(&f[..n]).is_err(),
                "prefix of {n} bytes decoded"
            );
        }
    }
    // The rest of the capture, cut at a few telling places.
    for f in &frames {
        let header_len = validate_item(f).unwrap();
        for n in [0, 1, header_len, header_len + 1, f.len() / 2, f.len() - 1] {
            assert!(
                decode_frame(&f[..n]).is_err(),
                "prefix of {n} bytes decoded"
            );
        }
    }
}

#[test]
fn decode_hostile_bit_flips() {
    let frames = capture_frames();
    let mut ok = 0;
    let mut err = 0;
    for f in sample_frames(&frames) {
        let mut m = f.clone();
        for i in 0..f.len() {
            // Every bit of the header and the body's first fields; further in, one bit a byte.
            let bits: Vec<u8> = if i < 256 {
                (0..8).collect()
            } else {
                vec![(i % 8) as u8]
            };
            for bit in bits {
                m[i] ^= 1 << bit;
                match decode_checked(&m) {
                    Ok(_) => ok += 1,
                    Err(_) => err += 1,
                }
                m[i] ^= 1 << bit;
            }
        }
    }
    // Most flips land in hashes, CIDs or text and are caught; some land in free text and decode.
    assert!(err > 0 && ok > 0, "ok {ok} err {err}");
}

/// A commit whose CAR holds a record block that no longer matches its CID: that op is refused
/// with a hash-mismatch reason, the commit's other ops are applied.
#[test]
fn decode_hostile_record_block_not_matching_its_cid() {
    let frames = capture_frames();
    let (frame_bytes, commit) = frames
        .iter()
        .find_map(|f| match decode_frame(f) {
            Ok(Frame::Event(TypedEvent::Commit(c)))
                if c.ops.len() >= 2 && c.ops.iter().all(|o| o.record.is_some()) =>
            {
                Some((f.clone(), c))
            }
            _ => None,
        })
        .expect("a multi-op commit of creates in the capture");
    let victim = &commit.ops[0];
    let block = &victim.record.as_ref().unwrap().bytes;
    let at = find_unique(&frame_bytes, block).expect("record block once in the frame");
    // Change one letter of the record (its createdAt `Z`, or some other letter).
    let offset = block.iter().rposition(|b| b.is_ascii_alphabetic()).unwrap();
    let mut tampered = frame_bytes.clone();
    tampered[at + offset] = if tampered[at + offset] == b'x' {
        b'y'
    } else {
        b'x'
    };

    let Frame::Event(TypedEvent::Commit(c)) = decode_checked(&tampered).unwrap() else {
        panic!("not a commit")
    };
    assert_eq!(c.invalid.len(), 1, "{:?}", c.invalid);
    assert_eq!(c.invalid[0].path, victim.path());
    assert!(
        c.invalid[0].reason.contains("does not match its CID"),
        "{}",
        c.invalid[0].reason
    );
    let rest: Vec<String> = commit.ops[1..].iter().map(|o| o.path()).collect();
    assert_eq!(c.ops.iter().map(|o| o.path()).collect::<Vec<_>>(), rest);

    // The same, built from scratch: a CAR whose record block is filed under another block's CID.
    let good = record(records::LIKE, like_fields());
    let other = record(records::LIKE, vec![]);
    let commit_block = encode(&map(vec![
        ("did", text(REPO)),
        ("version", Ipld::Integer(3)),
        ("rev", text("3lmxjza3nva27")),
    ]));
    let commit_cid = cid_of(DAG_CBOR, &commit_block);
    let lying_cid = cid_of(DAG_CBOR, &other);
    let good_cid = cid_of(DAG_CBOR, &good);
    let blocks = car(
        &[commit_cid],
        &[
            (commit_cid, commit_block),
            (lying_cid, good.clone()),
            (good_cid, good),
        ],
    );
    let ops = vec![
        op_ipld("create", "app.bsky.feed.like/3lmxjza3nva27", lying_cid),
        op_ipld("create", "app.bsky.feed.like/3lmxjza3nva28", good_cid),
    ];
    let Frame::Event(TypedEvent::Commit(c)) =
        decode_checked(&commit_body(1, REPO, commit_cid, blocks, ops)).unwrap()
    else {
        panic!()
    };
    assert_eq!(c.ops.len(), 1);
    assert_eq!(c.ops[0].rkey, "3lmxjza3nva28");
    assert_eq!(c.invalid.len(), 1);
    assert!(c.invalid[0].reason.contains("does not match its CID"));
}

fn find_unique(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let mut hits = hay
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i);
    let first = hits.next()?;
    hits.next().is_none().then_some(first)
}

fn like_fields() -> Vec<(&'static str, Ipld)> {
    vec![(
        "subject",
        map(vec![
            (
                "uri",
                text("at://did:plc:44ybard66vv44zksje25o7dz/app.bsky.feed.post/3lmxjza3nva27"),
            ),
            (
                "cid",
                text("bafyreifaecnvroazpkynctc2vivj7wjuqdf3o5y7amckbyhv7v3v7qwxje"),
            ),
        ]),
    )]
}

fn op_ipld(action: &str, path: &str, cid: cid::Cid) -> Ipld {
    map(vec![
        ("action", text(action)),
        ("path", text(path)),
        ("cid", Ipld::Link(cid)),
    ])
}

// ---------------------------------------------------------------------------------------------
// lengths that lie

/// A map `{key: <raw>}` with `raw` spliced in as the value, as a frame body.
fn body_with_raw_value(key: &str, raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    head(&mut body, 5, 1);
    head(&mut body, 3, key.len() as u64);
    body.extend_from_slice(key.as_bytes());
    body.extend_from_slice(raw);
    let mut f = header(1, Some("#commit"));
    f.extend_from_slice(&body);
    f
}

#[test]
fn decode_hostile_huge_cbor_lengths() {
    const GB4: u64 = 1 << 32;
    let mut heads = Vec::new();
    for major in [2u8, 3, 4, 5] {
        for n in [GB4, u64::MAX, u64::from(u32::MAX)] {
            let mut h = Vec::new();
            head(&mut h, major, n);
            heads.push(h);
        }
    }
    for h in &heads {
        // As the whole body, as a field of the body, and as the header.
        let mut whole = header(1, Some("#commit"));
        whole.extend_from_slice(h);
        let mut with_tail = h.clone();
        with_tail.extend_from_slice(&[0u8; 64]);
        for f in [
            whole,
            body_with_raw_value("blocks", h),
            body_with_raw_value("blocks", &with_tail),
            h.clone(),
        ] {
            let e = quick("huge length", || decode_frame(&f)).expect_err("huge length accepted");
            assert!(
                matches!(e.error, DecodeError::Body(_) | DecodeError::Header(_)),
                "{e}"
            );
        }
        assert!(quick("validate", || validate_exact(h)).is_err());
        assert!(quick("lexjson", || lexjson::from_dag_cbor(h)).is_err());
        assert!(quick("record", || Record::decode(records::POST, h)).is_err());
    }
}

#[test]
fn decode_hostile_huge_car_lengths() {
    let root = cid_of(DAG_CBOR, b"\xa0");
    let good = car(&[root], &[(root, b"\xa0".to_vec())]);
    let header_len = good[0] as usize + 1;

    // A header length of 4 GB.
    let mut v = varint(1 << 32);
    v.extend_from_slice(&good[1..]);
    assert_eq!(
        quick("car", || CarSlice::parse(&v)).unwrap_err(),
        CarError::HeaderTooLarge(1 << 32)
    );
    // A block length of 4 GB after a good header, and of 2^63 - 1 (the most a 9-byte varint
    // holds); 2^63 needs a tenth byte, which unsigned-varint does not allow.
    for (claim, want) in [
        (1u64 << 32, CarError::Truncated(header_len + 5)),
        ((1 << 63) - 1, CarError::Truncated(header_len + 9)),
        (1 << 63, CarError::Varint(header_len)),
    ] {
        let mut v = good[..header_len].to_vec();
        v.extend_from_slice(&varint(claim));
        v.extend_from_slice(&good[header_len + 1..]);
        assert_eq!(quick("car", || CarSlice::parse(&v)).unwrap_err(), want);
    }
    // A varint that never ends, and one padded with a zero byte.
    for bad in [vec![0xff; 12], vec![0x81, 0x00]] {
        assert!(matches!(
            CarSlice::parse(&bad).unwrap_err(),
            CarError::Varint(0)
        ));
    }
    // Through a whole frame: a typed CAR error, not a panic or an allocation.
    let mut lying = good[..header_len].to_vec();
    lying.extend_from_slice(&varint(1 << 32));
    let f = commit_body(1, REPO, root, lying, vec![]);
    assert!(matches!(
        quick("frame", || decode_frame(&f)).unwrap_err().error,
        DecodeError::Car(CarError::Truncated(_))
    ));
}

#[test]
fn decode_hostile_protocol_limits() {
    // 10,001 tiny blocks: typed TooManyBlocks.
    let root = cid_of(DAG_CBOR, b"\xa0");
    let blocks: Vec<_> = (0..=MAX_CAR_BLOCKS)
        .map(|i| {
            let data = encode(&Ipld::Integer(i as i128));
            (cid_of(DAG_CBOR, &data), data)
        })
        .collect();
    let many = car(&[root], &blocks);
    assert_eq!(
        quick("car", || CarSlice::parse(&many)).unwrap_err(),
        CarError::TooManyBlocks
    );
    // Just under the bound parses.
    let under = car(&[root], &blocks[..MAX_CAR_BLOCKS]);
    assert_eq!(
        CarSlice::parse(&under).unwrap().blocks.len(),
        MAX_CAR_BLOCKS
    );

    // 201 ops.
    let ops: Vec<_> = (0..=MAX_OPS)
        .map(|i| {
            map(vec![
                ("action", text("delete")),
                (
                    "path",
                    text(&format!("app.bsky.feed.like/3lmxjza3nv{i:03}")),
                ),
                ("cid", Ipld::Null),
            ])
        })
        .collect();
    let commit_block = encode(&map(vec![]));
    let commit_cid = cid_of(DAG_CBOR, &commit_block);
    let blocks = car(&[commit_cid], &[(commit_cid, commit_block)]);
    let f = commit_body(1, REPO, commit_cid, blocks.clone(), ops);
    assert!(matches!(
        body_error(&f),
        DecodeError::TooManyOps(n) if n == MAX_OPS + 1
    ));

    // blocks over 2,000,000 bytes.
    let mut big = blocks;
    big.resize(MAX_BLOCKS_BYTES + 1, 0);
    let f = commit_body(1, REPO, commit_cid, big, vec![]);
    assert!(matches!(body_error(&f), DecodeError::BlocksTooLarge { .. }));

    // A frame over the frame limit, and an empty one.
    let huge = vec![0u8; MAX_FRAME_BYTES + 1];
    assert!(matches!(body_error(&huge), DecodeError::TooLarge(_)));
    assert!(matches!(body_error(&[]), DecodeError::Empty));
}

// ---------------------------------------------------------------------------------------------
// bad text, bad shapes

#[test]
fn decode_hostile_invalid_utf8() {
    let bad = [0x62, 0xc3, 0x28]; // text(2) "\xc3("
                                  // In the body's repo field.
    let f = body_with_raw_value("repo", &bad);
    assert!(matches!(body_error(&f), DecodeError::Body(_)));
    // In the header's t.
    let mut h = Vec::new();
    head(&mut h, 5, 2);
    h.extend_from_slice(b"\x61t");
    h.extend_from_slice(&bad);
    h.extend_from_slice(b"\x62op\x01\xa0");
    assert!(matches!(body_error(&h), DecodeError::Header(_)));
    // As a map key.
    let f = {
        let mut f = header(1, Some("#commit"));
        f.extend_from_slice(&[0xa1, 0x62, 0xc3, 0x28, 0x01]);
        f
    };
    assert!(matches!(body_error(&f), DecodeError::Body(_)));
    // In a record: the block matches its CID, but the record is refused and the commit's other
    // op goes through.
    let mut rec = record(records::POST, vec![("text", text("ab"))]);
    let at = find_unique(&rec, b"\x62ab").unwrap();
    rec[at + 1] = 0xc3;
    rec[at + 2] = 0x28;
    let f = commit_frame(
        5,
        REPO,
        &[
            ("create", "app.bsky.feed.post/3lmxjza3nva27", Some(rec)),
            (
                "create",
                "app.bsky.feed.like/3lmxjza3nva27",
                Some(record(records::LIKE, like_fields())),
            ),
        ],
    );
    let Frame::Event(TypedEvent::Commit(c)) = decode_checked(&f).unwrap() else {
        panic!()
    };
    assert_eq!(c.ops.len(), 1);
    assert_eq!(c.ops[0].collection, records::LIKE);
    assert_eq!(c.invalid.len(), 1);
    assert!(
        c.invalid[0].reason.contains("UTF-8"),
        "{}",
        c.invalid[0].reason
    );
}

#[test]
fn decode_hostile_non_canonical_cbor() {
    let good = encode(&map(vec![("did", text(REPO)), ("seq", Ipld::Integer(1))]));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // keys out of order
        (
            "order",
            [&[0xa2][..], b"\x63seq\x01", &good[1..good.len() - 4]].concat(),
        ),
        // duplicate key
        ("dup", [&[0xa2][..], b"\x63seq\x01\x63seq\x01"].concat()),
        // indefinite map
        ("indefinite", [&[0xbf][..], b"\x63seq\x01\xff"].concat()),
        // non-shortest integer
        ("long int", [&[0xa1][..], b"\x63seq\x18\x01"].concat()),
        // a tag other than 42
        ("tag", [&[0xa1][..], b"\x63seq\xc1\x01"].concat()),
        // undefined
        ("undefined", [&[0xa1][..], b"\x63seq\xf7"].concat()),
        // half float
        ("half", [&[0xa1][..], b"\x63seq\xf9\x3c\x00"].concat()),
        // two items where one is expected
        ("trailing", [&good[..], &[0x00]].concat()),
    ];
    for (name, body) in cases {
        let mut f = header(1, Some("#identity"));
        f.extend_from_slice(&body);
        assert!(
            matches!(body_error(&f), DecodeError::Body(_)),
            "{name} accepted"
        );
    }
    // Sanity: the good one is only missing fields.
    let mut f = header(1, Some("#identity"));
    f.extend_from_slice(&good);
    assert!(matches!(body_error(&f), DecodeError::BodyShape { .. }));
    // Unknown op, op 1 without t.
    let mut f = header(7, Some("#commit"));
    f.extend_from_slice(&good);
    assert!(matches!(body_error(&f), DecodeError::UnknownOp(7)));
    let mut f = header(1, None);
    f.extend_from_slice(&good);
    assert!(matches!(body_error(&f), DecodeError::HeaderShape(_)));
}

#[test]
fn decode_hostile_deep_nesting() {
    const DEPTH: usize = 100_000;
    let mut arrays = vec![0x81u8; DEPTH];
    arrays.push(0x00);
    let mut maps = Vec::with_capacity(DEPTH * 3);
    for _ in 0..DEPTH {
        maps.extend_from_slice(b"\xa1\x61a");
    }
    maps.push(0x00);
    // Tag 42 cannot nest, but a tag wrapping an array wrapping a tag...: rejected at the tag.
    for (name, deep) in [("arrays", &arrays), ("maps", &maps)] {
        assert!(validate_exact(deep).is_err(), "{name}");
        assert!(lexjson::from_dag_cbor(deep).is_err(), "{name}");
        assert!(Record::decode(records::POST, deep).is_err(), "{name}");
        assert!(Record::decode("com.example.thing", deep).is_err(), "{name}");
        // As the body, as a body field, as the header.
        let mut f = header(1, Some("#commit"));
        f.extend_from_slice(deep);
        assert!(matches!(body_error(&f), DecodeError::Body(_)), "{name}");
        let f = body_with_raw_value("ops", deep);
        assert!(matches!(body_error(&f), DecodeError::Body(_)), "{name}");
        assert!(matches!(body_error(deep), DecodeError::Header(_)), "{name}");
        // As a record in a CAR: that op is refused, the frame decodes.
        let f = commit_frame(
            9,
            REPO,
            &[(
                "create",
                "com.example.thing/3lmxjza3nva27",
                Some(deep.clone()),
            )],
        );
        let Frame::Event(TypedEvent::Commit(c)) = decode_checked(&f).unwrap() else {
            panic!()
        };
        assert_eq!((c.ops.len(), c.invalid.len()), (0, 1), "{name}");
    }
    // Shallow nesting is fine.
    let mut shallow = vec![0x81u8; 16];
    shallow.push(0x00);
    validate_exact(&shallow).unwrap();
    assert!(lexjson::from_dag_cbor(&shallow).is_ok());
}

// ---------------------------------------------------------------------------------------------
// noise

#[test]
fn decode_hostile_random_bytes() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_f00d);
    let types = [
        "#commit",
        "#sync",
        "#identity",
        "#account",
        "#info",
        "#handle",
    ];
    for i in 0..10_000 {
        let len = rng.random_range(0..=600);
        let mut noise = vec![0u8; len];
        rng.fill(&mut noise[..]);
        let _ = decode_checked(&noise);
        let _ = validate_exact(&noise);
        let _ = lexjson::from_dag_cbor(&noise);
        let _ = Record::decode(records::POST, &noise);
        let _ = CarSlice::parse(&noise);
        // The same noise behind a good header, so it reaches the body decoders.
        let mut f = header(1, Some(types[i % types.len()]));
        f.extend_from_slice(&noise);
        let _ = decode_checked(&f);
    }
}

/// Random edits (overwrite, insert, delete, duplicate a run) of real frames, a few at a time.
#[test]
fn decode_hostile_random_mutations_of_real_frames() {
    let frames = capture_frames();
    let samples = sample_frames(&frames);
    let mut rng = SmallRng::seed_from_u64(42);
    let mut ok = 0;
    for _ in 0..10_000 {
        let mut m = samples[rng.random_range(0..samples.len())].clone();
        for _ in 0..rng.random_range(1..=4) {
            let i = rng.random_range(0..m.len());
            match rng.random_range(0..4) {
                0 => m[i] = rng.random(),
                1 => m.insert(i, rng.random()),
                2 => {
                    m.remove(i);
                }
                _ => {
                    let n = rng.random_range(1..=16).min(m.len() - i);
                    let run = m[i..i + n].to_vec();
                    let j = rng.random_range(0..m.len());
                    m.splice(j..j, run);
                }
            }
            if m.is_empty() {
                m.push(0);
            }
        }
        if decode_checked(&m).is_ok() {
            ok += 1;
        }
    }
    eprintln!("{ok} of 10000 mutated frames still decoded");
}

/// Random well-formed frames of every type with random field values: typed errors or events.
#[test]
fn decode_hostile_random_well_formed_bodies() {
    let mut rng = SmallRng::seed_from_u64(7);
    let fields = [
        "seq", "did", "repo", "time", "rev", "since", "commit", "blocks", "ops", "handle",
        "active", "status", "name", "message", "error", "tooBig", "rebase", "prevData",
    ];
    let types = [
        "#commit",
        "#sync",
        "#identity",
        "#account",
        "#info",
        "#tombstone",
        "#migrate",
    ];
    for i in 0..5_000 {
        let n = rng.random_range(0..fields.len());
        let entries: Vec<(&str, Ipld)> = (0..n)
            .map(|_| {
                (
                    fields[rng.random_range(0..fields.len())],
                    random_value(&mut rng, 0),
                )
            })
            .collect();
        let body = map(entries);
        let _ = decode_checked(&frame(types[i % types.len()], &body));
        let enc = encode(&body);
        validate_exact(&enc).expect("our encoder is canonical");
        let _ = Record::decode("com.example.thing", &enc);
    }
}

fn random_value(rng: &mut SmallRng, depth: u32) -> Ipld {
    let pick = if depth > 3 {
        rng.random_range(0..6)
    } else {
        rng.random_range(0..9)
    };
    match pick {
        0 => Ipld::Null,
        1 => Ipld::Bool(rng.random()),
        2 => Ipld::Integer(i128::from(rng.random::<i64>()) >> rng.random_range(0..64)),
        3 => text(
            [
                "did:plc:abc",
                "3lmxjza3nva27",
                "2025-04-16T21:30:26.717Z",
                "",
                "x.test",
            ][rng.random_range(0..5)],
        ),
        4 => Ipld::Bytes((0..rng.random_range(0..40)).map(|_| rng.random()).collect()),
        5 => Ipld::Link(cid_of(DAG_CBOR, &[rng.random()])),
        6 => Ipld::Float(rng.random::<f64>() * 1e6),
        7 => Ipld::List(
            (0..rng.random_range(0..4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => map((0..rng.random_range(0..4))
            .map(|_| {
                (
                    ["action", "path", "cid", "$type", "a"][rng.random_range(0..5)],
                    random_value(rng, depth + 1),
                )
            })
            .collect()),
    }
}

// ---------------------------------------------------------------------------------------------
// regressions found by fuzzing (fuzz/README.md)

/// fuzz `decode_parts`: a profile whose unread (misspelled) key holds text with NUL characters
/// was accepted by `Record::decode`, and `lex_json()` then rendered it as `null`. Records with
/// NUL anywhere are now refused, and such an op lands in `commit.invalid`.
#[test]
fn decode_hostile_regression_nul_in_unread_field() {
    let crash = crate::decode_support::b64(concat!(
        "pGUkdHlwZXZhcHAuYnNreS5hY3Rvci5wcm9maWxlaWNyZWF0ZXRBdHgYNDM3OS0xMS0yN1QwM0kAAAAwMi4zMTha",
        "a2Rlc2NybXB0aW9uYGtkaXNwTGF5TmFtZWRJbmVz",
    ));
    validate_exact(&crash).expect("canonical DAG-CBOR, NUL is legal there");
    let err = Record::decode(records::PROFILE, &crash).unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");

    // The same through a whole commit: a post whose external embed URI holds a NUL.
    let post = record(
        records::POST,
        vec![
            ("text", text("hello")),
            (
                "embed",
                map(vec![
                    ("$type", text("app.bsky.embed.external")),
                    (
                        "external",
                        map(vec![
                            ("uri", text("https://example.com/\0")),
                            ("title", text("")),
                            ("description", text("")),
                        ]),
                    ),
                ]),
            ),
        ],
    );
    let f = commit_frame(
        3,
        REPO,
        &[
            ("create", "app.bsky.feed.post/3lmxjza3nva27", Some(post)),
            (
                "create",
                "app.bsky.feed.like/3lmxjza3nva27",
                Some(record(records::LIKE, like_fields())),
            ),
        ],
    );
    let Frame::Event(TypedEvent::Commit(c)) = decode_checked(&f).unwrap() else {
        panic!()
    };
    assert_eq!(c.ops.len(), 1);
    assert_eq!(c.invalid.len(), 1);
    assert!(
        c.invalid[0].reason.contains("NUL"),
        "{}",
        c.invalid[0].reason
    );
}
