//! `app.bsky.graph.listitem`: one account (by DID) on one list (by AT-URI).

use chrono::{DateTime, Utc};

use super::common::same_repo;
use super::fields;
use super::{RecordError, LIST_ITEM};

#[derive(Debug, Clone, PartialEq)]
pub struct ListItem {
    /// The account on the list.
    pub subject: String,
    /// The list (`app.bsky.graph.list`), by AT-URI.
    pub list: String,
    pub created_at: DateTime<Utc>,
}

impl ListItem {
    /// Whether the list is in the same repo as this list item, whose AT-URI is `item_uri`.
    ///
    /// Only the list's owner can put accounts on it; the reference AppView refuses (drops) a
    /// list item whose list is in another repo (`list-item.ts`: the list URI's host must be the
    /// item's). The record itself is valid per its lexicon, so decoding keeps it and the
    /// planner decides with this. A list named by handle rather than DID is in "another repo"
    /// here too, as in the reference, which compares the hosts as strings.
    pub fn in_list_owner_repo(&self, item_uri: &str) -> bool {
        same_repo(&self.list, item_uri)
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Result<ListItem, RecordError> {
    let m = fields::record(LIST_ITEM, bytes)?;
    Ok(ListItem {
        subject: fields::req_did(&m, "subject")?,
        list: fields::req_at_uri(&m, "list")?,
        created_at: fields::created_at(&m)?,
    })
}
