//! `chat.bsky.actor.declaration` (record key `self`): who may start a chat with an account, and
//! invite it to group chats.
//!
//! The reference AppView skips lexicon validation for this collection (`chat-declaration.ts`)
//! and keeps any record; we validate it like every typed record, so a declaration without
//! `allowIncoming`, or with a non-string one, is refused here where the reference keeps it.

use super::fields;
use super::{RecordError, CHAT_DECLARATION};

/// The values the lexicon knows for both fields; the set is open.
pub const ALL: &str = "all";
pub const NONE: &str = "none";
pub const FOLLOWING: &str = "following";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatDeclaration {
    /// [`ALL`], [`NONE`], [`FOLLOWING`], or a value not known yet, as sent.
    pub allow_incoming: String,
    /// Likewise, for group chat invitations; absent when not declared.
    pub allow_group_invites: Option<String>,
}

pub(crate) fn decode(bytes: &[u8]) -> Result<ChatDeclaration, RecordError> {
    let m = fields::record(CHAT_DECLARATION, bytes)?;
    Ok(ChatDeclaration {
        allow_incoming: fields::open_value("allowIncoming", fields::req_str(&m, "allowIncoming")?)?,
        allow_group_invites: fields::opt_str(&m, "allowGroupInvites")?
            .map(|s| fields::open_value("allowGroupInvites", s))
            .transpose()?,
    })
}
