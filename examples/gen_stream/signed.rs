//! Signed mode (`gen_stream --signed DIR`): every account has a secp256k1 key derived from its
//! index and a real Merkle Search Tree, so every `#commit` carries a true Sync 1.1 proof and a
//! signature `--verify full` accepts, and every `#sync` is signed too.
//!
//! The trees are the crate's own ([`skyindex::repo::Tree`]), not a second MST: each account
//! keeps its tree's node blocks by digest; a commit loads the tree partially from them, applies
//! its ops, and the nodes the tree then holds in memory (the paths the ops walked, the spines
//! splits and merges touched) are the proof. Nodes the commit replaced are dropped, so memory
//! follows the trees' size, not the stream's length.
//!
//! The generator's ops are written without knowing the tree (deletes of records from before
//! the stream with made-up CIDs, updates of records that may not exist), so here they are made
//! true to it: an update of an absent record becomes a create, a create of a present one an
//! update, `prev` is always the tree's value, and a delete of an absent record is moved to a
//! record the account really has (or dropped if it has none).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use cid::Cid;
use skyindex::repo::{BlockSource, Commit, KeyRule, MstError, NoBlocks, Tree, REPO_VERSION};

use super::content::{self, Coll, COLLS};
use super::enc::{self, Digest32, Rng};
use super::{Action, OpMeta, START_MICROS};

/// Records an account had before the stream: mean of the exponential draw, and the cap.
const SEED_RECORDS_MEAN: f64 = 40.0;
const SEED_RECORDS_MAX: u64 = 600;

/// An account's signing key: the same for every seed, like its DID, so one set of documents
/// serves every capture.
pub fn secret_key(index: u32) -> secp256k1::SecretKey {
    let mut counter = 0u32;
    loop {
        let mut input = b"skyindex gen_stream account key ".to_vec();
        input.extend_from_slice(&index.to_be_bytes());
        input.extend_from_slice(&counter.to_be_bytes());
        // All but a 2^-128 share of digests are valid keys; the loop is for form's sake.
        if let Ok(key) = secp256k1::SecretKey::from_secret_bytes(enc::sha256(&input)) {
            return key;
        }
        counter += 1;
    }
}

/// The account's public key as a DID document's `publicKeyMultibase`, through the crate's own
/// Multikey encoder.
pub fn multikey(index: u32) -> String {
    let public = secp256k1::PublicKey::from_secret_key(&secret_key(index)).serialize();
    skyindex::crypto::PublicKey::from_sec1(skyindex::crypto::Curve::K256, &public)
        .expect("a point libsecp256k1 made parses")
        .to_multikey()
}

/// A PLC-style DID document: the `#atproto` key, the PDS, the handle.
pub fn document(did: &str, handle: &str, index: u32) -> serde_json::Value {
    serde_json::json!({
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
            "https://w3id.org/security/suites/secp256k1-2019/v1"
        ],
        "id": did,
        "alsoKnownAs": [format!("at://{handle}")],
        "verificationMethod": [{
            "id": format!("{did}#atproto"),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": multikey(index),
        }],
        "service": [{
            "id": "#atproto_pds",
            "type": "AtprotoPersonalDataServer",
            "serviceEndpoint": "https://pds.example.com",
        }],
    })
}

/// The signed commit block `{did, rev, sig, data, prev: null, version: 3}`, encoded by the
/// crate's own commit code (what the verifier re-encodes and checks).
pub fn signed_commit(index: u32, did: &str, rev: &str, data: &Digest32) -> Vec<u8> {
    let mut commit = Commit {
        did: did.to_owned(),
        version: REPO_VERSION,
        data: cid_of(data),
        rev: rev.to_owned(),
        prev: None,
        sig: Vec::new(),
    };
    let digest = enc::sha256(&commit.unsigned_bytes());
    // libsecp256k1 signs deterministically (RFC 6979) and always low-S.
    let sig = secret_key(index).sign_ecdsa(secp256k1::Message::from_digest(digest));
    commit.sig = sig.serialize_compact().to_vec();
    commit.signed_bytes()
}

pub fn cid_of(digest: &Digest32) -> Cid {
    let mh = cid::multihash::Multihash::wrap(0x12, digest).expect("32 bytes fit");
    Cid::new_v1(u64::from(enc::CODEC_DAG_CBOR), mh)
}

pub fn digest_of(cid: &Cid) -> Digest32 {
    cid.hash()
        .digest()
        .try_into()
        .expect("the generator's CIDs are sha-256")
}

pub fn path(coll: Coll, rkey: u64) -> String {
    let k = content::rkey_bytes(rkey);
    // TIDs and `self` are ASCII.
    format!("{}/{}", coll.nsid(), String::from_utf8_lossy(k.as_bytes()))
}

/// One account's repository.
pub struct Repo {
    /// Every node of its tree, by digest.
    nodes: HashMap<Digest32, Vec<u8>>,
    root: Digest32,
    /// The records in the tree, for deletes to pick from.
    live: Vec<(Coll, u64, Digest32)>,
}

/// The node store as a [`BlockSource`], noting which nodes a commit read (the candidates for
/// replacement).
struct Store<'a> {
    nodes: &'a HashMap<Digest32, Vec<u8>>,
    read: RefCell<Vec<Digest32>>,
}

impl BlockSource for Store<'_> {
    fn block(&self, cid: &Cid) -> Result<Option<std::borrow::Cow<'_, [u8]>>, MstError> {
        let Ok(d) = <Digest32>::try_from(cid.hash().digest()) else {
            return Ok(None);
        };
        let found = self
            .nodes
            .get(&d)
            .map(|v| std::borrow::Cow::Borrowed(v.as_slice()));
        if found.is_some() {
            self.read.borrow_mut().push(d);
        }
        Ok(found)
    }
}

/// What applying a commit's ops did.
pub struct Applied {
    pub prev_data: Digest32,
    pub data: Digest32,
    /// The proof: the new tree's nodes the ops touched, as (digest, bytes).
    pub nodes: Vec<(Digest32, Vec<u8>)>,
}

impl Repo {
    /// The empty repository of a new account.
    pub fn empty() -> Repo {
        let mut repo = Repo {
            nodes: HashMap::new(),
            root: [0; 32],
            live: Vec::new(),
        };
        let mut tree = Tree::empty(&NoBlocks, KeyRule::RepoPath);
        let (root, held) = holding(&mut tree);
        repo.store(root, &held, &[]);
        repo
    }

    /// A repository with records from before the stream: `profile` and `chat` are the
    /// generator's own idea of whether they exist.
    pub fn seeded(rng: &mut Rng, clock: u16, profile: Option<Digest32>, chat: bool) -> Repo {
        let mut repo = Repo {
            nodes: HashMap::new(),
            root: [0; 32],
            live: Vec::new(),
        };
        let mut tree = Tree::empty(&NoBlocks, KeyRule::RepoPath);
        let mut add = |tree: &mut Tree<'_, NoBlocks>, coll: Coll, rkey: u64, value: Digest32| {
            let fresh = tree
                .insert(path(coll, rkey).as_bytes(), cid_of(&value))
                .expect("a valid key")
                .is_none();
            if fresh {
                repo.live.push((coll, rkey, value));
            }
        };
        if let Some(p) = profile {
            add(&mut tree, Coll::Profile, 0, p);
        }
        if chat {
            add(&mut tree, Coll::ChatDeclaration, 0, rng.digest());
        }
        let n = (rng.exp(SEED_RECORDS_MEAN) as u64).min(SEED_RECORDS_MAX) + 2;
        for _ in 0..n {
            let coll = COLLS[rng.weighted(&[70.0, 11.0, 10.0, 6.0, 1.0, 0.1])];
            let us = START_MICROS - rng.below(600 * 86_400_000_000);
            add(&mut tree, coll, enc::tid_of(us, clock), rng.digest());
        }
        let (root, held) = holding(&mut tree);
        repo.store(root, &held, &[]);
        repo
    }

    pub fn root(&self) -> Digest32 {
        self.root
    }

    /// A node of the current tree (for a proof that turned out to need one more).
    pub fn node(&self, digest: &Digest32) -> Option<&[u8]> {
        self.nodes.get(digest).map(Vec::as_slice)
    }

    /// Makes `ops` true to the tree (see the module's comment) and applies them.
    pub(super) fn apply(&mut self, ops: &mut Vec<OpMeta>, rng: &mut Rng) -> Applied {
        let prev_data = self.root;
        let store = Store {
            nodes: &self.nodes,
            read: RefCell::new(Vec::new()),
        };
        let mut tree =
            Tree::load(&store, cid_of(&self.root), KeyRule::RepoPath).expect("our own root");
        // Paths the generator chose, which a moved delete must not take.
        let named: HashSet<(usize, u64)> = ops.iter().map(|o| (o.coll.index(), o.rkey)).collect();
        let mut done: HashSet<(usize, u64)> = HashSet::new();
        let mut kept = Vec::with_capacity(ops.len());
        for mut op in ops.drain(..) {
            if op.action == Action::Delete {
                let here = tree
                    .get(path(op.coll, op.rkey).as_bytes())
                    .expect("a valid key");
                if here.is_none() || done.contains(&(op.coll.index(), op.rkey)) {
                    let Some((coll, rkey, _)) = pick(&self.live, rng, &named, &done) else {
                        continue;
                    };
                    (op.coll, op.rkey) = (coll, rkey);
                }
            }
            if !done.insert((op.coll.index(), op.rkey)) {
                continue;
            }
            let key = path(op.coll, op.rkey);
            let here = tree.get(key.as_bytes()).expect("a valid key");
            op.prev = here.as_ref().map(digest_of);
            let at = self
                .live
                .iter()
                .position(|&(c, r, _)| c == op.coll && r == op.rkey);
            match op.cid {
                Some(value) => {
                    op.action = if here.is_some() {
                        Action::Update
                    } else {
                        Action::Create
                    };
                    tree.insert(key.as_bytes(), cid_of(&value))
                        .expect("a valid key");
                    match at {
                        Some(i) => self.live[i].2 = value,
                        None => self.live.push((op.coll, op.rkey, value)),
                    }
                }
                None => {
                    tree.remove(key.as_bytes()).expect("a valid key");
                    if let Some(i) = at {
                        self.live.swap_remove(i);
                    }
                }
            }
            kept.push(op);
        }
        *ops = kept;
        let (root, nodes) = holding(&mut tree);
        drop(tree);
        let read = store.read.take();
        self.store(root, &nodes, &read);
        Applied {
            prev_data,
            data: self.root,
            nodes,
        }
    }

    /// Makes `root` ours and stores `held`; of the nodes `read` before, those no longer in
    /// the tree are dropped.
    fn store(&mut self, root: Digest32, held: &[(Digest32, Vec<u8>)], read: &[Digest32]) {
        self.root = root;
        let kept: HashSet<&Digest32> = held.iter().map(|(d, _)| d).collect();
        for d in read {
            if !kept.contains(d) {
                self.nodes.remove(d);
            }
        }
        for (d, bytes) in held {
            self.nodes.entry(*d).or_insert_with(|| bytes.clone());
        }
    }
}

/// The root of `tree` and the nodes it holds in memory.
fn holding<S: BlockSource + ?Sized>(
    tree: &mut Tree<'_, S>,
) -> (Digest32, Vec<(Digest32, Vec<u8>)>) {
    let root = digest_of(&tree.root_cid());
    let held = tree
        .node_blocks()
        .into_iter()
        .map(|(cid, bytes)| (digest_of(&cid), bytes))
        .collect();
    (root, held)
}

/// A record of the account no op of this commit names or has touched.
fn pick(
    live: &[(Coll, u64, Digest32)],
    rng: &mut Rng,
    named: &HashSet<(usize, u64)>,
    done: &HashSet<(usize, u64)>,
) -> Option<(Coll, u64, Digest32)> {
    if live.is_empty() {
        return None;
    }
    for _ in 0..8 {
        let e = live[rng.below(live.len() as u64) as usize];
        let k = (e.0.index(), e.1);
        if !named.contains(&k) && !done.contains(&k) {
            return Some(e);
        }
    }
    None
}
