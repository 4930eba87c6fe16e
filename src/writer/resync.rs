//! A resync step of the backfill stage, as its writer runs it: each step in its own
//! transaction, so a crash between two leaves a state the next step (or a restart's reclaim)
//! continues from. The writer loop retries a step on database faults and reports it.

use diesel::prelude::*;

use super::apply::apply_in;
use super::cutover::{cutover, CutoverStats};
use super::input::SyncCommand;
use super::repo_sync;
use super::Indexing;
use crate::changes::Lookup;
use crate::db::repos;
use crate::decode::TypedEvent;

/// What a step did: whether it took effect (a claim taken, a snapshot still wanted), the
/// cutover's figures, and the count a `Discover`/`Recheck` replies with.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ran {
    pub done: bool,
    pub cutover: Option<CutoverStats>,
    pub marked: usize,
}

pub fn run(conn: &mut PgConnection, command: &SyncCommand, indexing: Indexing) -> QueryResult<Ran> {
    match command {
        SyncCommand::Claim { did, reclaim, .. } => conn.transaction(|c| {
            let done = repos::claim(c, did, *reclaim)?;
            crate::crashpoint::reached("claim");
            Ok(Ran {
                done,
                ..Ran::default()
            })
        }),
        SyncCommand::Snapshot(snap) => {
            let stats = cutover(conn, snap, indexing)?;
            Ok(Ran {
                done: stats.applied,
                cutover: Some(stats),
                marked: 0,
            })
        }
        SyncCommand::Failed {
            did,
            reason,
            hosting,
            retry_in,
        } => conn.transaction(|c| {
            let took = repos::fail(c, did, reason, *hosting, *retry_in)?;
            let event = hosting
                .filter(|_| took)
                .and_then(|h| repo_sync::hosting_event(did, h));
            apply_accounts(c, event.into_iter().collect(), indexing)?;
            Ok(Ran {
                done: true,
                ..Ran::default()
            })
        }),
        SyncCommand::Discover { repos, .. } => conn.transaction(|c| {
            let found = repo_sync::discover(c, repos)?;
            let marked = found.marked;
            apply_accounts(c, found.accounts, indexing)?;
            Ok(Ran {
                done: true,
                cutover: None,
                marked,
            })
        }),
        SyncCommand::Recheck { dids, .. } => Ok(Ran {
            done: true,
            cutover: None,
            marked: repo_sync::recheck(conn, dids)?,
        }),
    }
}

/// Account states the stream never carried to us, applied as its `#account` events are. Each
/// is dated at the account's last event, not now: it holds until the stream's next word, which
/// a lagging stream dates earlier than now and would otherwise lose as stale.
fn apply_accounts(
    conn: &mut PgConnection,
    mut events: Vec<TypedEvent>,
    indexing: Indexing,
) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let dids: Vec<String> = events
        .iter()
        .filter_map(|e| e.did().map(str::to_owned))
        .collect();
    let times = repos::last_event_times(conn, &dids)?;
    for e in &mut events {
        if let TypedEvent::Account(a) = e {
            if let Some(t) = times.get(&a.did) {
                a.time = t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            }
        }
    }
    let refs: Vec<&TypedEvent> = events.iter().collect();
    let indexing = Indexing {
        repo_sync: false,
        ..indexing
    };
    apply_in(conn, &refs, &[], Lookup::Careful, indexing).map(|_| ())
}
