//! Notifications derived from records, by the rules of the reference AppView's indexing plugins
//! (`packages/bsky/src/data-plane/server/indexing/plugins/*.ts` in bluesky-social/atproto;
//! README, "Notifications", lists each rule with its file), kept exact: a record's
//! notifications are written with it, go with it (deleted or replaced), and a replay, which
//! writes no record, writes none.
//!
//! Pure: the planner hands in what it knows (the record, its thread), this file says who is
//! told. [`Notifications`] collects a segment's changes per record.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};

use crate::changes::rows::NotificationRow;
use crate::changes::TableDiff;
use crate::records::{FacetFeature, Post, POST};

/// Ancestors a reply notifies: parent, grandparent, … up to this height (`post.ts` walks
/// `height < 5`).
pub(super) const MAX_REPLY_HEIGHT: usize = 4;

pub(super) const LIKE: &str = "like";
pub(super) const LIKE_VIA_REPOST: &str = "like-via-repost";
pub(super) const REPOST: &str = "repost";
pub(super) const REPOST_VIA_REPOST: &str = "repost-via-repost";
pub(super) const FOLLOW: &str = "follow";
pub(super) const MENTION: &str = "mention";
pub(super) const REPLY: &str = "reply";
pub(super) const QUOTE: &str = "quote";
pub(super) const VERIFIED: &str = "verified";
pub(super) const UNVERIFIED: &str = "unverified";
pub(super) const STARTERPACK_JOINED: &str = "starterpack-joined";

/// The DID an AT-URI's authority names, if it names one (`at://did:…/…`).
pub(super) fn did_of(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("at://")?;
    let did = rest.split('/').next()?;
    did.starts_with("did:").then_some(did)
}

/// The collection of an AT-URI (`at://DID/COLLECTION/RKEY`).
fn collection_of(uri: &str) -> Option<&str> {
    uri.strip_prefix("at://")?.split('/').nth(1)
}

/// The record that notifies: what every row it makes shares.
pub(super) struct Source<'a> {
    pub record_uri: &'a str,
    pub record_cid: &'a str,
    pub author: &'a str,
    pub sort_at: DateTime<Utc>,
}

impl Source<'_> {
    fn row(&self, recipient: &str, reason: &str, subject: Option<&str>) -> NotificationRow {
        NotificationRow {
            record_uri: self.record_uri.to_owned(),
            recipient_did: recipient.to_owned(),
            reason: reason.to_owned(),
            reason_subject: subject.map(str::to_owned),
            author_did: self.author.to_owned(),
            record_cid: self.record_cid.to_owned(),
            sort_at: self.sort_at,
        }
    }
}

/// A like or repost of `subject`, maybe via a repost (`like.ts`, `repost.ts`): the subject's
/// author, and the via repost's author. Nothing when the subject is the actor's own (not even
/// for the via: the reference returns early).
pub(super) fn for_subject(
    src: &Source<'_>,
    subject: &str,
    via: Option<&str>,
    reasons: (&str, &str),
) -> Vec<NotificationRow> {
    let Some(owner) = did_of(subject) else {
        return Vec::new();
    };
    if owner == src.author {
        return Vec::new();
    }
    let mut rows = vec![src.row(owner, reasons.0, Some(subject))];
    if let Some(via) = via {
        if let Some(reposter) = did_of(via).filter(|d| *d != src.author) {
            rows.push(src.row(reposter, reasons.1, Some(via)));
        }
    }
    rows
}

/// A follow (`follow.ts`): the account followed, never oneself (the reference tells a
/// self-follow to its author; README, "Notifications", lists this difference).
pub(super) fn for_follow(src: &Source<'_>, subject: &str) -> Vec<NotificationRow> {
    if subject == src.author {
        return Vec::new();
    }
    vec![src.row(subject, FOLLOW, None)]
}

/// A verification made (`verified`) or deleted (`unverified`) (`verification.ts`): the account
/// verified, never oneself.
pub(super) fn for_verification(
    src: &Source<'_>,
    subject: &str,
    reason: &str,
) -> Vec<NotificationRow> {
    if subject == src.author {
        return Vec::new();
    }
    vec![src.row(subject, reason, None)]
}

/// A profile created naming the starter pack it joined through (`profile.ts`): the pack's
/// owner, never oneself.
pub(super) fn for_starter_pack_join(src: &Source<'_>, pack: &str) -> Vec<NotificationRow> {
    match did_of(pack) {
        Some(owner) if owner != src.author => {
            vec![src.row(owner, STARTERPACK_JOINED, Some(pack))]
        }
        _ => Vec::new(),
    }
}

/// Where a post stands, for its notifications.
pub(super) struct Thread<'a> {
    /// The posts up the thread (URI, author), parent first; none for a reply its thread's
    /// gate refused.
    pub ancestors: &'a [(String, String)],
    /// The replies the thread's gate hides.
    pub hidden: &'a [String],
    /// The quoted post's postgate disables embedding.
    pub quote_refused: bool,
}

/// A post (`post.ts` `notifsForInsert`): one notification per account at most, in this order:
/// each mentioned account, the quoted post's author (a post quote its postgate allows), then
/// the authors of the posts up the thread (at most [`MAX_REPLY_HEIGHT`], and none past a
/// hidden reply). Never the post's own author.
pub(super) fn for_post(src: &Source<'_>, post: &Post, thread: &Thread<'_>) -> Vec<NotificationRow> {
    let mut told: HashSet<String> = HashSet::from([src.author.to_owned()]);
    let mut rows = Vec::new();
    for facet in &post.facets {
        for feature in &facet.features {
            if let FacetFeature::Mention { did } = feature {
                if told.insert(did.clone()) {
                    rows.push(src.row(did, MENTION, None));
                }
            }
        }
    }
    if let Some(quoted) = post.quote().filter(|_| !thread.quote_refused) {
        if collection_of(&quoted.uri) == Some(POST) {
            if let Some(author) = did_of(&quoted.uri) {
                if told.insert(author.to_owned()) {
                    rows.push(src.row(author, QUOTE, Some(&quoted.uri)));
                }
            }
        }
    }
    rows.extend(for_reply(src, thread.ancestors, thread.hidden, &mut told));
    rows
}

/// Reply notifications up the thread, skipping accounts already told; a hidden reply is told,
/// and no one above it.
pub(super) fn for_reply(
    src: &Source<'_>,
    ancestors: &[(String, String)],
    hidden: &[String],
    told: &mut HashSet<String>,
) -> Vec<NotificationRow> {
    let mut rows = Vec::new();
    for (uri, author) in ancestors.iter().take(MAX_REPLY_HEIGHT) {
        if told.insert(author.clone()) {
            rows.push(src.row(author, REPLY, Some(uri)));
        }
        if hidden.contains(uri) {
            break;
        }
    }
    rows
}

/// A segment's notification changes, per record (none at all when notifications are off).
#[derive(Debug)]
pub(super) struct Notifications {
    enabled: bool,
    /// Notifications of the segment's own records dated before this are not written (a
    /// snapshot's older records, `--notify-backfill`).
    quiet_before: Option<DateTime<Utc>>,
    pending: BTreeMap<String, Vec<NotificationRow>>,
    withdrawn: BTreeSet<String>,
}

impl Notifications {
    pub fn new(enabled: bool, quiet_before: Option<DateTime<Utc>>) -> Notifications {
        Notifications {
            enabled,
            quiet_before,
            pending: BTreeMap::new(),
            withdrawn: BTreeSet::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The record's notifications in the database go (it is deleted, replaced or recomputed),
    /// and any this segment made for it.
    pub fn withdraw(&mut self, record_uri: &str) {
        if !self.enabled {
            return;
        }
        self.pending.remove(record_uri);
        self.withdrawn.insert(record_uri.to_owned());
    }

    /// What this segment says the record's notifications are now: `None` when it has not
    /// touched them (the database's stand).
    pub fn current(&self, record_uri: &str) -> Option<&[NotificationRow]> {
        match self.pending.get(record_uri) {
            Some(rows) => Some(rows),
            None if self.withdrawn.contains(record_uri) => Some(&[]),
            None => None,
        }
    }

    /// The record's notifications, in place of any this segment made for it.
    pub fn set(&mut self, record_uri: &str, rows: Vec<NotificationRow>) {
        if !self.enabled {
            return;
        }
        if rows.is_empty() {
            self.pending.remove(record_uri);
        } else {
            self.pending.insert(record_uri.to_owned(), rows);
        }
    }

    /// A record of the segment's own: its notifications, but those dated before the quiet cut
    /// (a record it replaced was withdrawn all the same).
    pub fn set_own(&mut self, record_uri: &str, mut rows: Vec<NotificationRow>) {
        if let Some(cut) = self.quiet_before {
            rows.retain(|r| r.sort_at >= cut);
        }
        self.set(record_uri, rows);
    }

    /// Deletes by record (sorted), then the rows to insert (sorted by key): deterministic
    /// statements, in a stable lock order.
    pub fn finish(self) -> TableDiff<NotificationRow> {
        let mut insert: Vec<NotificationRow> = self.pending.into_values().flatten().collect();
        insert.sort_by(|a, b| {
            (&a.record_uri, &a.recipient_did, &a.reason).cmp(&(
                &b.record_uri,
                &b.recipient_did,
                &b.reason,
            ))
        });
        TableDiff {
            delete: self.withdrawn.into_iter().collect(),
            insert,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src<'a>(uri: &'a str, author: &'a str) -> Source<'a> {
        Source {
            record_uri: uri,
            record_cid: "bafy",
            author,
            sort_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn likes_of_ones_own_notify_no_one_not_even_the_via() {
        let s = src("at://did:plc:a/app.bsky.feed.like/1", "did:plc:a");
        let own = "at://did:plc:a/app.bsky.feed.post/1";
        let via = "at://did:plc:b/app.bsky.feed.repost/1";
        assert!(for_subject(&s, own, Some(via), (LIKE, LIKE_VIA_REPOST)).is_empty());
        let other = "at://did:plc:c/app.bsky.feed.post/1";
        let rows = for_subject(&s, other, Some(via), (LIKE, LIKE_VIA_REPOST));
        let told: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.recipient_did.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(told, [("did:plc:c", LIKE), ("did:plc:b", LIKE_VIA_REPOST)]);
    }

    #[test]
    fn replies_tell_each_account_once_and_never_the_author() {
        let s = src("at://did:plc:a/app.bsky.feed.post/9", "did:plc:a");
        let up = |u: &str, a: &str| (u.to_owned(), a.to_owned());
        let ancestors = [
            up("at://did:plc:b/app.bsky.feed.post/1", "did:plc:b"),
            up("at://did:plc:a/app.bsky.feed.post/2", "did:plc:a"),
            up("at://did:plc:b/app.bsky.feed.post/3", "did:plc:b"),
            up("at://did:plc:c/app.bsky.feed.post/4", "did:plc:c"),
            up("at://did:plc:d/app.bsky.feed.post/5", "did:plc:d"),
        ];
        let mut told = HashSet::from(["did:plc:a".to_owned()]);
        let rows = for_reply(&s, &ancestors, &[], &mut told);
        let recipients: Vec<&str> = rows.iter().map(|r| r.recipient_did.as_str()).collect();
        // The fifth ancestor is above the reference's reach.
        assert_eq!(recipients, ["did:plc:b", "did:plc:c"]);
        // A hidden reply is told, and the climb stops there (the author already told is
        // passed over, and still stops it).
        let hidden = ["at://did:plc:a/app.bsky.feed.post/2".to_owned()];
        let mut told = HashSet::from(["did:plc:a".to_owned()]);
        let rows = for_reply(&s, &ancestors, &hidden, &mut told);
        let recipients: Vec<&str> = rows.iter().map(|r| r.recipient_did.as_str()).collect();
        assert_eq!(recipients, ["did:plc:b"]);
    }

    #[test]
    fn withdrawn_then_set_deletes_then_inserts() {
        let mut n = Notifications::new(true, None);
        let s = src("at://did:plc:a/app.bsky.graph.follow/1", "did:plc:a");
        n.set(s.record_uri, for_follow(&s, "did:plc:b"));
        n.withdraw(s.record_uri);
        n.set(s.record_uri, for_follow(&s, "did:plc:c"));
        let diff = n.finish();
        assert_eq!(diff.delete, [s.record_uri.to_owned()]);
        assert_eq!(diff.insert.len(), 1);
        assert_eq!(diff.insert[0].recipient_did, "did:plc:c");
    }
}
