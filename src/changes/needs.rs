//! What a group of events needs from the database before it can be planned: the keys it
//! touches, by table.

use std::collections::BTreeMap;

use super::kinds::Kind;

/// An (actor, subject) pair, for the once-per-account counting of likes, reposts and follows
/// (and the once-per-member counting of list items, with the list as the "actor").
pub type Pair = (String, String);

pub fn pair_key(actor: &str, subject: &str) -> Pair {
    (actor.to_owned(), subject.to_owned())
}

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
    /// URIs per table of the later kinds.
    pub kinds: BTreeMap<Kind, Vec<String>>,
    pub list_items: Vec<String>,
    /// Pairs named by the records being created; pairs of rows being deleted are added by the
    /// loader from the rows it finds.
    pub like_pairs: Vec<Pair>,
    pub repost_pairs: Vec<Pair>,
    pub follow_pairs: Vec<Pair>,
    /// (list, member) pairs: a list counts each member once.
    pub list_item_pairs: Vec<Pair>,
    /// Parents of the replies being written: their chains up the thread are loaded, for reply
    /// notifications.
    pub reply_parents: Vec<String>,
    /// Posts being written or deleted: the replies held below them are loaded, so their reply
    /// notifications follow the thread as it now stands.
    pub changed_posts: Vec<String>,
    /// Replies being written in another account's thread: the root's threadgate, and what its
    /// rules ask of the replier.
    pub thread_gates: Vec<GateCheck>,
    /// The postgates of the posts being quoted.
    pub post_gates: Vec<String>,
    /// Threadgates being written: the replies held in their threads made since, to judge
    /// again (a reply whose writer committed first was judged without the gate).
    pub rejudge: Vec<Rejudge>,
}

/// A threadgate written, whose thread's replies are judged again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rejudge {
    pub gate_uri: String,
    pub root_uri: String,
    pub owner: String,
    /// The relay's time of the gate's commit.
    pub since: chrono::DateTime<chrono::Utc>,
    /// The lists of the gate written.
    pub lists: Vec<String>,
}

/// A reply to check against its thread's gate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GateCheck {
    pub gate_uri: String,
    pub root_uri: String,
    /// The root's author, whose gate it is.
    pub owner: String,
    pub replier: String,
    /// The segment writes this gate: what its rules ask is loaded even if none is held yet.
    pub written: bool,
    /// The lists of the gate the segment writes.
    pub lists: Vec<String>,
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
