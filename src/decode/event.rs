//! The typed events a frame decodes into. Owned (no borrows from the frame), so they can move
//! to the writer threads while the frame's buffer is reused.

use cid::Cid;

use super::error::InvalidOp;
use crate::ipld::{Block, CarSlice};
use crate::records::Record;

/// One WebSocket message, decoded.
// A commit is a few hundred bytes inline (its ops live on the heap already); frames move a
// handful of times, so boxing it would cost an allocation per event for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Frame {
    /// `op = 1` with a type we understand (legacy types already mapped to their modern meaning).
    Event(TypedEvent),
    /// `op = -1`: the relay tells us something is wrong and will close.
    Error(ErrorFrame),
    /// A well-formed frame we deliberately do not apply (unknown `t`, legacy `#migrate`).
    Skipped(Skipped),
}

#[derive(Debug)]
pub enum TypedEvent {
    Commit(Commit),
    Sync(SyncEvent),
    Identity(Identity),
    Account(Account),
    Info(Info),
}

impl TypedEvent {
    /// The relay's sequence number; `#info` has none.
    pub fn seq(&self) -> Option<i64> {
        match self {
            TypedEvent::Commit(c) => Some(c.seq),
            TypedEvent::Sync(s) => Some(s.seq),
            TypedEvent::Identity(i) => Some(i.seq),
            TypedEvent::Account(a) => Some(a.seq),
            TypedEvent::Info(_) => None,
        }
    }

    /// The repo (account) the event is about; `#info` has none.
    pub fn did(&self) -> Option<&str> {
        match self {
            TypedEvent::Commit(c) => Some(&c.repo),
            TypedEvent::Sync(s) => Some(&s.did),
            TypedEvent::Identity(i) => Some(&i.did),
            TypedEvent::Account(a) => Some(&a.did),
            TypedEvent::Info(_) => None,
        }
    }

    /// The relay's `time` of the event, as sent (an atproto datetime).
    pub fn time(&self) -> Option<&str> {
        match self {
            TypedEvent::Commit(c) => Some(&c.time),
            TypedEvent::Sync(s) => Some(&s.time),
            TypedEvent::Identity(i) => Some(&i.time),
            TypedEvent::Account(a) => Some(&a.time),
            TypedEvent::Info(_) => None,
        }
    }

    /// The frame type, for logs and counters.
    pub fn kind(&self) -> &'static str {
        match self {
            TypedEvent::Commit(_) => "commit",
            TypedEvent::Sync(_) => "sync",
            TypedEvent::Identity(_) => "identity",
            TypedEvent::Account(_) => "account",
            TypedEvent::Info(_) => "info",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpAction {
    Create,
    Update,
    Delete,
}

impl OpAction {
    /// The lexicon's name of an action; `None` for any other.
    pub fn parse(s: &str) -> Option<OpAction> {
        match s {
            "create" => Some(OpAction::Create),
            "update" => Some(OpAction::Update),
            "delete" => Some(OpAction::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OpAction::Create => "create",
            OpAction::Update => "update",
            OpAction::Delete => "delete",
        }
    }
}

/// One repo operation whose record (for create and update) was found in the CAR slice, matched
/// its CID, and decoded and validated as its collection's record type.
#[derive(Debug, Clone)]
pub struct Op {
    pub action: OpAction,
    pub collection: String,
    pub rkey: String,
    pub cid: Option<Cid>,
    pub prev: Option<Cid>,
    /// `Some` for create and update, `None` for delete.
    pub record: Option<Record>,
}

impl Op {
    pub fn path(&self) -> String {
        format!("{}/{}", self.collection, self.rkey)
    }
}

#[derive(Debug)]
pub struct Commit {
    pub seq: i64,
    pub repo: String,
    pub commit: Cid,
    pub rev: String,
    pub since: Option<String>,
    /// Ops that decoded and validated, in the commit's order.
    pub ops: Vec<Op>,
    /// Ops we do not index, with the reason; the rest of the commit still applies.
    pub invalid: Vec<InvalidOp>,
    pub prev_data: Option<Cid>,
    /// The repo's MST root after this commit (its commit block's `data`); absent when the
    /// frame carried no blocks.
    pub data: Option<Cid>,
    pub time: String,
    pub too_big: bool,
    pub rebase: bool,
    /// Size of the CAR slice, for stats.
    pub blocks_len: usize,
    /// What verification needs (absent when the frame carried no blocks); dropped before the
    /// event is routed, so writers' queues never hold it.
    pub proof: Option<Box<Proof>>,
}

/// What checking a commit against its author's key and its own proof needs: the frame's CAR
/// slice, copied (a few KB), with where each block lies in it and whether it matched its CID
/// (so nothing is parsed or hashed twice), and every op as sent, the ones we do not index
/// included (the tree holds them all).
#[derive(Debug, Clone, PartialEq)]
pub struct Proof {
    pub car: Vec<u8>,
    pub roots: Vec<Cid>,
    pub blocks: Vec<ProofBlock>,
    pub ops: Vec<ProofOp>,
}

/// One block of [`Proof::car`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofBlock {
    pub cid: Cid,
    pub range: std::ops::Range<usize>,
    /// The bytes hash to the CID.
    pub valid: bool,
}

impl Proof {
    /// The slice again, borrowing from the copy, as it was parsed.
    pub fn car_slice(&self) -> CarSlice<'_> {
        CarSlice {
            roots: self.roots.clone(),
            blocks: self
                .blocks
                .iter()
                .filter_map(|b| {
                    self.car.get(b.range.clone()).map(|data| Block {
                        cid: b.cid,
                        data,
                        valid: b.valid,
                    })
                })
                .collect(),
        }
    }
}

/// An op as the frame states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofOp {
    /// `None` for an action the lexicon does not name.
    pub action: Option<OpAction>,
    pub path: String,
    pub cid: Option<Cid>,
    pub prev: Option<Cid>,
}

#[derive(Debug)]
pub struct SyncEvent {
    pub seq: i64,
    pub did: String,
    pub rev: String,
    pub time: String,
    /// The commit block's CID (the CAR slice's root).
    pub commit: Option<Cid>,
    /// The repo's MST root at this rev (the commit block's `data`).
    pub data: Option<Cid>,
    /// The CAR slice (the signed commit block), for verification; dropped before routing.
    pub proof: Option<Box<Proof>>,
}

#[derive(Debug)]
pub struct Identity {
    pub seq: i64,
    pub did: String,
    pub time: String,
    pub handle: Option<String>,
    /// Set when this came from a legacy `#handle` frame.
    pub legacy: bool,
}

/// The account statuses the lexicon names; anything else is kept as `Other` rather than lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountStatus {
    Takendown,
    Suspended,
    Deleted,
    Deactivated,
    Desynchronized,
    Throttled,
    Other(String),
}

impl AccountStatus {
    pub fn parse(s: &str) -> AccountStatus {
        match s {
            "takendown" => AccountStatus::Takendown,
            "suspended" => AccountStatus::Suspended,
            "deleted" => AccountStatus::Deleted,
            "deactivated" => AccountStatus::Deactivated,
            "desynchronized" => AccountStatus::Desynchronized,
            "throttled" => AccountStatus::Throttled,
            other => AccountStatus::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            AccountStatus::Takendown => "takendown",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Deleted => "deleted",
            AccountStatus::Deactivated => "deactivated",
            AccountStatus::Desynchronized => "desynchronized",
            AccountStatus::Throttled => "throttled",
            AccountStatus::Other(s) => s,
        }
    }
}

#[derive(Debug)]
pub struct Account {
    pub seq: i64,
    pub did: String,
    pub time: String,
    pub active: bool,
    pub status: Option<AccountStatus>,
    /// Set when this came from a legacy `#tombstone` frame.
    pub legacy: bool,
}

#[derive(Debug)]
pub struct Info {
    pub name: String,
    pub message: Option<String>,
}

/// `op = -1`. `FutureCursor` and `ConsumerTooSlow` are what relays send today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorFrame {
    FutureCursor(Option<String>),
    ConsumerTooSlow(Option<String>),
    Other {
        error: String,
        message: Option<String>,
    },
}

/// A frame we understood and chose not to apply, with the reason (counted by `t`).
#[derive(Debug)]
pub struct Skipped {
    pub t: String,
    pub seq: Option<i64>,
    pub did: Option<String>,
    pub reason: &'static str,
}
