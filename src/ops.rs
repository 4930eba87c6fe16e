//! Operator commands: `migrate`, `health` (for cron, monitoring agents, `ExecStartPost`) and
//! `status` (cursor, lag, row counts, counter totals; text or JSON).

use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::json;

use crate::cli::{DbArgs, HealthArgs, StatusArgs};
use crate::config::{parse_duration, redact};
use crate::db::migrate;
use crate::db::schema::firehose_cursor;

fn connect(db: &DbArgs) -> Result<PgConnection, String> {
    PgConnection::establish(&db.database_url).map_err(|e| {
        format!(
            "database {} unreachable: {}",
            redact(&db.database_url),
            first_line(&e.to_string())
        )
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

pub fn migrate(args: &DbArgs) -> Result<(), String> {
    crate::db::setup::ensure_database(&args.database_url)?;
    let mut conn = connect(args)?;
    let applied = migrate::run_pending(&mut conn).map_err(|e| format!("migrations: {e}"))?;
    if applied.is_empty() {
        log::info!("migrations: nothing pending");
    }
    for v in applied {
        log::info!("applied migration {v}");
    }
    Ok(())
}

#[derive(Debug, Queryable)]
struct CursorRow {
    service: String,
    cursor: i64,
    last_event_time: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

fn cursors(conn: &mut PgConnection) -> QueryResult<Vec<CursorRow>> {
    firehose_cursor::table
        .select((
            firehose_cursor::service,
            firehose_cursor::cursor,
            firehose_cursor::last_event_time,
            firehose_cursor::updated_at,
        ))
        .order(firehose_cursor::updated_at.desc())
        .load(conn)
}

/// The health verdict: `Ok(line)` or `Err(line)`, one line either way.
fn check_health(args: &HealthArgs) -> Result<String, String> {
    let max_age = parse_duration("--max-age", &args.max_age)?;
    let mut conn = connect(&args.db)?;
    let pending =
        migrate::pending(&mut conn).map_err(|e| format!("cannot read migrations: {e}"))?;
    if !pending.is_empty() {
        return Err(format!(
            "{} migration(s) pending: {}",
            pending.len(),
            pending.join(", ")
        ));
    }
    let rows = cursors(&mut conn).map_err(|e| format!("cannot read firehose_cursor: {e}"))?;
    let row = match &args.service {
        Some(s) => rows
            .iter()
            .find(|r| &r.service == s)
            .ok_or_else(|| format!("no cursor saved for service {s:?}"))?,
        None => rows
            .first()
            .ok_or("no cursor saved yet: skyindex has not committed anything")?,
    };
    let age = (Utc::now() - row.updated_at)
        .to_std()
        .unwrap_or(Duration::ZERO);
    if age > max_age {
        return Err(format!(
            "cursor of {} stuck at {} for {} s (max {} s)",
            row.service,
            row.cursor,
            age.as_secs(),
            max_age.as_secs()
        ));
    }
    Ok(format!(
        "ok: {} cursor={} advanced {} s ago, migrations current",
        row.service,
        row.cursor,
        age.as_secs()
    ))
}

pub fn health(args: &HealthArgs) -> ExitCode {
    match check_health(args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(line) => {
            println!("unhealthy: {line}");
            ExitCode::FAILURE
        }
    }
}

const TABLES: [&str; 11] = [
    "users",
    "posts",
    "likes",
    "reposts",
    "follows",
    "blocks",
    "feed_items",
    "generic_records",
    "post_aggregations",
    "user_aggregations",
    "firehose_cursor",
];

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = Text)]
    relname: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Totals {
    #[diesel(sql_type = BigInt)]
    likes: i64,
    #[diesel(sql_type = BigInt)]
    reposts: i64,
    #[diesel(sql_type = BigInt)]
    replies: i64,
    #[diesel(sql_type = BigInt)]
    quotes: i64,
    #[diesel(sql_type = BigInt)]
    followers: i64,
    #[diesel(sql_type = BigInt)]
    follows: i64,
    #[diesel(sql_type = BigInt)]
    posts: i64,
}

pub fn status(args: &StatusArgs) -> Result<(), String> {
    let mut conn = connect(&args.db)?;
    let err = |what: &str| {
        let what = what.to_owned();
        move |e: diesel::result::Error| format!("{what}: {e}")
    };
    let pending = migrate::pending(&mut conn).map_err(|e| format!("migrations: {e}"))?;
    let rows = cursors(&mut conn).map_err(err("firehose_cursor"))?;
    let now = Utc::now();
    let mut counts = serde_json::Map::new();
    if args.fast {
        // Table names are our own constants, never input.
        let estimates: Vec<Estimate> = diesel::sql_query(
            "SELECT relname::text AS relname, n_live_tup AS n FROM pg_stat_user_tables",
        )
        .load(&mut conn)
        .map_err(err("pg_stat_user_tables"))?;
        for t in TABLES {
            let n = estimates.iter().find(|e| e.relname == t).map_or(0, |e| e.n);
            counts.insert(t.to_owned(), json!(n));
        }
    } else {
        for t in TABLES {
            let c: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {t}"))
                .get_result(&mut conn)
                .map_err(err(t))?;
            counts.insert(t.to_owned(), json!(c.n));
        }
    }
    let totals = if args.fast {
        None
    } else {
        Some(
            diesel::sql_query(
                "SELECT \
                 (SELECT COALESCE(sum(like_count), 0)::bigint FROM post_aggregations) AS likes, \
                 (SELECT COALESCE(sum(repost_count), 0)::bigint FROM post_aggregations) AS reposts, \
                 (SELECT COALESCE(sum(reply_count), 0)::bigint FROM post_aggregations) AS replies, \
                 (SELECT COALESCE(sum(quote_count), 0)::bigint FROM post_aggregations) AS quotes, \
                 (SELECT COALESCE(sum(followers_count), 0)::bigint FROM user_aggregations) AS followers, \
                 (SELECT COALESCE(sum(follows_count), 0)::bigint FROM user_aggregations) AS follows, \
                 (SELECT COALESCE(sum(posts_count), 0)::bigint FROM user_aggregations) AS posts",
            )
            .get_result::<Totals>(&mut conn)
            .map_err(err("counter totals"))?,
        )
    };
    let cursor_json: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            json!({
                "service": r.service,
                "cursor": r.cursor,
                "last_event_time": r.last_event_time.map(|t| t.to_rfc3339()),
                "lag_ms": r.last_event_time.map(|t| (now - t).num_milliseconds()),
                "updated_at": r.updated_at.to_rfc3339(),
                "updated_ago_ms": (now - r.updated_at).num_milliseconds(),
            })
        })
        .collect();
    let totals_json = totals.as_ref().map(|t| {
        json!({
            "like_count": t.likes, "repost_count": t.reposts, "reply_count": t.replies,
            "quote_count": t.quotes, "followers_count": t.followers, "follows_count": t.follows,
            "posts_count": t.posts,
        })
    });
    if args.json {
        let out = json!({
            "pending_migrations": pending,
            "cursors": cursor_json,
            "rows": counts,
            "rows_exact": !args.fast,
            "counter_totals": totals_json,
        });
        println!("{out}");
        return Ok(());
    }
    if rows.is_empty() {
        println!("cursor: none saved yet");
    }
    for r in &rows {
        println!(
            "cursor: {} = {} (saved {} ago), last event {}, lag {}",
            r.service,
            r.cursor,
            human(now - r.updated_at),
            r.last_event_time
                .map_or_else(|| "-".to_owned(), |t| t.to_rfc3339()),
            r.last_event_time
                .map_or_else(|| "-".to_owned(), |t| human(now - t)),
        );
    }
    println!(
        "migrations: {}",
        if pending.is_empty() {
            "current".to_owned()
        } else {
            format!("pending: {}", pending.join(", "))
        }
    );
    println!("rows{}:", if args.fast { " (estimates)" } else { "" });
    for (t, n) in &counts {
        println!("  {t:<18} {n}");
    }
    if let Some(t) = totals {
        println!("counter totals:");
        for (name, v) in [
            ("like_count", t.likes),
            ("repost_count", t.reposts),
            ("reply_count", t.replies),
            ("quote_count", t.quotes),
            ("followers_count", t.followers),
            ("follows_count", t.follows),
            ("posts_count", t.posts),
        ] {
            println!("  {name:<18} {v}");
        }
    }
    Ok(())
}

fn human(d: chrono::TimeDelta) -> String {
    let ms = d.num_milliseconds();
    if ms.abs() < 10_000 {
        format!("{ms} ms")
    } else if ms.abs() < 600_000 {
        format!("{} s", ms / 1000)
    } else {
        format!("{} min", ms / 60_000)
    }
}
