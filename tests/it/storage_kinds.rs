//! The record kinds typed after the first six: each in its own table, list members counted once
//! per account, items and gates typed only where they belong (the rest kept generic), and the
//! migration that moved `generic_records` rows into these tables undone and redone without a
//! difference.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::MigrationHarness;

use crate::common::events::{
    at_uri, create, delete, list, record, rkey, string, update, Rec, Stream, LIST,
};
use crate::common::truth;
use crate::storage_cases::{apply_each, fresh, settle};

const ALICE: &str = "did:plc:alice";
const BOB: &str = "did:plc:bob";
const CAROL: &str = "did:plc:carol";
const CREATED_AT: &str = "2024-05-01T12:00:00.000Z";

const LIST_ITEM: &str = "app.bsky.graph.listitem";
const THREADGATE: &str = "app.bsky.feed.threadgate";
const POSTGATE: &str = "app.bsky.feed.postgate";
const STATUS: &str = "app.bsky.actor.status";

fn item(list: &str, subject: &str) -> Rec {
    record(
        LIST_ITEM,
        [
            ("subject", string(subject)),
            ("list", string(list)),
            ("createdAt", string(CREATED_AT)),
        ],
    )
}

fn gate(collection: &str, post: &str) -> Rec {
    record(
        collection,
        [("post", string(post)), ("createdAt", string(CREATED_AT))],
    )
}

fn status() -> Rec {
    record(
        STATUS,
        [
            ("status", string("app.bsky.actor.status#live")),
            ("createdAt", string(CREATED_AT)),
        ],
    )
}

#[derive(QueryableByName)]
struct Uri {
    #[diesel(sql_type = Text)]
    uri: String,
}

fn uris(conn: &mut PgConnection, table: &str) -> Vec<String> {
    diesel::sql_query(format!("SELECT uri FROM {table} ORDER BY uri"))
        .load::<Uri>(conn)
        .expect("read a record table")
        .into_iter()
        .map(|r| r.uri)
        .collect()
}

/// The list's member count, `None` when it has no counter row.
fn members(conn: &mut PgConnection, list: &str) -> Option<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query("SELECT member_count AS n FROM list_aggregations WHERE list_uri = $1")
        .bind::<Text, _>(list)
        .get_result::<Count>(conn)
        .optional()
        .expect("read list_aggregations")
        .map(|c| c.n)
}

#[test]
fn list_members_count_once_per_account() {
    let list_uri = at_uri(ALICE, LIST, &rkey(1));
    let mut s = Stream::new();
    s.commit(
        ALICE,
        vec![
            create(&rkey(1), &list("friends")),
            create(&rkey(2), &item(&list_uri, BOB)),
            create(&rkey(3), &item(&list_uri, BOB)),
            create(&rkey(4), &item(&list_uri, CAROL)),
        ],
    );
    let made = s.mark();
    s.commit(ALICE, vec![delete(LIST_ITEM, &rkey(2))]);
    let one_bob_left = s.mark();
    s.commit(ALICE, vec![delete(LIST_ITEM, &rkey(3))]);
    let bob_gone = s.mark();
    // An item moved to name someone else: Carol stays once, Bob comes back.
    s.commit(ALICE, vec![update(&rkey(4), &item(&list_uri, BOB))]);
    let moved = s.mark();
    s.account(ALICE, false, Some("deleted"));
    let events = s.events;

    let mut case = settle(&events[..made]);
    assert_eq!(uris(&mut case.conn, "lists"), vec![list_uri.clone()]);
    assert_eq!(uris(&mut case.conn, "list_items").len(), 3);
    assert_eq!(members(&mut case.conn, &list_uri), Some(2));

    let mut case = settle(&events[..one_bob_left]);
    assert_eq!(members(&mut case.conn, &list_uri), Some(2));
    let mut case = settle(&events[..bob_gone]);
    assert_eq!(members(&mut case.conn, &list_uri), Some(1));
    let mut case = settle(&events[..moved]);
    assert_eq!(members(&mut case.conn, &list_uri), Some(1));
    assert_eq!(
        uris(&mut case.conn, "list_items"),
        vec![at_uri(ALICE, LIST_ITEM, &rkey(4))]
    );

    // The owner's account deleted: its lists, items and their members go with it.
    let mut case = settle(&events);
    assert!(uris(&mut case.conn, "lists").is_empty());
    assert!(uris(&mut case.conn, "list_items").is_empty());
    assert_eq!(members(&mut case.conn, &list_uri).unwrap_or(0), 0);
}

#[test]
fn items_and_gates_are_typed_only_where_they_belong() {
    let alice_list = at_uri(ALICE, LIST, &rkey(1));
    let bob_list = at_uri(BOB, LIST, &rkey(1));
    let alice_post = |n: u64| at_uri(ALICE, "app.bsky.feed.post", &rkey(n));
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&rkey(1), &list("alice's"))]);
    s.commit(
        BOB,
        vec![
            create(&rkey(1), &list("bob's")),
            // Bob cannot put Carol on Alice's list.
            create(&rkey(2), &item(&alice_list, CAROL)),
            // Nor gate Alice's post.
            create(&rkey(5), &gate(THREADGATE, &alice_post(5))),
        ],
    );
    s.commit(
        ALICE,
        vec![
            create(&rkey(5), &gate(THREADGATE, &alice_post(5))),
            // A gate under another key than its post's is no gate.
            create(&rkey(6), &gate(POSTGATE, &alice_post(7))),
            create(&rkey(7), &gate(POSTGATE, &alice_post(7))),
            create("self", &status()),
            create("other", &status()),
        ],
    );
    let made = s.mark();
    // Bob's stray item, moved to his own list, becomes an item; his own gate stays stray.
    s.commit(BOB, vec![update(&rkey(2), &item(&bob_list, CAROL))]);
    let moved = s.mark();
    // And back: typed to generic.
    s.commit(BOB, vec![update(&rkey(2), &item(&alice_list, CAROL))]);
    let events = s.events;

    let mut case = settle(&events[..made]);
    let conn = &mut case.conn;
    assert!(uris(conn, "list_items").is_empty());
    assert_eq!(members(conn, &alice_list).unwrap_or(0), 0);
    assert_eq!(
        uris(conn, "threadgates"),
        vec![at_uri(ALICE, THREADGATE, &rkey(5))]
    );
    assert_eq!(
        uris(conn, "postgates"),
        vec![at_uri(ALICE, POSTGATE, &rkey(7))]
    );
    assert_eq!(
        uris(conn, "actor_statuses"),
        vec![at_uri(ALICE, STATUS, "self")]
    );
    let mut generic = vec![
        at_uri(ALICE, POSTGATE, &rkey(6)),
        at_uri(ALICE, STATUS, "other"),
        at_uri(BOB, THREADGATE, &rkey(5)),
        at_uri(BOB, LIST_ITEM, &rkey(2)),
    ];
    generic.sort();
    assert_eq!(uris(conn, "generic_records"), generic);

    let mut case = settle(&events[..moved]);
    let conn = &mut case.conn;
    assert_eq!(
        uris(conn, "list_items"),
        vec![at_uri(BOB, LIST_ITEM, &rkey(2))]
    );
    assert_eq!(members(conn, &bob_list), Some(1));
    assert!(!uris(conn, "generic_records").contains(&at_uri(BOB, LIST_ITEM, &rkey(2))));

    let mut case = settle(&events);
    let conn = &mut case.conn;
    assert!(uris(conn, "list_items").is_empty());
    assert_eq!(members(conn, &bob_list), Some(0));
    assert!(uris(conn, "generic_records").contains(&at_uri(BOB, LIST_ITEM, &rkey(2))));
}

#[test]
fn the_migration_moves_generic_rows_and_back_without_a_difference() {
    let alice_list = at_uri(ALICE, LIST, &rkey(1));
    let mut s = Stream::new();
    s.commit(
        ALICE,
        vec![
            create(&rkey(1), &list("alice's")),
            create(&rkey(2), &item(&alice_list, BOB)),
            create(&rkey(3), &item(&alice_list, BOB)),
            create(&rkey(4), &item(&alice_list, CAROL)),
            create(
                &rkey(5),
                &gate(THREADGATE, &at_uri(ALICE, "app.bsky.feed.post", &rkey(5))),
            ),
            create("self", &status()),
            create("other", &status()),
        ],
    );
    s.commit(BOB, vec![create(&rkey(2), &item(&alice_list, CAROL))]);
    let events = s.events;

    let mut case = fresh();
    apply_each(&mut case.conn, &events);
    let typed = truth::dump(&mut case.conn);
    let total: usize = [
        "lists",
        "list_items",
        "threadgates",
        "actor_statuses",
        "generic_records",
    ]
    .iter()
    .map(|t| uris(&mut case.conn, t).len())
    .sum();

    // Down: every record is generic again, none lost.
    // (Later migrations first, down to before the kinds' tables.)
    loop {
        let version = case
            .conn
            .revert_last_migration(skyindex::db::migrate::MIGRATIONS)
            .expect("down");
        if version.to_string() == "20261202000003" {
            break;
        }
    }
    assert_eq!(uris(&mut case.conn, "generic_records").len(), total);
    // Up: the same tables, row for row, the counters recounted.
    case.conn
        .run_pending_migrations(skyindex::db::migrate::MIGRATIONS)
        .expect("up");
    assert_eq!(truth::dump(&mut case.conn), typed);
    assert_eq!(members(&mut case.conn, &alice_list), Some(2));
}
