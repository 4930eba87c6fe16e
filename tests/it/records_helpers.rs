//! The helpers the planner asks where the reference AppView refuses records that are valid per
//! their lexicon (gates of another repo's post or another key, list items on another repo's
//! list), the gate URIs of a post, and what `Record::decode` gives each typed collection.

use ipld_core::ipld::Ipld;
use skyindex::records::{self, PostGate, Record, RecordError, RecordValue, ThreadGate};

use crate::decode_support::{encode, map, text};

const ALICE: &str = "did:plc:alice7nxzyoun6zhxrhs64o";
const BOB: &str = "did:plc:bob7nxzyoun6zhxrhs64oiz";
const TIME: &str = "2025-04-16T21:30:26.717Z";

fn uri(did: &str, collection: &str, rkey: &str) -> String {
    format!("at://{did}/{collection}/{rkey}")
}

fn decode(collection: &str, entries: Vec<(&str, Ipld)>) -> RecordValue {
    let mut all = vec![("$type", text(collection))];
    all.extend(entries);
    Record::decode(collection, &encode(&map(all)))
        .unwrap_or_else(|e| panic!("{collection}: {e}"))
        .value
}

fn threadgate(post: &str) -> ThreadGate {
    match decode(
        records::THREADGATE,
        vec![("post", text(post)), ("createdAt", text(TIME))],
    ) {
        RecordValue::ThreadGate(g) => g,
        other => panic!("{other:?}"),
    }
}

fn postgate(post: &str) -> PostGate {
    match decode(
        records::POSTGATE,
        vec![("post", text(post)), ("createdAt", text(TIME))],
    ) {
        RecordValue::PostGate(g) => g,
        other => panic!("{other:?}"),
    }
}

#[test]
fn records_helpers_a_gate_gates_only_its_own_post() {
    let post = uri(ALICE, records::POST, "3kpost");
    let own_tg = uri(ALICE, records::THREADGATE, "3kpost");
    let own_pg = uri(ALICE, records::POSTGATE, "3kpost");
    // Decoding keeps every one of these: each is a valid record.
    let cases = [
        (post.clone(), true, "its own post"),
        (
            uri(BOB, records::POST, "3kpost"),
            false,
            "another repo's post",
        ),
        (
            uri(ALICE, records::POST, "3kother"),
            false,
            "a post under another key",
        ),
        (
            format!("at://alice.test/{}/3kpost", records::POST),
            false,
            "its post by handle",
        ),
        (
            uri(ALICE, records::LIST, "3kpost"),
            true,
            "another collection (not checked, as in the reference)",
        ),
        (format!("at://{ALICE}"), false, "a repo, not a record"),
    ];
    for (target, gates, what) in cases {
        assert_eq!(
            threadgate(&target).gates(&own_tg),
            gates,
            "threadgate: {what}"
        );
        assert_eq!(postgate(&target).gates(&own_pg), gates, "postgate: {what}");
    }
    // A gate elsewhere in the repo than its post's key gates nothing.
    assert!(!threadgate(&post).gates(&uri(ALICE, records::THREADGATE, "3kelse")));
    assert!(!threadgate(&post).gates(&uri(BOB, records::THREADGATE, "3kpost")));
    assert!(!postgate(&post).gates("not a uri"));
}

#[test]
fn records_helpers_gate_uris_of_a_post() {
    let post = uri(ALICE, records::POST, "3kpost");
    assert_eq!(
        ThreadGate::uri_for_post(&post),
        Some(uri(ALICE, records::THREADGATE, "3kpost"))
    );
    assert_eq!(
        PostGate::uri_for_post(&post),
        Some(uri(ALICE, records::POSTGATE, "3kpost"))
    );
    for not_a_post in [
        uri(ALICE, records::LIST, "3k"),
        format!("at://{ALICE}"),
        format!("at://{ALICE}/{}", records::POST),
        "https://bsky.app".to_owned(),
    ] {
        assert_eq!(ThreadGate::uri_for_post(&not_a_post), None, "{not_a_post}");
        assert_eq!(PostGate::uri_for_post(&not_a_post), None, "{not_a_post}");
    }
}

#[test]
fn records_helpers_a_list_item_belongs_on_its_owners_list() {
    let item_uri = uri(ALICE, records::LIST_ITEM, "3kitem");
    let item = |list: &str| match decode(
        records::LIST_ITEM,
        vec![
            ("subject", text(BOB)),
            ("list", text(list)),
            ("createdAt", text(TIME)),
        ],
    ) {
        RecordValue::ListItem(i) => i,
        other => panic!("{other:?}"),
    };
    assert!(item(&uri(ALICE, records::LIST, "3klist")).in_list_owner_repo(&item_uri));
    // Valid records the reference refuses: someone else's list, or the owner's by handle.
    assert!(!item(&uri(BOB, records::LIST, "3klist")).in_list_owner_repo(&item_uri));
    assert!(!item(&format!("at://alice.test/{}/3k", records::LIST)).in_list_owner_repo(&item_uri));
}

/// Every typed collection decodes to its own variant, with its `createdAt` where the lexicon
/// has one; any other collection stays `Other`, whatever it looks like.
#[test]
fn records_helpers_decode_dispatches_by_collection() {
    let post = uri(ALICE, records::POST, "3kpost");
    let list = uri(ALICE, records::LIST, "3klist");
    let minimal: Vec<(&str, Vec<(&str, Ipld)>)> = vec![
        (
            records::LIST,
            vec![
                ("name", text("n")),
                ("purpose", text(records::list::MODLIST)),
            ],
        ),
        (
            records::LIST_ITEM,
            vec![("subject", text(BOB)), ("list", text(&list))],
        ),
        (records::LIST_BLOCK, vec![("subject", text(&list))]),
        (
            records::STARTER_PACK,
            vec![("name", text("n")), ("list", text(&list))],
        ),
        (
            records::FEED_GENERATOR,
            vec![("did", text(BOB)), ("displayName", text("f"))],
        ),
        (
            records::LABELER_SERVICE,
            vec![("policies", map(vec![("labelValues", Ipld::List(vec![]))]))],
        ),
        (
            records::VERIFICATION,
            vec![
                ("subject", text(BOB)),
                ("handle", text("bob.test")),
                ("displayName", text("Bob")),
            ],
        ),
        (
            records::ACTOR_STATUS,
            vec![("status", text(records::status::LIVE))],
        ),
        (records::THREADGATE, vec![("post", text(&post))]),
        (records::POSTGATE, vec![("post", text(&post))]),
    ];
    let created = skyindex::syntax::parse_datetime(TIME).unwrap();
    for (collection, mut entries) in minimal {
        // Without createdAt, each of these is refused, naming it.
        let mut without = vec![("$type", text(collection))];
        without.extend(entries.clone());
        assert!(
            matches!(
                Record::decode(collection, &encode(&map(without))),
                Err(RecordError::Field {
                    field: "createdAt",
                    ..
                })
            ),
            "{collection} without createdAt"
        );
        entries.push(("createdAt", text(TIME)));
        let value = decode(collection, entries);
        assert_eq!(value.created_at(), Some(created), "{collection}");
        assert!(!matches!(value, RecordValue::Other(_)), "{collection}");
    }
    for (collection, field, value) in [
        (
            records::NOTIFICATION_DECLARATION,
            "allowSubscriptions",
            "mutuals",
        ),
        (records::CHAT_DECLARATION, "allowIncoming", "all"),
    ] {
        let v = decode(collection, vec![(field, text(value))]);
        assert!(!matches!(v, RecordValue::Other(_)), "{collection}");
        assert_eq!(v.created_at(), None);
    }
    // A collection of another app, even one named like ours, is kept whole.
    for other in [
        "app.bsky.graph.listitems",
        "xyz.statusphere.status",
        "app.bsky.feed.gate",
    ] {
        let v = decode(other, vec![("createdAt", text(TIME))]);
        assert!(matches!(v, RecordValue::Other(_)), "{other}");
        assert_eq!(v.created_at(), Some(created));
    }
    // Every typed collection is listed once.
    let mut all = records::TYPED_COLLECTIONS.to_vec();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), records::TYPED_COLLECTIONS.len());
}

/// Errors in nested fields name the top-level field and say where inside it.
#[test]
fn records_helpers_nested_errors_say_where() {
    let bad_locale = map(vec![
        ("identifier", text("spam")),
        ("severity", text("alert")),
        ("blurs", text("none")),
        (
            "locales",
            Ipld::List(vec![map(vec![
                ("lang", text("en")),
                ("name", text(&"n".repeat(641))),
                ("description", text("d")),
            ])]),
        ),
    ]);
    let bytes = encode(&map(vec![
        ("$type", text(records::LABELER_SERVICE)),
        ("createdAt", text(TIME)),
        (
            "policies",
            map(vec![
                ("labelValues", Ipld::List(vec![text("spam")])),
                ("labelValueDefinitions", Ipld::List(vec![bad_locale])),
            ]),
        ),
    ]));
    let err = Record::decode(records::LABELER_SERVICE, &bytes).unwrap_err();
    let RecordError::Field { field, reason } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*field, "policies");
    assert!(
        reason.starts_with("labelValueDefinitions: item 0: locales: item 0: name: 641 bytes"),
        "{reason}"
    );
    let bytes = encode(&map(vec![
        ("$type", text(records::THREADGATE)),
        ("createdAt", text(TIME)),
        ("post", text(&uri(ALICE, records::POST, "3k"))),
        (
            "allow",
            Ipld::List(vec![
                map(vec![(
                    "$type",
                    text("app.bsky.feed.threadgate#mentionRule"),
                )]),
                map(vec![("$type", text("app.bsky.feed.threadgate#listRule"))]),
            ]),
        ),
    ]));
    let err = Record::decode(records::THREADGATE, &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "field allow: item 1: list: required but missing"
    );
    let bytes = encode(&map(vec![
        ("$type", text(records::LIST)),
        ("createdAt", text(TIME)),
        ("purpose", text(records::list::CURATELIST)),
        ("name", Ipld::Integer(7)),
    ]));
    assert_eq!(
        Record::decode(records::LIST, &bytes)
            .unwrap_err()
            .to_string(),
        "field name: expected a string, found an integer"
    );
}
