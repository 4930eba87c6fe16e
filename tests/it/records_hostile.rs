//! Hostile records of every kind typed with issue 13: for each, a valid record, then every
//! lexicon limit at its value (kept) and one past it (refused, naming the field), wrong `$type`,
//! wrong types and `null` per field, NUL, missing required fields, bad DIDs, AT-URIs, datetimes,
//! handles, languages, NSIDs and URIs, oversized arrays and unions without `$type`. Open sets
//! (`knownValues`, open unions) keep values they do not know.

use std::collections::BTreeMap;

use ipld_core::ipld::Ipld;
use skyindex::records::{self, Record, RecordError, RecordValue};

use crate::decode_support::{cid_of, encode, DAG_CBOR};

type Fields = BTreeMap<String, Ipld>;

fn t(s: &str) -> Ipld {
    Ipld::String(s.to_owned())
}

fn obj(entries: &[(&str, Ipld)]) -> Ipld {
    Ipld::Map(
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn list(items: Vec<Ipld>) -> Ipld {
    Ipld::List(items)
}

fn fields(collection: &str, entries: &[(&str, Ipld)]) -> Fields {
    let mut f: Fields = entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    f.insert("$type".into(), t(collection));
    f
}

fn decode(collection: &str, f: &Fields) -> Result<RecordValue, RecordError> {
    Record::decode(collection, &encode(&Ipld::Map(f.clone()))).map(|r| r.value)
}

const DID: &str = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
const TIME: &str = "2025-04-16T21:30:26.717Z";

fn uri(collection: &str, rkey: &str) -> String {
    format!("at://{DID}/{collection}/{rkey}")
}

fn cid() -> String {
    cid_of(DAG_CBOR, b"some record").to_string()
}

fn blob() -> Ipld {
    obj(&[
        ("$type", t("blob")),
        ("ref", Ipld::Link(cid_of(0x55, b"image"))),
        ("mimeType", t("image/png")),
        ("size", Ipld::Integer(650)),
    ])
}

/// A path into nested objects and arrays: names for object fields, then an index after each
/// array's name.
fn slot<'a>(f: &'a mut Fields, path: &[&str]) -> &'a mut Fields {
    let mut cur = f;
    let mut i = 0;
    while i < path.len() {
        let step = path[i];
        i += 1;
        let value = cur.get_mut(step).unwrap_or_else(|| panic!("no {step}"));
        let value = match value {
            Ipld::List(items) => {
                let idx: usize = path[i].parse().expect("an index after an array");
                i += 1;
                &mut items[idx]
            }
            other => other,
        };
        match value {
            Ipld::Map(m) => cur = m,
            other => panic!("{step} is {other:?}"),
        }
    }
    cur
}

/// One mutation of a valid record and what decoding must then say.
enum Want {
    Ok,
    /// Refused with a `Field` error naming this field.
    Field(&'static str),
    /// Refused for its `$type`.
    Type,
    /// Refused before typing (NUL: not valid for storage as DAG-CBOR text).
    Cbor,
}

struct Case {
    what: String,
    path: Vec<&'static str>,
    key: &'static str,
    /// `None` removes the key.
    value: Option<Ipld>,
    want: Want,
}

fn set(what: &str, key: &'static str, value: Ipld, want: Want) -> Case {
    Case {
        what: what.to_owned(),
        path: vec![],
        key,
        value: Some(value),
        want,
    }
}

fn set_in(what: &str, path: &[&'static str], key: &'static str, value: Ipld, want: Want) -> Case {
    Case {
        what: what.to_owned(),
        path: path.to_vec(),
        key,
        value: Some(value),
        want,
    }
}

fn remove(key: &'static str, want: Want) -> Case {
    Case {
        what: format!("without {key}"),
        path: vec![],
        key,
        value: None,
        want,
    }
}

fn remove_in(path: &[&'static str], key: &'static str, want: Want) -> Case {
    Case {
        what: format!("without {}.{key}", path.join(".")),
        path: path.to_vec(),
        key,
        value: None,
        want,
    }
}

fn run(collection: &str, base: &Fields, cases: Vec<Case>) {
    decode(collection, base).unwrap_or_else(|e| panic!("{collection}: the base record: {e}"));
    for case in cases {
        let mut f = base.clone();
        let target = slot(&mut f, &case.path);
        match case.value {
            Some(v) => target.insert(case.key.to_owned(), v),
            None => target.remove(case.key),
        };
        let got = decode(collection, &f);
        let ok = match (&case.want, &got) {
            (Want::Ok, Ok(_)) => true,
            (Want::Field(name), Err(RecordError::Field { field, .. })) => field == name,
            (Want::Type, Err(RecordError::Type { .. })) => true,
            (Want::Cbor, Err(RecordError::Cbor(_))) => true,
            _ => false,
        };
        assert!(ok, "{collection}, {}: got {got:?}", case.what);
    }
}

/// `n` ASCII letters: n bytes, n graphemes.
fn ascii(n: usize) -> Ipld {
    t(&"a".repeat(n))
}

/// `n` graphemes of three bytes each (`e` and a combining acute accent).
fn accents(n: usize) -> Ipld {
    t(&"e\u{301}".repeat(n))
}

/// A string of exactly `bytes` bytes in one or two graphemes (an `e` and combining accents).
fn heavy(bytes: usize) -> Ipld {
    let mut s = format!("e{}", "\u{301}".repeat((bytes - 1) / 2));
    if s.len() < bytes {
        s.push('a');
    }
    assert_eq!(s.len(), bytes);
    t(&s)
}

/// The limit cases of a string field with a byte limit and a grapheme limit (graphemes ≤ bytes):
/// each limit reached (kept) and passed by one (refused) while the other is not.
fn text_limits(
    key: &'static str,
    path: &[&'static str],
    bytes: usize,
    graphemes: usize,
) -> Vec<Case> {
    let refused = || Want::Field(key_or_outer(key, path));
    let mut v = vec![
        set_in(
            "graphemes at the limit, ASCII",
            path,
            key,
            ascii(graphemes),
            Want::Ok,
        ),
        set_in(
            "one grapheme over, ASCII",
            path,
            key,
            ascii(graphemes + 1),
            refused(),
        ),
    ];
    if graphemes < bytes {
        v.push(set_in(
            "bytes at the limit in few graphemes",
            path,
            key,
            heavy(bytes),
            Want::Ok,
        ));
        v.push(set_in(
            "one byte over in few graphemes",
            path,
            key,
            heavy(bytes + 1),
            refused(),
        ));
    }
    if graphemes * 3 < bytes {
        v.push(set_in(
            "graphemes at the limit, 3 bytes each",
            path,
            key,
            accents(graphemes),
            Want::Ok,
        ));
        v.push(set_in(
            "one grapheme over, bytes under",
            path,
            key,
            accents(graphemes + 1),
            refused(),
        ));
    }
    v
}

/// Nested fields are reported under their top-level field.
fn key_or_outer(key: &'static str, path: &[&'static str]) -> &'static str {
    path.first().copied().unwrap_or(key)
}

/// `$type` wrong, absent, of the wrong type; the record not a map; NUL in a field.
fn common_cases(key: &'static str) -> Vec<Case> {
    vec![
        set(
            "another $type",
            "$type",
            t("app.bsky.feed.like"),
            Want::Type,
        ),
        remove("$type", Want::Type),
        set("$type not a string", "$type", Ipld::Integer(1), Want::Type),
        set("NUL", key, t("a\0b"), Want::Cbor),
        set("unknown field", "somethingNew", t("kept"), Want::Ok),
    ]
}

fn wrong_types(key: &'static str, expected: &str) -> Vec<Case> {
    let mut v = vec![set(
        &format!("{key} null"),
        key,
        Ipld::Null,
        Want::Field(key),
    )];
    for (name, value) in [
        ("a string", t("x")),
        ("an integer", Ipld::Integer(3)),
        ("a boolean", Ipld::Bool(true)),
        ("an array", list(vec![])),
        ("an object", obj(&[])),
        ("bytes", Ipld::Bytes(vec![1])),
    ] {
        if name != expected {
            v.push(set(&format!("{key} {name}"), key, value, Want::Field(key)));
        }
    }
    v
}

fn created_at_cases() -> Vec<Case> {
    let mut v = vec![
        remove("createdAt", Want::Field("createdAt")),
        set(
            "createdAt not a datetime",
            "createdAt",
            t("yesterday"),
            Want::Field("createdAt"),
        ),
        set(
            "createdAt without zone",
            "createdAt",
            t("2025-04-16T21:30:26"),
            Want::Field("createdAt"),
        ),
    ];
    v.extend(wrong_types("createdAt", "a string"));
    v
}

fn bad_did(key: &'static str) -> Vec<Case> {
    vec![
        set("not a DID", key, t("alice.test"), Want::Field(key)),
        set(
            "DID with bad method",
            key,
            t("did:PLC:abc"),
            Want::Field(key),
        ),
    ]
}

fn bad_at_uri(key: &'static str) -> Vec<Case> {
    vec![
        set(
            "https URL",
            key,
            t("https://bsky.app/profile/x"),
            Want::Field(key),
        ),
        set(
            "AT-URI with fragment",
            key,
            t(&format!("{}#x", uri(records::LIST, "3k"))),
            Want::Field(key),
        ),
        set(
            "AT-URI with a bad rkey",
            key,
            t(&format!("at://{DID}/{}/a b", records::LIST)),
            Want::Field(key),
        ),
    ]
}

fn array_cases(key: &'static str, item: Ipld, max: usize) -> Vec<Case> {
    vec![
        set(
            "array at its limit",
            key,
            list(vec![item.clone(); max]),
            Want::Ok,
        ),
        set(
            "array over its limit",
            key,
            list(vec![item; max + 1]),
            Want::Field(key),
        ),
        set("array empty", key, list(vec![]), Want::Ok),
    ]
}

fn facet_mention(did: &str) -> Ipld {
    obj(&[
        (
            "index",
            obj(&[
                ("byteStart", Ipld::Integer(0)),
                ("byteEnd", Ipld::Integer(3)),
            ]),
        ),
        (
            "features",
            list(vec![obj(&[
                ("$type", t("app.bsky.richtext.facet#mention")),
                ("did", t(did)),
            ])]),
        ),
    ])
}

fn labels(n: usize, val: Ipld) -> Ipld {
    obj(&[
        ("$type", t("com.atproto.label.defs#selfLabels")),
        ("values", list(vec![obj(&[("val", val)]); n])),
    ])
}

/// Cases shared by the optional `descriptionFacets`, `avatar` and `labels` of lists, feed
/// generators and starter packs.
fn description_extras(with_avatar_and_labels: bool) -> Vec<Case> {
    let mut v = vec![
        set(
            "a facet",
            "descriptionFacets",
            list(vec![facet_mention(DID)]),
            Want::Ok,
        ),
        set(
            "a facet with a bad DID",
            "descriptionFacets",
            list(vec![facet_mention("nope")]),
            Want::Field("descriptionFacets"),
        ),
        set(
            "facets not an array",
            "descriptionFacets",
            t("x"),
            Want::Field("descriptionFacets"),
        ),
        set(
            "a facet not an object",
            "descriptionFacets",
            list(vec![t("x")]),
            Want::Field("descriptionFacets"),
        ),
    ];
    if with_avatar_and_labels {
        v.extend([
            set(
                "legacy blob",
                "avatar",
                obj(&[("cid", t(&cid())), ("mimeType", t("image/jpeg"))]),
                Want::Ok,
            ),
            set(
                "blob without ref",
                "avatar",
                obj(&[
                    ("$type", t("blob")),
                    ("mimeType", t("image/png")),
                    ("size", Ipld::Integer(1)),
                ]),
                Want::Field("avatar"),
            ),
            set(
                "blob with a string ref",
                "avatar",
                obj(&[
                    ("$type", t("blob")),
                    ("ref", t(&cid())),
                    ("mimeType", t("image/png")),
                    ("size", Ipld::Integer(1)),
                ]),
                Want::Field("avatar"),
            ),
            set(
                "blob of another $type",
                "avatar",
                obj(&[
                    ("$type", t("image")),
                    ("ref", Ipld::Link(cid_of(0x55, b"i"))),
                    ("mimeType", t("image/png")),
                    ("size", Ipld::Integer(1)),
                ]),
                Want::Field("avatar"),
            ),
            set(
                "blob with a negative size",
                "avatar",
                obj(&[
                    ("$type", t("blob")),
                    ("ref", Ipld::Link(cid_of(0x55, b"i"))),
                    ("mimeType", t("image/png")),
                    ("size", Ipld::Integer(-1)),
                ]),
                Want::Field("avatar"),
            ),
            set(
                "legacy blob with a bad CID",
                "avatar",
                obj(&[("cid", t("bafy-not")), ("mimeType", t("image/png"))]),
                Want::Field("avatar"),
            ),
            set("blob a string", "avatar", t("x"), Want::Field("avatar")),
            set("10 self-labels", "labels", labels(10, t("porn")), Want::Ok),
            set(
                "11 self-labels",
                "labels",
                labels(11, t("porn")),
                Want::Field("labels"),
            ),
            set(
                "self-label of 128 bytes",
                "labels",
                labels(1, ascii(128)),
                Want::Ok,
            ),
            set(
                "self-label of 129 bytes",
                "labels",
                labels(1, ascii(129)),
                Want::Field("labels"),
            ),
            set(
                "self-label not a string",
                "labels",
                labels(1, Ipld::Integer(1)),
                Want::Field("labels"),
            ),
            set(
                "labels of an unknown $type",
                "labels",
                obj(&[("$type", t("com.example.labels"))]),
                Want::Ok,
            ),
            set(
                "labels without $type",
                "labels",
                obj(&[("values", list(vec![]))]),
                Want::Field("labels"),
            ),
        ]);
    }
    v
}

#[test]
fn records_hostile_list() {
    let c = records::LIST;
    let base = fields(
        c,
        &[
            ("name", t("Friends")),
            ("purpose", t("app.bsky.graph.defs#curatelist")),
            ("description", t("people I like")),
            ("avatar", blob()),
            ("createdAt", t(TIME)),
        ],
    );
    let mut cases = vec![
        set("64-byte name", "name", ascii(64), Want::Ok),
        set("65-byte name", "name", ascii(65), Want::Field("name")),
        // 22 accents: 66 bytes, 22 graphemes: the name's limit is bytes only.
        set(
            "name over in bytes, not graphemes",
            "name",
            accents(22),
            Want::Field("name"),
        ),
        set("empty name", "name", t(""), Want::Field("name")),
        remove("name", Want::Field("name")),
        remove("purpose", Want::Field("purpose")),
        set(
            "a purpose not known yet",
            "purpose",
            t("app.bsky.graph.defs#newlist"),
            Want::Ok,
        ),
        remove("description", Want::Ok),
        remove("avatar", Want::Ok),
    ];
    cases.extend(text_limits("description", &[], 3000, 300));
    cases.extend(common_cases("name"));
    cases.extend(wrong_types("name", "a string"));
    cases.extend(wrong_types("purpose", "a string"));
    cases.extend(wrong_types("description", "a string"));
    cases.extend(created_at_cases());
    cases.extend(description_extras(true));
    run(c, &base, cases);
    let RecordValue::List(l) = decode(c, &base).unwrap() else {
        panic!("a list")
    };
    assert!(!l.is_modlist());
    assert_eq!(
        l.avatar.and_then(|b| b.cid_string()),
        Some(cid_of(0x55, b"image").to_string())
    );
}

#[test]
fn records_hostile_list_item_and_list_block() {
    let c = records::LIST_ITEM;
    let list_uri = uri(records::LIST, "3kabc");
    let base = fields(
        c,
        &[
            ("subject", t(DID)),
            ("list", t(&list_uri)),
            ("createdAt", t(TIME)),
        ],
    );
    let mut cases = vec![
        remove("subject", Want::Field("subject")),
        remove("list", Want::Field("list")),
    ];
    cases.extend(bad_did("subject"));
    cases.extend(bad_at_uri("list"));
    cases.extend(common_cases("subject"));
    cases.extend(wrong_types("subject", "a string"));
    cases.extend(wrong_types("list", "a string"));
    cases.extend(created_at_cases());
    run(c, &base, cases);

    let c = records::LIST_BLOCK;
    let base = fields(c, &[("subject", t(&list_uri)), ("createdAt", t(TIME))]);
    let mut cases = vec![remove("subject", Want::Field("subject"))];
    cases.extend(bad_at_uri("subject"));
    cases.extend(common_cases("subject"));
    cases.extend(wrong_types("subject", "a string"));
    cases.extend(created_at_cases());
    run(c, &base, cases);
}

#[test]
fn records_hostile_starter_pack() {
    let c = records::STARTER_PACK;
    let feed = |rkey: &str| obj(&[("uri", t(&uri(records::FEED_GENERATOR, rkey)))]);
    let base = fields(
        c,
        &[
            ("name", t("Start here")),
            ("list", t(&uri(records::LIST, "3kabc"))),
            ("feeds", list(vec![feed("a")])),
            ("createdAt", t(TIME)),
        ],
    );
    let mut cases = vec![
        set("empty name", "name", t(""), Want::Field("name")),
        remove("name", Want::Field("name")),
        remove("list", Want::Field("list")),
        remove("feeds", Want::Ok),
        set(
            "a feed without uri",
            "feeds",
            list(vec![obj(&[])]),
            Want::Field("feeds"),
        ),
        set(
            "a feed with a bad uri",
            "feeds",
            list(vec![obj(&[("uri", t("https://x"))])]),
            Want::Field("feeds"),
        ),
        set(
            "a feed not an object",
            "feeds",
            list(vec![t("x")]),
            Want::Field("feeds"),
        ),
    ];
    cases.extend(text_limits("name", &[], 500, 50));
    cases.extend(text_limits("description", &[], 3000, 300));
    cases.extend(array_cases("feeds", feed("b"), 3));
    cases.extend(bad_at_uri("list"));
    cases.extend(common_cases("name"));
    cases.extend(wrong_types("name", "a string"));
    cases.extend(wrong_types("feeds", "an array"));
    cases.extend(created_at_cases());
    cases.extend(description_extras(false));
    run(c, &base, cases);
}

#[test]
fn records_hostile_feed_generator() {
    let c = records::FEED_GENERATOR;
    let base = fields(
        c,
        &[
            ("did", t("did:web:feed.example.com")),
            ("displayName", t("Videos")),
            ("acceptsInteractions", Ipld::Bool(false)),
            ("contentMode", t("app.bsky.feed.defs#contentModeVideo")),
            ("createdAt", t(TIME)),
        ],
    );
    let mut cases = vec![
        remove("did", Want::Field("did")),
        remove("displayName", Want::Field("displayName")),
        set("empty display name", "displayName", t(""), Want::Ok),
        set(
            "a content mode not known yet",
            "contentMode",
            t("app.bsky.feed.defs#contentModeAudio"),
            Want::Ok,
        ),
        remove("acceptsInteractions", Want::Ok),
    ];
    cases.extend(text_limits("displayName", &[], 240, 24));
    cases.extend(text_limits("description", &[], 3000, 300));
    cases.extend(bad_did("did"));
    cases.extend(common_cases("displayName"));
    cases.extend(wrong_types("did", "a string"));
    cases.extend(wrong_types("acceptsInteractions", "a boolean"));
    cases.extend(wrong_types("contentMode", "a string"));
    cases.extend(created_at_cases());
    cases.extend(description_extras(true));
    run(c, &base, cases);
}

#[test]
fn records_hostile_labeler_service() {
    let c = records::LABELER_SERVICE;
    let locale = obj(&[
        ("lang", t("en")),
        ("name", t("Spam")),
        ("description", t("spam links")),
    ]);
    let definition = obj(&[
        ("identifier", t("spam")),
        ("severity", t("alert")),
        ("blurs", t("content")),
        ("defaultSetting", t("hide")),
        ("adultOnly", Ipld::Bool(false)),
        ("locales", list(vec![locale])),
    ]);
    let base = fields(
        c,
        &[
            (
                "policies",
                obj(&[
                    ("labelValues", list(vec![t("spam"), t("!hide")])),
                    ("labelValueDefinitions", list(vec![definition])),
                ]),
            ),
            ("subjectCollections", list(vec![t("app.bsky.feed.post")])),
            ("subjectTypes", list(vec![t("account")])),
            (
                "reasonTypes",
                list(vec![t("com.atproto.moderation.defs#reasonSpam")]),
            ),
            ("createdAt", t(TIME)),
        ],
    );
    let def = ["policies", "labelValueDefinitions", "0"];
    let loc = ["policies", "labelValueDefinitions", "0", "locales", "0"];
    let mut cases = vec![
        remove("policies", Want::Field("policies")),
        remove_in(&["policies"], "labelValues", Want::Field("policies")),
        remove_in(&["policies"], "labelValueDefinitions", Want::Ok),
        set_in(
            "a label value not a string",
            &["policies"],
            "labelValues",
            list(vec![Ipld::Integer(1)]),
            Want::Field("policies"),
        ),
        set_in(
            "labelValues an object",
            &["policies"],
            "labelValues",
            obj(&[]),
            Want::Field("policies"),
        ),
        set_in(
            "a definition not an object",
            &["policies"],
            "labelValueDefinitions",
            list(vec![t("x")]),
            Want::Field("policies"),
        ),
        remove_in(&def, "identifier", Want::Field("policies")),
        remove_in(&def, "severity", Want::Field("policies")),
        remove_in(&def, "blurs", Want::Field("policies")),
        remove_in(&def, "locales", Want::Field("policies")),
        remove_in(&def, "defaultSetting", Want::Ok),
        remove_in(&def, "adultOnly", Want::Ok),
        set_in(
            "a severity not known yet",
            &def,
            "severity",
            t("shout"),
            Want::Ok,
        ),
        set_in(
            "adultOnly a string",
            &def,
            "adultOnly",
            t("no"),
            Want::Field("policies"),
        ),
        set_in(
            "identifier of 100",
            &def,
            "identifier",
            ascii(100),
            Want::Ok,
        ),
        set_in(
            "identifier of 101",
            &def,
            "identifier",
            ascii(101),
            Want::Field("policies"),
        ),
        set_in(
            "bad language",
            &loc,
            "lang",
            t("english!"),
            Want::Field("policies"),
        ),
        remove_in(&loc, "name", Want::Field("policies")),
        remove_in(&loc, "description", Want::Field("policies")),
        set("no reasonTypes", "reasonTypes", list(vec![]), Want::Ok),
        remove("reasonTypes", Want::Ok),
        set(
            "a subject collection not an NSID",
            "subjectCollections",
            list(vec![t("posts")]),
            Want::Field("subjectCollections"),
        ),
        set(
            "a subject type not a string",
            "subjectTypes",
            list(vec![Ipld::Integer(1)]),
            Want::Field("subjectTypes"),
        ),
        set(
            "NUL in a nested string",
            "subjectTypes",
            list(vec![t("a\0")]),
            Want::Cbor,
        ),
    ];
    cases.extend(text_limits("name", &loc, 640, 64));
    cases.extend(text_limits("description", &loc, 100_000, 10_000));
    cases.extend(common_cases("createdAt"));
    cases.extend(wrong_types("policies", "an object"));
    cases.extend(wrong_types("subjectCollections", "an array"));
    cases.extend(created_at_cases());
    run(c, &base, cases);
    let RecordValue::LabelerService(l) = decode(c, &base).unwrap() else {
        panic!("a labeler")
    };
    assert_eq!(
        l.subject_types.as_deref(),
        Some(&["account".to_owned()][..])
    );
    assert_eq!(
        l.policies.label_value_definitions[0]
            .default_setting
            .as_deref(),
        Some("hide")
    );
}

#[test]
fn records_hostile_verification() {
    let c = records::VERIFICATION;
    let base = fields(
        c,
        &[
            ("subject", t(DID)),
            ("handle", t("alice.test")),
            ("displayName", t("Alice")),
            ("createdAt", t(TIME)),
        ],
    );
    let mut cases = vec![
        remove("subject", Want::Field("subject")),
        remove("handle", Want::Field("handle")),
        remove("displayName", Want::Field("displayName")),
        set(
            "a handle with a space",
            "handle",
            t("alice .test"),
            Want::Field("handle"),
        ),
        set(
            "a handle without a dot",
            "handle",
            t("alice"),
            Want::Field("handle"),
        ),
        set(
            "a DID for a handle",
            "handle",
            t(DID),
            Want::Field("handle"),
        ),
        set("empty display name", "displayName", t(""), Want::Ok),
        set(
            "a long display name (no limit)",
            "displayName",
            ascii(5000),
            Want::Ok,
        ),
    ];
    cases.extend(bad_did("subject"));
    cases.extend(common_cases("displayName"));
    cases.extend(wrong_types("handle", "a string"));
    cases.extend(wrong_types("displayName", "a string"));
    cases.extend(created_at_cases());
    run(c, &base, cases);
}

#[test]
fn records_hostile_actor_status() {
    let c = records::ACTOR_STATUS;
    let external = obj(&[
        ("$type", t("app.bsky.embed.external")),
        (
            "external",
            obj(&[
                ("uri", t("https://example.com/live")),
                ("title", t("Live")),
                ("description", t("")),
            ]),
        ),
    ]);
    let base = fields(
        c,
        &[
            ("status", t("app.bsky.actor.status#live")),
            ("embed", external),
            ("durationMinutes", Ipld::Integer(30)),
            ("createdAt", t(TIME)),
        ],
    );
    let ext = ["embed", "external"];
    let mut cases = vec![
        remove("status", Want::Field("status")),
        set(
            "a status not known yet",
            "status",
            t("app.bsky.actor.status#away"),
            Want::Ok,
        ),
        remove("embed", Want::Ok),
        remove("durationMinutes", Want::Ok),
        set("1 minute", "durationMinutes", Ipld::Integer(1), Want::Ok),
        set(
            "0 minutes",
            "durationMinutes",
            Ipld::Integer(0),
            Want::Field("durationMinutes"),
        ),
        set(
            "-5 minutes",
            "durationMinutes",
            Ipld::Integer(-5),
            Want::Field("durationMinutes"),
        ),
        set(
            "2^64-1 minutes",
            "durationMinutes",
            Ipld::Integer(u64::MAX.into()),
            Want::Field("durationMinutes"),
        ),
        set(
            "an embed of a type not known yet",
            "embed",
            obj(&[("$type", t("app.bsky.embed.video"))]),
            Want::Ok,
        ),
        set(
            "an embed without $type",
            "embed",
            obj(&[]),
            Want::Field("embed"),
        ),
        remove_in(&["embed"], "external", Want::Field("embed")),
        remove_in(&ext, "uri", Want::Field("embed")),
        remove_in(&ext, "title", Want::Field("embed")),
        remove_in(&ext, "description", Want::Field("embed")),
        set_in(
            "an embed uri without scheme",
            &ext,
            "uri",
            t("example.com/live"),
            Want::Field("embed"),
        ),
        set_in(
            "an embed uri with a space",
            &ext,
            "uri",
            t("https://example.com/a b"),
            Want::Field("embed"),
        ),
        set_in(
            "an embed uri of nothing",
            &ext,
            "uri",
            t("https://"),
            Want::Field("embed"),
        ),
        set_in(
            "an at:// uri",
            &ext,
            "uri",
            t("at://did:plc:x/app.bsky.feed.post/1"),
            Want::Ok,
        ),
        set_in("a thumb", &ext, "thumb", blob(), Want::Ok),
        set_in(
            "a thumb that is no blob",
            &ext,
            "thumb",
            t("x"),
            Want::Field("embed"),
        ),
        set_in(
            "a title not a string",
            &ext,
            "title",
            Ipld::Integer(1),
            Want::Field("embed"),
        ),
    ];
    cases.extend(common_cases("status"));
    cases.extend(wrong_types("status", "a string"));
    cases.extend(wrong_types("durationMinutes", "an integer"));
    cases.extend(wrong_types("embed", "an object"));
    cases.extend(created_at_cases());
    run(c, &base, cases);
    let RecordValue::ActorStatus(s) = decode(c, &base).unwrap() else {
        panic!("a status")
    };
    assert!(matches!(s.embed, Some(records::StatusEmbed::External(ref e)) if e.title == "Live"));
}

#[test]
fn records_hostile_declarations() {
    let c = records::NOTIFICATION_DECLARATION;
    let base = fields(c, &[("allowSubscriptions", t("followers"))]);
    let mut cases = vec![
        remove("allowSubscriptions", Want::Field("allowSubscriptions")),
        set(
            "a value not known yet",
            "allowSubscriptions",
            t("friends"),
            Want::Ok,
        ),
        // No createdAt in this lexicon: one is just another field.
        set("a createdAt", "createdAt", t("whenever"), Want::Ok),
    ];
    cases.extend(common_cases("allowSubscriptions"));
    cases.extend(wrong_types("allowSubscriptions", "a string"));
    run(c, &base, cases);
    assert_eq!(decode(c, &base).unwrap().created_at(), None);

    let c = records::CHAT_DECLARATION;
    let base = fields(
        c,
        &[
            ("allowIncoming", t("following")),
            ("allowGroupInvites", t("none")),
        ],
    );
    let mut cases = vec![
        remove("allowIncoming", Want::Field("allowIncoming")),
        remove("allowGroupInvites", Want::Ok),
        set(
            "a value not known yet",
            "allowIncoming",
            t("mutuals"),
            Want::Ok,
        ),
    ];
    cases.extend(common_cases("allowIncoming"));
    cases.extend(wrong_types("allowIncoming", "a string"));
    cases.extend(wrong_types("allowGroupInvites", "a string"));
    run(c, &base, cases);
}

fn rule(kind: &str) -> Ipld {
    obj(&[("$type", t(&format!("app.bsky.feed.threadgate#{kind}")))])
}

#[test]
fn records_hostile_threadgate() {
    let c = records::THREADGATE;
    let post = uri(records::POST, "3kpost");
    let list_rule = obj(&[
        ("$type", t("app.bsky.feed.threadgate#listRule")),
        ("list", t(&uri(records::LIST, "3klist"))),
    ]);
    let base = fields(
        c,
        &[
            ("post", t(&post)),
            ("allow", list(vec![rule("mentionRule"), list_rule])),
            (
                "hiddenReplies",
                list(vec![t(&uri(records::POST, "3kreply"))]),
            ),
            ("createdAt", t(TIME)),
        ],
    );
    let mut cases = vec![
        remove("post", Want::Field("post")),
        remove("allow", Want::Ok),
        remove("hiddenReplies", Want::Ok),
        set(
            "a rule not known yet",
            "allow",
            list(vec![rule("mutualsRule")]),
            Want::Ok,
        ),
        set(
            "a rule without $type",
            "allow",
            list(vec![obj(&[])]),
            Want::Field("allow"),
        ),
        set(
            "a rule not an object",
            "allow",
            list(vec![t("followerRule")]),
            Want::Field("allow"),
        ),
        set(
            "a list rule without list",
            "allow",
            list(vec![rule("listRule")]),
            Want::Field("allow"),
        ),
        set(
            "a list rule with a bad list",
            "allow",
            list(vec![obj(&[
                ("$type", t("app.bsky.feed.threadgate#listRule")),
                ("list", t("x")),
            ])]),
            Want::Field("allow"),
        ),
        set(
            "a hidden reply not an AT-URI",
            "hiddenReplies",
            list(vec![t("https://x")]),
            Want::Field("hiddenReplies"),
        ),
        set(
            "a hidden reply not a string",
            "hiddenReplies",
            list(vec![Ipld::Integer(1)]),
            Want::Field("hiddenReplies"),
        ),
    ];
    cases.extend(array_cases("allow", rule("followerRule"), 5));
    cases.extend(array_cases(
        "hiddenReplies",
        t(&uri(records::POST, "3kreply")),
        300,
    ));
    cases.extend(bad_at_uri("post"));
    cases.extend(common_cases("post"));
    cases.extend(wrong_types("post", "a string"));
    cases.extend(wrong_types("allow", "an array"));
    cases.extend(wrong_types("hiddenReplies", "an array"));
    cases.extend(created_at_cases());
    run(c, &base, cases);

    // Absent, empty and given `allow` are three different gates.
    let mut open = base.clone();
    open.remove("allow");
    let mut closed = base.clone();
    closed.insert("allow".into(), list(vec![]));
    let gate = |f: &Fields| match decode(c, f).unwrap() {
        RecordValue::ThreadGate(g) => g,
        other => panic!("{other:?}"),
    };
    assert!(gate(&open).allows_anyone() && gate(&open).rules().is_empty());
    assert!(!gate(&closed).allows_anyone() && gate(&closed).rules().is_empty());
    let g = gate(&base);
    assert_eq!(g.rules()[0], records::ThreadGateRule::Mention);
    assert_eq!(
        g.lists().collect::<Vec<_>>(),
        [uri(records::LIST, "3klist")]
    );
    assert!(g.hides(&uri(records::POST, "3kreply")) && !g.hides(&post));
    let mut unknown = base.clone();
    unknown.insert("allow".into(), list(vec![rule("mutualsRule")]));
    assert_eq!(
        gate(&unknown).rules(),
        [records::ThreadGateRule::Unknown(
            "app.bsky.feed.threadgate#mutualsRule".into()
        )]
    );
}

#[test]
fn records_hostile_postgate() {
    let c = records::POSTGATE;
    let disable = obj(&[("$type", t("app.bsky.feed.postgate#disableRule"))]);
    let base = fields(
        c,
        &[
            ("post", t(&uri(records::POST, "3kpost"))),
            (
                "detachedEmbeddingUris",
                list(vec![t(&uri(records::POST, "3kquote"))]),
            ),
            ("embeddingRules", list(vec![disable.clone()])),
            ("createdAt", t(TIME)),
        ],
    );
    let mut cases = vec![
        remove("post", Want::Field("post")),
        remove("detachedEmbeddingUris", Want::Ok),
        remove("embeddingRules", Want::Ok),
        set(
            "a rule not known yet",
            "embeddingRules",
            list(vec![obj(&[(
                "$type",
                t("app.bsky.feed.postgate#quoteRule"),
            )])]),
            Want::Ok,
        ),
        set(
            "a rule without $type",
            "embeddingRules",
            list(vec![obj(&[])]),
            Want::Field("embeddingRules"),
        ),
        set(
            "a rule not an object",
            "embeddingRules",
            list(vec![t("x")]),
            Want::Field("embeddingRules"),
        ),
        set(
            "a detached URI not an AT-URI",
            "detachedEmbeddingUris",
            list(vec![t("x")]),
            Want::Field("detachedEmbeddingUris"),
        ),
    ];
    cases.extend(array_cases(
        "detachedEmbeddingUris",
        t(&uri(records::POST, "3kq")),
        50,
    ));
    cases.extend(array_cases("embeddingRules", disable, 5));
    cases.extend(bad_at_uri("post"));
    cases.extend(common_cases("post"));
    cases.extend(wrong_types("post", "a string"));
    cases.extend(wrong_types("embeddingRules", "an array"));
    cases.extend(wrong_types("detachedEmbeddingUris", "an array"));
    cases.extend(created_at_cases());
    run(c, &base, cases);
    let RecordValue::PostGate(g) = decode(c, &base).unwrap() else {
        panic!("a postgate")
    };
    assert!(g.disables_embedding());
    assert!(
        g.detaches(&uri(records::POST, "3kquote")) && !g.detaches(&uri(records::POST, "3kpost"))
    );
    let mut unknown = base.clone();
    unknown.insert(
        "embeddingRules".into(),
        list(vec![obj(&[(
            "$type",
            t("app.bsky.feed.postgate#quoteRule"),
        )])]),
    );
    let RecordValue::PostGate(g) = decode(c, &unknown).unwrap() else {
        panic!("a postgate")
    };
    assert!(
        !g.disables_embedding(),
        "a rule we do not know disables nothing"
    );
}

#[test]
fn records_hostile_profile_joined_via_starter_pack() {
    let c = records::PROFILE;
    let pack = obj(&[
        ("uri", t(&uri(records::STARTER_PACK, "3kpack"))),
        ("cid", t(&cid())),
    ]);
    let base = fields(
        c,
        &[("displayName", t("Carol")), ("joinedViaStarterPack", pack)],
    );
    let cases = vec![
        remove("joinedViaStarterPack", Want::Ok),
        set(
            "a starter pack ref with a bad URI",
            "joinedViaStarterPack",
            obj(&[("uri", t("https://x")), ("cid", t(&cid()))]),
            Want::Field("joinedViaStarterPack"),
        ),
        set(
            "a starter pack ref with a bad CID",
            "joinedViaStarterPack",
            obj(&[
                ("uri", t(&uri(records::STARTER_PACK, "3kpack"))),
                ("cid", t("nope")),
            ]),
            Want::Field("joinedViaStarterPack"),
        ),
    ];
    run(c, &base, cases);
    // Without its CID it is no strong ref: serde reports the shape (the older decoders' way).
    let mut f = base.clone();
    f.insert(
        "joinedViaStarterPack".into(),
        obj(&[("uri", t(&uri(records::STARTER_PACK, "3k")))]),
    );
    assert!(matches!(decode(c, &f), Err(RecordError::Shape { .. })));
    let RecordValue::Profile(p) = decode(c, &base).unwrap() else {
        panic!("a profile")
    };
    assert_eq!(p.joined_via_starter_pack.map(|r| r.cid), Some(cid()));
}

/// A record that is not a map, or that is of another kind, is refused for every typed kind.
#[test]
fn records_hostile_not_a_record() {
    for c in records::TYPED_COLLECTIONS {
        for bytes in [
            encode(&t("just a string")),
            encode(&list(vec![])),
            encode(&Ipld::Null),
        ] {
            // Shape, or for a profile (every field optional) read from `null`, its missing $type.
            let got = Record::decode(c, &bytes);
            assert!(
                matches!(
                    got,
                    Err(RecordError::Shape { .. }) | Err(RecordError::Type { .. })
                ),
                "{c}: {got:?}"
            );
        }
        let other = encode(&obj(&[
            ("$type", t("com.example.thing")),
            ("createdAt", t(TIME)),
        ]));
        assert!(
            matches!(
                Record::decode(c, &other),
                Err(RecordError::Type { .. }) | Err(RecordError::Shape { .. })
            ),
            "{c}"
        );
    }
}
