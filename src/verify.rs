//! Verification of events: every `#commit` checked against its author's current key and its own
//! proof (Sync 1.1), every `#sync` against the key, and on `#identity` the account's handle
//! checked both ways. The pipeline's decode stage runs it (each account's events in order,
//! accounts in parallel); `inspect` runs it over a capture.
//!
//! The checks themselves are pure (`repo`, `crypto`); this file finds the key (`identity`, with
//! its cache) and decides what a failure costs: a commit that fails is dropped whole and
//! counted by reason. A key that cannot be had because the PLC directory is unreachable is
//! waited for (like a database that is down, it must not turn into events lost); a did:web
//! host that fails is the account's own problem, and its commits are dropped as
//! `key_unavailable`.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use log::warn;

use crate::backoff::Backoff;
use crate::crypto::PublicKey;
use crate::decode::{Commit, Identity, OpAction, Proof, SyncEvent, TypedEvent};
use crate::identity::{Identities, ResolveError};
use crate::repo::{self, Action, CommitFrame, RepoOp, SyncFrame, VerifyError};
use crate::shutdown::sleep_unless_stopped;

/// `--verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMode {
    /// Signature, commit structure, ops against the tree, and the inversion to `prevData`.
    Full,
    /// The commit block's fields and its signature only.
    Signature,
    Off,
}

/// What verification is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifySettings {
    pub mode: VerifyMode,
    /// Check handles both ways on `#identity`.
    pub handles: bool,
}

impl VerifySettings {
    /// Whether anything here needs identities resolved.
    pub fn needs_identities(&self) -> bool {
        self.mode != VerifyMode::Off || self.handles
    }
}

/// What to do with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Checked (or nothing to check): route it.
    Accept,
    /// Failed: drop it whole, count it under `reason`, log `detail`.
    Drop {
        reason: &'static str,
        detail: String,
    },
    /// Stopping while waiting for a key: leave the event (and the rest of its batch) unrouted;
    /// the cursor has not passed it, so it is read again on restart.
    Interrupted,
}

/// Largest number of parsed keys kept; past it the map starts over (parsing is a few µs).
const MAX_KEYS: usize = 200_000;

pub struct Verifier {
    settings: VerifySettings,
    identities: Arc<Identities>,
    /// Parsed keys by `publicKeyMultibase`: decompressing a point costs more than a lookup.
    keys: Mutex<HashMap<String, Arc<PublicKey>>>,
    stop: Arc<AtomicBool>,
}

/// Why no key could be had for a DID.
enum NoKey {
    /// Stop was asked while waiting for the directory.
    Stopping,
    /// The DID has no usable `#atproto` key (not found, tombstoned, broken document, no key,
    /// an unparseable key, or its did:web host failed).
    Unusable(&'static str, String),
}

impl Verifier {
    pub fn new(
        settings: VerifySettings,
        identities: Arc<Identities>,
        stop: Arc<AtomicBool>,
    ) -> Verifier {
        Verifier {
            settings,
            identities,
            keys: Mutex::new(HashMap::new()),
            stop,
        }
    }

    /// Checks one event, rewriting an `#identity` event's handle to the verified one.
    pub fn check(&self, event: &mut TypedEvent) -> Verdict {
        match event {
            TypedEvent::Commit(c) if self.settings.mode != VerifyMode::Off => self.commit(c),
            TypedEvent::Sync(s) if self.settings.mode != VerifyMode::Off => self.sync(s),
            TypedEvent::Identity(i) => self.identity(i),
            _ => Verdict::Accept,
        }
    }

    fn commit(&self, c: &Commit) -> Verdict {
        let Some(proof) = c.proof.as_deref() else {
            return drop_with("no_blocks", "the commit carries no blocks (tooBig)".into());
        };
        let car = proof.car_slice();
        let ops = match repo_ops(proof) {
            Ok(ops) => ops,
            Err(path) => return drop_with("bad_op", format!("op {path}: unknown action")),
        };
        let frame = CommitFrame {
            repo: &c.repo,
            rev: &c.rev,
            commit: c.commit,
            blocks: &car,
            ops: &ops,
            prev_data: c.prev_data,
        };
        let now = SystemTime::now();
        let checked = match self.settings.mode {
            VerifyMode::Full => repo::verify_commit_proof(&frame, now).map(|v| v.commit),
            _ => repo::read_commit(&car, &c.commit, &c.repo, &c.rev, now),
        };
        let commit = match checked {
            Ok(commit) => commit,
            Err(e) => return failed(&e),
        };
        self.signed(&c.repo, |key| commit.verify_signature(key).is_ok())
    }

    fn sync(&self, s: &SyncEvent) -> Verdict {
        let Some(proof) = s.proof.as_deref() else {
            return drop_with("no_blocks", "the #sync carries no blocks".into());
        };
        let car = proof.car_slice();
        let frame = SyncFrame {
            did: &s.did,
            rev: &s.rev,
            blocks: &car,
        };
        let now = SystemTime::now();
        let Some(root) = car.roots.first() else {
            return drop_with("bad_commit", "the #sync slice has no root".into());
        };
        if let Err(e) = repo::read_commit(&car, root, &s.did, &s.rev, now) {
            return failed(&e);
        }
        self.signed(&s.did, |key| repo::verify_sync(&frame, key, now).is_ok())
    }

    /// Checks a signature with the account's key; if it fails, fetches the account's document
    /// once more (its key may have been rotated) and checks again.
    fn signed(&self, did: &str, verifies: impl Fn(&PublicKey) -> bool) -> Verdict {
        let key = match self.key(did, false) {
            Ok(key) => key,
            Err(NoKey::Stopping) => return Verdict::Interrupted,
            Err(NoKey::Unusable(reason, detail)) => return drop_with(reason, detail),
        };
        if verifies(&key) {
            return Verdict::Accept;
        }
        match self.key(did, true) {
            Ok(fresh) if verifies(&fresh) => Verdict::Accept,
            Ok(_) => drop_with(
                "bad_signature",
                "the signature does not verify with the account's current key".into(),
            ),
            Err(NoKey::Stopping) => Verdict::Interrupted,
            Err(NoKey::Unusable(reason, detail)) => drop_with(reason, detail),
        }
    }

    /// The account's `#atproto` key, from the cache or the network; `refresh` asks for a fresh
    /// document (at most once per refresh interval per account).
    fn key(&self, did: &str, refresh: bool) -> Result<Arc<PublicKey>, NoKey> {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        let doc = loop {
            let got = if refresh {
                self.identities.refresh(did)
            } else {
                self.identities.document(did)
            };
            match got {
                Ok(doc) => break doc,
                Err(e) if e.is_definite() => {
                    return Err(NoKey::Unusable("no_key", e.to_string()));
                }
                // A did:web host is the account's own; its failure is not ours to wait out.
                Err(e) if did.starts_with("did:web:") => {
                    return Err(NoKey::Unusable("key_unavailable", e.to_string()));
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    warn_waiting(did, &e, wait, backoff.attempts());
                    if !sleep_unless_stopped(wait, &self.stop) {
                        return Err(NoKey::Stopping);
                    }
                }
            }
        };
        let Some(key) = &doc.signing_key else {
            return Err(NoKey::Unusable(
                "no_key",
                format!("{did}: the DID document has no #atproto key"),
            ));
        };
        if let Some(parsed) = self.cached_key(&key.multibase) {
            return Ok(parsed);
        }
        let parsed = PublicKey::from_verification_method(&key.kind, &key.multibase)
            .map(Arc::new)
            .map_err(|e| NoKey::Unusable("bad_key", format!("{did}: #atproto key: {e}")))?;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        keys.insert(key.multibase.clone(), parsed.clone());
        Ok(parsed)
    }

    fn cached_key(&self, multibase: &str) -> Option<Arc<PublicKey>> {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(multibase)
            .cloned()
    }

    /// `#identity`: forget what we knew of the account (its key or handle may have changed);
    /// with handle checks on, replace the asserted handle with the verified one, or with
    /// `handle.invalid`.
    fn identity(&self, i: &mut Identity) -> Verdict {
        self.identities.purge(&i.did);
        if !self.settings.handles {
            return Verdict::Accept;
        }
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        loop {
            match self.identities.identity(&i.did) {
                Ok(identity) => {
                    i.handle = Some(identity.handle().to_owned());
                    return Verdict::Accept;
                }
                Err(e) if e.is_definite() || i.did.starts_with("did:web:") => {
                    i.handle = Some(crate::identity::handle::INVALID_HANDLE.to_owned());
                    return Verdict::Accept;
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    warn_waiting(&i.did, &e, wait, backoff.attempts());
                    if !sleep_unless_stopped(wait, &self.stop) {
                        return Verdict::Interrupted;
                    }
                }
            }
        }
    }
}

fn warn_waiting(did: &str, e: &ResolveError, wait: Duration, attempt: u32) {
    warn!(
        "identity of did={did} unavailable ({e}); retry {attempt} in {} ms",
        wait.as_millis()
    );
}

fn drop_with(reason: &'static str, detail: String) -> Verdict {
    Verdict::Drop { reason, detail }
}

fn failed(e: &VerifyError) -> Verdict {
    drop_with(e.reason(), e.to_string())
}

/// The frame's ops as the verifier reads them; the path of the first op with an action the
/// lexicon does not name, if any.
fn repo_ops(proof: &Proof) -> Result<Vec<RepoOp<'_>>, String> {
    proof
        .ops
        .iter()
        .map(|op| {
            let action = match op.action {
                Some(OpAction::Create) => Action::Create,
                Some(OpAction::Update) => Action::Update,
                Some(OpAction::Delete) => Action::Delete,
                None => return Err(op.path.chars().take(200).collect()),
            };
            Ok(RepoOp {
                action,
                path: &op.path,
                cid: op.cid,
                prev: op.prev,
            })
        })
        .collect()
}
