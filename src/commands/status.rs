//! `skyindex status`: cursors and lag (the firehose's, and each labeler's apart), migrations,
//! row counts, labels in force and counter totals; text, or one JSON object with `--json`.

use std::process::ExitCode;

use chrono::Utc;
use serde_json::json;

use super::CommandError;
use crate::cli::StatusArgs;
use crate::db::{connect, labels, migrate, repos, status, DbError};

pub fn run(args: &StatusArgs) -> Result<ExitCode, CommandError> {
    let mut conn = connect::connect(&args.db.database_url)?;
    let pending = migrate::pending(&mut conn)?;
    let (labelers, rows): (Vec<_>, Vec<_>) = status::cursors(&mut conn)?
        .into_iter()
        .partition(|r| r.labeler().is_some());
    let mut counts = status::row_counts(&mut conn, !args.fast)?;
    counts.sort_by_key(|(table, _)| *table);
    let totals = if args.fast {
        None
    } else {
        Some(status::counter_totals(&mut conn)?)
    };
    let repo_states = repos::counts(&mut conn).map_err(DbError::query("repos by state"))?;
    let now = Utc::now();
    let in_force =
        labels::count_in_force(&mut conn, now).map_err(DbError::query("labels in force"))?;
    if args.json {
        let cursors: Vec<serde_json::Value> = rows
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
        let labelers: Vec<serde_json::Value> = labelers
            .iter()
            .map(|r| {
                json!({
                    "did": r.labeler(),
                    "cursor": r.cursor,
                    "last_label_time": r.last_event_time.map(|t| t.to_rfc3339()),
                    "lag_ms": r.last_event_time.map(|t| (now - t).num_milliseconds()),
                    "updated_at": r.updated_at.to_rfc3339(),
                    "updated_ago_ms": (now - r.updated_at).num_milliseconds(),
                })
            })
            .collect();
        let counts: serde_json::Map<String, serde_json::Value> = counts
            .iter()
            .map(|(t, n)| ((*t).to_owned(), json!(n)))
            .collect();
        let totals: Option<serde_json::Map<String, serde_json::Value>> = totals.as_ref().map(|t| {
            t.named()
                .iter()
                .map(|(name, v)| ((*name).to_owned(), json!(v)))
                .collect()
        });
        let out = json!({
            "pending_migrations": pending,
            "cursors": cursors,
            "labelers": labelers,
            "labels_in_force": in_force,
            "rows": counts,
            "rows_exact": !args.fast,
            "counter_totals": totals,
            "repos": repo_states
                .iter()
                .map(|(state, hosting, n)| json!({"state": state, "hosting": hosting, "repos": n}))
                .collect::<Vec<_>>(),
        });
        println!("{out}");
        return Ok(ExitCode::SUCCESS);
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
    for r in &labelers {
        println!(
            "labeler: {} = {} (saved {} ago), newest label {}, lag {}",
            r.labeler().unwrap_or_default(),
            r.cursor,
            human(now - r.updated_at),
            r.last_event_time
                .map_or_else(|| "-".to_owned(), |t| t.to_rfc3339()),
            r.last_event_time
                .map_or_else(|| "-".to_owned(), |t| human(now - t)),
        );
    }
    if !labelers.is_empty() || in_force > 0 {
        println!("labels in force: {in_force}");
    }
    if !repo_states.is_empty() {
        println!("repos (backfill):");
        for (state, hosting, n) in &repo_states {
            println!("  {state:<15} {hosting:<12} {n}");
        }
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
        for (name, v) in t.named() {
            println!("  {name:<18} {v}");
        }
    }
    Ok(ExitCode::SUCCESS)
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
