//! The queries behind `skyindex health` and `skyindex status`: saved cursors, row counts (exact,
//! or PostgreSQL's estimates), and counter totals.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::DbError;
use crate::schema::firehose_cursor;

/// The tables `status` counts.
pub const TABLES: [&str; 26] = [
    "users",
    "posts",
    "likes",
    "reposts",
    "follows",
    "blocks",
    "feed_items",
    "generic_records",
    "lists",
    "list_items",
    "list_blocks",
    "starter_packs",
    "feed_generators",
    "labeler_services",
    "verifications",
    "actor_statuses",
    "notification_declarations",
    "chat_declarations",
    "threadgates",
    "postgates",
    "labels",
    "notifications",
    "post_aggregations",
    "user_aggregations",
    "list_aggregations",
    "firehose_cursor",
];

#[derive(Debug, Queryable)]
pub struct CursorRow {
    pub service: String,
    pub cursor: i64,
    pub last_event_time: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// The prefix of a labeler's cursor row (`labels:<DID>`); the firehose's rows have none.
pub const LABELER_CURSOR_PREFIX: &str = "labels:";

impl CursorRow {
    /// The labeler's DID, when this is a labeler's cursor.
    pub fn labeler(&self) -> Option<&str> {
        self.service.strip_prefix(LABELER_CURSOR_PREFIX)
    }
}

/// Every saved cursor, most recently updated first.
pub fn cursors(conn: &mut PgConnection) -> Result<Vec<CursorRow>, DbError> {
    firehose_cursor::table
        .select((
            firehose_cursor::service,
            firehose_cursor::cursor,
            firehose_cursor::last_event_time,
            firehose_cursor::updated_at,
        ))
        .order(firehose_cursor::updated_at.desc())
        .load(conn)
        .map_err(DbError::query("firehose_cursor"))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = Text)]
    relname: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The table holding a name's rows: `likes` is a view of `like_records`.
fn physical(name: &str) -> &str {
    match name {
        "likes" => "like_records",
        other => other,
    }
}

/// Rows per table of [`TABLES`], exactly (a full scan of each) or from PostgreSQL's statistics
/// (instant, approximate).
pub fn row_counts(
    conn: &mut PgConnection,
    exact: bool,
) -> Result<Vec<(&'static str, i64)>, DbError> {
    if !exact {
        let estimates: Vec<Estimate> = diesel::sql_query(
            "SELECT relname::text AS relname, n_live_tup AS n FROM pg_stat_user_tables",
        )
        .load(conn)
        .map_err(DbError::query("pg_stat_user_tables"))?;
        return Ok(TABLES
            .iter()
            .map(|t| {
                (
                    *t,
                    estimates
                        .iter()
                        .find(|e| e.relname == physical(t))
                        .map_or(0, |e| e.n),
                )
            })
            .collect());
    }
    TABLES
        .iter()
        .map(|t| {
            // Table names are our own constants, never input.
            diesel::sql_query(format!("SELECT count(*) AS n FROM {t}"))
                .get_result::<Count>(conn)
                .map(|c| (*t, c.n))
                .map_err(DbError::query(*t))
        })
        .collect()
}

#[derive(Debug, QueryableByName)]
pub struct CounterTotals {
    #[diesel(sql_type = BigInt)]
    pub likes: i64,
    #[diesel(sql_type = BigInt)]
    pub reposts: i64,
    #[diesel(sql_type = BigInt)]
    pub replies: i64,
    #[diesel(sql_type = BigInt)]
    pub quotes: i64,
    #[diesel(sql_type = BigInt)]
    pub followers: i64,
    #[diesel(sql_type = BigInt)]
    pub follows: i64,
    #[diesel(sql_type = BigInt)]
    pub posts: i64,
}

impl CounterTotals {
    /// Each total under its column's name.
    pub fn named(&self) -> [(&'static str, i64); 7] {
        [
            ("like_count", self.likes),
            ("repost_count", self.reposts),
            ("reply_count", self.replies),
            ("quote_count", self.quotes),
            ("followers_count", self.followers),
            ("follows_count", self.follows),
            ("posts_count", self.posts),
        ]
    }
}

/// Every counter column summed over its table.
pub fn counter_totals(conn: &mut PgConnection) -> Result<CounterTotals, DbError> {
    diesel::sql_query(
        "SELECT \
         (SELECT COALESCE(sum(like_count), 0)::bigint FROM post_aggregations) AS likes, \
         (SELECT COALESCE(sum(repost_count), 0)::bigint FROM post_aggregations) AS reposts, \
         (SELECT COALESCE(sum(reply_count), 0)::bigint FROM post_aggregations) AS replies, \
         (SELECT COALESCE(sum(quote_count), 0)::bigint FROM post_aggregations) AS quotes, \
         (SELECT COALESCE(sum(followers_count), 0)::bigint FROM user_aggregations) AS followers, \
         (SELECT COALESCE(sum(follows_count), 0)::bigint FROM user_aggregations) AS follows, \
         (SELECT COALESCE(sum(posts_count), 0)::bigint FROM user_aggregations) AS posts",
    )
    .get_result(conn)
    .map_err(DbError::query("counter totals"))
}
