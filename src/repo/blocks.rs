//! Where tree and commit blocks come from: a [`BlockSource`] answers "the bytes of this CID,
//! checked against it", or says the block is absent (a partial tree's stub) or damaged.
//!
//! A frame's CAR slice holds a handful of blocks, so it is searched in place; a whole repo
//! export holds up to millions, so [`BlockMap`] indexes it once.

use std::borrow::Cow;
use std::collections::HashMap;

use cid::Cid;
use sha2::Digest;

use super::error::MstError;
use crate::ipld::car::{Block, CarSlice};

/// Blocks by CID. `Ok(None)` means absent; a block whose bytes do not hash to its CID is an
/// error, never data. Borrowed where the blocks are in memory, owned where they are read from
/// a spilled export (`sync::car_file`).
pub trait BlockSource {
    fn block(&self, cid: &Cid) -> Result<Option<Cow<'_, [u8]>>, MstError>;
}

fn checked<'a>(block: &Block<'a>) -> Result<Option<Cow<'a, [u8]>>, MstError> {
    if block.valid {
        Ok(Some(Cow::Borrowed(block.data)))
    } else {
        Err(MstError::BadBlock(block.cid))
    }
}

impl BlockSource for CarSlice<'_> {
    fn block(&self, cid: &Cid) -> Result<Option<Cow<'_, [u8]>>, MstError> {
        match self.blocks.iter().find(|b| &b.cid == cid) {
            Some(b) => checked(b),
            None => Ok(None),
        }
    }
}

/// A hash index over blocks that borrow from their CAR bytes, for repo exports. A CID that
/// appears twice keeps a copy that matches it, if any does.
#[derive(Debug, Default)]
pub struct BlockMap<'a> {
    blocks: HashMap<Cid, Block<'a>>,
}

impl<'a> BlockMap<'a> {
    pub fn new() -> BlockMap<'a> {
        BlockMap::default()
    }

    pub fn from_car(car: &CarSlice<'a>) -> BlockMap<'a> {
        let mut map = BlockMap {
            blocks: HashMap::with_capacity(car.blocks.len()),
        };
        for b in &car.blocks {
            map.insert(*b);
        }
        map
    }

    /// Adds a block, hashing it to know whether it matches its CID.
    pub fn add(&mut self, cid: Cid, data: &'a [u8]) {
        let valid = cid.hash().code() == crate::ipld::cid::HASH_SHA2_256
            && cid.hash().digest() == sha2::Sha256::digest(data).as_slice();
        self.insert(Block { cid, data, valid });
    }

    pub fn insert(&mut self, block: Block<'a>) {
        let keep_old = self.blocks.get(&block.cid).is_some_and(|old| old.valid);
        if !keep_old {
            self.blocks.insert(block.cid, block);
        }
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

impl BlockSource for BlockMap<'_> {
    fn block(&self, cid: &Cid) -> Result<Option<Cow<'_, [u8]>>, MstError> {
        match self.blocks.get(cid) {
            Some(b) => checked(b),
            None => Ok(None),
        }
    }
}

/// No blocks at all: a tree built from scratch in memory never needs to read one.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBlocks;

impl BlockSource for NoBlocks {
    fn block(&self, _cid: &Cid) -> Result<Option<Cow<'_, [u8]>>, MstError> {
        Ok(None)
    }
}
