//! The real PDS capture (`tests/fixtures/pds-small`): every frame decodes, the counts agree with
//! the capture tool's own `summary.json`, and the lex-JSON we render for records equals what the
//! PDS itself returns for them (`truth.json`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use skyindex::decode::{decode_frame, Frame, OpAction, TypedEvent};
use skyindex::records::{self, RecordValue};

use crate::decode_support::capture_frames;

fn fixture_json(name: &str) -> Value {
    let path = crate::common::project_dir()
        .join("tests/fixtures/pds-small")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("read fixture")).expect("fixture JSON")
}

fn count_map(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .expect("object of counts")
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().expect("count")))
        .collect()
}

#[test]
fn decode_capture_counts_match_summary() {
    let summary = fixture_json("summary.json");
    let cap = &summary["capture"];
    let frames = capture_frames();
    assert_eq!(frames.len() as u64, cap["frames"].as_u64().unwrap());
    assert_eq!(
        frames.iter().map(|f| f.len() as u64).sum::<u64>(),
        cap["frameBytes"].as_u64().unwrap()
    );
    assert_eq!(
        frames.iter().map(|f| f.len() as u64).max().unwrap(),
        cap["maxFrameBytes"].as_u64().unwrap()
    );

    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut ops_by_collection: BTreeMap<String, u64> = BTreeMap::new();
    let mut ops_by_action: BTreeMap<String, u64> = BTreeMap::new();
    let mut account_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut seqs = Vec::new();
    let mut dids = BTreeSet::new();
    let (mut multi_op, mut max_ops, mut with_prev_data, mut blocks_bytes) = (0, 0, 0, 0);
    let (mut too_big, mut rebase, mut with_handle) = (0, 0, 0);
    for (i, bytes) in frames.iter().enumerate() {
        let frame = decode_frame(bytes).unwrap_or_else(|e| panic!("frame {i}: {e}"));
        let Frame::Event(ev) = frame else {
            panic!("frame {i} is not an event: {frame:?}");
        };
        *by_type.entry(format!("#{}", ev.kind())).or_default() += 1;
        seqs.push(ev.seq().expect("repo events have a seq"));
        dids.insert(ev.did().unwrap().to_owned());
        match &ev {
            TypedEvent::Commit(c) => {
                assert!(
                    c.invalid.is_empty(),
                    "seq {}: invalid ops {:?}",
                    c.seq,
                    c.invalid
                );
                for op in &c.ops {
                    let key = format!("{} {}", op.collection, op.action.as_str());
                    *ops_by_collection.entry(key).or_default() += 1;
                    *ops_by_action
                        .entry(op.action.as_str().to_owned())
                        .or_default() += 1;
                    assert_eq!(op.record.is_some(), op.action != OpAction::Delete);
                }
                if c.ops.len() > 1 {
                    multi_op += 1;
                }
                max_ops = max_ops.max(c.ops.len() as u64);
                with_prev_data += u64::from(c.prev_data.is_some());
                blocks_bytes += c.blocks_len as u64;
                too_big += u64::from(c.too_big);
                rebase += u64::from(c.rebase);
            }
            TypedEvent::Account(a) => {
                let key = if a.active {
                    "active".to_owned()
                } else {
                    format!("inactive:{}", a.status.as_ref().expect("status").as_str())
                };
                *account_status.entry(key).or_default() += 1;
                assert!(!a.legacy);
            }
            TypedEvent::Identity(id) => {
                with_handle += u64::from(id.handle.is_some());
                assert!(!id.legacy);
            }
            TypedEvent::Sync(s) => assert!(s.commit.is_some()),
            TypedEvent::Info(_) => {}
        }
    }
    assert_eq!(by_type, count_map(&cap["byType"]));
    let commit = &cap["commit"];
    assert_eq!(ops_by_collection, count_map(&commit["opsByCollection"]));
    assert_eq!(ops_by_action, count_map(&commit["ops"]));
    assert_eq!(multi_op, commit["multiOpCommits"].as_u64().unwrap());
    assert_eq!(max_ops, commit["maxOpsPerCommit"].as_u64().unwrap());
    assert_eq!(with_prev_data, commit["withPrevData"].as_u64().unwrap());
    assert_eq!(blocks_bytes, commit["blocksBytes"].as_u64().unwrap());
    assert_eq!(too_big, commit["tooBig"].as_u64().unwrap());
    assert_eq!(rebase, commit["rebase"].as_u64().unwrap());
    assert_eq!(account_status, count_map(&cap["account"]["byStatus"]));
    assert_eq!(with_handle, cap["identity"]["withHandle"].as_u64().unwrap());
    assert_eq!(dids.len() as u64, cap["distinctDids"].as_u64().unwrap());
    assert_eq!(cap["errorFrames"], Value::Array(vec![]));

    // seq: from firstSeq to lastSeq, no gaps, increasing.
    let first = cap["firstSeq"].as_i64().unwrap();
    let last = cap["lastSeq"].as_i64().unwrap();
    assert_eq!(seqs.first(), Some(&first));
    assert_eq!(seqs.last(), Some(&last));
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "seq gap");
}

#[test]
fn decode_capture_records_are_typed_by_collection() {
    for bytes in capture_frames() {
        let Ok(Frame::Event(TypedEvent::Commit(c))) = decode_frame(&bytes) else {
            continue;
        };
        for op in &c.ops {
            let Some(rec) = &op.record else { continue };
            let ok = match (op.collection.as_str(), &rec.value) {
                (records::POST, RecordValue::Post(_))
                | (records::LIKE, RecordValue::Like(_))
                | (records::REPOST, RecordValue::Repost(_))
                | (records::FOLLOW, RecordValue::Follow(_))
                | (records::BLOCK, RecordValue::Block(_))
                | (records::PROFILE, RecordValue::Profile(_))
                | (records::LIST, RecordValue::List(_))
                | (records::THREADGATE, RecordValue::ThreadGate(_)) => true,
                (other, RecordValue::Other(g)) => {
                    g.json["$type"] == Value::String(other.to_owned())
                }
                _ => false,
            };
            assert!(ok, "{}: {:?}", op.path(), rec.value);
        }
    }
}

/// One op on a record path: action, CID, lex-JSON of the record.
type Write = (OpAction, Option<String>, Option<Value>);

#[test]
fn decode_capture_lex_json_matches_truth() {
    let truth = fixture_json("truth.json");
    let mut history: HashMap<String, Vec<Write>> = HashMap::new();
    for bytes in capture_frames() {
        let Frame::Event(TypedEvent::Commit(c)) = decode_frame(&bytes).unwrap() else {
            continue;
        };
        for op in c.ops {
            let uri = format!("at://{}/{}", c.repo, op.path());
            history.entry(uri).or_default().push((
                op.action,
                op.cid.map(|c| c.to_string()),
                op.record.as_ref().map(|r| r.lex_json()),
            ));
        }
    }
    let records = truth["records"].as_array().unwrap();
    assert!(!records.is_empty());
    let mut compared = 0;
    for rec in records {
        let uri = rec["uri"].as_str().unwrap();
        let cid = rec["cid"].as_str().unwrap();
        let ops = history
            .get(uri)
            .unwrap_or_else(|| panic!("{uri} never in the capture"));
        // The record as it stands must be the last write to its path.
        let (action, last_cid, _) = ops.last().unwrap();
        assert_ne!(*action, OpAction::Delete, "{uri} deleted in the capture");
        assert_eq!(last_cid.as_deref(), Some(cid), "{uri}");
        if let [(OpAction::Create, Some(c), Some(json))] = ops.as_slice() {
            assert_eq!(c, cid, "{uri}");
            assert_eq!(json, &rec["value"], "{uri}: lex-JSON differs");
            compared += 1;
        }
    }
    // Only records written more than once (the capture has 12 profile updates) are not compared.
    assert!(
        compared + 12 >= records.len(),
        "compared only {compared} of {}",
        records.len()
    );
    eprintln!("lex-JSON equal to the PDS's for {compared} records");
}
