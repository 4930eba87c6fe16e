//! `app.bsky.notification.declaration` (record key `self`): who may subscribe to an account's
//! activity. No record means `followers`.

use super::fields;
use super::{RecordError, NOTIFICATION_DECLARATION};

/// The values the lexicon knows; the set is open.
pub const FOLLOWERS: &str = "followers";
pub const MUTUALS: &str = "mutuals";
pub const NONE: &str = "none";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationDeclaration {
    /// [`FOLLOWERS`], [`MUTUALS`], [`NONE`], or a value not known yet, as sent.
    pub allow_subscriptions: String,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<NotificationDeclaration, RecordError> {
    let m = fields::record(NOTIFICATION_DECLARATION, bytes)?;
    Ok(NotificationDeclaration {
        allow_subscriptions: fields::open_value(
            "allowSubscriptions",
            fields::req_str(&m, "allowSubscriptions")?,
        )?,
    })
}
