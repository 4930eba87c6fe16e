//! Counter rows: a group's deltas added to `post_aggregations`, `user_aggregations` and
//! `list_aggregations`, in key order (see [`Deltas`] on why), last in the group's transaction.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use crate::changes::Deltas;

/// Applies a group's counter deltas, in key order, in one statement: the three upserts as
/// data-modifying CTEs read in turn by the outer query's three subqueries (which is the order
/// PostgreSQL runs them in: posts, then accounts, then lists, each in key order, as before; a
/// deadlock it would detect is retried like any fault of the database's), each fed its rows as
/// parallel arrays. One round trip a group instead of one a table and chunk: at the live rate a
/// group is a few events, and its time is round trips.
pub fn write_deltas(conn: &mut PgConnection, deltas: &Deltas) -> QueryResult<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut post_uris: Vec<&str> = Vec::with_capacity(deltas.posts.len());
    let [mut likes, mut reposts, mut replies, mut quotes]: [Vec<i64>; 4] = Default::default();
    for (uri, d) in &deltas.posts {
        post_uris.push(uri);
        likes.push(d.likes);
        reposts.push(d.reposts);
        replies.push(d.replies);
        quotes.push(d.quotes);
    }
    let mut dids: Vec<&str> = Vec::with_capacity(deltas.users.len());
    let [mut followers, mut follows, mut posts]: [Vec<i64>; 3] = Default::default();
    for (did, d) in &deltas.users {
        dids.push(did);
        followers.push(d.followers);
        follows.push(d.follows);
        posts.push(d.posts);
    }
    let (list_uris, members): (Vec<&str>, Vec<i64>) =
        deltas.lists.iter().map(|(u, n)| (u.as_str(), *n)).unzip();
    diesel::sql_query(
        "WITH p AS (\
           INSERT INTO post_aggregations AS a \
             (post_uri, like_count, repost_count, reply_count, quote_count) \
           SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) \
           ON CONFLICT (post_uri) DO UPDATE SET \
             like_count = a.like_count + excluded.like_count, \
             repost_count = a.repost_count + excluded.repost_count, \
             reply_count = a.reply_count + excluded.reply_count, \
             quote_count = a.quote_count + excluded.quote_count \
           RETURNING 1), \
         u AS (\
           INSERT INTO user_aggregations AS a \
             (did, followers_count, follows_count, posts_count) \
           SELECT * FROM unnest($6::text[], $7::int8[], $8::int8[], $9::int8[]) \
           ON CONFLICT (did) DO UPDATE SET \
             followers_count = a.followers_count + excluded.followers_count, \
             follows_count = a.follows_count + excluded.follows_count, \
             posts_count = a.posts_count + excluded.posts_count \
           RETURNING 1), \
         l AS (\
           INSERT INTO list_aggregations AS a (list_uri, member_count) \
           SELECT * FROM unnest($10::text[], $11::int8[]) \
           ON CONFLICT (list_uri) DO UPDATE SET member_count = a.member_count + excluded.member_count \
           RETURNING 1) \
         SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM u), (SELECT count(*) FROM l)",
    )
    .bind::<Array<Text>, _>(post_uris)
    .bind::<Array<BigInt>, _>(likes)
    .bind::<Array<BigInt>, _>(reposts)
    .bind::<Array<BigInt>, _>(replies)
    .bind::<Array<BigInt>, _>(quotes)
    .bind::<Array<Text>, _>(dids)
    .bind::<Array<BigInt>, _>(followers)
    .bind::<Array<BigInt>, _>(follows)
    .bind::<Array<BigInt>, _>(posts)
    .bind::<Array<Text>, _>(list_uris)
    .bind::<Array<BigInt>, _>(members)
    .execute(conn)
    .map(drop)
}
