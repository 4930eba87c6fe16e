//! Labels without the service around them: every frame of the real Ozone stream decodes and
//! verifies (legacy and Multikey forms of the key), and applying the stream to the table gives
//! Ozone's own rows, whatever the order and however often (replays change nothing; an older
//! label replayed after its negation does not come back).

use std::sync::Arc;
use std::time::Instant;

use skyindex::labels::frame::{self, LabelFrame, Unverified};
use skyindex::labels::{labeler, signature, Batch};
use skyindex::writer::apply::apply_items;
use skyindex::writer::{LabelBatch, Ledger, Ticket};

use crate::common::db::TestDb;
use crate::labels_support::{self as support, Fixture};

/// The key of the fixture's document (legacy `EcdsaSecp256k1VerificationKey2019`), or its
/// Multikey form.
fn key(f: &Fixture, multikey: bool) -> Arc<skyindex::crypto::PublicKey> {
    let doc = support::document_at(f, "http://127.0.0.1:1", multikey);
    let parsed =
        skyindex::identity::DidDocument::parse(&f.did, doc.to_string().as_bytes(), 1 << 16)
            .expect("document");
    labeler::from_document(&parsed).expect("a labeler").key
}

fn decode_all(f: &Fixture, frames: &[Vec<u8>]) -> Vec<(i64, Vec<Unverified>)> {
    frames
        .iter()
        .map(|bytes| match frame::decode(bytes, &f.did) {
            Ok(LabelFrame::Labels { seq, labels }) => (
                seq,
                labels
                    .into_iter()
                    .map(|l| l.expect("every real label passes"))
                    .collect(),
            ),
            other => panic!("not a #labels frame: {other:?}"),
        })
        .collect()
}

#[test]
fn every_real_label_decodes_and_verifies_with_either_key_form() {
    let f = support::fixture();
    assert_eq!(f.live.len(), 60, "the live stream has every write");
    assert_eq!(f.replay.len(), 46, "the replay has the current rows only");
    let legacy = key(&f, false);
    let multikey = key(&f, true);
    assert_eq!(legacy, multikey);
    for frames in [&f.live, &f.replay] {
        for (seq, labels) in decode_all(&f, frames) {
            assert_eq!(labels.len(), 1, "Ozone sends one label per frame");
            for l in &labels {
                signature::verify(&legacy, l).unwrap_or_else(|e| panic!("seq {seq}: {e}"));
                // One byte of the value changed: the signature no longer covers it.
                let mut forged = Unverified {
                    label: l.label.clone(),
                    unsigned: l.unsigned.clone(),
                };
                let at = forged
                    .unsigned
                    .windows(l.label.val.len())
                    .rposition(|w| w == l.label.val.as_bytes())
                    .expect("val in the bytes");
                forged.unsigned[at] ^= 1;
                assert!(signature::verify(&legacy, &forged).is_err(), "seq {seq}");
            }
        }
    }
}

struct Nobody;

impl Ledger for Nobody {
    fn done(&self, _: Ticket) {}
}

fn batches(f: &Fixture, frames: &[Vec<u8>]) -> Vec<LabelBatch> {
    decode_all(f, frames)
        .into_iter()
        .map(|(seq, labels)| LabelBatch {
            batch: Batch {
                labeler: Arc::from(f.did.as_str()),
                seq,
                labels: labels.into_iter().map(|l| l.label).collect(),
                received: Instant::now(),
            },
            ledger: Arc::new(Nobody),
        })
        .collect()
}

/// Applies `batches` in groups of `group`.
fn apply(db: &TestDb, batches: &[&LabelBatch], group: usize) -> u64 {
    let mut conn = db.conn();
    let mut changed = 0;
    for chunk in batches.chunks(group.max(1)) {
        changed += apply_items(&mut conn, &[], chunk, Default::default())
            .expect("labels apply")
            .label_rows_written;
    }
    changed
}

#[test]
fn the_live_stream_gives_ozones_rows_in_any_grouping() {
    let f = support::fixture();
    let live = batches(&f, &f.live);
    let refs: Vec<&LabelBatch> = live.iter().collect();
    for group in [1, 7, 60] {
        let db = TestDb::new();
        apply(&db, &refs, group);
        assert_eq!(
            support::table_rows(&db),
            support::ozone_rows(&f),
            "groups of {group}"
        );
        assert_eq!(
            support::table_in_force(&db, f.at),
            support::ozone_in_force(&f)
        );
    }
    assert_eq!(support::ozone_in_force(&f).len(), 35);
}

#[test]
fn replays_and_late_joins_change_nothing() {
    let f = support::fixture();
    let live = batches(&f, &f.live);
    let replay = batches(&f, &f.replay);
    let expected = support::ozone_rows(&f);

    // A subscriber that joins afterwards (current rows, seq gaps) gets the same table.
    let db = TestDb::new();
    apply(&db, &replay.iter().collect::<Vec<_>>(), 10);
    assert_eq!(support::table_rows(&db), expected);
    // Then the whole history, older labels included, replayed over it: nothing changes, so
    // no negated or replaced label comes back.
    assert_eq!(apply(&db, &live.iter().collect::<Vec<_>>(), 10), 0);
    assert_eq!(support::table_rows(&db), expected);

    // The live stream twice, then backwards (every older label after its newer one).
    let db = TestDb::new();
    apply(&db, &live.iter().collect::<Vec<_>>(), 5);
    assert_eq!(apply(&db, &live.iter().collect::<Vec<_>>(), 5), 0);
    assert_eq!(apply(&db, &live.iter().rev().collect::<Vec<_>>(), 3), 0);
    assert_eq!(support::table_rows(&db), expected);

    // Backwards from the start, in one group and one by one: the same rows.
    for group in [60, 1] {
        let db = TestDb::new();
        apply(&db, &live.iter().rev().collect::<Vec<_>>(), group);
        assert_eq!(
            support::table_rows(&db),
            expected,
            "reversed, groups of {group}"
        );
    }
}

#[test]
fn a_negation_at_the_same_instant_wins_in_either_order() {
    use skyindex::db::labels::{winners, LabelRow};
    let cts = "2026-12-01T10:00:00Z".parse().expect("time");
    let row = |neg, seq| LabelRow {
        src: "did:plc:a",
        uri: "did:plc:b",
        cid: "",
        val: "spam",
        neg,
        cts,
        exp: None,
        sig: &[0; 64],
        seq,
    };
    for order in [[false, true], [true, false]] {
        let db = TestDb::new();
        let mut conn = db.conn();
        for (i, neg) in order.into_iter().enumerate() {
            skyindex::db::labels::write(&mut conn, &[row(neg, i as i64)]).expect("write");
        }
        let rows = support::table_rows(&db);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].4, "the negation wins a tie ({order:?})");
        let w = winners(order.into_iter().enumerate().map(|(i, n)| row(n, i as i64)));
        assert_eq!(w.len(), 1);
        assert!(w[0].neg, "and in memory too ({order:?})");
    }
}
