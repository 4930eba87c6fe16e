//! Each writer's memory of its own accounts' rows (rev, status, handle, root), so a group does
//! not read back what the same writer wrote a moment ago. Safe only because the writer is the
//! one writing those rows: the repos are routed to it, and the process holds the database's
//! owner lock (`db::owner`), so no second instance writes them. What else writes a `users` row
//! (a cutover, a listing page's handles and hosting news, all routed to the owning writer)
//! forgets it here.
//!
//! Bounded: two generations, the newer filled until it holds half the capacity, when the older
//! is dropped and the newer takes its place; a hit in the older moves to the newer. An account
//! active in either of the last two generations stays, like an LRU at a fraction of its cost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::numbered::Numbered;
use crate::changes::rows::UserState;

/// Moves when rows of any writer's accounts were written elsewhere: every cache of the process
/// forgets all at its next transaction. Process-wide, as the owner lock is.
static FORGET: AtomicU64 = AtomicU64::new(0);

/// Every writer of this process reads its accounts again (the owner lock was lost and taken
/// back: anything may have written them meanwhile).
pub fn forget_everywhere() {
    FORGET.fetch_add(1, Ordering::AcqRel);
}

/// An account's row as kept: its text in boxes sized to fit (no spare capacity) and the DID
/// only as the map's key, about a third less memory than a [`UserState`] beside its key.
#[derive(Debug)]
struct Kept {
    handle: Option<Box<str>>,
    status: Option<Box<str>>,
    rev: Option<Box<str>>,
    data_cid: Option<Box<str>>,
    created_at: chrono::DateTime<chrono::Utc>,
    indexed_at: chrono::DateTime<chrono::Utc>,
    active: bool,
}

impl Kept {
    fn from_state(u: UserState) -> (Box<str>, Kept) {
        let kept = Kept {
            handle: u.handle.map(String::into_boxed_str),
            status: u.status.map(String::into_boxed_str),
            rev: u.rev.map(String::into_boxed_str),
            data_cid: u.data_cid.map(String::into_boxed_str),
            created_at: u.created_at,
            indexed_at: u.indexed_at,
            active: u.active,
        };
        (u.did.into_boxed_str(), kept)
    }

    fn to_state(&self, did: &str) -> UserState {
        UserState {
            did: did.to_owned(),
            handle: self.handle.as_deref().map(str::to_owned),
            active: self.active,
            status: self.status.as_deref().map(str::to_owned),
            rev: self.rev.as_deref().map(str::to_owned),
            created_at: self.created_at,
            indexed_at: self.indexed_at,
            data_cid: self.data_cid.as_deref().map(str::to_owned),
        }
    }
}

#[derive(Debug)]
pub struct UserCache {
    capacity: usize,
    hot: HashMap<Box<str>, Kept>,
    cold: HashMap<Box<str>, Kept>,
    /// Rows written or read by the transaction under way, the latest of each account: what a
    /// later segment of the same transaction reads, and known to all only once it commits.
    staged: HashMap<String, UserState>,
    /// The signal watched (the process's; a test's own in tests), and where it stood.
    signal: &'static AtomicU64,
    epoch: u64,
    pub hits: u64,
    pub misses: u64,
    /// The accounts known to have a number (kept beside the rows, with the same capacity).
    pub numbered: Numbered,
}

impl UserCache {
    /// `capacity` 0 keeps nothing (every group reads its accounts, as without a cache).
    pub fn new(capacity: usize) -> UserCache {
        UserCache::watching(capacity, &FORGET)
    }

    fn watching(capacity: usize, signal: &'static AtomicU64) -> UserCache {
        UserCache {
            signal,
            capacity,
            hot: HashMap::new(),
            cold: HashMap::new(),
            staged: HashMap::new(),
            epoch: signal.load(Ordering::Acquire),
            hits: 0,
            misses: 0,
            numbered: Numbered::new(capacity),
        }
    }

    /// A cache that keeps nothing: every group reads its accounts from the database.
    pub fn none() -> UserCache {
        UserCache::new(0)
    }

    /// A transaction begins: nothing staged, and everything forgotten if another writer said so.
    pub fn begin(&mut self) {
        self.staged.clear();
        let now = self.signal.load(Ordering::Acquire);
        if now != self.epoch {
            self.epoch = now;
            self.hot.clear();
            self.cold.clear();
        }
    }

    /// Takes out of `dids` those known here, and returns their rows.
    pub fn take_known(&mut self, dids: &mut Vec<String>) -> Vec<UserState> {
        if self.capacity == 0 {
            return Vec::new();
        }
        let mut known = Vec::new();
        dids.retain(|did| match self.get(did) {
            Some(u) => {
                known.push(u);
                false
            }
            None => true,
        });
        self.hits += known.len() as u64;
        self.misses += dids.len() as u64;
        known
    }

    fn get(&mut self, did: &str) -> Option<UserState> {
        if let Some(u) = self.staged.get(did) {
            return Some(u.clone());
        }
        if let Some(k) = self.hot.get(did) {
            return Some(k.to_state(did));
        }
        let (key, kept) = self.cold.remove_entry(did)?;
        let u = kept.to_state(did);
        self.insert(key, kept);
        Some(u)
    }

    /// A row as the transaction under way leaves it (read and unchanged, or written).
    pub fn stage(&mut self, users: impl IntoIterator<Item = UserState>) {
        if self.capacity > 0 {
            self.staged
                .extend(users.into_iter().map(|u| (u.did.clone(), u)));
        }
    }

    /// The transaction committed: what it staged is now what the database holds.
    pub fn commit(&mut self) {
        let staged = std::mem::take(&mut self.staged);
        for (_, u) in staged {
            self.cold.remove(u.did.as_str());
            let (key, kept) = Kept::from_state(u);
            self.insert(key, kept);
        }
    }

    /// The transaction did not commit (or ran without the cache): its rows are not known.
    pub fn abort(&mut self) {
        self.staged.clear();
    }

    /// A row written by something other than this cache's writer's groups.
    pub fn forget(&mut self, did: &str) {
        self.hot.remove(did);
        self.cold.remove(did);
    }

    pub fn len(&self) -> usize {
        self.hot.len() + self.cold.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn insert(&mut self, did: Box<str>, kept: Kept) {
        if self.hot.len() >= self.capacity.div_ceil(2) && !self.hot.contains_key(&did) {
            self.cold = std::mem::take(&mut self.hot);
        }
        self.hot.insert(did, kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(did: &str, rev: &str) -> UserState {
        UserState {
            did: did.to_owned(),
            handle: None,
            active: true,
            status: None,
            rev: Some(rev.to_owned()),
            created_at: chrono::DateTime::UNIX_EPOCH,
            indexed_at: chrono::DateTime::UNIX_EPOCH,
            data_cid: None,
        }
    }

    fn known(c: &mut UserCache, did: &str) -> Option<String> {
        let mut dids = vec![did.to_owned()];
        c.take_known(&mut dids).pop().and_then(|u| u.rev)
    }

    #[test]
    fn only_committed_rows_are_known() {
        let mut c = UserCache::new(10);
        c.begin();
        c.stage([user("did:a", "1")]);
        c.abort();
        assert_eq!(known(&mut c, "did:a"), None);
        c.begin();
        c.stage([user("did:a", "2")]);
        c.commit();
        assert_eq!(known(&mut c, "did:a").as_deref(), Some("2"));
        c.forget("did:a");
        assert_eq!(known(&mut c, "did:a"), None);
    }

    #[test]
    fn every_column_comes_back_as_it_was_kept() {
        let mut c = UserCache::new(10);
        let full = UserState {
            did: "did:plc:abc".to_owned(),
            handle: Some("alice.test".to_owned()),
            active: false,
            status: Some("takendown".to_owned()),
            rev: Some("3l2uygzaf5q2b".to_owned()),
            created_at: chrono::DateTime::from_timestamp(1_700_000_000, 123_456_000).expect("time"),
            indexed_at: chrono::DateTime::from_timestamp(1_700_000_001, 0).expect("time"),
            data_cid: Some(
                "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm".to_owned(),
            ),
        };
        c.begin();
        c.stage([full.clone(), user("did:b", "1")]);
        c.commit();
        let mut dids = vec!["did:plc:abc".to_owned()];
        assert_eq!(c.take_known(&mut dids), vec![full]);
        assert!(dids.is_empty());
    }

    #[test]
    fn a_later_segment_reads_what_an_earlier_one_staged() {
        let mut c = UserCache::new(10);
        c.begin();
        c.stage([user("did:a", "1")]);
        c.commit();
        c.begin();
        c.stage([user("did:a", "2")]);
        assert_eq!(known(&mut c, "did:a").as_deref(), Some("2"));
        c.abort();
        assert_eq!(known(&mut c, "did:a").as_deref(), Some("1"));
    }

    #[test]
    fn a_signal_forgets_everything_at_the_next_transaction() {
        static SIGNAL: AtomicU64 = AtomicU64::new(0);
        let mut c = UserCache::watching(10, &SIGNAL);
        c.begin();
        c.stage([user("did:a", "1")]);
        c.commit();
        SIGNAL.fetch_add(1, Ordering::AcqRel);
        assert_eq!(known(&mut c, "did:a").as_deref(), Some("1"));
        c.begin();
        assert_eq!(known(&mut c, "did:a"), None);
    }

    #[test]
    fn bounded_and_the_recently_used_stay() {
        let mut c = UserCache::new(4);
        c.begin();
        c.stage((0..3).map(|i| user(&format!("did:{i}"), "1")));
        c.commit();
        assert!(c.len() <= 4);
        // did:0 is used again: it moves to the newer generation.
        assert!(known(&mut c, "did:0").is_some());
        c.begin();
        c.stage((3..6).map(|i| user(&format!("did:{i}"), "1")));
        c.commit();
        assert!(c.len() <= 4, "{}", c.len());
        assert!(known(&mut c, "did:5").is_some());
        let mut none = UserCache::new(0);
        none.begin();
        none.stage([user("did:a", "1")]);
        none.commit();
        assert!(none.is_empty());
    }
}
