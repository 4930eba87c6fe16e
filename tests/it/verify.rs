//! Verification end to end: the real binary over a capture of a real PDS (`tests/fixtures/
//! pds-verify`, recorded with `scripts/make-verify-fixture.sh` from the reference PDS and PLC),
//! with a loopback directory serving the accounts' DID documents as the PLC served them and a
//! loopback DNS server answering their handles. Nothing leaves 127.0.0.1.
//!
//! - every commit of the real stream verifies (`--verify full`), handles checked both ways;
//! - forged frames made from real ones: a commit re-signed with another key, a like added to a
//!   commit whose signature is untouched, a `prevData` that is not the tree before the commit,
//!   a key rotated mid-stream (refreshed once, then accepted), a handle that does not point
//!   back. With `full` no forged op is applied and the database equals a clean run over the
//!   stream without the forged commits; with `signature` the added like gets through; with
//!   `off` everything does (so the checks are what does the work).

pub mod forge;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use serde_json::Value;

use crate::common::{self, db::TestDb, proc, truth};
use crate::identity::support::{txt_reply, DnsResponder, HttpServer, Reply};
use forge::Signer;

fn fixture() -> PathBuf {
    common::project_dir().join("tests/fixtures/pds-verify")
}

/// The accounts' documents as the PLC served them, by DID.
fn documents() -> BTreeMap<String, Value> {
    let text = std::fs::read(fixture().join("dids.json")).expect("dids.json");
    serde_json::from_slice(&text).expect("dids json")
}

/// Per DID, the documents to serve in turn and how many requests came.
type Versions = Arc<Mutex<HashMap<String, (Vec<String>, usize)>>>;

/// A did:plc directory on loopback. Each DID has a list of documents: the n-th request gets
/// the n-th (the last one stays).
pub(crate) struct Directory {
    server: HttpServer,
    versions: Versions,
}

impl Directory {
    pub(crate) fn start(docs: &BTreeMap<String, Value>) -> Directory {
        let versions: HashMap<String, (Vec<String>, usize)> = docs
            .iter()
            .map(|(did, doc)| (did.clone(), (vec![doc.to_string()], 0)))
            .collect();
        let versions: Versions = Arc::new(Mutex::new(versions));
        let served = versions.clone();
        let server = HttpServer::start(move |seen| {
            let did = seen.path.trim_start_matches('/');
            let mut map = served.lock().unwrap();
            match map.get_mut(did) {
                Some((docs, n)) => {
                    let doc = docs[(*n).min(docs.len() - 1)].clone();
                    *n += 1;
                    Reply::ok(doc)
                }
                None => Reply::status(404),
            }
        });
        Directory { server, versions }
    }

    fn then_serve(&self, did: &str, doc: String) {
        self.versions
            .lock()
            .unwrap()
            .get_mut(did)
            .expect("known did")
            .0
            .push(doc);
    }

    pub(crate) fn requests_for(&self, did: &str) -> usize {
        self.versions.lock().unwrap().get(did).map_or(0, |v| v.1)
    }

    pub(crate) fn url(&self) -> String {
        self.server.url("")
    }
}

/// A DNS server answering `_atproto.HANDLE` TXT with `did=DID` from `handles`.
fn dns(handles: HashMap<String, String>) -> DnsResponder {
    DnsResponder::start(move |query, _tcp| {
        let name = simple_dns::Packet::parse(query)
            .ok()
            .and_then(|p| p.questions.first().map(|q| q.qname.to_string()))
            .unwrap_or_default();
        let handle = name.trim_start_matches("_atproto.").trim_end_matches('.');
        match handles.get(handle) {
            Some(did) => vec![txt_reply(
                query,
                &[&[&format!("did={did}")]],
                simple_dns::RCODE::NoError,
                false,
            )],
            None => vec![txt_reply(query, &[], simple_dns::RCODE::NameError, false)],
        }
    })
}

/// The handle each account's final document names.
fn handles(docs: &BTreeMap<String, Value>) -> HashMap<String, String> {
    docs.iter()
        .filter_map(|(did, doc)| {
            let aka = doc["alsoKnownAs"][0].as_str()?;
            Some((aka.trim_start_matches("at://").to_owned(), did.clone()))
        })
        .collect()
}

/// Runs `skyindex run` over `frames` to the end with `args`; its log.
pub(crate) fn run_over(db: &TestDb, frames: &[Vec<u8>], args: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("skyindex-verify-{}", db.name));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("frames.bin");
    let mut bytes = Vec::new();
    for f in frames {
        bytes.extend_from_slice(&(f.len() as u32).to_le_bytes());
        bytes.extend_from_slice(f);
    }
    std::fs::write(&file, bytes).expect("write capture");
    let source = format!("file:{}", file.display());
    let mut all = vec!["--relay", &source, "--service", "verify"];
    all.extend_from_slice(args);
    let mut run = proc::spawn_run(&db.url, &all);
    let status = run.wait(Duration::from_secs(120));
    let log = run.log_text();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(status.success(), "exit {status}; log:\n{log}");
    log
}

/// The `unverified_by_reason=` of the closing line, as a map.
pub(crate) fn unverified(log: &str) -> BTreeMap<String, u64> {
    let line = log
        .lines()
        .rfind(|l| l.contains(" totals "))
        .expect("totals line");
    let field = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("unverified_by_reason="))
        .expect("unverified_by_reason");
    if field == "-" {
        return BTreeMap::new();
    }
    field
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once(':').expect("reason:count");
            (k.to_owned(), v.parse().expect("count"))
        })
        .collect()
}

fn verify_args<'a>(mode: &'a str, directory: &'a str, dns: &'a str) -> Vec<&'a str> {
    vec![
        "--verify",
        mode,
        "--verify-handles",
        "on",
        "--plc-url",
        directory,
        "--dns-server",
        dns,
        "--allow-private-hosts",
        "--plain-http",
        "--key-refresh-interval",
        "0s",
    ]
}

#[derive(QueryableByName)]
struct Handle {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    handle: Option<String>,
}

fn handle_of(db: &TestDb, did: &str) -> Option<String> {
    diesel::sql_query("SELECT handle FROM users WHERE did = $1")
        .bind::<diesel::sql_types::Text, _>(did)
        .get_result::<Handle>(&mut db.conn())
        .ok()
        .and_then(|h| h.handle)
}

pub(crate) fn has_row(db: &TestDb, table: &str, uri: &str) -> bool {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table} WHERE uri = $1"))
        .bind::<diesel::sql_types::Text, _>(uri)
        .get_result::<N>(&mut db.conn())
        .expect("count")
        .n
        > 0
}

#[test]
fn every_commit_of_a_real_pds_verifies_and_handles_check_both_ways() {
    let docs = documents();
    let directory = Directory::start(&docs);
    let dns = dns(handles(&docs));
    let frames = common::read_capture(&fixture().join("frames.bin"));
    let db = TestDb::empty();
    let (url, dns_addr) = (directory.url(), dns.addr.to_string());
    let log = run_over(&db, &frames, &verify_args("full", &url, &dns_addr));
    assert_eq!(unverified(&log), BTreeMap::new(), "log:\n{log}");
    let truth = truth::load(&fixture());
    let diffs = truth::differences(&mut db.conn(), &truth);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    // The documents were fetched, a few times each at most (purged on #identity).
    for did in docs.keys() {
        let n = directory.requests_for(did);
        assert!((1..=8).contains(&n), "{did}: {n} requests");
    }
}

/// The commits of the real stream, as (index in the capture, parsed frame).
fn commits(frames: &[Vec<u8>]) -> Vec<(usize, forge::Frame)> {
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| (i, forge::parse(f)))
        .filter(|(_, f)| f.t() == "#commit" && !f.ops().is_empty())
        .filter(|(_, f)| f.body.contains_key("prevData"))
        .collect()
}

/// How many `#identity` frames each account has.
fn identities_per_account(frames: &[Vec<u8>]) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for f in frames {
        let f = forge::parse(f);
        if f.t() == "#identity" {
            *n.entry(f.text("did")).or_default() += 1;
        }
    }
    n
}

#[test]
fn forged_frames_are_dropped_and_nothing_else_is() {
    let docs = documents();
    let frames = common::read_capture(&fixture().join("frames.bin"));
    let commits = commits(&frames);
    let per_identity = identities_per_account(&frames);
    let mut by_account: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (pos, (_, f)) in commits.iter().enumerate() {
        by_account.entry(f.text("repo")).or_default().push(pos);
    }
    // Accounts with one #identity (their creation) and enough commits, each forged one way.
    let mut eligible: Vec<&String> = by_account
        .iter()
        .filter(|(did, c)| c.len() >= 6 && per_identity.get(*did) == Some(&1))
        .map(|(did, _)| did)
        .collect();
    eligible.sort();
    assert!(eligible.len() >= 4, "too few plain accounts: {eligible:?}");
    let (rotated, resigned, added, bent) = (eligible[0], eligible[1], eligible[2], eligible[3]);
    let bad_handle = by_account
        .keys()
        .find(|d| ![rotated, resigned, added, bent].contains(d))
        .expect("a fifth account");

    let mut forged = frames.clone();
    let mut expected = frames.clone();
    let mut removed = Vec::new();
    // A commit re-signed with a key the account never had.
    let (i, _) = &commits[by_account[resigned][2]];
    forged[*i] = forge::resign_frame(&frames[*i], &Signer::new(1));
    removed.push(*i);
    // A like added to a real commit, its signature untouched.
    let (i, f) = &commits[by_account[added][2]];
    let target = truth::load(&fixture()).truth["records"]
        .as_array()
        .and_then(|r| {
            r.iter()
                .find(|r| r["collection"] == "app.bsky.feed.post")
                .cloned()
        })
        .expect("a post");
    let (with_like, like_uri) = forge::add_forged_like(
        &frames[*i],
        target["uri"].as_str().unwrap(),
        target["cid"].as_str().unwrap(),
    );
    assert_eq!(f.text("repo"), like_uri.split('/').nth(2).unwrap());
    forged[*i] = with_like;
    removed.push(*i);
    // A prevData that is not the tree before the commit (the signature does not cover it).
    let (i, _) = &commits[by_account[bent][2]];
    forged[*i] = forge::wrong_prev_data(&frames[*i]);
    removed.push(*i);
    // A key rotated mid-stream: every commit and #sync of the account from its fourth commit
    // on is signed with the new key, which the directory serves from its second request on.
    let new_key = Signer::new(2);
    let from = commits[by_account[rotated][3]].0;
    for (j, frame) in frames.iter().enumerate().skip(from) {
        let f = forge::parse(frame);
        let of_account = f.text("repo") == *rotated || f.text("did") == *rotated;
        if of_account && (f.t() == "#commit" || f.t() == "#sync") {
            forged[j] = forge::resign_frame(frame, &new_key);
            expected[j] = forged[j].clone();
        }
    }
    // The stream a clean run should end up equal to: the dropped commits never sent.
    removed.sort_unstable();
    for i in removed.iter().rev() {
        expected.remove(*i);
    }

    let directory = Directory::start(&docs);
    let mut rotated_doc = docs[rotated.as_str()].clone();
    rotated_doc["verificationMethod"][0]["type"] = "Multikey".into();
    rotated_doc["verificationMethod"][0]["publicKeyMultibase"] = new_key.multikey().into();
    directory.then_serve(rotated, rotated_doc.to_string());
    let mut names = handles(&docs);
    let bad_name = names
        .iter()
        .find(|(_, did)| *did == bad_handle)
        .map(|(h, _)| h.clone())
        .expect("handle of the fifth account");
    // Its handle's DNS names another account: it does not point back.
    names.insert(bad_name.clone(), rotated.clone());
    let dns = dns(names);
    let (url, dns_addr) = (directory.url(), dns.addr.to_string());
    // Its well-known URL is asked of the directory's server, which knows no such path.
    let resolve = format!("{bad_name}={}", directory.server.addr);
    let with_resolve = |mode| {
        let mut a = verify_args(mode, &url, &dns_addr);
        a.extend(["--resolve", resolve.as_str()]);
        a
    };

    // full: the three forged commits dropped, each for its reason; the rotation accepted after
    // one refresh; the bad handle stored as handle.invalid.
    let full = TestDb::empty();
    let log = run_over(&full, &forged, &with_resolve("full"));
    let reasons = unverified(&log);
    assert_eq!(
        reasons.values().sum::<u64>(),
        3,
        "{reasons:?}; rotated {rotated} from seq {}, resigned {resigned}, {} requests for the rotated; log:\n{log}",
        forge::parse(&frames[from]).seq(),
        directory.requests_for(rotated)
    );
    assert_eq!(reasons.get("bad_signature"), Some(&1), "{reasons:?}");
    assert_eq!(reasons.get("bad_proof"), Some(&1), "{reasons:?}");
    assert_eq!(
        directory.requests_for(rotated),
        2,
        "the rotated account's document: fetched, then refreshed once"
    );
    assert!(
        !has_row(&full, "likes", &like_uri),
        "the forged like was applied"
    );
    assert_eq!(
        handle_of(&full, bad_handle).as_deref(),
        Some("handle.invalid")
    );

    // A clean run over the stream without the forged commits (which full dropped whole) holds
    // exactly the same rows, but for the handle full found invalid.
    let clean = TestDb::empty();
    let log = run_over(
        &clean,
        &expected,
        &["--verify", "off", "--verify-handles", "off"],
    );
    assert!(log.contains(" totals "), "{log}");
    diesel::sql_query("UPDATE users SET handle = 'handle.invalid' WHERE did = $1")
        .bind::<diesel::sql_types::Text, _>(bad_handle)
        .execute(&mut clean.conn())
        .expect("mark the handle");
    let (got, want) = (
        truth::dump(&mut full.conn()),
        truth::dump(&mut clean.conn()),
    );
    for (table, rows) in &want {
        assert_eq!(
            got.get(table),
            Some(rows),
            "{table} differs between the verified run and the clean one"
        );
    }

    // signature: the added like passes (its commit's signature is fine), the bent prevData
    // too; the re-signed commit does not.
    let sig = TestDb::empty();
    let directory = Directory::start(&docs);
    directory.then_serve(rotated, rotated_doc.to_string());
    let url = directory.url();
    let log = run_over(&sig, &forged, &verify_args("signature", &url, &dns_addr));
    assert_eq!(
        unverified(&log),
        BTreeMap::from([("bad_signature".to_owned(), 1)]),
        "log:\n{log}"
    );
    assert!(
        has_row(&sig, "likes", &like_uri),
        "signature mode let the like through"
    );

    // off: everything forged is applied.
    let off = TestDb::empty();
    let log = run_over(
        &off,
        &forged,
        &["--verify", "off", "--verify-handles", "off"],
    );
    assert_eq!(unverified(&log), BTreeMap::new());
    assert!(has_row(&off, "likes", &like_uri));
}

#[test]
fn inspect_says_what_verification_would() {
    let docs = documents();
    let directory = Directory::start(&docs);
    let frames = common::read_capture(&fixture().join("frames.bin"));
    let commits = commits(&frames);
    let mut forged = frames.clone();
    let (i, _) = &commits[5];
    forged[*i] = forge::resign_frame(&frames[*i], &Signer::new(3));
    let dir = std::env::temp_dir().join(format!("skyindex-inspect-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let inspect = |frames: &[Vec<u8>]| {
        let file = dir.join("frames.bin");
        let mut bytes = Vec::new();
        for f in frames {
            bytes.extend_from_slice(&(f.len() as u32).to_le_bytes());
            bytes.extend_from_slice(f);
        }
        std::fs::write(&file, bytes).expect("write");
        let out = std::process::Command::new(proc::bin())
            .arg("inspect")
            .arg(&file)
            .args([
                "--plc-url",
                &directory.url(),
                "--allow-private-hosts",
                "--plain-http",
            ])
            .output()
            .expect("inspect");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let clean = inspect(&frames);
    let verified = commits.len() + 12; // and each account's first, empty commit
    assert!(
        clean.contains(&format!("verification: commits verified {verified} ")),
        "{clean}"
    );
    assert!(clean.contains("verification failures: none"), "{clean}");
    let dirty = inspect(&forged);
    assert!(
        dirty.contains(&format!("verification: commits verified {} ", verified - 1)),
        "{dirty}"
    );
    assert!(
        dirty
            .lines()
            .any(|l| l.trim_start().starts_with("bad_signature") && l.trim_end().ends_with(" 1")),
        "{dirty}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
