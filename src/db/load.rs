//! Loads the rows a segment of events touches, in one query per table (URIs bound as one array),
//! so the planner can work in memory.

use std::collections::{HashMap, HashSet};

use diesel::dsl::count_star;
use diesel::prelude::*;

use super::models::UserState;
use super::schema::{blocks, follows, generic_records, likes, posts, reposts, users};
use crate::writer::plan::{pair_key, EdgeInfo, Loaded, Needs, Pair, PostInfo};

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
            ))
            .load::<(String, String, String, Option<String>, Option<String>)>(conn)?
            .into_iter()
            .map(|(uri, cid, author, parent_uri, quote_uri)| {
                let info = PostInfo {
                    cid,
                    author,
                    parent_uri,
                    quote_uri,
                };
                (uri, info)
            })
            .collect();
    }
    if !needs.likes.is_empty() {
        loaded.likes = edges(
            likes::table
                .filter(likes::uri.eq_any(&needs.likes))
                .select((likes::uri, likes::cid, likes::user_did, likes::post_uri))
                .load(conn)?,
        );
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

    let wanted = wanted_pairs(&needs.like_pairs, &loaded.likes);
    if !wanted.is_empty() {
        let (actors, subjects) = split(&wanted);
        let rows = likes::table
            .filter(likes::user_did.eq_any(&actors))
            .filter(likes::post_uri.eq_any(&subjects))
            .group_by((likes::user_did, likes::post_uri))
            .select((likes::user_did, likes::post_uri, count_star()))
            .load(conn)?;
        loaded.like_pairs = keep(rows, &wanted);
    }
    let wanted = wanted_pairs(&needs.repost_pairs, &loaded.reposts);
    if !wanted.is_empty() {
        let (actors, subjects) = split(&wanted);
        let rows = reposts::table
            .filter(reposts::user_did.eq_any(&actors))
            .filter(reposts::post_uri.eq_any(&subjects))
            .group_by((reposts::user_did, reposts::post_uri))
            .select((reposts::user_did, reposts::post_uri, count_star()))
            .load(conn)?;
        loaded.repost_pairs = keep(rows, &wanted);
    }
    let wanted = wanted_pairs(&needs.follow_pairs, &loaded.follows);
    if !wanted.is_empty() {
        let (actors, subjects) = split(&wanted);
        let rows = follows::table
            .filter(follows::follower_did.eq_any(&actors))
            .filter(follows::following_did.eq_any(&subjects))
            .group_by((follows::follower_did, follows::following_did))
            .select((follows::follower_did, follows::following_did, count_star()))
            .load(conn)?;
        loaded.follow_pairs = keep(rows, &wanted);
    }
    Ok(loaded)
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

fn split(pairs: &HashSet<Pair>) -> (Vec<&str>, Vec<&str>) {
    let mut actors: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
    let mut subjects: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
    actors.sort_unstable();
    actors.dedup();
    subjects.sort_unstable();
    subjects.dedup();
    (actors, subjects)
}

/// The query matched the cross product of actors and subjects; keep the pairs asked for.
fn keep(rows: Vec<(String, String, i64)>, wanted: &HashSet<Pair>) -> HashMap<Pair, i64> {
    rows.into_iter()
        .map(|(actor, subject, n)| ((actor, subject), n))
        .filter(|(pair, _)| wanted.contains(pair))
        .collect()
}
