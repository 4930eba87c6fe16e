//! Applies a group in one transaction: plan each segment of its events against the rows they
//! touch, write it, purge deleted accounts, then the group's counters; then its labels, with
//! their own statement (`db::labels`). All or nothing.

use diesel::prelude::*;

use super::input::LabelBatch;
use super::repo_sync::{self, TriageStats};
use super::user_cache::UserCache;
use super::{keys, plan, Indexing};
use crate::changes::{Deltas, Lookup, PlanStats};
use crate::db::labels::{self, LabelRow};
use crate::db::{counters, likes, load, purge, store, threads};
use crate::decode::{AccountStatus, TypedEvent};

/// Splits a group after every event that deletes an account: that account's records are purged
/// by SQL, so whatever follows must be planned against the database as the purge leaves it.
pub fn segments<'a, 'e>(events: &'a [&'e TypedEvent]) -> Vec<&'a [&'e TypedEvent]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, event) in events.iter().enumerate() {
        if let TypedEvent::Account(a) = event {
            if a.status == Some(AccountStatus::Deleted) {
                out.push(&events[start..=i]);
                start = i + 1;
            }
        }
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    out
}

/// What a committed group did.
#[derive(Debug, Default, Clone, Copy)]
pub struct GroupStats {
    pub plan: PlanStats,
    pub purged_accounts: u64,
    pub purged_records: u64,
    /// Labels applied, and the rows they inserted or replaced (replays and older labels
    /// change nothing; of one identity's labels in the group only the newest is written).
    pub labels: u64,
    pub label_rows_written: u64,
    /// What the repos' sync states did to the group (with `Indexing::repo_sync`).
    pub triage: TriageStats,
}

/// Applies the group in one transaction. With [`Lookup::TrustCreates`], a create that meets a
/// row already there (a malformed stream) makes the whole transaction fail with a unique
/// violation; [`apply_group`] then plans it again with every URI looked up.
/// Everything is derived (notifications included; see [`Indexing`]).
pub fn apply_group(conn: &mut PgConnection, events: &[&TypedEvent]) -> QueryResult<GroupStats> {
    apply_items(conn, events, &[], Indexing::default())
}

/// [`apply_group`] with labels, deriving what `indexing` asks for: the events and the labels
/// in one transaction.
pub fn apply_items(
    conn: &mut PgConnection,
    events: &[&TypedEvent],
    labels: &[&LabelBatch],
    indexing: Indexing,
) -> QueryResult<GroupStats> {
    apply_items_cached(conn, events, labels, indexing, &mut UserCache::none())
}

/// [`apply_items`] reading the accounts' rows from `cache` where it knows them, and leaving
/// there what the transaction wrote once it commits.
pub fn apply_items_cached(
    conn: &mut PgConnection,
    events: &[&TypedEvent],
    labels: &[&LabelBatch],
    indexing: Indexing,
    cache: &mut UserCache,
) -> QueryResult<GroupStats> {
    // Numbers for the likes' accounts first, committed at once: a number taken inside the
    // group's transaction would hold every other writer naming that account until it ends.
    let missing = cache.numbered.missing(keys::like_actors(events));
    if !missing.is_empty() {
        likes::ensure_actors(conn, &missing)?;
        cache.numbered.add(&missing);
    }
    let first = apply_group_with(conn, events, labels, Lookup::TrustCreates, indexing, cache);
    let result = match first {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => apply_group_with(conn, events, labels, Lookup::Careful, indexing, cache),
        other => other,
    };
    match result {
        Ok(_) => cache.commit(),
        Err(_) => cache.abort(),
    }
    result
}

fn apply_group_with(
    conn: &mut PgConnection,
    events: &[&TypedEvent],
    label_batches: &[&LabelBatch],
    lookup: Lookup,
    indexing: Indexing,
    cache: &mut UserCache,
) -> QueryResult<GroupStats> {
    conn.transaction(|conn| {
        cache.begin();
        let mut triaged = None;
        let events = if indexing.repo_sync {
            let (keep, stats) = repo_sync::triage_in(conn, events, indexing.first_sight_needs_ops)?;
            triaged = Some(stats);
            keep
        } else {
            events.to_vec()
        };
        let mut deltas = Deltas::default();
        let mut stats = segments_in(
            conn,
            &events,
            label_batches,
            lookup,
            indexing,
            &mut deltas,
            cache,
        )?;
        counters::write_deltas(conn, &deltas)?;
        stats.triage = triaged.unwrap_or_default();
        Ok(stats)
    })
}

/// The group's work inside the caller's transaction (a cutover runs it for the snapshot's ops
/// and then for the buffered events, in one transaction with the repo's new state).
pub fn apply_in(
    conn: &mut PgConnection,
    events: &[&TypedEvent],
    label_batches: &[&LabelBatch],
    lookup: Lookup,
    indexing: Indexing,
) -> QueryResult<GroupStats> {
    let mut deltas = Deltas::default();
    let stats = apply_deferring(conn, events, label_batches, lookup, indexing, &mut deltas)?;
    counters::write_deltas(conn, &deltas)?;
    Ok(stats)
}

/// [`apply_in`] with the counter deltas added to `deltas` and left for the caller to write,
/// in the same transaction: a cutover's chunks touch the same counter rows over and over (a
/// repo's likes of one account's posts), and a row updated once per chunk inside one
/// transaction grows a chain of versions every later update walks. Nothing the planner reads
/// is a counter, so deferring them changes no decision.
pub fn apply_deferring(
    conn: &mut PgConnection,
    events: &[&TypedEvent],
    label_batches: &[&LabelBatch],
    lookup: Lookup,
    indexing: Indexing,
    deltas: &mut Deltas,
) -> QueryResult<GroupStats> {
    let mut none = UserCache::none();
    segments_in(
        conn,
        events,
        label_batches,
        lookup,
        indexing,
        deltas,
        &mut none,
    )
}

fn segments_in(
    conn: &mut PgConnection,
    events: &[&TypedEvent],
    label_batches: &[&LabelBatch],
    lookup: Lookup,
    indexing: Indexing,
    deltas: &mut Deltas,
    cache: &mut UserCache,
) -> QueryResult<GroupStats> {
    // Turns per thread first, before anything is read (see `db::threads`): reply
    // notifications read across repos, and so do a reply's gate and a gate's replies. A
    // reply only reads its gate: its turn is shared with other replies, and exclusive of
    // the gate's writer.
    let (replied, gated) = keys::gated_threads(events);
    let mut exclusive = gated;
    if indexing.notifications {
        let (posted, deleted) = keys::threads(events);
        exclusive.extend(posted);
        exclusive.extend(threads::roots_of(conn, &deleted)?);
    }
    threads::lock_modes(conn, &exclusive, &replied)?;
    let mut stats = GroupStats::default();
    for segment in segments(events) {
        let mut needs = keys::needs(segment, lookup, indexing);
        let known = cache.take_known(&mut needs.dids);
        let mut loaded = load::load(conn, &needs)?;
        cache.stage(loaded.users.values().cloned());
        loaded
            .users
            .extend(known.into_iter().map(|u| (u.did.clone(), u)));
        let plan = plan::plan(segment, loaded, deltas, indexing);
        store::write_plan(conn, &plan)?;
        cache.stage(plan.users.iter().cloned());
        if let Some(did) = &plan.purge {
            let purged = purge::purge_account(conn, did, deltas)?;
            stats.purged_accounts += 1;
            stats.purged_records += purged.records as u64;
        }
        stats.plan.add(&plan.stats);
    }
    if !label_batches.is_empty() {
        let rows = label_rows(label_batches);
        stats.labels = rows.len() as u64;
        stats.label_rows_written = labels::write(conn, &labels::winners(rows))? as u64;
    }
    Ok(stats)
}

/// The batches' labels as rows, in stream order (a labeler's batches reach one writer in seq
/// order, and `winners` keeps the first of equals).
fn label_rows<'a>(batches: &[&'a LabelBatch]) -> Vec<LabelRow<'a>> {
    batches
        .iter()
        .flat_map(|b| {
            b.batch.labels.iter().map(move |l| LabelRow {
                src: &l.src,
                uri: &l.uri,
                cid: l.cid.as_deref().unwrap_or(""),
                val: &l.val,
                neg: l.neg,
                cts: l.cts,
                exp: l.exp,
                sig: &l.sig,
                seq: b.batch.seq,
            })
        })
        .collect()
}
