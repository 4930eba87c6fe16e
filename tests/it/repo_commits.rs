//! Commit verification on real commits: the indigo relay scenarios (signed frames with their
//! account's key, Sync 1.1 and legacy), indigo's real firehose commit bodies, and every commit
//! of the real-PDS capture (keys unknown: everything but the signature, which is the part that
//! needs no key, including the inversion to `prevData`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use skyindex::crypto::PublicKey;
use skyindex::ipld::car::CarSlice;
use skyindex::repo::{self, Proof, VerifyError};

use crate::repo_support::{body, body_from_json, split_frame};

/// A clock just after the fixtures were recorded (2025), so no rev is "from the future".
fn fixture_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_760_000_000)
}

fn scenarios() -> Option<Vec<(String, Value)>> {
    let dir = crate::common::shared_fixtures()?.join("indigo/cmd/relay/testing/testdata");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let v = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Some(out)
}

/// Every `#commit` and `#sync` of the relay scenarios verifies with the account's key, except
/// the frames the scenario marks to drop, which fail for a named reason; the Sync 1.1 ones are
/// proven by inversion, the legacy ones come back as such. A wrong key always fails.
#[test]
fn relay_scenarios_verify_with_their_keys() {
    let Some(files) = scenarios() else {
        return;
    };
    let other_key =
        PublicKey::from_did_key("did:key:zQ3shqwJEJyMBsBXCWyCBpUBMqxcon9oHB7mCvx4sSpMdLJwc")
            .unwrap();
    let (mut inverted, mut legacy, mut syncs, mut dropped) = (0, 0, 0, 0);
    for (name, doc) in files {
        let account = &doc["accounts"][0]["identity"];
        let k = &account["keys"]["atproto"];
        let key = PublicKey::from_verification_method(
            k["type"].as_str().unwrap(),
            k["publicKeyMultibase"].as_str().unwrap(),
        )
        .unwrap();
        for (i, msg) in doc["messages"].as_array().unwrap().iter().enumerate() {
            let t = msg["frame"]["header"]["t"].as_str().unwrap();
            if t != "#commit" && t != "#sync" {
                continue;
            }
            let b = body_from_json(&msg["frame"]["body"]);
            let car = CarSlice::parse(&b.blocks).unwrap();
            let drop = msg["drop"].as_bool().unwrap_or(false);
            let result = if t == "#commit" {
                let ops = b.ops();
                let frame = b.commit_frame(&car, &ops);
                let wrong = repo::verify_commit(&frame, &other_key, fixture_now());
                assert!(
                    matches!(wrong, Err(VerifyError::BadSignature(_))) || (drop && wrong.is_err()),
                    "{name} #{i}: another key: {wrong:?}"
                );
                repo::verify_commit(&frame, &key, fixture_now()).map(|v| Some(v.proof))
            } else {
                repo::verify_sync(&b.sync_frame(&car), &key, fixture_now()).map(|_| None)
            };
            match (drop, result) {
                (false, Ok(Some(Proof::Inverted))) => inverted += 1,
                (false, Ok(Some(Proof::LegacyNoPrevData))) => {
                    assert!(b.prev_data.is_none());
                    legacy += 1;
                }
                (false, Ok(None)) => syncs += 1,
                (false, Err(e)) => panic!("{name} #{i} ({t}): {e}"),
                // Dropped for ordering reasons a relay tracks (a repeated or older rev): each
                // frame alone may be sound. Those with a damaged rev must fail.
                (true, result) => {
                    dropped += 1;
                    if b.rev.contains('0') {
                        assert!(
                            matches!(
                                result,
                                Err(VerifyError::WrongRev { .. }) | Err(VerifyError::BadCommit(_))
                            ),
                            "{name} #{i}: {result:?}"
                        );
                    }
                }
            }
        }
    }
    assert!(inverted >= 7, "{inverted} inverted");
    assert!(legacy >= 10, "{legacy} legacy");
    assert_eq!(syncs, 1);
    assert!(dropped >= 4);
}

/// The real firehose commit bodies of indigo's testdata (pre-Sync-1.1: no prevData, keys not
/// given): the commit block, the ops against the tree and the record blocks all check, and the
/// outcome says the proof was not inverted.
#[test]
fn indigo_firehose_commits() {
    let Some(shared) = crate::common::shared_fixtures() else {
        return;
    };
    let dir = shared.join("indigo/atproto/repo/testdata");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("firehose_commit_") {
            continue;
        }
        let json: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let b = body_from_json(&json);
        let car = CarSlice::parse(&b.blocks).unwrap();
        let ops = b.ops();
        let frame = b.commit_frame(&car, &ops);
        let verified = repo::verify_commit_proof(&frame, fixture_now())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.proof, Proof::LegacyNoPrevData, "{name}");
        assert_eq!(verified.proof.reason(), "legacy_no_prev_data");
        assert_eq!(verified.commit.rev, b.rev);
        n += 1;
    }
    assert_eq!(n, 4);
}

/// Every `#commit` of the real-PDS capture: decode, the ops forwards and the inversion to
/// `prevData` (the accounts' keys are not in the capture, so no signature; a repo's first
/// commit has no `prevData`), and every `#sync` commit block reads and names its frame's DID
/// and rev.
#[test]
fn pds_capture_every_commit_inverts() {
    let frames = crate::common::read_capture(&crate::common::pds_small().join("frames.bin"));
    assert_eq!(frames.len(), 999);
    let (mut commits, mut ops_seen, mut syncs) = (0, 0, 0);
    let (mut inverted, mut genesis) = (0, 0);
    for (i, f) in frames.iter().enumerate() {
        let (t, raw) = split_frame(f);
        match t.as_str() {
            "#commit" => {
                let b = body(raw);
                let car = CarSlice::parse(&b.blocks).unwrap();
                let ops = b.ops();
                let frame = b.commit_frame(&car, &ops);
                let v = repo::verify_commit_proof(&frame, SystemTime::now())
                    .unwrap_or_else(|e| panic!("frame {i}: {} {e}", e.reason()));
                match v.proof {
                    Proof::Inverted => inverted += 1,
                    // A repo's first commit has nothing before it to invert to.
                    Proof::LegacyNoPrevData => {
                        assert_eq!(b.since, None, "frame {i}: no prevData after a previous rev");
                        genesis += 1;
                    }
                }
                commits += 1;
                ops_seen += ops.len();
            }
            "#sync" => {
                let b = body(raw);
                let car = CarSlice::parse(&b.blocks).unwrap();
                let root = car.roots[0];
                let commit = repo::read_commit(
                    &car,
                    &root,
                    b.did.as_deref().unwrap(),
                    &b.rev,
                    SystemTime::now(),
                )
                .unwrap_or_else(|e| panic!("frame {i}: {e}"));
                assert_eq!(commit.version, 3);
                syncs += 1;
            }
            _ => {}
        }
    }
    assert_eq!((commits, syncs), (901, 31));
    assert_eq!(ops_seen, 811 + 12 + 98);
    assert_eq!(inverted + genesis, commits);
    assert!(
        genesis <= 31,
        "{genesis} commits without prevData, for 30 accounts"
    );
    eprintln!("pds-small: {inverted} commits inverted to prevData, {genesis} first commits");
}
