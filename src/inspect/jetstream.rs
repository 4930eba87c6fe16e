//! A decoded frame as Jetstream v1 events: `{did, time_us, kind, commit|identity|account}`, one
//! per commit op, so tools written for Jetstream can read a capture.
//!
//! Key order follows Jetstream's own output (its `expected_v1.jsonl` corpus): the envelope and
//! the `commit`/`identity`/`account` objects are structs here, serialised in declaration order;
//! records are `serde_json` maps, which (without `preserve_order`) sort keys bytewise, as Go's
//! JSON encoder does for the maps Jetstream renders records from. So lines can be diffed with
//! Jetstream's byte for byte, except `time_us`: Jetstream stamps the time it received the event,
//! which a capture does not keep, so ours is the event's own `time`.

use serde::Serialize;
use serde_json::Value;

use crate::decode::{Account, Commit, Identity, TypedEvent};
use crate::syntax;

#[derive(Debug, Serialize)]
pub struct Event<'a> {
    pub did: &'a str,
    pub time_us: i64,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitOp<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountBody<'a>>,
}

#[derive(Debug, Serialize)]
pub struct CommitOp<'a> {
    pub rev: &'a str,
    pub operation: &'static str,
    pub collection: &'a str,
    pub rkey: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct IdentityBody<'a> {
    pub did: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<&'a str>,
    pub seq: i64,
    pub time: &'a str,
}

#[derive(Debug, Serialize)]
pub struct AccountBody<'a> {
    pub active: bool,
    pub did: &'a str,
    pub seq: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'a str>,
    pub time: &'a str,
}

/// Microseconds since the epoch of an event's `time`; `None` only if it is not a datetime, which
/// decoding has already ruled out.
fn time_us(time: &str) -> Option<i64> {
    syntax::parse_datetime(time)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// The Jetstream events of one typed event: one per op of a commit, one for an identity or
/// account change, none for `#sync` and `#info` (Jetstream v1 has no kind for them). `None` when
/// the event's time is unreadable.
pub fn events(event: &TypedEvent) -> Option<Vec<Event<'_>>> {
    Some(match event {
        TypedEvent::Commit(c) => commit_events(c)?,
        TypedEvent::Identity(i) => vec![identity_event(i)?],
        TypedEvent::Account(a) => vec![account_event(a)?],
        TypedEvent::Sync(_) | TypedEvent::Info(_) => Vec::new(),
    })
}

fn commit_events(c: &Commit) -> Option<Vec<Event<'_>>> {
    let time_us = time_us(&c.time)?;
    Some(
        c.ops
            .iter()
            .map(|op| Event {
                did: &c.repo,
                time_us,
                kind: "commit",
                commit: Some(CommitOp {
                    rev: &c.rev,
                    operation: op.action.as_str(),
                    collection: &op.collection,
                    rkey: &op.rkey,
                    record: op.record.as_ref().map(|r| r.lex_json()),
                    // A delete's op carries no cid; Jetstream leaves it out too.
                    cid: op.record.as_ref().and(op.cid).map(|c| c.to_string()),
                }),
                identity: None,
                account: None,
            })
            .collect(),
    )
}

fn identity_event(i: &Identity) -> Option<Event<'_>> {
    Some(Event {
        did: &i.did,
        time_us: time_us(&i.time)?,
        kind: "identity",
        commit: None,
        identity: Some(IdentityBody {
            did: &i.did,
            handle: i.handle.as_deref(),
            seq: i.seq,
            time: &i.time,
        }),
        account: None,
    })
}

fn account_event(a: &Account) -> Option<Event<'_>> {
    Some(Event {
        did: &a.did,
        time_us: time_us(&a.time)?,
        kind: "account",
        commit: None,
        identity: None,
        account: Some(AccountBody {
            active: a.active,
            did: &a.did,
            seq: a.seq,
            status: a.status.as_ref().map(|s| s.as_str()),
            time: &a.time,
        }),
    })
}
