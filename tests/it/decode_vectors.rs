//! Public conformance vectors under `../shared/fixtures` (read in place; each test skips, saying
//! so, when that folder is absent): the atproto data model, DASL strict DAG-CBOR, RFC 8949, the
//! relay's test scenarios, real repo CARs and real firehose commit bodies.

use std::path::{Path, PathBuf};

use ipld_core::ipld::Ipld;
use serde_json::Value;
use skyindex::decode::{decode_frame, AccountStatus, DecodeError, Frame, OpAction, TypedEvent};
use skyindex::ipld::car::CarSlice;
use skyindex::ipld::cbor::{validate_exact, validate_item};
use skyindex::records::{self, lexjson, Record, RecordValue};

use crate::decode_support::{b64, cid_of, encode, frame, from_lex_json, map, text, DAG_CBOR};

fn fixtures(rel: &str) -> Option<PathBuf> {
    let dir = crate::common::shared_fixtures()?.join(rel);
    assert!(
        dir.exists(),
        "{} missing from ../shared/fixtures",
        dir.display()
    );
    Some(dir)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ext))
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// atproto data model

#[test]
fn decode_data_model_fixtures() {
    let Some(dir) = fixtures("atproto-interop-tests/data-model") else {
        return;
    };
    let vectors = read_json(&dir.join("data-model-fixtures.json"));
    let vectors = vectors.as_array().unwrap();
    assert!(!vectors.is_empty());
    for v in vectors {
        let cbor = b64(v["cbor_base64"].as_str().unwrap());
        validate_exact(&cbor).unwrap_or_else(|e| panic!("{}: {e}", v["cid"]));
        assert_eq!(lexjson::from_dag_cbor(&cbor).unwrap(), v["json"]);
        assert_eq!(
            cid_of(DAG_CBOR, &cbor).to_string(),
            v["cid"].as_str().unwrap()
        );
        // Our test encoder is canonical too: it gives back the very same bytes.
        assert_eq!(encode(&from_lex_json(&v["json"])), cbor);
    }
}

#[test]
fn decode_data_model_valid_round_trips() {
    let Some(dir) = fixtures("atproto-interop-tests/data-model") else {
        return;
    };
    for v in read_json(&dir.join("data-model-valid.json"))
        .as_array()
        .unwrap()
    {
        let cbor = encode(&from_lex_json(&v["json"]));
        validate_exact(&cbor).unwrap_or_else(|e| panic!("{}: {e}", v["note"]));
        assert_eq!(
            lexjson::from_dag_cbor(&cbor).unwrap(),
            v["json"],
            "{}",
            v["note"]
        );
    }
}

/// `data-model-invalid.json` is about atproto *JSON* input. Only one vector has a CBOR reading we
/// can decide on: a top-level value that is not a map is no record. The rest are skipped:
/// `$bytes`/`$link` objects of the wrong shape only exist in JSON (in CBOR a link is a tag and
/// bytes are bytes); `$type` null/number/empty and blob shapes nested under an untyped key are
/// lexicon-level checks that a generic record does not make (the records we type do check their
/// own `$type`); and `float` is valid DAG-CBOR that the DASL vectors require our validator to
/// accept (records with floats are kept as generic records, see the report).
#[test]
fn decode_data_model_invalid_where_it_applies() {
    let Some(dir) = fixtures("atproto-interop-tests/data-model") else {
        return;
    };
    let vectors = read_json(&dir.join("data-model-invalid.json"));
    let top = vectors
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["note"] == "top-level not an object")
        .expect("vector present");
    let cbor = encode(&from_lex_json(&top["json"]));
    assert!(Record::decode("com.example.blah", &cbor).is_err());
    assert!(Record::decode(records::POST, &cbor).is_err());
}

// ---------------------------------------------------------------------------------------------
// strict DAG-CBOR

#[test]
fn decode_dasl_cbor_vectors() {
    let Some(dir) = fixtures("atmos/cbor/testdata/dasl-cbor") else {
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for path in files(&dir, ".json") {
        for v in read_json(&path).as_array().unwrap() {
            let data = hex(v["data"].as_str().unwrap());
            let name = format!(
                "{}: {} ({})",
                path.file_name().unwrap().to_string_lossy(),
                v["name"].as_str().unwrap(),
                v["data"].as_str().unwrap()
            );
            let got = validate_exact(&data);
            match v["type"].as_str().unwrap() {
                "roundtrip" if got.is_err() => failures.push(format!("rejected {name}: {got:?}")),
                "invalid_in" if got.is_ok() => failures.push(format!("accepted {name}")),
                "roundtrip" | "invalid_in" => {}
                // Encoder-side vectors: nothing for a decoder to check.
                "invalid_out" => continue,
                other => panic!("unknown vector type {other}"),
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 70, "only {checked} vectors");
}

/// RFC 8949 appendix A plus invalid encodings: every vector flagged invalid is rejected, and no
/// vector makes the validator panic. (The "valid" ones are plain CBOR, mostly not DAG-CBOR:
/// tags, undefined, half floats, indefinite lengths; some are accepted, some not, both fine.)
#[test]
fn decode_rfc8949_invalid_vectors_are_rejected() {
    let Some(dir) = fixtures("atmos/cbor/testdata") else {
        return;
    };
    let vectors = read_json(&dir.join("rfc8949-vectors.json"));
    let mut invalid = 0;
    for v in vectors.as_array().unwrap() {
        let data = hex(v["hex"].as_str().unwrap());
        let flags = v["flags"].as_array().unwrap();
        let got = validate_exact(&data);
        let _ = validate_item(&data);
        let _ = lexjson::from_dag_cbor(&data);
        if !flags.iter().any(|f| f == "valid") {
            assert!(got.is_err(), "accepted invalid {}", v["hex"]);
            invalid += 1;
        }
    }
    assert!(invalid > 600);
}

// ---------------------------------------------------------------------------------------------
// relay scenarios (indigo/cmd/relay/testing)

/// What a scenario message decodes to, in short.
fn summarize(frame: &Frame) -> (String, i64, String) {
    match frame {
        Frame::Event(ev) => (
            format!("#{}", ev.kind()),
            ev.seq().unwrap(),
            ev.did().unwrap().to_owned(),
        ),
        Frame::Skipped(s) => (s.t.clone(), s.seq.unwrap(), s.did.clone().unwrap()),
        Frame::Error(e) => panic!("error frame {e:?}"),
    }
}

#[test]
fn decode_relay_scenarios() {
    let Some(dir) = fixtures("indigo/cmd/relay/testing/testdata") else {
        return;
    };
    let mut decoded = 0;
    let mut rejected = Vec::new();
    for path in files(&dir, ".json") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let scenario = read_json(&path);
        for (i, msg) in scenario["messages"].as_array().unwrap().iter().enumerate() {
            let header = &msg["frame"]["header"];
            let body = &msg["frame"]["body"];
            assert_eq!(header["op"], 1);
            let t = header["t"].as_str().unwrap();
            let bytes = frame(t, &from_lex_json(body));
            let drop = msg["drop"] == true;
            let did = body["did"].as_str().or(body["repo"].as_str()).unwrap();
            let seq = body["seq"].as_i64().unwrap();
            match decode_frame(&bytes) {
                Ok(f) => {
                    assert_eq!(
                        summarize(&f),
                        (t.to_owned(), seq, did.to_owned()),
                        "{name}#{i}"
                    );
                    check_event(&name, i, body, &f);
                    decoded += 1;
                }
                Err(e) => {
                    // The frame still tells the log what it was.
                    assert_eq!(e.t.as_deref(), Some(t));
                    assert_eq!(e.seq, Some(seq));
                    assert_eq!(e.did.as_deref(), Some(did));
                    rejected.push((name.clone(), i, drop, e));
                }
            }
        }
    }
    // Two messages are structurally bad for us, both marked "drop" for a relay:
    // - rev_ordering's `3lmxjza3nva00` holds `0`, which is not in the TID alphabet: Invalid(rev).
    // - the next one's signed commit block carries another rev than its frame says: the frame's
    //   claim has nothing behind it, so it is refused before any writer sees it.
    // The other "drop" frames (seq going backwards, a commit while deactivated) are only bad in
    // context: they decode fine, and ordering is the writer's business, not the decoder's.
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    for (name, i, drop, _) in &rejected {
        assert!(
            *drop,
            "{name} message {i} is not marked drop but was rejected"
        );
        assert_eq!(name, "rev_ordering.json");
    }
    assert!(
        matches!(&rejected[0].3.error, DecodeError::Invalid { t: "#commit", reason } if reason.starts_with("rev:")),
        "{}",
        rejected[0].3
    );
    assert!(
        matches!(&rejected[1].3.error, DecodeError::Invalid { t: "#commit", reason } if reason == "commit block has another rev"),
        "{}",
        rejected[1].3
    );
    assert_eq!(decoded, 33);
}

/// Field-level checks of one decoded scenario message against its JSON.
fn check_event(name: &str, i: usize, body: &Value, frame: &Frame) {
    let Frame::Event(ev) = frame else {
        panic!("{name}#{i}: {frame:?}")
    };
    assert_eq!(ev.time(), body["time"].as_str());
    match ev {
        TypedEvent::Commit(c) => {
            assert!(c.invalid.is_empty(), "{name}#{i}: {:?}", c.invalid);
            let ops = body["ops"].as_array().unwrap();
            assert_eq!(c.ops.len(), ops.len());
            for (op, raw) in c.ops.iter().zip(ops) {
                assert_eq!(op.action.as_str(), raw["action"].as_str().unwrap());
                assert_eq!(op.path(), raw["path"].as_str().unwrap());
                assert_eq!(op.record.is_some(), op.action != OpAction::Delete);
                if let Some(cid) = raw["cid"]["$link"].as_str() {
                    assert_eq!(op.cid.unwrap().to_string(), cid);
                }
            }
            assert_eq!(
                c.commit.to_string(),
                body["commit"]["$link"].as_str().unwrap()
            );
            assert_eq!(c.rev, body["rev"].as_str().unwrap());
            assert_eq!(c.since.as_deref(), body["since"].as_str());
            assert_eq!(
                c.prev_data.map(|c| c.to_string()).as_deref(),
                body["prevData"]["$link"].as_str()
            );
        }
        TypedEvent::Account(a) => {
            assert_eq!(a.active, body["active"].as_bool().unwrap());
            assert_eq!(
                a.status.as_ref().map(AccountStatus::as_str),
                body["status"].as_str()
            );
            assert!(!a.legacy);
        }
        TypedEvent::Identity(id) => {
            assert_eq!(id.handle.as_deref(), body["handle"].as_str());
            assert!(!id.legacy);
        }
        TypedEvent::Sync(s) => {
            assert_eq!(s.rev, body["rev"].as_str().unwrap());
            let car = b64(body["blocks"]["$bytes"].as_str().unwrap());
            let car = CarSlice::parse(&car).unwrap();
            assert_eq!(s.commit, Some(car.roots[0]));
        }
        TypedEvent::Info(_) => panic!("no #info in the scenarios"),
    }
}

/// The legacy types the relay scenarios no longer carry, built from a scenario's account:
/// `#handle` is an identity event, `#tombstone` an account deletion, `#migrate` is skipped.
#[test]
fn decode_legacy_frames_map_to_modern_events() {
    let did = "did:plc:44ybard66vv44zksje25o7dz";
    let time = "2025-04-01T04:01:30.384Z";
    let handle = frame(
        "#handle",
        &map(vec![
            ("seq", Ipld::Integer(7)),
            ("did", text(did)),
            ("handle", text("bnewbold.net")),
            ("time", text(time)),
        ]),
    );
    match decode_frame(&handle).unwrap() {
        Frame::Event(TypedEvent::Identity(id)) => {
            assert_eq!((id.seq, id.did.as_str()), (7, did));
            assert_eq!(id.handle.as_deref(), Some("bnewbold.net"));
            assert!(id.legacy);
        }
        other => panic!("{other:?}"),
    }
    // A #handle without its handle tells nothing: error.
    let no_handle = frame(
        "#handle",
        &map(vec![
            ("seq", Ipld::Integer(7)),
            ("did", text(did)),
            ("time", text(time)),
        ]),
    );
    assert!(decode_frame(&no_handle).is_err());

    let tombstone = frame(
        "#tombstone",
        &map(vec![
            ("seq", Ipld::Integer(8)),
            ("did", text(did)),
            ("time", text(time)),
        ]),
    );
    match decode_frame(&tombstone).unwrap() {
        Frame::Event(TypedEvent::Account(a)) => {
            assert_eq!((a.seq, a.did.as_str()), (8, did));
            assert!(!a.active);
            assert_eq!(a.status, Some(AccountStatus::Deleted));
            assert!(a.legacy);
        }
        other => panic!("{other:?}"),
    }

    let migrate = frame(
        "#migrate",
        &map(vec![
            ("seq", Ipld::Integer(9)),
            ("did", text(did)),
            ("migrateTo", text("https://pds.example.com")),
            ("time", text(time)),
        ]),
    );
    match decode_frame(&migrate).unwrap() {
        Frame::Skipped(s) => {
            assert_eq!(s.t, "#migrate");
            assert_eq!((s.seq, s.did.as_deref()), (Some(9), Some(did)));
        }
        other => panic!("{other:?}"),
    }

    // A type nobody knows yet is skipped with what we could read of it, not an error.
    let future = frame(
        "#labels",
        &map(vec![("seq", Ipld::Integer(10)), ("did", text(did))]),
    );
    match decode_frame(&future).unwrap() {
        Frame::Skipped(s) => assert_eq!((s.seq, s.did.as_deref()), (Some(10), Some(did))),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// real repo exports and commit bodies

#[test]
fn decode_repo_car_files() {
    let mut paths = Vec::new();
    for rel in ["indigo/atproto/repo/testdata", "indigo/testing/testdata"] {
        let Some(dir) = fixtures(rel) else { return };
        paths.extend(files(&dir, ".car"));
        paths.extend(files(&dir, ".repo"));
    }
    assert_eq!(paths.len(), 7, "{paths:?}");
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        // Whole repos are far bigger than a commit's slice, but all of these fit our block bound.
        let car = CarSlice::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(car.roots.len(), 1);
        car.verify_all()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The root (the signed commit) is in the file and is canonical DAG-CBOR, as is every
        // dag-cbor block.
        car.get(&car.roots[0]).unwrap();
        for b in &car.blocks {
            if b.cid.codec() == DAG_CBOR {
                validate_exact(b.data)
                    .unwrap_or_else(|e| panic!("{} {}: {e}", path.display(), b.cid));
            }
        }
    }
}

#[test]
fn decode_repo_slice_record_matches_its_json() {
    let Some(dir) = fixtures("indigo/testing/testdata") else {
        return;
    };
    let bytes = std::fs::read(dir.join("repo_slice.car")).unwrap();
    let car = CarSlice::parse(&bytes).unwrap();
    let want = read_json(&dir.join("repo_slice_record.json"));
    let cid = cid::Cid::try_from(want["cid"].as_str().unwrap()).unwrap();
    let block = car.get(&cid).unwrap();
    assert_eq!(lexjson::from_dag_cbor(block).unwrap(), want["value"]);
    // A 2023 post with a legacy blob (`{cid, mimeType}`) still types as a post.
    let rec = Record::decode(records::POST, block).unwrap();
    let RecordValue::Post(post) = &rec.value else {
        panic!("{:?}", rec.value)
    };
    assert!(post.text.starts_with("@ledner9213-c6.test"));
    assert_eq!(rec.lex_json(), want["value"]);
}

#[test]
fn decode_single_record_cbor_files() {
    let Some(dir) = fixtures("indigo/testing/testdata") else {
        return;
    };
    for name in ["feedpost_record.cbor", "post_richtext_link.cbor"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        validate_exact(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rec = Record::decode(records::POST, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(matches!(rec.value, RecordValue::Post(_)));
        assert_eq!(rec.lex_json()["$type"], records::POST);
    }
}

#[test]
fn decode_firehose_commit_bodies() {
    let Some(dir) = fixtures("indigo/atproto/repo/testdata") else {
        return;
    };
    let paths: Vec<PathBuf> = files(&dir, ".json")
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("firehose_commit_")
        })
        .collect();
    assert_eq!(paths.len(), 4);
    for path in paths {
        let body = read_json(&path);
        let bytes = frame("#commit", &from_lex_json(&body));
        let f = decode_frame(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Frame::Event(TypedEvent::Commit(c)) = f else {
            panic!("{f:?}")
        };
        assert_eq!(c.seq, body["seq"].as_i64().unwrap());
        assert_eq!(c.repo, body["repo"].as_str().unwrap());
        assert!(c.invalid.is_empty(), "{}: {:?}", path.display(), c.invalid);
        let ops = body["ops"].as_array().unwrap();
        assert_eq!(c.ops.len(), ops.len());
        for op in &c.ops {
            assert_eq!(op.action, OpAction::Create);
            assert!(op.record.is_some());
        }
        let car = b64(body["blocks"]["$bytes"].as_str().unwrap());
        CarSlice::parse(&car).unwrap().verify_all().unwrap();
    }
}
