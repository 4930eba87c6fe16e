//! What the thread gates and post gates of a segment's replies and quotes say, as held: the
//! gates themselves, and for each gated reply what the gate's rules ask of its author. Gated
//! replies are few, so each asks its own small query.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use crate::changes::{GateCheck, GateFacts, HeldThreadGate, Loaded};
use crate::schema::{postgates, threadgates};

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

/// The threadgates of `checks` held, and the facts their rules ask of each replier (for the
/// gates held or written by the segment).
pub fn thread_gates(
    conn: &mut PgConnection,
    checks: &[GateCheck],
    loaded: &mut Loaded,
) -> QueryResult<()> {
    let uris: Vec<&str> = checks.iter().map(|c| c.gate_uri.as_str()).collect();
    let rows: Vec<(String, Option<serde_json::Value>, Vec<Option<String>>)> = threadgates::table
        .filter(threadgates::uri.eq_any(&uris))
        .select((
            threadgates::uri,
            threadgates::allow,
            threadgates::hidden_replies,
        ))
        .load(conn)?;
    for (uri, allow, hidden) in rows {
        let gate = HeldThreadGate {
            allow,
            hidden_replies: hidden.into_iter().flatten().collect(),
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
        // The lists are the held gate's and those of the gate the segment writes.
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
        .bind::<Text, _>(&c.replier)
        .bind::<diesel::sql_types::Array<Text>, _>(&c.lists)
        .get_result(conn)?;
        let facts = GateFacts {
            follows_owner: f.follows_owner,
            followed_by_owner: f.followed_by_owner,
            listed_on: f.listed_on,
            mentioned: f.mentioned,
        };
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
