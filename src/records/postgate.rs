//! `app.bsky.feed.postgate`: how a post may be embedded (quoted), and which quotes of it its
//! author detached. Its record key is the post's, in the same repo
//! ([`PostGate::uri_for_post`]).
//!
//! A gate naming another repo's post, or a post under another key, is still a valid record; the
//! reference AppView refuses to index it (`post-gate.ts`), which the planner does with
//! [`PostGate::gates`].

use chrono::{DateTime, Utc};

use super::common::{same_repo_and_rkey, uri_parts};
use super::fields;
use super::{RecordError, POST, POSTGATE};

#[derive(Debug, Clone, PartialEq)]
pub struct PostGate {
    /// The post gated, by AT-URI.
    pub post: String,
    /// Posts quoting this one that its author detached (AT-URIs), at most 50; empty when absent.
    pub detached_embedding_uris: Vec<String>,
    /// At most 5; empty or absent means anyone may embed the post.
    pub embedding_rules: Vec<PostGateRule>,
    pub created_at: DateTime<Utc>,
}

/// A member of the `embeddingRules` union, open: a rule we do not know is kept by its `$type`
/// and, as in the reference, has no effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostGateRule {
    /// No one else may embed the post (`#disableRule`).
    Disable,
    Unknown(String),
}

const MAX_DETACHED: usize = 50;
const MAX_RULES: usize = 5;

impl PostGate {
    /// Whether this gate, whose own AT-URI is `gate_uri`, is the gate of its `post`: same repo
    /// and same record key. The reference AppView drops a postgate that is not (comparing hosts
    /// and record keys, not the collection of `post`); an index that matches it stores and
    /// applies only gates for which this is true.
    pub fn gates(&self, gate_uri: &str) -> bool {
        same_repo_and_rkey(&self.post, gate_uri)
    }

    /// The AT-URI the gate of `post_uri` has, if `post_uri` names a post.
    pub fn uri_for_post(post_uri: &str) -> Option<String> {
        let p = uri_parts(post_uri)?;
        match (p.collection, p.rkey) {
            (Some(POST), Some(rkey)) => Some(format!("at://{}/{POSTGATE}/{rkey}", p.authority)),
            _ => None,
        }
    }

    /// Whether embedding is disabled (for anyone but the post's author, who may always quote
    /// their own post: that exception is the caller's to apply, as it knows the quoter).
    pub fn disables_embedding(&self) -> bool {
        self.embedding_rules.contains(&PostGateRule::Disable)
    }

    /// Whether the author detached the quoting post `uri`.
    pub fn detaches(&self, uri: &str) -> bool {
        self.detached_embedding_uris.iter().any(|d| d == uri)
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Result<PostGate, RecordError> {
    let m = fields::record(POSTGATE, bytes)?;
    let detached_embedding_uris =
        fields::opt_strings(&m, "detachedEmbeddingUris", MAX_DETACHED, |s| {
            fields::check_at_uri("detachedEmbeddingUris", s)
        })?
        .unwrap_or_default();
    let embedding_rules = fields::opt_array(&m, "embeddingRules", MAX_RULES)?
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let r = fields::as_object("embeddingRules", r)
                .map_err(|e| fields::within("embeddingRules", Some(i), e))?;
            Ok(match fields::union_type(r) {
                Some("app.bsky.feed.postgate#disableRule") => PostGateRule::Disable,
                Some(other) => PostGateRule::Unknown(fields::open_value("embeddingRules", other)?),
                None => {
                    return Err(RecordError::field(
                        "embeddingRules",
                        format!("item {i}: union member without $type"),
                    ))
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PostGate {
        post: fields::req_at_uri(&m, "post")?,
        detached_embedding_uris,
        embedding_rules,
        created_at: fields::created_at(&m)?,
    })
}
