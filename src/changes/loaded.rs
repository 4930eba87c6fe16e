//! What the database holds for exactly the keys a segment touches (see [`super::Needs`]).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::kinds::Kind;
use super::needs::Pair;
use super::rows::{NotificationRow, UserState};

/// What the planner needs to know about a post already in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostInfo {
    pub cid: String,
    pub author: String,
    pub parent_uri: Option<String>,
    pub quote_uri: Option<String>,
    /// The thread's gate did not allow it (it counts as no reply).
    pub violates_thread_gate: bool,
}

/// A like, repost, follow or list item already in the database: its actor and subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeInfo {
    pub cid: String,
    pub actor: String,
    pub subject: String,
}

#[derive(Debug, Default)]
pub struct Loaded {
    pub users: HashMap<String, UserState>,
    pub posts: HashMap<String, PostInfo>,
    pub likes: HashMap<String, EdgeInfo>,
    pub reposts: HashMap<String, EdgeInfo>,
    pub follows: HashMap<String, EdgeInfo>,
    /// URI → CID.
    pub blocks: HashMap<String, String>,
    pub generic: HashMap<String, String>,
    /// URI → CID, per table of the later kinds.
    pub kinds: BTreeMap<Kind, HashMap<String, String>>,
    /// Verifications: URI → the account verified (an `unverified` notification tells it when
    /// the verification is deleted).
    pub verification_subjects: HashMap<String, String>,
    /// List items: the list is the actor, the member the subject.
    pub list_items: HashMap<String, EdgeInfo>,
    /// How many rows each pair has now (pairs with none are absent).
    pub like_pairs: HashMap<Pair, i64>,
    pub repost_pairs: HashMap<Pair, i64>,
    pub follow_pairs: HashMap<Pair, i64>,
    pub list_item_pairs: HashMap<Pair, i64>,
    /// Posts up the threads of the replies being written (from [`super::Needs::reply_parents`],
    /// a few levels up): URI → author and parent.
    pub chain: HashMap<String, PostLink>,
    /// Replies already held below the posts being written (a few levels down).
    pub descendants: Vec<Descendant>,
    /// The notifications those replies hold now.
    pub descendant_notifications: Vec<NotificationRow>,
    /// Threadgates held, by URI (of [`super::Needs::thread_gates`]).
    pub thread_gates: HashMap<String, HeldThreadGate>,
    /// What the database says of each (gate URI, replier) checked.
    pub gate_facts: HashMap<(String, String), GateFacts>,
    /// Postgates held that disable embedding (of [`super::Needs::post_gates`]).
    pub disabling_post_gates: HashSet<String>,
    /// The replies to judge again (of [`super::Needs::rejudge`]), by the gate's URI; their
    /// notifications are in `descendant_notifications`, their threads in `chain`.
    pub rejudge: Vec<(String, Descendant)>,
}

/// A threadgate as held: its rules as the record states them (lex-JSON; `None`: anyone may
/// reply) and the replies it hides.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldThreadGate {
    pub allow: Option<serde_json::Value>,
    pub hidden_replies: Vec<String>,
    /// When it was written (the relay's time): it judges the replies made from then on.
    pub indexed_at: DateTime<Utc>,
}

/// What a gate's rules may ask of a replier, as the database holds it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GateFacts {
    /// The replier follows the root's author (`#followerRule`).
    pub follows_owner: bool,
    /// The root's author follows the replier (`#followingRule`).
    pub followed_by_owner: bool,
    /// The gate's lists the replier is on (`#listRule`).
    pub listed_on: Vec<String>,
    /// The root post mentions the replier (`#mentionRule`).
    pub mentioned: bool,
}

/// A post's place in its thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostLink {
    pub author: String,
    pub parent_uri: Option<String>,
}

/// A reply held in the database, below a post being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descendant {
    pub uri: String,
    pub cid: String,
    pub author: String,
    pub parent_uri: String,
    pub sort_at: DateTime<Utc>,
    /// Its thread's gate did not allow it: it notifies no one up the thread.
    pub violates_thread_gate: bool,
}
