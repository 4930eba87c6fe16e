//! Where a node may sit in a tree: the rules that involve its parent (its layer, its key range)
//! or its position (root or not), shared by the partial tree and the full walk.
//!
//! Layers strictly decrease from parent to child and a node at layer 0 links nowhere, so no
//! chain of links can be longer than the root's layer: cycles are impossible by construction
//! of these checks, whatever the blocks claim.

use cid::Cid;

use super::blocks::BlockSource;
use super::error::{MstError, NodeProblem};
use super::key::KeyRule;
use super::node::NodeData;

/// Reads the node at `cid` from `blocks` (absent is [`MstError::MissingBlock`]), decodes it
/// strictly and checks it against its place (see [`check_placement`]): the one way both the
/// partial tree and the full walk open a node. Returns the node and its layer.
pub fn load_node<S: BlockSource + ?Sized>(
    blocks: &S,
    rule: KeyRule,
    cid: Cid,
    expected: Option<u8>,
    lo: Option<&[u8]>,
    hi: Option<&[u8]>,
) -> Result<(NodeData, u8), MstError> {
    let bytes = blocks.block(&cid)?.ok_or(MstError::MissingBlock(cid))?;
    let (data, key_layer) =
        NodeData::decode(&bytes, rule).map_err(|problem| MstError::BadNode {
            cid,
            problem: Box::new(problem),
        })?;
    let layer = check_placement(&data, &cid, key_layer, expected, lo, hi)?;
    Ok((data, layer))
}

/// Checks a decoded node against its place and returns its layer. `key_layer` is what its keys
/// say (`None` with no entries); `expected` is what the parent says (`None` for the root);
/// `lo`/`hi` bound its keys (exclusive) where the caller tracks them.
pub fn check_placement(
    node: &NodeData,
    cid: &Cid,
    key_layer: Option<u8>,
    expected: Option<u8>,
    lo: Option<&[u8]>,
    hi: Option<&[u8]>,
) -> Result<u8, MstError> {
    let bad = |problem| MstError::BadNode {
        cid: *cid,
        problem: Box::new(problem),
    };
    let layer = match (key_layer, expected) {
        (None, None) if node.left.is_some() => return Err(bad(NodeProblem::RootOnlySubtree)),
        // The empty repository: one node, no entries.
        (None, None) => 0,
        (None, Some(_)) if node.left.is_none() => return Err(bad(NodeProblem::Empty)),
        (None, Some(l)) => l,
        (Some(k), None) => k,
        (Some(k), Some(l)) if k != l => {
            return Err(bad(NodeProblem::WrongHeight {
                index: 0,
                height: k,
                layer: l,
            }))
        }
        (Some(k), Some(_)) => k,
    };
    if layer == 0 && (node.left.is_some() || node.entries.iter().any(|e| e.right.is_some())) {
        return Err(bad(NodeProblem::ChildBelowZero));
    }
    if let (Some(lo), Some(first)) = (lo, node.entries.first()) {
        if first.key.as_slice() <= lo {
            return Err(bad(NodeProblem::OutOfRange { index: 0 }));
        }
    }
    if let (Some(hi), Some(last)) = (hi, node.entries.last()) {
        if last.key.as_slice() >= hi {
            return Err(bad(NodeProblem::OutOfRange {
                index: node.entries.len() - 1,
            }));
        }
    }
    Ok(layer)
}

/// The layer below `layer`; asking for the one below 0 means the tree is not what loading
/// checked, which is reported rather than wrapped around.
pub fn below(layer: u8) -> Result<u8, MstError> {
    layer
        .checked_sub(1)
        .ok_or(MstError::Inconsistent("a subtree below layer 0"))
}
