//! Fetching and reading whole repositories for backfill, against loopback servers: a PLC
//! directory and a PDS serving `getRepo` (built here from records, or the real exports in
//! `../shared/fixtures`), and hostile ones: XRPC errors that name a hosting status, 500s,
//! redirect loops, a redirect to a private address, bodies over the cap, a slow drip, a
//! truncated CAR, a commit for another DID, a v2 repository, a record block missing.

use std::sync::Arc;
use std::time::Duration;

use cid::Cid;
use ipld_core::ipld::Ipld;
use skyindex::changes::Hosting;
use skyindex::identity::http_ureq::UreqClient;
use skyindex::identity::limit::HostLimiter;
use skyindex::identity::{Identities, IdentityConfig};
use skyindex::repo::{KeyRule, NoBlocks, Tree};
use skyindex::sync::fetch::{default_limits, Fetched};
use skyindex::sync::spool::{Spool, Spooled};
use skyindex::sync::{snapshot, FetchError, Fetcher, SnapshotError};

use crate::common::events::{self, like, post, rkey, Rec, Ref};
use crate::decode_support::{car, cid_of, encode, map, text, DAG_CBOR};
use crate::identity::support::{plc, HttpServer, Reply};

/// A v3 repository export of `did` at `rev` holding `records` (path → record), its commit
/// signed with nothing anyone checks here (backfill trusts the PDS it asked; see README).
pub fn export(did: &str, rev: &str, records: &[(String, &Rec)], drop_record: bool) -> Vec<u8> {
    let (root, blocks) = export_blocks(did, rev, records, drop_record);
    car(&[root], &blocks)
}

/// The commit's CID and every block of [`export`], commit last.
fn export_blocks(
    did: &str,
    rev: &str,
    records: &[(String, &Rec)],
    drop_record: bool,
) -> (Cid, Vec<(Cid, Vec<u8>)>) {
    let mut tree = Tree::empty(&NoBlocks, KeyRule::RepoPath);
    for (path, rec) in records {
        tree.insert(path.as_bytes(), rec.cid).expect("insert");
    }
    let data = tree.root_cid();
    let mut blocks: Vec<(Cid, Vec<u8>)> = tree.node_blocks();
    if !drop_record {
        blocks.extend(records.iter().map(|(_, r)| (r.cid, r.bytes.clone())));
    }
    let commit = encode(&map(vec![
        ("did", text(did)),
        ("version", Ipld::Integer(3)),
        ("data", Ipld::Link(data)),
        ("rev", text(rev)),
        ("prev", Ipld::Null),
        ("sig", Ipld::Bytes(vec![0; 64])),
    ]));
    let commit_cid = cid_of(DAG_CBOR, &commit);
    blocks.push((commit_cid, commit));
    (commit_cid, blocks)
}

/// `car` as a body spilled to a file, as the fetcher keeps a large one.
fn spilled(car: &[u8]) -> Spooled {
    let mut spool = Spool::new(0);
    std::io::Write::write_all(&mut spool, car).expect("spool");
    let body = spool.finish().expect("finish");
    assert!(matches!(body, Spooled::File { .. }));
    body
}

/// Every record of a snapshot, read back in chunks of `n` (from memory or its spill).
fn all_records(snap: &skyindex::changes::Snapshot, n: usize) -> Vec<(String, Cid)> {
    snap.chunks(n)
        .flat_map(|c| c.expect("chunk"))
        .map(|r| (r.path(), r.cid))
        .collect()
}

pub fn doc(did: &str, pds: &str) -> String {
    format!(
        r##"{{"id":"{did}","alsoKnownAs":["at://alice.test"],
        "verificationMethod":[{{"id":"{did}#atproto","type":"Multikey","controller":"{did}",
        "publicKeyMultibase":"zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"}}],
        "service":[{{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"{pds}"}}]}}"##
    )
}

fn fetcher(plc_url: &str, allow_private: bool, max_bytes: usize, timeout: Duration) -> Fetcher {
    let config = IdentityConfig {
        plc_url: plc_url.to_owned(),
        allow_private_hosts: allow_private,
        plain_http: true,
        ..IdentityConfig::default()
    };
    let mut http = Identities::http_config(&config).expect("http config");
    http.total_timeout = timeout;
    Fetcher {
        identities: Arc::new(Identities::new(config).expect("identities")),
        http: Arc::new(UreqClient::new(&http)),
        limiter: HostLimiter::new(default_limits()),
        relay: None,
        relay_paused: std::sync::Mutex::new(None),
        max_bytes,
        verify_signatures: false,
        spool_memory: 1 << 20,
        verify_handles: false,
    }
}

fn records() -> (Vec<(String, Rec)>, Rec) {
    let p = post("hello", None, None);
    let l = like(&Ref::phantom_post("did:plc:bob", &rkey(9)));
    let bad = events::record("com.example.note", [("text", Ipld::String("x".into()))]);
    (
        vec![
            (format!("app.bsky.feed.like/{}", rkey(2)), l),
            (format!("app.bsky.feed.post/{}", rkey(1)), p),
        ],
        bad,
    )
}

/// A server that is both the PLC directory and the PDS, answering getRepo with `reply`.
pub fn server(did: String, reply: impl Fn() -> Reply + Send + Sync + 'static) -> HttpServer {
    let holder: Arc<std::sync::OnceLock<String>> = Arc::new(std::sync::OnceLock::new());
    let h = holder.clone();
    let s = HttpServer::start(move |seen| {
        if seen.path.starts_with("/xrpc/com.atproto.sync.getRepo") {
            reply()
        } else if seen.path == format!("/{did}") {
            Reply::ok(doc(&did, h.get().map(String::as_str).unwrap_or("")))
        } else {
            Reply::status(404)
        }
    });
    let _ = holder.set(s.url(""));
    s
}

#[test]
fn a_repository_is_fetched_walked_and_decoded() {
    let did = plc(1);
    let (recs, note) = records();
    let mut all: Vec<(String, &Rec)> = recs.iter().map(|(p, r)| (p.clone(), r)).collect();
    all.push((format!("com.example.note/{}", rkey(3)), &note));
    let car = export(&did, &events::rev(7), &all, false);
    let s = server(did.clone(), move || Reply::ok(car.clone()));
    let f = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5));
    let Fetched {
        body, host, handle, ..
    } = f.fetch(&did).expect("fetch");
    assert_eq!(
        handle.as_deref(),
        Some("alice.test"),
        "as the document claims it"
    );
    assert_eq!(host, s.url(""));
    assert!(
        matches!(body, Spooled::Memory(_)),
        "a small body stays in memory"
    );
    let snap = snapshot::read_spooled(&did, body, &host, "2026-01-01T00:00:00Z", None, None)
        .expect("read");
    assert_eq!(snap.rev, events::rev(7));
    let paths: Vec<String> = snap.records.iter().map(|r| r.path()).collect();
    let mut want: Vec<String> = all.iter().map(|(p, _)| p.clone()).collect();
    want.sort();
    assert_eq!(paths, want, "every record, in path order");
    assert_eq!(snap.refused, 0);
    assert_eq!(
        s.requests_to(&format!("/xrpc/com.atproto.sync.getRepo?did={did}")),
        1
    );
}

#[test]
fn xrpc_errors_name_the_hosting_status() {
    for (error, hosting) in [
        ("RepoNotFound", Hosting::Deleted),
        ("RepoTakendown", Hosting::Takendown),
        ("RepoSuspended", Hosting::Suspended),
        ("RepoDeactivated", Hosting::Deactivated),
    ] {
        let did = plc(2);
        let body = format!(r#"{{"error":"{error}","message":"no"}}"#);
        let s = server(did.clone(), move || {
            Reply::Full(
                400,
                vec![("Content-Type".into(), "application/json".into())],
                body.clone().into_bytes(),
            )
        });
        let f = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5));
        let e = f.fetch(&did).err().expect("an error");
        assert_eq!(e.hosting(), Some(hosting), "{error}: {e}");
    }
    let did = plc(3);
    let s = server(did.clone(), || Reply::status(500));
    let e = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5))
        .fetch(&did)
        .err()
        .expect("an error");
    assert!(matches!(e, FetchError::Status { status: 500, .. }), "{e}");
    assert_eq!(e.hosting(), None, "a 500 is worth a retry");
}

#[test]
fn hostile_servers_give_typed_errors() {
    let did = plc(4);
    // A redirect loop.
    let s = server(did.clone(), || {
        Reply::redirect("/xrpc/com.atproto.sync.getRepo?x=1")
    });
    let e = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5))
        .fetch(&did)
        .err();
    assert!(matches!(e, Some(FetchError::Http(_))), "{e:?}");
    // More than the cap, declared or not.
    let s = server(did.clone(), || Reply::ok(vec![0u8; 4096]));
    let e = fetcher(&s.url(""), true, 1024, Duration::from_secs(5))
        .fetch(&did)
        .err();
    assert!(
        matches!(
            e,
            Some(FetchError::Http(
                skyindex::identity::HttpError::TooLarge { .. }
            ))
        ),
        "{e:?}"
    );
    let s = server(did.clone(), || Reply::Unsized(1 << 20));
    let e = fetcher(&s.url(""), true, 1024, Duration::from_secs(5))
        .fetch(&did)
        .err();
    assert!(matches!(e, Some(FetchError::Http(_))), "{e:?}");
    // A slow drip is cut at the whole request's timeout.
    let s = server(did.clone(), || Reply::Drip {
        len: 1000,
        every: Duration::from_millis(50),
    });
    let started = std::time::Instant::now();
    let e = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(1))
        .fetch(&did)
        .err();
    assert!(matches!(e, Some(FetchError::Http(_))), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    // A truncated CAR reads as a typed error.
    let (recs, _) = records();
    let all: Vec<(String, &Rec)> = recs.iter().map(|(p, r)| (p.clone(), r)).collect();
    let car = export(&did, &events::rev(1), &all, false);
    let cut = car[..car.len() - 10].to_vec();
    assert!(matches!(
        snapshot::read(&did, &cut, "h", "t"),
        Err(SnapshotError::Export(_))
    ));
    // A commit for another DID, a missing record block.
    assert!(matches!(
        snapshot::read(&plc(5), &car, "h", "t"),
        Err(SnapshotError::WrongDid { .. })
    ));
    let holes = export(&did, &events::rev(1), &all, true);
    assert!(matches!(
        snapshot::read(&did, &holes, "h", "t"),
        Err(SnapshotError::MissingRecord { .. })
    ));
}

#[test]
fn a_pds_on_a_private_address_is_refused_unless_allowed() {
    let did = plc(6);
    let (recs, _) = records();
    let all: Vec<(String, &Rec)> = recs.iter().map(|(p, r)| (p.clone(), r)).collect();
    let car = export(&did, &events::rev(1), &all, false);
    // The PDS on its own loopback server; the PLC directory (trusted) names it.
    let pds = HttpServer::start(move |_| Reply::ok(car.clone()));
    let pds_url = pds.url("");
    let d = did.clone();
    let directory = HttpServer::start(move |_| Reply::ok(doc(&d, &pds_url)));
    let e = fetcher(&directory.url(""), false, 1 << 20, Duration::from_secs(5))
        .fetch(&did)
        .err();
    assert!(
        matches!(
            e,
            Some(FetchError::Http(
                skyindex::identity::HttpError::PrivateAddress { .. }
            ))
        ),
        "{e:?}"
    );
    assert_eq!(pds.requests(), 0, "nothing was asked of it");
    assert!(
        fetcher(&directory.url(""), true, 1 << 20, Duration::from_secs(5))
            .fetch(&did)
            .is_ok()
    );
}

#[test]
fn real_exports_read_and_v2_is_refused() {
    let Some(dir) = crate::common::shared_fixtures() else {
        eprintln!("skipping: no ../shared/fixtures");
        return;
    };
    for rel in [
        "indigo/testing/testdata/greenground.repo.car",
        "indigo/atproto/repo/testdata/bnewbold.robocracy.org.20250310005405.car",
    ] {
        let bytes = std::fs::read(dir.join(rel)).expect("read");
        let export = skyindex::repo::RepoExport::parse(&bytes).expect("parse");
        let walked = export.entries().expect("walk").len();
        let snap = snapshot::read(&export.commit.did, &bytes, "h", "t").expect(rel);
        assert_eq!(snap.records.len() + snap.refused, walked, "{rel}");
        assert!(!snap.records.is_empty(), "{rel}");
        eprintln!(
            "{rel}: {} records, {} refused by their lexicons",
            snap.records.len(),
            snap.refused
        );
    }
    let bytes =
        std::fs::read(dir.join("indigo/testing/testdata/fakermaker.repo.car")).expect("read");
    let export = skyindex::repo::RepoExport::parse(&bytes).expect("parse");
    assert!(matches!(
        snapshot::read(&export.commit.did, &bytes, "h", "t"),
        Err(SnapshotError::Version(2))
    ));
}

#[test]
fn a_429_says_how_long_to_wait() {
    let did = plc(7);
    let s = server(did.clone(), || {
        Reply::Full(
            429,
            vec![("Retry-After".into(), "7".into())],
            b"{}".to_vec(),
        )
    });
    let e = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5))
        .fetch(&did)
        .err()
        .expect("an error");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)), "{e}");
    // The reference PDS's own header: a Unix time.
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30;
    let s = server(did.clone(), move || {
        Reply::Full(
            429,
            vec![("RateLimit-Reset".into(), reset.to_string())],
            b"{}".to_vec(),
        )
    });
    let e = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5))
        .fetch(&did)
        .err()
        .expect("an error");
    let wait = e.retry_after().expect("a wait");
    assert!(
        wait <= Duration::from_secs(30) && wait >= Duration::from_secs(28),
        "{wait:?}"
    );
    // A wait of days is capped at an hour.
    let s = server(did.clone(), || {
        Reply::Full(
            429,
            vec![("Retry-After".into(), "999999".into())],
            Vec::new(),
        )
    });
    let e = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5))
        .fetch(&did)
        .err()
        .expect("an error");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
}

#[test]
fn a_429_pauses_the_whole_host() {
    let did = plc(8);
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = asked.clone();
    let s = server(did.clone(), move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Reply::Full(
            429,
            vec![("Retry-After".into(), "600".into())],
            b"{}".to_vec(),
        )
    });
    let f = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5));
    let first = f.fetch(&did).err().expect("a 429");
    assert_eq!(
        first.retry_after(),
        Some(Duration::from_secs(600)),
        "{first}"
    );
    // The next repo on that host is not asked for: the pause is the host's, and the error
    // says how long is left of it.
    let second = f.fetch(&did).err().expect("paused");
    assert!(
        matches!(second, skyindex::sync::fetch::FetchError::Limited { .. }),
        "{second}"
    );
    let left = second.retry_after().expect("what is left");
    assert!(left > Duration::from_secs(590), "{left:?}");
    assert!(second.to_string().contains("paused"), "{second}");
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn repos_holding_a_collection_are_listed_by_it() {
    let (a, b) = (plc(21), plc(22));
    let body_a = format!(r#"{{"repos":[{{"did":"{a}"}},{{"did":"not a did"}}],"cursor":"p2"}}"#);
    let body_b = format!(r#"{{"repos":[{{"did":"{b}"}}]}}"#);
    let s = HttpServer::start(move |seen| {
        if !seen.path.starts_with(
            "/xrpc/com.atproto.sync.listReposByCollection?collection=app.bsky.feed.post&",
        ) {
            Reply::status(404)
        } else if seen.path.contains("cursor=p2") {
            Reply::ok(body_b.clone())
        } else {
            Reply::ok(body_a.clone())
        }
    });
    let config = IdentityConfig {
        allow_private_hosts: true,
        plain_http: true,
        ..IdentityConfig::default()
    };
    let http = UreqClient::new(&Identities::http_config(&config).expect("http config"));
    let base = s.url("");
    let page = |cursor: Option<&str>| {
        skyindex::sync::enumerate::page(&http, &base, Some("app.bsky.feed.post"), cursor)
            .expect("a page")
    };
    let (repos, next) = page(None);
    // A DID that is not one is skipped; the listing says nothing of revs or status.
    let dids: Vec<&str> = repos.iter().map(|r| r.did.as_str()).collect();
    assert_eq!(dids, [a.as_str()]);
    assert!(repos[0].active && repos[0].rev.is_none());
    assert_eq!(next.as_deref(), Some("p2"));
    let (repos, next) = page(next.as_deref());
    assert_eq!(repos[0].did, b);
    assert_eq!(next, None);
}

#[test]
fn an_export_spilled_to_disk_reads_as_one_in_memory() {
    let did = plc(11);
    let likes: Vec<(String, Rec)> = (0..700)
        .map(|i| {
            (
                format!("app.bsky.feed.like/{}", rkey(100 + i)),
                like(&Ref::phantom_post("did:plc:bob", &rkey(i))),
            )
        })
        .collect();
    let (recs, note) = records();
    let mut all: Vec<(String, &Rec)> = recs.iter().map(|(p, r)| (p.clone(), r)).collect();
    all.extend(likes.iter().map(|(p, r)| (p.clone(), r)));
    all.push((format!("com.example.note/{}", rkey(3)), &note));
    // A post its lexicon refuses (its text is a number): its bytes, under a valid one's name.
    let mut bad = post("x", None, None);
    bad.bytes = encode(&map(vec![
        ("$type", text("app.bsky.feed.post")),
        ("text", Ipld::Integer(5)),
        ("createdAt", text("2024-01-01T00:00:00Z")),
    ]));
    bad.cid = cid_of(DAG_CBOR, &bad.bytes);
    all.push((format!("app.bsky.feed.post/{}", rkey(5)), &bad));
    let car = export(&did, &events::rev(7), &all, false);
    let memory = snapshot::read(&did, &car, "h", "t").expect("in memory");
    assert!(memory.spilled.is_none());
    assert_eq!(memory.refused, 1, "the post whose text is a number");
    // Through the fetcher told to keep nothing in memory: the body and the records spill.
    let served = car.clone();
    let s = server(did.clone(), move || Reply::ok(served.clone()));
    let mut f = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5));
    f.spool_memory = 0;
    let Fetched { body, host, .. } = f.fetch(&did).expect("fetch");
    assert!(matches!(body, Spooled::File { .. }), "{body:?}");
    assert_eq!(body.len(), car.len() as u64);
    let snap = snapshot::read_spooled(&did, body, &host, "t", None, None).expect("spilled");
    assert!(snap.records.is_empty() && snap.spilled.is_some());
    assert_eq!((snap.len(), snap.refused), (memory.len(), 1));
    assert_eq!((&snap.rev, snap.data), (&memory.rev, memory.data));
    let want = all_records(&memory, 1000);
    assert_eq!(want.len(), 703);
    for n in [1, 7, 2000] {
        assert_eq!(all_records(&snap, n), want, "in chunks of {n}");
    }
    // Read again from the first: a cutover retried after a database error reads it anew.
    assert_eq!(all_records(&snap, 64), want);
    // The collections kept, as --collections keeps them.
    let only_likes: skyindex::sync::stage::Wants =
        std::sync::Arc::new(|c: &str| c == "app.bsky.feed.like");
    let snap = snapshot::read_spooled(&did, spilled(&car), "h", "t", Some(&only_likes), None)
        .expect("likes only");
    assert_eq!((snap.len(), snap.refused), (701, 0));
}

#[test]
fn hostile_exports_spilled_to_disk_give_typed_errors() {
    let did = plc(12);
    let (recs, _) = records();
    let all: Vec<(String, &Rec)> = recs.iter().map(|(p, r)| (p.clone(), r)).collect();
    let read = |car: &[u8]| snapshot::read_spooled(&did, spilled(car), "h", "t", None, None);
    let car = export(&did, &events::rev(1), &all, false);
    assert_eq!(read(&car).expect("whole").len(), 2);
    // Truncated anywhere: in the header, in a block.
    for cut in [3, car.len() / 2, car.len() - 10] {
        let e = read(&car[..cut]).err();
        assert!(
            matches!(e, Some(SnapshotError::Export(_))),
            "cut at {cut}: {e:?}"
        );
    }
    // A block length claiming gigabytes, and one over the limit for a block.
    for claim in [1u64 << 33, 5 << 20] {
        let mut long = car.clone();
        let mut n = claim;
        while n >= 0x80 {
            long.push((n as u8) | 0x80);
            n >>= 7;
        }
        long.push(n as u8);
        long.extend_from_slice(&[0u8; 64]);
        let e = read(&long).err();
        assert!(
            matches!(e, Some(SnapshotError::Export(_))),
            "{claim}: {e:?}"
        );
    }
    // A record block missing, another DID's commit.
    let holes = export(&did, &events::rev(1), &all, true);
    assert!(matches!(
        read(&holes),
        Err(SnapshotError::MissingRecord { .. })
    ));
    assert!(matches!(
        snapshot::read_spooled(&plc(13), spilled(&car), "h", "t", None, None),
        Err(SnapshotError::WrongDid { .. })
    ));
    // A record block whose bytes are not its CID's: refused, never read as the record.
    let (root, mut blocks) = export_blocks(&did, &events::rev(1), &all, false);
    let record = recs[0].1.cid;
    let damaged: Vec<(Cid, Vec<u8>)> = blocks
        .iter()
        .map(|(c, b)| {
            let mut b = b.clone();
            if *c == record {
                let last = b.len() - 1;
                b[last] ^= 1;
            }
            (*c, b)
        })
        .collect();
    let e = read(&car_of(root, &damaged)).err();
    assert!(
        matches!(e, Some(SnapshotError::Tree(skyindex::repo::MstError::BadBlock(c))) if c == record),
        "{e:?}"
    );
    // The same CID twice, the damaged copy first: the copy that matches is the one read.
    let mut twice = damaged
        .iter()
        .filter(|(c, _)| *c == record)
        .cloned()
        .collect::<Vec<_>>();
    twice.append(&mut blocks);
    let snap = read(&car_of(root, &twice)).expect("a good copy is there");
    assert_eq!(snap.len(), 2);
}

fn car_of(root: Cid, blocks: &[(Cid, Vec<u8>)]) -> Vec<u8> {
    car(&[root], blocks)
}

#[test]
fn a_snapshot_must_be_signed_by_the_account_key() {
    use crate::verify::forge::Signer;
    use skyindex::crypto::PublicKey;
    let did = plc(14);
    let (recs, _) = records();
    let all: Vec<(String, &Rec)> = recs.iter().map(|(p, r)| (p.clone(), r)).collect();
    let (_, mut blocks) = export_blocks(&did, &events::rev(3), &all, false);
    let signer = Signer::new(7);
    let (_, unsigned) = blocks.pop().expect("the commit is last");
    let commit = signer.resign(&unsigned);
    let root = cid_of(DAG_CBOR, &commit);
    blocks.push((root, commit));
    let car = car_of(root, &blocks);
    let key = |s: &Signer| PublicKey::from_verification_method("Multikey", &s.multikey()).unwrap();
    for body in [Spooled::Memory(car.clone()), spilled(&car)] {
        let memory = matches!(body, Spooled::Memory(_));
        let snap = snapshot::read_spooled(&did, body, "h", "t", None, Some(&key(&signer)))
            .unwrap_or_else(|e| panic!("memory {memory}: {e}"));
        assert_eq!(snap.len(), 2);
    }
    // Another key (the PDS signed for someone else, or the export was tampered with).
    for body in [Spooled::Memory(car.clone()), spilled(&car)] {
        let e =
            snapshot::read_spooled(&did, body, "h", "t", None, Some(&key(&Signer::new(8)))).err();
        assert!(matches!(e, Some(SnapshotError::Signature(_))), "{e:?}");
    }
    // Without a key asked for (verification off) it is read as it is.
    assert!(snapshot::read_spooled(&did, spilled(&car), "h", "t", None, None).is_ok());
    // The fetcher gives the document's key when snapshots are checked, and fetches nothing
    // for an account whose document names none.
    let served = car.clone();
    let s = server(did.clone(), move || Reply::ok(served.clone()));
    let mut f = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5));
    f.verify_signatures = true;
    assert!(f.fetch(&did).expect("fetch").key.is_some());
    let keyless = plc(16);
    let (d, path) = (keyless.clone(), format!("/{keyless}"));
    let s = HttpServer::start(move |seen| {
        if seen.path == path {
            Reply::ok(format!(
                r##"{{"id":"{d}","service":[{{"id":"#atproto_pds","type":"AtprotoPersonalDataServer","serviceEndpoint":"http://127.0.0.1:9"}}]}}"##
            ))
        } else {
            Reply::status(404)
        }
    });
    let mut f = fetcher(&s.url(""), true, 1 << 20, Duration::from_secs(5));
    f.verify_signatures = true;
    let e = f.fetch(&keyless).err();
    assert!(matches!(e, Some(FetchError::Key(_))), "{e:?}");
}

#[test]
fn the_relay_is_asked_first_and_the_pds_when_it_fails() {
    let did = plc(15);
    let (recs, _) = records();
    let all: Vec<(String, &Rec)> = recs.iter().map(|(p, r)| (p.clone(), r)).collect();
    let car = export(&did, &events::rev(2), &all, false);
    let pds = server(did.clone(), move || Reply::ok(car.clone()));
    let path = format!("/xrpc/com.atproto.sync.getRepo?did={did}");
    let answer: Arc<std::sync::Mutex<Reply>> = Arc::new(std::sync::Mutex::new(Reply::status(500)));
    let relay = {
        let answer = answer.clone();
        HttpServer::start(move |_| match &*answer.lock().unwrap() {
            Reply::Full(s, h, b) => Reply::Full(*s, h.clone(), b.clone()),
            _ => Reply::status(500),
        })
    };
    let set = |r: Reply| *answer.lock().unwrap() = r;
    let mut f = fetcher(&pds.url(""), true, 1 << 20, Duration::from_secs(5));
    f.relay = Some(relay.url(""));
    // It redirects to the PDS: fetched through it, the PDS asked once.
    set(Reply::redirect(&pds.url(&path)));
    let got = f.fetch(&did).expect("through the relay");
    assert!(got.via_relay);
    assert_eq!((relay.requests_to(&path), pds.requests_to(&path)), (1, 1));
    // It fails: the PDS is asked directly.
    set(Reply::status(502));
    let got = f.fetch(&did).expect("from the PDS");
    assert!(!got.via_relay);
    assert_eq!((relay.requests_to(&path), pds.requests_to(&path)), (2, 2));
    // It is rate limited: the PDS directly, and the relay left alone while it asked.
    set(Reply::Full(
        429,
        vec![("Retry-After".into(), "60".into())],
        Vec::new(),
    ));
    assert!(!f.fetch(&did).expect("from the PDS").via_relay);
    assert!(!f.fetch(&did).expect("from the PDS").via_relay);
    assert_eq!((relay.requests_to(&path), pds.requests_to(&path)), (3, 4));
    // What the relay says of the repo's hosting status stands (no retry storm at the PDS).
    *f.relay_paused.lock().unwrap() = None;
    set(Reply::Full(
        400,
        Vec::new(),
        br#"{"error":"RepoTakendown","message":"taken down"}"#.to_vec(),
    ));
    let e = f.fetch(&did).err().expect("taken down");
    assert_eq!(e.hosting(), Some(Hosting::Takendown), "{e}");
    assert_eq!(pds.requests_to(&path), 4);
}
