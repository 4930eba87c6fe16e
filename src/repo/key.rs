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
///
/// Every key of every node read is hashed, so this is on the verification path many times a
/// commit. Keys under 56 bytes (all real record paths) fit one padded block, hashed with the
/// bare compression function instead of the buffered hasher.
pub fn height(key: &[u8]) -> u8 {
    let mut zeros = 0u32;
    for w in digest_words(key) {
        zeros += w.leading_zeros();
        if w != 0 {
            break;
        }
    }
    (zeros / 2) as u8
}

/// SHA-256 of `key` as eight big-endian words.
fn digest_words(key: &[u8]) -> [u32; 8] {
    let mut state = SHA256_INIT;
    if key.len() >= 56 {
        let digest = Sha256::digest(key);
        for (w, b) in state.iter_mut().zip(digest.chunks_exact(4)) {
            *w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        }
        return state;
    }
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    block[key.len()] = 0x80;
    block[56..].copy_from_slice(&(key.len() as u64 * 8).to_be_bytes());
    sha2::compress256(
        &mut state,
        std::slice::from_ref(sha2::digest::generic_array::GenericArray::from_slice(
            &block,
        )),
    );
    state
}

const SHA256_INIT: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

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
    fn one_block_and_buffered_hashing_agree() {
        for len in 0..130 {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let digest = Sha256::digest(&key);
            let words: Vec<u8> = digest_words(&key)
                .iter()
                .flat_map(|w| w.to_be_bytes())
                .collect();
            assert_eq!(words, digest.as_slice(), "length {len}");
        }
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
