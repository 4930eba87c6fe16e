//! The keys a segment of events touches: which table each record lives in, its AT-URI, and
//! the URIs and (actor, subject) pairs to load before planning.

use std::collections::HashMap;

use super::notify::did_of;
use super::Indexing;
use crate::changes::{GateCheck, Kind, Lookup, Needs, Rejudge};
use crate::db::likes;
use crate::decode::{OpAction, TypedEvent};
use crate::records::{self, Post, PostGate, RecordValue, ThreadGate, THREADGATE};

/// Where a record of this collection and key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Posts,
    Likes,
    Reposts,
    Follows,
    Blocks,
    Profile,
    ListItems,
    /// One of the later kinds' tables.
    Kind(Kind),
    Generic,
}

impl Table {
    /// The table's name; the profile is a column of `users`, not a table of its own.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Table::Posts => "posts",
            Table::Likes => "likes",
            Table::Reposts => "reposts",
            Table::Follows => "follows",
            Table::Blocks => "blocks",
            Table::Profile => return None,
            Table::ListItems => "list_items",
            Table::Kind(kind) => kind.table(),
            Table::Generic => "generic_records",
        })
    }
}

pub fn table_of(collection: &str, rkey: &str) -> Table {
    match collection {
        records::POST => Table::Posts,
        records::LIKE => Table::Likes,
        records::REPOST => Table::Reposts,
        records::FOLLOW => Table::Follows,
        records::BLOCK => Table::Blocks,
        // The lexicon's key is the literal `self`; any other key is just some record.
        records::PROFILE if rkey == "self" => Table::Profile,
        // Items and gates are typed only when they belong where they say (see `owned`).
        records::LIST_ITEM => Table::ListItems,
        records::LIST => Table::Kind(Kind::Lists),
        records::LIST_BLOCK => Table::Kind(Kind::ListBlocks),
        records::STARTER_PACK => Table::Kind(Kind::StarterPacks),
        records::FEED_GENERATOR => Table::Kind(Kind::FeedGenerators),
        records::VERIFICATION => Table::Kind(Kind::Verifications),
        records::THREADGATE => Table::Kind(Kind::Threadgates),
        records::POSTGATE => Table::Kind(Kind::Postgates),
        records::LABELER_SERVICE if rkey == "self" => Table::Kind(Kind::LabelerServices),
        records::ACTOR_STATUS if rkey == "self" => Table::Kind(Kind::ActorStatuses),
        records::NOTIFICATION_DECLARATION if rkey == "self" => {
            Table::Kind(Kind::NotificationDeclarations)
        }
        records::CHAT_DECLARATION if rkey == "self" => Table::Kind(Kind::ChatDeclarations),
        _ => Table::Generic,
    }
}

/// Whether a record whose table is `table` is typed there: a list item only in its list's repo,
/// a gate only with its post's repo and record key (as the reference indexes them). Any other
/// such record is kept whole in `generic_records`, where nothing reads it as a rule.
pub fn owned(table: Table, uri: &str, value: &RecordValue) -> bool {
    match (table, value) {
        (Table::ListItems, RecordValue::ListItem(item)) => item.in_list_owner_repo(uri),
        (Table::Kind(Kind::Threadgates), RecordValue::ThreadGate(gate)) => gate.gates(uri),
        (Table::Kind(Kind::Postgates), RecordValue::PostGate(gate)) => gate.gates(uri),
        _ => true,
    }
}

pub fn at_uri(did: &str, collection: &str, rkey: &str) -> String {
    format!("at://{did}/{collection}/{rkey}")
}

/// The accounts the events' new likes name (their repos and their posts' authors), which need
/// a number in `actors` before the likes are written (see `db::likes`).
pub fn like_actors<'a>(events: &[&'a TypedEvent]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for event in events {
        let TypedEvent::Commit(commit) = event else {
            continue;
        };
        for op in &commit.ops {
            if let Some(RecordValue::Like(like)) = op.record.as_ref().map(|r| &r.value) {
                out.push(commit.repo.as_str());
                if let Some((did, _)) = likes::compact_post(&like.subject.uri) {
                    out.push(did);
                }
            }
        }
    }
    out
}

pub fn needs(events: &[&TypedEvent], lookup: Lookup, indexing: Indexing) -> Needs {
    let mut n = Needs::default();
    let written_gates = written_thread_gates(events);
    for event in events {
        let Some(did) = event.did() else { continue };
        n.dids.push(did.to_owned());
        let TypedEvent::Commit(commit) = event else {
            continue;
        };
        for op in &commit.ops {
            let subject = op.record.as_ref().map(|r| &r.value);
            let table = table_of(&op.collection, &op.rkey);
            // The pairs of new records are always needed (the once-per-account count).
            match (table, subject) {
                (Table::Likes, Some(RecordValue::Like(l))) => n
                    .like_pairs
                    .push((commit.repo.clone(), l.subject.uri.clone())),
                (Table::Reposts, Some(RecordValue::Repost(r))) => n
                    .repost_pairs
                    .push((commit.repo.clone(), r.subject.uri.clone())),
                (Table::Follows, Some(RecordValue::Follow(f))) => n
                    .follow_pairs
                    .push((commit.repo.clone(), f.subject.clone())),
                (Table::ListItems, Some(RecordValue::ListItem(item))) => {
                    n.list_item_pairs
                        .push((item.list.clone(), item.subject.clone()));
                }
                (Table::Posts, Some(RecordValue::Post(p))) => {
                    gate_needs(&mut n, &commit.repo, p, &written_gates);
                }
                _ => {}
            }
            match (table, subject) {
                // A post's thread: up from it, for its reply notifications; down from it, for
                // the replies that arrived first.
                (Table::Posts, Some(RecordValue::Post(p))) if indexing.notifications => {
                    if let Some(reply) = &p.reply {
                        n.reply_parents.push(reply.parent.uri.clone());
                    }
                    n.changed_posts
                        .push(at_uri(&commit.repo, &op.collection, &op.rkey));
                }
                _ => {}
            }
            if indexing.notifications && table == Table::Posts && op.action == OpAction::Delete {
                n.changed_posts
                    .push(at_uri(&commit.repo, &op.collection, &op.rkey));
            }
            if lookup == Lookup::TrustCreates && op.action == OpAction::Create {
                continue;
            }
            let uri = at_uri(&commit.repo, &op.collection, &op.rkey);
            match table {
                Table::Posts => n.posts.push(uri),
                Table::Likes => n.likes.push(uri),
                Table::Reposts => n.reposts.push(uri),
                Table::Follows => n.follows.push(uri),
                Table::Blocks => n.blocks.push(uri),
                Table::Generic => n.generic.push(uri),
                Table::Profile => {}
                // A record of these may also be in `generic_records` (one that does not belong
                // where it says, or kept there before its kind was typed).
                Table::ListItems => {
                    n.list_items.push(uri.clone());
                    n.generic.push(uri);
                }
                Table::Kind(kind) => {
                    n.kinds.entry(kind).or_default().push(uri.clone());
                    n.generic.push(uri);
                }
            }
        }
    }
    for v in [
        &mut n.dids,
        &mut n.posts,
        &mut n.likes,
        &mut n.reposts,
        &mut n.follows,
        &mut n.blocks,
        &mut n.generic,
        &mut n.list_items,
        &mut n.reply_parents,
        &mut n.changed_posts,
    ] {
        v.sort();
        v.dedup();
    }
    for v in n.kinds.values_mut() {
        v.sort();
        v.dedup();
    }
    for v in [
        &mut n.like_pairs,
        &mut n.repost_pairs,
        &mut n.follow_pairs,
        &mut n.list_item_pairs,
    ] {
        v.sort();
        v.dedup();
    }
    n.rejudge = rejudges(events, indexing.snapshot);
    n.thread_gates.sort();
    n.thread_gates.dedup();
    n.post_gates.sort();
    n.post_gates.dedup();
    n
}

/// The threadgates the segment writes (and gates: the reference drops one not under its post's
/// key), with their time and lists.
fn rejudges(events: &[&TypedEvent], snapshot: bool) -> Vec<Rejudge> {
    let mut out = Vec::new();
    for event in events {
        let TypedEvent::Commit(commit) = event else {
            continue;
        };
        for op in commit.ops.iter().filter(|o| o.collection == THREADGATE) {
            let Some(RecordValue::ThreadGate(g)) = op.record.as_ref().map(|r| &r.value) else {
                continue;
            };
            let gate_uri = at_uri(&commit.repo, &op.collection, &op.rkey);
            if !g.gates(&gate_uri) {
                continue;
            }
            out.push(Rejudge {
                root_uri: g.post.clone(),
                owner: commit.repo.clone(),
                // A snapshot's gate judges every reply its thread holds.
                since: match snapshot {
                    true => chrono::DateTime::UNIX_EPOCH,
                    false => crate::syntax::parse_datetime(&commit.time)
                        .unwrap_or(chrono::DateTime::UNIX_EPOCH),
                },
                lists: g.lists().map(str::to_owned).collect(),
                gate_uri,
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The threadgates the segment writes or deletes, with the lists of those it writes.
fn written_thread_gates(events: &[&TypedEvent]) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    for event in events {
        let TypedEvent::Commit(commit) = event else {
            continue;
        };
        for op in commit.ops.iter().filter(|o| o.collection == THREADGATE) {
            let lists = match op.record.as_ref().map(|r| &r.value) {
                Some(RecordValue::ThreadGate(g)) => g.lists().map(str::to_owned).collect(),
                _ => Vec::new(),
            };
            let uri = at_uri(&commit.repo, &op.collection, &op.rkey);
            out.entry(uri).or_insert_with(Vec::new).extend(lists);
        }
    }
    out
}

/// A reply needs its thread's threadgate; a post quoting
/// another account's post, the quoted post's postgate.
fn gate_needs(n: &mut Needs, author: &str, post: &Post, written: &HashMap<String, Vec<String>>) {
    if let Some(reply) = &post.reply {
        // The owner's own replies too: the replies the gate hides stop their climb.
        let owner = did_of(&reply.root.uri);
        if let (Some(owner), Some(gate_uri)) = (owner, ThreadGate::uri_for_post(&reply.root.uri)) {
            let lists = written.get(&gate_uri);
            n.thread_gates.push(GateCheck {
                root_uri: reply.root.uri.clone(),
                owner: owner.to_owned(),
                replier: author.to_owned(),
                written: lists.is_some(),
                lists: lists.cloned().unwrap_or_default(),
                gate_uri,
            });
        }
    }
    if let Some(quoted) = post.quote() {
        if did_of(&quoted.uri).is_some_and(|d| d != author) {
            n.post_gates.extend(PostGate::uri_for_post(&quoted.uri));
        }
    }
}

/// The threads a group writes posts in: each written post's thread root (its reply's root, or
/// itself), and the posts it deletes (whose roots only the database knows). Writers that touch
/// one thread take turns (see `db::threads`), so reply notifications, which read across repos,
/// see each other's posts.
pub fn threads(events: &[&TypedEvent]) -> (Vec<String>, Vec<String>) {
    let mut roots = Vec::new();
    let mut deleted = Vec::new();
    for event in events {
        let TypedEvent::Commit(commit) = event else {
            continue;
        };
        for op in &commit.ops {
            if table_of(&op.collection, &op.rkey) != Table::Posts {
                continue;
            }
            let uri = at_uri(&commit.repo, &op.collection, &op.rkey);
            match op.record.as_ref().map(|r| &r.value) {
                Some(RecordValue::Post(p)) => {
                    roots.push(p.reply.as_ref().map_or(uri, |r| r.root.uri.clone()));
                }
                // A delete, or an update the post may have moved away from.
                _ => deleted.push(uri),
            }
            if op.action == OpAction::Update {
                deleted.push(at_uri(&commit.repo, &op.collection, &op.rkey));
            }
        }
    }
    roots.sort();
    roots.dedup();
    deleted.sort();
    deleted.dedup();
    (roots, deleted)
}

/// The threads whose gate a group reads, and those whose gate it writes: the roots of the
/// replies it writes, and the posts of the threadgates it writes or deletes. A reply and its
/// thread's gate, in different repos, are judged one after the other, never both blind to the
/// other.
pub fn gated_threads(events: &[&TypedEvent]) -> (Vec<String>, Vec<String>) {
    let (mut roots, mut gated) = (Vec::new(), Vec::new());
    for event in events {
        let TypedEvent::Commit(commit) = event else {
            continue;
        };
        for op in &commit.ops {
            match op.record.as_ref().map(|r| &r.value) {
                Some(RecordValue::Post(p)) => {
                    roots.extend(p.reply.as_ref().map(|r| r.root.uri.clone()));
                }
                _ if op.collection == THREADGATE => {
                    gated.push(at_uri(&commit.repo, records::POST, &op.rkey))
                }
                _ => {}
            }
        }
    }
    for v in [&mut roots, &mut gated] {
        v.sort();
        v.dedup();
    }
    (roots, gated)
}
