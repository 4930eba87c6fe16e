//! Builders for typed events as decoding makes them: records encoded as DAG-CBOR and decoded
//! again with `Record::decode` (so they pass the same validation), CIDs the CIDv1 dag-cbor
//! sha2-256 of those bytes, revs and record keys real TIDs, event times RFC 3339 strings that
//! increase with seq.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use cid::multihash::Multihash;
use cid::Cid;
use ipld_core::ipld::Ipld;
use sha2::{Digest, Sha256};
use skyindex::decode::{
    Account, AccountStatus, Commit, Identity, InvalidOp, Op, OpAction, SyncEvent, TypedEvent,
};
use skyindex::records::{self, Record, RecordError};

/// The collection of lists, our stand-in for every collection without a table of its own.
pub const LIST: &str = "app.bsky.graph.list";

/// Records' own `createdAt` unless a test sets another.
pub const CREATED_AT: &str = "2024-05-01T12:00:00.000Z";

const DAG_CBOR: u64 = 0x71;
const SHA2_256: u64 = 0x12;
const BASE32_SORTABLE: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// CIDv1, dag-cbor, sha2-256 of `bytes`: what a repo's block of these bytes is named by.
pub fn cid_of(bytes: &[u8]) -> Cid {
    let digest = Sha256::digest(bytes);
    let hash = Multihash::<64>::wrap(SHA2_256, &digest).expect("a 32-byte digest fits");
    Cid::new_v1(DAG_CBOR, hash)
}

/// The TID of `n`: 13 base32-sortable characters, most significant first, so TIDs sort as their
/// integers do. `n` must keep its top bit zero (the first character is then 2-7 or a-j).
pub fn tid(n: u64) -> String {
    assert!(n >> 63 == 0, "a TID's top bit is zero");
    (0..13)
        .map(|i| BASE32_SORTABLE[((n >> (60 - 5 * i)) & 31) as usize] as char)
        .collect()
}

/// A realistic TID for small `n`: microseconds since the epoch (late 2023) shifted past a 10-bit
/// clock id, as PDSes make them. Increases with `n`.
pub fn rev(n: u64) -> String {
    tid((1_700_000_000_000_000 + n) << 10)
}

/// A record key for small `n`, a TID like the ones PDSes mint (from another range than revs).
pub fn rkey(n: u64) -> String {
    tid((1_690_000_000_000_000 + n) << 10)
}

/// A `did:plc` DID for a short name.
pub fn did(name: &str) -> String {
    format!("did:plc:{name}")
}

/// The relay's time of the event with this seq: one second per seq from 2025-01-01.
pub fn time_of(seq: i64) -> String {
    let base: DateTime<Utc> = "2025-01-01T00:00:00Z".parse().expect("base time");
    (base + TimeDelta::seconds(seq)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The same time as the database returns it.
pub fn parse_time(t: &str) -> DateTime<Utc> {
    skyindex::syntax::parse_datetime(t).expect("a valid datetime")
}

pub fn at_uri(did: &str, collection: &str, rkey: &str) -> String {
    format!("at://{did}/{collection}/{rkey}")
}

/// A strong ref (`com.atproto.repo.strongRef`): a record by URI and CID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub uri: String,
    pub cid: String,
}

impl Ref {
    /// The ref of `rec` stored at `did`/`rec.collection`/`rkey`.
    pub fn to(did: &str, rkey: &str, rec: &Rec) -> Ref {
        Ref {
            uri: at_uri(did, &rec.collection, rkey),
            cid: rec.cid.to_string(),
        }
    }

    /// A ref to a post that never reaches the index, with a CID that could be its.
    pub fn phantom_post(did: &str, rkey: &str) -> Ref {
        Ref {
            uri: at_uri(did, records::POST, rkey),
            cid: cid_of(format!("phantom {did} {rkey}").as_bytes()).to_string(),
        }
    }

    fn ipld(&self) -> Ipld {
        map([
            ("uri", Ipld::String(self.uri.clone())),
            ("cid", Ipld::String(self.cid.clone())),
        ])
    }
}

fn map<'a>(entries: impl IntoIterator<Item = (&'a str, Ipld)>) -> Ipld {
    Ipld::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

pub fn string(s: &str) -> Ipld {
    Ipld::String(s.to_owned())
}

/// A record of a collection: its fields, its DAG-CBOR bytes, their CID, and the decoded record.
#[derive(Debug, Clone)]
pub struct Rec {
    pub collection: String,
    pub fields: BTreeMap<String, Ipld>,
    pub bytes: Vec<u8>,
    pub cid: Cid,
    pub record: Record,
}

/// Encodes `fields` (plus `$type`) as DAG-CBOR and decodes the bytes as `collection` would be.
pub fn try_record(
    collection: &str,
    mut fields: BTreeMap<String, Ipld>,
) -> (Vec<u8>, Result<Rec, RecordError>) {
    fields.insert("$type".into(), string(collection));
    let bytes = serde_ipld_dagcbor::to_vec(&Ipld::Map(fields.clone())).expect("encode DAG-CBOR");
    let result = Record::decode(collection, &bytes).map(|record| Rec {
        collection: collection.to_owned(),
        fields,
        bytes: bytes.clone(),
        cid: cid_of(&bytes),
        record,
    });
    (bytes, result)
}

/// Like [`try_record`], for records that must be valid.
pub fn record<'a>(collection: &str, fields: impl IntoIterator<Item = (&'a str, Ipld)>) -> Rec {
    let fields = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let (_, rec) = try_record(collection, fields);
    rec.unwrap_or_else(|e| panic!("test record of {collection} is valid: {e}"))
}

impl Rec {
    /// The same record with one field set (another CID, unless the value was already there).
    pub fn with(&self, key: &str, value: Ipld) -> Rec {
        let mut fields = self.fields.clone();
        fields.insert(key.to_owned(), value);
        let (_, rec) = try_record(&self.collection, fields);
        rec.unwrap_or_else(|e| panic!("test record of {} is valid: {e}", self.collection))
    }

    /// The same record with another `createdAt`.
    pub fn created_at(&self, time: &str) -> Rec {
        self.with("createdAt", string(time))
    }
}

/// `app.bsky.feed.post`, optionally a reply (to `parent`, in the thread of `root`) and optionally
/// quoting `quote` (`app.bsky.embed.record`).
pub fn post(text: &str, reply: Option<(&Ref, &Ref)>, quote: Option<&Ref>) -> Rec {
    let mut fields = vec![("text", string(text)), ("createdAt", string(CREATED_AT))];
    if let Some((parent, root)) = reply {
        fields.push((
            "reply",
            map([("root", root.ipld()), ("parent", parent.ipld())]),
        ));
    }
    if let Some(quote) = quote {
        fields.push((
            "embed",
            map([
                ("$type", string("app.bsky.embed.record")),
                ("record", quote.ipld()),
            ]),
        ));
    }
    record(records::POST, fields)
}

fn subject_ref(collection: &str, subject: &Ref) -> Rec {
    record(
        collection,
        [
            ("subject", subject.ipld()),
            ("createdAt", string(CREATED_AT)),
        ],
    )
}

fn subject_did(collection: &str, subject: &str) -> Rec {
    record(
        collection,
        [
            ("subject", string(subject)),
            ("createdAt", string(CREATED_AT)),
        ],
    )
}

pub fn like(subject: &Ref) -> Rec {
    subject_ref(records::LIKE, subject)
}

pub fn repost(subject: &Ref) -> Rec {
    subject_ref(records::REPOST, subject)
}

pub fn follow(subject: &str) -> Rec {
    subject_did(records::FOLLOW, subject)
}

pub fn block(subject: &str) -> Rec {
    subject_did(records::BLOCK, subject)
}

/// `app.bsky.actor.profile` with a display name (its key is `self`).
pub fn profile(display_name: &str) -> Rec {
    record(
        records::PROFILE,
        [
            ("displayName", string(display_name)),
            ("description", string("a test account")),
        ],
    )
}

/// A curation list (`lists`).
pub fn list(name: &str) -> Rec {
    record(
        LIST,
        [
            ("name", string(name)),
            ("purpose", string("app.bsky.graph.defs#curatelist")),
            ("createdAt", string(CREATED_AT)),
        ],
    )
}

/// A collection no lexicon of ours types, kept whole in `generic_records`.
pub const NOTE: &str = "com.example.note";

/// A record of [`NOTE`].
pub fn note(text: &str) -> Rec {
    record(
        NOTE,
        [("text", string(text)), ("createdAt", string(CREATED_AT))],
    )
}

fn op(action: OpAction, rkey: &str, rec: &Rec) -> Op {
    Op {
        action,
        collection: rec.collection.clone(),
        rkey: rkey.to_owned(),
        cid: Some(rec.cid),
        prev: None,
        record: Some(rec.record.clone()),
    }
}

pub fn create(rkey: &str, rec: &Rec) -> Op {
    op(OpAction::Create, rkey, rec)
}

pub fn update(rkey: &str, rec: &Rec) -> Op {
    op(OpAction::Update, rkey, rec)
}

pub fn delete(collection: &str, rkey: &str) -> Op {
    Op {
        action: OpAction::Delete,
        collection: collection.to_owned(),
        rkey: rkey.to_owned(),
        cid: None,
        prev: None,
        record: None,
    }
}

/// A `#commit` of `did` at rev [`rev`]`(rev)`, its time [`time_of`]`(seq)`.
pub fn commit(seq: i64, did: &str, rev: u64, ops: Vec<Op>) -> TypedEvent {
    commit_with_invalid(seq, did, rev, ops, Vec::new())
}

/// A `#commit` some of whose ops did not validate (decoding keeps them aside in `invalid`).
pub fn commit_with_invalid(
    seq: i64,
    did: &str,
    rev_n: u64,
    ops: Vec<Op>,
    invalid: Vec<InvalidOp>,
) -> TypedEvent {
    let rev = rev(rev_n);
    TypedEvent::Commit(Commit {
        seq,
        repo: did.to_owned(),
        commit: cid_of(format!("commit {did} {rev}").as_bytes()),
        rev,
        since: None,
        ops,
        invalid,
        prev_data: None,
        data: None,
        time: time_of(seq),
        too_big: false,
        rebase: false,
        blocks_len: 0,
        proof: None,
    })
}

pub fn identity(seq: i64, did: &str, time: &str, handle: Option<&str>) -> TypedEvent {
    TypedEvent::Identity(Identity {
        seq,
        did: did.to_owned(),
        time: time.to_owned(),
        handle: handle.map(str::to_owned),
        legacy: false,
    })
}

pub fn account(seq: i64, did: &str, time: &str, active: bool, status: Option<&str>) -> TypedEvent {
    TypedEvent::Account(Account {
        seq,
        did: did.to_owned(),
        time: time.to_owned(),
        active,
        status: status.map(AccountStatus::parse),
        legacy: false,
    })
}

pub fn sync(seq: i64, did: &str, rev_n: u64, time: &str) -> TypedEvent {
    TypedEvent::Sync(SyncEvent {
        seq,
        did: did.to_owned(),
        rev: rev(rev_n),
        time: time.to_owned(),
        commit: None,
        data: None,
        proof: None,
    })
}

/// A stream in the making: hands out increasing seqs (and times), and per repo increasing revs.
#[derive(Default)]
pub struct Stream {
    pub events: Vec<TypedEvent>,
    seq: i64,
    revs: HashMap<String, u64>,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    fn next_seq(&mut self) -> i64 {
        self.seq += 1;
        self.seq
    }

    fn next_rev(&mut self, did: &str) -> u64 {
        let r = self.revs.entry(did.to_owned()).or_insert(0);
        *r += 1;
        *r
    }

    /// The index of the next event pushed.
    pub fn mark(&self) -> usize {
        self.events.len()
    }

    pub fn commit(&mut self, did: &str, ops: Vec<Op>) -> &mut Stream {
        let seq = self.next_seq();
        let rev = self.next_rev(did);
        self.events.push(commit(seq, did, rev, ops));
        self
    }

    pub fn commit_with_invalid(
        &mut self,
        did: &str,
        ops: Vec<Op>,
        invalid: Vec<InvalidOp>,
    ) -> &mut Stream {
        let seq = self.next_seq();
        let rev = self.next_rev(did);
        self.events
            .push(commit_with_invalid(seq, did, rev, ops, invalid));
        self
    }

    pub fn identity(&mut self, did: &str, handle: Option<&str>) -> &mut Stream {
        let seq = self.next_seq();
        self.events.push(identity(seq, did, &time_of(seq), handle));
        self
    }

    pub fn account(&mut self, did: &str, active: bool, status: Option<&str>) -> &mut Stream {
        let seq = self.next_seq();
        self.events
            .push(account(seq, did, &time_of(seq), active, status));
        self
    }

    /// A `#sync` that jumps the repo `ahead` revs past its last.
    pub fn sync(&mut self, did: &str, ahead: u64) -> &mut Stream {
        let seq = self.next_seq();
        let r = self.revs.entry(did.to_owned()).or_insert(0);
        *r += ahead;
        let rev = *r;
        self.events.push(sync(seq, did, rev, &time_of(seq)));
        self
    }

    /// The last rev handed to `did` (as the TID the commit carries).
    pub fn rev_of(&self, did: &str) -> Option<String> {
        self.revs.get(did).map(|&n| rev(n))
    }
}

/// References to `events`, as `apply_group` takes them.
pub fn refs(events: &[TypedEvent]) -> Vec<&TypedEvent> {
    events.iter().collect()
}
