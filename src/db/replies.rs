//! A reply's place in its thread as the writers load it: the same columns for the replies below
//! a changed post and for those a gate judges again.

use chrono::{DateTime, Utc};

use crate::changes::Descendant;

/// The columns of a reply as [`BelowRow`] holds them.
macro_rules! reply_columns {
    () => {
        (
            $crate::schema::posts::uri,
            $crate::schema::posts::cid,
            $crate::schema::posts::author_did,
            $crate::schema::posts::parent_uri,
            $crate::schema::posts::created_at,
            $crate::schema::posts::indexed_at,
            $crate::schema::posts::violates_thread_gate,
        )
    };
}
pub(super) use reply_columns;

/// A reply as loaded, for its place in the thread (`None` for a post that is no reply).
pub(super) fn reply_of(row: BelowRow) -> Option<Descendant> {
    let (uri, cid, author, parent, created_at, indexed_at, violates) = row;
    Some(Descendant {
        uri,
        cid,
        author,
        parent_uri: parent?,
        sort_at: created_at.min(indexed_at),
        violates_thread_gate: violates,
    })
}

/// A reply as loaded: URI, CID, author, parent, createdAt, indexedAt, whether its gate refused
/// it.
pub(super) type BelowRow = (
    String,
    String,
    String,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
    bool,
);
