//! Helpers for the repository tests: a `#commit` or `#sync` frame's body read just far enough
//! to call the verifier (the decode stage keeps no CAR bytes in its events, and the repo layer
//! must not depend on it), from binary frames or from atproto-JSON bodies.

use cid::Cid;
use serde::Deserialize;
use skyindex::ipld::car::CarSlice;
use skyindex::repo::{Action, CommitFrame, RepoOp, SyncFrame};

use crate::decode_support::{encode, from_lex_json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    pub repo: Option<String>,
    pub did: Option<String>,
    pub rev: String,
    pub since: Option<String>,
    pub commit: Option<Cid>,
    #[serde(with = "serde_bytes")]
    pub blocks: Vec<u8>,
    #[serde(default)]
    pub ops: Vec<RawOp>,
    pub prev_data: Option<Cid>,
}

#[derive(Deserialize)]
pub struct RawOp {
    pub action: String,
    pub path: String,
    pub cid: Option<Cid>,
    pub prev: Option<Cid>,
}

/// The header's `t` and the body of a binary frame.
pub fn split_frame(frame: &[u8]) -> (String, &[u8]) {
    let n = skyindex::ipld::cbor::validate_item(frame).unwrap();
    #[derive(Deserialize)]
    struct Header {
        t: Option<String>,
    }
    let h: Header = serde_ipld_dagcbor::from_slice(&frame[..n]).unwrap();
    (h.t.unwrap_or_default(), &frame[n..])
}

pub fn body(bytes: &[u8]) -> Body {
    serde_ipld_dagcbor::from_slice(bytes).unwrap()
}

/// An atproto-JSON body (`$bytes`, `$link`), as the indigo fixtures write them.
pub fn body_from_json(value: &serde_json::Value) -> Body {
    body(&encode(&from_lex_json(value)))
}

impl Body {
    pub fn ops(&self) -> Vec<RepoOp<'_>> {
        self.ops
            .iter()
            .map(|o| RepoOp {
                action: Action::parse(&o.action).unwrap(),
                path: &o.path,
                cid: o.cid,
                prev: o.prev,
            })
            .collect()
    }

    pub fn commit_frame<'a>(
        &'a self,
        car: &'a CarSlice<'a>,
        ops: &'a [RepoOp<'a>],
    ) -> CommitFrame<'a> {
        CommitFrame {
            repo: self.repo.as_deref().unwrap(),
            rev: &self.rev,
            commit: self.commit.unwrap(),
            blocks: car,
            ops,
            prev_data: self.prev_data,
        }
    }

    pub fn sync_frame<'a>(&'a self, car: &'a CarSlice<'a>) -> SyncFrame<'a> {
        SyncFrame {
            did: self.did.as_deref().unwrap(),
            rev: &self.rev,
            blocks: car,
        }
    }
}
