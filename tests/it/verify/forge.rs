//! Forged frames made from real ones: the body as an IPLD value to edit, the CAR slice taken
//! apart and put back together, commit blocks re-signed with a key of our own. What a relay or
//! a man in the middle could send; what verification must catch.

use std::collections::BTreeMap;

use cid::Cid;
use ipld_core::ipld::Ipld;
use sha2::{Digest, Sha256};
use skyindex::ipld::CarSlice;

/// A frame split into its header bytes and its body as a value.
pub struct Frame {
    pub header: Vec<u8>,
    pub body: BTreeMap<String, Ipld>,
}

pub fn parse(frame: &[u8]) -> Frame {
    let n = skyindex::ipld::cbor::validate_item(frame).expect("header");
    let body: Ipld = serde_ipld_dagcbor::from_slice(&frame[n..]).expect("body");
    let Ipld::Map(body) = body else {
        panic!("body is not a map")
    };
    Frame {
        header: frame[..n].to_vec(),
        body,
    }
}

impl Frame {
    pub fn t(&self) -> String {
        serde_ipld_dagcbor::from_slice::<BTreeMap<String, Ipld>>(&self.header)
            .ok()
            .and_then(|h| match h.get("t") {
                Some(Ipld::String(t)) => Some(t.clone()),
                _ => None,
            })
            .unwrap_or_default()
    }

    pub fn text(&self, key: &str) -> String {
        match self.body.get(key) {
            Some(Ipld::String(s)) => s.clone(),
            _ => String::new(),
        }
    }

    pub fn seq(&self) -> i64 {
        match self.body.get("seq") {
            Some(Ipld::Integer(n)) => *n as i64,
            _ => -1,
        }
    }

    pub fn ops(&self) -> Vec<BTreeMap<String, Ipld>> {
        match self.body.get("ops") {
            Some(Ipld::List(ops)) => ops
                .iter()
                .filter_map(|o| match o {
                    Ipld::Map(m) => Some(m.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn blocks(&self) -> Car {
        match self.body.get("blocks") {
            Some(Ipld::Bytes(b)) => Car::parse(b),
            _ => panic!("no blocks"),
        }
    }

    pub fn set_blocks(&mut self, car: &Car) {
        self.body
            .insert("blocks".into(), Ipld::Bytes(car.to_bytes()));
    }

    /// The frame again, body in canonical DAG-CBOR (checked by our own strict validator).
    pub fn encode(&self) -> Vec<u8> {
        let body = serde_ipld_dagcbor::to_vec(&Ipld::Map(self.body.clone())).expect("encode");
        skyindex::ipld::cbor::validate_exact(&body).expect("forged body is canonical");
        let mut out = self.header.clone();
        out.extend_from_slice(&body);
        out
    }
}

/// A CAR slice as owned blocks, in order.
pub struct Car {
    pub roots: Vec<Cid>,
    pub blocks: Vec<(Cid, Vec<u8>)>,
}

impl Car {
    pub fn parse(bytes: &[u8]) -> Car {
        let car = CarSlice::parse(bytes).expect("car");
        Car {
            roots: car.roots.clone(),
            blocks: car
                .blocks
                .iter()
                .map(|b| (b.cid, b.data.to_vec()))
                .collect(),
        }
    }

    pub fn get(&self, cid: &Cid) -> Option<&[u8]> {
        self.blocks
            .iter()
            .find(|(c, _)| c == cid)
            .map(|(_, d)| d.as_slice())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let roots: Vec<Ipld> = self.roots.iter().map(|c| Ipld::Link(*c)).collect();
        let header = Ipld::Map(BTreeMap::from([
            ("roots".to_owned(), Ipld::List(roots)),
            ("version".to_owned(), Ipld::Integer(1)),
        ]));
        let header = serde_ipld_dagcbor::to_vec(&header).expect("car header");
        let mut out = Vec::new();
        varint(&mut out, header.len() as u64);
        out.extend_from_slice(&header);
        for (cid, data) in &self.blocks {
            let cid_bytes = cid.to_bytes();
            varint(&mut out, (cid_bytes.len() + data.len()) as u64);
            out.extend_from_slice(&cid_bytes);
            out.extend_from_slice(data);
        }
        out
    }
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The dag-cbor CID of `bytes`.
pub fn cid_of(bytes: &[u8]) -> Cid {
    let digest = Sha256::digest(bytes);
    let hash = cid::multihash::Multihash::wrap(0x12, &digest).expect("multihash");
    Cid::new_v1(0x71, hash)
}

/// A secp256k1 key of our own.
pub struct Signer(secp256k1::SecretKey);

impl Signer {
    pub fn new(seed: u8) -> Signer {
        let mut bytes = [0u8; 32];
        bytes[31] = seed;
        bytes[0] = 0x42;
        Signer(secp256k1::SecretKey::from_secret_bytes(bytes).expect("secret key"))
    }

    /// The public key as a DID document's Multikey.
    pub fn multikey(&self) -> String {
        let public = secp256k1::PublicKey::from_secret_key(&self.0).serialize();
        skyindex::crypto::PublicKey::from_sec1(skyindex::crypto::Curve::K256, &public)
            .expect("our key parses")
            .to_multikey()
    }

    /// Re-signs a commit block: the same fields, `sig` replaced by ours over the unsigned map.
    pub fn resign(&self, commit_block: &[u8]) -> Vec<u8> {
        let Ipld::Map(mut commit) = serde_ipld_dagcbor::from_slice(commit_block).expect("commit")
        else {
            panic!("commit is not a map")
        };
        commit.remove("sig");
        let unsigned = serde_ipld_dagcbor::to_vec(&Ipld::Map(commit.clone())).expect("unsigned");
        let digest: [u8; 32] = Sha256::digest(&unsigned).into();
        let sig = self
            .0
            .sign_ecdsa(secp256k1::Message::from_digest(digest))
            .serialize_compact();
        commit.insert("sig".into(), Ipld::Bytes(sig.to_vec()));
        serde_ipld_dagcbor::to_vec(&Ipld::Map(commit)).expect("signed")
    }
}

/// Re-signs a `#commit` or `#sync` frame's commit block with `signer`, fixing the CAR root and
/// the frame's `commit` link to the block's new CID.
pub fn resign_frame(frame: &[u8], signer: &Signer) -> Vec<u8> {
    replace_commit_block(frame, |block| signer.resign(block))
}

/// Flips the lowest bit of byte `at` of a `#commit` or `#sync` frame's signature, the commit
/// block otherwise intact (and its CID fixed wherever it is named): only the signature check
/// can tell.
pub fn flip_signature_bit(frame: &[u8], at: usize) -> Vec<u8> {
    replace_commit_block(frame, |block| {
        let Ipld::Map(mut commit) = serde_ipld_dagcbor::from_slice(block).expect("commit") else {
            panic!("commit is not a map")
        };
        let Some(Ipld::Bytes(sig)) = commit.get_mut("sig") else {
            panic!("commit without sig")
        };
        sig[at] ^= 1;
        serde_ipld_dagcbor::to_vec(&Ipld::Map(commit)).expect("commit")
    })
}

/// Replaces a frame's commit block with `change(block)`, fixing the CAR root and the frame's
/// `commit` link to the block's new CID.
fn replace_commit_block(frame: &[u8], change: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut f = parse(frame);
    let mut car = f.blocks();
    let old = car.roots[0];
    let block = car.get(&old).expect("commit block").to_vec();
    let signed = change(&block);
    let new = cid_of(&signed);
    for (cid, data) in car.blocks.iter_mut() {
        if *cid == old {
            *cid = new;
            *data = signed.clone();
        }
    }
    car.roots = vec![new];
    f.set_blocks(&car);
    if f.body.contains_key("commit") {
        f.body.insert("commit".into(), Ipld::Link(new));
    }
    f.encode()
}

/// Adds a create op of a new like (its record block in the slice) to a real commit, leaving
/// the signed commit block and the tree alone: the signature still verifies, the proof cannot.
/// Returns the frame and the forged like's AT-URI.
pub fn add_forged_like(frame: &[u8], subject_uri: &str, subject_cid: &str) -> (Vec<u8>, String) {
    let mut f = parse(frame);
    let repo = f.text("repo");
    let record = Ipld::Map(BTreeMap::from([
        (
            "$type".to_owned(),
            Ipld::String("app.bsky.feed.like".into()),
        ),
        (
            "createdAt".to_owned(),
            Ipld::String("2026-01-01T00:00:00.000Z".into()),
        ),
        (
            "subject".to_owned(),
            Ipld::Map(BTreeMap::from([
                ("cid".to_owned(), Ipld::String(subject_cid.to_owned())),
                ("uri".to_owned(), Ipld::String(subject_uri.to_owned())),
            ])),
        ),
    ]));
    let bytes = serde_ipld_dagcbor::to_vec(&record).expect("like");
    let cid = cid_of(&bytes);
    let rkey = "3zzzzzzzzzzz2";
    let path = format!("app.bsky.feed.like/{rkey}");
    let mut car = f.blocks();
    car.blocks.push((cid, bytes));
    f.set_blocks(&car);
    let mut ops = f.ops();
    ops.push(BTreeMap::from([
        ("action".to_owned(), Ipld::String("create".into())),
        ("cid".to_owned(), Ipld::Link(cid)),
        ("path".to_owned(), Ipld::String(path.clone())),
        ("prev".to_owned(), Ipld::Null),
    ]));
    f.body.insert(
        "ops".into(),
        Ipld::List(ops.into_iter().map(Ipld::Map).collect()),
    );
    (f.encode(), format!("at://{repo}/{path}"))
}

/// Replaces a commit's `prevData` (which the signature does not cover) with another CID: only
/// the inversion can tell.
pub fn wrong_prev_data(frame: &[u8]) -> Vec<u8> {
    let mut f = parse(frame);
    let other = cid_of(b"not the tree before this commit");
    f.body.insert("prevData".into(), Ipld::Link(other));
    f.encode()
}
