//! `skyindex run` end to end: the real binary, real PostgreSQL, capture files as the source.

use std::time::Duration;

use crate::common::{self, db::TestDb, proc, truth};

fn fixture() -> String {
    format!("file:{}", common::pds_small().join("frames.bin").display())
}

fn assert_truth(db: &TestDb) {
    let truth = truth::load(&common::pds_small());
    let diffs = truth::differences(&mut db.conn(), &truth);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn saved_cursor(db: &TestDb) -> Option<i64> {
    skyindex::db::cursor::read(&mut db.conn(), &fixture()).expect("read cursor")
}

#[test]
fn capture_file_with_one_writer_matches_truth() {
    let db = TestDb::empty();
    let mut run = proc::spawn_run(&db.url, &["--relay", &fixture(), "--writers", "1"]);
    let status = run.wait(Duration::from_secs(60));
    assert!(status.success(), "exit {status}; log:\n{}", run.log_text());
    assert_truth(&db);
    assert_eq!(saved_cursor(&db), Some(999));
    let log = run.log_text();
    assert!(log.contains("applied migration"), "{log}");
    assert!(log.contains("stats events/sec="), "{log}");
}

#[test]
fn capture_file_with_eight_writers_matches_truth() {
    let db = TestDb::new();
    let mut run = proc::spawn_run(
        &db.url,
        &[
            "--relay",
            &fixture(),
            "--writers",
            "8",
            "--batch-size",
            "20",
        ],
    );
    let status = run.wait(Duration::from_secs(60));
    assert!(status.success(), "exit {status}; log:\n{}", run.log_text());
    assert_truth(&db);
}

#[test]
fn a_second_run_resumes_from_the_cursor_and_changes_nothing() {
    let db = TestDb::new();
    let mut first = proc::spawn_run(&db.url, &["--relay", &fixture()]);
    assert!(first.wait(Duration::from_secs(60)).success());
    let before = truth::dump(&mut db.conn());
    let mut second = proc::spawn_run(&db.url, &["--relay", &fixture()]);
    assert!(second.wait(Duration::from_secs(60)).success());
    let log = second.log_text();
    assert!(log.contains("cursor=999 (saved=999)"), "{log}");
    assert!(log.contains("0 events committed"), "{log}");
    assert!(truth::dump(&mut db.conn()) == before);
    // --cursor 0 replays everything; the rev guard makes it harmless.
    let mut third = proc::spawn_run(&db.url, &["--relay", &fixture(), "--cursor", "0"]);
    assert!(third.wait(Duration::from_secs(60)).success());
    assert!(truth::dump(&mut db.conn()) == before);
}

#[test]
fn truncated_capture_indexes_what_came_before_and_fails() {
    let dir = proc::TempDir::new("truncated");
    let frames = std::fs::read(common::pds_small().join("frames.bin")).expect("fixture");
    // Cut in the middle of some frame past the first third.
    let cut = frames.len() / 3 + 17;
    let path = dir.0.join("cut.bin");
    std::fs::write(&path, &frames[..cut]).expect("write");
    let db = TestDb::new();
    let source = format!("file:{}", path.display());
    let mut run = proc::spawn_run(&db.url, &["--relay", &source]);
    let status = run.wait(Duration::from_secs(60));
    let log = run.log_text();
    assert!(
        !status.success(),
        "a damaged capture must fail; log:\n{log}"
    );
    assert!(log.contains("capture truncated at byte"), "{log}");
    // Everything before the damage is committed: the cursor is the last whole frame's seq.
    let whole = common::read_capture_prefix(&frames[..cut]);
    let last_seq = whole
        .iter()
        .filter_map(|f| match skyindex::decode::decode_frame(f) {
            Ok(skyindex::decode::Frame::Event(e)) => e.seq(),
            _ => None,
        })
        .max();
    let cursor = skyindex::db::cursor::read(&mut db.conn(), &source).expect("cursor");
    assert_eq!(cursor, last_seq);
    assert!(cursor.unwrap_or(0) > 100);
}

#[test]
fn bad_configuration_is_refused_with_a_clear_error() {
    let db = TestDb::new();
    for (args, needle) in [
        (vec!["--writers", "0"], "--writers 0"),
        (vec!["--cursor", "yesterday"], "--cursor \"yesterday\""),
        (vec!["--relay", "ftp://x"], "scheme"),
        (vec!["--stats-interval", "soon"], "--stats-interval"),
        (vec!["--collections", "not an nsid"], "--collections"),
        (vec!["--notify-backfill", "lots"], "--notify-backfill"),
        (
            vec!["--backfill-collection", "not an nsid"],
            "--backfill-collection",
        ),
    ] {
        let mut run = proc::spawn_run(&db.url, &args);
        let status = run.wait(Duration::from_secs(20));
        assert!(!status.success());
        assert!(
            run.log_text().contains(needle),
            "{args:?}: {}",
            run.log_text()
        );
    }
}

#[test]
fn no_migrate_refuses_to_start_on_a_database_with_pending_migrations() {
    let db = TestDb::empty();
    let mut run = proc::spawn_run(&db.url, &["--relay", &fixture(), "--no-migrate"]);
    let status = run.wait(Duration::from_secs(20));
    assert!(!status.success());
    let log = run.log_text();
    assert!(
        log.contains("migration(s) pending") && log.contains("create_index_tables"),
        "{log}"
    );
}

#[test]
fn collections_filter_keeps_only_what_was_asked_for() {
    let db = TestDb::new();
    let mut run = proc::spawn_run(
        &db.url,
        &[
            "--relay",
            &fixture(),
            "--collections",
            "app.bsky.feed.like,app.bsky.graph.*",
        ],
    );
    assert!(
        run.wait(Duration::from_secs(60)).success(),
        "{}",
        run.log_text()
    );
    let truth = truth::load(&common::pds_small());
    let got = |table: &str| db.rows(table);
    assert_eq!(got("likes") as usize, truth.records["likes"].len());
    assert_eq!(got("follows") as usize, truth.records["follows"].len());
    assert_eq!(got("blocks") as usize, truth.records["blocks"].len());
    assert_eq!(got("posts"), 0);
    assert_eq!(got("reposts"), 0);
    // Lists are app.bsky.graph.* too; threadgates are not.
    let lists = truth.records["generic_records"]
        .iter()
        .filter(|(uri, _)| uri.contains("/app.bsky.graph."))
        .count();
    assert_eq!(got("generic_records") as usize, lists);
    assert_eq!(saved_cursor(&db), Some(999));
}

#[test]
fn only_tracked_indexes_just_the_accounts_track_named() {
    let db = TestDb::new();
    let skyindex = |args: &[&str]| {
        let out = std::process::Command::new(proc::bin())
            .args(args)
            .env("DATABASE_URL", &db.url)
            .output()
            .expect("skyindex");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let truth = truth::load(&common::pds_small());
    // The two accounts with the most posts.
    let mut authors: std::collections::BTreeMap<String, usize> = Default::default();
    for (uri, _) in &truth.records["posts"] {
        let did = uri
            .trim_start_matches("at://")
            .split('/')
            .next()
            .unwrap_or_default();
        *authors.entry(did.to_owned()).or_default() += 1;
    }
    let mut by_posts: Vec<(usize, String)> = authors.into_iter().map(|(d, n)| (n, d)).collect();
    by_posts.sort();
    let (kept, dropped) = (
        by_posts[by_posts.len() - 1].1.clone(),
        by_posts[0].1.clone(),
    );
    skyindex(&["migrate"]);
    skyindex(&["track", &kept, &dropped]);
    skyindex(&["track", "--remove", &dropped]);
    assert!(std::process::Command::new(proc::bin())
        .args(["track", "not-a-did"])
        .env("DATABASE_URL", &db.url)
        .output()
        .is_ok_and(|o| !o.status.success()));
    let mut run = proc::spawn_run(&db.url, &["--relay", &fixture(), "--only-tracked"]);
    assert!(
        run.wait(Duration::from_secs(60)).success(),
        "{}",
        run.log_text()
    );
    let log = run.log_text();
    assert!(log.contains("--only-tracked: 1 accounts tracked"), "{log}");
    // Only the tracked account's records, all of them; nobody else's, not even a users row.
    let prefix = format!("at://{kept}/");
    for table in [
        "posts",
        "likes",
        "reposts",
        "follows",
        "blocks",
        "generic_records",
    ] {
        let want: Vec<&String> = truth.records[table]
            .iter()
            .map(|(uri, _)| uri)
            .filter(|u| u.starts_with(&prefix))
            .collect();
        let got: Vec<String> = {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct U {
                #[diesel(sql_type = diesel::sql_types::Text)]
                uri: String,
            }
            diesel::sql_query(format!("SELECT uri FROM {table} ORDER BY uri"))
                .load::<U>(&mut db.conn())
                .expect("read")
                .into_iter()
                .map(|u| u.uri)
                .collect()
        };
        let mut want: Vec<String> = want.into_iter().cloned().collect();
        want.sort();
        assert_eq!(got, want, "{table}");
    }
    use diesel::prelude::*;
    let users: Vec<String> = skyindex::schema::users::table
        .select(skyindex::schema::users::did)
        .load(&mut db.conn())
        .expect("users");
    assert_eq!(users, vec![kept.clone()]);
    // The cursor still went to the end: the others' frames were passed over, not stuck on.
    assert_eq!(saved_cursor(&db), Some(999));
}
