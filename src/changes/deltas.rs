//! Counter deltas: what a group does to like/repost/reply/quote, follower/follows/posts and
//! list member counts, summed per key and applied last, in key order.

use std::collections::BTreeMap;

/// Counter changes of one post or account, summed over a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostDelta {
    pub likes: i64,
    pub reposts: i64,
    pub replies: i64,
    pub quotes: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserDelta {
    pub followers: i64,
    pub follows: i64,
    pub posts: i64,
}

/// Counter deltas of a whole group, kept in key order: applied last in the transaction, in that
/// order, so writers that share counter rows always lock them in the same order and cannot
/// deadlock. An entry with all zeros still creates the counter row (every post and account we
/// index has one).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deltas {
    pub posts: BTreeMap<String, PostDelta>,
    pub users: BTreeMap<String, UserDelta>,
    /// Member-count changes per list URI.
    pub lists: BTreeMap<String, i64>,
}

impl Deltas {
    pub fn post(&mut self, uri: &str) -> &mut PostDelta {
        self.posts.entry(uri.to_owned()).or_default()
    }

    pub fn user(&mut self, did: &str) -> &mut UserDelta {
        self.users.entry(did.to_owned()).or_default()
    }

    pub fn list(&mut self, uri: &str) -> &mut i64 {
        self.lists.entry(uri.to_owned()).or_default()
    }

    /// Counter rows it would write.
    pub fn len(&self) -> usize {
        self.posts.len() + self.users.len() + self.lists.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
