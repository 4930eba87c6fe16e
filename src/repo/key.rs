//! MST keys: their height (the layer they live on), the prefix they share with a neighbour,
//! and which byte strings are keys at all.
//!
//! A repository's keys are record paths (`collection/rkey`); the interop MST vectors use
//! arbitrary keys such as `A0/374913`, so the rule is chosen per tree ([`KeyRule`]).

use sha2::{Digest, Sha256};

use crate::syntax;

/// Longest MST key we accept. Record paths are at most 317 + 1 + 512 bytes; the spec sets no
/// MST limit of its own, and 1024 is what the reference implementations use.
pub const MAX_KEY_LEN: usize = 1024;

/// Which keys a tree accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyRule {
    /// `collection/rkey`: a valid NSID, `/`, a valid record key (repositories).
    #[default]
    RepoPath,
    /// Any non-empty byte string up to [`MAX_KEY_LEN`] (the generic MST vectors).
    AnyBytes,
}

impl KeyRule {
    /// Why `key` is not a key under this rule, if it is not.
    pub fn check(self, key: &[u8]) -> Result<(), String> {
        if key.is_empty() {
            return Err("empty key".into());
        }
        if key.len() > MAX_KEY_LEN {
            return Err(format!("key of {} bytes is over {MAX_KEY_LEN}", key.len()));
        }
        match self {
            KeyRule::AnyBytes => Ok(()),
            KeyRule::RepoPath => check_repo_path(key),
        }
    }
}

impl KeyRule {
    /// [`KeyRule::check`] for a key that shares its first `shared` bytes with `prev`, a key
    /// already checked: when those bytes hold `prev`'s whole collection and its `/`, only the
    /// record key is left to check (keys of one node nearly always share their collection).
    pub fn check_after(self, key: &[u8], prev: &[u8], shared: usize) -> Result<(), String> {
        if self == KeyRule::RepoPath && key.len() <= MAX_KEY_LEN {
            if let Some(slash) = prev.iter().position(|&b| b == b'/') {
                if slash < shared {
                    let rkey = std::str::from_utf8(&key[slash + 1..])
                        .map_err(|_| "key is not UTF-8".to_string())?;
                    return syntax::record_key(rkey).map_err(|e| e.to_string());
                }
            }
        }
        self.check(key)
    }
}

fn check_repo_path(key: &[u8]) -> Result<(), String> {
    let path = std::str::from_utf8(key).map_err(|_| "key is not UTF-8".to_string())?;
    let (collection, rkey) = path
        .split_once('/')
        .ok_or_else(|| "key is not collection/rkey".to_string())?;
    syntax::nsid(collection).map_err(|e| e.to_string())?;
    syntax::record_key(rkey).map_err(|e| e.to_string())?;
    Ok(())
}

/// The key's height: leading zero bits of SHA-256(key), counted in pairs (fanout 4).
pub fn height(key: &[u8]) -> u8 {
    let digest = Sha256::digest(key);
    let mut zeros = 0u32;
    for &b in digest.iter() {
        zeros += b.leading_zeros();
        if b != 0 {
            break;
        }
    }
    (zeros / 2) as u8
}

/// How many leading bytes `a` and `b` share.
pub fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_from_the_spec() {
        assert_eq!(height(b"2653ae71"), 0);
        assert_eq!(height(b"blue"), 1);
        assert_eq!(height(b"app.bsky.feed.post/454397e440ec"), 4);
        assert_eq!(height(b"app.bsky.feed.post/9adeb165882c"), 8);
    }

    #[test]
    fn rules() {
        assert!(KeyRule::RepoPath.check(b"app.bsky.feed.post/3k2a").is_ok());
        assert!(KeyRule::RepoPath.check(b"A0/374913").is_err());
        assert!(KeyRule::AnyBytes.check(b"A0/374913").is_ok());
        assert!(KeyRule::AnyBytes.check(b"").is_err());
        assert!(KeyRule::AnyBytes.check(&[b'a'; 1025]).is_err());
        assert!(KeyRule::RepoPath.check(b"app.bsky.feed.post/a/b").is_err());
        assert!(KeyRule::RepoPath.check(b"app.bsky.feed.post/..").is_err());
    }
}
