//! `skyindex inspect`: the summary against `summary.json`, the Jetstream lines against
//! `truth.json`, and a truncated capture.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde_json::Value;
use skyindex::decode::decode_frame;
use skyindex::inspect::{Summary, GAPS_KEPT};

use super::{fixture_frames, skyindex, TempDir};
use crate::common::pds_small;

fn summary_of(path: &Path) -> Summary {
    let mut reader = skyindex::source::capture::CaptureReader::open(path).expect("open");
    let mut summary = Summary::new();
    while let Some(bytes) = reader.next_record().expect("read") {
        summary.add(&decode_frame(bytes), bytes.len());
    }
    summary
}

#[test]
fn summary_equals_capture_tools() {
    let expected: Value = serde_json::from_slice(
        &std::fs::read(pds_small().join("summary.json")).expect("read summary.json"),
    )
    .expect("summary.json is JSON");
    let expected = &expected["capture"];
    let ours = serde_json::to_value(summary_of(&pds_small().join("frames.bin"))).unwrap();
    for key in [
        "frames",
        "frameBytes",
        "maxFrameBytes",
        "byType",
        "firstSeq",
        "lastSeq",
        "nonMonotonic",
        "distinctDids",
    ] {
        assert_eq!(ours[key], expected[key], "{key}");
    }
    for key in [
        "ops",
        "opsByCollection",
        "multiOpCommits",
        "maxOpsPerCommit",
        "tooBig",
        "rebase",
        "withPrevData",
        "blocksBytes",
    ] {
        assert_eq!(ours["commit"][key], expected["commit"][key], "commit.{key}");
    }
    assert_eq!(ours["account"]["byStatus"], expected["account"]["byStatus"]);
    assert_eq!(
        ours["identity"]["withHandle"],
        expected["identity"]["withHandle"]
    );
    // summary.json lists every gap; we count them and keep the first few.
    let gaps = expected["seqGaps"].as_array().unwrap();
    assert_eq!(ours["seqGapCount"], gaps.len());
    assert_eq!(
        ours["seqGaps"].as_array().unwrap()[..],
        gaps[..gaps.len().min(GAPS_KEPT)]
    );
    // summary.json lists error frames' bodies; we count them by name.
    assert_eq!(expected["errorFrames"].as_array().unwrap().len(), 0);
    assert_eq!(ours["errorFrames"], serde_json::json!({}));
    assert_eq!(
        ours["invalid"],
        serde_json::json!({"frames": {}, "ops": {}})
    );
}

#[test]
fn prints_summary() {
    let frames = pds_small().join("frames.bin");
    let out = skyindex(&["inspect", frames.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("frames 999  bytes 1588764  largest 4224"),
        "{text}"
    );
    assert!(text.contains("seq 1 .. 999"), "{text}");
    let like = text
        .lines()
        .find(|l| l.contains("app.bsky.feed.like create"))
        .unwrap();
    assert!(like.trim_end().ends_with(" 377"), "{like}");
}

fn truth_records() -> (HashMap<String, Value>, HashSet<String>) {
    let truth: Value = serde_json::from_slice(
        &std::fs::read(pds_small().join("truth.json")).expect("read truth.json"),
    )
    .expect("truth.json is JSON");
    let records = truth["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["uri"].as_str().unwrap().to_owned(), r.clone()))
        .collect();
    let deleted = truth["expectations"]["deletedAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect();
    (records, deleted)
}

#[test]
fn json_lines_are_jetstream_events_with_truths_records() {
    let frames = pds_small().join("frames.bin");
    let out = skyindex(&["inspect", "--json", frames.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let mut ops: Vec<(String, String, Value)> = Vec::new(); // (uri, operation, commit)
    for line in text.lines() {
        let ev: Value = serde_json::from_str(line).expect("each line is JSON");
        // Jetstream's key order, which byte-level diffs against its output depend on.
        assert!(line.starts_with("{\"did\":\"did:"), "{line}");
        let did = ev["did"].as_str().expect("did");
        assert!(ev["time_us"].as_i64().expect("time_us") > 1_700_000_000_000_000);
        let kind = ev["kind"].as_str().expect("kind").to_owned();
        let body = &ev[kind.as_str()];
        assert!(body.is_object(), "{kind} object in {line}");
        match kind.as_str() {
            "commit" => {
                assert!(
                    line.contains("\"kind\":\"commit\",\"commit\":{\"rev\":\""),
                    "{line}"
                );
                for f in ["rev", "operation", "collection", "rkey"] {
                    assert!(body[f].is_string(), "commit.{f} in {line}");
                }
                let op = body["operation"].as_str().unwrap().to_owned();
                let has_record = body.get("record").is_some() && body.get("cid").is_some();
                assert_eq!(has_record, op != "delete", "{line}");
                let uri = format!(
                    "at://{did}/{}/{}",
                    body["collection"].as_str().unwrap(),
                    body["rkey"].as_str().unwrap()
                );
                ops.push((uri, op, body.clone()));
            }
            "identity" => {
                assert_eq!(body["did"], did);
                assert!(body["seq"].is_i64() && body["time"].is_string(), "{line}");
                assert!(!body.get("handle").is_some_and(Value::is_null), "{line}");
            }
            "account" => {
                assert_eq!(body["did"], did);
                assert!(
                    body["active"].is_boolean() && body["seq"].is_i64(),
                    "{line}"
                );
                assert!(!body.get("status").is_some_and(Value::is_null), "{line}");
            }
            other => panic!("kind {other}"),
        }
        *kinds.entry(kind).or_default() += 1;
    }
    let expected: BTreeMap<String, u64> =
        [("account", 35), ("commit", 811 + 12 + 98), ("identity", 32)]
            .into_iter()
            .map(|(k, n)| (k.to_owned(), n))
            .collect();
    assert_eq!(kinds, expected);

    let (truth, deleted_accounts) = truth_records();
    let last_op: HashMap<&str, usize> = ops
        .iter()
        .enumerate()
        .map(|(i, (uri, _, _))| (uri.as_str(), i))
        .collect();
    let mut compared = 0;
    for (i, (uri, op, commit)) in ops.iter().enumerate() {
        if op != "create" || last_op[uri.as_str()] != i {
            continue;
        }
        let did = uri.trim_start_matches("at://").split('/').next().unwrap();
        if deleted_accounts.contains(did) {
            continue;
        }
        let record = truth
            .get(uri)
            .unwrap_or_else(|| panic!("{uri} in truth.json"));
        assert_eq!(commit["record"], record["value"], "{uri}");
        assert_eq!(commit["cid"], record["cid"], "{uri}");
        compared += 1;
    }
    assert!(compared > 600, "only {compared} records compared");
}

#[test]
fn reports_a_truncated_capture_and_what_came_before() {
    let frames = fixture_frames();
    let whole = std::fs::read(pds_small().join("frames.bin")).unwrap();
    let last_offset: usize = frames[..frames.len() - 1].iter().map(|f| 4 + f.len()).sum();
    let dir = TempDir::new("truncated");
    let path = dir.0.join("frames.bin");
    std::fs::write(&path, &whole[..whole.len() - 10]).unwrap();
    let path = path.to_str().unwrap();

    let out = skyindex(&["inspect", path]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let at = format!("truncated at byte {last_offset}");
    assert!(
        stdout.contains(&at) && stderr.contains(&at),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("frames 998 "), "{stdout}");

    let out = skyindex(&["inspect", "--json", path]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8(out.stderr).unwrap().contains(&at));
    assert!(String::from_utf8(out.stdout).unwrap().lines().count() > 900);
}
