//! `app.bsky.actor.profile` (record key `self`): display name, description, avatar and banner
//! blobs, pinned post, and the starter pack the account joined through.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::common::{check_text, Blob, StrongRef};
use super::{check_type, from_cbor, RecordError, PROFILE};
use crate::syntax;

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub avatar: Option<Blob>,
    pub banner: Option<Blob>,
    pub pinned_post: Option<StrongRef>,
    /// The starter pack (`app.bsky.graph.starterpack`) the account signed up through: its
    /// "joined" count, and the `starterpack-joined` notification of the pack's creator.
    pub joined_via_starter_pack: Option<StrongRef>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw<'a> {
    #[serde(rename = "$type")]
    kind: Option<&'a str>,
    display_name: Option<String>,
    description: Option<String>,
    avatar: Option<Blob>,
    banner: Option<Blob>,
    pinned_post: Option<StrongRef>,
    joined_via_starter_pack: Option<StrongRef>,
    created_at: Option<&'a str>,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Profile, RecordError> {
    let raw: Raw = from_cbor(PROFILE, bytes)?;
    check_type(raw.kind, PROFILE)?;
    if let Some(name) = &raw.display_name {
        check_text("displayName", name, 640, 64)?;
    }
    if let Some(description) = &raw.description {
        check_text("description", description, 2560, 256)?;
    }
    if let Some(pinned) = &raw.pinned_post {
        pinned.validate("pinnedPost")?;
    }
    if let Some(pack) = &raw.joined_via_starter_pack {
        pack.validate("joinedViaStarterPack")?;
    }
    let created_at = raw
        .created_at
        .map(syntax::parse_datetime)
        .transpose()
        .map_err(|e| RecordError::field("createdAt", e))?;
    Ok(Profile {
        display_name: raw.display_name,
        description: raw.description,
        avatar: raw.avatar,
        banner: raw.banner,
        pinned_post: raw.pinned_post,
        joined_via_starter_pack: raw.joined_via_starter_pack,
        created_at,
    })
}
