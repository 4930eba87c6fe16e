//! What the chaos tests share: the worker as a child process (the binary can be swapped for the
//! release build with `CHAOS_BIN`), databases named `chaos_*`, keyed dumps and their comparison
//! (rows lost, rows or counter units applied twice, rows differing), log timestamps, and the
//! results rows `scripts/chaos.sh` prints.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::common::db::TestDb;
use crate::common::proc::{self, Running};

/// The `firehose_cursor` key every chaos run uses.
pub const SERVICE: &str = "chaos";

/// The binary under test: `CHAOS_BIN` (scripts/chaos.sh passes the release build), else the one
/// cargo built for this test run.
pub fn bin() -> String {
    std::env::var("CHAOS_BIN").unwrap_or_else(|_| proc::bin().to_owned())
}

// ------------------------------------------------------------------------------------------------
// Databases

/// A database named `chaos_*`, with the migrations applied, dropped on drop: the suite's own
/// `TestDb` under another name, plus the chaos cursor.
pub struct ChaosDb(TestDb);

impl std::ops::Deref for ChaosDb {
    type Target = TestDb;

    fn deref(&self) -> &TestDb {
        &self.0
    }
}

impl ChaosDb {
    pub fn new(tag: &str) -> ChaosDb {
        ChaosDb(TestDb::named(&format!("chaos_{tag}")))
    }

    /// The saved cursor, or `None` (no row yet, or the database does not answer).
    pub fn cursor(&self) -> Option<i64> {
        let mut conn = PgConnection::establish(&self.url).ok()?;
        skyindex::db::cursor::read(&mut conn, SERVICE)
            .ok()
            .flatten()
    }
}

// ------------------------------------------------------------------------------------------------
// The worker

/// `skyindex run` as a child process with its log in a temporary file: the suite's own
/// `proc::Running`, started with the chaos cursor key and a 1 s stats line.
pub type Worker = Running;

/// Starts `skyindex run --service chaos --stats-interval 1s ARGS` against `db_url`.
pub fn start_worker(db_url: &str, args: &[&str]) -> Worker {
    let mut all = vec!["--service", SERVICE, "--stats-interval", "1s"];
    all.extend_from_slice(args);
    proc::spawn_run_of(&bin(), db_url, &all)
}

/// Waits until the saved cursor reaches `seq` while the worker runs; panics with the log past
/// `limit` or when the worker exits first.
pub fn wait_for_cursor(db: &ChaosDb, worker: &mut Worker, seq: i64, limit: Duration) {
    let until = Instant::now() + limit;
    while db.cursor() < Some(seq) {
        if let Some(status) = worker.exited() {
            panic!(
                "skyindex exited ({status}) with the cursor at {:?}, want {seq}; log:\n{}",
                db.cursor(),
                worker.log_text()
            );
        }
        if Instant::now() > until {
            panic!(
                "cursor stuck at {:?} (want {seq}); log:\n{}",
                db.cursor(),
                worker.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One `key=value` field of a log line.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

pub fn field_u64(line: &str, key: &str) -> u64 {
    field(line, key).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The time at the start of a log line.
pub fn line_time(line: &str) -> Option<DateTime<Utc>> {
    let stamp = line.split_whitespace().next()?;
    DateTime::parse_from_rfc3339(stamp)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// For each line containing `fault`, the time until the next line containing `recovered`, in ms.
pub fn recovery_ms(log: &str, fault: &str, recovered: &str) -> Vec<i64> {
    let mut out = Vec::new();
    let mut since: Option<DateTime<Utc>> = None;
    for line in log.lines() {
        if line.contains(fault) {
            since = since.or(line_time(line));
        } else if line.contains(recovered) {
            if let (Some(from), Some(to)) = (since.take(), line_time(line)) {
                out.push((to - from).num_milliseconds());
            }
        }
    }
    out
}

/// "p50 N ms, max M ms (n=K)", or "-".
pub fn ms_summary(values: &[i64]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    format!(
        "p50 {} ms, max {} ms (n={})",
        v[(v.len() - 1) / 2],
        v[v.len() - 1],
        v.len()
    )
}

// ------------------------------------------------------------------------------------------------
// Dumps and comparison

const ROW_TABLES: [(&str, &str); 8] = [
    ("users", "did"),
    ("posts", "uri"),
    ("likes", "uri"),
    ("reposts", "uri"),
    ("follows", "uri"),
    ("blocks", "uri"),
    ("feed_items", "uri"),
    ("generic_records", "uri"),
];

const COUNTER_TABLES: [(&str, &str, &str); 2] = [
    (
        "post_aggregations",
        "post_uri",
        "like_count, repost_count, reply_count, quote_count",
    ),
    (
        "user_aggregations",
        "did",
        "followers_count, follows_count, posts_count",
    ),
];

/// Every table's rows by (table, key): other rows as the md5 of their text, counters as numbers.
#[derive(Debug, PartialEq, Eq)]
pub struct Dump {
    pub rows: BTreeMap<(String, String), String>,
    pub counters: BTreeMap<(String, String), Vec<i64>>,
    pub cursor: Option<i64>,
}

pub fn dump(conn: &mut PgConnection) -> Dump {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        k: String,
        #[diesel(sql_type = Text)]
        v: String,
    }
    #[derive(QueryableByName)]
    struct Counters {
        #[diesel(sql_type = Text)]
        k: String,
        #[diesel(sql_type = Array<BigInt>)]
        v: Vec<i64>,
    }
    let mut rows = BTreeMap::new();
    // Table and key names are the constants above; nothing from outside reaches this SQL.
    for (table, key) in ROW_TABLES {
        let sql = format!("SELECT {key} AS k, md5(t::text) AS v FROM {table} t");
        for r in diesel::sql_query(sql).load::<Row>(conn).expect("dump rows") {
            rows.insert((table.to_owned(), r.k), r.v);
        }
    }
    let mut counters = BTreeMap::new();
    for (table, key, cols) in COUNTER_TABLES {
        let sql = format!("SELECT {key} AS k, ARRAY[{cols}]::int8[] AS v FROM {table}");
        for r in diesel::sql_query(sql)
            .load::<Counters>(conn)
            .expect("dump counters")
        {
            counters.insert((table.to_owned(), r.k), r.v);
        }
    }
    let cursor = skyindex::db::cursor::read(conn, SERVICE).ok().flatten();
    Dump {
        rows,
        counters,
        cursor,
    }
}

/// How a database differs from the clean run's.
#[derive(Debug, Default)]
pub struct Diff {
    /// Rows of the clean run missing here, plus counter units below it.
    pub lost: i64,
    /// Rows here the clean run does not have, plus counter units above it.
    pub double: i64,
    /// Rows missing, extra or different, counters included.
    pub differing: usize,
    /// The first few differences, for the failure message.
    pub sample: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.differing == 0
    }

    fn note(&mut self, line: String) {
        self.differing += 1;
        if self.sample.len() < 20 {
            self.sample.push(line);
        }
    }
}

pub fn compare(clean: &Dump, got: &Dump) -> Diff {
    let mut d = Diff::default();
    for (k, v) in &clean.rows {
        match got.rows.get(k) {
            None => {
                d.lost += 1;
                d.note(format!("missing {k:?}"));
            }
            Some(g) if g != v => d.note(format!("changed {k:?}")),
            Some(_) => {}
        }
    }
    for k in got.rows.keys().filter(|k| !clean.rows.contains_key(*k)) {
        d.double += 1;
        d.note(format!("extra {k:?}"));
    }
    for (k, v) in &clean.counters {
        match got.counters.get(k) {
            None => {
                d.lost += v.iter().sum::<i64>();
                d.note(format!("missing counters {k:?} {v:?}"));
            }
            Some(g) if g != v => {
                for (a, b) in v.iter().zip(g) {
                    if b > a {
                        d.double += b - a;
                    } else {
                        d.lost += a - b;
                    }
                }
                d.note(format!("counters {k:?} {v:?} -> {g:?}"));
            }
            Some(_) => {}
        }
    }
    for (k, g) in got
        .counters
        .iter()
        .filter(|(k, _)| !clean.counters.contains_key(*k))
    {
        d.double += g.iter().sum::<i64>();
        d.note(format!("extra counters {k:?} {g:?}"));
    }
    d
}

// ------------------------------------------------------------------------------------------------
// Results rows for scripts/chaos.sh

/// One row of the chaos table; appended to `CHAOS_RESULTS` when set, printed always.
pub struct Row<'a> {
    pub scenario: &'a str,
    pub input: &'a str,
    pub params: String,
    pub runs: usize,
    pub faults: u64,
    pub diff: &'a Diff,
    pub recover: String,
    pub ok: bool,
    pub note: String,
}

pub fn report(row: &Row) {
    let line = [
        row.scenario.to_owned(),
        row.input.to_owned(),
        row.params.clone(),
        row.runs.to_string(),
        row.faults.to_string(),
        row.diff.lost.to_string(),
        row.diff.double.to_string(),
        row.diff.differing.to_string(),
        row.recover.clone(),
        if row.ok { "ok" } else { "FAIL" }.to_owned(),
        row.note.replace(['\t', '\n'], " "),
    ]
    .join("\t");
    println!("{line}");
    if let Ok(path) = std::env::var("CHAOS_RESULTS") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(Path::new(&path))
            .expect("open CHAOS_RESULTS");
        writeln!(f, "{line}").expect("write CHAOS_RESULTS");
    }
}

/// Fault moments from a seeded generator: `CHAOS_SEED`, or the test's default, so a failure can
/// be repeated.
pub struct Dice(SmallRng);

impl Dice {
    pub fn new(default_seed: u64) -> Dice {
        let seed = std::env::var("CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default_seed);
        eprintln!("chaos seed {seed} (CHAOS_SEED=N repeats another)");
        Dice(SmallRng::seed_from_u64(seed))
    }

    /// Uniform in `[lo, hi]`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0.random_range(lo..=hi)
    }
}
