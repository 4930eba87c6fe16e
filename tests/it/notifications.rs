//! Notifications, rule by rule (README, "Notifications"), each stream also applied twice and in
//! other groupings (`storage_cases::settle`: a replay writes none twice, grouping changes
//! nothing), and the out-of-order cases against the same stream in order.

use std::collections::BTreeMap;

use diesel::prelude::*;
use ipld_core::ipld::Ipld;
use skyindex::records;

use crate::common::events::{
    self, at_uri, create, delete, follow, like, post, repost, rkey, update, Rec, Ref, Stream,
};
use crate::common::truth;
use crate::storage_cases::{apply_each, fresh, settle};

const ALICE: &str = "did:plc:alice";
const BOB: &str = "did:plc:bob";
const CAROL: &str = "did:plc:carol";
const DAVE: &str = "did:plc:dave";
const ERIN: &str = "did:plc:erin";
const FRANK: &str = "did:plc:frank";

/// (recipient, reason, reason_subject, record_uri, author), sorted.
type Note = (String, String, Option<String>, String, String);

fn notes(conn: &mut PgConnection) -> Vec<Note> {
    use skyindex::schema::notifications::dsl as n;
    let mut rows: Vec<Note> = n::notifications
        .select((
            n::recipient_did,
            n::reason,
            n::reason_subject,
            n::record_uri,
            n::author_did,
        ))
        .load(conn)
        .expect("read notifications");
    rows.sort();
    rows
}

fn note(recipient: &str, reason: &str, subject: Option<&str>, record: &str, author: &str) -> Note {
    (
        recipient.to_owned(),
        reason.to_owned(),
        subject.map(str::to_owned),
        record.to_owned(),
        author.to_owned(),
    )
}

fn sorted(mut v: Vec<Note>) -> Vec<Note> {
    v.sort();
    v
}

fn ref_ipld(r: &Ref) -> Ipld {
    Ipld::Map(BTreeMap::from([
        ("cid".to_owned(), Ipld::String(r.cid.clone())),
        ("uri".to_owned(), Ipld::String(r.uri.clone())),
    ]))
}

/// A post whose text mentions `dids` (one mention facet each, over its first byte).
fn mentioning(rec: &Rec, dids: &[&str]) -> Rec {
    let facet = |did: &str| {
        let feature = Ipld::Map(BTreeMap::from([
            (
                "$type".to_owned(),
                Ipld::String("app.bsky.richtext.facet#mention".into()),
            ),
            ("did".to_owned(), Ipld::String(did.to_owned())),
        ]));
        let index = Ipld::Map(BTreeMap::from([
            ("byteStart".to_owned(), Ipld::Integer(0)),
            ("byteEnd".to_owned(), Ipld::Integer(1)),
        ]));
        Ipld::Map(BTreeMap::from([
            ("index".to_owned(), index),
            ("features".to_owned(), Ipld::List(vec![feature])),
        ]))
    };
    rec.with(
        "facets",
        Ipld::List(dids.iter().map(|d| facet(d)).collect()),
    )
}

fn post_ref(did: &str, n: u64, rec: &Rec) -> Ref {
    Ref::to(did, &rkey(n), rec)
}

#[test]
fn likes_and_reposts_tell_the_subjects_author_once_per_account() {
    let p = post("hello", None, None);
    let pr = post_ref(BOB, 1, &p);
    let mut s = Stream::new();
    s.commit(BOB, vec![create(&rkey(1), &p)]);
    // Alice likes Bob's post twice (the second record is a duplicate: no second notification),
    // Bob likes his own (no one is told), Carol reposts it.
    s.commit(ALICE, vec![create(&rkey(10), &like(&pr))]);
    s.commit(ALICE, vec![create(&rkey(11), &like(&pr))]);
    s.commit(BOB, vec![create(&rkey(12), &like(&pr))]);
    s.commit(CAROL, vec![create(&rkey(13), &repost(&pr))]);
    let mut case = settle(&s.events);
    let like_a = at_uri(ALICE, records::LIKE, &rkey(10));
    let repost_c = at_uri(CAROL, records::REPOST, &rkey(13));
    assert_eq!(
        notes(&mut case.conn),
        sorted(vec![
            note(BOB, "like", Some(&pr.uri), &like_a, ALICE),
            note(BOB, "repost", Some(&pr.uri), &repost_c, CAROL),
        ])
    );
    // Unliking the first takes its notification; the duplicate does not take its place (as
    // the reference's served list shows it).
    s.commit(ALICE, vec![delete(records::LIKE, &rkey(10))]);
    let mut case = settle(&s.events);
    assert_eq!(
        notes(&mut case.conn),
        vec![note(BOB, "repost", Some(&pr.uri), &repost_c, CAROL)]
    );
}

#[test]
fn a_like_via_a_repost_tells_the_reposter_too() {
    let p = post("hello", None, None);
    let pr = post_ref(BOB, 1, &p);
    let rp = repost(&pr);
    let rpr = Ref::to(CAROL, &rkey(2), &rp);
    let via_like = like(&pr).with("via", ref_ipld(&rpr));
    let via_repost = repost(&pr).with("via", ref_ipld(&rpr));
    let mut s = Stream::new();
    s.commit(BOB, vec![create(&rkey(1), &p)]);
    s.commit(CAROL, vec![create(&rkey(2), &rp)]);
    s.commit(ALICE, vec![create(&rkey(3), &via_like)]);
    s.commit(DAVE, vec![create(&rkey(4), &via_repost)]);
    let mut case = settle(&s.events);
    let l = at_uri(ALICE, records::LIKE, &rkey(3));
    let r = at_uri(DAVE, records::REPOST, &rkey(4));
    assert_eq!(
        notes(&mut case.conn),
        sorted(vec![
            note(BOB, "repost", Some(&pr.uri), &rpr.uri, CAROL),
            note(BOB, "like", Some(&pr.uri), &l, ALICE),
            note(CAROL, "like-via-repost", Some(&rpr.uri), &l, ALICE),
            note(BOB, "repost", Some(&pr.uri), &r, DAVE),
            note(CAROL, "repost-via-repost", Some(&rpr.uri), &r, DAVE),
        ])
    );
}

#[test]
fn follows_tell_the_followed_never_oneself_and_go_with_the_follow() {
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&rkey(1), &follow(BOB))]);
    s.commit(ALICE, vec![create(&rkey(2), &follow(ALICE))]);
    s.commit(CAROL, vec![create(&rkey(3), &follow(BOB))]);
    s.commit(CAROL, vec![delete(records::FOLLOW, &rkey(3))]);
    let mut case = settle(&s.events);
    assert_eq!(
        notes(&mut case.conn),
        vec![note(
            BOB,
            "follow",
            None,
            &at_uri(ALICE, records::FOLLOW, &rkey(1)),
            ALICE
        )]
    );
}

/// A thread: Alice's post, then replies by Bob, Carol, Dave, Erin, Frank, each to the last.
fn thread() -> (Vec<(String, Rec)>, Vec<Ref>) {
    let authors = [ALICE, BOB, CAROL, DAVE, ERIN, FRANK];
    let mut recs = Vec::new();
    let mut refs: Vec<Ref> = Vec::new();
    for (i, author) in authors.iter().enumerate() {
        let rec = match refs.last() {
            None => post("root", None, None),
            Some(parent) => post(&format!("reply {i}"), Some((parent, &refs[0])), None),
        };
        refs.push(post_ref(author, i as u64 + 1, &rec));
        recs.push(((*author).to_owned(), rec));
    }
    (recs, refs)
}

/// What the thread's replies notify: each reply tells the authors up to four posts above it.
fn thread_notes(refs: &[Ref]) -> Vec<Note> {
    let authors = [ALICE, BOB, CAROL, DAVE, ERIN, FRANK];
    let mut out = Vec::new();
    for i in 1..refs.len() {
        for h in 1..=4usize {
            if h > i {
                break;
            }
            let j = i - h;
            out.push(note(
                authors[j],
                "reply",
                Some(&refs[j].uri),
                &refs[i].uri,
                authors[i],
            ));
        }
    }
    sorted(out)
}

#[test]
fn replies_tell_the_thread_four_posts_up_once_per_account() {
    let (recs, refs) = thread();
    let mut s = Stream::new();
    for (i, (author, rec)) in recs.iter().enumerate() {
        s.commit(author, vec![create(&rkey(i as u64 + 1), rec)]);
    }
    let mut case = settle(&s.events);
    assert_eq!(notes(&mut case.conn), thread_notes(&refs));
}

#[test]
fn replies_that_arrive_before_their_thread_end_as_in_order() {
    let (recs, refs) = thread();
    // Every order of arrival of the six posts gives what in order gives.
    for order in [
        [5usize, 4, 3, 2, 1, 0],
        [0, 2, 1, 4, 3, 5],
        [3, 0, 5, 1, 4, 2],
        [1, 0, 3, 2, 5, 4],
    ] {
        let mut s = Stream::new();
        for &i in &order {
            let (author, rec) = &recs[i];
            s.commit(author, vec![create(&rkey(i as u64 + 1), rec)]);
        }
        let mut case = settle(&s.events);
        assert_eq!(
            notes(&mut case.conn),
            thread_notes(&refs),
            "arrival order {order:?}"
        );
    }
}

#[test]
fn a_post_tells_each_account_once_mentions_first_then_quotes_then_replies() {
    let root = post("root", None, None);
    let rr = post_ref(BOB, 1, &root);
    let quoted = post("quoted", None, None);
    let qr = post_ref(CAROL, 2, &quoted);
    // Alice replies to Bob, mentions Bob and Dave, and quotes Carol.
    let reply = mentioning(&post("hi", Some((&rr, &rr)), Some(&qr)), &[BOB, DAVE]);
    let mut s = Stream::new();
    s.commit(BOB, vec![create(&rkey(1), &root)]);
    s.commit(CAROL, vec![create(&rkey(2), &quoted)]);
    s.commit(ALICE, vec![create(&rkey(3), &reply)]);
    let mut case = settle(&s.events);
    let r = at_uri(ALICE, records::POST, &rkey(3));
    assert_eq!(
        notes(&mut case.conn),
        sorted(vec![
            note(DAVE, "mention", None, &r, ALICE),
            note(CAROL, "quote", Some(&qr.uri), &r, ALICE),
            // Bob is mentioned, so the reply does not tell him a second time.
            note(BOB, "mention", None, &r, ALICE),
        ])
    );
}

#[test]
fn an_edited_post_is_told_again_and_a_deleted_one_takes_its_notifications() {
    let p = mentioning(&post("v1", None, None), &[BOB]);
    let p2 = mentioning(&post("v2", None, None), &[CAROL]);
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&rkey(1), &p)]);
    s.commit(ALICE, vec![update(&rkey(1), &p2)]);
    let mut case = settle(&s.events);
    let uri = at_uri(ALICE, records::POST, &rkey(1));
    assert_eq!(
        notes(&mut case.conn),
        vec![note(CAROL, "mention", None, &uri, ALICE)]
    );
    s.commit(ALICE, vec![delete(records::POST, &rkey(1))]);
    let mut case = settle(&s.events);
    assert_eq!(notes(&mut case.conn), vec![]);
}

#[test]
fn a_deleted_account_takes_the_notifications_it_caused_and_received() {
    let p = post("hello", None, None);
    let pr = post_ref(BOB, 1, &p);
    let mut s = Stream::new();
    s.commit(BOB, vec![create(&rkey(1), &p)]);
    s.commit(ALICE, vec![create(&rkey(2), &like(&pr))]);
    s.commit(CAROL, vec![create(&rkey(3), &follow(BOB))]);
    s.commit(BOB, vec![create(&rkey(4), &follow(CAROL))]);
    s.account(ALICE, false, Some("deleted"));
    let mut case = settle(&s.events);
    let bob_follow = at_uri(BOB, records::FOLLOW, &rkey(4));
    let carol_follow = at_uri(CAROL, records::FOLLOW, &rkey(3));
    assert_eq!(
        notes(&mut case.conn),
        sorted(vec![
            note(BOB, "follow", None, &carol_follow, CAROL),
            note(CAROL, "follow", None, &bob_follow, BOB),
        ])
    );
    s.account(BOB, false, Some("deleted"));
    let mut case = settle(&s.events);
    assert_eq!(notes(&mut case.conn), vec![]);
}

#[test]
fn every_storage_case_stream_notifies_the_same_one_at_a_time_and_at_once() {
    // The thread, in and out of order, in one group and one per group, compared whole.
    let (recs, _) = thread();
    let mut s = Stream::new();
    for (i, (author, rec)) in recs.iter().enumerate().rev() {
        s.commit(author, vec![create(&rkey(i as u64 + 1), rec)]);
    }
    let mut each = fresh();
    apply_each(&mut each.conn, &s.events);
    let mut whole = fresh();
    skyindex::writer::apply::apply_group(&mut whole.conn, &events::refs(&s.events)).expect("group");
    assert_eq!(truth::dump(&mut each.conn), truth::dump(&mut whole.conn));
}

#[test]
fn a_post_gone_from_the_thread_takes_the_notifications_that_reached_through_it() {
    let (recs, refs) = thread();
    let mut s = Stream::new();
    for (i, (author, rec)) in recs.iter().enumerate() {
        s.commit(author, vec![create(&rkey(i as u64 + 1), rec)]);
    }
    // Carol deletes her reply: the thread now stops there for the replies below it.
    s.commit(CAROL, vec![delete(records::POST, &rkey(3))]);
    let mut case = settle(&s.events);
    let r = |i: usize| refs[i].uri.clone();
    assert_eq!(
        notes(&mut case.conn),
        sorted(vec![
            note(ALICE, "reply", Some(&r(0)), &r(1), BOB),
            note(DAVE, "reply", Some(&r(3)), &r(4), ERIN),
            note(ERIN, "reply", Some(&r(4)), &r(5), FRANK),
            note(DAVE, "reply", Some(&r(3)), &r(5), FRANK),
        ])
    );
    // And it is back, whole, when she posts it again (the same record).
    s.commit(CAROL, vec![create(&rkey(3), &recs[2].1)]);
    let mut case = settle(&s.events);
    assert_eq!(notes(&mut case.conn), thread_notes(&refs));
}

fn verification(subject: &str, handle: &str) -> Rec {
    events::record(
        records::VERIFICATION,
        [
            ("subject", events::string(subject)),
            ("handle", events::string(handle)),
            ("displayName", events::string("Verified")),
            ("createdAt", events::string("2025-01-01T00:00:00.000Z")),
        ],
    )
}

#[test]
fn a_verification_tells_its_subject_and_its_deletion_says_unverified() {
    let mut s = Stream::new();
    s.commit(
        ALICE,
        vec![create(&rkey(1), &verification(BOB, "bob.test"))],
    );
    // A verification of oneself tells no one.
    s.commit(
        ALICE,
        vec![create(&rkey(2), &verification(ALICE, "alice.test"))],
    );
    let v1 = at_uri(ALICE, records::VERIFICATION, &rkey(1));
    let mut case = settle(&s.events);
    assert_eq!(
        notes(&mut case.conn),
        vec![note(BOB, "verified", None, &v1, ALICE)]
    );
    // Deleted: the verified one goes with it, and an unverified one takes its place.
    s.commit(ALICE, vec![delete(records::VERIFICATION, &rkey(1))]);
    s.commit(ALICE, vec![delete(records::VERIFICATION, &rkey(2))]);
    let mut case = settle(&s.events);
    assert_eq!(
        notes(&mut case.conn),
        vec![note(BOB, "unverified", None, &v1, ALICE)]
    );
    // Made again under the same key: verified again, the unverified one gone.
    s.commit(
        ALICE,
        vec![create(&rkey(1), &verification(BOB, "bob.test"))],
    );
    let mut case = settle(&s.events);
    assert_eq!(
        notes(&mut case.conn),
        vec![note(BOB, "verified", None, &v1, ALICE)]
    );
    // Deleted again, then the verifier's account: nothing is left of it.
    s.commit(ALICE, vec![delete(records::VERIFICATION, &rkey(1))]);
    s.account(ALICE, false, Some("deleted"));
    let mut case = settle(&s.events);
    assert_eq!(notes(&mut case.conn), vec![]);
}

#[test]
fn a_profile_created_through_a_starter_pack_tells_the_packs_owner() {
    let l = events::list("friends");
    let list_ref = Ref::to(BOB, &rkey(1), &l);
    let pack = events::record(
        records::STARTER_PACK,
        [
            ("name", events::string("Bob's pack")),
            ("list", events::string(&list_ref.uri)),
            ("createdAt", events::string("2025-01-01T00:00:00.000Z")),
        ],
    );
    let pack_ref = Ref::to(BOB, &rkey(2), &pack);
    let joined = events::profile("Alice").with("joinedViaStarterPack", ref_ipld(&pack_ref));
    let mut s = Stream::new();
    s.commit(BOB, vec![create(&rkey(1), &l), create(&rkey(2), &pack)]);
    s.commit(ALICE, vec![create("self", &joined)]);
    // Bob naming his own pack tells no one.
    let own = events::profile("Bob").with("joinedViaStarterPack", ref_ipld(&pack_ref));
    s.commit(BOB, vec![create("self", &own)]);
    let alice_profile = at_uri(ALICE, records::PROFILE, "self");
    let told = vec![note(
        BOB,
        "starterpack-joined",
        Some(&pack_ref.uri),
        &alice_profile,
        ALICE,
    )];
    let mut case = settle(&s.events);
    assert_eq!(notes(&mut case.conn), told);
    // The pack counts its joins from the profiles that name it.
    let joins = |conn: &mut PgConnection| -> i64 {
        use skyindex::schema::users::dsl as u;
        u::users
            .filter(u::joined_via_starter_pack_uri.eq(&pack_ref.uri))
            .count()
            .get_result(conn)
            .expect("count joins")
    };
    assert_eq!(joins(&mut case.conn), 2);
    // An update tells nothing new and keeps what the create told (as the reference does).
    s.commit(
        ALICE,
        vec![update(
            "self",
            &joined.with("displayName", events::string("A")),
        )],
    );
    let mut case = settle(&s.events);
    assert_eq!(notes(&mut case.conn), told);
    // Deleted, the profile takes it, and the join is no longer counted.
    s.commit(ALICE, vec![delete(records::PROFILE, "self")]);
    let mut case = settle(&s.events);
    assert_eq!(notes(&mut case.conn), vec![]);
    assert_eq!(joins(&mut case.conn), 1);
}

fn rule(name: &str) -> Ipld {
    Ipld::Map(BTreeMap::from([(
        "$type".to_owned(),
        Ipld::String(format!("app.bsky.feed.threadgate#{name}")),
    )]))
}

fn threadgate(root: &Ref, allow: Vec<Ipld>, hidden: &[&str]) -> Rec {
    events::record(
        records::THREADGATE,
        [
            ("post", events::string(&root.uri)),
            ("allow", Ipld::List(allow)),
            (
                "hiddenReplies",
                Ipld::List(hidden.iter().map(|h| events::string(h)).collect()),
            ),
            ("createdAt", events::string("2025-01-01T00:00:00.000Z")),
        ],
    )
}

fn replies_of(conn: &mut PgConnection, uri: &str) -> i64 {
    use skyindex::schema::post_aggregations::dsl as a;
    a::post_aggregations
        .filter(a::post_uri.eq(uri))
        .select(a::reply_count)
        .first(conn)
        .optional()
        .expect("read reply count")
        .unwrap_or(0)
}

#[test]
fn a_reply_the_threadgate_refuses_counts_as_none_and_tells_no_one_up_the_thread() {
    // Alice's thread, open to those who follow her. Carol follows her; Bob does not.
    let root = post("root", None, None);
    let root_ref = post_ref(ALICE, 1, &root);
    let mut s = Stream::new();
    s.commit(
        ALICE,
        vec![
            create(&rkey(1), &root),
            create(
                &rkey(1),
                &threadgate(&root_ref, vec![rule("followerRule")], &[]),
            ),
        ],
    );
    s.commit(CAROL, vec![create(&rkey(2), &follow(ALICE))]);
    // Bob's reply mentions Dave: the mention stands, the reply tells Alice nothing.
    let bob = mentioning(&post("no", Some((&root_ref, &root_ref)), None), &[DAVE]);
    let bob_ref = post_ref(BOB, 3, &bob);
    s.commit(BOB, vec![create(&rkey(3), &bob)]);
    let carol = post("yes", Some((&root_ref, &root_ref)), None);
    let carol_ref = post_ref(CAROL, 4, &carol);
    s.commit(CAROL, vec![create(&rkey(4), &carol)]);
    // Alice may always reply in her own thread, here to Bob's refused reply.
    let alice = post("me", Some((&bob_ref, &root_ref)), None);
    let alice_ref = post_ref(ALICE, 5, &alice);
    s.commit(ALICE, vec![create(&rkey(5), &alice)]);
    let mut case = settle(&s.events);
    let carol_follow = at_uri(CAROL, records::FOLLOW, &rkey(2));
    assert_eq!(
        notes(&mut case.conn),
        sorted(vec![
            note(ALICE, "follow", None, &carol_follow, CAROL),
            note(DAVE, "mention", None, &bob_ref.uri, BOB),
            note(ALICE, "reply", Some(&root_ref.uri), &carol_ref.uri, CAROL),
            note(BOB, "reply", Some(&bob_ref.uri), &alice_ref.uri, ALICE),
        ])
    );
    assert_eq!(replies_of(&mut case.conn, &root_ref.uri), 1, "Carol's only");
    assert_eq!(replies_of(&mut case.conn, &bob_ref.uri), 1, "Alice's");
    // Deleting the refused reply gives back nothing it never counted.
    s.commit(BOB, vec![delete(records::POST, &rkey(3))]);
    let mut case = settle(&s.events);
    assert_eq!(replies_of(&mut case.conn, &root_ref.uri), 1);
}

#[test]
fn a_hidden_reply_stops_the_climb_and_a_postgate_stops_the_quote() {
    // Alice's root, Bob's reply (hidden by Alice's gate), Carol's reply to Bob's: Carol tells
    // Bob, and no one above him.
    let root = post("root", None, None);
    let root_ref = post_ref(ALICE, 1, &root);
    let bob = post("hidden", Some((&root_ref, &root_ref)), None);
    let bob_ref = post_ref(BOB, 2, &bob);
    let carol = post("below", Some((&bob_ref, &root_ref)), None);
    let carol_ref = post_ref(CAROL, 3, &carol);
    let mut s = Stream::new();
    s.commit(ALICE, vec![create(&rkey(1), &root)]);
    s.commit(BOB, vec![create(&rkey(2), &bob)]);
    // No allow field: anyone may reply; the gate only hides.
    let hide = events::record(
        records::THREADGATE,
        [
            ("post", events::string(&root_ref.uri)),
            (
                "hiddenReplies",
                Ipld::List(vec![events::string(&bob_ref.uri)]),
            ),
            ("createdAt", events::string("2025-01-01T00:00:00.000Z")),
        ],
    );
    s.commit(ALICE, vec![create(&rkey(1), &hide)]);
    s.commit(CAROL, vec![create(&rkey(3), &carol)]);
    // Dave's post has a postgate that disables embedding: Erin's quote tells him nothing,
    // Dave quoting himself is his own business (and tells no one anyway).
    let dave = post("do not quote", None, None);
    let dave_ref = post_ref(DAVE, 4, &dave);
    let disable = Ipld::Map(BTreeMap::from([(
        "$type".to_owned(),
        Ipld::String("app.bsky.feed.postgate#disableRule".into()),
    )]));
    let gate = events::record(
        records::POSTGATE,
        [
            ("post", events::string(&dave_ref.uri)),
            ("embeddingRules", Ipld::List(vec![disable])),
            ("createdAt", events::string("2025-01-01T00:00:00.000Z")),
        ],
    );
    s.commit(DAVE, vec![create(&rkey(4), &dave), create(&rkey(4), &gate)]);
    let erin = post("quoting", None, Some(&dave_ref));
    s.commit(ERIN, vec![create(&rkey(5), &erin)]);
    let mut case = settle(&s.events);
    assert_eq!(
        notes(&mut case.conn),
        sorted(vec![
            note(ALICE, "reply", Some(&root_ref.uri), &bob_ref.uri, BOB),
            note(BOB, "reply", Some(&bob_ref.uri), &carol_ref.uri, CAROL),
        ])
    );
    // The quote still counts, as in the reference.
    use skyindex::schema::post_aggregations::dsl as a;
    let quotes: i64 = a::post_aggregations
        .filter(a::post_uri.eq(&dave_ref.uri))
        .select(a::quote_count)
        .first(&mut case.conn)
        .expect("quote count");
    assert_eq!(quotes, 1);
    let flagged: i64 = skyindex::schema::posts::table
        .filter(skyindex::schema::posts::violates_embedding_rules)
        .count()
        .get_result(&mut case.conn)
        .expect("flagged");
    assert_eq!(flagged, 1);
}

#[test]
fn a_gate_and_a_reply_end_the_same_whichever_writer_commits_first() {
    // Alice's thread gets a gate open to no one (seq 2). Bob replied just before it (seq 1:
    // allowed), Carol just after (seq 3: refused), each from another writer than Alice's.
    let root = post("root", None, None);
    let root_ref = post_ref(ALICE, 1, &root);
    let gate = threadgate(&root_ref, vec![], &[]);
    let bob = post("before", Some((&root_ref, &root_ref)), None);
    let carol = post("after", Some((&root_ref, &root_ref)), None);
    let root_commit = events::commit(1, ALICE, 1, vec![create(&rkey(1), &root)]);
    let bob_commit = events::commit(2, BOB, 1, vec![create(&rkey(2), &bob)]);
    let gate_commit = events::commit(3, ALICE, 2, vec![create(&rkey(1), &gate)]);
    let carol_commit = events::commit(4, CAROL, 1, vec![create(&rkey(3), &carol)]);
    let orders: [Vec<&skyindex::decode::TypedEvent>; 3] = [
        vec![&root_commit, &bob_commit, &gate_commit, &carol_commit],
        // Carol's writer first: judged without the gate, then again when it comes.
        vec![&root_commit, &carol_commit, &bob_commit, &gate_commit],
        // The gate's writer first: Bob's reply, older than the gate, is not judged by it.
        vec![&root_commit, &gate_commit, &carol_commit, &bob_commit],
    ];
    let mut dumps = Vec::new();
    for order in orders {
        let mut case = fresh();
        for e in order {
            skyindex::writer::apply::apply_group(&mut case.conn, &[e]).expect("applies");
        }
        assert_eq!(replies_of(&mut case.conn, &root_ref.uri), 1, "Bob's only");
        let bob_ref = post_ref(BOB, 2, &bob);
        assert_eq!(
            notes(&mut case.conn),
            vec![note(ALICE, "reply", Some(&root_ref.uri), &bob_ref.uri, BOB)]
        );
        dumps.push(truth::dump(&mut case.conn));
    }
    assert_eq!(dumps[0], dumps[1]);
    assert_eq!(dumps[0], dumps[2]);
}
