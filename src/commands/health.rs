//! `skyindex health`: one line and an exit code, for cron, monitoring agents and
//! `ExecStartPost`: 0 when the database is reachable, migrations are current and the cursor
//! advanced recently; 1 otherwise.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;

use super::CommandError;
use crate::cli::HealthArgs;
use crate::config::parse_duration;
use crate::db::{connect, migrate, status};
use crate::error_chain::chain;

pub fn run(args: &HealthArgs) -> Result<ExitCode, CommandError> {
    Ok(match verdict(args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(line) => {
            println!("unhealthy: {line}");
            ExitCode::FAILURE
        }
    })
}

/// `Ok(line)` or `Err(line)`, one line either way.
fn verdict(args: &HealthArgs) -> Result<String, String> {
    let max_age = parse_duration("--max-age", &args.max_age).map_err(|e| e.to_string())?;
    let one_line = |e: crate::db::DbError| {
        let text = chain(&e).to_string();
        text.lines().next().unwrap_or("").trim().to_owned()
    };
    let mut conn = connect::connect(&args.db.database_url).map_err(one_line)?;
    let pending = migrate::pending(&mut conn).map_err(one_line)?;
    if !pending.is_empty() {
        return Err(format!(
            "{} migration(s) pending: {}",
            pending.len(),
            pending.join(", ")
        ));
    }
    let rows = status::cursors(&mut conn).map_err(one_line)?;
    let row = match &args.service {
        Some(s) => rows
            .iter()
            .find(|r| &r.service == s)
            .ok_or_else(|| format!("no cursor saved for service {s:?}"))?,
        // The firehose's: a labeler's cursor moving says nothing of the firehose (labelers'
        // rows are `labels:<DID>`, ask for one with --service).
        None => rows
            .iter()
            .find(|r| r.labeler().is_none())
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
