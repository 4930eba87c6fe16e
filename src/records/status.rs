//! `app.bsky.actor.status` (record key `self`): an account's status, today only "live" (it is
//! streaming), with an optional link card and how long it lasts.

use chrono::{DateTime, Utc};

use super::external::{self, External};
use super::fields;
use super::{RecordError, ACTOR_STATUS};

/// The status value the lexicon knows; the set is open.
pub const LIVE: &str = "app.bsky.actor.status#live";

#[derive(Debug, Clone, PartialEq)]
pub struct ActorStatus {
    /// [`LIVE`] or a value not known yet, as sent.
    pub status: String,
    pub embed: Option<StatusEmbed>,
    /// At least 1 when present.
    pub duration_minutes: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// The `embed` union, open: a member of a `$type` we do not know is kept by its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusEmbed {
    /// Boxed: a link card with its thumbnail blob is ten times the size of the other variant.
    External(Box<External>),
    Unknown(String),
}

pub(crate) fn decode(bytes: &[u8]) -> Result<ActorStatus, RecordError> {
    let m = fields::record(ACTOR_STATUS, bytes)?;
    let status = fields::open_value("status", fields::req_str(&m, "status")?)?;
    let embed = match fields::opt_object(&m, "embed")? {
        None => None,
        Some(e) => Some(match fields::union_type(e) {
            Some("app.bsky.embed.external") => {
                StatusEmbed::External(Box::new(external::decode("embed", e)?))
            }
            Some(other) => StatusEmbed::Unknown(fields::open_value("embed", other)?),
            None => return Err(RecordError::field("embed", "union member without $type")),
        }),
    };
    let duration_minutes = fields::opt_int(&m, "durationMinutes")?;
    if duration_minutes.is_some_and(|d| d < 1) {
        return Err(RecordError::field(
            "durationMinutes",
            "under the minimum of 1",
        ));
    }
    Ok(ActorStatus {
        status,
        embed,
        duration_minutes,
        created_at: fields::created_at(&m)?,
    })
}
