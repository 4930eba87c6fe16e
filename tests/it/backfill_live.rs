//! Backfill against the real thing, when it is installed: the reference PDS and PLC
//! (`../shared/tools/pds-capture/bin/start-pds.js`, from a copy with `node_modules` at
//! `/tmp/pds-capture` or `$PDS_CAPTURE`) with seeded activity written by `drive.js` while
//! `skyindex run --cursor live --backfill all` follows it: the accounts created before the
//! indexer started are known only through enumeration and getRepo, the rest through both the
//! stream and their snapshots. The database must end equal to the PDS's own truth
//! (`dump-truth.js`): records, handles, account states and every counter. Also with a SIGKILL
//! in the middle of the backfill and a restart, and with the PDS's rate limits on (real 429s).
//! Skipped, saying so, without node or the installed tool.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{db::TestDb, proc, truth};

fn tool() -> Option<PathBuf> {
    crate::common::pds_capture_tool()
}

/// A PDS and PLC kept up by start-pds.js; SIGTERM on drop.
struct Pds {
    child: Child,
    pds: u16,
    plc: u16,
    data: PathBuf,
}

impl Pds {
    fn start(tool: &Path, slot: u16, config: &str) -> Pds {
        let base = 30_000 + (std::process::id() % 500) as u16 * 10 + slot * 2;
        let data = PathBuf::from(format!(
            "/dev/shm/skyindex-bf-{}-{slot}",
            std::process::id()
        ));
        let child = Command::new("node")
            .arg(tool.join("bin/start-pds.js"))
            .args([
                "--pds-port",
                &base.to_string(),
                "--plc-port",
                &(base + 1).to_string(),
            ])
            .arg("--data-dir")
            .arg(&data)
            .args(["--pds-config", config])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start-pds");
        let pds = Pds {
            child,
            pds: base,
            plc: base + 1,
            data,
        };
        let until = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", pds.pds)).is_err() {
            assert!(Instant::now() < until, "the PDS did not come up");
            std::thread::sleep(Duration::from_millis(200));
        }
        pds
    }

    fn url(&self) -> String {
        format!("http://localhost:{}", self.pds)
    }
}

impl Drop for Pds {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn drive(tool: &Path, pds: &Pds, seed: &str, accounts: u32, commits: u32) -> Child {
    Command::new("node")
        .arg(tool.join("bin/drive.js"))
        .args(["--pds-url", &pds.url(), "--seed", seed])
        .args([
            "--accounts",
            &accounts.to_string(),
            "--commits",
            &commits.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("drive.js")
}

fn run(db: &TestDb, pds: &Pds) -> proc::Running {
    run_from(db, pds, &["--cursor", "live"])
}

/// `run --backfill all` against the PDS; `start` says where the stream starts (none: the saved
/// cursor, as a restart does).
fn run_from(db: &TestDb, pds: &Pds, start: &[&str]) -> proc::Running {
    let relay = format!("ws://127.0.0.1:{}", pds.pds);
    let plc = format!("http://localhost:{}", pds.plc);
    let mut args = vec![
        "--relay",
        &relay,
        "--backfill",
        "all",
        "--plc-url",
        &plc,
        "--allow-private-hosts",
        "--plain-http",
        "--verify",
        "full",
        // Handles under .test have no DNS here: the PDS's word is the truth to compare.
        "--verify-handles",
        "off",
        "--stats-interval",
        "1s",
    ];
    args.extend_from_slice(start);
    proc::spawn_run(&db.url, &args)
}

fn dump_truth(tool: &Path, pds: &Pds) -> truth::Truth {
    let dir = proc::TempDir::new("truth");
    let status = Command::new("node")
        .arg(tool.join("bin/dump-truth.js"))
        .args(["--pds-url", &pds.url()])
        .arg("--out")
        .arg(&dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("dump-truth");
    assert!(status.success(), "dump-truth failed");
    truth::load_live(&dir.0)
}

/// Waits until the database equals the PDS's truth (the indexer catches up on its own time),
/// and returns the differences left when it never does.
fn settle(tool: &Path, pds: &Pds, db: &TestDb, limit: Duration) -> Vec<String> {
    let until = Instant::now() + limit;
    let truth = dump_truth(tool, pds);
    loop {
        let diffs = truth::differences(&mut db.conn(), &truth);
        if diffs.is_empty() || Instant::now() > until {
            return diffs;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn wait(child: &mut Child, limit: Duration) {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "drive.js failed: {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    panic!("drive.js did not finish in {limit:?}");
}

fn assert_equal(diffs: &[String], log: &str) {
    assert!(
        diffs.is_empty(),
        "{} differences from the PDS's truth:\n{}\nlog:\n{log}",
        diffs.len(),
        diffs
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn repos_by_state(db: &TestDb) -> String {
    skyindex::db::repos::counts(&mut db.conn())
        .expect("counts")
        .iter()
        .map(|(s, h, n)| format!("{s}/{h}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `status --json`, once no active repo is left outside `synchronized` (a re-fetch after a
/// reactivation may still be due when the records already agree), or at the deadline.
fn wait_until_active_repos_are_synchronized(db: &TestDb, within: Duration) -> serde_json::Value {
    let until = Instant::now() + within;
    loop {
        let out = Command::new(proc::bin())
            .args(["status", "--json", "--fast", "--database-url", &db.url])
            .output()
            .expect("status");
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
        let lagging = status["repos"]
            .as_array()
            .expect("repos")
            .iter()
            .any(|r| r["hosting"] == "active" && r["state"] != "synchronized");
        if !lagging || Instant::now() > until {
            assert!(!lagging, "active repos not synchronized: {status}");
            return status;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn backfill_all_while_the_driver_writes_equals_the_truth() {
    let Some(tool) = tool() else { return };
    let pds = Pds::start(&tool, 0, "{}");
    let db = TestDb::new();
    let mut driver = drive(&tool, &pds, "bf-live", 12, 500);
    // Started after the first accounts and records exist: those are the backfill's to find.
    std::thread::sleep(Duration::from_secs(4));
    let mut indexer = run(&db, &pds);
    wait(&mut driver, Duration::from_secs(240));
    let diffs = settle(&tool, &pds, &db, Duration::from_secs(60));
    let log = indexer.log_text();
    assert_equal(&diffs, &log);
    // `status` counts the repos by state and hosting status. Every account still active ends
    // synchronized; one the driver deleted or took down may stay in `error` with its status
    // recorded, depending on whether the backfill reached it first (the driver changes the
    // status of three accounts of the twelve).
    let status = wait_until_active_repos_are_synchronized(&db, Duration::from_secs(30));
    let rows = status["repos"].as_array().expect("repos");
    let active_synced: i64 = rows
        .iter()
        .filter(|r| r["state"] == "synchronized" && r["hosting"] == "active")
        .filter_map(|r| r["repos"].as_i64())
        .sum();
    assert!(active_synced >= 9, "{status}");
    assert!(
        indexer.last_stats().contains("repos_synced="),
        "{}",
        indexer.last_stats()
    );
    indexer.stop();
    let log = indexer.log_text();
    assert!(log.contains("backfill: enumeration done"), "{log}");
    // The only warnings: fetches the PDS refused while the driver had the account deactivated
    // or taken down (the status is recorded, and the account's return fetches it again).
    let unexpected: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" WARN "))
        .filter(|l| !(l.contains("fetch failed") && l.contains(" Repo")))
        .collect();
    assert!(unexpected.is_empty(), "warnings in the log:\n{log}");
    eprintln!("repos: {}", repos_by_state(&db));
}

#[test]
fn a_kill_during_backfill_and_a_restart_end_equal_to_the_truth() {
    let Some(tool) = tool() else { return };
    let pds = Pds::start(&tool, 1, "{}");
    let db = TestDb::new();
    let mut driver = drive(&tool, &pds, "bf-kill", 12, 500);
    std::thread::sleep(Duration::from_secs(4));
    let mut indexer = run(&db, &pds);
    // Killed as soon as the first snapshots are cut over, in the middle of the rest.
    indexer.wait_for_log("records=", Duration::from_secs(60));
    indexer.signal(9);
    let _ = indexer.wait(Duration::from_secs(10));
    eprintln!("after the kill: {}", repos_by_state(&db));
    // Restarted from the saved cursor: repos left resyncing are claimed again, the buffer kept.
    let mut indexer = run_from(&db, &pds, &[]);
    wait(&mut driver, Duration::from_secs(240));
    let diffs = settle(&tool, &pds, &db, Duration::from_secs(60));
    assert_equal(&diffs, &indexer.log_text());
    indexer.stop();
}

#[test]
fn with_the_pds_rate_limits_on_it_still_ends_equal() {
    let Some(tool) = tool() else { return };
    let pds = Pds::start(&tool, 2, r#"{"rateLimitsEnabled":true}"#);
    let db = TestDb::new();
    let mut driver = drive(&tool, &pds, "bf-limits", 10, 300);
    std::thread::sleep(Duration::from_secs(4));
    let mut indexer = run(&db, &pds);
    wait(&mut driver, Duration::from_secs(240));
    let diffs = settle(&tool, &pds, &db, Duration::from_secs(90));
    assert_equal(&diffs, &indexer.log_text());
    indexer.stop();
}

#[test]
fn stopped_past_the_replay_window_it_lists_again_and_ends_equal() {
    let Some(tool) = tool() else { return };
    // The PDS replays only the last 3 s: a cursor older than that gets OutdatedCursor.
    let pds = Pds::start(&tool, 3, r#"{"repoBackfillLimitMs":3000}"#);
    let db = TestDb::new();
    let mut driver = drive(&tool, &pds, "bf-window", 12, 600);
    std::thread::sleep(Duration::from_secs(3));
    let mut indexer = run(&db, &pds);
    indexer.wait_for_log("backfill: enumeration done", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(2));
    indexer.stop();
    // Away for longer than the window while the driver goes on.
    std::thread::sleep(Duration::from_secs(8));
    let mut indexer = run_from(&db, &pds, &[]);
    wait(&mut driver, Duration::from_secs(240));
    let diffs = settle(&tool, &pds, &db, Duration::from_secs(90));
    let log = indexer.log_text();
    assert_equal(&diffs, &log);
    assert!(log.contains("OutdatedCursor"), "{log}");
    assert!(log.contains("backfill: enumeration done"), "{log}");
    indexer.stop();
}

#[test]
fn the_one_shot_backfill_command_fetches_the_repos_and_exits() {
    let Some(tool) = tool() else { return };
    let pds = Pds::start(&tool, 4, "{}");
    let db = TestDb::new();
    let mut driver = drive(&tool, &pds, "bf-oneshot", 8, 250);
    wait(&mut driver, Duration::from_secs(240));
    let truth = dump_truth(&tool, &pds);
    let dids: Vec<String> = truth.truth["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .filter_map(|a| a["did"].as_str().map(str::to_owned))
        .collect();
    let list = proc::TempDir::new("dids");
    let file = list.0.join("dids.txt");
    std::fs::write(
        &file,
        format!("# the PDS's accounts\n{}\n", dids[1..].join("\n")),
    )
    .expect("write");
    let plc = format!("http://localhost:{}", pds.plc);
    let out = Command::new(proc::bin())
        .arg("backfill")
        .arg(&dids[0])
        .arg("--dids-file")
        .arg(&file)
        .args(["--plc-url", &plc, "--allow-private-hosts", "--plain-http"])
        .args(["--verify-handles", "off", "--stats-interval", "1s"])
        .env("DATABASE_URL", &db.url)
        .env("LOG_LEVEL", "info")
        .output()
        .expect("skyindex backfill");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {}:\n{log}", out.status);
    assert!(
        log.contains(&format!("backfill: {}/{} repos", dids.len(), dids.len())),
        "{log}"
    );
    // Every repo of the PDS was fetched: records, handles and every counter as it holds them.
    let diffs = truth::differences(&mut db.conn(), &truth);
    assert_equal(&diffs, &log);
    // With --collections, the snapshots keep only those, as the live stream would.
    let only = TestDb::new();
    let out = Command::new(proc::bin())
        .arg("backfill")
        .args(["--dids-file", &file.to_string_lossy(), &dids[0]])
        .args(["--plc-url", &plc, "--allow-private-hosts", "--plain-http"])
        .args([
            "--verify-handles",
            "off",
            "--collections",
            "app.bsky.feed.post",
        ])
        .env("DATABASE_URL", &only.url)
        .output()
        .expect("skyindex backfill --collections");
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {}:\n{log}", out.status);
    let count = |table: &str| only.rows(table);
    assert!(count("posts") > 0, "{log}");
    for table in ["likes", "follows", "reposts", "generic_records"] {
        assert_eq!(count(table), 0, "{table}: {log}");
    }
}
