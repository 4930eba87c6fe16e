//! Loads the rows a segment of events touches, in one query per table (URIs bound as one array),
//! so the planner can work in memory.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use super::replies::{reply_columns, reply_of, BelowRow};
use super::{gates, kinds, likes};
use crate::changes::rows::{NotificationRow, UserState};
use crate::changes::Kind;
use crate::changes::{pair_key, Descendant, EdgeInfo, Loaded, Needs, Pair, PostInfo, PostLink};
use crate::schema::{
    blocks, follows, generic_records, list_items, notifications, posts, reposts, users,
};

/// A post as loaded: URI, CID, author, parent, quoted post, whether its gate refused it.
type PostKey = (String, String, String, Option<String>, Option<String>, bool);

pub fn load(conn: &mut PgConnection, needs: &Needs) -> QueryResult<Loaded> {
    let mut loaded = Loaded::default();
    if !needs.dids.is_empty() {
        loaded.users = users::table
            .filter(users::did.eq_any(&needs.dids))
            .select(UserState::as_select())
            .load::<UserState>(conn)?
            .into_iter()
            .map(|u| (u.did.clone(), u))
            .collect();
    }
    if !needs.posts.is_empty() {
        loaded.posts = posts::table
            .filter(posts::uri.eq_any(&needs.posts))
            .select((
                posts::uri,
                posts::cid,
                posts::author_did,
                posts::parent_uri,
                posts::quote_uri,
                posts::violates_thread_gate,
            ))
            .load::<PostKey>(conn)?
            .into_iter()
            .map(|(uri, cid, author, parent_uri, quote_uri, violates)| {
                let info = PostInfo {
                    cid,
                    author,
                    parent_uri,
                    quote_uri,
                    violates_thread_gate: violates,
                };
                (uri, info)
            })
            .collect();
    }
    if !needs.likes.is_empty() {
        loaded.likes = likes::load(conn, &needs.likes)?;
    }
    if !needs.reposts.is_empty() {
        loaded.reposts = edges(
            reposts::table
                .filter(reposts::uri.eq_any(&needs.reposts))
                .select((
                    reposts::uri,
                    reposts::cid,
                    reposts::user_did,
                    reposts::post_uri,
                ))
                .load(conn)?,
        );
    }
    if !needs.follows.is_empty() {
        loaded.follows = edges(
            follows::table
                .filter(follows::uri.eq_any(&needs.follows))
                .select((
                    follows::uri,
                    follows::cid,
                    follows::follower_did,
                    follows::following_did,
                ))
                .load(conn)?,
        );
    }
    if !needs.blocks.is_empty() {
        loaded.blocks = blocks::table
            .filter(blocks::uri.eq_any(&needs.blocks))
            .select((blocks::uri, blocks::cid))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
    }
    if !needs.generic.is_empty() {
        loaded.generic = generic_records::table
            .filter(generic_records::uri.eq_any(&needs.generic))
            .select((generic_records::uri, generic_records::cid))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
    }

    if !needs.list_items.is_empty() {
        loaded.list_items = edges(
            list_items::table
                .filter(list_items::uri.eq_any(&needs.list_items))
                .select((
                    list_items::uri,
                    list_items::cid,
                    list_items::list_uri,
                    list_items::subject_did,
                ))
                .load(conn)?,
        );
    }
    for (kind, uris) in &needs.kinds {
        loaded
            .kinds
            .insert(*kind, kinds::uri_cids(conn, *kind, uris)?);
    }
    if let Some(uris) = needs.kinds.get(&Kind::Verifications) {
        loaded.verification_subjects = kinds::verification_subjects(conn, uris)?;
    }

    let [likes, reposts, follows, list_items] = pair_counts(
        conn,
        [
            wanted_pairs(&needs.like_pairs, &loaded.likes),
            wanted_pairs(&needs.repost_pairs, &loaded.reposts),
            wanted_pairs(&needs.follow_pairs, &loaded.follows),
            wanted_pairs(&needs.list_item_pairs, &loaded.list_items),
        ],
    )?;
    loaded.like_pairs = likes;
    loaded.repost_pairs = reposts;
    loaded.follow_pairs = follows;
    loaded.list_item_pairs = list_items;
    if !needs.reply_parents.is_empty() {
        loaded.chain = chain(conn, &needs.reply_parents)?;
    }
    if !needs.changed_posts.is_empty() {
        loaded.descendants = descendants(conn, &needs.changed_posts)?;
        if !loaded.descendants.is_empty() {
            let uris: Vec<&str> = loaded.descendants.iter().map(|d| d.uri.as_str()).collect();
            loaded.descendant_notifications = notifications::table
                .filter(notifications::record_uri.eq_any(&uris))
                .select(NotificationRow::as_select())
                .load(conn)?;
        }
    }
    if !needs.thread_gates.is_empty() {
        gates::thread_gates(conn, &needs.thread_gates, &mut loaded)?;
    }
    if !needs.rejudge.is_empty() {
        let parents = gates::rejudge(conn, &needs.rejudge, &mut loaded)?;
        if !parents.is_empty() {
            for (uri, link) in chain(conn, &parents)? {
                loaded.chain.entry(uri).or_insert(link);
            }
        }
    }
    if !needs.post_gates.is_empty() {
        loaded.disabling_post_gates = gates::disabling_post_gates(conn, &needs.post_gates)?;
    }
    Ok(loaded)
}

/// How far reply notifications reach up (and, from a changed post, down) a thread.
const THREAD_REACH: usize = 4;

/// The posts up the threads from `parents`, a few levels at most: one primary-key lookup per
/// level (a recursive query would leave the planner guessing the work table's size, and it
/// guesses a scan of every post).
fn chain(conn: &mut PgConnection, parents: &[String]) -> QueryResult<HashMap<String, PostLink>> {
    let mut out: HashMap<String, PostLink> = HashMap::new();
    let mut level: Vec<String> = parents.to_vec();
    for _ in 0..THREAD_REACH {
        level.retain(|u| !out.contains_key(u));
        if level.is_empty() {
            break;
        }
        let rows: Vec<(String, String, Option<String>)> = posts::table
            .filter(posts::uri.eq_any(&level))
            .select((posts::uri, posts::author_did, posts::parent_uri))
            .load(conn)?;
        level = rows.iter().filter_map(|(_, _, p)| p.clone()).collect();
        for (uri, author, parent_uri) in rows {
            out.insert(uri, PostLink { author, parent_uri });
        }
    }
    Ok(out)
}

/// The replies held below `changed`, a few levels down: one lookup per level over the parent
/// index. Usually one query that finds nothing (a reply rarely arrives before its parent).
fn descendants(conn: &mut PgConnection, changed: &[String]) -> QueryResult<Vec<Descendant>> {
    let mut out: Vec<Descendant> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut level: Vec<String> = changed.to_vec();
    for _ in 0..THREAD_REACH {
        if level.is_empty() {
            break;
        }
        let rows: Vec<BelowRow> = posts::table
            .filter(posts::parent_uri.eq_any(&level))
            .select(reply_columns!())
            .load(conn)?;
        level = Vec::new();
        for reply in rows.into_iter().filter_map(reply_of) {
            if !seen.insert(reply.uri.clone()) {
                continue;
            }
            level.push(reply.uri.clone());
            out.push(reply);
        }
    }
    Ok(out)
}

fn edges(rows: Vec<(String, String, String, String)>) -> HashMap<String, EdgeInfo> {
    rows.into_iter()
        .map(|(uri, cid, actor, subject)| {
            (
                uri,
                EdgeInfo {
                    cid,
                    actor,
                    subject,
                },
            )
        })
        .collect()
}

/// Pairs named by new records plus the pairs of rows that may be deleted or replaced.
fn wanted_pairs(named: &[Pair], loaded: &HashMap<String, EdgeInfo>) -> HashSet<Pair> {
    named
        .iter()
        .cloned()
        .chain(loaded.values().map(|e| pair_key(&e.actor, &e.subject)))
        .collect()
}

/// The text pair tables, in the order of [`pair_counts`]'s sets after likes: table, actor
/// column, subject column. Likes, by compact keys, have branches of their own
/// ([`likes::pair_branches`]).
const PAIR_TABLES: [(&str, &str, &str); 3] = [
    ("reposts", "user_did", "post_uri"),
    ("follows", "follower_did", "following_did"),
    ("list_items", "list_uri", "subject_did"),
];

/// The tags of the likes' branches: after the text tables' 0..3.
const LIKES_COMPACT: i16 = 3;
const LIKES_TEXT: i16 = 4;

/// The statement counting the pairs of every pair table at once (one round trip a group, not
/// one a table: at the live rate a group is a few events and its time is round trips). Each
/// table's pairs go in as parallel arrays, each pair counted by its own probe of the
/// (subject, actor) index and answered by its ordinal: `actor = ANY(..) AND subject = ANY(..)`
/// would probe the whole cross product, and a plain join lets the planner pick a sequential
/// scan and sort of the whole table when its statistics are stale (one repo's snapshot, a
/// million likes into a table analyzed empty, went from 160 ms a chunk to a few). Names are
/// our own constants.
fn pair_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        PAIR_TABLES
            .iter()
            .enumerate()
            .map(|(i, (table, actor, subject))| {
                format!(
                    "SELECT {i}::int2 AS t, p.i, c.n \
                     FROM unnest(${a}::text[], ${s}::text[]) WITH ORDINALITY \
                       AS p(actor, subject, i) \
                     CROSS JOIN LATERAL (SELECT count(*) AS n FROM {table} r \
                       WHERE r.{subject} = p.subject AND r.{actor} = p.actor) c \
                     WHERE c.n > 0",
                    a = 2 * i + 1,
                    s = 2 * i + 2,
                )
            })
            .chain(likes::pair_branches(
                LIKES_COMPACT,
                LIKES_TEXT,
                2 * PAIR_TABLES.len() + 1,
            ))
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    })
}

/// How many rows each wanted (actor, subject) pair has, per pair table (likes, reposts,
/// follows, list items).
fn pair_counts(
    conn: &mut PgConnection,
    wanted: [HashSet<Pair>; 4],
) -> QueryResult<[HashMap<Pair, i64>; 4]> {
    let mut out: [HashMap<Pair, i64>; 4] = Default::default();
    if wanted.iter().all(HashSet::is_empty) {
        return Ok(out);
    }
    let [likes, rest @ ..] = wanted;
    let (compact, text): (Vec<Pair>, Vec<Pair>) = likes
        .into_iter()
        .partition(|(_, subject)| likes::compact_post(subject).is_some());
    let lists: [Vec<Pair>; 5] = {
        let [r, f, l] = rest;
        [
            r.into_iter().collect(),
            f.into_iter().collect(),
            l.into_iter().collect(),
            compact,
            text,
        ]
    };
    fn columns(pairs: &[Pair]) -> (Vec<&str>, Vec<&str>) {
        pairs.iter().map(|(a, s)| (a.as_str(), s.as_str())).unzip()
    }
    let [l0, l1, l2, lc, lt] = &lists;
    let ((a0, s0), (a1, s1), (a2, s2), (at, st)) =
        (columns(l0), columns(l1), columns(l2), columns(lt));
    let mut ca = Vec::with_capacity(lc.len());
    let mut cd = Vec::with_capacity(lc.len());
    let mut cr = Vec::with_capacity(lc.len());
    for (actor, subject) in lc {
        if let Some((did, rkey)) = likes::compact_post(subject) {
            ca.push(actor.as_str());
            cd.push(did);
            cr.push(rkey);
        }
    }
    let rows: Vec<likes::PairCount> = diesel::sql_query(pair_sql())
        .bind::<Array<Text>, _>(a0)
        .bind::<Array<Text>, _>(s0)
        .bind::<Array<Text>, _>(a1)
        .bind::<Array<Text>, _>(s1)
        .bind::<Array<Text>, _>(a2)
        .bind::<Array<Text>, _>(s2)
        .bind::<Array<Text>, _>(ca)
        .bind::<Array<Text>, _>(cd)
        .bind::<Array<BigInt>, _>(cr)
        .bind::<Array<Text>, _>(at)
        .bind::<Array<Text>, _>(st)
        .load(conn)?;
    for r in rows {
        // Tag → (the set it answers, the list its ordinal indexes).
        let (set, list) = match r.t {
            0..=2 => (r.t as usize + 1, r.t as usize),
            LIKES_COMPACT => (0, 3),
            LIKES_TEXT => (0, 4),
            _ => continue,
        };
        let pair = usize::try_from(r.i - 1)
            .ok()
            .and_then(|i| lists[list].get(i));
        if let Some(pair) = pair {
            out[set].insert(pair.clone(), r.n);
        }
    }
    Ok(out)
}
