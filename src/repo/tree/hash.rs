//! Hashing the tree: a node's CID is computed only when it changed (a node read from a block
//! keeps that block's CID), and the blocks of the nodes held in memory can be written out.

use cid::Cid;

use super::{Link, Node};
use crate::repo::encode::dag_cbor_cid;
use crate::repo::node::NodeWriter;

pub(super) fn node_cid(node: &mut Node) -> Cid {
    if let Some(cid) = node.cid {
        return cid;
    }
    let cid = dag_cbor_cid(&encode_loaded(node));
    node.cid = Some(cid);
    cid
}

pub(super) fn link_cid(link: &mut Link) -> Cid {
    match link {
        Link::Stub(cid) => *cid,
        Link::Loaded(node) => node_cid(node),
    }
}

pub(super) fn collect_blocks(node: &mut Node, out: &mut Vec<(Cid, Vec<u8>)>) {
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
