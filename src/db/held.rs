//! What we hold of one repo, listed for a snapshot's diff: every record by path → CID, from the
//! record tables' ranges of the repo's URIs (every table's key starts with the repo, so each is
//! one index range) and its profile (`users.profile_cid`).
//!
//! A repo holding few records is listed whole into memory. One holding more is diffed chunk by
//! chunk instead, inside the cutover's transaction: each chunk's URIs looked up where they
//! would be, and noted in a temporary table, so what is left once every chunk is through (the
//! records gone from the repo) is one anti-join away and paged from another.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use super::likes;
use super::purge::repo_range;
use crate::changes::Kind;

#[derive(QueryableByName)]
struct PathCid {
    #[diesel(sql_type = Text)]
    uri: String,
    #[diesel(sql_type = Text)]
    cid: String,
}

#[derive(QueryableByName)]
struct Uri {
    #[diesel(sql_type = Text)]
    uri: String,
}

/// The tables whose rows are records, keyed by URI: the first kinds' and list items, then
/// each later kind's (`Kind::ALL`), so a new kind is listed where it is declared.
fn record_tables() -> impl Iterator<Item = &'static str> {
    [
        "posts",
        "likes",
        "reposts",
        "follows",
        "blocks",
        "list_items",
        "generic_records",
    ]
    .into_iter()
    .chain(Kind::ALL.into_iter().map(Kind::table))
}

/// `SELECT uri, cid` of every record table in the repo's range `$1..$2`, and the profile of
/// `did` (a parameter).
fn union(did: &str) -> String {
    union_of(record_tables(), "uri >= $1 AND uri < $2", None, did)
}

/// `SELECT uri, cid` of `tables` where `filter` holds (likes, by compact keys, of the repo
/// `did`, and of the array `uris` when given: see `likes::held_sql`), and the profile.
fn union_of<'t>(
    tables: impl Iterator<Item = &'t str>,
    filter: &str,
    uris: Option<&str>,
    did: &str,
) -> String {
    let profile = did;
    let mut sql = String::new();
    for table in tables {
        if table == "likes" {
            sql.push_str(&likes::held_sql(did, uris));
            sql.push_str(" UNION ALL ");
            continue;
        }
        sql.push_str(&format!(
            "SELECT uri, cid FROM {table} WHERE {filter} UNION ALL "
        ));
    }
    sql.push_str(&format!(
        "SELECT 'at://' || did || '/app.bsky.actor.profile/self' AS uri, profile_cid AS cid \
         FROM users WHERE did = {profile} AND profile_cid IS NOT NULL"
    ));
    sql
}

/// Every record we hold of the repo, by path (`collection/rkey`) → CID, if there are at most
/// `limit`; `None` when there are more.
pub fn held_records(
    conn: &mut PgConnection,
    did: &str,
    limit: usize,
) -> QueryResult<Option<BTreeMap<String, String>>> {
    let (lo, hi) = repo_range(did);
    let sql = format!("{} LIMIT $4", union("$3"));
    let rows: Vec<PathCid> = diesel::sql_query(sql)
        .bind::<Text, _>(&lo)
        .bind::<Text, _>(&hi)
        .bind::<Text, _>(did)
        .bind::<BigInt, _>(limit as i64 + 1)
        .load(conn)?;
    if rows.len() > limit {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .filter_map(|r| Some((r.uri.strip_prefix(&lo)?.to_owned(), r.cid)))
            .collect(),
    ))
}

/// Starts a chunked diff in this transaction: the table of the snapshot's URIs seen so far.
pub fn begin_chunked(conn: &mut PgConnection) -> QueryResult<()> {
    diesel::sql_query(
        "CREATE TEMPORARY TABLE IF NOT EXISTS snapshot_paths (uri text NOT NULL) ON COMMIT DROP",
    )
    .execute(conn)?;
    diesel::sql_query("TRUNCATE snapshot_paths").execute(conn)?;
    Ok(())
}

/// What we hold at `paths` (of one chunk, in order), by path → CID, looking in `tables` (where
/// records of the chunk's collections can be) and the profile; the paths noted as the
/// snapshot's.
pub fn held_at(
    conn: &mut PgConnection,
    did: &str,
    tables: &[&str],
    paths: &[String],
) -> QueryResult<BTreeMap<String, String>> {
    let (lo, _) = repo_range(did);
    let uris: Vec<String> = paths.iter().map(|p| format!("{lo}{p}")).collect();
    diesel::sql_query("INSERT INTO snapshot_paths (uri) SELECT unnest($1::text[])")
        .bind::<Array<Text>, _>(&uris)
        .execute(conn)?;
    let known: Vec<&str> = record_tables().collect();
    let tables = tables.iter().copied().filter(|t| known.contains(t));
    let rows: Vec<PathCid> = diesel::sql_query(union_of(tables, "uri = ANY($1)", Some("$1"), "$2"))
        .bind::<Array<Text>, _>(&uris)
        .bind::<Text, _>(did)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.uri.strip_prefix(&lo)?.to_owned(), r.cid)))
        .filter(|(path, _)| paths.binary_search(path).is_ok())
        .collect())
}

/// After every chunk: notes what we hold that the snapshot does not (to delete), in the
/// temporary table `snapshot_gone`, and says how many.
pub fn collect_gone(conn: &mut PgConnection, did: &str) -> QueryResult<usize> {
    let (lo, hi) = repo_range(did);
    diesel::sql_query(
        "CREATE TEMPORARY TABLE IF NOT EXISTS snapshot_gone (uri text PRIMARY KEY) ON COMMIT DROP",
    )
    .execute(conn)?;
    diesel::sql_query("TRUNCATE snapshot_gone").execute(conn)?;
    let sql = format!(
        "INSERT INTO snapshot_gone (uri) SELECT h.uri FROM ({}) h \
         WHERE NOT EXISTS (SELECT 1 FROM snapshot_paths p WHERE p.uri = h.uri)",
        union("$3")
    );
    diesel::sql_query(sql)
        .bind::<Text, _>(&lo)
        .bind::<Text, _>(&hi)
        .bind::<Text, _>(did)
        .execute(conn)
}

/// The next `limit` paths of `snapshot_gone` after `after` (a path; "" for the first).
pub fn gone_after(
    conn: &mut PgConnection,
    did: &str,
    after: &str,
    limit: usize,
) -> QueryResult<Vec<String>> {
    let (lo, _) = repo_range(did);
    let rows: Vec<Uri> =
        diesel::sql_query("SELECT uri FROM snapshot_gone WHERE uri > $1 ORDER BY uri LIMIT $2")
            .bind::<Text, _>(format!("{lo}{after}"))
            .bind::<BigInt, _>(limit as i64)
            .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.uri.strip_prefix(&lo).map(str::to_owned))
        .collect())
}
