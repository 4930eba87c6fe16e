//! Backfill's cutover, case by case, against the real PostgreSQL: live events decided by their
//! repo's sync state, a snapshot diffed against what we hold (creates, updates, deletes, with
//! their counters), the events buffered during the fetch drained while they chain, and the
//! repo's state after. Each step is its own transaction, as the writer runs it, so a crash
//! between any two leaves a state the next step (or a restart's reclaim) continues from.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use skyindex::changes::{Snapshot, SnapshotRecord};
use skyindex::db::repos;
use skyindex::decode::TypedEvent;
use skyindex::writer::apply::apply_items;
use skyindex::writer::cutover::cutover;
use skyindex::writer::Indexing;

use crate::common::db::TestDb;
use crate::common::events::{
    self, at_uri, create, delete, like, post, rev, rkey, time_of, Rec, Ref,
};

const ALICE: &str = "did:plc:alice";
const BOB: &str = "did:plc:bob";
const POST: &str = "app.bsky.feed.post";
const LIKE: &str = "app.bsky.feed.like";

fn synced() -> Indexing {
    Indexing {
        notifications: false,
        notify_backfill: skyindex::writer::NotifyBackfill::None,
        quiet_before: None,
        snapshot: false,
        first_sight_needs_ops: false,
        repo_sync: true,
    }
}

/// A commit of `did` at rev `n` chaining from rev `n - 1` (none for the first).
fn commit(seq: i64, did: &str, n: u64, ops: Vec<skyindex::decode::Op>) -> TypedEvent {
    let mut e = events::commit(seq, did, n, ops);
    if let TypedEvent::Commit(c) = &mut e {
        c.since = (n > 1).then(|| rev(n - 1));
    }
    e
}

fn live(conn: &mut PgConnection, events: &[TypedEvent]) {
    for e in events {
        apply_items(conn, &[e], &[], synced()).expect("group applies");
    }
}

fn state(conn: &mut PgConnection, did: &str) -> Option<String> {
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = Text)]
        state: String,
    }
    diesel::sql_query("SELECT state FROM repos WHERE did = $1")
        .bind::<Text, _>(did)
        .get_result::<S>(conn)
        .optional()
        .expect("read repos")
        .map(|s| s.state)
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query(sql).get_result::<N>(conn).expect(sql).n
}

fn likes_of(conn: &mut PgConnection, post_uri: &str) -> i64 {
    count(
        conn,
        &format!("SELECT COALESCE((SELECT like_count FROM post_aggregations WHERE post_uri = '{post_uri}'), 0) AS n"),
    )
}

fn has(conn: &mut PgConnection, table: &str, uri: &str) -> bool {
    count(
        conn,
        &format!("SELECT count(*) AS n FROM {table} WHERE uri = '{uri}'"),
    ) == 1
}

fn snapshot(did: &str, n: u64, records: &[(&str, &Rec)]) -> Snapshot {
    let mut records: Vec<SnapshotRecord> = records
        .iter()
        .map(|(rk, r)| SnapshotRecord {
            collection: r.collection.clone(),
            rkey: (*rk).to_owned(),
            cid: r.cid,
            record: r.record.clone(),
        })
        .collect();
    records.sort_by_key(|r| r.path());
    Snapshot {
        did: did.to_owned(),
        rev: rev(n),
        commit: events::cid_of(format!("commit {did} {n}").as_bytes()),
        data: events::cid_of(format!("data {did} {n}").as_bytes()),
        host: "http://pds.test".to_owned(),
        handle: Some(format!("{}.test", &did[8..])),
        fetched_at: time_of(1000),
        records,
        spilled: None,
        refused: 0,
    }
}

fn claim(conn: &mut PgConnection, did: &str) -> bool {
    conn.transaction(|c| repos::claim(c, did, false))
        .expect("claim")
}

#[test]
fn first_sight_fetch_buffer_and_drain() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let p1 = post("first", None, None);
    let p2 = post("second", None, None);
    let p1_ref = Ref::to(ALICE, &rkey(1), &p1);
    let l = like(&p1_ref);
    // Alice's repo at rev 2 holds p1 and p2; the stream shows rev 2 first (as after a gap).
    live(conn, &[commit(10, ALICE, 2, vec![create(&rkey(2), &p2)])]);
    assert_eq!(state(conn, ALICE).as_deref(), Some("desynchronized"));
    assert!(
        !has(conn, "posts", &at_uri(ALICE, POST, &rkey(2))),
        "dropped: the snapshot holds it"
    );

    assert!(claim(conn, ALICE));
    assert!(!claim(conn, ALICE), "claimed once");
    // During the fetch: rev 2 again (a replay, before the snapshot), rev 3 and 4 buffered.
    live(
        conn,
        &[
            commit(11, ALICE, 2, vec![create(&rkey(2), &p2)]),
            commit(12, ALICE, 3, vec![create(&rkey(3), &l)]),
            commit(13, ALICE, 4, vec![delete(POST, &rkey(2))]),
        ],
    );
    assert_eq!(count(conn, "SELECT count(*) AS n FROM repo_buffer"), 3);
    assert!(!has(conn, "likes", &at_uri(ALICE, LIKE, &rkey(3))));

    let s = cutover(
        conn,
        &snapshot(ALICE, 2, &[(&rkey(1), &p1), (&rkey(2), &p2)]),
        synced(),
    )
    .expect("cutover");
    assert!(s.applied && !s.broke, "{s:?}");
    assert_eq!((s.creates, s.updates, s.deletes), (2, 0, 0));
    assert_eq!((s.drained, s.skipped), (2, 1));
    assert_eq!(state(conn, ALICE).as_deref(), Some("synchronized"));
    assert_eq!(count(conn, "SELECT count(*) AS n FROM repo_buffer"), 0);
    // A repo never seen live has the handle its document gives.
    assert_eq!(
        count(
            conn,
            &format!(
                "SELECT count(*) AS n FROM users WHERE did = '{ALICE}' AND handle = 'alice.test'"
            )
        ),
        1
    );
    assert!(has(conn, "posts", &at_uri(ALICE, POST, &rkey(1))));
    // Deleted live after the snapshot was taken: it does not come back.
    assert!(!has(conn, "posts", &at_uri(ALICE, POST, &rkey(2))));
    assert_eq!(likes_of(conn, &p1_ref.uri), 1);
    assert_eq!(
        count(
            conn,
            &format!("SELECT posts_count AS n FROM user_aggregations WHERE did = '{ALICE}'")
        ),
        1
    );

    // The same snapshot again (a duplicate message): not resyncing any more, not applied.
    let again = cutover(
        conn,
        &snapshot(ALICE, 2, &[(&rkey(1), &p1), (&rkey(2), &p2)]),
        synced(),
    )
    .expect("cutover");
    assert!(!again.applied);
    assert!(!has(conn, "posts", &at_uri(ALICE, POST, &rkey(2))));

    // Synchronized: the next commit chains and applies; one that skips a rev resyncs the repo.
    live(conn, &[commit(14, ALICE, 5, vec![delete(LIKE, &rkey(3))])]);
    assert_eq!(likes_of(conn, &p1_ref.uri), 0);
    live(conn, &[commit(15, ALICE, 7, vec![create(&rkey(7), &l)])]);
    assert_eq!(state(conn, ALICE).as_deref(), Some("desynchronized"));
    assert!(!has(conn, "likes", &at_uri(ALICE, LIKE, &rkey(7))));
}

#[test]
fn records_gone_at_the_source_go_with_their_counters() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let target = post("target", None, None);
    let target_ref = Ref::to(ALICE, &rkey(1), &target);
    let l = like(&target_ref);
    let l2 = like(&target_ref).created_at("2024-06-01T00:00:00.000Z");
    // Without backfill: Alice's post, Bob's like of it.
    for e in [
        commit(1, ALICE, 1, vec![create(&rkey(1), &target)]),
        commit(2, BOB, 1, vec![create(&rkey(5), &l)]),
    ] {
        apply_items(
            conn,
            &[&e],
            &[],
            Indexing {
                notifications: false,
                notify_backfill: skyindex::writer::NotifyBackfill::None,
                quiet_before: None,
                snapshot: false,
                first_sight_needs_ops: false,
                repo_sync: false,
            },
        )
        .expect("applies");
    }
    assert_eq!(likes_of(conn, &target_ref.uri), 1);
    // Bob's repo, while we were away: the like deleted, another made (a new rkey), rev 9.
    repos::mark_desynchronized(conn, &[BOB.to_owned()]).expect("mark");
    assert!(claim(conn, BOB));
    let s = cutover(conn, &snapshot(BOB, 9, &[(&rkey(8), &l2)]), synced()).expect("cutover");
    assert_eq!((s.creates, s.updates, s.deletes), (1, 0, 1), "{s:?}");
    assert!(!has(conn, "likes", &at_uri(BOB, LIKE, &rkey(5))));
    assert!(has(conn, "likes", &at_uri(BOB, LIKE, &rkey(8))));
    assert_eq!(likes_of(conn, &target_ref.uri), 1, "once per account");
    // A record updated at the source: same path, another CID.
    repos::mark_desynchronized(conn, &[BOB.to_owned()]).expect("mark");
    assert!(claim(conn, BOB));
    let l3 = like(&target_ref).created_at("2024-07-01T00:00:00.000Z");
    let s = cutover(conn, &snapshot(BOB, 10, &[(&rkey(8), &l3)]), synced()).expect("cutover");
    assert_eq!(
        (s.creates, s.updates, s.deletes, s.unchanged),
        (0, 1, 0, 0),
        "{s:?}"
    );
    assert_eq!(
        count(
            conn,
            &format!("SELECT count(*) AS n FROM likes WHERE cid = '{}'", l3.cid)
        ),
        1
    );
    assert_eq!(likes_of(conn, &target_ref.uri), 1);
    // Everything gone at the source.
    repos::mark_desynchronized(conn, &[BOB.to_owned()]).expect("mark");
    assert!(claim(conn, BOB));
    cutover(conn, &snapshot(BOB, 11, &[]), synced()).expect("cutover");
    assert_eq!(likes_of(conn, &target_ref.uri), 0);
    // The repo's rev is the snapshot's.
    assert_eq!(
        count(
            conn,
            &format!(
                "SELECT count(*) AS n FROM users WHERE did = '{BOB}' AND rev = '{}'",
                rev(11)
            )
        ),
        1
    );
}

#[test]
fn a_buffer_that_breaks_the_chain_sends_the_repo_back() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let p1 = post("one", None, None);
    let p5 = post("five", None, None);
    live(conn, &[commit(1, ALICE, 1, vec![create(&rkey(1), &p1)])]);
    assert!(claim(conn, ALICE));
    // Rev 3 then rev 5: 5 does not chain from 3.
    let mut broken = commit(3, ALICE, 5, vec![create(&rkey(5), &p5)]);
    if let TypedEvent::Commit(c) = &mut broken {
        c.since = Some(rev(4));
    }
    live(
        conn,
        &[commit(2, ALICE, 3, vec![delete(POST, &rkey(1))]), broken],
    );
    let s = cutover(conn, &snapshot(ALICE, 2, &[(&rkey(1), &p1)]), synced()).expect("cutover");
    assert!(s.broke && s.drained == 1, "{s:?}");
    assert_eq!(state(conn, ALICE).as_deref(), Some("desynchronized"));
    assert_eq!(count(conn, "SELECT count(*) AS n FROM repo_buffer"), 0);
    // What chained is applied; what did not, is left for the next snapshot.
    assert!(!has(conn, "posts", &at_uri(ALICE, POST, &rkey(1))));
    assert!(!has(conn, "posts", &at_uri(ALICE, POST, &rkey(5))));
}

#[test]
fn sync_events_and_accounts_move_the_state() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let p1 = post("one", None, None);
    live(conn, &[commit(1, ALICE, 1, vec![create(&rkey(1), &p1)])]);
    assert!(claim(conn, ALICE));
    cutover(conn, &snapshot(ALICE, 1, &[(&rkey(1), &p1)]), synced()).expect("cutover");
    assert_eq!(state(conn, ALICE).as_deref(), Some("synchronized"));
    // A #sync at our own rev changes nothing; one ahead of it resyncs the repo.
    live(conn, &[events::sync(2, ALICE, 1, &time_of(2))]);
    assert_eq!(state(conn, ALICE).as_deref(), Some("synchronized"));
    live(conn, &[events::sync(3, ALICE, 4, &time_of(3))]);
    assert_eq!(state(conn, ALICE).as_deref(), Some("desynchronized"));
    assert!(claim(conn, ALICE));
    cutover(conn, &snapshot(ALICE, 4, &[(&rkey(1), &p1)]), synced()).expect("cutover");
    // Taken down, then active again: what happened meanwhile never reached the stream.
    live(
        conn,
        &[events::account(
            4,
            ALICE,
            &time_of(4),
            false,
            Some("takendown"),
        )],
    );
    assert_eq!(state(conn, ALICE).as_deref(), Some("synchronized"));
    live(conn, &[events::account(5, ALICE, &time_of(5), true, None)]);
    assert_eq!(state(conn, ALICE).as_deref(), Some("desynchronized"));
    // A failed fetch: error, with a retry time, and its buffer cleared.
    assert!(claim(conn, ALICE));
    live(conn, &[commit(6, ALICE, 5, vec![delete(POST, &rkey(1))])]);
    conn.transaction(|c| repos::fail(c, ALICE, "boom", None, None))
        .expect("fail");
    assert_eq!(state(conn, ALICE).as_deref(), Some("error"));
    assert_eq!(count(conn, "SELECT count(*) AS n FROM repo_buffer"), 0);
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS n FROM repos WHERE retry_at > now() + interval '50 seconds'"
        ),
        1
    );
    // Not due yet; due once its time has come.
    assert!(repos::due(conn, 10).expect("due").is_empty());
    diesel::sql_query("UPDATE repos SET retry_at = now() - interval '1 second'")
        .execute(conn)
        .expect("age");
    assert_eq!(repos::due(conn, 10).expect("due"), vec![ALICE.to_owned()]);
    // A server that asked for ten minutes gets them, not our one.
    assert!(claim(conn, ALICE));
    conn.transaction(|c| {
        repos::fail(
            c,
            ALICE,
            "429",
            None,
            Some(std::time::Duration::from_secs(600)),
        )
    })
    .expect("fail");
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS n FROM repos WHERE retry_at > now() + interval '590 seconds'"
        ),
        1
    );
}

fn hosting(conn: &mut PgConnection, did: &str) -> (String, String, bool) {
    #[derive(QueryableByName)]
    struct H {
        #[diesel(sql_type = Text)]
        state: String,
        #[diesel(sql_type = Text)]
        hosting: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        active: bool,
    }
    let h: H = diesel::sql_query(
        "SELECT r.state, r.hosting, u.active FROM repos r JOIN users u USING (did) WHERE did = $1",
    )
    .bind::<Text, _>(did)
    .get_result(conn)
    .expect("read repo and user");
    (h.state, h.hosting, h.active)
}

fn failed(conn: &mut PgConnection, did: &str, h: skyindex::changes::Hosting) {
    let command = skyindex::writer::SyncCommand::Failed {
        did: did.to_owned(),
        reason: "RepoDeactivated".to_owned(),
        hosting: Some(h),
        retry_in: None,
    };
    skyindex::writer::resync::run(conn, &command, synced()).expect("failed step");
}

#[test]
fn a_refusal_answered_before_the_stream_said_the_account_is_back_does_not_undo_it() {
    use skyindex::changes::Hosting;
    let db = TestDb::new();
    let conn = &mut db.conn();
    let p1 = post("one", None, None);
    live(conn, &[commit(1, ALICE, 1, vec![create(&rkey(1), &p1)])]);
    assert!(claim(conn, ALICE));
    // The fetch is refused while the account is deactivated; by the time the refusal reaches
    // the writer, the stream has said it was deactivated and is active again.
    live(
        conn,
        &[
            events::account(2, ALICE, &time_of(2), false, Some("deactivated")),
            events::account(3, ALICE, &time_of(3), true, None),
        ],
    );
    failed(conn, ALICE, Hosting::Deactivated);
    assert_eq!(
        hosting(conn, ALICE),
        ("error".to_owned(), "active".to_owned(), true)
    );
    // Tried again in seconds, not after the minute of an ordinary failure.
    assert_eq!(
        count(
            conn,
            "SELECT count(*) AS n FROM repos WHERE retry_at < now() + interval '10 seconds'"
        ),
        1
    );
    // With no word from the stream during the fetch, the refusal is the news: the account is
    // deactivated, as an #account event would have made it, and waits for the minute.
    assert!(claim(conn, ALICE));
    failed(conn, ALICE, Hosting::Deactivated);
    assert_eq!(
        hosting(conn, ALICE),
        ("error".to_owned(), "deactivated".to_owned(), false)
    );
    assert!(repos::due(conn, 10).expect("due").is_empty());
    // Its return on the stream makes it due at once.
    live(conn, &[events::account(4, ALICE, &time_of(4), true, None)]);
    assert_eq!(
        hosting(conn, ALICE),
        ("desynchronized".to_owned(), "active".to_owned(), true)
    );
    assert_eq!(repos::due(conn, 10).expect("due"), vec![ALICE.to_owned()]);
}

fn notified(conn: &mut PgConnection) -> Vec<(String, String)> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = Text)]
        record_uri: String,
        #[diesel(sql_type = Text)]
        reason: String,
    }
    diesel::sql_query("SELECT record_uri, reason FROM notifications ORDER BY record_uri, reason")
        .load::<N>(conn)
        .expect("read notifications")
        .into_iter()
        .map(|n| (n.record_uri, n.reason))
        .collect()
}

#[test]
fn snapshots_notify_only_what_is_asked_and_still_withdraw() {
    use skyindex::writer::NotifyBackfill;
    let target = post("target", None, None);
    let target_ref = Ref::to(ALICE, &rkey(1), &target);
    let other = post("other", None, None);
    let other_ref = Ref::to(ALICE, &rkey(2), &other);
    // The snapshots are fetched at time_of(1000); the likes are dated long before and just
    // before it.
    let old = like(&target_ref).created_at("2024-06-01T00:00:00.000Z");
    let recent = like(&other_ref).created_at(&time_of(990));
    let like_uri = |n| at_uri(BOB, LIKE, &rkey(n));
    let cases = [
        (NotifyBackfill::None, vec![]),
        (
            NotifyBackfill::Recent(std::time::Duration::from_secs(60)),
            vec![like_uri(6)],
        ),
        (NotifyBackfill::All, vec![like_uri(5), like_uri(6)]),
    ];
    for (notify_backfill, expected) in cases {
        let db = TestDb::new();
        let conn = &mut db.conn();
        let indexing = Indexing {
            notifications: true,
            notify_backfill,
            ..synced()
        };
        let live = |conn: &mut PgConnection, e: &TypedEvent| {
            apply_items(conn, &[e], &[], indexing).expect("applies");
        };
        live(conn, &commit(1, ALICE, 1, vec![create(&rkey(1), &target)]));
        assert!(claim(conn, ALICE));
        let posts = [(rkey(1), &target), (rkey(2), &other)];
        let posts: Vec<(&str, &Rec)> = posts.iter().map(|(k, r)| (k.as_str(), *r)).collect();
        cutover(conn, &snapshot(ALICE, 1, &posts), indexing).expect("cutover");
        // Bob's first commit is dropped (the snapshot holds it), so only the snapshot tells.
        live(conn, &commit(2, BOB, 1, vec![create(&rkey(5), &old)]));
        assert!(claim(conn, BOB));
        let likes = [(rkey(5), &old), (rkey(6), &recent)];
        let records: Vec<(&str, &Rec)> = likes.iter().map(|(k, r)| (k.as_str(), *r)).collect();
        cutover(conn, &snapshot(BOB, 2, &records), indexing).expect("cutover");
        let told: Vec<String> = notified(conn).into_iter().map(|(u, _)| u).collect();
        assert_eq!(told, expected, "{notify_backfill:?}");
        // Fetched again with both likes gone: whatever they told is withdrawn.
        repos::mark_desynchronized(conn, &[BOB.to_owned()]).expect("mark");
        assert!(claim(conn, BOB));
        cutover(conn, &snapshot(BOB, 9, &[]), indexing).expect("cutover");
        assert_eq!(notified(conn), vec![], "{notify_backfill:?}");
        // Live events after it notify as ever.
        live(conn, &commit(10, BOB, 10, vec![create(&rkey(12), &old)]));
        assert_eq!(notified(conn), vec![(like_uri(12), "like".to_owned())]);
    }
}

#[test]
fn tracking_by_collection_fetches_only_repos_that_write_one() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let tracking = Indexing {
        first_sight_needs_ops: true,
        ..synced()
    };
    let apply = |conn: &mut PgConnection, e: &TypedEvent| {
        apply_items(conn, &[e], &[], tracking).expect("applies");
    };
    // Bob's commit wrote nothing of the kept collections (the filter left no op), and his
    // #sync is news of a repo we do not track: neither makes him tracked, both apply.
    apply(conn, &commit(1, BOB, 1, vec![]));
    apply(conn, &events::sync(2, BOB, 2, &time_of(2)));
    assert_eq!(state(conn, BOB), None);
    assert_eq!(
        count(
            conn,
            &format!(
                "SELECT count(*) AS n FROM users WHERE did = '{BOB}' AND rev = '{}'",
                rev(2)
            )
        ),
        1
    );
    // Alice's writes a post: she is tracked, and fetched.
    let p1 = post("one", None, None);
    apply(conn, &commit(3, ALICE, 1, vec![create(&rkey(1), &p1)]));
    assert_eq!(state(conn, ALICE).as_deref(), Some("desynchronized"));
}

/// Bob's follows, users' counters and the repo's rev, as one comparable text.
fn follows_state(conn: &mut PgConnection) -> String {
    crate::common::db::text_rows(
        conn,
        "SELECT concat_ws(' ', uri, cid, following_did, created_at) AS row FROM follows \
         UNION ALL SELECT concat_ws(' ', did, follows_count, followers_count) FROM user_aggregations \
         UNION ALL SELECT concat_ws(' ', did, rev, data_cid, state) FROM repos ORDER BY 1",
    )
    .join("\n")
}

#[test]
fn a_big_repo_is_diffed_in_chunks_as_it_is_in_memory() {
    use crate::common::events::follow;
    use skyindex::writer::cutover::cutover_holding;
    // Bob follows 4,500 accounts (more than two chunks); then, fetched again: every fourth
    // follow gone, every seventh re-made at the same path (another CID), 300 new.
    let subjects: Vec<String> = (0..4800)
        .map(|i| format!("did:plc:subject{i:09}"))
        .collect();
    let first: Vec<(String, Rec)> = (0..4500)
        .map(|i| (rkey(10_000 + i as u64), follow(&subjects[i])))
        .collect();
    let second: Vec<(String, Rec)> = (0..4800)
        .filter(|i| i >= &4500 || i % 4 != 0)
        .map(|i| {
            let rec = if i < 4500 && i % 7 == 0 {
                follow(&subjects[i]).created_at("2025-02-02T00:00:00.000Z")
            } else {
                follow(&subjects[i])
            };
            (rkey(10_000 + i as u64), rec)
        })
        .collect();
    let refs = |v: &[(String, Rec)]| -> Vec<(String, Rec)> { v.to_vec() };
    let mut states = Vec::new();
    for held_in_memory in [20_000, 0] {
        let db = TestDb::new();
        let conn = &mut db.conn();
        let mut stats = Vec::new();
        for (n, recs) in [(1, refs(&first)), (2, refs(&second))] {
            repos::mark_desynchronized(conn, &[BOB.to_owned()]).expect("mark");
            assert!(claim(conn, BOB));
            let list: Vec<(&str, &Rec)> = recs.iter().map(|(k, r)| (k.as_str(), r)).collect();
            let s = cutover_holding(conn, &snapshot(BOB, n, &list), synced(), held_in_memory)
                .expect("cutover");
            stats.push((s.creates, s.updates, s.deletes, s.unchanged));
        }
        let gone = (0..4500).filter(|i| i % 4 == 0).count() as u64;
        let remade = (0..4500).filter(|i| i % 4 != 0 && i % 7 == 0).count() as u64;
        assert_eq!(
            stats,
            vec![(4500, 0, 0, 0), (300, remade, gone, 4500 - gone - remade)],
            "held in memory up to {held_in_memory}"
        );
        assert_eq!(
            count(
                conn,
                &format!("SELECT follows_count AS n FROM user_aggregations WHERE did = '{BOB}'")
            ),
            4800 - gone as i64
        );
        states.push(follows_state(conn));
    }
    assert_eq!(
        states[0], states[1],
        "the same rows and counters either way"
    );
}

/// `event` with its `prevData` and the root it leaves (`data`) set.
fn with_roots(mut event: TypedEvent, prev: Option<&str>, data: &str) -> TypedEvent {
    let root = |s: &str| events::cid_of(format!("root {s}").as_bytes());
    match &mut event {
        TypedEvent::Commit(c) => {
            c.prev_data = prev.map(root);
            c.data = Some(root(data));
        }
        TypedEvent::Sync(s) => s.data = Some(root(data)),
        _ => {}
    }
    event
}

#[test]
fn a_commit_whose_prev_data_is_not_our_root_breaks_the_chain() {
    let db = TestDb::new();
    let conn = &mut db.conn();
    let p1 = post("one", None, None);
    let p2 = post("two", None, None);
    live(conn, &[commit(1, ALICE, 1, vec![create(&rkey(1), &p1)])]);
    assert!(claim(conn, ALICE));
    let mut snap = snapshot(ALICE, 1, &[(&rkey(1), &p1)]);
    snap.data = events::cid_of(b"root a");
    cutover(conn, &snap, synced()).expect("cutover");
    let root = |conn: &mut PgConnection| {
        count(
            conn,
            &format!(
                "SELECT count(*) AS n FROM users WHERE did = '{ALICE}' AND data_cid = '{}'",
                events::cid_of(b"root b")
            ),
        )
    };
    // Chains on from the snapshot's root: applied, and its root is now ours.
    live(
        conn,
        &[with_roots(
            commit(2, ALICE, 2, vec![create(&rkey(2), &p2)]),
            Some("a"),
            "b",
        )],
    );
    assert_eq!(state(conn, ALICE).as_deref(), Some("synchronized"));
    assert!(has(conn, "posts", &at_uri(ALICE, POST, &rkey(2))));
    assert_eq!(root(conn), 1);
    // A #sync naming the root we hold, at a later rev: nothing changed, nothing to fetch.
    live(
        conn,
        &[with_roots(
            events::sync(3, ALICE, 3, &time_of(3)),
            None,
            "b",
        )],
    );
    assert_eq!(state(conn, ALICE).as_deref(), Some("synchronized"));
    // `since` is our rev but `prevData` another root: something was lost upstream.
    let p3 = post("three", None, None);
    live(
        conn,
        &[with_roots(
            commit(4, ALICE, 4, vec![create(&rkey(3), &p3)]),
            Some("elsewhere"),
            "c",
        )],
    );
    assert_eq!(state(conn, ALICE).as_deref(), Some("desynchronized"));
    assert!(!has(conn, "posts", &at_uri(ALICE, POST, &rkey(3))));
    // Fetched again; a buffered commit that does not chain from the snapshot's root sends it
    // back; one that does is drained.
    for (prev, ends) in [("z", "desynchronized"), ("d", "synchronized")] {
        if state(conn, ALICE).as_deref() != Some("desynchronized") {
            repos::mark_desynchronized(conn, &[ALICE.to_owned()]).expect("mark");
        }
        assert!(claim(conn, ALICE));
        live(
            conn,
            &[with_roots(
                commit(6, ALICE, 6, vec![create(&rkey(3), &p3)]),
                Some(prev),
                "e",
            )],
        );
        let mut snap = snapshot(ALICE, 5, &[(&rkey(1), &p1), (&rkey(2), &p2)]);
        snap.data = events::cid_of(b"root d");
        let s = cutover(conn, &snap, synced()).expect("cutover");
        assert_eq!(state(conn, ALICE).as_deref(), Some(ends), "{prev}: {s:?}");
        assert_eq!(
            has(conn, "posts", &at_uri(ALICE, POST, &rkey(3))),
            ends == "synchronized"
        );
    }
    // A #sync with another root than ours resyncs.
    live(
        conn,
        &[with_roots(
            events::sync(7, ALICE, 7, &time_of(7)),
            None,
            "x",
        )],
    );
    assert_eq!(state(conn, ALICE).as_deref(), Some("desynchronized"));
}
