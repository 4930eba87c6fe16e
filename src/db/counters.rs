//! Counter rows: a group's deltas added to `post_aggregations`, `user_aggregations` and
//! `list_aggregations`, in key order (see [`Deltas`] on why), last in the group's transaction.

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::CHUNK;
use crate::changes::Deltas;
use crate::schema::{list_aggregations, post_aggregations, user_aggregations};

#[derive(Debug, Clone, PartialEq, Eq, Default, Insertable)]
#[diesel(table_name = post_aggregations)]
pub struct PostCounts {
    pub post_uri: String,
    pub like_count: i64,
    pub repost_count: i64,
    pub reply_count: i64,
    pub quote_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Insertable)]
#[diesel(table_name = user_aggregations)]
pub struct UserCounts {
    pub did: String,
    pub followers_count: i64,
    pub follows_count: i64,
    pub posts_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Insertable)]
#[diesel(table_name = list_aggregations)]
pub struct ListCounts {
    pub list_uri: String,
    pub member_count: i64,
}

/// Applies a group's counter deltas, in key order.
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
    let lists: Vec<ListCounts> = deltas
        .lists
        .iter()
        .map(|(uri, d)| ListCounts {
            list_uri: uri.clone(),
            member_count: *d,
        })
        .collect();
    for chunk in lists.chunks(CHUNK) {
        use list_aggregations::dsl as l;
        diesel::insert_into(l::list_aggregations)
            .values(chunk)
            .on_conflict(l::list_uri)
            .do_update()
            .set(l::member_count.eq(l::member_count + excluded(l::member_count)))
            .execute(conn)?;
    }
    Ok(())
}
