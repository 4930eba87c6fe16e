//! What the thread gates and post gates of a segment's replies and quotes say, as held: the
//! gates themselves, and for each gated reply what the gate's rules ask of its author. Gated
//! replies are few, so each asks its own small query.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::replies::{reply_columns, reply_of, BelowRow};
use crate::changes::rows::NotificationRow;
use crate::changes::{GateCheck, GateFacts, HeldThreadGate, Loaded, Rejudge};
use crate::schema::{notifications, postgates, posts, threadgates};

#[derive(QueryableByName)]
struct Facts {
    #[diesel(sql_type = Bool)]
    follows_owner: bool,
    #[diesel(sql_type = Bool)]
    followed_by_owner: bool,
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    listed_on: Vec<String>,
    #[diesel(sql_type = Bool)]
    mentioned: bool,
}

/// A threadgate as loaded: URI, rules, hidden replies, when it was written.
type GateRow = (
    String,
    Option<serde_json::Value>,
    Vec<Option<String>>,
    chrono::DateTime<chrono::Utc>,
);

/// The threadgates of `checks` held, and the facts their rules ask of each replier (for the
/// gates held or written by the segment).
pub fn thread_gates(
    conn: &mut PgConnection,
    checks: &[GateCheck],
    loaded: &mut Loaded,
) -> QueryResult<()> {
    let uris: Vec<&str> = checks.iter().map(|c| c.gate_uri.as_str()).collect();
    let rows: Vec<GateRow> = threadgates::table
        .filter(threadgates::uri.eq_any(&uris))
        .select((
            threadgates::uri,
            threadgates::allow,
            threadgates::hidden_replies,
            threadgates::indexed_at,
        ))
        .load(conn)?;
    for (uri, allow, hidden, indexed_at) in rows {
        let gate = HeldThreadGate {
            allow,
            hidden_replies: hidden.into_iter().flatten().collect(),
            indexed_at,
        };
        loaded.thread_gates.insert(uri, gate);
    }
    for c in checks {
        // The owner's replies need no facts (the owner may always reply).
        if c.owner == c.replier || !c.written && !loaded.thread_gates.contains_key(&c.gate_uri) {
            continue;
        }
        let key = (c.gate_uri.clone(), c.replier.clone());
        if loaded.gate_facts.contains_key(&key) {
            continue;
        }
        let facts = facts(conn, c, &c.replier)?;
        loaded.gate_facts.insert(key, facts);
    }
    Ok(())
}

/// Of the postgates `uris`, those held that disable embedding.
pub fn disabling_post_gates(
    conn: &mut PgConnection,
    uris: &[String],
) -> QueryResult<HashSet<String>> {
    Ok(postgates::table
        .filter(postgates::uri.eq_any(uris))
        .filter(postgates::embedding_disabled)
        .select(postgates::uri)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// What the gate of `c`'s thread may ask of `replier`: the lists are the held gate's and those
/// of the gate the segment writes.
fn facts(conn: &mut PgConnection, c: &GateCheck, replier: &str) -> QueryResult<GateFacts> {
    let f: Facts = diesel::sql_query(
        "SELECT \
           EXISTS (SELECT 1 FROM follows WHERE follower_did = $4 AND following_did = $3) \
             AS follows_owner, \
           EXISTS (SELECT 1 FROM follows WHERE follower_did = $3 AND following_did = $4) \
             AS followed_by_owner, \
           ARRAY(SELECT DISTINCT li.list_uri FROM list_items li \
             WHERE li.subject_did = $4 AND (li.list_uri = ANY($5) OR li.list_uri IN ( \
               SELECT r ->> 'list' FROM threadgates g CROSS JOIN LATERAL \
                 jsonb_array_elements(CASE WHEN jsonb_typeof(g.allow) = 'array' \
                   THEN g.allow ELSE '[]' END) r \
               WHERE g.uri = $1))) AS listed_on, \
           EXISTS (SELECT 1 FROM posts WHERE uri = $2 AND facets @> jsonb_build_array( \
             jsonb_build_object('features', jsonb_build_array( \
               jsonb_build_object('did', $4::text))))) AS mentioned",
    )
    .bind::<Text, _>(&c.gate_uri)
    .bind::<Text, _>(&c.root_uri)
    .bind::<Text, _>(&c.owner)
    .bind::<Text, _>(replier)
    .bind::<diesel::sql_types::Array<Text>, _>(&c.lists)
    .get_result(conn)?;
    Ok(GateFacts {
        follows_owner: f.follows_owner,
        followed_by_owner: f.followed_by_owner,
        listed_on: f.listed_on,
        mentioned: f.mentioned,
    })
}

/// For each gate written, the replies in its thread made since (by others than its owner),
/// with what the gate may ask of their authors and the notifications they hold.
pub fn rejudge(
    conn: &mut PgConnection,
    rejudges: &[Rejudge],
    loaded: &mut Loaded,
) -> QueryResult<Vec<String>> {
    let mut parents = Vec::new();
    for r in rejudges {
        let rows: Vec<BelowRow> = posts::table
            .filter(posts::root_uri.eq(&r.root_uri))
            .filter(posts::indexed_at.ge(r.since))
            .filter(posts::author_did.ne(&r.owner))
            .select(reply_columns!())
            .load(conn)?;
        let check = GateCheck {
            gate_uri: r.gate_uri.clone(),
            root_uri: r.root_uri.clone(),
            owner: r.owner.clone(),
            replier: String::new(),
            written: true,
            lists: r.lists.clone(),
        };
        for reply in rows.into_iter().filter_map(reply_of) {
            let key = (r.gate_uri.clone(), reply.author.clone());
            if let std::collections::hash_map::Entry::Vacant(e) = loaded.gate_facts.entry(key) {
                e.insert(facts(conn, &check, &reply.author)?);
            }
            parents.push(reply.parent_uri.clone());
            loaded.rejudge.push((r.gate_uri.clone(), reply));
        }
    }
    let uris: Vec<&str> = loaded.rejudge.iter().map(|(_, d)| d.uri.as_str()).collect();
    if !uris.is_empty() {
        let held: Vec<NotificationRow> = notifications::table
            .filter(notifications::record_uri.eq_any(&uris))
            .select(NotificationRow::as_select())
            .load(conn)?;
        for n in held {
            if !loaded.descendant_notifications.contains(&n) {
                loaded.descendant_notifications.push(n);
            }
        }
    }
    Ok(parents)
}
