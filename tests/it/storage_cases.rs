//! Focused storage cases, each on its own database: exact rows and counters after small streams
//! built event by event (see `common::events`), and for each stream that applying it a second
//! time changes nothing and that grouping it differently gives the same tables.

use std::collections::BTreeMap;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use skyindex::decode::{InvalidOp, TypedEvent};
use skyindex::records::{self, RecordValue};
use skyindex::schema::{feed_items, post_aggregations, posts, user_aggregations, users};
use skyindex::writer::apply::{apply_group, GroupStats};

use crate::common::db::TestDb;
use crate::common::events::{
    self, at_uri, block, create, delete, follow, like, list, note, post, profile, refs, repost,
    rkey, time_of, try_record, update, Ref, Stream, LIST, NOTE,
};
use crate::common::truth;

const ALICE: &str = "did:plc:alice";
const BOB: &str = "did:plc:bob";
const CAROL: &str = "did:plc:carol";
const DAVE: &str = "did:plc:dave";

type Dump = BTreeMap<String, Vec<String>>;

/// A database and a connection to it (the connection goes first, then the database).
pub(crate) struct Case {
    pub conn: PgConnection,
    _db: TestDb,
}

pub(crate) fn fresh() -> Case {
    let db = TestDb::new();
    Case {
        conn: db.conn(),
        _db: db,
    }
}

fn apply(conn: &mut PgConnection, events: &[&TypedEvent]) -> GroupStats {
    apply_group(conn, events).unwrap_or_else(|e| panic!("group applies: {e}"))
}

/// Applies `events` one per group.
pub(crate) fn apply_each(conn: &mut PgConnection, events: &[TypedEvent]) -> GroupStats {
    let mut total = GroupStats::default();
    for e in events {
        let s = apply(conn, &[e]);
        total.plan.add(&s.plan);
        total.purged_accounts += s.purged_accounts;
        total.purged_records += s.purged_records;
    }
    total
}

pub(crate) fn apply_in_groups(conn: &mut PgConnection, events: &[TypedEvent], size: usize) {
    for chunk in refs(events).chunks(size) {
        apply(conn, chunk);
    }
}

/// Every difference between two dumps, one line each.
fn dump_diff(a: &Dump, b: &Dump) -> Vec<String> {
    let mut out = Vec::new();
    for (table, rows) in a {
        let other = b.get(table).cloned().unwrap_or_default();
        for r in rows.iter().filter(|r| !other.contains(r)) {
            out.push(format!("{table}: - {r}"));
        }
        for r in other.iter().filter(|r| !rows.contains(r)) {
            out.push(format!("{table}: + {r}"));
        }
    }
    out
}

fn assert_same(a: &Dump, b: &Dump, what: &str) {
    let diff = dump_diff(a, b);
    assert!(diff.is_empty(), "{what}:\n{}", diff.join("\n"));
}

/// Applies `events` one per group, then again; in one group, then again; in groups of 3; each on
/// its own database. Asserts that the second passes change nothing and that every grouping
/// leaves the same tables. Returns the database that took them one per group.
pub(crate) fn settle(events: &[TypedEvent]) -> Case {
    let mut each = fresh();
    apply_each(&mut each.conn, events);
    let once = truth::dump(&mut each.conn);
    apply_each(&mut each.conn, events);
    assert_same(
        &once,
        &truth::dump(&mut each.conn),
        "applying the events again, one per group",
    );

    let mut whole = fresh();
    apply(&mut whole.conn, &refs(events));
    assert_same(
        &once,
        &truth::dump(&mut whole.conn),
        "one group vs one event per group",
    );
    apply(&mut whole.conn, &refs(events));
    assert_same(
        &once,
        &truth::dump(&mut whole.conn),
        "applying the events again, in one group",
    );

    let mut threes = fresh();
    apply_in_groups(&mut threes.conn, events, 3);
    assert_same(
        &once,
        &truth::dump(&mut threes.conn),
        "groups of 3 vs one event per group",
    );
    each
}

// ---- reading the tables ----------------------------------------------------------------------

/// (likes, reposts, replies, quotes) of a post, if it has a counter row.
fn post_counts(conn: &mut PgConnection, uri: &str) -> Option<(i64, i64, i64, i64)> {
    use post_aggregations::dsl as p;
    p::post_aggregations
        .find(uri)
        .select((
            p::like_count,
            p::repost_count,
            p::reply_count,
            p::quote_count,
        ))
        .first(conn)
        .optional()
        .expect("read post_aggregations")
}

/// (likes, reposts, replies, quotes), zeros when there is no counter row.
fn counts(conn: &mut PgConnection, uri: &str) -> (i64, i64, i64, i64) {
    post_counts(conn, uri).unwrap_or_default()
}

/// (followers, follows, posts) of an account, if it has a counter row.
fn user_counts(conn: &mut PgConnection, did: &str) -> Option<(i64, i64, i64)> {
    use user_aggregations::dsl as u;
    u::user_aggregations
        .find(did)
        .select((u::followers_count, u::follows_count, u::posts_count))
        .first(conn)
        .optional()
        .expect("read user_aggregations")
}

fn ucounts(conn: &mut PgConnection, did: &str) -> (i64, i64, i64) {
    user_counts(conn, did).unwrap_or_default()
}

#[derive(Debug, Queryable)]
#[allow(dead_code)]
struct UserRow {
    did: String,
    handle: Option<String>,
    display_name: Option<String>,
    description: Option<String>,
    profile_cid: Option<String>,
    profile_record: Option<serde_json::Value>,
    active: bool,
    status: Option<String>,
    rev: Option<String>,
}

fn user(conn: &mut PgConnection, did: &str) -> UserRow {
    users::table
        .find(did)
        .select((
            users::did,
            users::handle,
            users::display_name,
            users::description,
            users::profile_cid,
            users::profile_record,
            users::active,
            users::status,
            users::rev,
        ))
        .first(conn)
        .unwrap_or_else(|e| panic!("users row of {did}: {e}"))
}

#[derive(Debug, Queryable, PartialEq)]
struct PostView {
    cid: String,
    text: String,
    parent_uri: Option<String>,
    root_uri: Option<String>,
    quote_uri: Option<String>,
    quote_cid: Option<String>,
}

fn post_row(conn: &mut PgConnection, uri: &str) -> Option<PostView> {
    posts::table
        .find(uri)
        .select((
            posts::cid,
            posts::text,
            posts::parent_uri,
            posts::root_uri,
            posts::quote_uri,
            posts::quote_cid,
        ))
        .first(conn)
        .optional()
        .expect("read posts")
}

/// Feed items as (uri, post_uri, originator_did, type, cid), by URI.
fn feed(conn: &mut PgConnection) -> Vec<(String, String, String, String, String)> {
    use feed_items::dsl as f;
    f::feed_items
        .select((f::uri, f::post_uri, f::originator_did, f::type_, f::cid))
        .order(f::uri)
        .load(conn)
        .expect("read feed_items")
}

#[derive(QueryableByName)]
struct UriCid {
    #[diesel(sql_type = Text)]
    uri: String,
    #[diesel(sql_type = Text)]
    cid: String,
}

/// (uri, cid) of every row of a record table, by URI.
fn rows(conn: &mut PgConnection, table: &str) -> Vec<(String, String)> {
    diesel::sql_query(format!("SELECT uri, cid FROM {table} ORDER BY uri"))
        .load::<UriCid>(conn)
        .expect("read a record table")
        .into_iter()
        .map(|r| (r.uri, r.cid))
        .collect()
}

fn uris(conn: &mut PgConnection, table: &str) -> Vec<String> {
    rows(conn, table).into_iter().map(|r| r.0).collect()
}

/// URIs of `table` whose record lives in `did`'s repo.
fn uris_of(conn: &mut PgConnection, table: &str, did: &str) -> Vec<String> {
    let prefix = format!("at://{did}/");
    uris(conn, table)
        .into_iter()
        .filter(|u| u.starts_with(&prefix))
        .collect()
}

/// Feed items whose originator is `did`.
fn feed_of(conn: &mut PgConnection, did: &str) -> Vec<String> {
    feed(conn)
        .into_iter()
        .filter(|f| f.2 == did)
        .map(|f| f.0)
        .collect()
}

/// A post of `did` at `rkey(n)`: its record, key and ref.
struct Made {
    rec: events::Rec,
    rkey: String,
    r: Ref,
}

fn made(did: &str, n: u64, rec: events::Rec) -> Made {
    let rkey = rkey(n);
    let r = Ref::to(did, &rkey, &rec);
    Made { rec, rkey, r }
}

fn like_uri(did: &str, rk: &str) -> String {
    at_uri(did, records::LIKE, rk)
}

// ---- the cases -------------------------------------------------------------------------------

#[test]
fn builders_make_events_as_decoding_would() {
    // TIDs: 13 valid characters, ordered as their integers.
    assert_eq!(events::tid(0), "2222222222222");
    assert_eq!(events::tid(1), "2222222222223");
    assert_eq!(events::tid(32), "2222222222232");
    let mut last = String::new();
    for n in [0u64, 1, 2, 31, 32, 1 << 40, (1 << 63) - 1] {
        let t = events::tid(n);
        skyindex::syntax::tid(&t).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert!(t > last, "{t} sorts after {last}");
        last = t;
    }
    for n in [1u64, 2, 1000] {
        assert!(events::rev(n) < events::rev(n + 1));
        skyindex::syntax::tid(&events::rev(n)).expect("rev is a TID");
        skyindex::syntax::record_key(&rkey(n)).expect("rkey is a record key");
    }
    // Times increase with seq and parse as atproto datetimes.
    assert!(events::parse_time(&time_of(9)) < events::parse_time(&time_of(10)));
    skyindex::syntax::datetime(&time_of(1)).expect("event time is a datetime");

    // Records: the CID is of the bytes, and the record decoded from them.
    let p = post("hello", None, None);
    assert_eq!(skyindex::ipld::cid::check_cid_profile(&p.cid), Ok(()));
    assert_eq!(p.cid, events::cid_of(&p.record.bytes));
    assert!(p.cid.to_string().starts_with("bafyrei"));
    let RecordValue::Post(decoded) = &p.record.value else {
        panic!("a post decodes as a post");
    };
    assert_eq!(decoded.text, "hello");
    let parent = Ref::phantom_post(ALICE, &rkey(1));
    let root = Ref::phantom_post(ALICE, &rkey(2));
    let q = Ref::phantom_post(CAROL, &rkey(3));
    let reply = post("re", Some((&parent, &root)), Some(&q));
    let RecordValue::Post(decoded) = &reply.record.value else {
        panic!("a post decodes as a post");
    };
    let r = decoded.reply.as_ref().expect("reply");
    assert_eq!((&r.parent.uri, &r.root.uri), (&parent.uri, &root.uri));
    assert_eq!(decoded.quote().map(|s| &s.uri), Some(&q.uri));
    assert!(matches!(like(&parent).record.value, RecordValue::Like(_)));
    assert!(matches!(
        repost(&parent).record.value,
        RecordValue::Repost(_)
    ));
    assert!(matches!(follow(BOB).record.value, RecordValue::Follow(_)));
    assert!(matches!(block(BOB).record.value, RecordValue::Block(_)));
    assert!(matches!(profile("B").record.value, RecordValue::Profile(_)));
    assert!(matches!(list("l").record.value, RecordValue::List(_)));
    // Another createdAt is another CID.
    let l = like(&parent);
    assert_ne!(l.cid, l.created_at("2024-05-02T00:00:00.000Z").cid);
}

/// Applies `order` (indices into `events`) one per group, or in one group, on a cleared database.
fn replay_order(conn: &mut PgConnection, events: &[TypedEvent], order: &[usize], grouped: bool) {
    conn.batch_execute(
        "TRUNCATE users, posts, like_records, actors, reposts, follows, blocks, feed_items, generic_records, \
         notifications, post_aggregations, user_aggregations",
    )
    .expect("truncate");
    let ordered: Vec<&TypedEvent> = order.iter().map(|&i| &events[i]).collect();
    if grouped {
        apply(conn, &ordered);
    } else {
        for e in ordered {
            apply(conn, &[e]);
        }
    }
}

#[test]
fn subjects_and_deletes_in_any_order_across_repos() {
    // Alice posts P1 and P2, then deletes P2. Bob likes both, unlikes P1, likes it again. Carol
    // deletes a like we never saw (we joined late), then likes P1. Every interleaving of the
    // three repos (each repo's own order kept) must leave the same tables.
    let p1 = made(ALICE, 1, post("one", None, None));
    let p2 = made(ALICE, 2, post("two", None, None));
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&p1.rkey, &p1.rec)]);
    s.commit(ALICE, vec![create(&p2.rkey, &p2.rec)]);
    s.commit(ALICE, vec![delete(records::POST, &p2.rkey)]);
    s.commit(
        BOB,
        vec![
            create(&rkey(10), &like(&p1.r)),
            create(&rkey(11), &like(&p2.r)),
        ],
    );
    s.commit(BOB, vec![delete(records::LIKE, &rkey(10))]);
    s.commit(BOB, vec![create(&rkey(12), &like(&p1.r))]);
    s.commit(CAROL, vec![delete(records::LIKE, &rkey(20))]);
    s.commit(CAROL, vec![create(&rkey(21), &like(&p1.r))]);
    let events = s.events;

    let mut case = settle(&events);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p1.r.uri), (2, 0, 0, 0));
    // P2 is gone but Bob's like of it stays, and counts.
    assert_eq!(counts(conn, &p2.r.uri), (1, 0, 0, 0));
    assert_eq!(uris(conn, "posts"), vec![p1.r.uri.clone()]);
    let mut want_likes = vec![
        like_uri(BOB, &rkey(11)),
        like_uri(BOB, &rkey(12)),
        like_uri(CAROL, &rkey(21)),
    ];
    want_likes.sort();
    assert_eq!(uris(conn, "likes"), want_likes);
    assert_eq!(ucounts(conn, ALICE), (0, 0, 1));
    assert_eq!(ucounts(conn, BOB), (0, 0, 0));
    let canonical = truth::dump(conn);

    // Repo by repo in every order of the repos, then random interleavings, half of them as one
    // group.
    let by_repo = |did: &str| -> Vec<usize> {
        (0..events.len())
            .filter(|&i| events[i].did() == Some(did))
            .collect()
    };
    let repos = [by_repo(ALICE), by_repo(BOB), by_repo(CAROL)];
    let mut orders: Vec<Vec<usize>> = Vec::new();
    for perm in [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ] {
        orders.push(perm.iter().flat_map(|&r| repos[r].clone()).collect());
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
    for _ in 0..30 {
        let mut next = [0usize; 3];
        let mut order = Vec::new();
        while order.len() < events.len() {
            let r = rng.random_range(0..3);
            if next[r] < repos[r].len() {
                order.push(repos[r][next[r]]);
                next[r] += 1;
            }
        }
        orders.push(order);
    }
    for (i, order) in orders.iter().enumerate() {
        for grouped in [false, true] {
            if grouped && i % 2 == 1 {
                continue;
            }
            replay_order(conn, &events, order, grouped);
            assert_same(
                &canonical,
                &truth::dump(conn),
                &format!("order {order:?} (one group: {grouped})"),
            );
        }
    }

    // Within one repo, a delete that arrives before its (older) create wins: the create is stale.
    let mut fresh_case = fresh();
    let conn = &mut fresh_case.conn;
    let like_then_unlike = [
        events::commit(1, DAVE, 1, vec![create(&rkey(30), &like(&p1.r))]),
        events::commit(2, DAVE, 2, vec![delete(records::LIKE, &rkey(30))]),
    ];
    let stats = apply(conn, &[&like_then_unlike[1]]);
    assert_eq!(stats.plan.commits, 1);
    let stats = apply(conn, &[&like_then_unlike[0]]);
    assert_eq!(stats.plan.stale_commits, 1);
    assert!(uris(conn, "likes").is_empty());
    assert_eq!(counts(conn, &p1.r.uri), (0, 0, 0, 0));
    assert_eq!(user(conn, DAVE).rev, Some(events::rev(2)));

    // The same for a subject: Dave's post is deleted (rev 4) before its create (rev 3) arrives,
    // while Bob's like of it counts all along.
    let dp = made(DAVE, 40, post("short-lived", None, None));
    let late = [
        events::commit(3, DAVE, 3, vec![create(&dp.rkey, &dp.rec)]),
        events::commit(4, DAVE, 4, vec![delete(records::POST, &dp.rkey)]),
        events::commit(5, BOB, 50, vec![create(&rkey(41), &like(&dp.r))]),
    ];
    apply(conn, &[&late[1], &late[2]]);
    let stats = apply(conn, &[&late[0]]);
    assert_eq!(stats.plan.stale_commits, 1);
    assert!(post_row(conn, &dp.r.uri).is_none());
    assert_eq!(counts(conn, &dp.r.uri), (1, 0, 0, 0));
    assert_eq!(ucounts(conn, DAVE), (0, 0, 0));
    assert!(feed_of(conn, DAVE).is_empty());
}

#[test]
fn like_unlike_like_again() {
    let p = made(ALICE, 1, post("likeable", None, None));
    let l1 = like(&p.r);
    let l2 = like(&p.r).created_at("2024-05-01T12:05:00.000Z");
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&p.rkey, &p.rec)]);
    s.commit(BOB, vec![create(&rkey(10), &l1)]);
    let liked = s.mark();
    s.commit(BOB, vec![delete(records::LIKE, &rkey(10))]);
    let unliked = s.mark();
    s.commit(BOB, vec![create(&rkey(11), &l2)]);
    let liked_again = s.mark();
    s.commit(BOB, vec![delete(records::LIKE, &rkey(11))]);
    let events = s.events;

    let mut case = fresh();
    let conn = &mut case.conn;
    apply_each(conn, &events[..liked]);
    assert_eq!(counts(conn, &p.r.uri), (1, 0, 0, 0));
    assert_eq!(
        rows(conn, "likes"),
        vec![(like_uri(BOB, &rkey(10)), l1.cid.to_string())]
    );
    apply_each(conn, &events[liked..unliked]);
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 0, 0));
    assert!(rows(conn, "likes").is_empty());
    apply_each(conn, &events[unliked..liked_again]);
    assert_eq!(counts(conn, &p.r.uri), (1, 0, 0, 0));
    assert_eq!(
        rows(conn, "likes"),
        vec![(like_uri(BOB, &rkey(11)), l2.cid.to_string())]
    );
    apply_each(conn, &events[liked_again..]);
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 0, 0));
    assert!(rows(conn, "likes").is_empty());

    let mut case = settle(&events);
    assert_eq!(counts(&mut case.conn, &p.r.uri), (0, 0, 0, 0));
    // Up to the like again, all in one group: one like.
    let mut case = settle(&events[..liked_again]);
    assert_eq!(counts(&mut case.conn, &p.r.uri), (1, 0, 0, 0));
}

#[test]
fn duplicate_likes_count_once_per_account() {
    let p = made(ALICE, 1, post("liked twice", None, None));
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&p.rkey, &p.rec)]);
    s.commit(CAROL, vec![create(&rkey(20), &like(&p.r))]);
    // Two likes of one post by Bob, in one commit and in another.
    s.commit(BOB, vec![create(&rkey(10), &like(&p.r))]);
    s.commit(
        BOB,
        vec![create(
            &rkey(11),
            &like(&p.r).created_at("2024-05-01T12:01:00.000Z"),
        )],
    );
    let two = s.mark();
    s.commit(BOB, vec![delete(records::LIKE, &rkey(10))]);
    let one = s.mark();
    s.commit(BOB, vec![delete(records::LIKE, &rkey(11))]);
    let none = s.mark();
    // And both in one commit, then both deleted in one commit.
    s.commit(
        BOB,
        vec![
            create(&rkey(12), &like(&p.r)),
            create(&rkey(13), &like(&p.r)),
        ],
    );
    let pair = s.mark();
    s.commit(
        BOB,
        vec![
            delete(records::LIKE, &rkey(13)),
            delete(records::LIKE, &rkey(12)),
        ],
    );
    let events = s.events;

    let mut case = fresh();
    let conn = &mut case.conn;
    apply_each(conn, &events[..two]);
    assert_eq!(counts(conn, &p.r.uri), (2, 0, 0, 0), "Carol and Bob");
    assert_eq!(uris_of(conn, "likes", BOB).len(), 2);
    apply_each(conn, &events[two..one]);
    assert_eq!(counts(conn, &p.r.uri), (2, 0, 0, 0), "Bob still likes it");
    assert_eq!(uris_of(conn, "likes", BOB), vec![like_uri(BOB, &rkey(11))]);
    apply_each(conn, &events[one..none]);
    assert_eq!(counts(conn, &p.r.uri), (1, 0, 0, 0), "Carol only");
    apply_each(conn, &events[none..pair]);
    assert_eq!(counts(conn, &p.r.uri), (2, 0, 0, 0));
    assert_eq!(uris_of(conn, "likes", BOB).len(), 2);
    apply_each(conn, &events[pair..]);
    assert_eq!(counts(conn, &p.r.uri), (1, 0, 0, 0));
    assert!(uris_of(conn, "likes", BOB).is_empty());

    for end in [two, one, none, pair, events.len()] {
        let mut case = settle(&events[..end]);
        let want = if end == two || end == one || end == pair {
            2
        } else {
            1
        };
        assert_eq!(
            counts(&mut case.conn, &p.r.uri).0,
            want,
            "after {end} events"
        );
    }
}

#[test]
fn duplicate_reposts_count_once_per_account_and_each_is_a_feed_item() {
    let p = made(ALICE, 1, post("reposted twice", None, None));
    let r1 = repost(&p.r);
    let r2 = repost(&p.r).created_at("2024-05-01T12:01:00.000Z");
    let u1 = at_uri(BOB, records::REPOST, &rkey(10));
    let u2 = at_uri(BOB, records::REPOST, &rkey(11));
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&p.rkey, &p.rec)]);
    s.commit(BOB, vec![create(&rkey(10), &r1)]);
    s.commit(BOB, vec![create(&rkey(11), &r2)]);
    let two = s.mark();
    s.commit(BOB, vec![delete(records::REPOST, &rkey(10))]);
    let one = s.mark();
    s.commit(BOB, vec![delete(records::REPOST, &rkey(11))]);
    let events = s.events;

    let mut case = fresh();
    let conn = &mut case.conn;
    apply_each(conn, &events[..two]);
    assert_eq!(counts(conn, &p.r.uri), (0, 1, 0, 0));
    assert_eq!(uris(conn, "reposts"), vec![u1.clone(), u2.clone()]);
    assert_eq!(feed_of(conn, BOB), vec![u1.clone(), u2.clone()]);
    apply_each(conn, &events[two..one]);
    assert_eq!(counts(conn, &p.r.uri), (0, 1, 0, 0));
    assert_eq!(feed_of(conn, BOB), vec![u2.clone()]);
    apply_each(conn, &events[one..]);
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 0, 0));
    assert!(feed_of(conn, BOB).is_empty());
    assert!(uris(conn, "reposts").is_empty());

    for (end, want) in [(two, 1), (one, 1), (events.len(), 0)] {
        let mut case = settle(&events[..end]);
        assert_eq!(
            counts(&mut case.conn, &p.r.uri).1,
            want,
            "after {end} events"
        );
    }
}

#[test]
fn duplicate_follows_count_once_per_pair() {
    let mut s = Stream::new();
    s.commit(DAVE, vec![create(&rkey(40), &follow(CAROL))]);
    s.commit(BOB, vec![create(&rkey(10), &follow(CAROL))]);
    s.commit(
        BOB,
        vec![
            create(
                &rkey(11),
                &follow(CAROL).created_at("2024-05-01T12:01:00.000Z"),
            ),
            create(&rkey(12), &follow(ALICE)),
        ],
    );
    let two = s.mark();
    s.commit(BOB, vec![delete(records::FOLLOW, &rkey(10))]);
    let one = s.mark();
    s.commit(BOB, vec![delete(records::FOLLOW, &rkey(11))]);
    let events = s.events;

    let mut case = fresh();
    let conn = &mut case.conn;
    apply_each(conn, &events[..two]);
    // (followers, follows, posts)
    assert_eq!(ucounts(conn, CAROL), (2, 0, 0), "Dave and Bob");
    assert_eq!(ucounts(conn, BOB), (0, 2, 0), "Carol and Alice");
    assert_eq!(ucounts(conn, ALICE), (1, 0, 0));
    assert_eq!(uris_of(conn, "follows", BOB).len(), 3);
    apply_each(conn, &events[two..one]);
    assert_eq!(ucounts(conn, CAROL), (2, 0, 0));
    assert_eq!(ucounts(conn, BOB), (0, 2, 0));
    apply_each(conn, &events[one..]);
    assert_eq!(ucounts(conn, CAROL), (1, 0, 0), "Dave only");
    assert_eq!(ucounts(conn, BOB), (0, 1, 0), "Alice only");
    assert_eq!(ucounts(conn, ALICE), (1, 0, 0));
    assert_eq!(
        uris_of(conn, "follows", BOB),
        vec![at_uri(BOB, records::FOLLOW, &rkey(12))]
    );

    for (end, carol, bob) in [(two, 2, 2), (one, 2, 2), (events.len(), 1, 1)] {
        let mut case = settle(&events[..end]);
        assert_eq!(
            ucounts(&mut case.conn, CAROL).0,
            carol,
            "after {end} events"
        );
        assert_eq!(ucounts(&mut case.conn, BOB).1, bob, "after {end} events");
    }
}

#[test]
fn post_edits_move_reply_and_quote_counts() {
    let p1 = made(ALICE, 1, post("first parent", None, None));
    let p2 = made(ALICE, 2, post("second parent", None, None));
    let q = made(CAROL, 3, post("to be quoted", None, None));
    let v1 = post("reply v1", Some((&p1.r, &p1.r)), None);
    let v2 = post("reply v2", Some((&p2.r, &p2.r)), None);
    let v3 = post("reply v3", Some((&p2.r, &p2.r)), Some(&q.r));
    let rk = rkey(10);
    let uri = at_uri(BOB, records::POST, &rk);
    let mut s = Stream::new();
    s.commit(
        ALICE,
        vec![create(&p1.rkey, &p1.rec), create(&p2.rkey, &p2.rec)],
    );
    s.commit(CAROL, vec![create(&q.rkey, &q.rec)]);
    s.commit(BOB, vec![create(&rk, &v1)]);
    let first = s.mark();
    s.commit(BOB, vec![update(&rk, &v2)]);
    let moved = s.mark();
    s.commit(BOB, vec![update(&rk, &v3)]);
    let quoted = s.mark();
    // The same record again: nothing changes.
    s.commit(BOB, vec![update(&rk, &v3)]);
    let events = s.events;

    let mut case = fresh();
    let conn = &mut case.conn;
    apply_each(conn, &events[..first]);
    assert_eq!(counts(conn, &p1.r.uri), (0, 0, 1, 0));
    assert_eq!(counts(conn, &p2.r.uri), (0, 0, 0, 0));
    assert_eq!(post_row(conn, &uri).expect("reply").text, "reply v1");

    apply_each(conn, &events[first..moved]);
    assert_eq!(counts(conn, &p1.r.uri), (0, 0, 0, 0));
    assert_eq!(counts(conn, &p2.r.uri), (0, 0, 1, 0));
    assert_eq!(
        post_row(conn, &uri),
        Some(PostView {
            cid: v2.cid.to_string(),
            text: "reply v2".into(),
            parent_uri: Some(p2.r.uri.clone()),
            root_uri: Some(p2.r.uri.clone()),
            quote_uri: None,
            quote_cid: None,
        })
    );
    assert_eq!(ucounts(conn, BOB), (0, 0, 1));

    apply_each(conn, &events[moved..quoted]);
    assert_eq!(counts(conn, &q.r.uri), (0, 0, 0, 1));
    assert_eq!(counts(conn, &p2.r.uri), (0, 0, 1, 0));
    let row = post_row(conn, &uri).expect("reply");
    assert_eq!(row.text, "reply v3");
    assert_eq!(row.quote_uri.as_deref(), Some(q.r.uri.as_str()));
    assert_eq!(row.quote_cid.as_deref(), Some(q.r.cid.as_str()));
    // The feed item follows the edit.
    let item = feed(conn)
        .into_iter()
        .find(|f| f.0 == uri)
        .expect("feed item");
    assert_eq!(
        item,
        (
            uri.clone(),
            uri.clone(),
            BOB.into(),
            "post".into(),
            v3.cid.to_string()
        )
    );
    let mut before = truth::dump(conn);
    apply_each(conn, &events[quoted..]);
    let mut after = truth::dump(conn);
    // Only Bob's rev (and time) move: the commit is new, its record is not.
    assert_eq!(user(conn, BOB).rev, Some(events::rev(4)));
    before.remove("users");
    after.remove("users");
    assert_same(&before, &after, "an update to the same CID");

    let mut case = settle(&events);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p1.r.uri), (0, 0, 0, 0));
    assert_eq!(counts(conn, &p2.r.uri), (0, 0, 1, 0));
    assert_eq!(counts(conn, &q.r.uri), (0, 0, 0, 1));
    assert_eq!(ucounts(conn, BOB), (0, 0, 1));
    assert_eq!(ucounts(conn, ALICE), (0, 0, 2));
    assert_eq!(feed(conn).len(), 4);
}

#[test]
fn deleted_reply_and_quote_give_their_counts_back() {
    let p = made(ALICE, 1, post("original", None, None));
    let reply = made(BOB, 10, post("a reply", Some((&p.r, &p.r)), None));
    let quote = made(BOB, 11, post("a quote", None, Some(&p.r)));
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&p.rkey, &p.rec)]);
    s.commit(BOB, vec![create(&reply.rkey, &reply.rec)]);
    s.commit(BOB, vec![create(&quote.rkey, &quote.rec)]);
    let made_all = s.mark();
    s.commit(
        BOB,
        vec![
            delete(records::POST, &reply.rkey),
            delete(records::POST, &quote.rkey),
        ],
    );
    let events = s.events;

    let mut case = settle(&events[..made_all]);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 1, 1));
    assert_eq!(ucounts(conn, BOB), (0, 0, 2));
    assert_eq!(
        feed_of(conn, BOB),
        vec![reply.r.uri.clone(), quote.r.uri.clone()]
    );
    assert_eq!(
        feed(conn)
            .iter()
            .map(|f| (f.3.as_str(), f.4.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("post", p.r.cid.as_str()),
            ("post", reply.r.cid.as_str()),
            ("post", quote.r.cid.as_str())
        ]
    );

    let mut case = settle(&events);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 0, 0));
    assert_eq!(ucounts(conn, BOB), (0, 0, 0));
    assert_eq!(ucounts(conn, ALICE), (0, 0, 1));
    assert!(feed_of(conn, BOB).is_empty());
    assert_eq!(uris(conn, "posts"), vec![p.r.uri.clone()]);
    // Their own counter rows stay (zeros), as any post's do once seen.
    assert_eq!(post_counts(conn, &reply.r.uri), Some((0, 0, 0, 0)));
}

#[test]
fn reposts_are_feed_items_until_deleted() {
    let p = made(ALICE, 1, post("worth sharing", None, None));
    let r = repost(&p.r);
    let rk = rkey(10);
    let uri = at_uri(BOB, records::REPOST, &rk);
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&p.rkey, &p.rec)]);
    s.commit(BOB, vec![create(&rk, &r)]);
    let reposted = s.mark();
    s.commit(BOB, vec![delete(records::REPOST, &rk)]);
    let events = s.events;

    let mut case = settle(&events[..reposted]);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p.r.uri), (0, 1, 0, 0));
    assert_eq!(
        feed(conn),
        vec![
            (
                p.r.uri.clone(),
                p.r.uri.clone(),
                ALICE.into(),
                "post".into(),
                p.r.cid.clone()
            ),
            (
                uri.clone(),
                p.r.uri.clone(),
                BOB.into(),
                "repost".into(),
                r.cid.to_string()
            ),
        ]
    );
    assert_eq!(
        rows(conn, "reposts"),
        vec![(uri.clone(), r.cid.to_string())]
    );
    // A repost is not a post of Bob's.
    assert_eq!(ucounts(conn, BOB), (0, 0, 0));

    let mut case = settle(&events);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 0, 0));
    assert_eq!(feed(conn).len(), 1);
    assert!(feed_of(conn, BOB).is_empty());
    assert!(rows(conn, "reposts").is_empty());
}

#[test]
fn deleted_account_takes_everything_with_it() {
    let a1 = made(ALICE, 1, post("alice's", None, None));
    let b1 = made(BOB, 10, post("bob's own", None, None));
    let b2 = made(BOB, 11, post("bob replies", Some((&a1.r, &a1.r)), None));
    let b3 = made(BOB, 12, post("bob quotes", None, Some(&a1.r)));
    let c1 = made(
        CAROL,
        20,
        post("carol replies to bob", Some((&b1.r, &b1.r)), None),
    );
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&a1.rkey, &a1.rec)]);
    s.identity(BOB, Some("bob.test"));
    s.commit(
        BOB,
        vec![
            create(&b1.rkey, &b1.rec),
            create(&b2.rkey, &b2.rec),
            create("self", &profile("Bob")),
        ],
    );
    s.commit(
        BOB,
        vec![
            create(&b3.rkey, &b3.rec),
            create(&rkey(13), &like(&a1.r)),
            create(
                &rkey(14),
                &like(&a1.r).created_at("2024-05-01T12:01:00.000Z"),
            ),
            create(&rkey(15), &like(&b1.r)),
            create(&rkey(16), &repost(&a1.r)),
        ],
    );
    s.commit(
        BOB,
        vec![
            create(&rkey(17), &follow(ALICE)),
            create(
                &rkey(18),
                &follow(ALICE).created_at("2024-05-01T12:01:00.000Z"),
            ),
            create(&rkey(19), &follow(CAROL)),
            create(&rkey(21), &block(DAVE)),
            create(&rkey(22), &list("bob's list")),
        ],
    );
    let bob_commits = s.mark();
    s.commit(
        CAROL,
        vec![
            create(&rkey(30), &follow(BOB)),
            create(&rkey(31), &like(&b1.r)),
            create(&c1.rkey, &c1.rec),
        ],
    );
    s.commit(ALICE, vec![create(&rkey(2), &like(&b1.r))]);
    let before_delete = s.mark();
    s.account(BOB, false, Some("deleted"));
    let events = s.events;

    // Before: everything is there and counted.
    let mut case = settle(&events[..before_delete]);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &a1.r.uri), (1, 1, 1, 1));
    assert_eq!(counts(conn, &b1.r.uri), (3, 0, 1, 0));
    assert_eq!(ucounts(conn, BOB), (1, 2, 3));
    assert_eq!(ucounts(conn, ALICE), (1, 0, 1));
    assert_eq!(ucounts(conn, CAROL), (1, 1, 1));
    assert_eq!(user(conn, BOB).display_name.as_deref(), Some("Bob"));

    let mut case = settle(&events);
    let conn = &mut case.conn;
    for table in [
        "posts",
        "likes",
        "reposts",
        "follows",
        "blocks",
        "generic_records",
    ] {
        assert!(uris_of(conn, table, BOB).is_empty(), "{table} of Bob left");
    }
    assert!(feed_of(conn, BOB).is_empty());
    // Every counter Bob's records fed is given back.
    assert_eq!(counts(conn, &a1.r.uri), (0, 0, 0, 0));
    assert_eq!(ucounts(conn, ALICE), (0, 0, 1), "Bob's follows of Alice");
    assert_eq!(ucounts(conn, CAROL), (0, 1, 1), "Bob's follow of Carol");
    // Others' records about Bob stay: Carol's follow, Carol's and Alice's likes of B1, Carol's
    // reply to it.
    assert_eq!(ucounts(conn, BOB), (1, 0, 0));
    assert_eq!(counts(conn, &b1.r.uri), (2, 0, 1, 0));
    assert_eq!(uris_of(conn, "follows", CAROL).len(), 1);
    assert_eq!(uris_of(conn, "posts", CAROL), vec![c1.r.uri.clone()]);
    // The account row stays, as a tombstone.
    let bob = user(conn, BOB);
    assert!(!bob.active);
    assert_eq!(bob.status.as_deref(), Some("deleted"));
    assert_eq!(bob.handle.as_deref(), Some("bob.test"));
    assert_eq!(bob.rev, Some(events::rev(3)));
    assert_eq!(
        (bob.display_name, bob.profile_cid, bob.profile_record),
        (None, None, None)
    );

    // Bob's older commits replayed (and one newer, which a deleted account cannot make)
    // bring nothing back.
    let tomb = truth::dump(conn);
    let stats = apply_each(conn, &events[..bob_commits]);
    assert_eq!(stats.plan.commits, 0);
    assert_eq!(stats.plan.stale_commits, 1, "Alice's");
    assert_eq!(stats.plan.deleted_account_commits, 3, "Bob's");
    assert_eq!(stats.plan.stale_events, 1, "Bob's identity");
    let late = [events::commit(
        100,
        BOB,
        9,
        vec![create(&rkey(50), &like(&a1.r))],
    )];
    let stats = apply_each(conn, &late);
    assert_eq!(stats.plan.deleted_account_commits, 1);
    apply(conn, &refs(&events[..bob_commits]));
    assert_same(
        &tomb,
        &truth::dump(conn),
        "Bob's commits after his deletion",
    );

    // The same, with the replay in the very group that deletes him.
    let mut case = fresh();
    let conn = &mut case.conn;
    let mut group = refs(&events);
    group.extend(refs(&events[..bob_commits]));
    group.extend(refs(&late));
    let stats = apply(conn, &group);
    assert_eq!(stats.purged_accounts, 1);
    assert_eq!(stats.plan.deleted_account_commits, 4);
    assert_same(
        &tomb,
        &truth::dump(conn),
        "the replay in the deleting group",
    );
}

#[test]
fn deleting_an_account_never_seen_leaves_a_tombstone() {
    let p = made(ALICE, 1, post("liked by a stranger", None, None));
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&p.rkey, &p.rec)]);
    s.account(BOB, false, Some("deleted"));
    let events = s.events;
    let mut case = settle(&events);
    let conn = &mut case.conn;
    let bob = user(conn, BOB);
    assert_eq!(
        (bob.active, bob.status.as_deref(), bob.rev),
        (false, Some("deleted"), None)
    );
    assert_eq!(ucounts(conn, BOB), (0, 0, 0));
    // Bob's commits from before we joined, arriving late, are refused.
    let old = events::commit(1, BOB, 1, vec![create(&rkey(10), &like(&p.r))]);
    let stats = apply(conn, &[&old]);
    assert_eq!(stats.plan.deleted_account_commits, 1);
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 0, 0));
    assert!(uris(conn, "likes").is_empty());
}

#[test]
fn deactivated_account_keeps_its_records() {
    let p = made(BOB, 10, post("still here", None, None));
    let mut s = Stream::new();
    s.commit(BOB, vec![create(&p.rkey, &p.rec)]);
    s.account(BOB, false, Some("deactivated"));
    let deactivated = s.mark();
    s.account(BOB, true, None);
    s.commit(BOB, vec![create(&rkey(11), &post("back", None, None))]);
    let events = s.events;

    let mut case = settle(&events[..deactivated]);
    let conn = &mut case.conn;
    let bob = user(conn, BOB);
    assert_eq!(
        (bob.active, bob.status.as_deref()),
        (false, Some("deactivated"))
    );
    assert_eq!(uris(conn, "posts"), vec![p.r.uri.clone()]);
    assert_eq!(ucounts(conn, BOB), (0, 0, 1));

    let mut case = settle(&events);
    let conn = &mut case.conn;
    let bob = user(conn, BOB);
    assert_eq!((bob.active, bob.status), (true, None));
    assert_eq!(ucounts(conn, BOB), (0, 0, 2));
    // The deactivation replayed is older than the reactivation: skipped.
    let stats = apply(conn, &[&events[1]]);
    assert_eq!(stats.plan.stale_events, 1);
    assert!(user(conn, BOB).active);
}

#[test]
fn edge_updates_move_their_counts() {
    // A like, repost and follow rewritten in place to point elsewhere (same key, new CID).
    let p1 = made(ALICE, 1, post("first", None, None));
    let p2 = made(ALICE, 2, post("second", None, None));
    let mut s = Stream::new();
    s.commit(
        ALICE,
        vec![create(&p1.rkey, &p1.rec), create(&p2.rkey, &p2.rec)],
    );
    s.commit(
        BOB,
        vec![
            create(&rkey(10), &like(&p1.r)),
            create(&rkey(11), &repost(&p1.r)),
            create(&rkey(12), &follow(CAROL)),
        ],
    );
    let before = s.mark();
    s.commit(
        BOB,
        vec![
            update(&rkey(10), &like(&p2.r)),
            update(&rkey(11), &repost(&p2.r)),
            update(&rkey(12), &follow(DAVE)),
        ],
    );
    let events = s.events;

    let mut case = settle(&events[..before]);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p1.r.uri), (1, 1, 0, 0));
    assert_eq!(ucounts(conn, CAROL), (1, 0, 0));
    assert_eq!(ucounts(conn, BOB), (0, 1, 0));

    let mut case = settle(&events);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p1.r.uri), (0, 0, 0, 0));
    assert_eq!(counts(conn, &p2.r.uri), (1, 1, 0, 0));
    assert_eq!(ucounts(conn, CAROL), (0, 0, 0));
    assert_eq!(ucounts(conn, DAVE), (1, 0, 0));
    assert_eq!(ucounts(conn, BOB), (0, 1, 0));
    let repost_uri = at_uri(BOB, records::REPOST, &rkey(11));
    let item = feed(conn)
        .into_iter()
        .find(|f| f.0 == repost_uri)
        .expect("the repost's feed item");
    assert_eq!(item.1, p2.r.uri, "the feed item follows the repost");
}

#[test]
fn feed_items_sort_at_the_earlier_of_record_and_event_time() {
    let past = made(BOB, 10, post("written earlier", None, None));
    let future = made(
        BOB,
        11,
        post("claims the future", None, None).created_at("2030-01-01T00:00:00.000Z"),
    );
    let mut s = Stream::new();
    s.commit(BOB, vec![create(&past.rkey, &past.rec)]);
    s.commit(BOB, vec![create(&future.rkey, &future.rec)]);
    let events = s.events;
    let mut case = settle(&events);
    let conn = &mut case.conn;
    use feed_items::dsl as f;
    let sorts: Vec<(String, chrono::DateTime<chrono::Utc>)> = f::feed_items
        .select((f::uri, f::sort_at))
        .order(f::uri)
        .load(conn)
        .expect("read feed_items");
    assert_eq!(
        sorts,
        vec![
            (past.r.uri.clone(), events::parse_time(events::CREATED_AT)),
            (future.r.uri.clone(), events::parse_time(&time_of(2))),
        ]
    );
}

#[test]
fn reply_before_its_parent_and_quote_of_a_post_never_seen() {
    let p = made(ALICE, 1, post("parent, late", None, None));
    let ghost = Ref::phantom_post(DAVE, &rkey(99));
    let reply = made(BOB, 10, post("early reply", Some((&p.r, &p.r)), None));
    let quote = made(BOB, 11, post("quotes a ghost", None, Some(&ghost)));
    let mut s = Stream::new();
    s.commit(BOB, vec![create(&reply.rkey, &reply.rec)]);
    s.commit(BOB, vec![create(&quote.rkey, &quote.rec)]);
    let early = s.mark();
    s.commit(ALICE, vec![create(&p.rkey, &p.rec)]);
    let arrived = s.mark();
    s.commit(
        BOB,
        vec![
            delete(records::POST, &reply.rkey),
            delete(records::POST, &quote.rkey),
        ],
    );
    let events = s.events;

    let mut case = settle(&events[..early]);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 1, 0));
    assert!(post_row(conn, &p.r.uri).is_none());
    assert_eq!(counts(conn, &ghost.uri), (0, 0, 0, 1));
    assert!(post_row(conn, &ghost.uri).is_none());

    let mut case = settle(&events[..arrived]);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 1, 0));
    assert_eq!(
        post_row(conn, &p.r.uri).expect("parent").text,
        "parent, late"
    );
    assert_eq!(counts(conn, &ghost.uri), (0, 0, 0, 1));
    assert_eq!(ucounts(conn, ALICE), (0, 0, 1));
    assert_eq!(ucounts(conn, BOB), (0, 0, 2));
    // No account row for the quoted post's author: nothing of Dave's reached us.
    assert!(user_counts(conn, DAVE).is_none());

    let mut case = settle(&events);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 0, 0));
    assert_eq!(counts(conn, &ghost.uri), (0, 0, 0, 0));
    assert_eq!(ucounts(conn, BOB), (0, 0, 0));
}

#[test]
fn stale_commits_are_skipped() {
    let p = made(BOB, 10, post("at rev 5", None, None));
    let old = made(BOB, 11, post("at rev 3", None, None));
    let same = made(BOB, 12, post("at rev 5 again", None, None));
    let next = made(BOB, 13, post("at rev 6", None, None));
    let events = vec![
        events::commit(1, BOB, 5, vec![create(&p.rkey, &p.rec)]),
        events::commit(2, BOB, 3, vec![create(&old.rkey, &old.rec)]),
        events::commit(
            3,
            BOB,
            5,
            vec![
                create(&same.rkey, &same.rec),
                delete(records::POST, &p.rkey),
            ],
        ),
        events::commit(4, BOB, 6, vec![create(&next.rkey, &next.rec)]),
    ];
    let mut case = fresh();
    let conn = &mut case.conn;
    let stats = apply_each(conn, &events[..1]);
    assert_eq!(stats.plan.commits, 1);
    let before = truth::dump(conn);
    let stats = apply_each(conn, &events[1..3]);
    assert_eq!(stats.plan.stale_commits, 2);
    assert_eq!(stats.plan.commits, 0);
    assert_same(&before, &truth::dump(conn), "stale commits");
    assert_eq!(user(conn, BOB).rev, Some(events::rev(5)));
    let stats = apply_each(conn, &events[3..]);
    assert_eq!(stats.plan.commits, 1);
    assert_eq!(user(conn, BOB).rev, Some(events::rev(6)));

    let mut case = settle(&events);
    let conn = &mut case.conn;
    assert_eq!(
        uris(conn, "posts"),
        vec![p.r.uri.clone(), next.r.uri.clone()]
    );
    assert_eq!(ucounts(conn, BOB), (0, 0, 2));
    assert_eq!(user(conn, BOB).rev, Some(events::rev(6)));
}

#[test]
fn identity_handles_replays_and_sync() {
    let mut s = Stream::new();
    s.identity(BOB, Some("bob-one.test"));
    let first = s.mark();
    s.identity(BOB, Some("bob-two.test"));
    let second = s.mark();
    // Re-resolve without a handle: the handle stays.
    s.identity(BOB, None);
    s.commit(BOB, vec![create(&rkey(10), &post("hi", None, None))]);
    let committed = s.mark();
    // A #sync jumps the repo to a later rev.
    s.sync(BOB, 5);
    let synced = s.mark();
    let events = s.events;

    let mut case = fresh();
    let conn = &mut case.conn;
    apply_each(conn, &events[..first]);
    assert_eq!(user(conn, BOB).handle.as_deref(), Some("bob-one.test"));
    apply_each(conn, &events[first..second]);
    assert_eq!(user(conn, BOB).handle.as_deref(), Some("bob-two.test"));
    // The first identity event replayed: older than what we hold, skipped.
    let stats = apply_each(conn, &events[..first]);
    assert_eq!(stats.plan.stale_events, 1);
    assert_eq!(user(conn, BOB).handle.as_deref(), Some("bob-two.test"));
    apply_each(conn, &events[second..committed]);
    let bob = user(conn, BOB);
    assert_eq!(bob.handle.as_deref(), Some("bob-two.test"));
    assert_eq!(bob.rev, Some(events::rev(1)));
    apply_each(conn, &events[committed..synced]);
    assert_eq!(user(conn, BOB).rev, Some(events::rev(6)));
    // Commits at or below the synced rev are stale now; the next one applies.
    let stale = events::commit(
        50,
        BOB,
        4,
        vec![create(&rkey(11), &post("stale", None, None))],
    );
    let stats = apply(conn, &[&stale]);
    assert_eq!(stats.plan.stale_commits, 1);
    assert_eq!(uris_of(conn, "posts", BOB).len(), 1);
    // An older #sync does not lower the rev.
    let old_sync = events::sync(51, BOB, 2, &time_of(51));
    apply(conn, &[&old_sync]);
    assert_eq!(user(conn, BOB).rev, Some(events::rev(6)));
    let newer = events::commit(
        52,
        BOB,
        7,
        vec![create(&rkey(12), &post("after sync", None, None))],
    );
    let stats = apply(conn, &[&newer]);
    assert_eq!(stats.plan.commits, 1);
    assert_eq!(user(conn, BOB).rev, Some(events::rev(7)));
    assert_eq!(uris_of(conn, "posts", BOB).len(), 2);

    let mut case = settle(&events);
    let conn = &mut case.conn;
    let bob = user(conn, BOB);
    assert_eq!(bob.handle.as_deref(), Some("bob-two.test"));
    assert_eq!(bob.rev, Some(events::rev(6)));
    // Replayed older identity in one group with the newer: the newer wins either way.
    let mut case = fresh();
    let conn = &mut case.conn;
    apply(conn, &[&events[1], &events[0]]);
    assert_eq!(user(conn, BOB).handle.as_deref(), Some("bob-two.test"));
}

#[test]
fn an_invalid_record_does_not_stop_its_commit() {
    let p = made(ALICE, 1, post("fine", None, None));
    let good = made(BOB, 10, post("good post", None, None));
    let long = "x".repeat(3001);
    let bad_fields = post("placeholder", None, None)
        .fields
        .into_iter()
        .map(|(k, v)| {
            let v = if k == "text" {
                ipld_core::ipld::Ipld::String(long.clone())
            } else {
                v
            };
            (k, v)
        })
        .collect();
    let (_, bad) = try_record(records::POST, bad_fields);
    let reason = bad.expect_err("a 3001-byte text is refused").to_string();
    let bad_path = format!("{}/{}", records::POST, rkey(11));
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&p.rkey, &p.rec)]);
    s.commit_with_invalid(
        BOB,
        vec![
            create(&good.rkey, &good.rec),
            create(&rkey(12), &like(&p.r)),
        ],
        vec![InvalidOp {
            path: bad_path,
            reason,
        }],
    );
    let events = s.events;

    let mut case = settle(&events);
    let conn = &mut case.conn;
    assert_eq!(uris_of(conn, "posts", BOB), vec![good.r.uri.clone()]);
    assert_eq!(counts(conn, &p.r.uri), (1, 0, 0, 0));
    assert_eq!(ucounts(conn, BOB), (0, 0, 1));
    assert_eq!(user(conn, BOB).rev, Some(events::rev(1)));
}

#[test]
fn profile_create_update_delete() {
    let v1 = profile("Alice");
    let v2 = profile("Alice Again");
    let elsewhere = profile("Not at self");
    let mut s = Stream::new();
    s.commit(ALICE, vec![create("self", &v1)]);
    let created = s.mark();
    s.commit(ALICE, vec![update("self", &v2)]);
    let updated = s.mark();
    s.commit(ALICE, vec![delete(records::PROFILE, "self")]);
    let deleted = s.mark();
    // A profile record at another key is just some record.
    s.commit(ALICE, vec![create("other", &elsewhere)]);
    let events = s.events;

    let mut case = fresh();
    let conn = &mut case.conn;
    apply_each(conn, &events[..created]);
    let a = user(conn, ALICE);
    assert_eq!(a.display_name.as_deref(), Some("Alice"));
    assert_eq!(a.description.as_deref(), Some("a test account"));
    assert_eq!(a.profile_cid, Some(v1.cid.to_string()));
    let record = a.profile_record.expect("profile record");
    assert_eq!(record["displayName"], "Alice");
    assert_eq!(record["$type"], records::PROFILE);

    apply_each(conn, &events[created..updated]);
    let a = user(conn, ALICE);
    assert_eq!(a.display_name.as_deref(), Some("Alice Again"));
    assert_eq!(a.profile_cid, Some(v2.cid.to_string()));
    assert_eq!(
        a.profile_record.expect("profile record")["displayName"],
        "Alice Again"
    );

    apply_each(conn, &events[updated..deleted]);
    let a = user(conn, ALICE);
    assert_eq!(
        (
            a.display_name,
            a.description,
            a.profile_cid,
            a.profile_record
        ),
        (None, None, None, None)
    );

    apply_each(conn, &events[deleted..]);
    assert!(user(conn, ALICE).profile_cid.is_none());
    assert_eq!(
        rows(conn, "generic_records"),
        vec![(
            at_uri(ALICE, records::PROFILE, "other"),
            elsewhere.cid.to_string()
        )]
    );

    for end in [created, updated, deleted, events.len()] {
        settle(&events[..end]);
    }
}

#[test]
fn blocks_lists_and_generic_records_follow_the_repo() {
    let l1 = list("first name");
    let l2 = list("second name");
    let n1 = note("first text");
    let n2 = note("second text");
    let mut s = Stream::new();
    s.commit(
        BOB,
        vec![
            create(&rkey(10), &block(DAVE)),
            create(&rkey(11), &l1),
            create(&rkey(12), &n1),
        ],
    );
    let created = s.mark();
    s.commit(BOB, vec![update(&rkey(11), &l2), update(&rkey(12), &n2)]);
    let updated = s.mark();
    s.commit(
        BOB,
        vec![
            delete(records::BLOCK, &rkey(10)),
            delete(LIST, &rkey(11)),
            delete(NOTE, &rkey(12)),
        ],
    );
    let events = s.events;

    let mut case = settle(&events[..created]);
    let conn = &mut case.conn;
    assert_eq!(
        rows(conn, "blocks"),
        vec![(
            at_uri(BOB, records::BLOCK, &rkey(10)),
            block(DAVE).cid.to_string()
        )]
    );
    assert_eq!(
        rows(conn, "lists"),
        vec![(at_uri(BOB, LIST, &rkey(11)), l1.cid.to_string())]
    );
    assert_eq!(
        rows(conn, "generic_records"),
        vec![(at_uri(BOB, NOTE, &rkey(12)), n1.cid.to_string())]
    );
    // Blocks feed no counter.
    assert_eq!(user_counts(conn, DAVE), None);

    let mut case = settle(&events[..updated]);
    assert_eq!(
        rows(&mut case.conn, "lists"),
        vec![(at_uri(BOB, LIST, &rkey(11)), l2.cid.to_string())]
    );
    assert_eq!(
        rows(&mut case.conn, "generic_records"),
        vec![(at_uri(BOB, NOTE, &rkey(12)), n2.cid.to_string())]
    );

    let mut case = settle(&events);
    for table in ["blocks", "lists", "generic_records"] {
        assert!(rows(&mut case.conn, table).is_empty(), "{table}");
    }
}

#[test]
fn concurrent_writers_share_counter_rows_without_deadlock() {
    const POSTS: u64 = 24;
    const REPOS: usize = 8;
    const ROUNDS: u64 = 6;
    let targets: Vec<Made> = (0..POSTS)
        .map(|n| made(ALICE, n, post(&format!("target {n}"), None, None)))
        .collect();
    let case = fresh();
    let mut setup = case._db.conn();
    let setup_events = vec![events::commit(
        1,
        ALICE,
        1,
        targets.iter().map(|t| create(&t.rkey, &t.rec)).collect(),
    )];
    apply_each(&mut setup, &setup_events);

    // Each writer's repos like every target each round (new rkeys, shuffled), unlike last
    // round's likes, and follow Alice anew; in the end each repo likes every target once.
    let stream_for = |writer: usize| -> Vec<TypedEvent> {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(writer as u64);
        let mut out = Vec::new();
        let mut seq = 1000 * (writer as i64 + 1);
        let repos: Vec<String> = (0..REPOS)
            .map(|r| events::did(&format!("writer{writer}repo{r}")))
            .collect();
        for round in 0..ROUNDS {
            for (r, repo) in repos.iter().enumerate() {
                let mut order: Vec<usize> = (0..targets.len()).collect();
                order.shuffle(&mut rng);
                let mut ops: Vec<_> = order
                    .iter()
                    .map(|&t| create(&rkey(round * 1000 + t as u64), &like(&targets[t].r)))
                    .collect();
                ops.push(create(&rkey(round * 1000 + 999), &follow(ALICE)));
                if round > 0 {
                    ops.extend(
                        (0..POSTS).map(|t| delete(records::LIKE, &rkey((round - 1) * 1000 + t))),
                    );
                    ops.push(delete(records::FOLLOW, &rkey((round - 1) * 1000 + 999)));
                }
                seq += 1;
                out.push(events::commit(seq, repo, round + 1, ops));
                let _ = r;
            }
        }
        out
    };
    let streams: Vec<Vec<TypedEvent>> = (0..2).map(stream_for).collect();
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|scope| {
        for (w, stream) in streams.iter().enumerate() {
            let db = &case._db;
            let barrier = &barrier;
            scope.spawn(move || {
                let mut conn = db.conn();
                let mut rng = rand::rngs::SmallRng::seed_from_u64(100 + w as u64);
                barrier.wait();
                let all = refs(stream);
                let mut pos = 0;
                while pos < all.len() {
                    let len = rng.random_range(1..6).min(all.len() - pos);
                    if let Err(e) = apply_group(&mut conn, &all[pos..pos + len]) {
                        panic!("writer {w}: group at {pos} failed: {e}");
                    }
                    pos += len;
                }
            });
        }
    });

    let conn = &mut setup;
    let likers = (2 * REPOS) as i64;
    for t in &targets {
        assert_eq!(counts(conn, &t.r.uri), (likers, 0, 0, 0), "{}", t.r.uri);
    }
    assert_eq!(ucounts(conn, ALICE), (likers, 0, POSTS as i64));
    assert_eq!(uris(conn, "likes").len(), 2 * REPOS * POSTS as usize);
    // The same streams on one writer, in one group each: the same tables.
    let concurrent = truth::dump(conn);
    let mut serial = fresh();
    apply_each(&mut serial.conn, &setup_events);
    for stream in &streams {
        apply(&mut serial.conn, &refs(stream));
    }
    assert_same(
        &concurrent,
        &truth::dump(&mut serial.conn),
        "concurrent writers vs one",
    );
}

/// A create of a record we already hold, in a newer commit (a malformed or desynchronised
/// stream): the fast path, which does not look up created URIs, meets the primary key; the group
/// is planned again with every URI looked up, and the create replaces the row.
#[test]
fn a_create_over_a_record_we_hold_replaces_it() {
    let p = made(ALICE, 1, post("first", None, None));
    let q = made(CAROL, 2, post("second", None, None));
    let l1 = like(&p.r);
    let l2 = like(&q.r);
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&p.rkey, &p.rec)]);
    s.commit(CAROL, vec![create(&q.rkey, &q.rec)]);
    s.commit(BOB, vec![create(&rkey(10), &l1)]);
    // The same path created again with another record, in a later commit.
    s.commit(BOB, vec![create(&rkey(10), &l2)]);
    let events = s.events;
    let mut case = settle(&events);
    let conn = &mut case.conn;
    assert_eq!(counts(conn, &p.r.uri), (0, 0, 0, 0));
    assert_eq!(counts(conn, &q.r.uri), (1, 0, 0, 0));
    assert_eq!(
        rows(conn, "likes"),
        vec![(like_uri(BOB, &rkey(10)), l2.cid.to_string())]
    );
}

/// Count of `like_records` rows where `filter` holds (the compact table under the view).
fn like_records_where(conn: &mut PgConnection, filter: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM like_records WHERE {filter}"
    ))
    .get_result::<N>(conn)
    .expect("count like_records")
    .n
}

#[test]
fn likes_whose_keys_are_not_compact_are_kept_as_named() {
    // Compact: a TID record key below 2^63, a subject at://DID/app.bsky.feed.post/TID. The rest
    // is kept as text: a record key that is no TID or a TID at or above 2^63, and a subject that
    // is a feed generator or named by handle.
    let p = made(ALICE, 1, post("liked every way", None, None));
    let generator = Ref {
        uri: at_uri(ALICE, "app.bsky.feed.generator", "cool-feed"),
        cid: p.r.cid.clone(),
    };
    let by_handle = Ref {
        uri: at_uri("alice.test", records::POST, &p.rkey),
        cid: p.r.cid.clone(),
    };
    let (word, high) = ("my-like", "j222222222222");
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&p.rkey, &p.rec)]);
    s.commit(
        BOB,
        vec![
            create(word, &like(&p.r)),
            create(high, &like(&p.r)),
            create(&rkey(10), &like(&generator)),
            create(&rkey(11), &like(&by_handle)),
            create(&rkey(12), &like(&by_handle)),
        ],
    );
    s.commit(CAROL, vec![create(&rkey(20), &like(&p.r))]);
    let all = s.mark();
    s.commit(BOB, vec![delete(records::LIKE, word)]);
    let one_left = s.mark();
    s.commit(
        BOB,
        vec![
            delete(records::LIKE, high),
            delete(records::LIKE, &rkey(11)),
        ],
    );
    let some = s.mark();
    s.account(BOB, false, Some("deleted"));
    let events = s.events;

    let mut case = fresh();
    let conn = &mut case.conn;
    apply_each(conn, &events[..all]);
    let mut want: Vec<String> = [word, high, &rkey(10), &rkey(11), &rkey(12)]
        .iter()
        .map(|k| like_uri(BOB, k))
        .chain([like_uri(CAROL, &rkey(20))])
        .collect();
    want.sort();
    assert_eq!(uris(conn, "likes"), want);
    assert_eq!(like_records_where(conn, "rkey_text IS NOT NULL"), 2);
    assert_eq!(like_records_where(conn, "subject_uri IS NOT NULL"), 3);
    #[derive(QueryableByName)]
    struct Subject {
        #[diesel(sql_type = Text)]
        post_uri: String,
    }
    let subjects: Vec<String> = diesel::sql_query("SELECT post_uri FROM likes ORDER BY uri")
        .load::<Subject>(conn)
        .expect("subjects")
        .into_iter()
        .map(|s| s.post_uri)
        .collect();
    for subject in [&p.r.uri, &generator.uri, &by_handle.uri] {
        assert!(subjects.contains(subject), "{subject} in {subjects:?}");
    }
    assert_eq!(counts(conn, &p.r.uri), (2, 0, 0, 0), "Bob once, Carol");
    assert_eq!(counts(conn, &generator.uri).0, 1);
    assert_eq!(counts(conn, &by_handle.uri).0, 1, "once per account");

    apply_each(conn, &events[all..one_left]);
    assert_eq!(
        counts(conn, &p.r.uri).0,
        2,
        "Bob still likes it by the high TID"
    );
    apply_each(conn, &events[one_left..some]);
    assert_eq!(counts(conn, &p.r.uri).0, 1, "Carol only");
    assert_eq!(counts(conn, &by_handle.uri).0, 1, "one of two left");
    assert_eq!(uris_of(conn, "likes", BOB).len(), 2);
    apply_each(conn, &events[some..]);
    assert!(uris_of(conn, "likes", BOB).is_empty());
    assert_eq!(counts(conn, &generator.uri).0, 0);
    assert_eq!(counts(conn, &by_handle.uri).0, 0);
    assert_eq!(counts(conn, &p.r.uri).0, 1);

    for end in [all, one_left, some, events.len()] {
        settle(&events[..end]);
    }
}
