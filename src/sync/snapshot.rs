//! A fetched repository export (CAR) read into a [`Snapshot`]: the commit checked (v3, its
//! `did` the one asked for, a rev), the tree walked in key order with every structural rule
//! enforced, each record's block checked against its CID and decoded through its lexicon.

use thiserror::Error;

use crate::changes::{Snapshot, SnapshotRecord};
use crate::records::Record;
use crate::repo::{BlockSource, ExportError, MstError, RepoExport};

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
}

/// Reads `car` as the repository of `did`.
pub fn read(
    did: &str,
    car: &[u8],
    host: &str,
    fetched_at: &str,
) -> Result<Snapshot, SnapshotError> {
    let export = RepoExport::parse(car)?;
    let commit = &export.commit;
    let (Some(v3), 3) = (&commit.v3, commit.version) else {
        return Err(SnapshotError::Version(commit.version));
    };
    if commit.did != did {
        return Err(SnapshotError::WrongDid {
            wanted: did.to_owned(),
            found: commit.did.clone(),
        });
    }
    let mut records = Vec::new();
    let mut refused = 0;
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
        let Some(bytes) = export.blocks.block(&cid)? else {
            return Err(SnapshotError::MissingRecord { path: key, cid });
        };
        match Record::decode(collection, bytes) {
            Ok(record) => records.push(SnapshotRecord {
                collection: collection.to_owned(),
                rkey: rkey.to_owned(),
                cid,
                record,
            }),
            // As a live op whose record fails its lexicon: not indexed, the rest goes on.
            Err(_) => refused += 1,
        }
    }
    Ok(Snapshot {
        did: did.to_owned(),
        rev: v3.rev.clone(),
        commit: commit.cid,
        data: commit.data,
        host: host.to_owned(),
        handle: None,
        fetched_at: fetched_at.to_owned(),
        records,
        refused,
    })
}
