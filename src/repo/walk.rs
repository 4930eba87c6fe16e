//! Every (key, value) of a whole tree, in key order, for repo exports (backfill): an iterator
//! with an explicit stack, so memory is one decoded node per layer (at most 4096 entries each,
//! layers bounded by the root's) however large the repository.
//!
//! Every node is checked as it is read (its bytes, its layer, its place), and the keys must come
//! out strictly increasing across the whole tree, which is what makes each subtree's keys fall
//! inside the range its parent gives it, and no key appear twice.

use cid::Cid;

use super::blocks::BlockSource;
use super::error::{MstError, NodeProblem};
use super::key::KeyRule;
use super::node::{EntryData, NodeData};
use super::place::{below, load_node};

pub struct Walk<'s, S: BlockSource + ?Sized> {
    blocks: &'s S,
    rule: KeyRule,
    root: Option<Cid>,
    stack: Vec<Frame>,
    last: Option<Vec<u8>>,
    failed: bool,
    nodes: u64,
}

struct Frame {
    cid: Cid,
    layer: u8,
    entries: std::vec::IntoIter<EntryData>,
    index: usize,
}

impl<'s, S: BlockSource + ?Sized> Walk<'s, S> {
    pub fn new(blocks: &'s S, root: Cid, rule: KeyRule) -> Walk<'s, S> {
        Walk {
            blocks,
            rule,
            root: Some(root),
            stack: Vec::new(),
            last: None,
            failed: false,
            nodes: 0,
        }
    }

    /// Nodes read so far.
    pub fn nodes(&self) -> u64 {
        self.nodes
    }

    /// Reads the node at `cid` and the left spine below it onto the stack.
    fn enter(&mut self, cid: Cid, expected: Option<u8>) -> Result<(), MstError> {
        let (mut cid, mut expected) = (cid, expected);
        loop {
            let (data, layer) = load_node(self.blocks, self.rule, cid, expected, None, None)?;
            self.nodes += 1;
            let NodeData { left, entries } = data;
            self.stack.push(Frame {
                cid,
                layer,
                entries: entries.into_iter(),
                index: 0,
            });
            match left {
                None => return Ok(()),
                Some(l) => {
                    cid = l;
                    expected = Some(below(layer)?);
                }
            }
        }
    }

    fn step(&mut self) -> Result<Option<(Vec<u8>, Cid)>, MstError> {
        if let Some(root) = self.root.take() {
            self.enter(root, None)?;
        }
        loop {
            let Some(frame) = self.stack.last_mut() else {
                return Ok(None);
            };
            let Some(entry) = frame.entries.next() else {
                self.stack.pop();
                continue;
            };
            let (cid, layer, index) = (frame.cid, frame.layer, frame.index);
            frame.index += 1;
            if let Some(last) = &self.last {
                if entry.key.as_slice() <= last.as_slice() {
                    let problem = if entry.key == *last {
                        NodeProblem::Duplicate { index }
                    } else {
                        NodeProblem::OutOfRange { index }
                    };
                    return Err(MstError::BadNode {
                        cid,
                        problem: Box::new(problem),
                    });
                }
            }
            self.last = Some(entry.key.clone());
            if let Some(right) = entry.right {
                self.enter(right, Some(below(layer)?))?;
            }
            return Ok(Some((entry.key, entry.value)));
        }
    }
}

impl<S: BlockSource + ?Sized> Iterator for Walk<'_, S> {
    type Item = Result<(Vec<u8>, Cid), MstError>;

    /// After the first error the walk ends.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
