//! The sync state of repositories (`repos`) and the live events buffered while one is being
//! fetched (`repo_buffer`): the statements the owning writer runs inside its transactions, and
//! the reads the scheduler and `status` make.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Text};

use super::CHUNK;
use crate::changes::{Hosting, RepoState, RepoStatus};
use crate::schema::{repo_buffer, repo_enumerations, repos, users};

/// The state of each of `dids` (absent from the map: never seen), with the rev we hold.
pub fn load_status(
    conn: &mut PgConnection,
    dids: &[String],
) -> QueryResult<HashMap<String, RepoStatus>> {
    let mut out: HashMap<String, RepoStatus> = HashMap::new();
    for chunk in dids.chunks(CHUNK) {
        let rows: Vec<(String, String, String)> = repos::table
            .filter(repos::did.eq_any(chunk))
            .select((repos::did, repos::state, repos::hosting))
            .load(conn)?;
        for (did, state, hosting) in rows {
            out.insert(
                did,
                RepoStatus {
                    state: RepoState::parse(&state),
                    hosting: Hosting::parse(&hosting).unwrap_or(Hosting::Active),
                    rev: None,
                    data: None,
                    deleted: false,
                },
            );
        }
        type Held = (String, Option<String>, Option<String>, Option<String>);
        let held: Vec<Held> = users::table
            .filter(users::did.eq_any(chunk))
            .select((users::did, users::rev, users::status, users::data_cid))
            .load(conn)?;
        for (did, rev, status, data) in held {
            let entry = out.entry(did).or_insert(RepoStatus {
                state: None,
                hosting: Hosting::Active,
                rev: None,
                data: None,
                deleted: false,
            });
            entry.rev = rev;
            entry.data = data;
            entry.deleted = status.as_deref() == Some("deleted");
        }
    }
    Ok(out)
}

/// Sets each repo's state (and hosting status, when given), creating rows for repos not seen.
pub fn set_states(
    conn: &mut PgConnection,
    changes: &BTreeMap<String, (RepoState, Option<Hosting>)>,
) -> QueryResult<()> {
    for (did, (state, hosting)) in changes {
        let insert = diesel::insert_into(repos::table).values((
            repos::did.eq(did),
            repos::state.eq(state.as_str()),
            repos::hosting.eq(hosting.unwrap_or(Hosting::Active).as_str()),
        ));
        match hosting {
            Some(h) => insert
                .on_conflict(repos::did)
                .do_update()
                .set((
                    repos::state.eq(state.as_str()),
                    repos::hosting.eq(h.as_str()),
                    repos::hosting_at.eq(now_nullable()),
                    repos::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?,
            // The insert's default is no news about the account: keep what was known.
            None => insert
                .on_conflict(repos::did)
                .do_update()
                .set((
                    repos::state.eq(state.as_str()),
                    repos::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)?,
        };
    }
    Ok(())
}

/// One live event of a repo under resync, encoded.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable)]
#[diesel(table_name = repo_buffer)]
pub struct BufferRow {
    pub did: String,
    pub seq: i64,
    pub rev: String,
    pub event: Vec<u8>,
}

/// Appends to the buffer; an event already there (a replay) is kept once.
pub fn buffer_push(conn: &mut PgConnection, rows: &[BufferRow]) -> QueryResult<()> {
    for chunk in rows.chunks(CHUNK) {
        diesel::insert_into(repo_buffer::table)
            .values(chunk)
            .on_conflict((repo_buffer::did, repo_buffer::seq))
            .do_nothing()
            .execute(conn)?;
    }
    Ok(())
}

/// The repo's buffered events in seq order, removed from the buffer.
pub fn buffer_take(conn: &mut PgConnection, did: &str) -> QueryResult<Vec<BufferRow>> {
    let mut rows: Vec<BufferRow> =
        diesel::delete(repo_buffer::table.filter(repo_buffer::did.eq(did)))
            .returning((
                repo_buffer::did,
                repo_buffer::seq,
                repo_buffer::rev,
                repo_buffer::event,
            ))
            .get_results(conn)?;
    rows.sort_by_key(|r| r.seq);
    Ok(rows)
}

/// Takes the repo for a fetch: from `desynchronized` or `error` (and, when `reclaim`, from a
/// `resyncing` whose fetch died with the process) to `resyncing`. False when it was not there.
pub fn claim(conn: &mut PgConnection, did: &str, reclaim: bool) -> QueryResult<bool> {
    let mut from = vec![
        RepoState::Desynchronized.as_str(),
        RepoState::Error.as_str(),
    ];
    if reclaim {
        from.push(RepoState::Resyncing.as_str());
    }
    let n = diesel::update(
        repos::table
            .filter(repos::did.eq(did))
            .filter(repos::state.eq_any(from)),
    )
    .set((
        repos::state.eq(RepoState::Resyncing.as_str()),
        repos::claimed_at.eq(now_nullable()),
        repos::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The repo's state, locked until the transaction ends.
pub fn lock_state(conn: &mut PgConnection, did: &str) -> QueryResult<Option<RepoState>> {
    let state: Option<String> = repos::table
        .find(did)
        .select(repos::state)
        .for_update()
        .first(conn)
        .optional()?;
    Ok(state.as_deref().and_then(RepoState::parse))
}

/// What `fail` took from the failure.
#[derive(QueryableByName)]
struct Failed {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    took_hosting: bool,
}

/// A failed fetch: `error`, due again 1 min · 2^retries later (at most 1 h), or after the wait
/// the server asked for; its buffer gone. The fetch's word on the hosting status is taken
/// unless the stream told us one since the claim: the stream's is the later, and a repo it
/// says is active is tried again in 5 s. Returns whether the fetch's hosting status was taken.
pub fn fail(
    conn: &mut PgConnection,
    did: &str,
    reason: &str,
    hosting: Option<Hosting>,
    retry_in: Option<std::time::Duration>,
) -> QueryResult<bool> {
    let took: Vec<Failed> = diesel::sql_query(
        "UPDATE repos r SET state = 'error', retries = r.retries + 1, \
         retry_at = now() + CASE \
             WHEN $4 IS NOT NULL THEN make_interval(secs => $4) \
             WHEN r.hosting_at > r.claimed_at AND r.hosting = 'active' THEN interval '5 seconds' \
             ELSE least(interval '1 hour', interval '1 minute' * power(2, least(r.retries, 10))) END, \
         last_error = $2, \
         hosting = CASE WHEN r.hosting_at > r.claimed_at THEN r.hosting \
             ELSE COALESCE($3, r.hosting) END, \
         hosting_at = CASE WHEN r.hosting_at > r.claimed_at OR $3 IS NULL THEN r.hosting_at \
             ELSE now() END, \
         updated_at = now() \
         FROM repos old WHERE r.did = $1 AND old.did = r.did \
         RETURNING ($3 IS NOT NULL AND NOT coalesce(old.hosting_at > old.claimed_at, false)) \
             AS took_hosting",
    )
    .bind::<Text, _>(did)
    .bind::<Text, _>(reason)
    .bind::<diesel::sql_types::Nullable<Text>, _>(hosting.map(Hosting::as_str))
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Double>, _>(
        retry_in.map(|d| d.as_secs_f64().min(3600.0)),
    )
    .load(conn)?;
    diesel::delete(repo_buffer::table.filter(repo_buffer::did.eq(did))).execute(conn)?;
    Ok(took.first().is_some_and(|f| f.took_hosting))
}

/// The cutover done: `synchronized` at the snapshot's rev and root.
pub fn synchronized(
    conn: &mut PgConnection,
    did: &str,
    rev: &str,
    data: &str,
    host: &str,
) -> QueryResult<()> {
    diesel::update(repos::table.find(did))
        .set((
            repos::state.eq(RepoState::Synchronized.as_str()),
            repos::hosting.eq(Hosting::Active.as_str()),
            repos::hosting_at.eq(now_nullable()),
            repos::rev.eq(rev),
            repos::data_cid.eq(data),
            repos::pds_host.eq(host),
            repos::retries.eq(0),
            repos::retry_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            repos::last_error.eq(None::<String>),
            repos::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Forgets the rev we hold, so the snapshot's ops (planned as a commit at its rev) apply
/// whatever was applied before.
pub fn clear_rev(conn: &mut PgConnection, did: &str) -> QueryResult<()> {
    diesel::update(users::table.find(did))
        .set(users::rev.eq(None::<String>))
        .execute(conn)
        .map(|_| ())
}

/// Repos due for a fetch, at most `limit` (a deleted account's never are): those in error whose
/// retry time has come, longest due first, then desynchronized ones, longest waiting first.
/// Each is one read of its own partial index (migration 000011), so the question costs what it
/// returns, not the number of repos waiting.
pub fn due(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<String>> {
    // The states are literals, not binds: a partial index serves a query only when the planner
    // can see its predicate holds, which a generic plan over bound values cannot.
    let mut dids = dids_of(
        conn,
        "SELECT did FROM repos WHERE state = 'error' AND hosting <> 'deleted' \
         AND retry_at <= now() ORDER BY retry_at LIMIT $1",
        limit,
    )?;
    let left = limit - dids.len() as i64;
    if left > 0 {
        dids.extend(dids_of(
            conn,
            "SELECT did FROM repos WHERE state = 'desynchronized' AND hosting <> 'deleted' \
             ORDER BY updated_at LIMIT $1",
            left,
        )?);
    }
    Ok(dids)
}

#[derive(QueryableByName)]
struct Did {
    #[diesel(sql_type = Text)]
    did: String,
}

fn dids_of(conn: &mut PgConnection, sql: &str, limit: i64) -> QueryResult<Vec<String>> {
    let rows: Vec<Did> = diesel::sql_query(sql)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.did).collect())
}

/// Repos left `resyncing` (a fetch that died with the process), to claim again.
pub fn resyncing(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<String>> {
    dids_of(
        conn,
        "SELECT did FROM repos WHERE state = 'resyncing' ORDER BY updated_at LIMIT $1",
        limit,
    )
}

/// An operator's `resync`: the repos become `desynchronized` (created if unknown); one being
/// fetched already is left to finish. Returns how many were marked.
pub fn mark_desynchronized(conn: &mut PgConnection, dids: &[String]) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO repos (did, state) SELECT unnest($1::text[]), 'desynchronized' \
         ON CONFLICT (did) DO UPDATE SET state = 'desynchronized', retries = 0, retry_at = NULL, \
         updated_at = now() WHERE repos.state <> 'resyncing'",
    )
    .bind::<Array<Text>, _>(dids)
    .execute(conn)
}

#[derive(QueryableByName)]
struct StateCount {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Text)]
    hosting: String,
    #[diesel(sql_type = Integer)]
    n: i32,
}

/// Repos by (state, hosting status), for `status` and the stats line.
pub fn counts(conn: &mut PgConnection) -> QueryResult<Vec<(String, String, i64)>> {
    diesel::sql_query(
        "SELECT state, hosting, count(*)::int AS n FROM repos GROUP BY state, hosting \
         ORDER BY state, hosting",
    )
    .load::<StateCount>(conn)
    .map(|rows| {
        rows.into_iter()
            .map(|r| (r.state, r.hosting, r.n as i64))
            .collect()
    })
}

/// An enumeration's page to ask for next, and when one last completed.
pub type EnumerationState = (Option<String>, Option<chrono::DateTime<chrono::Utc>>);

/// Where the relay's enumeration stands (`None`: it never started).
pub fn enumeration(
    conn: &mut PgConnection,
    service: &str,
) -> QueryResult<Option<EnumerationState>> {
    repo_enumerations::table
        .find(service)
        .select((
            repo_enumerations::page_cursor,
            repo_enumerations::completed_at,
        ))
        .first(conn)
        .optional()
}

/// Records the next page of an enumeration under way (`None`: start again from the first).
pub fn save_page(conn: &mut PgConnection, service: &str, cursor: Option<&str>) -> QueryResult<()> {
    diesel::insert_into(repo_enumerations::table)
        .values((
            repo_enumerations::service.eq(service),
            repo_enumerations::page_cursor.eq(cursor),
        ))
        .on_conflict(repo_enumerations::service)
        .do_update()
        .set(repo_enumerations::page_cursor.eq(cursor))
        .execute(conn)
        .map(|_| ())
}

/// The enumeration reached its last page.
pub fn complete_enumeration(conn: &mut PgConnection, service: &str) -> QueryResult<()> {
    diesel::insert_into(repo_enumerations::table)
        .values((
            repo_enumerations::service.eq(service),
            repo_enumerations::page_cursor.eq(None::<String>),
            repo_enumerations::completed_at.eq(diesel::dsl::now),
        ))
        .on_conflict(repo_enumerations::service)
        .do_update()
        .set((
            repo_enumerations::page_cursor.eq(None::<String>),
            repo_enumerations::completed_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The handle of an account we have none for (a repo never seen live); one an `#identity`
/// gave is newer than any snapshot's and is kept.
pub fn fill_handle(conn: &mut PgConnection, did: &str, handle: &str) -> QueryResult<()> {
    diesel::update(users::table.find(did).filter(users::handle.is_null()))
        .set(users::handle.eq(handle))
        .execute(conn)
        .map(|_| ())
}

/// The account's handle as resolved again (a missed `#identity`), when we hold the account.
pub fn set_handle(conn: &mut PgConnection, did: &str, handle: &str) -> QueryResult<()> {
    diesel::update(
        users::table
            .find(did)
            .filter(users::handle.is_distinct_from(handle)),
    )
    .set(users::handle.eq(handle))
    .execute(conn)
    .map(|_| ())
}

/// Marks repos as listed by the relay now.
pub fn mark_listed(conn: &mut PgConnection, dids: &[String]) -> QueryResult<()> {
    for chunk in dids.chunks(CHUNK) {
        diesel::update(repos::table.filter(repos::did.eq_any(chunk)))
            .set(repos::listed_at.eq(diesel::dsl::now))
            .execute(conn)?;
    }
    Ok(())
}

/// Synchronized repos a whole enumeration begun at `since` did not list (gone from the relay,
/// or moved): after `after` in DID order, at most `limit`.
pub fn unlisted(
    conn: &mut PgConnection,
    since: chrono::DateTime<chrono::Utc>,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<String>> {
    repos::table
        .filter(repos::state.eq(RepoState::Synchronized.as_str()))
        .filter(repos::hosting.eq(Hosting::Active.as_str()))
        .filter(repos::listed_at.is_null().or(repos::listed_at.lt(since)))
        .filter(repos::did.gt(after))
        .select(repos::did)
        .order(repos::did)
        .limit(limit)
        .load(conn)
}

/// The database's clock (the one `listed_at` is written with).
pub fn now(conn: &mut PgConnection) -> QueryResult<chrono::DateTime<chrono::Utc>> {
    diesel::select(diesel::dsl::now.into_sql::<diesel::sql_types::Timestamptz>()).get_result(conn)
}

/// Of `dids`: how many are synchronized, in error, and neither yet.
pub fn states_of(conn: &mut PgConnection, dids: &[String]) -> QueryResult<(usize, usize, usize)> {
    let mut counts = (0, 0, 0);
    for chunk in dids.chunks(CHUNK) {
        let states: Vec<String> = repos::table
            .filter(repos::did.eq_any(chunk))
            .select(repos::state)
            .load(conn)?;
        for s in &states {
            match RepoState::parse(s) {
                Some(RepoState::Synchronized) => counts.0 += 1,
                Some(RepoState::Error) => counts.1 += 1,
                _ => counts.2 += 1,
            }
        }
        counts.2 += chunk.len() - states.len();
    }
    Ok(counts)
}

/// `now()` for a nullable timestamp column (diesel's `now` is typed for non-null ones).
fn now_nullable(
) -> diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>> {
    diesel::dsl::sql("now()")
}

/// When each of `dids` last changed by an event (users absent: none yet).
pub fn last_event_times(
    conn: &mut PgConnection,
    dids: &[String],
) -> QueryResult<HashMap<String, chrono::DateTime<chrono::Utc>>> {
    let mut out = HashMap::new();
    for chunk in dids.chunks(CHUNK) {
        let rows: Vec<(String, chrono::DateTime<chrono::Utc>)> = users::table
            .filter(users::did.eq_any(chunk))
            .select((users::did, users::indexed_at))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}
