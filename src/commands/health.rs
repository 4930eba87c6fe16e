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

/// Why the service is not healthy, said in one line.
#[derive(Debug, thiserror::Error)]
enum Unhealthy {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    /// The database error's first line.
    #[error("{0}")]
    Database(String),
    #[error("{} migration(s) pending: {}", .0.len(), .0.join(", "))]
    Pending(Vec<String>),
    #[error("no cursor saved for service {0:?}")]
    NoCursorFor(String),
    #[error("no cursor saved yet: skyindex has not committed anything")]
    NoCursor,
    #[error("cursor of {service} stuck at {cursor} for {age} s (max {max} s)")]
    Stuck {
        service: String,
        cursor: i64,
        age: u64,
        max: u64,
    },
}

impl From<crate::db::DbError> for Unhealthy {
    fn from(e: crate::db::DbError) -> Self {
        let text = chain(&e).to_string();
        Unhealthy::Database(text.lines().next().unwrap_or("").trim().to_owned())
    }
}

/// The healthy line, or why not.
fn verdict(args: &HealthArgs) -> Result<String, Unhealthy> {
    let max_age = parse_duration("--max-age", &args.max_age)?;
    let mut conn = connect::connect(&args.db.database_url)?;
    let pending = migrate::pending(&mut conn)?;
    if !pending.is_empty() {
        return Err(Unhealthy::Pending(pending));
    }
    let rows = status::cursors(&mut conn)?;
    let row = match &args.service {
        Some(s) => rows
            .iter()
            .find(|r| &r.service == s)
            .ok_or_else(|| Unhealthy::NoCursorFor(s.clone()))?,
        // The firehose's: a labeler's cursor moving says nothing of the firehose (labelers'
        // rows are `labels:<DID>`, ask for one with --service).
        None => rows
            .iter()
            .find(|r| r.labeler().is_none())
            .ok_or(Unhealthy::NoCursor)?,
    };
    let age = (Utc::now() - row.updated_at)
        .to_std()
        .unwrap_or(Duration::ZERO);
    if age > max_age {
        return Err(Unhealthy::Stuck {
            service: row.service.clone(),
            cursor: row.cursor,
            age: age.as_secs(),
            max: max_age.as_secs(),
        });
    }
    Ok(format!(
        "ok: {} cursor={} advanced {} s ago, migrations current",
        row.service,
        row.cursor,
        age.as_secs()
    ))
}
