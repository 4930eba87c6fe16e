//! Live events against each repo's sync state (README, "Backfill and repair"), decided in the
//! transaction that applies them: what to apply, what to hold for a repo under resync, and
//! which repos fall out of sync. Pure; `triage_in` runs it against the database.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use super::buffer;
use crate::changes::{Hosting, ListedRepo, RepoState, RepoStatus};
use crate::db::repos::{self, BufferRow};
use crate::decode::{AccountStatus, TypedEvent};

/// What the triage did to a group, for the stats line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TriageStats {
    /// Events of repos seen for the first time (the repo is now to fetch).
    pub first_seen: u64,
    /// Events held for a repo under resync.
    pub buffered: u64,
    /// Events of repos waiting for their fetch (the snapshot will hold them).
    pub dropped: u64,
    /// Commits that did not chain to what we hold, and `#sync`s ahead of it: the repo is resynced.
    pub chain_breaks: u64,
}

/// The triage's verdict on a group.
#[derive(Debug, Default)]
pub struct Triage<'e> {
    pub keep: Vec<&'e TypedEvent>,
    pub states: BTreeMap<String, (RepoState, Option<Hosting>)>,
    pub buffer: Vec<BufferRow>,
    pub stats: TriageStats,
}

/// A commit chains on from the root we hold unless both are known and differ (`prevData` is
/// optional in the protocol, and we may not know the root: a frame without blocks).
pub fn chains(prev_data: Option<&cid::Cid>, held: Option<&str>) -> bool {
    match (prev_data, held) {
        (Some(p), Some(h)) => p.to_string() == h,
        _ => true,
    }
}

fn hosting_of(active: bool, status: Option<&AccountStatus>) -> Option<Hosting> {
    if active {
        return Some(Hosting::Active);
    }
    match status {
        Some(AccountStatus::Takendown) => Some(Hosting::Takendown),
        Some(AccountStatus::Suspended) => Some(Hosting::Suspended),
        Some(AccountStatus::Deactivated) => Some(Hosting::Deactivated),
        Some(AccountStatus::Deleted) => Some(Hosting::Deleted),
        // Throttled, desynchronized (the relay's own trouble) and unknown statuses say nothing
        // about whether the PDS serves the repo.
        _ => None,
    }
}

/// Decides each event of the group in stream order, against `known` (the repos' states before
/// the group). With `needs_ops` (`--backfill-collection`), a repo first seen is tracked only by
/// a commit that writes a kept collection; its other events apply as without backfill.
pub fn triage<'e>(
    events: &[&'e TypedEvent],
    mut known: HashMap<String, RepoStatus>,
    needs_ops: bool,
) -> Triage<'e> {
    let mut t = Triage::default();
    for &event in events {
        let Some(did) = event.did() else {
            t.keep.push(event);
            continue;
        };
        let st = known.entry(did.to_owned()).or_insert(RepoStatus {
            state: None,
            hosting: Hosting::Active,
            rev: None,
            data: None,
            deleted: false,
        });
        let mut set = |st: &mut RepoStatus, state: RepoState, hosting: Option<Hosting>| {
            st.state = Some(state);
            if let Some(h) = hosting {
                st.hosting = h;
            }
            let entry = t.states.entry(did.to_owned()).or_insert((state, None));
            entry.0 = state;
            if hosting.is_some() {
                entry.1 = hosting;
            }
        };
        match event {
            TypedEvent::Commit(_) | TypedEvent::Sync(_) if st.deleted => t.keep.push(event),
            TypedEvent::Commit(c) if st.state.is_none() && needs_ops && c.ops.is_empty() => {
                t.keep.push(event)
            }
            TypedEvent::Sync(_) if st.state.is_none() && needs_ops => t.keep.push(event),
            TypedEvent::Commit(c) => match st.state {
                None => {
                    set(st, RepoState::Desynchronized, None);
                    t.stats.first_seen += 1;
                }
                Some(RepoState::Resyncing) => hold(&mut t, event, did),
                Some(RepoState::Desynchronized | RepoState::Error) => t.stats.dropped += 1,
                Some(RepoState::Synchronized) => {
                    let stale = st.rev.as_deref().is_some_and(|h| c.rev.as_str() <= h);
                    if stale {
                        // Replayed: the planner skips it and counts it.
                        t.keep.push(event);
                    } else if c.since == st.rev && chains(c.prev_data.as_ref(), st.data.as_deref())
                    {
                        st.rev = Some(c.rev.clone());
                        st.data = c.data.map(|d| d.to_string());
                        t.keep.push(event);
                    } else {
                        set(st, RepoState::Desynchronized, None);
                        t.stats.chain_breaks += 1;
                    }
                }
            },
            TypedEvent::Sync(s) => match st.state {
                None => {
                    set(st, RepoState::Desynchronized, None);
                    t.stats.first_seen += 1;
                }
                Some(RepoState::Resyncing) => hold(&mut t, event, did),
                Some(RepoState::Desynchronized | RepoState::Error) => t.stats.dropped += 1,
                Some(RepoState::Synchronized) => {
                    if st.rev.as_deref().is_none_or(|h| s.rev.as_str() > h) {
                        let same = s.data.is_some_and(|d| st.data == Some(d.to_string()));
                        if same {
                            // The repo says it is what we hold, at a later rev: nothing to fetch.
                            st.rev = Some(s.rev.clone());
                            t.keep.push(event);
                        } else {
                            set(st, RepoState::Desynchronized, None);
                            t.stats.chain_breaks += 1;
                        }
                    }
                }
            },
            TypedEvent::Account(a) => {
                let hosting = hosting_of(a.active, a.status.as_ref());
                if let (Some(state), Some(h)) = (st.state, hosting) {
                    // Active again after a status in which the PDS refused to serve it: what
                    // happened meanwhile never reached the stream.
                    let back = h == Hosting::Active && st.hosting.refuses_fetch();
                    let state = match state {
                        RepoState::Synchronized | RepoState::Error if back => {
                            RepoState::Desynchronized
                        }
                        s => s,
                    };
                    if h != st.hosting || state != st.state.unwrap_or(state) {
                        set(st, state, Some(h));
                    }
                }
                t.keep.push(event);
            }
            _ => t.keep.push(event),
        }
    }
    t
}

fn hold(t: &mut Triage<'_>, event: &TypedEvent, did: &str) {
    let (Some(seq), Some(bytes)) = (event.seq(), buffer::encode(event)) else {
        t.stats.dropped += 1;
        return;
    };
    let rev = match event {
        TypedEvent::Commit(c) => c.rev.clone(),
        TypedEvent::Sync(s) => s.rev.clone(),
        _ => String::new(),
    };
    t.buffer.push(BufferRow {
        did: did.to_owned(),
        seq,
        rev,
        event: bytes,
    });
    t.stats.buffered += 1;
}

/// Loads the group's repos, triages, and writes the states and buffer rows it decided; returns
/// the events to apply.
pub fn triage_in<'e>(
    conn: &mut PgConnection,
    events: &[&'e TypedEvent],
    needs_ops: bool,
) -> QueryResult<(Vec<&'e TypedEvent>, TriageStats)> {
    let mut dids: Vec<String> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                TypedEvent::Commit(_) | TypedEvent::Sync(_) | TypedEvent::Account(_)
            )
        })
        .filter_map(|e| e.did().map(str::to_owned))
        .collect();
    dids.sort();
    dids.dedup();
    let known = repos::load_status(conn, &dids)?;
    let t = triage(events, known, needs_ops);
    repos::set_states(conn, &t.states)?;
    repos::buffer_push(conn, &t.buffer)?;
    Ok((t.keep, t.stats))
}

/// Repos the relay lists, in one transaction: a repo never seen becomes `desynchronized`, and
/// a synchronized one whose listed rev is ahead of ours too (we missed events); inactive ones
/// are not fetched (their hosting status is recorded when we know the repo). Returns how many
/// repos changed.
pub fn discover(conn: &mut PgConnection, listed: &[ListedRepo]) -> QueryResult<Discovered> {
    let dids: Vec<String> = listed.iter().map(|r| r.did.clone()).collect();
    let known = repos::load_status(conn, &dids)?;
    let mut states = BTreeMap::new();
    let mut accounts = Vec::new();
    for r in listed {
        let k = known.get(&r.did);
        if k.is_some_and(|k| k.deleted) {
            continue;
        }
        if let Some(h) = &r.handle {
            repos::set_handle(conn, &r.did, h)?;
        }
        let state = k.and_then(|k| k.state);
        let held_hosting = k.map(|k| k.hosting);
        if !r.active {
            if let (Some(state), Some(h)) = (state, r.hosting) {
                if held_hosting != Some(h) {
                    // A status change the stream did not carry to us.
                    states.insert(r.did.clone(), (state, Some(h)));
                    accounts.extend(hosting_event(&r.did, h));
                }
            }
            continue;
        }
        let held = k.and_then(|k| k.rev.as_deref());
        let ahead = match (&r.rev, held) {
            (Some(listed), Some(held)) => listed.as_str() > held,
            (Some(_), None) => true,
            (None, _) => false,
        };
        // Active again while we were away: the account is, and what it did meanwhile is
        // fetched.
        let back = held_hosting.is_some_and(Hosting::refuses_fetch);
        if back && state.is_some() {
            accounts.push(account_event(&r.did, true, None));
        }
        match state {
            None => {
                states.insert(
                    r.did.clone(),
                    (RepoState::Desynchronized, Some(Hosting::Active)),
                );
            }
            Some(RepoState::Synchronized) if ahead || back => {
                states.insert(
                    r.did.clone(),
                    (RepoState::Desynchronized, Some(Hosting::Active)),
                );
            }
            Some(RepoState::Error) if back => {
                states.insert(
                    r.did.clone(),
                    (RepoState::Desynchronized, Some(Hosting::Active)),
                );
            }
            Some(s) if back => {
                states.insert(r.did.clone(), (s, Some(Hosting::Active)));
            }
            _ => {}
        }
    }
    repos::set_states(conn, &states)?;
    repos::mark_listed(conn, &dids)?;
    Ok(Discovered {
        marked: states.len(),
        accounts,
    })
}

/// What a listing page changed: repos marked, and account states to apply (as `#account`
/// events would have) because the stream never told us.
pub struct Discovered {
    pub marked: usize,
    pub accounts: Vec<TypedEvent>,
}

/// Repos a whole enumeration did not list: fetched again (the fetch tells what became of
/// them: deleted, taken down, moved). Returns how many were still synchronized.
pub fn recheck(conn: &mut PgConnection, dids: &[String]) -> QueryResult<usize> {
    conn.transaction(|conn| {
        let known = repos::load_status(conn, dids)?;
        let states: BTreeMap<String, (RepoState, Option<Hosting>)> = dids
            .iter()
            .filter(|d| known.get(*d).and_then(|k| k.state) == Some(RepoState::Synchronized))
            .map(|d| (d.clone(), (RepoState::Desynchronized, None)))
            .collect();
        repos::set_states(conn, &states)?;
        Ok(states.len())
    })
}

/// A fetch refused with a hosting status: the account is in that status, as an `#account`
/// event would have put it (a deleted one loses its records, a deactivated one keeps them).
pub fn hosting_event(did: &str, hosting: Hosting) -> Option<TypedEvent> {
    let status = match hosting {
        Hosting::Active => return None,
        Hosting::Takendown => AccountStatus::Takendown,
        Hosting::Suspended => AccountStatus::Suspended,
        Hosting::Deactivated => AccountStatus::Deactivated,
        Hosting::Deleted => AccountStatus::Deleted,
    };
    Some(account_event(did, false, Some(status)))
}

/// An `#account` event as of now (the relay's own are ordered by its time; this one is news
/// newer than any we applied).
fn account_event(did: &str, active: bool, status: Option<AccountStatus>) -> TypedEvent {
    TypedEvent::Account(crate::decode::Account {
        seq: 0,
        did: did.to_owned(),
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        active,
        status,
        legacy: false,
    })
}
