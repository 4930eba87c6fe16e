//! Turns per thread. Reply notifications read across repos (a reply's thread is other
//! accounts' posts), and writers own repos, not threads: two writers writing into one thread at
//! once would each miss the other's uncommitted posts. So a group first takes a transaction
//! lock per thread it writes posts in (PostgreSQL advisory locks, keyed by a hash of the
//! thread's root URI, in key order so no two groups wait on each other in a circle), then
//! loads. Groups in different threads never wait.

use std::hash::{Hash, Hasher};

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

/// Locks beyond this are folded into this many buckets: PostgreSQL's shared lock table is
/// sized for tens of locks per connection, and a huge catch-up group must not exhaust it
/// (colliding threads then take turns, which is only slower).
const MAX_LOCKS: u64 = 512;

/// The thread roots of `posts` (their own URI for a thread's first post), from the database.
pub fn roots_of(conn: &mut PgConnection, posts: &[String]) -> QueryResult<Vec<String>> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(QueryableByName)]
    struct Root {
        #[diesel(sql_type = Text)]
        root: String,
    }
    let rows: Vec<Root> = diesel::sql_query(
        "SELECT DISTINCT COALESCE(root_uri, uri) AS root FROM posts WHERE uri = ANY($1)",
    )
    .bind::<Array<Text>, _>(posts)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.root).collect())
}

/// Takes the threads' locks for the rest of the transaction.
pub fn lock(conn: &mut PgConnection, roots: &[String]) -> QueryResult<()> {
    lock_modes(conn, roots, &[])
}

/// Turns on `exclusive`'s threads, and shared ones on `shared`'s: holders of shared turns on a
/// thread go together, an exclusive one waits for them and they for it. Keys in one order, as
/// for [`lock`].
pub fn lock_modes(
    conn: &mut PgConnection,
    exclusive: &[String],
    shared: &[String],
) -> QueryResult<()> {
    if exclusive.is_empty() && shared.is_empty() {
        return Ok(());
    }
    let fold = (exclusive.len() + shared.len()) as u64 > MAX_LOCKS;
    let folded = |r: &String| {
        let k = key(r);
        if fold {
            (k as u64 % MAX_LOCKS) as i64
        } else {
            k
        }
    };
    // A key wanted both ways is taken exclusively, once.
    let mut keys: std::collections::BTreeMap<i64, bool> = std::collections::BTreeMap::new();
    for r in shared {
        keys.entry(folded(r)).or_insert(false);
    }
    for r in exclusive {
        keys.insert(folded(r), true);
    }
    let (ks, modes): (Vec<i64>, Vec<bool>) = keys.into_iter().unzip();
    diesel::sql_query(
        "SELECT CASE WHEN e THEN pg_advisory_xact_lock(k)::text \
         ELSE pg_advisory_xact_lock_shared(k)::text END \
         FROM unnest($1::bigint[], $2::bool[]) AS t(k, e) ORDER BY k",
    )
    .bind::<Array<BigInt>, _>(ks)
    .bind::<Array<diesel::sql_types::Bool>, _>(modes)
    .execute(conn)
    .map(drop)
}

/// A stable 64-bit key for a thread (SipHash with fixed keys, the same on every run and
/// writer).
fn key(root: &str) -> i64 {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new_with_keys(0x736b_7969_6e64_6578, 0x7468_7265_6164);
    root.hash(&mut h);
    h.finish() as i64
}
