//! What the database holds for exactly the keys a segment touches (see [`super::Needs`]).

use std::collections::HashMap;

use super::needs::Pair;
use super::rows::UserState;

/// What the planner needs to know about a post already in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostInfo {
    pub cid: String,
    pub author: String,
    pub parent_uri: Option<String>,
    pub quote_uri: Option<String>,
}

/// A like, repost or follow already in the database: its actor and subject.
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
    /// How many rows each pair has now (pairs with none are absent).
    pub like_pairs: HashMap<Pair, i64>,
    pub repost_pairs: HashMap<Pair, i64>,
    pub follow_pairs: HashMap<Pair, i64>,
}
