//! What the label tests share: the fixture recorded from a real Ozone
//! (`tests/fixtures/labels`, `scripts/make-labels-fixture.sh`), Ozone's own view of its labels
//! in force, a loopback labeler (the replay server serving a recorded `subscribeLabels`
//! stream) and a loopback PLC directory serving the labeler's DID document with its
//! `#atproto_labeler` endpoint pointed at that server, labels signed with a key of our own for
//! hostile streams, and the table as the tests compare it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ipld_core::ipld::Ipld;
use serde_json::Value;
use skyindex::replay::{Recording, ReplayOptions, ReplayServer};

use crate::common::{self, db::TestDb, proc};
use crate::identity::support::{HttpServer, Reply};
use crate::verify::forge::Signer;

pub fn dir() -> PathBuf {
    common::project_dir().join("tests/fixtures/labels")
}

/// The recording, as the tests use it.
pub struct Fixture {
    /// subscribeLabels read live while the labels were written: every write, seq 1..60.
    pub live: Vec<Vec<u8>>,
    /// subscribeLabels?cursor=0 read afterwards: the current rows only, with seq gaps.
    pub replay: Vec<Vec<u8>>,
    /// The labeler's DID document as the PLC served it.
    pub document: Value,
    pub did: String,
    /// Ozone's queryLabels rows (one per label identity, negations included), lex-JSON.
    pub query: Vec<Value>,
    /// When the dump was taken: "in force" is judged at this instant (some labels expire
    /// later, and the tests must not depend on the day they run).
    pub at: DateTime<Utc>,
}

pub fn fixture() -> Fixture {
    let read = |name: &str| -> Value {
        serde_json::from_slice(&std::fs::read(dir().join(name)).expect(name)).expect(name)
    };
    let dump = read("labels.json");
    let document = read("did.json");
    Fixture {
        live: common::read_capture(&dir().join("live.bin")),
        replay: common::read_capture(&dir().join("replay.bin")),
        did: document["id"].as_str().expect("id").to_owned(),
        document,
        query: dump["queryLabels"]["labels"]
            .as_array()
            .expect("queryLabels")
            .clone(),
        at: dump["summary"]["now"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .expect("summary.now"),
    }
}

/// A label row as compared: identity, neg, cts, exp and the signature.
pub type Row = (
    String,
    String,
    String,
    String,
    bool,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Vec<u8>,
);

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().map(|t| t.parse().expect("datetime"))
}

/// Ozone's rows, as our table should hold them.
pub fn ozone_rows(f: &Fixture) -> Vec<Row> {
    use base64::Engine;
    let mut rows: Vec<Row> = f
        .query
        .iter()
        .map(|l| {
            let sig = l["sig"]["$bytes"].as_str().expect("sig");
            (
                l["src"].as_str().expect("src").to_owned(),
                l["uri"].as_str().expect("uri").to_owned(),
                l["cid"].as_str().unwrap_or("").to_owned(),
                l["val"].as_str().expect("val").to_owned(),
                l["neg"].as_bool().unwrap_or(false),
                time(&l["cts"]).expect("cts"),
                time(&l["exp"]),
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(sig)
                    .expect("base64"),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// Ozone's labels in force at the dump: (src, uri, cid, val).
pub fn ozone_in_force(f: &Fixture) -> Vec<(String, String, String, String)> {
    ozone_rows(f)
        .into_iter()
        .filter(|r| !r.4 && r.6.is_none_or(|e| e > f.at))
        .map(|r| (r.0, r.1, r.2, r.3))
        .collect()
}

#[derive(diesel::Queryable)]
struct DbRow {
    src: String,
    uri: String,
    cid: String,
    val: String,
    neg: bool,
    cts: DateTime<Utc>,
    exp: Option<DateTime<Utc>>,
    sig: Vec<u8>,
}

/// Every row of our table.
pub fn table_rows(db: &TestDb) -> Vec<Row> {
    use diesel::prelude::*;
    use skyindex::schema::labels::dsl as l;
    let rows: Vec<DbRow> = l::labels
        .select((
            l::src,
            l::uri,
            l::cid,
            l::val,
            l::neg,
            l::cts,
            l::exp,
            l::sig,
        ))
        .load(&mut db.conn())
        .expect("labels");
    let mut rows: Vec<Row> = rows
        .into_iter()
        .map(|r| (r.src, r.uri, r.cid, r.val, r.neg, r.cts, r.exp, r.sig))
        .collect();
    rows.sort();
    rows
}

/// Our labels in force at `at`, through the query the README documents.
pub fn table_in_force(db: &TestDb, at: DateTime<Utc>) -> Vec<(String, String, String, String)> {
    skyindex::db::labels::in_force(&mut db.conn(), at)
        .expect("in force")
        .into_iter()
        .map(|l| (l.src, l.uri, l.cid, l.val))
        .collect()
}

/// The labeler's document with its endpoint at `endpoint`, and its key in Multikey form when
/// `multikey` (the PLC here serves the legacy form; production documents use Multikey).
pub fn document_at(f: &Fixture, endpoint: &str, multikey: bool) -> Value {
    let mut doc = f.document.clone();
    for s in doc["service"].as_array_mut().expect("service") {
        if s["id"] == "#atproto_labeler" {
            s["serviceEndpoint"] = Value::String(endpoint.to_owned());
        }
    }
    if multikey {
        for m in doc["verificationMethod"]
            .as_array_mut()
            .expect("verificationMethod")
        {
            let kind = m["type"].as_str().expect("type").to_owned();
            let text = m["publicKeyMultibase"].as_str().expect("key").to_owned();
            let key = skyindex::crypto::PublicKey::from_verification_method(&kind, &text)
                .expect("the fixture's key parses");
            m["type"] = Value::String("Multikey".into());
            m["publicKeyMultibase"] = Value::String(key.to_multikey());
        }
    }
    doc
}

/// A PLC directory on loopback serving `docs` by DID.
pub fn directory(docs: BTreeMap<String, Value>) -> HttpServer {
    let docs: BTreeMap<String, String> =
        docs.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    HttpServer::start(
        move |seen| match docs.get(seen.path.trim_start_matches('/')) {
            Some(doc) => Reply::ok(doc.clone()),
            None => Reply::status(404),
        },
    )
}

pub fn serve(frames: Vec<Vec<u8>>, options: ReplayOptions) -> ReplayServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    ReplayServer::start(
        listener,
        Arc::new(Recording::from_messages(frames)),
        options,
    )
    .expect("start replay server")
}

/// The PDS firehose recorded with the labels (the labeler's service record is in it).
pub fn firehose(options: ReplayOptions) -> ReplayServer {
    serve(common::read_capture(&dir().join("firehose.bin")), options)
}

/// A labeler on loopback: its stream, and a directory with its document pointing there.
pub struct Labeler {
    pub stream: ReplayServer,
    pub directory: HttpServer,
}

pub fn labeler(f: &Fixture, frames: Vec<Vec<u8>>, options: ReplayOptions) -> Labeler {
    let stream = serve(frames, options);
    let endpoint = format!("http://{}", stream.local_addr());
    let directory = directory(BTreeMap::from([(
        f.did.clone(),
        document_at(f, &endpoint, false),
    )]));
    Labeler { stream, directory }
}

/// `skyindex run` on `firehose` following `labelers` (DIDs or `seen`), through `plc`.
pub fn run(
    db: &TestDb,
    firehose: &ReplayServer,
    plc: &HttpServer,
    labelers: &str,
    extra: &[&str],
) -> proc::Running {
    let relay = firehose.url();
    let plc = plc.url("");
    let mut args = vec![
        "--relay",
        relay.as_str(),
        "--service",
        "firehose",
        "--labelers",
        labelers,
        "--plc-url",
        plc.as_str(),
        "--allow-private-hosts",
        "--plain-http",
        "--stats-interval",
        "1s",
    ];
    args.extend_from_slice(extra);
    proc::spawn_run(&db.url, &args)
}

pub fn cursor(db: &TestDb, service: &str) -> Option<i64> {
    skyindex::db::cursor::read(&mut db.conn(), service)
        .ok()
        .flatten()
}

/// Waits until `service`'s saved cursor reaches `seq`.
pub fn wait_for_cursor(db: &TestDb, run: &proc::Running, service: &str, seq: i64, limit: Duration) {
    let until = Instant::now() + limit;
    while cursor(db, service) < Some(seq) {
        if Instant::now() > until {
            panic!(
                "cursor of {service} stuck at {:?} (want {seq}); log:\n{}",
                cursor(db, service),
                run.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `key=value` fields of the last line holding `marker`.
pub fn fields(log: &str, marker: &str) -> BTreeMap<String, String> {
    let line = log.lines().rfind(|l| l.contains(marker)).unwrap_or("");
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// `labels_refused_by_reason=` of the closing line, as a map.
pub fn refused_by_reason(log: &str) -> BTreeMap<String, u64> {
    let f = fields(log, " totals ");
    let field = f
        .get("labels_refused_by_reason")
        .expect("labels_refused_by_reason");
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

// ---------------------------------------------------------------------------------------------
// Frames of our own, for hostile streams.

/// A labeler of our own: a DID, a key, labels signed with it.
pub struct OurLabeler {
    pub did: String,
    pub signer: Signer,
}

impl OurLabeler {
    pub fn new() -> OurLabeler {
        OurLabeler {
            did: crate::identity::support::plc(4242),
            signer: Signer::new(7),
        }
    }

    /// Its DID document, with its endpoint at `endpoint`.
    pub fn document(&self, endpoint: &str) -> Value {
        serde_json::json!({
            "id": self.did,
            "alsoKnownAs": ["at://our-labeler.test"],
            "verificationMethod": [{
                "id": "#atproto_label", "type": "Multikey", "controller": self.did,
                "publicKeyMultibase": self.signer.multikey(),
            }],
            "service": [{
                "id": "#atproto_labeler", "type": "AtprotoLabeler", "serviceEndpoint": endpoint,
            }],
        })
    }

    /// A label as a map, unsigned: `src` ours, `uri` an account, `cts` at second `t`.
    pub fn label(&self, uri: &str, val: &str, t: u32, neg: bool) -> BTreeMap<String, Ipld> {
        let mut m = BTreeMap::from([
            ("ver".to_owned(), Ipld::Integer(1)),
            ("src".to_owned(), Ipld::String(self.did.clone())),
            ("uri".to_owned(), Ipld::String(uri.to_owned())),
            ("val".to_owned(), Ipld::String(val.to_owned())),
            (
                "cts".to_owned(),
                Ipld::String(format!("2026-12-01T10:00:{:02}.000Z", t % 60)),
            ),
        ]);
        if neg {
            m.insert("neg".to_owned(), Ipld::Bool(true));
        }
        m
    }

    /// The label signed with our key.
    pub fn signed(&self, label: BTreeMap<String, Ipld>) -> Ipld {
        let bytes = serde_ipld_dagcbor::to_vec(&Ipld::Map(label)).expect("encode");
        serde_ipld_dagcbor::from_slice(&self.signer.resign(&bytes)).expect("decode")
    }
}

/// A `#labels` frame.
pub fn labels_frame(seq: i64, labels: Vec<Ipld>) -> Vec<u8> {
    let header = BTreeMap::from([
        ("op".to_owned(), Ipld::Integer(1)),
        ("t".to_owned(), Ipld::String("#labels".into())),
    ]);
    let body = BTreeMap::from([
        ("seq".to_owned(), Ipld::Integer(i128::from(seq))),
        ("labels".to_owned(), Ipld::List(labels)),
    ]);
    let mut out = serde_ipld_dagcbor::to_vec(&Ipld::Map(header)).expect("header");
    out.extend(serde_ipld_dagcbor::to_vec(&Ipld::Map(body)).expect("body"));
    out
}

/// An `#info` frame.
pub fn info_frame(name: &str, message: &str) -> Vec<u8> {
    let header = BTreeMap::from([
        ("op".to_owned(), Ipld::Integer(1)),
        ("t".to_owned(), Ipld::String("#info".into())),
    ]);
    let body = BTreeMap::from([
        ("name".to_owned(), Ipld::String(name.into())),
        ("message".to_owned(), Ipld::String(message.into())),
    ]);
    let mut out = serde_ipld_dagcbor::to_vec(&Ipld::Map(header)).expect("header");
    out.extend(serde_ipld_dagcbor::to_vec(&Ipld::Map(body)).expect("body"));
    out
}
