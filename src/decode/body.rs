//! Frame bodies as the lexicon (`com.atproto.sync.subscribeRepos`) defines them, and their
//! conversion to typed events: structure first (serde), then syntax, then the CAR slice.

use cid::Cid;
use serde::Deserialize;

use super::error::{DecodeError, InvalidOp};
use super::event::{
    Account, AccountStatus, Commit, ErrorFrame, Identity, Info, Op, OpAction, Proof, ProofBlock,
    ProofOp, SyncEvent,
};
use super::limits::{MAX_BLOCKS_BYTES, MAX_OPS, MAX_SYNC_BLOCKS_BYTES};
use crate::ipld::CarSlice;
use crate::records::Record;
use crate::syntax;

type CborDecodeError = serde_ipld_dagcbor::DecodeError<std::convert::Infallible>;

fn shape(t: &'static str) -> impl FnOnce(CborDecodeError) -> DecodeError {
    move |e| DecodeError::BodyShape {
        t,
        reason: e.to_string(),
    }
}

fn invalid(t: &'static str, reason: impl std::fmt::Display) -> DecodeError {
    DecodeError::Invalid {
        t,
        reason: reason.to_string(),
    }
}

/// The fields every repo event shares, checked the same way everywhere.
fn check_common(t: &'static str, seq: i64, did: &str, time: &str) -> Result<(), DecodeError> {
    if seq < 0 {
        return Err(invalid(t, format!("negative seq {seq}")));
    }
    syntax::did(did).map_err(|e| invalid(t, e))?;
    syntax::parse_datetime(time).map_err(|e| invalid(t, format!("time: {e}")))?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCommit<'a> {
    seq: i64,
    repo: String,
    commit: Cid,
    rev: String,
    since: Option<String>,
    blocks: &'a [u8],
    ops: Vec<RawOp>,
    prev_data: Option<Cid>,
    time: String,
    #[serde(default)]
    too_big: bool,
    #[serde(default)]
    rebase: bool,
}

#[derive(Deserialize)]
struct RawOp {
    action: String,
    path: String,
    cid: Option<Cid>,
    prev: Option<Cid>,
}

pub(super) fn commit(body: &[u8], keep_proof: bool) -> Result<Commit, DecodeError> {
    const T: &str = "#commit";
    let raw: RawCommit = serde_ipld_dagcbor::from_slice(body).map_err(shape(T))?;
    check_common(T, raw.seq, &raw.repo, &raw.time)?;
    syntax::tid(&raw.rev).map_err(|e| invalid(T, format!("rev: {e}")))?;
    if let Some(since) = &raw.since {
        syntax::tid(since).map_err(|e| invalid(T, format!("since: {e}")))?;
    }
    if raw.ops.len() > MAX_OPS {
        return Err(DecodeError::TooManyOps(raw.ops.len()));
    }
    if raw.blocks.len() > MAX_BLOCKS_BYTES {
        return Err(DecodeError::BlocksTooLarge {
            got: raw.blocks.len(),
            max: MAX_BLOCKS_BYTES,
        });
    }
    // tooBig commits (deprecated) may come without blocks; their records are then missing.
    let (car, data) = if raw.blocks.is_empty() {
        (None, None)
    } else {
        let car = CarSlice::parse(raw.blocks)?;
        if car.roots[0] != raw.commit {
            return Err(invalid(T, "CAR root is not the commit CID"));
        }
        let data = check_commit_block(&car, &raw.commit, &raw.repo, &raw.rev)?;
        (Some(car), data)
    };
    let mut ops = Vec::with_capacity(raw.ops.len());
    let mut invalid_ops = Vec::new();
    // A damaged block no op reads (an MST node) does not stop the records, but is reported.
    if let Some(car) = &car {
        for bad in car.bad_blocks() {
            let named = raw.ops.iter().any(|op| op.cid == Some(bad.cid));
            if !named {
                invalid_ops.push(InvalidOp {
                    path: format!("block {}", bad.cid),
                    reason: "block does not match its CID (an MST node, not a record)".into(),
                });
            }
        }
    }
    let proof = car
        .as_ref()
        .filter(|_| keep_proof)
        .map(|car| Box::new(proof_of(raw.blocks, car, &raw.ops)));
    for op in raw.ops {
        match typed_op(op, car.as_ref()) {
            Ok(op) => ops.push(op),
            Err(bad) => invalid_ops.push(bad),
        }
    }
    Ok(Commit {
        seq: raw.seq,
        repo: raw.repo,
        commit: raw.commit,
        rev: raw.rev,
        since: raw.since,
        ops,
        invalid: invalid_ops,
        prev_data: raw.prev_data,
        data,
        time: raw.time,
        too_big: raw.too_big,
        rebase: raw.rebase,
        blocks_len: raw.blocks.len(),
        proof,
    })
}

/// Copies out of the slice what verification needs (see [`Proof`]).
fn proof_of(car_bytes: &[u8], car: &CarSlice<'_>, ops: &[RawOp]) -> Proof {
    let base = car_bytes.as_ptr() as usize;
    let blocks = car
        .blocks
        .iter()
        .map(|b| {
            // Every block borrows from `car_bytes`: its offset is its distance from the start.
            let start = (b.data.as_ptr() as usize).saturating_sub(base);
            ProofBlock {
                cid: b.cid,
                range: start..start + b.data.len(),
                valid: b.valid,
            }
        })
        .collect();
    let ops = ops
        .iter()
        .map(|op| ProofOp {
            action: OpAction::parse(&op.action),
            path: op.path.clone(),
            cid: op.cid,
            prev: op.prev,
        })
        .collect();
    Proof {
        car: car_bytes.to_vec(),
        roots: car.roots.clone(),
        blocks,
        ops,
    }
}

#[derive(Deserialize)]
struct CommitBlock<'a> {
    did: &'a str,
    rev: &'a str,
    version: u64,
    /// Always there in a real commit; a block without it is judged by verification, not here.
    #[serde(default)]
    data: Option<Cid>,
}

/// The signed commit block must be in the slice and name the same repo and rev as the frame:
/// otherwise the frame's claims about whose records these are have nothing behind them.
/// Returns the commit's `data` (the repo's MST root after it), which the next commit's
/// `prevData` must name.
fn check_commit_block(
    car: &CarSlice<'_>,
    cid: &Cid,
    repo: &str,
    rev: &str,
) -> Result<Option<Cid>, DecodeError> {
    const T: &str = "#commit";
    let bytes = car
        .get(cid)
        .map_err(|e| invalid(T, format!("commit block: {e}")))?;
    crate::ipld::cbor::validate_exact(bytes)
        .map_err(|e| invalid(T, format!("commit block: {e}")))?;
    let block: CommitBlock = serde_ipld_dagcbor::from_slice(bytes)
        .map_err(|e| invalid(T, format!("commit block: {e}")))?;
    if block.did != repo {
        return Err(invalid(T, "commit block is for another repo"));
    }
    if block.rev != rev {
        return Err(invalid(T, "commit block has another rev"));
    }
    if block.version != 3 && block.version != 2 {
        return Err(invalid(T, format!("commit version {}", block.version)));
    }
    Ok(block.data)
}

fn typed_op(op: RawOp, car: Option<&CarSlice<'_>>) -> Result<Op, InvalidOp> {
    let bad = |reason: String| InvalidOp {
        path: op.path.clone(),
        reason,
    };
    let action = OpAction::parse(&op.action)
        .ok_or_else(|| bad(format!("unknown action {:?}", op.action)))?;
    let (collection, rkey) = op
        .path
        .split_once('/')
        .ok_or_else(|| bad("path is not collection/rkey".into()))?;
    syntax::nsid(collection).map_err(|e| bad(e.to_string()))?;
    syntax::record_key(rkey).map_err(|e| bad(e.to_string()))?;
    let record = match action {
        OpAction::Delete => None,
        OpAction::Create | OpAction::Update => {
            let cid = op
                .cid
                .ok_or_else(|| bad(format!("{} without cid", action.as_str())))?;
            let car = car.ok_or_else(|| bad("record block not in the CAR slice".into()))?;
            let bytes = car.get(&cid).map_err(|e| bad(e.to_string()))?;
            Some(Record::decode(collection, bytes).map_err(|e| bad(e.to_string()))?)
        }
    };
    Ok(Op {
        action,
        collection: collection.to_owned(),
        rkey: rkey.to_owned(),
        cid: op.cid,
        prev: op.prev,
        record,
    })
}

#[derive(Deserialize)]
struct RawSync<'a> {
    seq: i64,
    did: String,
    blocks: &'a [u8],
    rev: String,
    time: String,
}

pub(super) fn sync(body: &[u8], keep_proof: bool) -> Result<SyncEvent, DecodeError> {
    const T: &str = "#sync";
    let raw: RawSync = serde_ipld_dagcbor::from_slice(body).map_err(shape(T))?;
    check_common(T, raw.seq, &raw.did, &raw.time)?;
    syntax::tid(&raw.rev).map_err(|e| invalid(T, format!("rev: {e}")))?;
    if raw.blocks.len() > MAX_SYNC_BLOCKS_BYTES {
        return Err(DecodeError::BlocksTooLarge {
            got: raw.blocks.len(),
            max: MAX_SYNC_BLOCKS_BYTES,
        });
    }
    let car = CarSlice::parse(raw.blocks)?;
    let commit = car.roots[0];
    // The repo's MST root at this rev, when the commit block says it plainly: what decides
    // whether the repo changed under us (verification checks the block itself).
    let data = serde_ipld_dagcbor::from_slice::<CommitBlock>(car.get(&commit)?)
        .ok()
        .filter(|b| b.did == raw.did && b.rev == raw.rev)
        .and_then(|b| b.data);
    Ok(SyncEvent {
        seq: raw.seq,
        did: raw.did,
        rev: raw.rev,
        time: raw.time,
        commit: Some(commit),
        data,
        proof: keep_proof.then(|| Box::new(proof_of(raw.blocks, &car, &[]))),
    })
}

#[derive(Deserialize)]
struct RawIdentity {
    seq: i64,
    did: String,
    time: String,
    handle: Option<String>,
}

pub(super) fn identity(body: &[u8], legacy: bool) -> Result<Identity, DecodeError> {
    let t = if legacy { "#handle" } else { "#identity" };
    let raw: RawIdentity = serde_ipld_dagcbor::from_slice(body).map_err(shape(t))?;
    check_common(t, raw.seq, &raw.did, &raw.time)?;
    if legacy && raw.handle.is_none() {
        return Err(invalid(t, "legacy #handle without handle"));
    }
    if let Some(handle) = &raw.handle {
        syntax::handle(handle).map_err(|e| invalid(t, e))?;
    }
    Ok(Identity {
        seq: raw.seq,
        did: raw.did,
        time: raw.time,
        handle: raw.handle,
        legacy,
    })
}

#[derive(Deserialize)]
struct RawAccount {
    seq: i64,
    did: String,
    time: String,
    active: bool,
    status: Option<String>,
}

pub(super) fn account(body: &[u8]) -> Result<Account, DecodeError> {
    const T: &str = "#account";
    let raw: RawAccount = serde_ipld_dagcbor::from_slice(body).map_err(shape(T))?;
    check_common(T, raw.seq, &raw.did, &raw.time)?;
    Ok(Account {
        seq: raw.seq,
        did: raw.did,
        time: raw.time,
        active: raw.active,
        status: raw.status.as_deref().map(AccountStatus::parse),
        legacy: false,
    })
}

#[derive(Deserialize)]
struct RawTombstone {
    seq: i64,
    did: String,
    time: String,
}

/// Legacy `#tombstone`: the account was deleted.
pub(super) fn tombstone(body: &[u8]) -> Result<Account, DecodeError> {
    const T: &str = "#tombstone";
    let raw: RawTombstone = serde_ipld_dagcbor::from_slice(body).map_err(shape(T))?;
    check_common(T, raw.seq, &raw.did, &raw.time)?;
    Ok(Account {
        seq: raw.seq,
        did: raw.did,
        time: raw.time,
        active: false,
        status: Some(AccountStatus::Deleted),
        legacy: true,
    })
}

/// Legacy `#migrate` only told consumers to look the DID up again; it changes nothing we keep.
pub(super) fn migrate(body: &[u8]) -> Result<(i64, String), DecodeError> {
    const T: &str = "#migrate";
    let raw: RawTombstone = serde_ipld_dagcbor::from_slice(body).map_err(shape(T))?;
    check_common(T, raw.seq, &raw.did, &raw.time)?;
    Ok((raw.seq, raw.did))
}

#[derive(Deserialize)]
struct RawInfo {
    name: String,
    message: Option<String>,
}

pub(super) fn info(body: &[u8]) -> Result<Info, DecodeError> {
    let raw: RawInfo = serde_ipld_dagcbor::from_slice(body).map_err(shape("#info"))?;
    Ok(Info {
        name: raw.name,
        message: raw.message,
    })
}

#[derive(Deserialize)]
struct RawError {
    error: String,
    message: Option<String>,
}

pub(super) fn error(body: &[u8]) -> Result<ErrorFrame, DecodeError> {
    let raw: RawError = serde_ipld_dagcbor::from_slice(body).map_err(shape("error"))?;
    Ok(match raw.error.as_str() {
        "FutureCursor" => ErrorFrame::FutureCursor(raw.message),
        "ConsumerTooSlow" => ErrorFrame::ConsumerTooSlow(raw.message),
        _ => ErrorFrame::Other {
            error: raw.error,
            message: raw.message,
        },
    })
}

/// Best-effort seq and DID of a body that failed to decode, for the log line: read from the
/// well-formed entries before any damage.
#[derive(Default)]
pub(super) struct Context {
    pub seq: Option<i64>,
    pub repo: Option<String>,
    pub did: Option<String>,
}

pub(super) fn context(body: &[u8]) -> Context {
    let mut ctx = Context::default();
    for (key, value) in crate::ipld::cbor::leading_map_entries(body) {
        match key {
            "seq" => ctx.seq = serde_ipld_dagcbor::from_slice(value).ok(),
            "repo" => ctx.repo = serde_ipld_dagcbor::from_slice(value).ok(),
            "did" => ctx.did = serde_ipld_dagcbor::from_slice(value).ok(),
            _ => {}
        }
    }
    // Damage in an entry that sorts first (`ops`) hides the rest from the walk above: look for
    // the encoded keys themselves. Only ever used to name the frame in a log line.
    if ctx.seq.is_none() {
        ctx.seq = after_key(body, b"\x63seq").and_then(leading_value);
    }
    if ctx.repo.is_none() && ctx.did.is_none() {
        ctx.repo = after_key(body, b"\x64repo")
            .or_else(|| after_key(body, b"\x63did"))
            .and_then(leading_value::<String>)
            .filter(|d| d.starts_with("did:"));
    }
    ctx
}

/// The bytes after the first occurrence of an encoded map key.
fn after_key<'a>(body: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = body.windows(key.len()).position(|w| w == key)?;
    Some(&body[at + key.len()..])
}

/// The CBOR value at the start of `bytes`, if it is whole and of type `T`.
fn leading_value<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let len = crate::ipld::cbor::validate_item(bytes).ok()?;
    serde_ipld_dagcbor::from_slice(&bytes[..len]).ok()
}
