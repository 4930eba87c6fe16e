//! A labeler that lies, and one that comes and goes: a stream of our own, signed with a key of
//! our own (its DID document served by a loopback directory), mixing good labels with labels
//! whose signature does not cover them, that claim another labeler's `src`, that are too long,
//! unsigned, of another version, about a subject that is not one, holding a NUL; frames that
//! are not CBOR, not canonical, too large, of an unknown type; `#info OutdatedCursor`. The
//! good labels are applied, the rest counted by reason and never stored, and the stream goes
//! on. A labeler that drops the connection every few frames is followed to the end from its
//! cursor; one whose cursor is in the future starts again from live.

use std::collections::BTreeMap;
use std::time::Duration;

use ipld_core::ipld::Ipld;
use skyindex::replay::{ReplayOptions, WithoutCursor};

use crate::common::db::TestDb;
use crate::labels_support::{self as support, labels_frame, OurLabeler};

const ALICE: &str = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa";
const BOB: &str = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb";

/// The hostile stream, and the reasons its refusals must be counted under.
fn hostile(ours: &OurLabeler) -> (Vec<Vec<u8>>, BTreeMap<String, u64>) {
    let good = |uri: &str, val: &str, t: u32, neg: bool| ours.signed(ours.label(uri, val, t, neg));
    let tamper = |label: Ipld, key: &str, value: Ipld| {
        let Ipld::Map(mut m) = label else {
            unreachable!()
        };
        m.insert(key.to_owned(), value);
        Ipld::Map(m)
    };
    let record = format!("at://{BOB}/app.bsky.feed.post/3n3nemnzqki2x");
    let mut frames = vec![
        labels_frame(1, vec![good(ALICE, "spam", 1, false)]),
        // Changed after signing: the signature no longer covers it.
        labels_frame(
            2,
            vec![tamper(
                good(ALICE, "rude", 2, false),
                "val",
                Ipld::String("porn".into()),
            )],
        ),
        // Signed by us, claiming to be someone else's label.
        labels_frame(3, {
            let mut l = ours.label(BOB, "spam", 3, false);
            l.insert("src".into(), Ipld::String(BOB.into()));
            vec![ours.signed(l)]
        }),
        labels_frame(4, vec![good(BOB, &"x".repeat(129), 4, false)]),
        // Not CBOR at all.
        b"\xff\x00 not a frame".to_vec(),
    ];
    // A body whose keys are out of canonical order ("labels" before "seq").
    let mut noncanonical = labels_frame(6, vec![]);
    let header_len = skyindex::ipld::cbor::validate_item(&noncanonical).expect("header");
    noncanonical.truncate(header_len);
    noncanonical.extend([0xa2, 0x66]);
    noncanonical.extend(b"labels");
    noncanonical.push(0x80);
    noncanonical.extend([0x63, b's', b'e', b'q', 0x06]);
    frames.push(noncanonical);
    frames.extend([
        // One good, one forged, in one frame: the good one is applied.
        labels_frame(
            7,
            vec![
                good(&record, "harness-red", 7, false),
                tamper(good(BOB, "harness-red", 7, false), "neg", Ipld::Bool(true)),
            ],
        ),
        labels_frame(8, vec![Ipld::Map(ours.label(BOB, "spam", 8, false))]),
        labels_frame(9, {
            let mut l = ours.label(BOB, "spam", 9, false);
            l.insert("ver".into(), Ipld::Integer(2));
            vec![ours.signed(l)]
        }),
        labels_frame(10, vec![good("https://example.com/", "spam", 10, false)]),
        support::info_frame("OutdatedCursor", "cursor is older than what is kept"),
        {
            let mut f = labels_frame(11, vec![]);
            let at = f.windows(7).position(|w| w == b"#labels").expect("t");
            f[at..at + 7].copy_from_slice(b"#weird!");
            f
        },
        labels_frame(12, vec![good(BOB, "nul\0here", 12, false)]),
        // Too large: refused before anything is read of it.
        {
            let mut f = labels_frame(13, vec![]);
            f.extend(vec![0u8; 2_100_000]);
            f
        },
        // The negation of seq 1's label: it leaves force.
        labels_frame(14, vec![good(ALICE, "spam", 14, true)]),
        labels_frame(15, vec![good(BOB, "!warn", 15, false)]),
    ]);
    let reasons = BTreeMap::from([
        ("bad_signature".to_owned(), 2),
        ("wrong_src".to_owned(), 1),
        ("bad_val".to_owned(), 1),
        ("bad_frame".to_owned(), 3),
        ("no_sig".to_owned(), 1),
        ("bad_version".to_owned(), 1),
        ("bad_uri".to_owned(), 1),
        ("bad_cbor".to_owned(), 1),
    ]);
    (frames, reasons)
}

/// Our stream on loopback, with its document in a directory.
fn start(ours: &OurLabeler, frames: Vec<Vec<u8>>, options: ReplayOptions) -> support::Labeler {
    let stream = support::serve(frames, options);
    let endpoint = format!("http://{}", stream.local_addr());
    let directory = support::directory(BTreeMap::from([(
        ours.did.clone(),
        ours.document(&endpoint),
    )]));
    support::Labeler { stream, directory }
}

/// (uri, val, neg) of every row.
fn rows(db: &TestDb) -> Vec<(String, String, bool)> {
    support::table_rows(db)
        .into_iter()
        .map(|r| (r.1, r.3, r.4))
        .collect()
}

fn expected_rows() -> Vec<(String, String, bool)> {
    let record = format!("at://{BOB}/app.bsky.feed.post/3n3nemnzqki2x");
    let mut v = vec![
        (ALICE.to_owned(), "spam".to_owned(), true),
        (record, "harness-red".to_owned(), false),
        (BOB.to_owned(), "!warn".to_owned(), false),
    ];
    v.sort();
    v
}

#[test]
fn hostile_labels_and_frames_are_counted_and_never_stored() {
    let ours = OurLabeler::new();
    let (frames, reasons) = hostile(&ours);
    let db = TestDb::new();
    let firehose = support::firehose(ReplayOptions::default());
    let lab = start(&ours, frames, ReplayOptions::default());
    let service = format!("labels:{}", ours.did);
    let mut run = support::run(&db, &firehose, &lab.directory, &ours.did, &[]);
    support::wait_for_cursor(&db, &run, &service, 15, Duration::from_secs(60));
    run.stop();
    let log = run.log_text();
    assert_eq!(rows(&db), expected_rows(), "{log}");
    assert_eq!(support::refused_by_reason(&log), reasons, "{log}");
    for needle in [
        "label refused: labeler=",
        "reason=wrong_src",
        "seq=2 uri=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa val=porn reason=bad_signature",
        "says OutdatedCursor",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    // One connection: nothing hostile made us drop it.
    assert_eq!(lab.stream.connections(), 1, "{log}");
    let totals = support::fields(&log, " totals ");
    assert_eq!(totals.get("labels").map(String::as_str), Some("4"), "{log}");
}

#[test]
fn a_labeler_that_closes_and_comes_back_is_followed_to_the_end() {
    let ours = OurLabeler::new();
    let frames: Vec<Vec<u8>> = (1..=30)
        .map(|i| {
            let uri = if i % 2 == 0 { ALICE } else { BOB };
            // Each value labelled, then negated three frames later, then labelled again.
            labels_frame(
                i,
                vec![ours.signed(ours.label(uri, &format!("v{}", i % 5), i as u32, i % 3 == 0))],
            )
        })
        .collect();
    // The same labels applied in order, in memory, by the table's rule.
    let mut expected: BTreeMap<(String, String), (u32, bool)> = BTreeMap::new();
    for i in 1..=30i64 {
        let uri = if i % 2 == 0 { ALICE } else { BOB };
        let key = (uri.to_owned(), format!("v{}", i % 5));
        let new = (i as u32, i % 3 == 0);
        if expected.get(&key).is_none_or(|old| new > *old) {
            expected.insert(key, new);
        }
    }
    let expected: Vec<(String, String, bool)> = expected
        .into_iter()
        .map(|((u, v), (_, neg))| (u, v, neg))
        .collect();
    let db = TestDb::new();
    let firehose = support::firehose(ReplayOptions::default());
    let flaky = ReplayOptions {
        drop_every: Some(4),
        ..ReplayOptions::default()
    };
    let lab = start(&ours, frames, flaky);
    let service = format!("labels:{}", ours.did);
    let mut run = support::run(&db, &firehose, &lab.directory, &ours.did, &[]);
    support::wait_for_cursor(&db, &run, &service, 30, Duration::from_secs(90));
    run.stop();
    assert_eq!(rows(&db), expected);
    let cursors = lab.stream.cursors();
    assert!(cursors.len() >= 8, "{cursors:?}");
    assert!(
        cursors.windows(2).all(|w| w[0] <= w[1]),
        "every reconnection resumed from the cursor, never from further back than before: {cursors:?}"
    );
}

#[test]
fn a_cursor_in_the_labelers_future_starts_again_from_live() {
    let ours = OurLabeler::new();
    let frames: Vec<Vec<u8>> = (1..=5)
        .map(|i| {
            labels_frame(
                i,
                vec![ours.signed(ours.label(ALICE, &format!("v{i}"), i as u32, false))],
            )
        })
        .collect();
    let db = TestDb::new();
    let service = format!("labels:{}", ours.did);
    skyindex::db::cursor::write(&mut db.conn(), &service, 1000, None).expect("cursor");
    let firehose = support::firehose(ReplayOptions::default());
    // Without a cursor, this server sends everything it has (its "live" is its whole stream).
    let options = ReplayOptions {
        without_cursor: WithoutCursor::FromStart,
        ..ReplayOptions::default()
    };
    let lab = start(&ours, frames, options);
    let mut run = support::run(&db, &firehose, &lab.directory, &ours.did, &[]);
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while support::cursor(&db, &service) != Some(5) {
        assert!(std::time::Instant::now() < until, "{}", run.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    run.stop();
    let log = run.log_text();
    assert!(log.contains("says FutureCursor"), "{log}");
    assert_eq!(lab.stream.cursors(), vec![Some(1000), None]);
    assert_eq!(rows(&db).len(), 5);
}
