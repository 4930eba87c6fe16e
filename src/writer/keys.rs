//! The keys a segment of events touches: which table each record lives in, its AT-URI, and
//! the URIs and (actor, subject) pairs to load before planning.

use crate::decode::{OpAction, TypedEvent};
use crate::records::{self, RecordValue};

use super::plan::Pair;

/// The keys a segment touches, to load before planning.
#[derive(Debug, Default)]
pub struct Needs {
    pub dids: Vec<String>,
    pub posts: Vec<String>,
    pub likes: Vec<String>,
    pub reposts: Vec<String>,
    pub follows: Vec<String>,
    pub blocks: Vec<String>,
    pub generic: Vec<String>,
    /// Pairs named by the records being created; pairs of rows being deleted are added by the
    /// loader from the rows it finds.
    pub like_pairs: Vec<Pair>,
    pub repost_pairs: Vec<Pair>,
    pub follow_pairs: Vec<Pair>,
}

/// Where a record of this collection and key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Posts,
    Likes,
    Reposts,
    Follows,
    Blocks,
    Profile,
    Generic,
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
        _ => Table::Generic,
    }
}

pub fn at_uri(did: &str, collection: &str, rkey: &str) -> String {
    format!("at://{did}/{collection}/{rkey}")
}

/// How much of the table to look at before planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Skip looking up the URIs of `create` ops: a commit newer than the repo's last applied
    /// rev creates records the repo did not have, so their rows cannot exist. Saves a probe per
    /// create (most ops). If a malformed stream breaks the assumption, the insert fails on the
    /// primary key and the group is planned again `Careful`ly.
    TrustCreates,
    /// Look up every URI: a create of a record we hold replaces it.
    Careful,
}

pub fn needs(events: &[&TypedEvent], lookup: Lookup) -> Needs {
    let mut n = Needs::default();
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
                _ => {}
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
    ] {
        v.sort();
        v.dedup();
    }
    for v in [&mut n.like_pairs, &mut n.repost_pairs, &mut n.follow_pairs] {
        v.sort();
        v.dedup();
    }
    n
}
