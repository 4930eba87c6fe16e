//! A whole repository export (`com.atproto.sync.getRepo` CAR): the blocks indexed once, the
//! commit read, and the tree walked in key order with every structural rule enforced.
//!
//! Exports are far larger than frames, so they are parsed with their own block bound
//! ([`MAX_REPO_CAR_BLOCKS`](crate::ipld::limits::MAX_REPO_CAR_BLOCKS)). Format v3 is read, and
//! v2 too: its MST is the same (fanout 4, same node schema); only its commit object differs
//! (no `rev` in early v2), and only `did`, `version` and `data` are needed to walk it. v1 (a
//! different tree) is refused.

use cid::Cid;
use serde::Deserialize;
use thiserror::Error;

use super::blocks::{BlockMap, BlockSource};
use super::commit::Commit;
use super::error::{CommitError, MstError};
use super::key::KeyRule;
use super::walk::Walk;
use crate::ipld::car::{CarError, CarSlice};
use crate::ipld::limits::MAX_REPO_CAR_BLOCKS;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExportError {
    #[error("CAR: {0}")]
    Car(#[from] CarError),
    #[error("commit block {0} is missing")]
    MissingCommit(Cid),
    #[error("commit block {0} does not match its CID")]
    BadCommitBlock(Cid),
    #[error("commit: {0}")]
    Commit(CommitError),
    #[error("repository format v{0} is not readable (v2 and v3 are)")]
    Version(u64),
}

/// The commit fields every readable version shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportCommit {
    pub cid: Cid,
    pub did: String,
    pub version: u64,
    pub data: Cid,
    pub rev: Option<String>,
    /// The full, strictly decoded commit when the export is v3.
    pub v3: Option<Commit>,
}

#[derive(Deserialize)]
struct AnyVersion<'a> {
    did: &'a str,
    version: u64,
    data: Cid,
    #[serde(default)]
    rev: Option<&'a str>,
}

/// A parsed export over its blocks: a [`BlockMap`] over bytes in memory, or a file's index
/// for one spilled to disk (`sync::car_file`). The walk is the same over either.
pub struct RepoExport<B> {
    pub blocks: B,
    pub commit: ExportCommit,
}

impl<'a> RepoExport<BlockMap<'a>> {
    pub fn parse(bytes: &'a [u8]) -> Result<RepoExport<BlockMap<'a>>, ExportError> {
        let car = CarSlice::parse_with_limit(bytes, MAX_REPO_CAR_BLOCKS)?;
        let blocks = BlockMap::from_car(&car);
        let commit = read_commit(&blocks, &car.roots)?;
        Ok(RepoExport { blocks, commit })
    }
}

impl<B: BlockSource> RepoExport<B> {
    /// An export over blocks kept elsewhere (a spilled file), its commit the first of `roots`.
    pub fn over(blocks: B, roots: &[Cid]) -> Result<RepoExport<B>, ExportError> {
        let commit = read_commit(&blocks, roots)?;
        Ok(RepoExport { blocks, commit })
    }
}

fn read_commit<B: BlockSource>(blocks: &B, roots: &[Cid]) -> Result<ExportCommit, ExportError> {
    let Some(&cid) = roots.first() else {
        return Err(ExportError::Car(CarError::Roots(0)));
    };
    let block = match blocks.block(&cid) {
        Ok(Some(b)) => b,
        Ok(None) => return Err(ExportError::MissingCommit(cid)),
        Err(_) => return Err(ExportError::BadCommitBlock(cid)),
    };
    crate::ipld::cbor::validate_exact(&block)
        .map_err(|e| ExportError::Commit(CommitError::Shape(e.to_string())))?;
    let any: AnyVersion = serde_ipld_dagcbor::from_slice(&block)
        .map_err(|e| ExportError::Commit(CommitError::Shape(e.to_string())))?;
    let v3 = match any.version {
        3 => Some(Commit::decode(&block).map_err(ExportError::Commit)?),
        2 => None,
        other => return Err(ExportError::Version(other)),
    };
    Ok(ExportCommit {
        cid,
        did: any.did.to_owned(),
        version: any.version,
        data: any.data,
        rev: any.rev.map(str::to_owned),
        v3,
    })
}

impl<B: BlockSource> RepoExport<B> {
    /// Every (key, value CID) of the tree, in key order.
    pub fn walk(&self) -> Walk<'_, B> {
        Walk::new(&self.blocks, self.commit.data, KeyRule::RepoPath)
    }

    /// The walk collected, for small repos and tests.
    pub fn entries(&self) -> Result<Vec<(String, Cid)>, MstError> {
        self.walk()
            .map(|item| item.map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), v)))
            .collect()
    }
}
