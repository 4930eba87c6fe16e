//! A snapshot's cutover, in the owning writer, in one transaction: the snapshot diffed against
//! what we hold of the repo (creates, updates and deletes), applied through the same planner as
//! live events (so every counter stays exact), then the events buffered during the fetch
//! drained in seq order while they chain, and the repo's state set. A live event never sees a
//! half-cut-over repo: they reach the same writer, after this transaction.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;

use super::apply::{apply_deferring, apply_in};
use super::keys::table_of;
use super::{buffer, repo_sync, Indexing};
use crate::changes::{Deltas, Lookup, RepoState, Snapshot, SnapshotRecord, SpillError};
use crate::db::{counters, held, repos};
use crate::decode::{Commit, Op, OpAction, TypedEvent};

/// Ops per planned chunk: a big repo streams through the planner, so memory stays bounded by
/// the chunk, not the repo.
const CHUNK_OPS: usize = 2000;

/// Records of a repo listed whole into memory for the diff (a few MB); past it the diff goes
/// chunk by chunk through the database.
const HELD_IN_MEMORY: usize = 20_000;

/// Counter rows a cutover keeps in memory before writing them (about 100 bytes each).
const DEFERRED_COUNTERS: usize = 50_000;

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
    cutover_holding(conn, snap, indexing, HELD_IN_MEMORY)
}

/// [`cutover`], listing what we hold of the repo into memory only when it is at most
/// `held_in_memory` records (else chunk by chunk): both ways give the same result, and the
/// tests check that they do.
pub fn cutover_holding(
    conn: &mut PgConnection,
    snap: &Snapshot,
    indexing: Indexing,
    held_in_memory: usize,
) -> QueryResult<CutoverStats> {
    conn.transaction(|conn| cutover_in(conn, snap, indexing, held_in_memory))
}

fn cutover_in(
    conn: &mut PgConnection,
    snap: &Snapshot,
    indexing: Indexing,
    held_in_memory: usize,
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
            data: Some(snap.data),
            time: snap.fetched_at.clone(),
            too_big: false,
            rebase: false,
            blocks_len: 0,
            proof: None,
        })
    };
    // Counters are written once per DEFERRED_COUNTERS rows touched, not once per chunk.
    let mut deltas = Deltas::default();
    let mut apply = |conn: &mut PgConnection, ops: Vec<Op>| -> QueryResult<()> {
        repos::clear_rev(conn, &snap.did)?;
        // Every path of these ops was looked up in this transaction (the repo's whole holding,
        // or the chunk's paths where they can be): a create is of a path we hold nothing at,
        // so its row cannot exist and need not be looked up again.
        let event = commit(ops);
        apply_deferring(
            conn,
            &[&event],
            &[],
            Lookup::TrustCreates,
            quiet,
            &mut deltas,
        )?;
        if deltas.len() >= DEFERRED_COUNTERS {
            counters::write_deltas(conn, &std::mem::take(&mut deltas))?;
        }
        Ok(())
    };
    // A repo holding little is listed whole; one holding more, chunk by chunk (see db::held).
    let mut whole = held::held_records(conn, &snap.did, held_in_memory)?;
    if whole.is_none() {
        held::begin_chunked(conn)?;
    }
    let mut applied_any = false;
    for chunk in snap.chunks(CHUNK_OPS) {
        let chunk = chunk.map_err(unreadable)?;
        let paths: Vec<String> = chunk.iter().map(SnapshotRecord::path).collect();
        let mut found = match &mut whole {
            Some(_) => BTreeMap::new(),
            None => {
                let tables = tables_of(&chunk);
                held::held_at(conn, &snap.did, &tables, &paths)?
            }
        };
        let mut ops = Vec::with_capacity(chunk.len());
        for (r, path) in chunk.into_iter().zip(paths) {
            let have = match &mut whole {
                Some(map) => map.remove(&path),
                None => found.remove(&path),
            };
            let action = match have {
                Some(have) if have == r.cid.to_string() => {
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
                collection: r.collection,
                rkey: r.rkey,
                cid: Some(r.cid),
                prev: None,
                record: Some(r.record),
            });
        }
        if !ops.is_empty() {
            apply(conn, ops)?;
            applied_any = true;
            crate::crashpoint::reached("cutover");
        }
    }
    // What we hold that the snapshot does not: deleted, with everything it counted.
    let delete = |path: &str| {
        let (collection, rkey) = path.split_once('/')?;
        Some(Op {
            action: OpAction::Delete,
            collection: collection.to_owned(),
            rkey: rkey.to_owned(),
            cid: None,
            prev: None,
            record: None,
        })
    };
    match whole {
        Some(map) => {
            let gone: Vec<Op> = map.keys().filter_map(|p| delete(p)).collect();
            for ops in gone.chunks(CHUNK_OPS) {
                stats.deletes += ops.len() as u64;
                apply(conn, ops.to_vec())?;
                applied_any = true;
            }
        }
        None => {
            let mut left = held::collect_gone(conn, &snap.did)?;
            let mut after = String::new();
            while left > 0 {
                let page = held::gone_after(conn, &snap.did, &after, CHUNK_OPS)?;
                let Some(last) = page.last() else { break };
                after = last.clone();
                left = left.saturating_sub(page.len());
                let ops: Vec<Op> = page.iter().filter_map(|p| delete(p)).collect();
                stats.deletes += ops.len() as u64;
                apply(conn, ops)?;
                applied_any = true;
            }
        }
    }
    // At least one commit, so the snapshot's rev is recorded even when nothing changed.
    if !applied_any {
        apply(conn, Vec::new())?;
    }
    counters::write_deltas(conn, &deltas)?;

    // The events held while the snapshot was fetched: those it already holds are skipped, the
    // rest must chain on from its rev.
    let mut rev = snap.rev.clone();
    let mut data = Some(snap.data.to_string());
    let mut drained = Vec::new();
    for row in repos::buffer_take(conn, &snap.did)? {
        if row.rev.as_str() <= rev.as_str() {
            stats.skipped += 1;
            continue;
        }
        match buffer::decode(&row.event) {
            Ok(TypedEvent::Commit(c))
                if c.since.as_deref() == Some(rev.as_str())
                    && repo_sync::chains(c.prev_data.as_ref(), data.as_deref()) =>
            {
                rev = c.rev.clone();
                data = c.data.map(|d| d.to_string());
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

/// The tables a chunk's records can already be in: each collection's own, and
/// `generic_records` (where records of any collection can be kept whole).
fn tables_of(chunk: &[SnapshotRecord]) -> Vec<&'static str> {
    let mut tables: BTreeSet<&'static str> = BTreeSet::new();
    tables.insert("generic_records");
    for r in chunk {
        if let Some(name) = table_of(&r.collection, &r.rkey).name() {
            tables.insert(name);
        }
    }
    tables.into_iter().collect()
}

/// Spilled records that cannot be read back fail the cutover (rolled back; the repo is
/// retried), as a record the database refuses would.
fn unreadable(e: SpillError) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(Box::new(e))
}
