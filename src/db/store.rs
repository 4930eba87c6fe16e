//! Writes a planned segment: for each table, one DELETE of the URIs that go or change, then
//! multi-row INSERTs of the rows that come; account rows upserted once; counters last.

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::schema::{
    blocks, feed_items, follows, generic_records, likes, post_aggregations, posts, reposts,
    user_aggregations, users,
};
use crate::db::models::{PostCounts, UserCounts};
use crate::writer::plan::{Deltas, Plan};

/// Rows per INSERT: well under PostgreSQL's 65,535 bind parameters for our widest row (17).
const CHUNK: usize = 1000;

macro_rules! write_table {
    ($conn:expr, $diff:expr, $table:ident) => {{
        let diff = &$diff;
        if !diff.delete.is_empty() {
            diesel::delete($table::table.filter($table::uri.eq_any(&diff.delete)))
                .execute($conn)?;
        }
        // COPY: these rows cannot conflict (the planner checked each URI against the table and
        // deleted what it replaces), and COPY is the cheapest way into PostgreSQL.
        if !diff.insert.is_empty() {
            diesel::copy_from($table::table)
                .from_insertable(&diff.insert)
                .execute($conn)?;
        }
    }};
}

pub fn write_plan(conn: &mut PgConnection, plan: &Plan) -> QueryResult<()> {
    for chunk in plan.users.chunks(CHUNK) {
        diesel::insert_into(users::table)
            .values(chunk)
            .on_conflict(users::did)
            .do_update()
            .set((
                users::handle.eq(excluded(users::handle)),
                users::active.eq(excluded(users::active)),
                users::status.eq(excluded(users::status)),
                users::rev.eq(excluded(users::rev)),
                users::indexed_at.eq(excluded(users::indexed_at)),
            ))
            .execute(conn)?;
    }
    // Profile records change rarely; one statement each is fine.
    for (did, columns) in &plan.profiles {
        diesel::update(users::table.find(did))
            .set(columns)
            .execute(conn)?;
    }
    write_table!(conn, plan.posts, posts);
    write_table!(conn, plan.likes, likes);
    write_table!(conn, plan.reposts, reposts);
    write_table!(conn, plan.follows, follows);
    write_table!(conn, plan.blocks, blocks);
    write_table!(conn, plan.generic, generic_records);
    write_table!(conn, plan.feed_items, feed_items);
    Ok(())
}

/// Applies a group's counter deltas, in key order (see `plan::Deltas` on why).
pub fn write_deltas(conn: &mut PgConnection, deltas: &Deltas) -> QueryResult<()> {
    let posts: Vec<PostCounts> = deltas
        .posts
        .iter()
        .map(|(uri, d)| PostCounts {
            post_uri: uri.clone(),
            like_count: d.likes,
            repost_count: d.reposts,
            reply_count: d.replies,
            quote_count: d.quotes,
        })
        .collect();
    for chunk in posts.chunks(CHUNK) {
        use post_aggregations::dsl as p;
        diesel::insert_into(p::post_aggregations)
            .values(chunk)
            .on_conflict(p::post_uri)
            .do_update()
            .set((
                p::like_count.eq(p::like_count + excluded(p::like_count)),
                p::repost_count.eq(p::repost_count + excluded(p::repost_count)),
                p::reply_count.eq(p::reply_count + excluded(p::reply_count)),
                p::quote_count.eq(p::quote_count + excluded(p::quote_count)),
            ))
            .execute(conn)?;
    }
    let users: Vec<UserCounts> = deltas
        .users
        .iter()
        .map(|(did, d)| UserCounts {
            did: did.clone(),
            followers_count: d.followers,
            follows_count: d.follows,
            posts_count: d.posts,
        })
        .collect();
    for chunk in users.chunks(CHUNK) {
        use user_aggregations::dsl as u;
        diesel::insert_into(u::user_aggregations)
            .values(chunk)
            .on_conflict(u::did)
            .do_update()
            .set((
                u::followers_count.eq(u::followers_count + excluded(u::followers_count)),
                u::follows_count.eq(u::follows_count + excluded(u::follows_count)),
                u::posts_count.eq(u::posts_count + excluded(u::posts_count)),
            ))
            .execute(conn)?;
    }
    Ok(())
}
