//! `app.bsky.feed.post`: text, reply refs, embeds (images, external, quote, quote with media,
//! video), facets (mentions, links, tags), languages, self-labels and tags.
//!
//! Unions (`embed`, facet features, `labels`) are dispatched on `$type`; a union member we do not
//! know is kept as `Unknown` rather than failing the post, because new embed types appear on the
//! network before any indexer knows them.

use chrono::{DateTime, Utc};
use ipld_core::ipld::Ipld;
use serde::Deserialize;

use super::common::{check_text, created_at, Blob, StrongRef};
use super::facet::{self, Facet, RawFacet};
use super::{check_type, from_cbor, RecordError, POST};
use crate::syntax;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReplyRef {
    pub root: StrongRef,
    pub parent: StrongRef,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Embed {
    Images(Vec<Blob>),
    External {
        uri: String,
    },
    /// A quote of another record.
    Record(StrongRef),
    RecordWithMedia {
        record: StrongRef,
        media: Box<Embed>,
    },
    Video(Blob),
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub langs: Vec<String>,
    pub reply: Option<ReplyRef>,
    pub embed: Option<Embed>,
    pub facets: Vec<Facet>,
    /// Self-label values (`com.atproto.label.defs#selfLabels`).
    pub labels: Vec<String>,
    pub tags: Vec<String>,
}

impl Post {
    /// The record this post quotes, if any.
    pub fn quote(&self) -> Option<&StrongRef> {
        match &self.embed {
            Some(Embed::Record(r)) | Some(Embed::RecordWithMedia { record: r, .. }) => Some(r),
            _ => None,
        }
    }
}

const MAX_TEXT_BYTES: usize = 3000;
const MAX_TEXT_GRAPHEMES: usize = 300;
const MAX_LANGS: usize = 3;
const MAX_TAGS: usize = 8;
const MAX_TAG_BYTES: usize = 640;
const MAX_TAG_GRAPHEMES: usize = 64;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw<'a> {
    #[serde(rename = "$type")]
    kind: Option<&'a str>,
    text: String,
    created_at: &'a str,
    #[serde(default)]
    langs: Vec<String>,
    reply: Option<ReplyRef>,
    embed: Option<Ipld>,
    #[serde(default)]
    facets: Vec<RawFacet>,
    labels: Option<Ipld>,
    #[serde(default)]
    tags: Vec<String>,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Post, RecordError> {
    let raw: Raw = from_cbor(POST, bytes)?;
    check_type(raw.kind, POST)?;
    check_text("text", &raw.text, MAX_TEXT_BYTES, MAX_TEXT_GRAPHEMES)?;
    if raw.langs.len() > MAX_LANGS {
        return Err(RecordError::field("langs", "more than 3 languages"));
    }
    for lang in &raw.langs {
        syntax::language(lang).map_err(|e| RecordError::field("langs", e))?;
    }
    if raw.tags.len() > MAX_TAGS {
        return Err(RecordError::field("tags", "more than 8 tags"));
    }
    for tag in &raw.tags {
        check_text("tags", tag, MAX_TAG_BYTES, MAX_TAG_GRAPHEMES)?;
    }
    if let Some(reply) = &raw.reply {
        reply.root.validate("reply.root")?;
        reply.parent.validate("reply.parent")?;
    }
    let embed = raw.embed.map(|e| embed(&e, 0)).transpose()?;
    let facets = raw
        .facets
        .into_iter()
        .map(|f| facet::decode("facets", f))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Post {
        created_at: created_at(raw.created_at)?,
        text: raw.text,
        langs: raw.langs,
        reply: raw.reply,
        embed,
        facets,
        labels: raw.labels.as_ref().map(self_labels).unwrap_or_default(),
        tags: raw.tags,
    })
}

/// The `$type` of a union member.
fn union_type(value: &Ipld) -> Option<&str> {
    match value {
        Ipld::Map(m) => match m.get("$type") {
            Some(Ipld::String(s)) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

fn field<'a>(value: &'a Ipld, name: &str) -> Option<&'a Ipld> {
    match value {
        Ipld::Map(m) => m.get(name),
        _ => None,
    }
}

fn typed<T: for<'de> Deserialize<'de>>(value: &Ipld, what: &'static str) -> Result<T, RecordError> {
    ipld_core::serde::from_ipld(value.clone()).map_err(|e| RecordError::field(what, e))
}

fn embed(value: &Ipld, depth: u8) -> Result<Embed, RecordError> {
    let kind = union_type(value).ok_or_else(|| RecordError::field("embed", "no $type"))?;
    let missing = |what: &str| RecordError::field("embed", format!("{kind} without {what}"));
    Ok(match kind {
        "app.bsky.embed.images" => {
            let images = match field(value, "images") {
                Some(Ipld::List(items)) => items,
                _ => return Err(missing("images")),
            };
            if images.len() > 4 {
                return Err(RecordError::field("embed", "more than 4 images"));
            }
            let blobs = images
                .iter()
                .map(|i| field(i, "image").ok_or_else(|| missing("image")))
                .map(|b| b.and_then(|b| typed::<Blob>(b, "embed.images")))
                .collect::<Result<Vec<_>, _>>()?;
            Embed::Images(blobs)
        }
        "app.bsky.embed.external" => {
            let uri = match field(value, "external").and_then(|e| field(e, "uri")) {
                Some(Ipld::String(s)) => s.clone(),
                _ => return Err(missing("external.uri")),
            };
            Embed::External { uri }
        }
        "app.bsky.embed.record" => {
            let r: StrongRef = typed(
                field(value, "record").ok_or_else(|| missing("record"))?,
                "embed.record",
            )?;
            r.validate("embed.record")?;
            Embed::Record(r)
        }
        "app.bsky.embed.recordWithMedia" => {
            let inner = field(value, "record")
                .and_then(|r| field(r, "record"))
                .ok_or_else(|| missing("record.record"))?;
            let r: StrongRef = typed(inner, "embed.record")?;
            r.validate("embed.record")?;
            // Media inside media is not in the lexicon; bound the recursion all the same.
            if depth > 0 {
                return Err(RecordError::field("embed", "nested recordWithMedia"));
            }
            let media = embed(
                field(value, "media").ok_or_else(|| missing("media"))?,
                depth + 1,
            )?;
            Embed::RecordWithMedia {
                record: r,
                media: Box::new(media),
            }
        }
        "app.bsky.embed.video" => Embed::Video(typed(
            field(value, "video").ok_or_else(|| missing("video"))?,
            "embed.video",
        )?),
        other => Embed::Unknown(other.to_owned()),
    })
}

fn self_labels(value: &Ipld) -> Vec<String> {
    match field(value, "values") {
        Some(Ipld::List(values)) => values
            .iter()
            .filter_map(|v| match field(v, "val") {
                Some(Ipld::String(s)) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
