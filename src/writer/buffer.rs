//! The durable form of a live event held for a repo under resync (`repo_buffer.event`): the
//! commit's ops with their record blocks, or a `#sync`, as DAG-CBOR. Decoded again at cutover,
//! records through their lexicons as live ones are.

use cid::Cid;
use serde::{Deserialize, Serialize};

use crate::decode::{Commit, Op, OpAction, SyncEvent, TypedEvent};
use crate::records::Record;

#[derive(Serialize, Deserialize)]
struct Held {
    seq: i64,
    repo: String,
    rev: String,
    since: Option<String>,
    /// The commit's CID (`#commit`), or none (`#sync`).
    commit: Option<Cid>,
    sync: bool,
    time: String,
    prev_data: Option<Cid>,
    /// Absent from rows written before it was kept.
    #[serde(default)]
    data: Option<Cid>,
    ops: Vec<HeldOp>,
}

#[derive(Serialize, Deserialize)]
struct HeldOp {
    action: u8,
    collection: String,
    rkey: String,
    cid: Option<Cid>,
    #[serde(with = "serde_bytes")]
    record: Vec<u8>,
}

/// Why a buffered event could not be read back (a row written by a later version, or damaged):
/// the repo is resynced rather than trusted.
#[derive(Debug, thiserror::Error)]
pub enum BufferError {
    #[error("buffered event does not decode: {0}")]
    Shape(String),
    #[error("buffered record {path}: {reason}")]
    Record { path: String, reason: String },
}

/// The event's durable form; `None` for kinds that are never buffered.
pub fn encode(event: &TypedEvent) -> Option<Vec<u8>> {
    let held = match event {
        TypedEvent::Commit(c) => Held {
            seq: c.seq,
            repo: c.repo.clone(),
            rev: c.rev.clone(),
            since: c.since.clone(),
            commit: Some(c.commit),
            sync: false,
            time: c.time.clone(),
            prev_data: c.prev_data,
            data: c.data,
            ops: c
                .ops
                .iter()
                .map(|op| HeldOp {
                    action: match op.action {
                        OpAction::Create => 0,
                        OpAction::Update => 1,
                        OpAction::Delete => 2,
                    },
                    collection: op.collection.clone(),
                    rkey: op.rkey.clone(),
                    cid: op.cid,
                    record: op
                        .record
                        .as_ref()
                        .map(|r| r.bytes.clone())
                        .unwrap_or_default(),
                })
                .collect(),
        },
        TypedEvent::Sync(s) => Held {
            seq: s.seq,
            repo: s.did.clone(),
            rev: s.rev.clone(),
            since: None,
            commit: s.commit,
            sync: true,
            time: s.time.clone(),
            prev_data: None,
            data: s.data,
            ops: Vec::new(),
        },
        _ => return None,
    };
    serde_ipld_dagcbor::to_vec(&held).ok()
}

/// The event back, its records decoded and validated again.
pub fn decode(bytes: &[u8]) -> Result<TypedEvent, BufferError> {
    let held: Held =
        serde_ipld_dagcbor::from_slice(bytes).map_err(|e| BufferError::Shape(e.to_string()))?;
    if held.sync {
        return Ok(TypedEvent::Sync(SyncEvent {
            seq: held.seq,
            did: held.repo,
            rev: held.rev,
            time: held.time,
            commit: held.commit,
            data: held.data,
            proof: None,
        }));
    }
    let mut ops = Vec::with_capacity(held.ops.len());
    for op in held.ops {
        let action = match op.action {
            0 => OpAction::Create,
            1 => OpAction::Update,
            2 => OpAction::Delete,
            n => return Err(BufferError::Shape(format!("op action {n}"))),
        };
        let record = match action {
            OpAction::Delete => None,
            _ => Some(Record::decode(&op.collection, &op.record).map_err(|e| {
                BufferError::Record {
                    path: format!("{}/{}", op.collection, op.rkey),
                    reason: e.to_string(),
                }
            })?),
        };
        ops.push(Op {
            action,
            collection: op.collection,
            rkey: op.rkey,
            cid: op.cid,
            prev: None,
            record,
        });
    }
    Ok(TypedEvent::Commit(Commit {
        seq: held.seq,
        repo: held.repo,
        commit: held
            .commit
            .ok_or_else(|| BufferError::Shape("commit without CID".into()))?,
        rev: held.rev,
        since: held.since,
        ops,
        invalid: Vec::new(),
        prev_data: held.prev_data,
        data: held.data,
        time: held.time,
        too_big: false,
        rebase: false,
        blocks_len: 0,
        proof: None,
    }))
}
