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

/// The tables a record can land in, generic last.
pub const TABLES: [&str; 19] = [
    "posts",
    "likes",
    "reposts",
    "follows",
    "blocks",
    "profiles",
    "lists",
    "list_items",
    "list_blocks",
    "starter_packs",
    "feed_generators",
    "labeler_services",
    "verifications",
    "actor_statuses",
    "notification_declarations",
    "chat_declarations",
    "threadgates",
    "postgates",
    "generic_records",
];

/// The table each collection lands in (the key and the content decide for a few: a record of
/// a `self`-keyed kind under any other key, a list item outside its list's repo and a gate not
/// beside its post stay generic).
pub fn table_of(collection: &str, rkey: &str) -> &'static str {
    let own = rkey == "self";
    match collection {
        "app.bsky.feed.post" => "posts",
        "app.bsky.feed.like" => "likes",
        "app.bsky.feed.repost" => "reposts",
        "app.bsky.graph.follow" => "follows",
        "app.bsky.graph.block" => "blocks",
        "app.bsky.actor.profile" if own => "profiles",
        "app.bsky.graph.list" => "lists",
        "app.bsky.graph.listitem" => "list_items",
        "app.bsky.graph.listblock" => "list_blocks",
        "app.bsky.graph.starterpack" => "starter_packs",
        "app.bsky.feed.generator" => "feed_generators",
        "app.bsky.labeler.service" if own => "labeler_services",
        "app.bsky.graph.verification" => "verifications",
        "app.bsky.actor.status" if own => "actor_statuses",
        "app.bsky.notification.declaration" if own => "notification_declarations",
        "chat.bsky.actor.declaration" if own => "chat_declarations",
        "app.bsky.feed.threadgate" => "threadgates",
        "app.bsky.feed.postgate" => "postgates",
        _ => "generic_records",
    }
}

/// [`table_of`] for a record as the truth lists it, its content included.
fn table_of_record(r: &Value) -> &'static str {
    let s = |k: &str| r[k].as_str().unwrap_or_default();
    let (did, collection, rkey) = (s("did"), s("collection"), s("rkey"));
    let owned = match collection {
        "app.bsky.graph.listitem" => {
            r["value"]["list"]
                .as_str()
                .and_then(|u| u.strip_prefix("at://"))
                .and_then(|u| u.split('/').next())
                == Some(did)
        }
        "app.bsky.feed.threadgate" | "app.bsky.feed.postgate" => {
            r["value"]["post"].as_str() == Some(&format!("at://{did}/app.bsky.feed.post/{rkey}"))
        }
        _ => true,
    };
    if owned {
        table_of(collection, rkey)
    } else {
        "generic_records"
    }
}

/// The truth `dump-truth.js` writes of a running PDS (`truth.json`, `truth-summary.json`).
pub fn load_live(dir: &Path) -> Truth {
    let truth: Value =
        serde_json::from_slice(&std::fs::read(dir.join("truth.json")).expect("truth.json"))
            .expect("truth json");
    let counts: Value = serde_json::from_slice(
        &std::fs::read(dir.join("truth-summary.json")).expect("truth-summary.json"),
    )
    .expect("truth-summary json");
    from_values(truth, serde_json::json!({ "truth": counts }))
}

pub fn load(dir: &Path) -> Truth {
    let truth: Value =
        serde_json::from_slice(&std::fs::read(dir.join("truth.json")).expect("truth.json"))
            .expect("truth json");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
            .expect("summary json");
    from_values(truth, summary)
}

fn from_values(truth: Value, summary: Value) -> Truth {
    let mut records: BTreeMap<&'static str, BTreeSet<(String, String)>> = BTreeMap::new();
    for t in TABLES {
        records.insert(t, BTreeSet::new());
    }
    for r in truth["records"].as_array().expect("records") {
        let pair = (
            r["uri"].as_str().expect("uri").to_owned(),
            r["cid"].as_str().expect("cid").to_owned(),
        );
        records
            .get_mut(table_of_record(r))
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
    let deleted = truth.truth["expectations"]["deletedAccounts"].as_array();
    for did in deleted.into_iter().flatten() {
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
    let refused = refused_replies(&truth.truth);
    for (uri, want) in per_post {
        let got = posts.get(uri);
        let get = |f: fn(&PostCounts) -> i64| got.map(f).unwrap_or(0);
        for (what, value, key) in [
            ("likes", get(|p| p.likes), "likeCount"),
            ("reposts", get(|p| p.reposts), "repostCount"),
            ("replies", get(|p| p.replies), "replyCount"),
            ("quotes", get(|p| p.quotes), "quoteCount"),
        ] {
            // The PDS counts every reply; an AppView, not those the thread's gate refuses.
            let less = if key == "replyCount" {
                refused.get(uri).copied().unwrap_or(0)
            } else {
                0
            };
            if Some(value) != want[key].as_i64().map(|n| n - less) {
                diffs.push(format!(
                    "post {uri}: {what} = {value}, truth {} less {less} refused by a threadgate",
                    want[key]
                ));
            }
        }
    }
    // Members count once per account, whatever the number of items naming it.
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in truth.truth["records"].as_array().expect("records") {
        if table_of_record(r) == "list_items" {
            let list = r["value"]["list"].as_str().unwrap_or_default().to_owned();
            let subject = r["value"]["subject"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            members.entry(list).or_default().insert(subject);
        }
    }
    #[derive(QueryableByName)]
    struct ListCount {
        #[diesel(sql_type = Text)]
        list_uri: String,
        #[diesel(sql_type = BigInt)]
        member_count: i64,
    }
    let counted: BTreeMap<String, i64> =
        diesel::sql_query("SELECT list_uri, member_count FROM list_aggregations")
            .load::<ListCount>(conn)
            .expect("list counts")
            .into_iter()
            .map(|c| (c.list_uri, c.member_count))
            .collect();
    for (list, subjects) in &members {
        let got = counted.get(list).copied().unwrap_or(0);
        if got != subjects.len() as i64 {
            diffs.push(format!(
                "list {list}: members = {got}, truth {}",
                subjects.len()
            ));
        }
    }
    for (list, got) in &counted {
        if *got != 0 && !members.contains_key(list) {
            diffs.push(format!("list {list}: members = {got}, truth 0"));
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
        ("lists", "uri"),
        ("list_items", "uri"),
        ("list_blocks", "uri"),
        ("starter_packs", "uri"),
        ("feed_generators", "uri"),
        ("labeler_services", "uri"),
        ("verifications", "uri"),
        ("actor_statuses", "uri"),
        ("notification_declarations", "uri"),
        ("chat_declarations", "uri"),
        ("threadgates", "uri"),
        ("postgates", "uri"),
        ("list_aggregations", "list_uri"),
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

/// Replies the thread's gate refuses, per parent, judged as the reference does when the reply
/// is indexed (the rules of `util.ts` `violatesThreadGate`): on the truth's records made before
/// it (by `createdAt`, which the driver sets as it writes). A record deleted since is not in the
/// truth, and would be missed; the captures have none that matter.
pub fn refused_replies(truth: &Value) -> BTreeMap<String, i64> {
    let records = truth["records"].as_array().expect("records");
    let s = |r: &Value, k: &str| r[k].as_str().unwrap_or_default().to_owned();
    let of = |collection: &'static str| {
        records
            .iter()
            .filter(move |r| r["collection"].as_str() == Some(collection))
    };
    let posts: BTreeMap<String, &Value> = of("app.bsky.feed.post")
        .map(|r| (s(r, "uri"), &r["value"]))
        .collect();
    let gates: BTreeMap<String, &Value> = of("app.bsky.feed.threadgate")
        .filter(|r| table_of_record(r) == "threadgates")
        .map(|r| (s(r, "uri"), &r["value"]))
        .collect();
    let at = |v: &Value| {
        v["createdAt"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    type Made = BTreeMap<(String, String), Vec<Option<chrono::DateTime<chrono::FixedOffset>>>>;
    let mut follows: Made = BTreeMap::new();
    for r in of("app.bsky.graph.follow") {
        let subject = r["value"]["subject"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        follows
            .entry((s(r, "did"), subject))
            .or_default()
            .push(at(&r["value"]));
    }
    let mut members: Made = BTreeMap::new();
    for r in of("app.bsky.graph.listitem") {
        let v = &r["value"];
        let f = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        members
            .entry((f("list"), f("subject")))
            .or_default()
            .push(at(v));
    }
    let did_of = |uri: &str| {
        uri.strip_prefix("at://")
            .and_then(|u| u.split('/').next())
            .unwrap_or_default()
            .to_owned()
    };
    let mut out = BTreeMap::new();
    for r in of("app.bsky.feed.post") {
        let reply = &r["value"]["reply"];
        let (Some(root), Some(parent)) = (
            reply["root"]["uri"].as_str(),
            reply["parent"]["uri"].as_str(),
        ) else {
            continue;
        };
        let (replier, owner) = (s(r, "did"), did_of(root));
        let when = at(&r["value"]);
        let before = |made: Option<&Vec<_>>| made.is_some_and(|ts| ts.iter().any(|t| *t <= when));
        let rkey = root.rsplit('/').next().unwrap_or_default();
        let gate = gates
            .get(&format!("at://{owner}/app.bsky.feed.threadgate/{rkey}"))
            .filter(|g| at(g) <= when);
        let Some(rules) = gate.and_then(|g| g["allow"].as_array()) else {
            continue;
        };
        if replier == owner {
            continue;
        }
        let mentioned = || {
            posts
                .get(root)
                .and_then(|p| p["facets"].as_array())
                .is_some_and(|facets| {
                    facets.iter().any(|f| {
                        f["features"].as_array().is_some_and(|fs| {
                            fs.iter()
                                .any(|x| x["did"].as_str() == Some(replier.as_str()))
                        })
                    })
                })
        };
        let allowed = rules
            .iter()
            .any(|rule| match rule["$type"].as_str().unwrap_or_default() {
                "app.bsky.feed.threadgate#mentionRule" => mentioned(),
                "app.bsky.feed.threadgate#followerRule" => {
                    before(follows.get(&(replier.clone(), owner.clone())))
                }
                "app.bsky.feed.threadgate#followingRule" => {
                    before(follows.get(&(owner.clone(), replier.clone())))
                }
                "app.bsky.feed.threadgate#listRule" => {
                    let list = rule["list"].as_str().unwrap_or_default().to_owned();
                    before(members.get(&(list, replier.clone())))
                }
                _ => false,
            });
        if !allowed {
            *out.entry(parent.to_owned()).or_insert(0) += 1;
        }
    }
    out
}
