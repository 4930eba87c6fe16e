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
    if roots.is_empty() {
        return Ok(());
    }
    let fold = roots.len() as u64 > MAX_LOCKS;
    let mut keys: Vec<i64> = roots
        .iter()
        .map(|r| {
            let k = key(r);
            if fold {
                (k as u64 % MAX_LOCKS) as i64
            } else {
                k
            }
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    diesel::sql_query("SELECT pg_advisory_xact_lock(k) FROM unnest($1) AS k ORDER BY k")
        .bind::<Array<BigInt>, _>(keys)
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
