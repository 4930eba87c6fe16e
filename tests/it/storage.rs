//! The storage semantics against the real-PDS capture: exact against its truth, and identical
//! however the stream is grouped, replayed or applied twice.

use diesel::pg::PgConnection;
use rand::{Rng, SeedableRng};
use skyindex::decode::{decode_frame, Frame, TypedEvent};
use skyindex::writer::apply::apply_group;

use crate::common::{self, db::TestDb, truth};

fn fixture_events() -> Vec<TypedEvent> {
    capture_events(&common::pds_small())
}

fn capture_events(dir: &std::path::Path) -> Vec<TypedEvent> {
    common::read_capture(&dir.join("frames.bin"))
        .iter()
        .filter_map(|f| match decode_frame(f).expect("fixture frames decode") {
            Frame::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn apply_in_groups(conn: &mut PgConnection, events: &[TypedEvent], group: usize) {
    let refs: Vec<&TypedEvent> = events.iter().collect();
    for chunk in refs.chunks(group) {
        apply_group(conn, chunk).expect("group applies");
    }
}

fn assert_matches_truth(conn: &mut PgConnection) {
    assert_matches_truth_of(conn, &common::pds_small());
}

fn assert_matches_truth_of(conn: &mut PgConnection, dir: &std::path::Path) {
    let truth = truth::load(dir);
    let diffs = truth::differences(conn, &truth);
    assert!(
        diffs.is_empty(),
        "{} differences from truth:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn real_capture_matches_truth_one_event_per_transaction() {
    let db = TestDb::new();
    let mut conn = db.conn();
    apply_in_groups(&mut conn, &fixture_events(), 1);
    assert_matches_truth(&mut conn);
}

#[test]
fn real_capture_matches_truth_in_large_groups() {
    let db = TestDb::new();
    let mut conn = db.conn();
    apply_in_groups(&mut conn, &fixture_events(), 500);
    assert_matches_truth(&mut conn);
}

#[test]
fn grouping_does_not_change_a_byte() {
    let events = fixture_events();
    let mut dumps = Vec::new();
    for group in [1, 7, 100, 2000] {
        let db = TestDb::new();
        let mut conn = db.conn();
        apply_in_groups(&mut conn, &events, group);
        dumps.push((group, truth::dump(&mut conn)));
    }
    for (group, dump) in &dumps[1..] {
        assert!(
            dump == &dumps[0].1,
            "groups of {group} differ from groups of 1"
        );
    }
}

#[test]
fn applying_twice_changes_nothing() {
    let events = fixture_events();
    let db = TestDb::new();
    let mut conn = db.conn();
    apply_in_groups(&mut conn, &events, 50);
    let once = truth::dump(&mut conn);
    apply_in_groups(&mut conn, &events, 50);
    let twice = truth::dump(&mut conn);
    for (table, rows) in &once {
        let again = &twice[table];
        let gone: Vec<_> = rows.iter().filter(|r| !again.contains(r)).collect();
        let new: Vec<_> = again.iter().filter(|r| !rows.contains(r)).collect();
        assert!(
            gone.is_empty() && new.is_empty(),
            "{table}: second pass changed\n{gone:#?}\n->\n{new:#?}"
        );
    }
    assert_matches_truth(&mut conn);
}

#[test]
fn random_prefixes_replayed_change_nothing() {
    let events = fixture_events();
    let clean = {
        let db = TestDb::new();
        let mut conn = db.conn();
        apply_in_groups(&mut conn, &events, 25);
        truth::dump(&mut conn)
    };
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let db = TestDb::new();
    let mut conn = db.conn();
    // Walk the stream; now and then jump back (as a restart from an older cursor would) and
    // apply a stretch again.
    let refs: Vec<&TypedEvent> = events.iter().collect();
    let mut pos = 0;
    let mut replays = 0;
    while pos < refs.len() {
        let len = rng.random_range(1..60).min(refs.len() - pos);
        apply_group(&mut conn, &refs[pos..pos + len]).expect("group applies");
        pos += len;
        if rng.random_bool(0.3) {
            let back = rng.random_range(1..=pos.min(200));
            let from = pos - back;
            for chunk in refs[from..pos].chunks(rng.random_range(1..40)) {
                apply_group(&mut conn, chunk).expect("replayed group applies");
            }
            replays += 1;
        }
    }
    assert!(replays > 5);
    assert!(
        truth::dump(&mut conn) == clean,
        "replays changed the tables"
    );
}

#[test]
fn the_writers_account_cache_changes_nothing_with_replays_and_evictions() {
    use skyindex::writer::apply::apply_items_cached;
    use skyindex::writer::user_cache::UserCache;
    let events = fixture_events();
    let clean = {
        let db = TestDb::new();
        let mut conn = db.conn();
        apply_in_groups(&mut conn, &events, 25);
        truth::dump(&mut conn)
    };
    // A cache far smaller than the accounts (evicting all the time) and one holding them all;
    // replayed stretches meet rows already there, so a group's first plan fails and is planned
    // again: what the failed attempt staged must not be kept.
    for capacity in [4, 100_000] {
        let mut cache = UserCache::new(capacity);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
        let db = TestDb::new();
        let mut conn = db.conn();
        let refs: Vec<&TypedEvent> = events.iter().collect();
        let mut pos = 0;
        while pos < refs.len() {
            let len = rng.random_range(1..60).min(refs.len() - pos);
            apply_items_cached(
                &mut conn,
                &refs[pos..pos + len],
                &[],
                Default::default(),
                &mut cache,
            )
            .expect("group applies");
            pos += len;
            if rng.random_bool(0.3) {
                let from = pos - rng.random_range(1..=pos.min(200));
                for chunk in refs[from..pos].chunks(rng.random_range(1..40)) {
                    apply_items_cached(&mut conn, chunk, &[], Default::default(), &mut cache)
                        .expect("replayed group applies");
                }
            }
        }
        assert!(
            cache.hits > 0,
            "capacity {capacity}: the cache was never read"
        );
        assert!(cache.len() <= capacity);
        assert!(
            truth::dump(&mut conn) == clean,
            "capacity {capacity}: the cache changed the tables"
        );
    }
}

/// The captures with every typed kind (lists and their items, gates, feed generators, starter
/// packs, verifications, …): each record in its table, list members counted, every counter.
#[test]
fn captures_with_every_kind_match_truth_in_any_grouping() {
    for capture in ["pds-records", "pds-verify"] {
        let dir = common::project_dir().join("tests/fixtures").join(capture);
        let events = capture_events(&dir);
        for group in [1, 7, 1000] {
            let db = TestDb::new();
            let mut conn = db.conn();
            apply_in_groups(&mut conn, &events, group);
            assert_matches_truth_of(&mut conn, &dir);
        }
    }
}
