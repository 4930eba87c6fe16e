//! A kill -9 at every step of a repo's backfill, then a restart: the database ends as an
//! uninterrupted run leaves it. The real `skyindex backfill` against a loopback PLC and PDS;
//! the process is killed with SIGKILL at a named point (`SKYINDEX_CRASH_AT`, see
//! `src/crashpoint.rs`): before its claim commits, after the fetch (the snapshot read, not
//! handed to the writer), and mid-cutover (the first chunk applied, its transaction open).
//! Between the kill and the restart a live event of the repo arrives: held in the durable
//! buffer while the repo is `resyncing`, drained by the restarted cutover.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use diesel::pg::PgConnection;
use skyindex::decode::TypedEvent;
use skyindex::writer::apply::apply_items;
use skyindex::writer::Indexing;

use crate::backfill_fetch::{export, server};
use crate::common::db::{text_rows, TestDb};
use crate::common::events::{self, create, follow, post, rev, rkey, Rec};
use crate::common::proc;
use crate::identity::support::{plc, Reply};

fn indexing(repo_sync: bool) -> Indexing {
    Indexing {
        repo_sync,
        ..Indexing::default()
    }
}

fn apply(conn: &mut PgConnection, event: &TypedEvent, repo_sync: bool) {
    apply_items(conn, &[event], &[], indexing(repo_sync)).expect("applies");
}

/// Records, counters and the repo's sync state, as one comparable text.
fn state(conn: &mut PgConnection) -> String {
    text_rows(
        conn,
        "SELECT concat_ws(' ', 'follow', uri, cid, following_did) AS row FROM follows \
         UNION ALL SELECT concat_ws(' ', 'post', uri, cid, text) FROM posts \
         UNION ALL SELECT concat_ws(' ', 'user', did, follows_count, followers_count, posts_count) \
           FROM user_aggregations WHERE follows_count <> 0 OR followers_count <> 0 OR posts_count <> 0 \
         UNION ALL SELECT concat_ws(' ', 'repo', did, state, rev, data_cid) FROM repos \
         UNION ALL SELECT concat_ws(' ', 'account', did, rev, data_cid) FROM users \
         UNION ALL SELECT concat_ws(' ', 'buffered', count(*)) FROM repo_buffer ORDER BY 1",
    )
    .join("\n")
}

/// The repo's sync state in a [`state`] text.
fn repo_state(state: &str) -> &str {
    state
        .lines()
        .find_map(|l| l.strip_prefix("repo "))
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("none")
}

#[test]
fn a_kill_at_every_step_of_a_backfill_ends_as_an_uninterrupted_one() {
    let did = plc(21);
    let subjects: Vec<String> = (0..5000).map(|i| plc(50_000 + i)).collect();
    // What we hold from before: follows 0..3000 and a post; the repo since: follows 1000..4500
    // (2,000 gone, 1,500 new: more than two chunks), the post edited.
    let old_post = post("before", None, None);
    let new_post = post("after", None, None);
    let follows: Vec<Rec> = subjects.iter().map(|s| follow(s)).collect();
    let mut snapshot: Vec<(String, &Rec)> = (1000..4500)
        .map(|i| {
            (
                format!("app.bsky.graph.follow/{}", rkey(1000 + i as u64)),
                &follows[i],
            )
        })
        .collect();
    snapshot.push((format!("app.bsky.feed.post/{}", rkey(1)), &new_post));
    let car = export(&did, &rev(50), &snapshot, false);
    let pds = server(did.clone(), move || Reply::ok(car.clone()));
    let prepare = || {
        let db = TestDb::new();
        let conn = &mut db.conn();
        let mut ops = vec![create(&rkey(1), &old_post)];
        ops.extend((0..3000).map(|i| create(&rkey(1000 + i as u64), &follows[i])));
        // Posts and follows in separate commits (a commit's ops are of one collection here).
        let (posts, graph) = ops.split_at(1);
        apply(conn, &events::commit(1, &did, 1, posts.to_vec()), false);
        let mut c = events::commit(2, &did, 2, graph.to_vec());
        if let TypedEvent::Commit(c) = &mut c {
            c.ops
                .iter_mut()
                .for_each(|op| op.collection = "app.bsky.graph.follow".into());
        }
        apply(conn, &c, false);
        db
    };
    // A live commit made after the snapshot's rev, chaining from it.
    let live = {
        let mut e = events::commit(100, &did, 51, vec![create(&rkey(9000), &follows[4900])]);
        if let TypedEvent::Commit(c) = &mut e {
            c.since = Some(rev(50));
            c.ops[0].collection = "app.bsky.graph.follow".into();
        }
        e
    };
    let backfill = |db: &TestDb, crash: Option<&str>| {
        let out = Command::new(proc::bin())
            .arg("backfill")
            .arg(&did)
            .args([
                "--plc-url",
                &pds.url(""),
                "--allow-private-hosts",
                "--plain-http",
            ])
            .args(["--verify", "off", "--verify-handles", "off"])
            .env("DATABASE_URL", &db.url)
            .env("LOG_LEVEL", "info")
            .env("SKYINDEX_CRASH_AT", crash.unwrap_or(""))
            .output()
            .expect("skyindex backfill");
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Uninterrupted: the backfill, then the live commit applied as it chains.
    let reference = prepare();
    let (status, log) = backfill(&reference, None);
    assert!(status.success(), "{log}");
    apply(&mut reference.conn(), &live, true);
    let want = state(&mut reference.conn());
    assert_eq!(repo_state(&want), "synchronized", "{want}");
    assert!(want.contains("buffered 0"), "{want}");
    for point in ["claim", "fetched", "cutover"] {
        let db = prepare();
        let (status, log) = backfill(&db, Some(point));
        assert_eq!(status.signal(), Some(9), "{point}: killed\n{log}");
        assert!(
            log.contains(&format!("crash point {point} reached")),
            "{log}"
        );
        let conn = &mut db.conn();
        let held = state(conn);
        // Killed before its claim committed the repo is not `resyncing`: the live commit is
        // dropped (the snapshot will not hold it, and the next commit will not chain, so it is
        // fetched again); after, it is held in the buffer.
        apply(conn, &live, true);
        let (status, log) = backfill(&db, None);
        assert!(status.success(), "{point}: restart\n{log}");
        let got = state(conn);
        if point == "claim" {
            assert_eq!(repo_state(&held), "desynchronized", "{held}");
            let expected = {
                let db = prepare();
                let (status, log) = backfill(&db, None);
                assert!(status.success(), "{log}");
                state(&mut db.conn())
            };
            assert_eq!(got, expected, "killed at {point}");
        } else {
            assert_eq!(repo_state(&held), "resyncing", "{point}: {held}");
            // Nothing of a half-applied cutover is left: what we held is as it was.
            assert!(
                held.contains(" before") && !held.contains(" after"),
                "{held}"
            );
            assert_eq!(got, want, "killed at {point}");
        }
    }
}
