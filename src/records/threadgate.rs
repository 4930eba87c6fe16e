//! `app.bsky.feed.threadgate`: who may reply in a thread, and which replies its author hid.
//! Its record key is the root post's, in the same repo: the gate of `at://D/app.bsky.feed.post/K`
//! is `at://D/app.bsky.feed.threadgate/K` ([`ThreadGate::uri_for_post`]).
//!
//! A gate naming another repo's post, or a post under another key, is still a valid record; the
//! reference AppView refuses to index it (`thread-gate.ts`), which the planner does with
//! [`ThreadGate::gates`].

use chrono::{DateTime, Utc};

use super::common::{same_repo_and_rkey, uri_parts};
use super::fields;
use super::{RecordError, POST, THREADGATE};

#[derive(Debug, Clone, PartialEq)]
pub struct ThreadGate {
    /// The root post gated, by AT-URI.
    pub post: String,
    /// Who may reply besides the author: `None` (the field absent) lets anyone reply,
    /// `Some(empty)` nobody; otherwise anyone any rule admits. At most 5 rules.
    pub allow: Option<Vec<ThreadGateRule>>,
    /// Replies the author hid (AT-URIs), at most 300.
    pub hidden_replies: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// A member of the `allow` union. The union is open: a rule we do not know admits nobody (as in
/// the reference, which ignores it) and is kept by its `$type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadGateRule {
    /// Accounts the root post mentions (`#mentionRule`).
    Mention,
    /// Accounts that follow the author (`#followerRule`).
    Follower,
    /// Accounts the author follows (`#followingRule`).
    Following,
    /// Accounts on a list (`#listRule`), by the list's AT-URI.
    List {
        list: String,
    },
    Unknown(String),
}

const MAX_RULES: usize = 5;
const MAX_HIDDEN_REPLIES: usize = 300;

impl ThreadGate {
    /// Whether this gate, whose own AT-URI is `gate_uri`, is the gate of its `post`: same repo
    /// and same record key. The reference AppView drops a threadgate that is not (it compares
    /// the hosts and record keys of the two URIs, not the collection of `post`), so an index
    /// that matches it stores and applies only gates for which this is true.
    pub fn gates(&self, gate_uri: &str) -> bool {
        same_repo_and_rkey(&self.post, gate_uri)
    }

    /// The AT-URI the gate of `post_uri` has, if `post_uri` names a post.
    pub fn uri_for_post(post_uri: &str) -> Option<String> {
        let p = uri_parts(post_uri)?;
        match (p.collection, p.rkey) {
            (Some(POST), Some(rkey)) => Some(format!("at://{}/{THREADGATE}/{rkey}", p.authority)),
            _ => None,
        }
    }

    /// Whether anyone may reply (no `allow` field at all).
    pub fn allows_anyone(&self) -> bool {
        self.allow.is_none()
    }

    /// The rules, or none when anyone may reply.
    pub fn rules(&self) -> &[ThreadGateRule] {
        self.allow.as_deref().unwrap_or_default()
    }

    /// The lists whose members may reply.
    pub fn lists(&self) -> impl Iterator<Item = &str> {
        self.rules().iter().filter_map(|r| match r {
            ThreadGateRule::List { list } => Some(list.as_str()),
            _ => None,
        })
    }

    /// Whether the author hid the reply `uri`.
    pub fn hides(&self, uri: &str) -> bool {
        self.hidden_replies.iter().any(|h| h == uri)
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Result<ThreadGate, RecordError> {
    let m = fields::record(THREADGATE, bytes)?;
    let allow = fields::opt_array(&m, "allow", MAX_RULES)?
        .map(|rules| {
            rules
                .iter()
                .enumerate()
                .map(|(i, r)| rule(r).map_err(|e| fields::within("allow", Some(i), e)))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let hidden_replies = fields::opt_strings(&m, "hiddenReplies", MAX_HIDDEN_REPLIES, |s| {
        fields::check_at_uri("hiddenReplies", s)
    })?
    .unwrap_or_default();
    Ok(ThreadGate {
        post: fields::req_at_uri(&m, "post")?,
        allow,
        hidden_replies,
        created_at: fields::created_at(&m)?,
    })
}

fn rule(value: &ipld_core::ipld::Ipld) -> Result<ThreadGateRule, RecordError> {
    let r = fields::as_object("allow", value)?;
    Ok(match fields::union_type(r) {
        Some("app.bsky.feed.threadgate#mentionRule") => ThreadGateRule::Mention,
        Some("app.bsky.feed.threadgate#followerRule") => ThreadGateRule::Follower,
        Some("app.bsky.feed.threadgate#followingRule") => ThreadGateRule::Following,
        Some("app.bsky.feed.threadgate#listRule") => ThreadGateRule::List {
            list: fields::req_at_uri(r, "list")?,
        },
        Some(other) => ThreadGateRule::Unknown(fields::open_value("allow", other)?),
        None => return Err(RecordError::field("allow", "union member without $type")),
    })
}
