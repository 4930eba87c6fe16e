//! Compares a database with a pds-capture fixture's ground truth (`truth.json`, `summary.json`):
//! the set of (uri, cid) per record type, handles, account states, and every counter.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use serde_json::Value;

pub struct Truth {
    pub records: BTreeMap<&'static str, BTreeSet<(String, String)>>,
    pub summary: Value,
    pub truth: Value,
}

/// The table each collection lands in.
pub fn table_of(collection: &str) -> &'static str {
    match collection {
        "app.bsky.feed.post" => "posts",
        "app.bsky.feed.like" => "likes",
        "app.bsky.feed.repost" => "reposts",
        "app.bsky.graph.follow" => "follows",
        "app.bsky.graph.block" => "blocks",
        "app.bsky.actor.profile" => "profiles",
        _ => "generic_records",
    }
}

pub fn load(dir: &Path) -> Truth {
    let truth: Value =
        serde_json::from_slice(&std::fs::read(dir.join("truth.json")).expect("truth.json"))
            .expect("truth json");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
            .expect("summary json");
    let mut records: BTreeMap<&'static str, BTreeSet<(String, String)>> = BTreeMap::new();
    for t in [
        "posts",
        "likes",
        "reposts",
        "follows",
        "blocks",
        "profiles",
        "generic_records",
    ] {
        records.insert(t, BTreeSet::new());
    }
    for r in truth["records"].as_array().expect("records") {
        let collection = r["collection"].as_str().expect("collection");
        let pair = (
            r["uri"].as_str().expect("uri").to_owned(),
            r["cid"].as_str().expect("cid").to_owned(),
        );
        records
            .get_mut(table_of(collection))
            .expect("table")
            .insert(pair);
    }
    Truth {
        records,
        summary,
        truth,
    }
}

#[derive(QueryableByName)]
struct UriCid {
    #[diesel(sql_type = Text)]
    uri: String,
    #[diesel(sql_type = Text)]
    cid: String,
}

#[derive(QueryableByName)]
struct Account {
    #[diesel(sql_type = Text)]
    did: String,
    #[diesel(sql_type = Nullable<Text>)]
    handle: Option<String>,
    #[diesel(sql_type = Bool)]
    active: bool,
    #[diesel(sql_type = Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = BigInt)]
    followers: i64,
    #[diesel(sql_type = BigInt)]
    follows: i64,
    #[diesel(sql_type = BigInt)]
    posts: i64,
}

#[derive(QueryableByName)]
struct PostCounts {
    #[diesel(sql_type = Text)]
    uri: String,
    #[diesel(sql_type = BigInt)]
    likes: i64,
    #[diesel(sql_type = BigInt)]
    reposts: i64,
    #[diesel(sql_type = BigInt)]
    replies: i64,
    #[diesel(sql_type = BigInt)]
    quotes: i64,
}

fn uri_cids(conn: &mut PgConnection, sql: &str) -> BTreeSet<(String, String)> {
    diesel::sql_query(sql)
        .load::<UriCid>(conn)
        .expect(sql)
        .into_iter()
        .map(|r| (r.uri, r.cid))
        .collect()
}

/// Every difference between the database and the truth, one line each (empty when equal).
pub fn differences(conn: &mut PgConnection, truth: &Truth) -> Vec<String> {
    let mut diffs = Vec::new();
    for (table, expected) in &truth.records {
        let sql = match *table {
            "profiles" => "SELECT 'at://' || did || '/app.bsky.actor.profile/self' AS uri, profile_cid AS cid FROM users WHERE profile_cid IS NOT NULL".to_owned(),
            t => format!("SELECT uri, cid FROM {t}"),
        };
        let got = uri_cids(conn, &sql);
        for missing in expected.difference(&got) {
            diffs.push(format!("{table}: missing {missing:?}"));
        }
        for extra in got.difference(expected) {
            diffs.push(format!("{table}: unexpected {extra:?}"));
        }
    }

    let accounts: BTreeMap<String, Account> = diesel::sql_query(
        "SELECT u.did, u.handle, u.active, u.status, \
         COALESCE(a.followers_count, 0) AS followers, COALESCE(a.follows_count, 0) AS follows, \
         COALESCE(a.posts_count, 0) AS posts \
         FROM users u LEFT JOIN user_aggregations a ON a.did = u.did",
    )
    .load::<Account>(conn)
    .expect("accounts")
    .into_iter()
    .map(|a| (a.did.clone(), a))
    .collect();
    let per_account = truth.summary["truth"]["perAccount"]
        .as_object()
        .expect("perAccount");
    for (did, want) in per_account {
        let Some(got) = accounts.get(did) else {
            diffs.push(format!("account {did}: missing"));
            continue;
        };
        let check = |diffs: &mut Vec<String>, what: &str, got: i64, want: &Value| {
            if Some(got) != want.as_i64() {
                diffs.push(format!("account {did}: {what} = {got}, truth {want}"));
            }
        };
        check(&mut diffs, "followers", got.followers, &want["followers"]);
        check(&mut diffs, "follows", got.follows, &want["following"]);
        check(&mut diffs, "posts", got.posts, &want["posts"]);
        if got.handle.as_deref() != want["handle"].as_str() {
            diffs.push(format!(
                "account {did}: handle {:?}, truth {}",
                got.handle, want["handle"]
            ));
        }
        if Some(got.active) != want["active"].as_bool() {
            diffs.push(format!(
                "account {did}: active {}, truth {}",
                got.active, want["active"]
            ));
        }
        if got.status.as_deref() != want["status"].as_str() {
            diffs.push(format!(
                "account {did}: status {:?}, truth {}",
                got.status, want["status"]
            ));
        }
    }
    for did in truth.truth["expectations"]["deletedAccounts"]
        .as_array()
        .expect("deletedAccounts")
    {
        let did = did.as_str().expect("did");
        match accounts.get(did) {
            Some(a) if a.status.as_deref() == Some("deleted") && !a.active => {
                if a.posts != 0 || a.follows != 0 {
                    diffs.push(format!(
                        "deleted account {did}: posts {} follows {} left",
                        a.posts, a.follows
                    ));
                }
            }
            Some(a) => diffs.push(format!("deleted account {did}: status {:?}", a.status)),
            None => diffs.push(format!("deleted account {did}: no tombstone row")),
        }
    }

    let posts: BTreeMap<String, PostCounts> = diesel::sql_query(
        "SELECT post_uri AS uri, like_count AS likes, repost_count AS reposts, \
         reply_count AS replies, quote_count AS quotes FROM post_aggregations",
    )
    .load::<PostCounts>(conn)
    .expect("post counts")
    .into_iter()
    .map(|p| (p.uri.clone(), p))
    .collect();
    let per_post = truth.summary["truth"]["perPost"]
        .as_object()
        .expect("perPost");
    for (uri, want) in per_post {
        let got = posts.get(uri);
        let get = |f: fn(&PostCounts) -> i64| got.map(f).unwrap_or(0);
        for (what, value, key) in [
            ("likes", get(|p| p.likes), "likeCount"),
            ("reposts", get(|p| p.reposts), "repostCount"),
            ("replies", get(|p| p.replies), "replyCount"),
            ("quotes", get(|p| p.quotes), "quoteCount"),
        ] {
            if Some(value) != want[key].as_i64() {
                diffs.push(format!("post {uri}: {what} = {value}, truth {}", want[key]));
            }
        }
    }
    diffs
}

/// Every table's rows in a stable order, as text, for byte-for-byte comparisons between runs.
pub fn dump(conn: &mut PgConnection) -> BTreeMap<String, Vec<String>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        row: String,
    }
    let mut out = BTreeMap::new();
    for (table, key) in [
        ("users", "did"),
        ("posts", "uri"),
        ("likes", "uri"),
        ("reposts", "uri"),
        ("follows", "uri"),
        ("blocks", "uri"),
        ("feed_items", "uri"),
        ("generic_records", "uri"),
        ("notifications", "record_uri, recipient_did, reason"),
        ("post_aggregations", "post_uri"),
        ("user_aggregations", "did"),
    ] {
        let rows = diesel::sql_query(format!(
            "SELECT t::text AS row FROM {table} t ORDER BY {key}"
        ))
        .load::<Row>(conn)
        .expect("dump")
        .into_iter()
        .map(|r| r.row)
        .collect();
        out.insert(table.to_owned(), rows);
    }
    out
}
