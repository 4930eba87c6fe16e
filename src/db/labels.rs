//! The `labels` table: one row per label identity (src, uri, cid, val), the newest word of its
//! labeler. Written by one `INSERT … ON CONFLICT DO UPDATE … WHERE` whose rule makes the table
//! independent of the order and number of times labels are applied:
//!
//! a label replaces the row when its `(cts, neg)` is greater (`neg` winning a tie of `cts`,
//! so a negation made at the same instant as the label it negates takes it out of force);
//! otherwise it is a replay or older, and changes nothing.
//!
//! A negation stays as a row (`neg = true`), so an older positive label replayed after it finds
//! a newer row and cannot come back. Expired rows stay too: queries filter on `exp`.
//!
//! Also the one query that says which labelers we know of (`--labelers seen`), kept here alone
//! so a move of their records to a typed table changes one function.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::CHUNK;
use crate::schema::{labeler_services, labels};

/// A label as stored. `cid` is `""` for a label on the subject whatever its version.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = labels)]
pub struct LabelRow<'a> {
    pub src: &'a str,
    pub uri: &'a str,
    pub cid: &'a str,
    pub val: &'a str,
    pub neg: bool,
    pub cts: DateTime<Utc>,
    pub exp: Option<DateTime<Utc>>,
    pub sig: &'a [u8],
    pub seq: i64,
}

impl LabelRow<'_> {
    /// Whether this label replaces `old` under the table's rule.
    pub fn replaces(&self, old: &LabelRow<'_>) -> bool {
        (self.cts, self.neg) > (old.cts, old.neg)
    }
}

/// One row per identity, the one the table's rule keeps (the first of equals, as the table
/// would), in first-seen order: one statement may not touch a row twice.
pub fn winners<'a>(rows: impl IntoIterator<Item = LabelRow<'a>>) -> Vec<LabelRow<'a>> {
    let mut out: Vec<LabelRow<'a>> = Vec::new();
    let mut at: HashMap<(&'a str, &'a str, &'a str, &'a str), usize> = HashMap::new();
    for row in rows {
        let key = (row.src, row.uri, row.cid, row.val);
        match at.get(&key) {
            Some(&i) => {
                if row.replaces(&out[i]) {
                    out[i] = row;
                }
            }
            None => {
                at.insert(key, out.len());
                out.push(row);
            }
        }
    }
    out
}

/// Applies `rows` (one per identity, see [`winners`]); how many rows changed.
pub fn write(conn: &mut PgConnection, rows: &[LabelRow<'_>]) -> QueryResult<usize> {
    use labels::dsl as l;
    let mut changed = 0;
    for chunk in rows.chunks(CHUNK) {
        let upsert = diesel::insert_into(l::labels)
            .values(chunk)
            .on_conflict((l::src, l::uri, l::cid, l::val))
            .do_update()
            .set((
                l::neg.eq(excluded(l::neg)),
                l::cts.eq(excluded(l::cts)),
                l::exp.eq(excluded(l::exp)),
                l::sig.eq(excluded(l::sig)),
                l::seq.eq(excluded(l::seq)),
            ));
        // ON CONFLICT … DO UPDATE … WHERE (cts, neg) is greater: newer, or as new and a
        // negation of a label. (Named in full: `QueryDsl::filter` is in scope too.)
        let rule = l::cts.lt(excluded(l::cts)).or(l::cts
            .eq(excluded(l::cts))
            .and(l::neg.eq(false))
            .and(excluded(l::neg).eq(true)));
        changed += diesel::query_dsl::methods::FilterDsl::filter(upsert, rule).execute(conn)?;
    }
    Ok(changed)
}

/// A label in force, as the queries of the README return it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct InForce {
    pub src: String,
    pub uri: String,
    pub cid: String,
    pub val: String,
    pub cts: DateTime<Utc>,
    pub exp: Option<DateTime<Utc>>,
}

/// Every label in force at `at` (not negated, not expired), ordered by identity.
pub fn in_force(conn: &mut PgConnection, at: DateTime<Utc>) -> QueryResult<Vec<InForce>> {
    use labels::dsl as l;
    l::labels
        .filter(l::neg.eq(false))
        .filter(l::exp.is_null().or(l::exp.gt(at)))
        .select((l::src, l::uri, l::cid, l::val, l::cts, l::exp))
        .order((l::src, l::uri, l::cid, l::val))
        .load(conn)
}

/// The labels in force at `at` on one subject (a record's at:// URI or an account's DID).
pub fn in_force_on(
    conn: &mut PgConnection,
    uri: &str,
    at: DateTime<Utc>,
) -> QueryResult<Vec<InForce>> {
    use labels::dsl as l;
    l::labels
        .filter(l::uri.eq(uri))
        .filter(l::neg.eq(false))
        .filter(l::exp.is_null().or(l::exp.gt(at)))
        .select((l::src, l::uri, l::cid, l::val, l::cts, l::exp))
        .order((l::src, l::cid, l::val))
        .load(conn)
}

/// How many labels are in force at `at`.
pub fn count_in_force(conn: &mut PgConnection, at: DateTime<Utc>) -> QueryResult<i64> {
    use labels::dsl as l;
    l::labels
        .filter(l::neg.eq(false))
        .filter(l::exp.is_null().or(l::exp.gt(at)))
        .count()
        .get_result(conn)
}

/// Most labelers `seen` returns: each is a thread and a connection, and anyone can publish a
/// labeler record.
pub const MAX_SEEN_LABELERS: i64 = 1000;

/// The DIDs of every account whose `app.bsky.labeler.service` record (key `self`, so one per
/// account) we hold, oldest record first, at most [`MAX_SEEN_LABELERS`].
pub fn seen_labelers(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    use labeler_services::dsl as l;
    l::labeler_services
        .select(l::author_did)
        .order((l::indexed_at, l::author_did))
        .limit(MAX_SEEN_LABELERS)
        .load::<String>(conn)
}
