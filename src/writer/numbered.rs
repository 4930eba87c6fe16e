//! Each writer's memory of the accounts known to have a number in `actors` (see `db::likes`),
//! so a group whose likes name only those takes no numbers before its transaction. Safe to
//! keep without any lock: a number is taken in a statement of its own that commits at once,
//! and never deleted or changed.
//!
//! Bounded like the account cache: two generations, the newer filled to half the capacity,
//! when the older is dropped; a hit in the older moves to the newer.

use std::collections::HashSet;

#[derive(Debug)]
pub struct Numbered {
    capacity: usize,
    hot: HashSet<Box<str>>,
    cold: HashSet<Box<str>>,
}

impl Numbered {
    /// `capacity` 0 keeps nothing: every group asks for its accounts' numbers.
    pub fn new(capacity: usize) -> Numbered {
        Numbered {
            capacity,
            hot: HashSet::new(),
            cold: HashSet::new(),
        }
    }

    /// Those of `dids` not known to have a number, each once.
    pub fn missing<'a>(&mut self, dids: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for did in dids {
            if self.hot.contains(did) {
                continue;
            }
            if let Some(kept) = self.cold.take(did) {
                self.insert(kept);
                continue;
            }
            out.push(did);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// `dids` have numbers now (committed).
    pub fn add(&mut self, dids: &[&str]) {
        for did in dids {
            self.insert(Box::from(*did));
        }
    }

    fn insert(&mut self, did: Box<str>) {
        if self.capacity == 0 {
            return;
        }
        if self.hot.len() >= self.capacity.div_ceil(2) {
            self.cold = std::mem::take(&mut self.hot);
        }
        self.hot.insert(did);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_accounts_are_not_asked_again_and_memory_is_bounded() {
        let mut n = Numbered::new(4);
        assert_eq!(n.missing(["did:b", "did:a", "did:b"]), ["did:a", "did:b"]);
        n.add(&["did:a", "did:b"]);
        assert!(n.missing(["did:a", "did:b"]).is_empty());
        n.add(&["did:c", "did:d", "did:e"]);
        assert!(n.hot.len() + n.cold.len() <= 4);
        assert_eq!(n.missing(["did:a"]), ["did:a"], "the oldest went");
        let mut none = Numbered::new(0);
        none.add(&["did:a"]);
        assert_eq!(none.missing(["did:a"]), ["did:a"]);
    }
}
