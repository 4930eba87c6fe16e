//! Likes by compact keys (migration 000013): rows in `like_records` keyed by an account number
//! (`actors`) and the record key's TID integer, read by everyone else as the view `likes`. The
//! planner keeps speaking URIs and DIDs; this module is where they become keys and back, each
//! statement joining `actors` itself, so no caller holds a number.
//!
//! A number is taken for every DID a new row names, in the statement that writes the row. The
//! writer takes the live group's numbers before its transaction (`ensure_actors`, committed at
//! once), so a live transaction never holds a new `actors` row another writer would wait for.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, SmallInt, Text, Timestamptz};

use crate::changes::rows::LikeRow;
use crate::changes::EdgeInfo;
use crate::syntax::{tid_int, tid_text};

const LIKE_PATH: &str = "/app.bsky.feed.like/";
const POST_PATH: &str = "/app.bsky.feed.post/";

/// A like's own key: its repo and its record key, compact or as text.
struct Key<'a> {
    did: &'a str,
    rkey: Result<i64, &'a str>,
}

/// The key of a like's URI (`at://REPO/app.bsky.feed.like/RKEY`, as the writer makes them).
fn key(uri: &str) -> Option<Key<'_>> {
    let rest = uri.strip_prefix("at://")?;
    let slash = rest.find('/')?;
    let (did, path) = rest.split_at(slash);
    let rkey = path.strip_prefix(LIKE_PATH)?;
    Some(Key {
        did,
        rkey: tid_int(rkey).ok_or(rkey),
    })
}

/// A subject in compact form, when it is exactly `at://DID/app.bsky.feed.post/TID` (the
/// migration's regular expression says the same): the post's account and record key.
pub fn compact_post(uri: &str) -> Option<(&str, i64)> {
    let rest = uri.strip_prefix("at://")?;
    let slash = rest.find('/')?;
    let (did, path) = rest.split_at(slash);
    if did.len() <= "did:".len() || !did.starts_with("did:") {
        return None;
    }
    Some((did, tid_int(path.strip_prefix(POST_PATH)?)?))
}

fn post_uri(did: &str, rkey: i64) -> String {
    format!("at://{did}{POST_PATH}{}", tid_text(rkey))
}

/// The subject's text from a row's columns: the compact post, or the URI kept as named.
fn subject_text(
    subject_did: Option<String>,
    subject_rkey: Option<i64>,
    subject_uri: Option<String>,
) -> Option<String> {
    match (subject_uri, subject_did, subject_rkey) {
        (Some(uri), _, _) => Some(uri),
        (None, Some(did), Some(rkey)) => Some(post_uri(&did, rkey)),
        _ => None,
    }
}

/// A URI's key as bound: its ordinal in the caller's list (from 1), repo, record key.
type Bound<'a, K> = (i64, &'a str, K);

/// The URIs' keys, by index into `uris`: compact ones and those whose record key is text.
fn keys(uris: &[String]) -> (Vec<Bound<'_, i64>>, Vec<Bound<'_, &str>>) {
    let (mut compact, mut text) = (Vec::new(), Vec::new());
    for (i, uri) in uris.iter().enumerate() {
        match key(uri) {
            Some(Key { did, rkey: Ok(r) }) => compact.push((i as i64 + 1, did, r)),
            Some(Key { did, rkey: Err(r) }) => text.push((i as i64 + 1, did, r)),
            None => {}
        }
    }
    (compact, text)
}

#[derive(QueryableByName)]
struct HeldLike {
    #[diesel(sql_type = BigInt)]
    i: i64,
    #[diesel(sql_type = Text)]
    cid: String,
    #[diesel(sql_type = Nullable<Text>)]
    subject_did: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    subject_rkey: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    subject_uri: Option<String>,
}

const HELD_COLUMNS: &str = "k.i, l.cid, s.did AS subject_did, l.subject_rkey, l.subject_uri";

/// The likes of `uris` held: URI → CID, account, subject.
pub fn load(conn: &mut PgConnection, uris: &[String]) -> QueryResult<HashMap<String, EdgeInfo>> {
    let (compact, text) = keys(uris);
    let mut rows: Vec<HeldLike> = Vec::new();
    if !compact.is_empty() {
        let (i, did, rkey) = columns3(&compact);
        rows.extend(
            diesel::sql_query(format!(
                "SELECT {HELD_COLUMNS} FROM unnest($1::int8[], $2::text[], $3::int8[]) \
                   AS k(i, did, rkey) \
                 JOIN actors a ON a.did = k.did \
                 JOIN like_records l ON l.actor_id = a.id AND l.rkey = k.rkey \
                 LEFT JOIN actors s ON s.id = l.subject_actor"
            ))
            .bind::<Array<BigInt>, _>(i)
            .bind::<Array<Text>, _>(did)
            .bind::<Array<BigInt>, _>(rkey)
            .load::<HeldLike>(conn)?,
        );
    }
    if !text.is_empty() {
        let (i, did, rkey) = columns3(&text);
        rows.extend(
            diesel::sql_query(format!(
                "SELECT {HELD_COLUMNS} FROM unnest($1::int8[], $2::text[], $3::text[]) \
                   AS k(i, did, rkey) \
                 JOIN actors a ON a.did = k.did \
                 JOIN like_records l ON l.actor_id = a.id AND l.rkey_text = k.rkey \
                 LEFT JOIN actors s ON s.id = l.subject_actor"
            ))
            .bind::<Array<BigInt>, _>(i)
            .bind::<Array<Text>, _>(did)
            .bind::<Array<Text>, _>(rkey)
            .load::<HeldLike>(conn)?,
        );
    }
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let Some(uri) = usize::try_from(row.i - 1).ok().and_then(|i| uris.get(i)) else {
            continue;
        };
        let (Some(k), Some(subject)) = (
            key(uri),
            subject_text(row.subject_did, row.subject_rkey, row.subject_uri),
        ) else {
            continue;
        };
        let edge = EdgeInfo {
            cid: row.cid,
            actor: k.did.to_owned(),
            subject,
        };
        out.insert(uri.clone(), edge);
    }
    Ok(out)
}

fn columns3<'a, T: Copy>(keys: &[Bound<'a, T>]) -> (Vec<i64>, Vec<&'a str>, Vec<T>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for &(i, did, rkey) in keys {
        out.0.push(i);
        out.1.push(did);
        out.2.push(rkey);
    }
    out
}

/// Deletes the likes of `uris`.
pub fn delete(conn: &mut PgConnection, uris: &[String]) -> QueryResult<usize> {
    let (compact, text) = keys(uris);
    let mut n = 0;
    if !compact.is_empty() {
        let (_, did, rkey) = columns3(&compact);
        n += diesel::sql_query(
            "DELETE FROM like_records l USING unnest($1::text[], $2::int8[]) AS k(did, rkey), \
             actors a WHERE a.did = k.did AND l.actor_id = a.id AND l.rkey = k.rkey",
        )
        .bind::<Array<Text>, _>(did)
        .bind::<Array<BigInt>, _>(rkey)
        .execute(conn)?;
    }
    if !text.is_empty() {
        let (_, did, rkey) = columns3(&text);
        n += diesel::sql_query(
            "DELETE FROM like_records l USING unnest($1::text[], $2::text[]) AS k(did, rkey), \
             actors a WHERE a.did = k.did AND l.actor_id = a.id AND l.rkey_text = k.rkey",
        )
        .bind::<Array<Text>, _>(did)
        .bind::<Array<Text>, _>(rkey)
        .execute(conn)?;
    }
    Ok(n)
}

/// The accounts' numbers, taken where missing, in one statement of its own: sorted, so two
/// writers taking numbers at once wait for each other at most for a statement, never a cycle.
pub fn ensure_actors(conn: &mut PgConnection, dids: &[&str]) -> QueryResult<()> {
    if dids.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO actors (did) SELECT d FROM unnest($1::text[]) AS w(d) \
         WHERE NOT EXISTS (SELECT 1 FROM actors a WHERE a.did = w.d) \
         GROUP BY d ORDER BY d ON CONFLICT (did) DO NOTHING",
    )
    .bind::<Array<Text>, _>(dids)
    .execute(conn)?;
    Ok(())
}

/// Appends `rows` (the planner checked that none is held). DIDs without a number get one here;
/// one another transaction took meanwhile is read back by `DO UPDATE` (which, unlike `DO
/// NOTHING`, returns the row), so every row finds its numbers.
pub fn insert(conn: &mut PgConnection, rows: &[LikeRow]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    let mut did = Vec::with_capacity(n);
    let mut rkey = Vec::with_capacity(n);
    let mut rkey_text = Vec::with_capacity(n);
    let mut subject_did = Vec::with_capacity(n);
    let mut subject_rkey = Vec::with_capacity(n);
    let mut subject_uri = Vec::with_capacity(n);
    let mut cid = Vec::with_capacity(n);
    let mut subject_cid = Vec::with_capacity(n);
    let mut via_uri = Vec::with_capacity(n);
    let mut created_at: Vec<DateTime<Utc>> = Vec::with_capacity(n);
    let mut indexed_at: Vec<DateTime<Utc>> = Vec::with_capacity(n);
    for row in rows {
        let own = key(&row.uri);
        let rk = own.as_ref().map(|k| k.rkey);
        did.push(row.user_did.as_str());
        rkey.push(rk.and_then(|r| r.ok()));
        // A URI not of the like form (never made by the writer) keeps its whole text.
        rkey_text.push(match rk {
            Some(Ok(_)) => None,
            Some(Err(text)) => Some(text),
            None => Some(row.uri.as_str()),
        });
        match compact_post(&row.post_uri) {
            Some((d, r)) => {
                subject_did.push(Some(d));
                subject_rkey.push(Some(r));
                subject_uri.push(None);
            }
            None => {
                subject_did.push(None);
                subject_rkey.push(None);
                subject_uri.push(Some(row.post_uri.as_str()));
            }
        }
        cid.push(row.cid.as_str());
        subject_cid.push(row.subject_cid.as_str());
        via_uri.push(row.via_uri.as_deref());
        created_at.push(row.created_at);
        indexed_at.push(row.indexed_at);
    }
    diesel::sql_query(
        "WITH r AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], \
           $5::int8[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], \
           $11::timestamptz[]) AS r(did, rkey, rkey_text, subject_did, subject_rkey, \
           subject_uri, cid, subject_cid, via_uri, created_at, indexed_at)), \
         want AS (SELECT did FROM r UNION SELECT subject_did FROM r WHERE subject_did IS NOT NULL), \
         taken AS (INSERT INTO actors (did) SELECT w.did FROM want w \
           WHERE NOT EXISTS (SELECT 1 FROM actors a WHERE a.did = w.did) ORDER BY w.did \
           ON CONFLICT (did) DO UPDATE SET did = EXCLUDED.did RETURNING id, did), \
         ids AS (SELECT a.id, a.did FROM actors a JOIN want w ON a.did = w.did \
           UNION ALL SELECT id, did FROM taken) \
         INSERT INTO like_records (actor_id, rkey, subject_actor, subject_rkey, created_at, \
           indexed_at, cid, subject_cid, rkey_text, subject_uri, via_uri) \
         SELECT a.id, COALESCE(r.rkey, -nextval('like_records_other_rkey_seq')), s.id, \
           r.subject_rkey, r.created_at, r.indexed_at, r.cid, r.subject_cid, r.rkey_text, \
           r.subject_uri, r.via_uri \
         FROM r JOIN ids a ON a.did = r.did LEFT JOIN ids s ON s.did = r.subject_did",
    )
    .bind::<Array<Text>, _>(did)
    .bind::<Array<Nullable<BigInt>>, _>(rkey)
    .bind::<Array<Nullable<Text>>, _>(rkey_text)
    .bind::<Array<Nullable<Text>>, _>(subject_did)
    .bind::<Array<Nullable<BigInt>>, _>(subject_rkey)
    .bind::<Array<Nullable<Text>>, _>(subject_uri)
    .bind::<Array<Text>, _>(cid)
    .bind::<Array<Text>, _>(subject_cid)
    .bind::<Array<Nullable<Text>>, _>(via_uri)
    .bind::<Array<Timestamptz>, _>(created_at)
    .bind::<Array<Timestamptz>, _>(indexed_at)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct GoneSubject {
    #[diesel(sql_type = Nullable<Text>)]
    subject_did: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    subject_rkey: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    subject_uri: Option<String>,
}

/// Deletes every like of `did`; the subject of each, for the counters.
pub fn purge(conn: &mut PgConnection, did: &str) -> QueryResult<Vec<String>> {
    let rows: Vec<GoneSubject> = diesel::sql_query(
        "WITH d AS (DELETE FROM like_records \
           WHERE actor_id = (SELECT id FROM actors WHERE did = $1) \
           RETURNING subject_actor, subject_rkey, subject_uri) \
         SELECT s.did AS subject_did, d.subject_rkey, d.subject_uri \
         FROM d LEFT JOIN actors s ON s.id = d.subject_actor",
    )
    .bind::<Text, _>(did)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| subject_text(r.subject_did, r.subject_rkey, r.subject_uri))
        .collect())
}

/// `SELECT uri, cid` of the likes of the repo `$did` (a parameter), for the snapshot diff
/// (`held`); with `uris`, only those of that array parameter (their keys found by SQL's
/// `tid_int`, so a chunk probes its own keys, not the repo's every like).
pub fn held_sql(did: &str, uris: Option<&str>) -> String {
    let uri = format!(
        "('at://' || {did} || '{LIKE_PATH}' || COALESCE(l.rkey_text, tid_text(l.rkey))) \
         COLLATE \"C\""
    );
    let repo = format!("l.actor_id = (SELECT id FROM actors WHERE did = {did})");
    match uris {
        None => format!("SELECT {uri} AS uri, l.cid FROM like_records l WHERE {repo}"),
        Some(uris) => format!(
            "SELECT x.uri, x.cid FROM (\
               SELECT {uri} AS uri, l.cid FROM like_records l WHERE {repo} AND l.rkey IN \
                 (SELECT tid_int(substr(u, length('at://' || {did} || '{LIKE_PATH}') + 1)) \
                  FROM unnest({uris}) u) \
               UNION ALL \
               SELECT {uri} AS uri, l.cid FROM like_records l WHERE {repo} AND l.rkey_text IN \
                 (SELECT substr(u, length('at://' || {did} || '{LIKE_PATH}') + 1) \
                  FROM unnest({uris}) u)) x \
             WHERE x.uri = ANY({uris})"
        ),
    }
}

#[derive(QueryableByName)]
pub(super) struct PairCount {
    #[diesel(sql_type = SmallInt)]
    pub t: i16,
    #[diesel(sql_type = BigInt)]
    pub i: i64,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// The pair probes' branches for likes (see `load::pair_sql`), tagged `compact` and `text`:
/// compact subjects bound as `$a` (accounts), `$a+1` (subjects' accounts), `$a+2` (their
/// record keys); subjects kept as text as `$a+3` (accounts) and `$a+4` (subjects).
pub(super) fn pair_branches(compact: i16, text: i16, a: usize) -> [String; 2] {
    let actor = "(SELECT id FROM actors WHERE did = p.actor)";
    [
        format!(
            "SELECT {compact}::int2 AS t, p.i, c.n \
             FROM unnest(${a}::text[], ${}::text[], ${}::int8[]) WITH ORDINALITY \
               AS p(actor, sdid, srkey, i) \
             CROSS JOIN LATERAL (SELECT count(*) AS n FROM like_records r \
               WHERE r.subject_actor = (SELECT id FROM actors WHERE did = p.sdid) \
               AND r.subject_rkey = p.srkey AND r.actor_id = {actor}) c \
             WHERE c.n > 0",
            a + 1,
            a + 2
        ),
        format!(
            "SELECT {text}::int2 AS t, p.i, c.n \
             FROM unnest(${}::text[], ${}::text[]) WITH ORDINALITY AS p(actor, subject, i) \
             CROSS JOIN LATERAL (SELECT count(*) AS n FROM like_records r \
               WHERE r.subject_uri = p.subject AND r.actor_id = {actor}) c \
             WHERE c.n > 0",
            a + 3,
            a + 4
        ),
    ]
}
