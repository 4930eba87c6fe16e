//! `app.bsky.graph.list`: a named list of accounts, for moderation (`#modlist`: mute or block
//! them all), curation (`#curatelist`: list feeds, reply gates) or reference (`#referencelist`:
//! starter packs). Members are `app.bsky.graph.listitem` records in the list owner's repo.

use chrono::{DateTime, Utc};

use super::common::Blob;
use super::facet::{self, Facet};
use super::fields::{self, UNBOUNDED};
use super::{RecordError, LIST};

/// The purposes the lexicon knows (`app.bsky.graph.defs#listPurpose`). The set is open, so
/// [`List::purpose`] may hold another value.
pub const MODLIST: &str = "app.bsky.graph.defs#modlist";
pub const CURATELIST: &str = "app.bsky.graph.defs#curatelist";
pub const REFERENCELIST: &str = "app.bsky.graph.defs#referencelist";

#[derive(Debug, Clone, PartialEq)]
pub struct List {
    /// 1 to 64 bytes.
    pub name: String,
    /// One of [`MODLIST`], [`CURATELIST`], [`REFERENCELIST`], or a value the lexicon does not
    /// know yet, kept as sent.
    pub purpose: String,
    pub description: Option<String>,
    pub description_facets: Vec<Facet>,
    pub avatar: Option<Blob>,
    /// Self-label values.
    pub labels: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl List {
    /// A moderation list: subscribing to it mutes or blocks its members.
    pub fn is_modlist(&self) -> bool {
        self.purpose == MODLIST
    }
}

const NAME_MIN_BYTES: usize = 1;
const NAME_MAX_BYTES: usize = 64;
const DESCRIPTION_MAX_BYTES: usize = 3000;
const DESCRIPTION_MAX_GRAPHEMES: usize = 300;

pub(crate) fn decode(bytes: &[u8]) -> Result<List, RecordError> {
    let m = fields::record(LIST, bytes)?;
    let name = fields::req_text(
        &m,
        "name",
        NAME_MIN_BYTES,
        NAME_MAX_BYTES,
        fields::NO_GRAPHEME_LIMIT,
    )?;
    let purpose = fields::open_value("purpose", fields::req_str(&m, "purpose")?)?;
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
    Ok(List {
        name,
        purpose,
        description,
        description_facets,
        avatar: fields::opt_blob(&m, "avatar")?,
        labels: fields::self_labels(&m)?,
        created_at: fields::created_at(&m)?,
    })
}
