//! `app.bsky.graph.starterpack`: a named pack of accounts (a list, usually a
//! `#referencelist`) and up to three feeds, for new users to follow at once. Profiles say which
//! pack brought them (`joinedViaStarterPack`).

use chrono::{DateTime, Utc};

use super::facet::{self, Facet};
use super::fields::{self, UNBOUNDED};
use super::{RecordError, STARTER_PACK};

#[derive(Debug, Clone, PartialEq)]
pub struct StarterPack {
    /// 1 to 500 bytes, at most 50 graphemes.
    pub name: String,
    pub description: Option<String>,
    pub description_facets: Vec<Facet>,
    /// The list of accounts, by AT-URI.
    pub list: String,
    /// The feeds (`feeds[].uri`, AT-URIs of feed generators), at most 3, in order.
    pub feeds: Vec<String>,
    pub created_at: DateTime<Utc>,
}

const NAME_MIN_BYTES: usize = 1;
const NAME_MAX_BYTES: usize = 500;
const NAME_MAX_GRAPHEMES: usize = 50;
const DESCRIPTION_MAX_BYTES: usize = 3000;
const DESCRIPTION_MAX_GRAPHEMES: usize = 300;
const MAX_FEEDS: usize = 3;

pub(crate) fn decode(bytes: &[u8]) -> Result<StarterPack, RecordError> {
    let m = fields::record(STARTER_PACK, bytes)?;
    let name = fields::req_text(
        &m,
        "name",
        NAME_MIN_BYTES,
        NAME_MAX_BYTES,
        NAME_MAX_GRAPHEMES,
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
    let feeds = fields::opt_array(&m, "feeds", MAX_FEEDS)?
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let item = fields::as_object("feeds", item)?;
            fields::req_at_uri(item, "uri").map_err(|e| fields::within("feeds", Some(i), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(StarterPack {
        name,
        description,
        description_facets,
        list: fields::req_at_uri(&m, "list")?,
        feeds,
        created_at: fields::created_at(&m)?,
    })
}
