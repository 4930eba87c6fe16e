//! Real records from the reference PDS: the three captures (`tests/fixtures/pds-records`, made by
//! `scripts/make-records-fixture.sh` with every typed collection; `pds-small`; `pds-verify`).
//! Every record the PDS wrote decodes to its collection's type (none is refused, none falls back
//! to `Other`), and every typed field equals what the PDS itself serves for the record
//! (`truth.json`), field by field.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use skyindex::decode::{decode_frame, Frame, OpAction, TypedEvent};
use skyindex::records::{
    self, Blob, Facet, FacetFeature, LabelValueDefinition, PostGateRule, Record, RecordValue,
    StatusEmbed, StrongRef, ThreadGateRule,
};

use crate::common::{project_dir, read_capture};

const CAPTURES: [&str; 3] = ["pds-records", "pds-small", "pds-verify"];

/// The collections added with their own types (the six older ones have their own tests).
const NEW: [&str; 12] = [
    records::LIST,
    records::LIST_ITEM,
    records::LIST_BLOCK,
    records::STARTER_PACK,
    records::FEED_GENERATOR,
    records::LABELER_SERVICE,
    records::VERIFICATION,
    records::ACTOR_STATUS,
    records::NOTIFICATION_DECLARATION,
    records::CHAT_DECLARATION,
    records::THREADGATE,
    records::POSTGATE,
];

struct Written {
    uri: String,
    cid: String,
    record: Record,
}

/// The last create or update of every record path in a capture, and how many ops there were
/// per collection.
fn last_writes(capture: &str) -> (HashMap<String, Written>, BTreeMap<String, usize>) {
    let frames = read_capture(
        &project_dir()
            .join("tests/fixtures")
            .join(capture)
            .join("frames.bin"),
    );
    let mut last = HashMap::new();
    let mut counts = BTreeMap::new();
    for (i, bytes) in frames.iter().enumerate() {
        let frame = decode_frame(bytes).unwrap_or_else(|e| panic!("{capture} frame {i}: {e}"));
        let Frame::Event(TypedEvent::Commit(c)) = frame else {
            continue;
        };
        assert!(
            c.invalid.is_empty(),
            "{capture} seq {}: refused {:?}",
            c.seq,
            c.invalid
        );
        for op in c.ops {
            *counts.entry(op.collection.clone()).or_default() += 1;
            let uri = format!("at://{}/{}", c.repo, op.path());
            match (op.action, op.record) {
                (OpAction::Delete, _) => {
                    last.remove(&uri);
                }
                (_, Some(record)) => {
                    let cid = op.cid.map(|c| c.to_string()).unwrap_or_default();
                    last.insert(uri.clone(), Written { uri, cid, record });
                }
                (_, None) => panic!("{uri}: a write without its record"),
            }
        }
    }
    (last, counts)
}

fn truth(capture: &str) -> Vec<Value> {
    let path = project_dir()
        .join("tests/fixtures")
        .join(capture)
        .join("truth.json");
    let v: Value = serde_json::from_slice(&std::fs::read(path).expect("truth.json")).expect("JSON");
    v["records"].as_array().expect("records").clone()
}

#[test]
fn records_capture_every_typed_collection_decodes_to_its_type() {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for capture in CAPTURES {
        let (last, _) = last_writes(capture);
        for w in last.values() {
            let collection = w.uri.split('/').nth(3).unwrap_or_default();
            let ok = matches!(
                (collection, &w.record.value),
                (records::POST, RecordValue::Post(_))
                    | (records::LIKE, RecordValue::Like(_))
                    | (records::REPOST, RecordValue::Repost(_))
                    | (records::FOLLOW, RecordValue::Follow(_))
                    | (records::BLOCK, RecordValue::Block(_))
                    | (records::PROFILE, RecordValue::Profile(_))
                    | (records::LIST, RecordValue::List(_))
                    | (records::LIST_ITEM, RecordValue::ListItem(_))
                    | (records::LIST_BLOCK, RecordValue::ListBlock(_))
                    | (records::STARTER_PACK, RecordValue::StarterPack(_))
                    | (records::FEED_GENERATOR, RecordValue::FeedGenerator(_))
                    | (records::LABELER_SERVICE, RecordValue::LabelerService(_))
                    | (records::VERIFICATION, RecordValue::Verification(_))
                    | (records::ACTOR_STATUS, RecordValue::ActorStatus(_))
                    | (
                        records::NOTIFICATION_DECLARATION,
                        RecordValue::NotificationDeclaration(_)
                    )
                    | (records::CHAT_DECLARATION, RecordValue::ChatDeclaration(_))
                    | (records::THREADGATE, RecordValue::ThreadGate(_))
                    | (records::POSTGATE, RecordValue::PostGate(_))
            );
            assert!(ok, "{}: {:?}", w.uri, w.record.value);
            assert!(records::TYPED_COLLECTIONS.contains(&collection));
            if let Some(c) = NEW.iter().find(|c| **c == collection) {
                *seen.entry(c).or_default() += 1;
            }
        }
    }
    // The captures hold at least one record of every new kind (most from pds-records).
    for c in NEW {
        assert!(
            seen.get(c).copied().unwrap_or(0) > 0,
            "no {c} in the captures"
        );
    }
    eprintln!("typed records of the new kinds in the captures: {seen:?}");
}

fn s(v: &Value) -> Option<&str> {
    v.as_str()
}

fn time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    skyindex::syntax::parse_datetime(v.as_str().expect("createdAt")).expect("datetime")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn opt_strings(v: &Value) -> Option<Vec<String>> {
    v.as_array().map(|_| strings(v))
}

fn blob_eq(b: &Option<Blob>, j: &Value) -> bool {
    match (b, j) {
        (None, Value::Null) => true,
        (Some(b), j) => {
            b.cid_string().as_deref() == j["ref"]["$link"].as_str()
                && b.mime_type.as_deref() == j["mimeType"].as_str()
                && b.size == j["size"].as_i64()
        }
        _ => false,
    }
}

fn labels_eq(labels: &[String], j: &Value) -> bool {
    let vals: Vec<String> = j["values"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v["val"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    labels == vals.as_slice()
}

fn facets_eq(facets: &[Facet], j: &Value) -> bool {
    let items = j.as_array().cloned().unwrap_or_default();
    facets.len() == items.len()
        && facets.iter().zip(&items).all(|(f, j)| {
            f.byte_start == j["index"]["byteStart"].as_u64().unwrap()
                && f.byte_end == j["index"]["byteEnd"].as_u64().unwrap()
                && f.features.len() == j["features"].as_array().unwrap().len()
                && f.features
                    .iter()
                    .zip(j["features"].as_array().unwrap())
                    .all(|(f, j)| match f {
                        FacetFeature::Mention { did } => j["did"].as_str() == Some(did),
                        FacetFeature::Link { uri } => j["uri"].as_str() == Some(uri),
                        FacetFeature::Tag { tag } => j["tag"].as_str() == Some(tag),
                        FacetFeature::Unknown(t) => j["$type"].as_str() == Some(t),
                    })
        })
}

fn strong_ref_eq(r: &Option<StrongRef>, j: &Value) -> bool {
    match r {
        None => j.is_null(),
        Some(r) => j["uri"].as_str() == Some(&r.uri) && j["cid"].as_str() == Some(&r.cid),
    }
}

fn definition_eq(d: &LabelValueDefinition, j: &Value) -> bool {
    let locales = j["locales"].as_array().unwrap();
    d.identifier == j["identifier"]
        && d.severity == j["severity"]
        && d.blurs == j["blurs"]
        && d.default_setting.as_deref() == s(&j["defaultSetting"])
        && d.adult_only == j["adultOnly"].as_bool()
        && d.locales.len() == locales.len()
        && d.locales.iter().zip(locales).all(|(l, j)| {
            l.lang == j["lang"] && l.name == j["name"] && l.description == j["description"]
        })
}

/// Whether the typed record says what the PDS's JSON of it says, for every field it types.
fn agrees(value: &RecordValue, j: &Value) -> bool {
    match value {
        RecordValue::List(l) => {
            l.name == j["name"]
                && l.purpose == j["purpose"]
                && l.description.as_deref() == s(&j["description"])
                && facets_eq(&l.description_facets, &j["descriptionFacets"])
                && blob_eq(&l.avatar, &j["avatar"])
                && labels_eq(&l.labels, &j["labels"])
                && l.created_at == time(&j["createdAt"])
        }
        RecordValue::ListItem(l) => {
            l.subject == j["subject"]
                && l.list == j["list"]
                && l.created_at == time(&j["createdAt"])
        }
        RecordValue::ListBlock(l) => {
            l.subject == j["subject"] && l.created_at == time(&j["createdAt"])
        }
        RecordValue::StarterPack(p) => {
            let feeds: Vec<String> = j["feeds"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|f| f["uri"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            p.name == j["name"]
                && p.description.as_deref() == s(&j["description"])
                && facets_eq(&p.description_facets, &j["descriptionFacets"])
                && p.list == j["list"]
                && p.feeds == feeds
                && p.created_at == time(&j["createdAt"])
        }
        RecordValue::FeedGenerator(g) => {
            g.did == j["did"]
                && g.display_name == j["displayName"]
                && g.description.as_deref() == s(&j["description"])
                && facets_eq(&g.description_facets, &j["descriptionFacets"])
                && blob_eq(&g.avatar, &j["avatar"])
                && g.accepts_interactions == j["acceptsInteractions"].as_bool()
                && g.content_mode.as_deref() == s(&j["contentMode"])
                && labels_eq(&g.labels, &j["labels"])
                && g.created_at == time(&j["createdAt"])
        }
        RecordValue::LabelerService(l) => {
            let p = &j["policies"];
            let defs = p["labelValueDefinitions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            l.policies.label_values == strings(&p["labelValues"])
                && l.policies.label_value_definitions.len() == defs.len()
                && l.policies
                    .label_value_definitions
                    .iter()
                    .zip(&defs)
                    .all(|(d, j)| definition_eq(d, j))
                && l.reason_types == opt_strings(&j["reasonTypes"])
                && l.subject_types == opt_strings(&j["subjectTypes"])
                && l.subject_collections == opt_strings(&j["subjectCollections"])
                && labels_eq(&l.labels, &j["labels"])
                && l.created_at == time(&j["createdAt"])
        }
        RecordValue::Verification(v) => {
            v.subject == j["subject"]
                && v.handle == j["handle"]
                && v.display_name == j["displayName"]
                && v.created_at == time(&j["createdAt"])
        }
        RecordValue::ActorStatus(st) => {
            let embed_ok = match &st.embed {
                None => j["embed"].is_null(),
                Some(StatusEmbed::External(e)) => {
                    let x = &j["embed"]["external"];
                    e.uri == x["uri"]
                        && e.title == x["title"]
                        && e.description == x["description"]
                        && blob_eq(&e.thumb, &x["thumb"])
                }
                Some(StatusEmbed::Unknown(t)) => j["embed"]["$type"] == t.as_str(),
            };
            st.status == j["status"]
                && embed_ok
                && st.duration_minutes == j["durationMinutes"].as_i64()
                && st.created_at == time(&j["createdAt"])
        }
        RecordValue::NotificationDeclaration(d) => d.allow_subscriptions == j["allowSubscriptions"],
        RecordValue::ChatDeclaration(d) => {
            d.allow_incoming == j["allowIncoming"]
                && d.allow_group_invites.as_deref() == s(&j["allowGroupInvites"])
        }
        RecordValue::ThreadGate(t) => {
            let allow_ok = match (&t.allow, j["allow"].as_array()) {
                (None, None) => true,
                (Some(rules), Some(js)) => {
                    rules.len() == js.len()
                        && rules.iter().zip(js).all(|(r, j)| {
                            let ty = j["$type"].as_str().unwrap();
                            match r {
                                ThreadGateRule::Mention => ty.ends_with("#mentionRule"),
                                ThreadGateRule::Follower => ty.ends_with("#followerRule"),
                                ThreadGateRule::Following => ty.ends_with("#followingRule"),
                                ThreadGateRule::List { list } => {
                                    ty.ends_with("#listRule") && j["list"] == list.as_str()
                                }
                                ThreadGateRule::Unknown(u) => ty == u,
                            }
                        })
                }
                _ => false,
            };
            t.post == j["post"]
                && allow_ok
                && t.hidden_replies == strings(&j["hiddenReplies"])
                && t.created_at == time(&j["createdAt"])
        }
        RecordValue::PostGate(p) => {
            let rules: Vec<String> = j["embeddingRules"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| r["$type"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            p.post == j["post"]
                && p.detached_embedding_uris == strings(&j["detachedEmbeddingUris"])
                && p.embedding_rules.len() == rules.len()
                && p.embedding_rules.iter().zip(&rules).all(|(r, t)| match r {
                    PostGateRule::Disable => t == "app.bsky.feed.postgate#disableRule",
                    PostGateRule::Unknown(u) => u == t,
                })
                && p.created_at == time(&j["createdAt"])
        }
        RecordValue::Profile(p) => {
            strong_ref_eq(&p.joined_via_starter_pack, &j["joinedViaStarterPack"])
                && strong_ref_eq(&p.pinned_post, &j["pinnedPost"])
                && p.display_name.as_deref() == s(&j["displayName"])
        }
        // Kinds with tests of their own.
        _ => true,
    }
}

#[test]
fn records_capture_typed_fields_equal_the_pds_json() {
    let mut compared: BTreeMap<String, usize> = BTreeMap::new();
    let mut joined = 0;
    for capture in CAPTURES {
        let (last, _) = last_writes(capture);
        for rec in truth(capture) {
            let uri = rec["uri"].as_str().unwrap();
            let collection = rec["collection"].as_str().unwrap();
            if !NEW.contains(&collection) && collection != records::PROFILE {
                continue;
            }
            let w = last
                .get(uri)
                .unwrap_or_else(|| panic!("{capture}: {uri} not in the capture"));
            assert_eq!(Some(w.cid.as_str()), rec["cid"].as_str(), "{uri}");
            assert_eq!(w.record.lex_json(), rec["value"], "{uri}: lex-JSON");
            assert!(
                agrees(&w.record.value, &rec["value"]),
                "{capture} {uri}: typed {:#?} but the PDS says {:#}",
                w.record.value,
                rec["value"]
            );
            if let RecordValue::Profile(p) = &w.record.value {
                joined += usize::from(p.joined_via_starter_pack.is_some());
            }
            *compared.entry(collection.to_owned()).or_default() += 1;
        }
    }
    assert!(joined > 0, "no profile joined via a starter pack");
    for c in NEW {
        assert!(compared.contains_key(c), "no {c} compared with the PDS");
    }
    eprintln!("compared with the PDS's JSON: {compared:?}, {joined} joined via starter packs");
}

/// What the PDS writes is what the reference AppView indexes: every gate names its own post
/// (same repo, same record key), every list item is on its owner's list.
#[test]
fn records_capture_gates_and_list_items_pass_the_appview_checks() {
    let (mut gates, mut items) = (0, 0);
    for capture in CAPTURES {
        let (last, _) = last_writes(capture);
        for w in last.values() {
            match &w.record.value {
                RecordValue::ThreadGate(t) => {
                    assert!(t.gates(&w.uri), "{}", w.uri);
                    assert_eq!(
                        records::ThreadGate::uri_for_post(&t.post).as_deref(),
                        Some(w.uri.as_str())
                    );
                    gates += 1;
                }
                RecordValue::PostGate(p) => {
                    assert!(p.gates(&w.uri), "{}", w.uri);
                    assert_eq!(
                        records::PostGate::uri_for_post(&p.post).as_deref(),
                        Some(w.uri.as_str())
                    );
                    gates += 1;
                }
                RecordValue::ListItem(l) => {
                    assert!(l.in_list_owner_repo(&w.uri), "{}", w.uri);
                    items += 1;
                }
                _ => {}
            }
        }
    }
    assert!(gates > 0 && items > 0);
}

/// The pds-records capture's own records (scripts/records-extras.js), whose content is known:
/// each rule, value and helper as written.
#[test]
fn records_capture_known_records_of_the_extras_script() {
    let (last, _) = last_writes("pds-records");
    let values: Vec<&RecordValue> = last.values().map(|w| &w.record.value).collect();
    let gate = values
        .iter()
        .find_map(|v| match v {
            RecordValue::ThreadGate(t) if !t.hidden_replies.is_empty() => Some(t),
            _ => None,
        })
        .expect("the gate with hidden replies");
    assert_eq!(gate.rules().len(), 4);
    assert_eq!(gate.lists().count(), 1);
    assert!(!gate.allows_anyone());
    assert!(gate.hides(&gate.hidden_replies[0]));
    // The gate first created with `allow: []` was updated without `allow`: anyone may reply.
    assert!(values
        .iter()
        .any(|v| matches!(v, RecordValue::ThreadGate(t) if t.allows_anyone())));
    let pg = values
        .iter()
        .find_map(|v| match v {
            RecordValue::PostGate(p) if !p.detached_embedding_uris.is_empty() => Some(p),
            _ => None,
        })
        .expect("the postgate with a detached quote");
    assert!(pg.disables_embedding());
    assert!(pg.detaches(&pg.detached_embedding_uris[0]));
    let lab = values
        .iter()
        .find_map(|v| match v {
            RecordValue::LabelerService(l) => Some(l),
            _ => None,
        })
        .expect("the labeler service");
    assert_eq!(lab.policies.label_values, ["!hide", "spam-link", "porn"]);
    assert_eq!(
        lab.policies.label_value_definitions[0].locales[1].lang,
        "pt-BR"
    );
    let lists: Vec<_> = values
        .iter()
        .filter_map(|v| match v {
            RecordValue::List(l) => Some(l),
            _ => None,
        })
        .collect();
    assert!(lists.iter().any(|l| l.is_modlist()));
    assert!(lists
        .iter()
        .any(|l| l.purpose == records::list::REFERENCELIST));
    let feed = values
        .iter()
        .find_map(|v| match v {
            RecordValue::FeedGenerator(g) if g.accepts_interactions.is_some() => Some(g),
            _ => None,
        })
        .expect("the full feed generator");
    assert_eq!(
        feed.content_mode.as_deref(),
        Some(records::generator::CONTENT_MODE_VIDEO)
    );
    assert_eq!(feed.labels, ["nudity"]);
    assert!(matches!(
        feed.description_facets[0].features[0],
        FacetFeature::Mention { .. }
    ));
    let live = values
        .iter()
        .find_map(|v| match v {
            RecordValue::ActorStatus(s) if s.embed.is_some() => Some(s),
            _ => None,
        })
        .expect("the status with an embed");
    assert_eq!(live.status, records::status::LIVE);
    assert_eq!(live.duration_minutes, Some(30));
    let chats: Vec<_> = values
        .iter()
        .filter_map(|v| match v {
            RecordValue::ChatDeclaration(c) => Some(c),
            _ => None,
        })
        .collect();
    // b's declaration was updated from "none" to "all".
    assert!(chats.iter().any(|c| c.allow_incoming == "all"));
    assert!(chats
        .iter()
        .any(|c| c.allow_group_invites.as_deref() == Some("all")));
}

/// Every real record of the new kinds, each byte flipped and each prefix, decoded as every typed
/// collection: nothing panics, and whatever still decodes renders as lex-JSON. (The fuzz target
/// `decode_parts` does this at random; this sweep is exhaustive over the real records.)
#[test]
fn records_capture_damaged_records_never_panic() {
    let (last, _) = last_writes("pds-records");
    let mut blocks: Vec<&[u8]> = last
        .values()
        .filter(|w| NEW.iter().any(|c| w.uri.contains(&format!("/{c}/"))))
        .map(|w| w.record.bytes.as_slice())
        .collect();
    blocks.sort();
    blocks.dedup();
    assert!(!blocks.is_empty());
    let mut decoded = 0usize;
    let mut tries = 0usize;
    let mut try_all = |bytes: &[u8]| {
        for c in records::TYPED_COLLECTIONS {
            tries += 1;
            if let Ok(r) = Record::decode(c, bytes) {
                assert!(!r.lex_json().is_null(), "{c}");
                decoded += 1;
            }
        }
    };
    for block in &blocks {
        for i in 0..block.len() {
            let mut flipped = block.to_vec();
            flipped[i] ^= 0x5a;
            try_all(&flipped);
            try_all(&block[..i]);
        }
    }
    eprintln!("{tries} damaged decodes, {decoded} still valid records");
}
