//! Rows of the later kinds built from typed records (list items aside, see `rows`): the
//! columns an AppView queries by, and the whole record as lex-JSON beside them.

use chrono::{DateTime, Utc};

use crate::changes::kinds::{
    ActorStatusRow, ChatDeclarationRow, FeedGeneratorRow, LabelerServiceRow, ListBlockRow,
    ListItemRow, ListRow, NotificationDeclarationRow, PostgateRow, StarterPackRow, ThreadgateRow,
    VerificationRow,
};
use crate::changes::{Kind, KindRow};
use crate::records::{ListItem, Record, RecordValue};

/// Where a row comes from: its record's identity and the time it was indexed.
pub(super) struct Origin<'a> {
    pub uri: &'a str,
    pub did: &'a str,
    pub cid: &'a str,
    pub time: DateTime<Utc>,
}

fn some_all(v: &[String]) -> Vec<Option<String>> {
    v.iter().cloned().map(Some).collect()
}

/// The row of `value` in `kind`'s table; `None` when the value is not of that kind (decoding
/// pairs each collection with its type, so that does not happen).
pub(super) fn kind_row(
    kind: Kind,
    o: &Origin<'_>,
    value: &RecordValue,
    record: &Record,
) -> Option<KindRow> {
    let (uri, cid, author_did) = (o.uri.to_owned(), o.cid.to_owned(), o.did.to_owned());
    let json = record.lex_json();
    let indexed_at = o.time;
    Some(match (kind, value) {
        (Kind::Lists, RecordValue::List(l)) => KindRow::List(ListRow {
            uri,
            cid,
            author_did,
            name: l.name.clone(),
            purpose: l.purpose.clone(),
            description: l.description.clone(),
            avatar_cid: l.avatar.as_ref().and_then(|b| b.cid_string()),
            record: json,
            created_at: l.created_at,
            indexed_at,
        }),
        (Kind::ListBlocks, RecordValue::ListBlock(b)) => KindRow::ListBlock(ListBlockRow {
            uri,
            cid,
            author_did,
            list_uri: b.subject.clone(),
            record: json,
            created_at: b.created_at,
            indexed_at,
        }),
        (Kind::StarterPacks, RecordValue::StarterPack(s)) => KindRow::StarterPack(StarterPackRow {
            uri,
            cid,
            author_did,
            name: s.name.clone(),
            description: s.description.clone(),
            list_uri: s.list.clone(),
            feed_uris: some_all(&s.feeds),
            record: json,
            created_at: s.created_at,
            indexed_at,
        }),
        (Kind::FeedGenerators, RecordValue::FeedGenerator(g)) => {
            KindRow::FeedGenerator(FeedGeneratorRow {
                uri,
                cid,
                author_did,
                feed_did: g.did.clone(),
                display_name: g.display_name.clone(),
                description: g.description.clone(),
                avatar_cid: g.avatar.as_ref().and_then(|b| b.cid_string()),
                accepts_interactions: g.accepts_interactions,
                content_mode: g.content_mode.clone(),
                record: json,
                created_at: g.created_at,
                indexed_at,
            })
        }
        (Kind::LabelerServices, RecordValue::LabelerService(l)) => {
            KindRow::LabelerService(LabelerServiceRow {
                uri,
                cid,
                author_did,
                label_values: some_all(&l.policies.label_values),
                record: json,
                created_at: l.created_at,
                indexed_at,
            })
        }
        (Kind::Verifications, RecordValue::Verification(v)) => {
            KindRow::Verification(VerificationRow {
                uri,
                cid,
                author_did,
                subject_did: v.subject.clone(),
                handle: v.handle.clone(),
                display_name: v.display_name.clone(),
                record: json,
                created_at: v.created_at,
                indexed_at,
            })
        }
        (Kind::ActorStatuses, RecordValue::ActorStatus(s)) => {
            KindRow::ActorStatus(ActorStatusRow {
                uri,
                cid,
                author_did,
                status: s.status.clone(),
                duration_minutes: s.duration_minutes,
                record: json,
                created_at: s.created_at,
                indexed_at,
            })
        }
        (Kind::NotificationDeclarations, RecordValue::NotificationDeclaration(d)) => {
            KindRow::NotificationDeclaration(NotificationDeclarationRow {
                uri,
                cid,
                author_did,
                allow_subscriptions: d.allow_subscriptions.clone(),
                record: json,
                indexed_at,
            })
        }
        (Kind::ChatDeclarations, RecordValue::ChatDeclaration(d)) => {
            KindRow::ChatDeclaration(ChatDeclarationRow {
                uri,
                cid,
                author_did,
                allow_incoming: d.allow_incoming.clone(),
                allow_group_invites: d.allow_group_invites.clone(),
                record: json,
                indexed_at,
            })
        }
        (Kind::Threadgates, RecordValue::ThreadGate(t)) => {
            // The rules as the record states them: absent (anyone) is not [] (no one).
            let allow = json.get("allow").cloned();
            KindRow::Threadgate(ThreadgateRow {
                uri,
                cid,
                author_did,
                post_uri: t.post.clone(),
                allow,
                hidden_replies: some_all(&t.hidden_replies),
                record: json,
                created_at: t.created_at,
                indexed_at,
            })
        }
        (Kind::Postgates, RecordValue::PostGate(p)) => KindRow::Postgate(PostgateRow {
            uri,
            cid,
            author_did,
            post_uri: p.post.clone(),
            detached_embedding_uris: some_all(&p.detached_embedding_uris),
            embedding_disabled: p.disables_embedding(),
            record: json,
            created_at: p.created_at,
            indexed_at,
        }),
        _ => return None,
    })
}

pub(super) fn list_item_row(o: &Origin<'_>, item: &ListItem, record: &Record) -> ListItemRow {
    ListItemRow {
        uri: o.uri.to_owned(),
        cid: o.cid.to_owned(),
        author_did: o.did.to_owned(),
        subject_did: item.subject.clone(),
        list_uri: item.list.clone(),
        record: record.lex_json(),
        created_at: item.created_at,
        indexed_at: o.time,
    }
}
