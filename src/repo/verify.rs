//! Verification of a `#commit` frame as Sync 1.1 defines it, and of a `#sync` frame: the
//! signed commit block (its fields against the frame's, its rev not from the future, its
//! signature), then the ops against the partial tree in the CAR slice (creates and updates
//! present with their CID and their record block, deletes absent), then the ops undone on that
//! partial tree, whose root must be the frame's `prevData`.
//!
//! The cheap checks run before the signature, so a malformed frame costs microseconds. A frame
//! without `prevData` (pre-Sync-1.1) is not an error: it comes back as
//! [`Proof::LegacyNoPrevData`], its ops checked forwards only.

use std::time::SystemTime;

use cid::Cid;

use super::blocks::BlockSource;
use super::commit::{Commit, REPO_VERSION};
use super::error::{CommitError, VerifyError};
use super::key::{height, KeyRule};
use super::ops::{check_ops, inversion_order, Action, RepoOp};
use super::rev::seconds_in_future;
use super::tree::Tree;
use crate::crypto::PublicKey;
use crate::ipld::car::CarSlice;

/// What a `#commit` frame claims, as the verifier needs it.
#[derive(Debug, Clone, Copy)]
pub struct CommitFrame<'a> {
    /// The frame's `repo`.
    pub repo: &'a str,
    pub rev: &'a str,
    /// The frame's `commit` CID.
    pub commit: Cid,
    /// The frame's CAR slice (`blocks`), parsed.
    pub blocks: &'a CarSlice<'a>,
    pub ops: &'a [RepoOp<'a>],
    pub prev_data: Option<Cid>,
}

/// What a `#sync` frame claims.
#[derive(Debug, Clone, Copy)]
pub struct SyncFrame<'a> {
    pub did: &'a str,
    pub rev: &'a str,
    pub blocks: &'a CarSlice<'a>,
}

/// How far a commit's ops were proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// Undoing the ops on the partial tree gave `prevData`: the commit is exactly these ops.
    Inverted,
    /// No `prevData` (a pre-Sync-1.1 commit): the ops were checked against the new tree only.
    LegacyNoPrevData,
}

impl Proof {
    pub fn reason(self) -> &'static str {
        match self {
            Proof::Inverted => "inverted",
            Proof::LegacyNoPrevData => "legacy_no_prev_data",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub commit: Commit,
    pub proof: Proof,
}

/// Verifies a `#commit` frame completely, signature with `key` included.
pub fn verify_commit(
    frame: &CommitFrame<'_>,
    key: &PublicKey,
    now: SystemTime,
) -> Result<Verified, VerifyError> {
    let verified = verify_commit_proof(frame, now)?;
    verified
        .commit
        .verify_signature(key)
        .map_err(VerifyError::BadSignature)?;
    Ok(verified)
}

/// Everything [`verify_commit`] checks except the signature: for when the account's key is not
/// known (yet). Proves the frame self-consistent, not who made it.
pub fn verify_commit_proof(
    frame: &CommitFrame<'_>,
    now: SystemTime,
) -> Result<Verified, VerifyError> {
    let root = frame.blocks.roots.first().copied();
    if root != Some(frame.commit) {
        return Err(VerifyError::WrongCommit {
            frame: Box::new(frame.commit),
            root: Box::new(root.unwrap_or(frame.commit)),
        });
    }
    // A damaged block is a damaged frame, even one no check below would read.
    if let Some(bad) = frame.blocks.bad_blocks().next() {
        return Err(VerifyError::BadBlock {
            what: "CAR slice",
            cid: bad.cid,
        });
    }
    let commit = read_commit(frame.blocks, &frame.commit, frame.repo, frame.rev, now)?;
    check_ops(frame.ops)?;
    let mut tree =
        Tree::load(frame.blocks, commit.data, KeyRule::RepoPath).map_err(VerifyError::from_tree)?;
    check_forward(&mut tree, frame.blocks, frame.ops)?;
    let Some(prev_data) = frame.prev_data else {
        return Ok(Verified {
            commit,
            proof: Proof::LegacyNoPrevData,
        });
    };
    invert(&mut tree, frame.ops)?;
    let computed = tree.root_cid();
    if computed != prev_data {
        return Err(VerifyError::BadProof {
            computed: Box::new(computed),
            prev_data: Box::new(prev_data),
        });
    }
    Ok(Verified {
        commit,
        proof: Proof::Inverted,
    })
}

/// Verifies a `#sync` frame: its commit block (the CAR root) names the frame's DID and rev and
/// is signed by `key`. Returns the commit, whose `data` is the repo's root from now on.
pub fn verify_sync(
    frame: &SyncFrame<'_>,
    key: &PublicKey,
    now: SystemTime,
) -> Result<Commit, VerifyError> {
    let Some(root) = frame.blocks.roots.first().copied() else {
        return Err(VerifyError::BadCommit(CommitError::Shape(
            "CAR slice has no root".into(),
        )));
    };
    let commit = read_commit(frame.blocks, &root, frame.did, frame.rev, now)?;
    commit
        .verify_signature(key)
        .map_err(VerifyError::BadSignature)?;
    Ok(commit)
}

/// The commit block at `cid`, decoded strictly and matched against the frame's DID and rev.
pub fn read_commit(
    blocks: &CarSlice<'_>,
    cid: &Cid,
    did: &str,
    rev: &str,
    now: SystemTime,
) -> Result<Commit, VerifyError> {
    let bytes = match blocks.block(cid) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Err(VerifyError::MissingBlock {
                what: "commit",
                cid: *cid,
            })
        }
        Err(_) => {
            return Err(VerifyError::BadBlock {
                what: "commit",
                cid: *cid,
            })
        }
    };
    let commit = Commit::decode(&bytes).map_err(|e| match e {
        CommitError::Version(v) => VerifyError::BadVersion(v),
        other => VerifyError::BadCommit(other),
    })?;
    debug_assert_eq!(commit.version, REPO_VERSION);
    if commit.did != did {
        return Err(VerifyError::WrongDid {
            frame: did.chars().take(256).collect(),
            commit: commit.did.clone(),
        });
    }
    if commit.rev != rev {
        return Err(VerifyError::WrongRev {
            frame: rev.chars().take(64).collect(),
            commit: commit.rev.clone(),
        });
    }
    if let Some(ahead_secs) = seconds_in_future(&commit.rev, now) {
        return Err(VerifyError::FutureRev {
            rev: commit.rev.clone(),
            ahead_secs,
        });
    }
    Ok(commit)
}

fn mismatch(op: &RepoOp<'_>, reason: &'static str) -> VerifyError {
    VerifyError::OpMismatch {
        path: op.path.to_owned(),
        reason,
    }
}

/// An op's path as a key the tree accepts, with its height, computed once per op.
fn checked_key<'o, S: BlockSource + ?Sized>(
    tree: &Tree<'_, S>,
    op: &RepoOp<'o>,
) -> Result<(&'o [u8], u8), VerifyError> {
    let key = op.path.as_bytes();
    tree.rule().check(key).map_err(|_| VerifyError::BadOp {
        path: op.path.chars().take(200).collect(),
        reason: "path is not a key of this tree",
    })?;
    Ok((key, height(key)))
}

/// Creates and updates are in the new tree with their CID and their record is in the slice;
/// deletes are not in the new tree.
pub fn check_forward<S: BlockSource + ?Sized>(
    tree: &mut Tree<'_, S>,
    blocks: &S,
    ops: &[RepoOp<'_>],
) -> Result<(), VerifyError> {
    for op in ops {
        let (key, h) = checked_key(tree, op)?;
        let found = tree.get_valid(key, h).map_err(VerifyError::from_tree)?;
        match (op.action, op.cid) {
            (Action::Create | Action::Update, Some(cid)) => {
                if found != Some(cid) {
                    return Err(mismatch(
                        op,
                        if found.is_none() {
                            "path is not in the new tree"
                        } else {
                            "tree value is not the op's cid"
                        },
                    ));
                }
                match blocks.block(&cid) {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Err(VerifyError::MissingBlock {
                            what: "record",
                            cid,
                        })
                    }
                    Err(_) => {
                        return Err(VerifyError::BadBlock {
                            what: "record",
                            cid,
                        })
                    }
                }
            }
            (Action::Delete, _) => {
                if found.is_some() {
                    return Err(mismatch(op, "deleted path is still in the new tree"));
                }
            }
            (_, None) => return Err(mismatch(op, "op without cid")),
        }
    }
    Ok(())
}

/// Undoes the ops on the tree, checking each against what the tree held.
pub fn invert<S: BlockSource + ?Sized>(
    tree: &mut Tree<'_, S>,
    ops: &[RepoOp<'_>],
) -> Result<(), VerifyError> {
    let no_prev = |op: &RepoOp<'_>| VerifyError::BadOp {
        path: op.path.to_owned(),
        reason: "update or delete without prev in a commit with prevData",
    };
    let order = inversion_order(ops);
    let mut keys = Vec::with_capacity(order.len());
    for op in &order {
        keys.push(checked_key(tree, op)?);
    }
    for (op, &(key, h)) in order.iter().zip(&keys) {
        match op.action {
            Action::Create => {
                let removed = tree.remove_valid(key, h).map_err(VerifyError::from_tree)?;
                if removed != op.cid {
                    return Err(mismatch(op, "created path did not hold the op's cid"));
                }
            }
            Action::Update => {
                let prev = op.prev.ok_or_else(|| no_prev(op))?;
                let replaced = tree
                    .insert_valid(key, h, prev)
                    .map_err(VerifyError::from_tree)?;
                if replaced != op.cid {
                    return Err(mismatch(op, "updated path did not hold the op's cid"));
                }
            }
            Action::Delete => {
                let prev = op.prev.ok_or_else(|| no_prev(op))?;
                let replaced = tree
                    .insert_valid(key, h, prev)
                    .map_err(VerifyError::from_tree)?;
                if replaced.is_some() {
                    return Err(mismatch(op, "deleted path was in the new tree"));
                }
            }
        }
    }
    // Each undone update and delete left its prev in place; nothing undone later moved it.
    for (op, &(key, h)) in order.iter().zip(&keys) {
        if op.action == Action::Create {
            continue;
        }
        let now = tree.get_valid(key, h).map_err(VerifyError::from_tree)?;
        if now != op.prev {
            return Err(mismatch(
                op,
                "previous value after inversion is not the op's prev",
            ));
        }
    }
    Ok(())
}
