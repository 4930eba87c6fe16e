//! Helpers for the decode tests: a small canonical DAG-CBOR encoder (written here, so the tests do
//! not lean on the decoder's own dependencies to build their input), lex-JSON to IPLD, CIDs, CAR
//! slices, whole frames, and the fixture capture.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine;
use cid::Cid;
use ipld_core::ipld::Ipld;
use sha2::{Digest, Sha256};
use skyindex::decode::{decode_frame, Frame, TypedEvent};
use skyindex::source::capture::CaptureReader;

pub const DAG_CBOR: u64 = 0x71;

/// Writes a CBOR head in its shortest form.
pub fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= 0xff {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Canonical DAG-CBOR of an IPLD value: shortest heads, map keys by length then bytes, 64-bit
/// floats, CIDs as tag 42 over `0x00 ‖ binary CID`.
pub fn encode(value: &Ipld) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, value);
    out
}

fn encode_into(out: &mut Vec<u8>, value: &Ipld) {
    match value {
        Ipld::Null => out.push(0xf6),
        Ipld::Bool(false) => out.push(0xf4),
        Ipld::Bool(true) => out.push(0xf5),
        Ipld::Integer(i) => {
            if *i >= 0 {
                head(out, 0, *i as u64);
            } else {
                head(out, 1, (-1 - *i) as u64);
            }
        }
        Ipld::Float(f) => {
            out.push(0xfb);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Ipld::String(s) => {
            head(out, 3, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Ipld::Bytes(b) => {
            head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Ipld::List(items) => {
            head(out, 4, items.len() as u64);
            for item in items {
                encode_into(out, item);
            }
        }
        Ipld::Map(entries) => {
            let mut keys: Vec<&String> = entries.keys().collect();
            keys.sort_by(|a, b| (a.len(), a.as_bytes()).cmp(&(b.len(), b.as_bytes())));
            head(out, 5, keys.len() as u64);
            for k in keys {
                head(out, 3, k.len() as u64);
                out.extend_from_slice(k.as_bytes());
                encode_into(out, &entries[k]);
            }
        }
        Ipld::Link(cid) => {
            let bytes = cid.to_bytes();
            head(out, 6, 42);
            head(out, 2, bytes.len() as u64 + 1);
            out.push(0);
            out.extend_from_slice(&bytes);
        }
    }
}

/// Base64 as atproto JSON writes it (standard alphabet; padding tolerated either way).
pub fn b64(s: &str) -> Vec<u8> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(s).expect("fixture base64")
}

/// atproto lex-JSON to IPLD: `{"$link"}` is a CID, `{"$bytes"}` is bytes, the rest maps 1:1.
pub fn from_lex_json(value: &serde_json::Value) -> Ipld {
    use serde_json::Value;
    match value {
        Value::Null => Ipld::Null,
        Value::Bool(b) => Ipld::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ipld::Integer(i.into())
            } else if let Some(u) = n.as_u64() {
                Ipld::Integer(u.into())
            } else {
                Ipld::Float(n.as_f64().unwrap())
            }
        }
        Value::String(s) => Ipld::String(s.clone()),
        Value::Array(items) => Ipld::List(items.iter().map(from_lex_json).collect()),
        Value::Object(m) => {
            if m.len() == 1 {
                if let Some(Value::String(link)) = m.get("$link") {
                    return Ipld::Link(Cid::try_from(link.as_str()).expect("fixture CID"));
                }
                if let Some(Value::String(bytes)) = m.get("$bytes") {
                    return Ipld::Bytes(b64(bytes));
                }
            }
            Ipld::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), from_lex_json(v)))
                    .collect::<BTreeMap<_, _>>(),
            )
        }
    }
}

/// A CIDv1 with sha2-256 over `bytes`.
pub fn cid_of(codec: u64, bytes: &[u8]) -> Cid {
    let digest = Sha256::digest(bytes);
    let mh = cid::multihash::Multihash::<64>::wrap(0x12, &digest).unwrap();
    Cid::new_v1(codec, mh)
}

pub fn varint(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// A CAR v1 slice with these roots and blocks, as a relay sends it.
pub fn car(roots: &[Cid], blocks: &[(Cid, Vec<u8>)]) -> Vec<u8> {
    let header = encode(&map(vec![
        ("version", Ipld::Integer(1)),
        (
            "roots",
            Ipld::List(roots.iter().map(|c| Ipld::Link(*c)).collect()),
        ),
    ]));
    let mut out = varint(header.len() as u64);
    out.extend_from_slice(&header);
    for (cid, data) in blocks {
        let cid_bytes = cid.to_bytes();
        out.extend_from_slice(&varint((cid_bytes.len() + data.len()) as u64));
        out.extend_from_slice(&cid_bytes);
        out.extend_from_slice(data);
    }
    out
}

pub fn map(entries: Vec<(&str, Ipld)>) -> Ipld {
    Ipld::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

pub fn text(s: &str) -> Ipld {
    Ipld::String(s.to_owned())
}

/// The header `{op: 1, t}` followed by `body`.
pub fn frame(t: &str, body: &Ipld) -> Vec<u8> {
    let mut out = header(1, Some(t));
    out.extend_from_slice(&encode(body));
    out
}

pub fn header(op: i64, t: Option<&str>) -> Vec<u8> {
    let mut entries = vec![("op", Ipld::Integer(op.into()))];
    if let Some(t) = t {
        entries.push(("t", text(t)));
    }
    encode(&map(entries))
}

/// A well-formed `#commit` frame of one repo with these ops (`(action, path, record bytes)`),
/// with its own commit block as root. Records are put in the CAR under their real CIDs.
pub fn commit_frame(seq: i64, repo: &str, ops: &[(&str, &str, Option<Vec<u8>>)]) -> Vec<u8> {
    let commit_block = encode(&map(vec![
        ("did", text(repo)),
        ("version", Ipld::Integer(3)),
        ("rev", text("3lmxjza3nva27")),
    ]));
    let commit_cid = cid_of(DAG_CBOR, &commit_block);
    let mut blocks = vec![(commit_cid, commit_block)];
    let mut raw_ops = Vec::new();
    for (action, path, record) in ops {
        let cid = record.as_ref().map(|r| {
            let cid = cid_of(DAG_CBOR, r);
            blocks.push((cid, r.clone()));
            Ipld::Link(cid)
        });
        raw_ops.push(map(vec![
            ("action", text(action)),
            ("path", text(path)),
            ("cid", cid.unwrap_or(Ipld::Null)),
        ]));
    }
    commit_body(seq, repo, commit_cid, car(&[commit_cid], &blocks), raw_ops)
}

pub fn commit_body(seq: i64, repo: &str, commit: Cid, blocks: Vec<u8>, ops: Vec<Ipld>) -> Vec<u8> {
    frame(
        "#commit",
        &map(vec![
            ("seq", Ipld::Integer(seq.into())),
            ("repo", text(repo)),
            ("commit", Ipld::Link(commit)),
            ("rev", text("3lmxjza3nva27")),
            ("since", Ipld::Null),
            ("blocks", Ipld::Bytes(blocks)),
            ("ops", Ipld::List(ops)),
            ("time", text("2025-04-16T21:30:26.717Z")),
            ("tooBig", Ipld::Bool(false)),
            ("rebase", Ipld::Bool(false)),
            ("blobs", Ipld::List(vec![])),
        ]),
    )
}

/// A record block of `collection` with `$type` and `createdAt`, plus extra fields.
pub fn record(collection: &str, extra: Vec<(&str, Ipld)>) -> Vec<u8> {
    let mut entries = vec![
        ("$type", text(collection)),
        ("createdAt", text("2025-04-16T21:30:26.717Z")),
    ];
    entries.extend(extra);
    encode(&map(entries))
}

pub fn capture_path() -> PathBuf {
    crate::common::project_dir().join("tests/fixtures/pds-small/frames.bin")
}

/// Every message of the fixture capture, in order.
pub fn capture_frames() -> Vec<Vec<u8>> {
    let mut reader = CaptureReader::open(&capture_path()).expect("open capture");
    let mut frames = Vec::new();
    while let Some(rec) = reader.next_record().expect("read capture") {
        frames.push(rec.to_vec());
    }
    frames
}

/// A handful of capture frames that between them cover every type, the biggest commit and the
/// commits with most ops: the inputs the (slow, per-byte) hostile tests chew on.
pub fn sample_frames(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut picked: Vec<usize> = Vec::new();
    let mut seen_kinds = Vec::new();
    let mut most_ops = (0, 0);
    let mut biggest = (0, 0);
    for (i, f) in frames.iter().enumerate() {
        if let Ok(Frame::Event(ev)) = decode_frame(f) {
            if !seen_kinds.contains(&ev.kind()) {
                seen_kinds.push(ev.kind());
                picked.push(i);
            }
            if let TypedEvent::Commit(c) = &ev {
                if c.ops.len() > most_ops.1 {
                    most_ops = (i, c.ops.len());
                }
                if f.len() > biggest.1 {
                    biggest = (i, f.len());
                }
            }
        }
    }
    for i in [most_ops.0, biggest.0] {
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked.into_iter().map(|i| frames[i].clone()).collect()
}
