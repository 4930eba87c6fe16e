//! Rows built from typed records: what the planner puts in each table.

use chrono::{DateTime, Utc};

use crate::changes::rows::{FeedItemRow, LikeRow, PostRow, ProfileColumns, RepostRow};
use crate::changes::TableDiff;
use crate::records::{self, Post, Profile, Record, RecordValue};

pub(super) fn post_row(
    uri: &str,
    did: &str,
    cid: &str,
    post: &Post,
    record: Option<&Record>,
    time: DateTime<Utc>,
) -> PostRow {
    let reply = post.reply.as_ref();
    let quote = post.quote();
    // jsonb columns hold the record's own lex-JSON, unknown fields and all.
    let (embed, facets) = match record {
        Some(r) if post.embed.is_some() || !post.facets.is_empty() => {
            let mut json = r.lex_json();
            (
                json.get_mut("embed").map(serde_json::Value::take),
                json.get_mut("facets").map(serde_json::Value::take),
            )
        }
        _ => (None, None),
    };
    PostRow {
        uri: uri.to_owned(),
        cid: cid.to_owned(),
        author_did: did.to_owned(),
        text: post.text.clone(),
        langs: post.langs.iter().cloned().map(Some).collect(),
        parent_uri: reply.map(|r| r.parent.uri.clone()),
        parent_cid: reply.map(|r| r.parent.cid.clone()),
        root_uri: reply.map(|r| r.root.uri.clone()),
        root_cid: reply.map(|r| r.root.cid.clone()),
        quote_uri: quote.map(|q| q.uri.clone()),
        quote_cid: quote.map(|q| q.cid.clone()),
        embed,
        facets,
        labels: post.labels.iter().cloned().map(Some).collect(),
        tags: post.tags.iter().cloned().map(Some).collect(),
        created_at: post.created_at,
        indexed_at: time,
        violates_thread_gate: false,
        violates_embedding_rules: false,
    }
}

pub(super) fn like_row(
    uri: &str,
    did: &str,
    cid: &str,
    like: &records::Like,
    time: DateTime<Utc>,
) -> LikeRow {
    LikeRow {
        uri: uri.to_owned(),
        cid: cid.to_owned(),
        user_did: did.to_owned(),
        post_uri: like.subject.uri.clone(),
        subject_cid: like.subject.cid.clone(),
        via_uri: like.via.as_ref().map(|v| v.uri.clone()),
        created_at: like.created_at,
        indexed_at: time,
    }
}

pub(super) fn repost_row(
    uri: &str,
    did: &str,
    cid: &str,
    repost: &records::Repost,
    time: DateTime<Utc>,
) -> RepostRow {
    RepostRow {
        uri: uri.to_owned(),
        cid: cid.to_owned(),
        user_did: did.to_owned(),
        post_uri: repost.subject.uri.clone(),
        subject_cid: repost.subject.cid.clone(),
        via_uri: repost.via.as_ref().map(|v| v.uri.clone()),
        created_at: repost.created_at,
        indexed_at: time,
    }
}

pub(super) fn profile_columns(
    cid: &str,
    profile: &Profile,
    record: Option<&Record>,
) -> ProfileColumns {
    ProfileColumns {
        display_name: profile.display_name.clone(),
        description: profile.description.clone(),
        avatar_cid: profile.avatar.as_ref().and_then(|b| b.cid_string()),
        banner_cid: profile.banner.as_ref().and_then(|b| b.cid_string()),
        pinned_post_uri: profile.pinned_post.as_ref().map(|p| p.uri.clone()),
        joined_via_starter_pack_uri: profile
            .joined_via_starter_pack
            .as_ref()
            .map(|p| p.uri.clone()),
        profile_cid: Some(cid.to_owned()),
        profile_record: record.map(Record::lex_json),
    }
}

pub(super) fn created_at_of(value: &RecordValue) -> Option<DateTime<Utc>> {
    value.created_at()
}

/// Feed items follow posts and reposts row for row: same URI, deleted and inserted with them.
pub(super) fn feed_items(
    posts: &TableDiff<PostRow>,
    reposts: &TableDiff<RepostRow>,
) -> TableDiff<FeedItemRow> {
    let mut delete: Vec<String> = posts
        .delete
        .iter()
        .chain(&reposts.delete)
        .cloned()
        .collect();
    delete.sort();
    let mut insert: Vec<FeedItemRow> = posts
        .insert
        .iter()
        .map(|p| FeedItemRow {
            uri: p.uri.clone(),
            post_uri: p.uri.clone(),
            originator_did: p.author_did.clone(),
            kind: "post".into(),
            sort_at: p.created_at.min(p.indexed_at),
            cid: p.cid.clone(),
        })
        .chain(reposts.insert.iter().map(|r| FeedItemRow {
            uri: r.uri.clone(),
            post_uri: r.post_uri.clone(),
            originator_did: r.user_did.clone(),
            kind: "repost".into(),
            sort_at: r.created_at.min(r.indexed_at),
            cid: r.cid.clone(),
        }))
        .collect();
    insert.sort_by(|a, b| a.uri.cmp(&b.uri));
    TableDiff { delete, insert }
}
