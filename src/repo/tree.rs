//! A Merkle Search Tree held partly in memory: nodes are read from a [`BlockSource`] only when
//! an operation needs them, and a subtree nobody needs stays a bare CID. Lookups, inserts and
//! removals touch one path (plus the spines a split or merge walks), re-encode only the nodes
//! they change, and leave every other CID as it was.
//!
//! That is exactly what Sync 1.1 ("inductive firehose") proofs require: a commit's CAR slice
//! carries only the nodes on the changed paths, and inverting the ops on that partial tree must
//! reproduce the previous root (`prevData`). A node needed and absent is reported as
//! [`MstError::MissingBlock`], never guessed.
//!
//! Shape rules (from the repository spec): a key of height h lives in a node at layer h; a
//! subtree hangs one layer below; empty intermediate nodes are kept (links do not skip layers)
//! but an empty node with no subtree is pruned, and the root is never an empty node with only a
//! subtree. After an error the tree must not be used further.

use cid::Cid;

use super::blocks::BlockSource;
use super::encode::dag_cbor_cid;
use super::error::MstError;
use super::key::{height, KeyRule};
use super::node::{NodeData, NodeWriter};
use super::place::{below, check_placement};

pub struct Tree<'s, S: BlockSource + ?Sized> {
    ctx: Ctx<'s, S>,
    root: Box<Node>,
}

struct Ctx<'s, S: ?Sized> {
    blocks: &'s S,
    rule: KeyRule,
}

struct Node {
    layer: u8,
    left: Option<Link>,
    entries: Vec<Entry>,
    /// Known while the node is as loaded (or last hashed); `None` once changed.
    cid: Option<Cid>,
}

struct Entry {
    key: Vec<u8>,
    value: Cid,
    right: Option<Link>,
}

enum Link {
    Stub(Cid),
    Loaded(Box<Node>),
}

type Bound = Option<Vec<u8>>;

impl Node {
    fn empty() -> Box<Node> {
        Box::new(Node {
            layer: 0,
            left: None,
            entries: Vec::new(),
            cid: None,
        })
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.left.is_none()
    }

    fn search(&self, key: &[u8]) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| e.key.as_slice().cmp(key))
    }

    /// The subtree between entry `i - 1` and entry `i` (the left link when `i` is 0).
    fn slot(&mut self, i: usize) -> &mut Option<Link> {
        match i.checked_sub(1).and_then(|j| self.entries.get_mut(j)) {
            Some(e) => &mut e.right,
            None => &mut self.left,
        }
    }

    /// Slot `i` and its key range, borrowed apart so that a descent needs no copies.
    fn slot_with_bounds<'n>(
        &'n mut self,
        i: usize,
        lo: Option<&'n [u8]>,
        hi: Option<&'n [u8]>,
    ) -> (&'n mut Option<Link>, Option<&'n [u8]>, Option<&'n [u8]>) {
        let at = i.min(self.entries.len());
        let (before, after) = self.entries.split_at_mut(at);
        let h = after.first().map(|e| e.key.as_slice()).or(hi);
        match before.last_mut() {
            Some(Entry { key, right, .. }) => (right, Some(key.as_slice()), h),
            None => (&mut self.left, lo, h),
        }
    }

    /// The key range of slot `i`, given the node's own range, as copies.
    fn slot_bounds(&self, i: usize, lo: Option<&[u8]>, hi: Option<&[u8]>) -> (Bound, Bound) {
        let l = match i.checked_sub(1).and_then(|j| self.entries.get(j)) {
            Some(e) => Some(e.key.clone()),
            None => lo.map(<[u8]>::to_vec),
        };
        let h = match self.entries.get(i) {
            Some(e) => Some(e.key.clone()),
            None => hi.map(<[u8]>::to_vec),
        };
        (l, h)
    }
}

fn nonempty(node: Box<Node>) -> Option<Link> {
    if node.is_empty() {
        None
    } else {
        Some(Link::Loaded(node))
    }
}

/// A new subtree at `layer` holding one key of height `h` (≤ `layer`), with empty nodes down
/// to it so that no link skips a layer.
fn single(layer: u8, key: &[u8], h: u8, value: Cid) -> Box<Node> {
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
fn lift(link: Option<Link>, from: u8, to: u8) -> Option<Link> {
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
    fn fetch(
        &self,
        cid: Cid,
        expected: Option<u8>,
        lo: Option<&[u8]>,
        hi: Option<&[u8]>,
    ) -> Result<Box<Node>, MstError> {
        let bytes = self
            .blocks
            .block(&cid)?
            .ok_or(MstError::MissingBlock(cid))?;
        let (data, key_layer) =
            NodeData::decode(bytes, self.rule).map_err(|problem| MstError::BadNode {
                cid,
                problem: Box::new(problem),
            })?;
        let layer = check_placement(&data, &cid, key_layer, expected, lo, hi)?;
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
    fn open<'n>(
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

    fn take(
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

    fn insert_at(
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
    fn split(
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

    fn remove_at(
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
    fn merge(
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

fn node_cid(node: &mut Node) -> Cid {
    if let Some(cid) = node.cid {
        return cid;
    }
    let cid = dag_cbor_cid(&encode_loaded(node));
    node.cid = Some(cid);
    cid
}

fn link_cid(link: &mut Link) -> Cid {
    match link {
        Link::Stub(cid) => *cid,
        Link::Loaded(node) => node_cid(node),
    }
}

impl<'s, S: BlockSource + ?Sized> Tree<'s, S> {
    /// An empty tree (the empty repository), with `blocks` to read from if ever needed.
    pub fn empty(blocks: &'s S, rule: KeyRule) -> Tree<'s, S> {
        Tree {
            ctx: Ctx { blocks, rule },
            root: Node::empty(),
        }
    }

    /// The tree whose root node is `root`; only the root is read now.
    pub fn load(blocks: &'s S, root: Cid, rule: KeyRule) -> Result<Tree<'s, S>, MstError> {
        let ctx = Ctx { blocks, rule };
        let root = ctx.fetch(root, None, None, None)?;
        Ok(Tree { ctx, root })
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    /// The keys this tree accepts.
    pub fn rule(&self) -> KeyRule {
        self.ctx.rule
    }

    /// The layer of the root node (0 for an empty tree).
    pub fn root_layer(&self) -> u8 {
        self.root.layer
    }

    /// The value at `key`, if present. A key's height says which layer it lives on, so the
    /// search stops there: proofs of absence need no deeper nodes.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Cid>, MstError> {
        self.ctx.rule.check(key).map_err(MstError::BadKey)?;
        self.get_valid(key, height(key))
    }

    /// [`Tree::get`] for a key already checked against the tree's rule, of height `h`.
    pub(crate) fn get_valid(&mut self, key: &[u8], h: u8) -> Result<Option<Cid>, MstError> {
        let ctx = &self.ctx;
        let mut node: &mut Node = &mut self.root;
        let (mut lo, mut hi): (Option<&[u8]>, Option<&[u8]>) = (None, None);
        loop {
            if h > node.layer {
                return Ok(None);
            }
            let i = match node.search(key) {
                Ok(i) if h == node.layer => return Ok(Some(node.entries[i].value)),
                Ok(_) => return Err(MstError::Inconsistent("key found on another layer")),
                Err(_) if h == node.layer => return Ok(None),
                Err(i) => i,
            };
            let layer = below(node.layer)?;
            let (slot, l, r) = node.slot_with_bounds(i, lo, hi);
            let Some(link) = slot.as_mut() else {
                return Ok(None);
            };
            node = ctx.open(link, layer, l, r)?;
            (lo, hi) = (l, r);
        }
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: &[u8], value: Cid) -> Result<Option<Cid>, MstError> {
        self.ctx.rule.check(key).map_err(MstError::BadKey)?;
        self.insert_valid(key, height(key), value)
    }

    /// [`Tree::insert`] for a key already checked against the tree's rule, of height `h`.
    pub(crate) fn insert_valid(
        &mut self,
        key: &[u8],
        h: u8,
        value: Cid,
    ) -> Result<Option<Cid>, MstError> {
        if self.root.is_empty() {
            self.root = single(h, key, h, value);
            return Ok(None);
        }
        if h > self.root.layer {
            // The key goes above the whole tree: split the old root around it.
            let old = std::mem::replace(&mut self.root, Node::empty());
            let old_layer = old.layer;
            let (a, b) = self
                .ctx
                .split(Link::Loaded(old), old_layer, key, None, None)?;
            *self.root = Node {
                layer: h,
                left: lift(a, old_layer, h - 1),
                entries: vec![Entry {
                    key: key.to_vec(),
                    value,
                    right: lift(b, old_layer, h - 1),
                }],
                cid: None,
            };
            return Ok(None);
        }
        self.ctx
            .insert_at(&mut self.root, key, h, value, None, None)
    }

    /// Removes `key`; returns the value it had.
    pub fn remove(&mut self, key: &[u8]) -> Result<Option<Cid>, MstError> {
        self.ctx.rule.check(key).map_err(MstError::BadKey)?;
        self.remove_valid(key, height(key))
    }

    /// [`Tree::remove`] for a key already checked against the tree's rule, of height `h`.
    pub(crate) fn remove_valid(&mut self, key: &[u8], h: u8) -> Result<Option<Cid>, MstError> {
        if self.root.is_empty() || h > self.root.layer {
            return Ok(None);
        }
        let old = self.ctx.remove_at(&mut self.root, key, h, None, None)?;
        if old.is_some() {
            // The root must hold entries (or be the empty tree): drop empty top nodes.
            while self.root.entries.is_empty() {
                match self.root.left.take() {
                    None => {
                        self.root = Node::empty();
                        break;
                    }
                    Some(link) => {
                        let layer = below(self.root.layer)?;
                        self.root = self.ctx.take(link, layer, None, None)?;
                    }
                }
            }
        }
        Ok(old)
    }

    /// The root CID, hashing only the nodes changed since they were read.
    pub fn root_cid(&mut self) -> Cid {
        node_cid(&mut self.root)
    }

    /// The blocks of every node held in memory (read or built), as (CID, canonical bytes).
    /// For a tree built from scratch that is the whole tree; for a partial one, the nodes its
    /// operations touched.
    pub fn node_blocks(&mut self) -> Vec<(Cid, Vec<u8>)> {
        let mut out = Vec::new();
        collect_blocks(&mut self.root, &mut out);
        out
    }
}

fn collect_blocks(node: &mut Node, out: &mut Vec<(Cid, Vec<u8>)>) {
    let cid = node_cid(node);
    let mut children: Vec<&mut Node> = Vec::new();
    if let Some(Link::Loaded(n)) = node.left.as_mut() {
        children.push(n);
    }
    for e in node.entries.iter_mut() {
        if let Some(Link::Loaded(n)) = e.right.as_mut() {
            children.push(n);
        }
    }
    for child in children {
        collect_blocks(child, out);
    }
    out.push((cid, encode_loaded(node)));
}

/// The bytes of a node, its children's CIDs computed first where they are not known.
fn encode_loaded(node: &mut Node) -> Vec<u8> {
    if let Some(link) = node.left.as_mut() {
        link_cid(link);
    }
    for e in node.entries.iter_mut() {
        if let Some(link) = e.right.as_mut() {
            link_cid(link);
        }
    }
    let left = node.left.as_ref().and_then(known_cid);
    let mut w = NodeWriter::new(left.as_ref(), node.entries.len());
    for e in &node.entries {
        w.entry(
            &e.key,
            &e.value,
            e.right.as_ref().and_then(known_cid).as_ref(),
        );
    }
    w.finish()
}

/// The CID of a link whose node has been hashed (always, after [`link_cid`]).
fn known_cid(link: &Link) -> Option<Cid> {
    match link {
        Link::Stub(cid) => Some(*cid),
        Link::Loaded(node) => node.cid,
    }
}
