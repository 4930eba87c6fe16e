//! A snapshot's cutover, in the owning writer, in one transaction: the snapshot diffed against
//! what we hold of the repo (creates, updates and deletes), applied through the same planner as
//! live events (so every counter stays exact), then the events buffered during the fetch
//! drained in seq order while they chain, and the repo's state set. A live event never sees a
//! half-cut-over repo: they reach the same writer, after this transaction.

use diesel::prelude::*;

use super::apply::apply_in;
use super::{buffer, Indexing};
use crate::changes::{Lookup, RepoState, Snapshot};
use crate::db::repos;
use crate::decode::{Commit, Op, OpAction, TypedEvent};

/// Ops per planned chunk: a big repo streams through the planner, so memory stays bounded by
/// the chunk, not the repo.
const CHUNK_OPS: usize = 2000;

/// What a cutover did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CutoverStats {
    /// False when the repo was no longer `resyncing` (the snapshot is not wanted any more).
    pub applied: bool,
    pub creates: u64,
    pub updates: u64,
    pub deletes: u64,
    pub unchanged: u64,
    /// Buffered events applied after the snapshot, and skipped as already in it.
    pub drained: u64,
    pub skipped: u64,
    /// The buffer did not chain on from the snapshot: the repo is to fetch again.
    pub broke: bool,
}

/// Cuts the repo over to `snap`.
pub fn cutover(
    conn: &mut PgConnection,
    snap: &Snapshot,
    indexing: Indexing,
) -> QueryResult<CutoverStats> {
    conn.transaction(|conn| cutover_in(conn, snap, indexing))
}

fn cutover_in(
    conn: &mut PgConnection,
    snap: &Snapshot,
    indexing: Indexing,
) -> QueryResult<CutoverStats> {
    let mut stats = CutoverStats::default();
    if repos::lock_state(conn, &snap.did)? != Some(RepoState::Resyncing) {
        return Ok(stats);
    }
    stats.applied = true;
    let live = Indexing {
        repo_sync: false,
        ..indexing
    };
    let quiet = Indexing {
        snapshot: true,
        quiet_before: indexing
            .notify_backfill
            .cut(super::plan::event_time(&snap.fetched_at)),
        ..live
    };
    let mut held = repos::held_records(conn, &snap.did)?;
    let mut ops = Vec::new();
    for r in &snap.records {
        let path = r.path();
        let cid = r.cid.to_string();
        let action = match held.remove(&path) {
            Some(have) if have == cid => {
                stats.unchanged += 1;
                continue;
            }
            Some(_) => {
                stats.updates += 1;
                OpAction::Update
            }
            None => {
                stats.creates += 1;
                OpAction::Create
            }
        };
        ops.push(Op {
            action,
            collection: r.collection.clone(),
            rkey: r.rkey.clone(),
            cid: Some(r.cid),
            prev: None,
            record: Some(r.record.clone()),
        });
    }
    for path in held.into_keys() {
        let Some((collection, rkey)) = path.split_once('/') else {
            continue;
        };
        stats.deletes += 1;
        ops.push(Op {
            action: OpAction::Delete,
            collection: collection.to_owned(),
            rkey: rkey.to_owned(),
            cid: None,
            prev: None,
            record: None,
        });
    }
    let commit = |ops: Vec<Op>| {
        TypedEvent::Commit(Commit {
            seq: 0,
            repo: snap.did.clone(),
            commit: snap.commit,
            rev: snap.rev.clone(),
            since: None,
            ops,
            invalid: Vec::new(),
            prev_data: None,
            time: snap.fetched_at.clone(),
            too_big: false,
            rebase: false,
            blocks_len: 0,
            proof: None,
        })
    };
    // At least one commit, so the snapshot's rev is recorded even when nothing changed.
    let mut rest = ops;
    loop {
        let tail = rest.split_off(rest.len().min(CHUNK_OPS));
        repos::clear_rev(conn, &snap.did)?;
        let event = commit(rest);
        // `held` listed every record of the repo in this transaction: a create is of a path we
        // hold nothing at, so its row cannot exist and need not be looked up.
        apply_in(conn, &[&event], &[], Lookup::TrustCreates, quiet)?;
        if tail.is_empty() {
            break;
        }
        rest = tail;
    }

    // The events held while the snapshot was fetched: those it already holds are skipped, the
    // rest must chain on from its rev.
    let mut rev = snap.rev.clone();
    let mut drained = Vec::new();
    for row in repos::buffer_take(conn, &snap.did)? {
        if row.rev.as_str() <= rev.as_str() {
            stats.skipped += 1;
            continue;
        }
        match buffer::decode(&row.event) {
            Ok(TypedEvent::Commit(c)) if c.since.as_deref() == Some(rev.as_str()) => {
                rev = c.rev.clone();
                drained.push(TypedEvent::Commit(c));
            }
            _ => {
                stats.broke = true;
                break;
            }
        }
    }
    stats.drained = drained.len() as u64;
    let refs: Vec<&TypedEvent> = drained.iter().collect();
    if !refs.is_empty() {
        apply_in(conn, &refs, &[], Lookup::Careful, live)?;
    }
    if stats.broke {
        let mut states = std::collections::BTreeMap::new();
        states.insert(snap.did.clone(), (RepoState::Desynchronized, None));
        repos::set_states(conn, &states)?;
    } else {
        if let Some(handle) = &snap.handle {
            repos::fill_handle(conn, &snap.did, handle)?;
        }
        repos::synchronized(
            conn,
            &snap.did,
            &snap.rev,
            &snap.data.to_string(),
            &snap.host,
        )?;
    }
    Ok(stats)
}
