//! `app.bsky.feed.generator`: a custom feed, served by the feed generator service `did`,
//! declared by whoever publishes it (record key: any). Likes of it are counted on it.

use chrono::{DateTime, Utc};

use super::common::Blob;
use super::facet::{self, Facet};
use super::fields::{self, UNBOUNDED};
use super::{RecordError, FEED_GENERATOR};

/// The content modes the lexicon knows; the set is open.
pub const CONTENT_MODE_UNSPECIFIED: &str = "app.bsky.feed.defs#contentModeUnspecified";
pub const CONTENT_MODE_VIDEO: &str = "app.bsky.feed.defs#contentModeVideo";

#[derive(Debug, Clone, PartialEq)]
pub struct FeedGenerator {
    /// The DID of the service that serves the feed.
    pub did: String,
    /// At most 240 bytes and 24 graphemes.
    pub display_name: String,
    pub description: Option<String>,
    pub description_facets: Vec<Facet>,
    pub avatar: Option<Blob>,
    /// Whether the feed takes interaction feedback (`app.bsky.feed.sendInteractions`); absent is
    /// not the same as `false` to a client, so it stays optional.
    pub accepts_interactions: Option<bool>,
    /// [`CONTENT_MODE_UNSPECIFIED`], [`CONTENT_MODE_VIDEO`] or a value not known yet, as sent.
    pub content_mode: Option<String>,
    /// Self-label values.
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
}

const DISPLAY_NAME_MAX_BYTES: usize = 240;
const DISPLAY_NAME_MAX_GRAPHEMES: usize = 24;
const DESCRIPTION_MAX_BYTES: usize = 3000;
const DESCRIPTION_MAX_GRAPHEMES: usize = 300;

pub(crate) fn decode(bytes: &[u8]) -> Result<FeedGenerator, RecordError> {
    let m = fields::record(FEED_GENERATOR, bytes)?;
    let display_name = fields::req_text(
        &m,
        "displayName",
        0,
        DISPLAY_NAME_MAX_BYTES,
        DISPLAY_NAME_MAX_GRAPHEMES,
    )?;
    let description = fields::opt_text(
        &m,
        "description",
        DESCRIPTION_MAX_BYTES,
        DESCRIPTION_MAX_GRAPHEMES,
    )?;
    let description_facets = match fields::opt_array(&m, "descriptionFacets", UNBOUNDED)? {
        Some(items) => facet::decode_all("descriptionFacets", items)?,
        None => Vec::new(),
    };
    let content_mode = fields::opt_str(&m, "contentMode")?
        .map(|s| fields::open_value("contentMode", s))
        .transpose()?;
    Ok(FeedGenerator {
        did: fields::req_did(&m, "did")?,
        display_name,
        description,
        description_facets,
        avatar: fields::opt_blob(&m, "avatar")?,
        accepts_interactions: fields::opt_bool(&m, "acceptsInteractions")?,
        content_mode,
        labels: fields::self_labels(&m)?,
        created_at: fields::created_at(&m)?,
    })
}
