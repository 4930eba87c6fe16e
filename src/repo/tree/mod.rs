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

mod edit;
mod hash;

use super::blocks::BlockSource;
use super::error::MstError;
use super::key::{height, KeyRule};
use super::place::below;
use edit::{lift, single};
use hash::{collect_blocks, node_cid};

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
