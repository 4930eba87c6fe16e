//! `app.bsky.richtext.facet`: a byte range of some text and what it is (a mention of an account,
//! a link, a hashtag). Posts carry them on their text, and lists, feed generators and starter
//! packs on their descriptions (`descriptionFacets`).
//!
//! `features` is an open union: a feature we do not know is kept as `Unknown`, not an error.

use ipld_core::ipld::Ipld;
use serde::Deserialize;

use super::common::check_no_nul;
use super::RecordError;
use crate::syntax;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FacetFeature {
    Mention { did: String },
    Link { uri: String },
    Tag { tag: String },
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facet {
    pub byte_start: u64,
    pub byte_end: u64,
    pub features: Vec<FacetFeature>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawFacet {
    index: ByteSlice,
    features: Vec<Ipld>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ByteSlice {
    byte_start: u64,
    byte_end: u64,
}

/// The facets of an array value (`descriptionFacets`), errors reported under `field`.
pub(super) fn decode_all(field: &'static str, items: &[Ipld]) -> Result<Vec<Facet>, RecordError> {
    items
        .iter()
        .map(|item| {
            let raw: RawFacet = ipld_core::serde::from_ipld(item.clone())
                .map_err(|e| RecordError::field(field, e))?;
            decode(field, raw)
        })
        .collect()
}

pub(super) fn decode(field: &'static str, raw: RawFacet) -> Result<Facet, RecordError> {
    let features = raw
        .features
        .iter()
        .map(|f| {
            let kind = union_type(f).unwrap_or("");
            let text = |name: &str| match member(f, name) {
                Some(Ipld::String(s)) => Ok(s.clone()),
                _ => Err(RecordError::field(field, format!("{kind} without {name}"))),
            };
            Ok(match kind {
                "app.bsky.richtext.facet#mention" => {
                    let did = text("did")?;
                    syntax::did(&did).map_err(|e| RecordError::field(field, e))?;
                    FacetFeature::Mention { did }
                }
                "app.bsky.richtext.facet#link" => FacetFeature::Link { uri: text("uri")? },
                "app.bsky.richtext.facet#tag" => {
                    let tag = text("tag")?;
                    check_no_nul(field, &tag)?;
                    FacetFeature::Tag { tag }
                }
                other => FacetFeature::Unknown(other.to_owned()),
            })
        })
        .collect::<Result<Vec<_>, RecordError>>()?;
    Ok(Facet {
        byte_start: raw.index.byte_start,
        byte_end: raw.index.byte_end,
        features,
    })
}

fn union_type(value: &Ipld) -> Option<&str> {
    match member(value, "$type") {
        Some(Ipld::String(s)) => Some(s),
        _ => None,
    }
}

fn member<'a>(value: &'a Ipld, name: &str) -> Option<&'a Ipld> {
    match value {
        Ipld::Map(m) => m.get(name),
        _ => None,
    }
}
