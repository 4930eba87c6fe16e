//! A fetched repository export (CAR) read into a [`Snapshot`]: the commit checked (v3, its
//! `did` the one asked for, a rev), the tree walked in key order with every structural rule
//! enforced, each record's block checked against its CID and decoded through its lexicon. An
//! export spilled to disk is read from its file and its records spilled to another (see
//! [`read_spooled`]).

use thiserror::Error;

use super::car_file::open_export;
use super::spill::SpillWriter;
use super::spool::Spooled;
use crate::changes::{Snapshot, SnapshotRecord};
use crate::crypto::PublicKey;
use crate::records::Record;
use crate::repo::{BlockSource, ExportCommit, ExportError, MstError, RepoExport};

/// Whether records of a collection are kept (`--collections`).
pub type Wants = std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("export: {0}")]
    Export(#[from] ExportError),
    #[error(
        "repository format v{0}: only v3 is backfilled (v2 commits carry no rev to chain from)"
    )]
    Version(u64),
    #[error("the export's commit is for {found}, not {wanted}")]
    WrongDid { wanted: String, found: String },
    #[error("tree: {0}")]
    Tree(#[from] MstError),
    #[error("tree key {0:?} is not collection/rkey")]
    BadKey(String),
    #[error("record {path}: block {cid} is missing")]
    MissingRecord { path: String, cid: cid::Cid },
    #[error("commit signature does not verify with the account's key: {0}")]
    Signature(String),
    /// Ours, not the repository's: the spilled export or records could not be written or read.
    #[error("spool: {0}")]
    Spool(String),
}

/// Reads `car` as the repository of `did`, its records held in memory.
pub fn read(
    did: &str,
    car: &[u8],
    host: &str,
    fetched_at: &str,
) -> Result<Snapshot, SnapshotError> {
    let export = RepoExport::parse(car)?;
    let mut records = Vec::new();
    let (refused, _) = walk(did, &export, None, |r, _| {
        records.push(r);
        Ok(())
    })?;
    Ok(snapshot(
        did, &export, host, fetched_at, records, None, refused,
    ))
}

/// Reads a fetched body as the repository of `did`, keeping only the collections `wants`
/// keeps: in memory when the body was small enough to be kept there, else from its file with
/// the records spilled to another, so memory stays bounded whatever the repository's size.
///
/// With `key`, the commit's signature must verify with it (the account's key from its DID
/// document), else the export is refused: a PDS, or anyone between, cannot make us index
/// records the account did not sign.
pub fn read_spooled(
    did: &str,
    body: Spooled,
    host: &str,
    fetched_at: &str,
    wants: Option<&Wants>,
    key: Option<&PublicKey>,
) -> Result<Snapshot, SnapshotError> {
    let file = match body {
        Spooled::Memory(car) => {
            let export = RepoExport::parse(&car)?;
            signed(&export.commit, key)?;
            let mut records = Vec::new();
            let (refused, _) = walk(did, &export, wants, |r, _| {
                records.push(r);
                Ok(())
            })?;
            return Ok(snapshot(
                did, &export, host, fetched_at, records, None, refused,
            ));
        }
        Spooled::File { file, .. } => file,
    };
    let export = open_export(file)?;
    signed(&export.commit, key)?;
    let mut spill = SpillWriter::new().map_err(spool_error)?;
    let (refused, _) = walk(did, &export, wants, |r, block| {
        spill
            .push(&r.collection, &r.rkey, &r.cid, block)
            .map_err(spool_error)
    })?;
    let spilled = spill.finish().map_err(spool_error)?;
    Ok(snapshot(
        did,
        &export,
        host,
        fetched_at,
        Vec::new(),
        Some(Box::new(spilled)),
        refused,
    ))
}

fn signed(commit: &ExportCommit, key: Option<&PublicKey>) -> Result<(), SnapshotError> {
    let (Some(key), Some(v3)) = (key, &commit.v3) else {
        return Ok(());
    };
    v3.verify_signature(key)
        .map_err(|e| SnapshotError::Signature(e.to_string()))
}

fn spool_error(e: std::io::Error) -> SnapshotError {
    SnapshotError::Spool(e.to_string())
}

fn snapshot<B>(
    did: &str,
    export: &RepoExport<B>,
    host: &str,
    fetched_at: &str,
    records: Vec<SnapshotRecord>,
    spilled: Option<Box<dyn crate::changes::SpilledRecords>>,
    refused: usize,
) -> Snapshot {
    let commit = &export.commit;
    Snapshot {
        did: did.to_owned(),
        rev: commit
            .v3
            .as_ref()
            .map_or_else(String::new, |c| c.rev.clone()),
        commit: commit.cid,
        data: commit.data,
        host: host.to_owned(),
        handle: None,
        fetched_at: fetched_at.to_owned(),
        records,
        spilled,
        refused,
    }
}

/// Checks the commit, walks the tree and gives each record that decodes (and that `wants`
/// keeps) to `keep` with its block's bytes. Returns the records refused and those kept.
fn walk<B: BlockSource>(
    did: &str,
    export: &RepoExport<B>,
    wants: Option<&Wants>,
    mut keep: impl FnMut(SnapshotRecord, &[u8]) -> Result<(), SnapshotError>,
) -> Result<(usize, usize), SnapshotError> {
    let commit = &export.commit;
    let (Some(_), 3) = (&commit.v3, commit.version) else {
        return Err(SnapshotError::Version(commit.version));
    };
    if commit.did != did {
        return Err(SnapshotError::WrongDid {
            wanted: did.to_owned(),
            found: commit.did.clone(),
        });
    }
    let (mut refused, mut kept) = (0, 0);
    for item in export.walk() {
        let (key, cid) = item?;
        let key = String::from_utf8(key).map_err(|e| {
            SnapshotError::BadKey(String::from_utf8_lossy(e.as_bytes()).into_owned())
        })?;
        let Some((collection, rkey)) = key.split_once('/') else {
            return Err(SnapshotError::BadKey(key));
        };
        if crate::syntax::nsid(collection).is_err() || crate::syntax::record_key(rkey).is_err() {
            return Err(SnapshotError::BadKey(key));
        }
        // Every record block must be there, even of a collection not kept: the export is
        // whole or it is not used.
        let Some(bytes) = export.blocks.block(&cid)? else {
            return Err(SnapshotError::MissingRecord { path: key, cid });
        };
        if wants.is_some_and(|w| !w(collection)) {
            continue;
        }
        match Record::decode(collection, &bytes) {
            Ok(record) => {
                kept += 1;
                keep(
                    SnapshotRecord {
                        collection: collection.to_owned(),
                        rkey: rkey.to_owned(),
                        cid,
                        record,
                    },
                    &bytes,
                )?
            }
            // As a live op whose record fails its lexicon: not indexed, the rest goes on.
            Err(_) => refused += 1,
        }
    }
    Ok((refused, kept))
}
