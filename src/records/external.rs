//! `app.bsky.embed.external`: a link card (URI, title, description, thumbnail). Used here by
//! `app.bsky.actor.status` embeds; posts keep only the URI of theirs (`Embed::External`).

use super::common::{check_no_nul, Blob};
use super::fields::{self, Map};
use super::RecordError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    pub uri: String,
    pub title: String,
    pub description: String,
    pub thumb: Option<Blob>,
}

/// Decodes the embed object (`{$type, external: {uri, title, description, thumb?}}`), errors
/// reported under `field`.
pub(super) fn decode(field: &'static str, embed: &Map) -> Result<External, RecordError> {
    let ext = fields::req_object(embed, "external").map_err(|e| fields::within(field, None, e))?;
    let text = |name: &'static str| -> Result<String, RecordError> {
        let s = fields::req_str(ext, name).map_err(|e| fields::within(field, None, e))?;
        check_no_nul(field, s)?;
        Ok(s.to_owned())
    };
    let uri = text("uri")?;
    fields::check_uri(field, &uri)?;
    Ok(External {
        uri,
        title: text("title")?,
        description: text("description")?,
        thumb: fields::opt_blob(ext, "thumb").map_err(|e| fields::within(field, None, e))?,
    })
}
