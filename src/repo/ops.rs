//! A commit's ops as a frame lists them, their well-formedness (Sync 1.1: a create has a `cid`
//! and no `prev`, a delete a `prev` and no `cid`, no path twice), and the order they are undone
//! in.

use cid::Cid;

use super::error::VerifyError;
use super::key::KeyRule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "create" => Some(Action::Create),
            "update" => Some(Action::Update),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }
}

/// One op of a `#commit` frame: the new value (`cid`) and, in Sync 1.1, the previous one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoOp<'a> {
    pub action: Action,
    pub path: &'a str,
    pub cid: Option<Cid>,
    pub prev: Option<Cid>,
}

fn bad(op: &RepoOp<'_>, reason: &'static str) -> VerifyError {
    VerifyError::BadOp {
        path: op.path.chars().take(200).collect(),
        reason,
    }
}

/// Checks each op's shape and that no path appears twice.
pub fn check_ops(ops: &[RepoOp<'_>]) -> Result<(), VerifyError> {
    for op in ops {
        if KeyRule::RepoPath.check(op.path.as_bytes()).is_err() {
            return Err(bad(op, "path is not a valid collection/rkey"));
        }
        match (op.action, op.cid.is_some(), op.prev.is_some()) {
            (Action::Create, false, _) => return Err(bad(op, "create without cid")),
            (Action::Create, _, true) => return Err(bad(op, "create with prev")),
            (Action::Update, false, _) => return Err(bad(op, "update without cid")),
            (Action::Delete, true, _) => return Err(bad(op, "delete with cid")),
            _ => {}
        }
    }
    let mut paths: Vec<&str> = ops.iter().map(|op| op.path).collect();
    paths.sort_unstable();
    if let Some(w) = paths.windows(2).find(|w| w[0] == w[1]) {
        return Err(VerifyError::BadOp {
            path: w[0].chars().take(200).collect(),
            reason: "path appears in two ops",
        });
    }
    Ok(())
}

/// The order ops are undone in: deletes first (re-inserting their keys), then by path, as the
/// reference implementation does, so proofs cut for it hold the nodes this order reads.
pub fn inversion_order<'o, 'a>(ops: &'o [RepoOp<'a>]) -> Vec<&'o RepoOp<'a>> {
    let mut out: Vec<&RepoOp<'a>> = ops.iter().collect();
    out.sort_by(|a, b| {
        (a.action != Action::Delete, a.path).cmp(&(b.action != Action::Delete, b.path))
    });
    out
}
