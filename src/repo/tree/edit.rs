//! The tree's surgery: reading nodes into place, and the insert, split, remove and merge that
//! Sync 1.1 inversion performs, each touching only the nodes on its key's path (and, for split
//! and merge, the facing spines). Every node read is checked against the place it is read for.

use cid::Cid;

use super::{Bound, Ctx, Entry, Link, Node};
use crate::repo::blocks::BlockSource;
use crate::repo::error::MstError;
use crate::repo::place::{below, load_node};

pub(super) fn nonempty(node: Box<Node>) -> Option<Link> {
    if node.is_empty() {
        None
    } else {
        Some(Link::Loaded(node))
    }
}

/// A new subtree at `layer` holding one key of height `h` (≤ `layer`), with empty nodes down
/// to it so that no link skips a layer.
pub(super) fn single(layer: u8, key: &[u8], h: u8, value: Cid) -> Box<Node> {
    let mut node = Box::new(Node {
        layer: h,
        left: None,
        entries: vec![Entry {
            key: key.to_vec(),
            value,
            right: None,
        }],
        cid: None,
    });
    while node.layer < layer {
        node = Box::new(Node {
            layer: node.layer + 1,
            left: Some(Link::Loaded(node)),
            entries: Vec::new(),
            cid: None,
        });
    }
    node
}

/// Wraps a subtree at `from` in empty nodes up to `to`.
pub(super) fn lift(link: Option<Link>, from: u8, to: u8) -> Option<Link> {
    let mut link = link?;
    let mut layer = from;
    while layer < to {
        layer += 1;
        link = Link::Loaded(Box::new(Node {
            layer,
            left: Some(link),
            entries: Vec::new(),
            cid: None,
        }));
    }
    Some(link)
}

impl<'s, S: BlockSource + ?Sized> Ctx<'s, S> {
    pub(super) fn fetch(
        &self,
        cid: Cid,
        expected: Option<u8>,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Result<Box<Node>, MstError> {
        let (data, layer) = load_node(self.blocks, self.rule, cid, expected, lo, hi)?;
        Ok(Box::new(Node {
            layer,
            left: data.left.map(Link::Stub),
            entries: data
                .entries
                .into_iter()
                .map(|e| Entry {
                    key: e.key,
                    value: e.value,
                    right: e.right.map(Link::Stub),
                })
                .collect(),
            cid: Some(cid),
        }))
    }

    /// The node behind `link`, read in place if it is still a stub.
    pub(super) fn open<'n>(
        &self,
        link: &'n mut Link,
        layer: u8,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Result<&'n mut Node, MstError> {
        if let Link::Stub(cid) = *link {
            *link = Link::Loaded(self.fetch(cid, Some(layer), lo, hi)?);
        }
        match link {
            Link::Loaded(node) => Ok(node),
            Link::Stub(_) => Err(MstError::Inconsistent("stub left after loading")),
        }
    }

    pub(super) fn take(
        &self,
        link: Link,
        layer: u8,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Result<Box<Node>, MstError> {
        match link {
            Link::Stub(cid) => self.fetch(cid, Some(layer), lo, hi),
            Link::Loaded(node) => Ok(node),
        }
    }

    pub(super) fn insert_at(
        &self,
        node: &mut Node,
        key: &[u8],
        h: u8,
        value: Cid,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Result<Option<Cid>, MstError> {
        let i = match node.search(key) {
            Ok(i) => {
                if h != node.layer {
                    return Err(MstError::Inconsistent("key found on another layer"));
                }
                let old = std::mem::replace(&mut node.entries[i].value, value);
                if old != value {
                    node.cid = None;
                }
                return Ok(Some(old));
            }
            Err(i) => i,
        };
        if h == node.layer {
            let (l, r) = node.slot_bounds(i, lo, hi);
            // The new key splits the subtree that spanned its position.
            let (a, b) = match node.slot(i).take() {
                None => (None, None),
                Some(gap) => {
                    self.split(gap, below(node.layer)?, key, l.as_deref(), r.as_deref())?
                }
            };
            *node.slot(i) = a;
            node.entries.insert(
                i,
                Entry {
                    key: key.to_vec(),
                    value,
                    right: b,
                },
            );
            node.cid = None;
            return Ok(None);
        }
        let layer = below(node.layer)?;
        let (slot, l, r) = node.slot_with_bounds(i, lo, hi);
        let (old, changed) = if let Some(link) = slot {
            let child = self.open(link, layer, l, r)?;
            let old = self.insert_at(child, key, h, value, l, r)?;
            (old, child.cid.is_none())
        } else {
            *slot = Some(Link::Loaded(single(layer, key, h, value)));
            (None, true)
        };
        if changed {
            node.cid = None;
        }
        Ok(old)
    }

    /// Splits a subtree at `layer` around `key` (absent from it) into the parts below and
    /// above it, each still at `layer`; only the nodes on `key`'s path are read.
    pub(super) fn split(
        &self,
        link: Link,
        layer: u8,
        key: &[u8],
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Result<(Option<Link>, Option<Link>), MstError> {
        let mut node = self.take(link, layer, lo, hi)?;
        let i = match node.search(key) {
            Ok(_) => return Err(MstError::Inconsistent("split at a key the subtree holds")),
            Err(i) => i,
        };
        let (l, r) = node.slot_bounds(i, lo, hi);
        let (a, b) = match node.slot(i).take() {
            None => (None, None),
            Some(gap) => self.split(gap, below(layer)?, key, l.as_deref(), r.as_deref())?,
        };
        let right_entries = node.entries.split_off(i);
        *node.slot(i) = a;
        node.cid = None;
        let right = Box::new(Node {
            layer,
            left: b,
            entries: right_entries,
            cid: None,
        });
        Ok((nonempty(node), nonempty(right)))
    }

    pub(super) fn remove_at(
        &self,
        node: &mut Node,
        key: &[u8],
        h: u8,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Result<Option<Cid>, MstError> {
        match node.search(key) {
            Ok(i) => {
                if h != node.layer {
                    return Err(MstError::Inconsistent("key found on another layer"));
                }
                let (l, _) = node.slot_bounds(i, lo, hi);
                let (_, r) = node.slot_bounds(i + 1, lo, hi);
                let left_gap = node.slot(i).take();
                let entry = node.entries.remove(i);
                // The subtrees on both sides of the removed key become one.
                let merged = self.merge(
                    left_gap,
                    entry.right,
                    node.layer,
                    l.as_deref(),
                    &entry.key,
                    r.as_deref(),
                )?;
                *node.slot(i) = merged;
                node.cid = None;
                Ok(Some(entry.value))
            }
            Err(i) => {
                if h >= node.layer {
                    return Ok(None);
                }
                let layer = below(node.layer)?;
                let (slot, l, r) = node.slot_with_bounds(i, lo, hi);
                let Some(link) = slot.as_mut() else {
                    return Ok(None);
                };
                let child = self.open(link, layer, l, r)?;
                let old = self.remove_at(child, key, h, l, r)?;
                if old.is_none() {
                    return Ok(None);
                }
                if child.is_empty() {
                    *slot = None;
                }
                node.cid = None;
                Ok(old)
            }
        }
    }

    /// Joins two adjacent subtrees hanging below `parent_layer`: `a` holds keys between `lo`
    /// and `mid`, `b` between `mid` and `hi`. Only their facing spines are read.
    pub(super) fn merge(
        &self,
        a: Option<Link>,
        b: Option<Link>,
        parent_layer: u8,
        lo: Option<&[u8]>,
        mid: &[u8],
        hi: Option<&[u8]>,
    ) -> Result<Option<Link>, MstError> {
        let (a, b) = match (a, b) {
            (None, x) | (x, None) => return Ok(x),
            (Some(a), Some(b)) => (a, b),
        };
        let layer = below(parent_layer)?;
        let mut na = self.take(a, layer, lo, Some(mid))?;
        let mut nb = self.take(b, layer, Some(mid), hi)?;
        let tail_lo: Bound = match na.entries.last() {
            Some(e) => Some(e.key.clone()),
            None => lo.map(<[u8]>::to_vec),
        };
        let head_hi: Bound = match nb.entries.first() {
            Some(e) => Some(e.key.clone()),
            None => hi.map(<[u8]>::to_vec),
        };
        let tail = match na.entries.last_mut() {
            Some(e) => e.right.take(),
            None => na.left.take(),
        };
        let joined = self.merge(
            tail,
            nb.left.take(),
            layer,
            tail_lo.as_deref(),
            mid,
            head_hi.as_deref(),
        )?;
        match na.entries.last_mut() {
            Some(e) => e.right = joined,
            None => na.left = joined,
        }
        na.entries.append(&mut nb.entries);
        na.cid = None;
        Ok(Some(Link::Loaded(na)))
    }
}
