//! The real thing, when it is installed: `skyindex run` follows a live `@atproto/ozone` (with
//! its PDS and PLC, `../shared/tools/pds-capture/bin/start-labeler.js`, from a copy with
//! `node_modules` at `/tmp/pds-capture` or `$PDS_CAPTURE`) while labels are emitted through
//! Ozone's moderation API, and the table must end equal to Ozone's own rows (`queryLabels`).
//! Skipped, saying so, without node or the installed tool: the recorded fixture
//! (`labels.rs`) covers the same ground in CI.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{db::TestDb, proc};
use crate::labels_support as support;

fn tool() -> Option<PathBuf> {
    crate::common::pds_capture_tool()
}

/// start-labeler.js, stopped with SIGTERM (it then stops its PostgreSQL and removes its data).
struct Harness {
    child: Child,
    info: Value,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node(tool: &Path, script: &str, args: &[&str]) -> Value {
    let out = Command::new("node")
        .arg(tool.join("bin").join(script))
        .args(args)
        .stderr(Stdio::null())
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn a_live_ozone_is_followed_to_its_own_rows() {
    let Some(tool) = tool() else { return };
    // Ports of our own, so runs beside other harnesses do not collide.
    let base = 20_000 + (std::process::id() % 2_000) as u16 * 5;
    let (pds, plc, ozone, pg) = (base, base + 1, base + 2, base + 3);
    let data = std::env::temp_dir().join(format!("skyindex-ozone-{}", std::process::id()));
    let mut child = Command::new("node")
        .arg(tool.join("bin/start-labeler.js"))
        .args([
            "--pds-port",
            &pds.to_string(),
            "--plc-port",
            &plc.to_string(),
        ])
        .args([
            "--ozone-port",
            &ozone.to_string(),
            "--pg-port",
            &pg.to_string(),
        ])
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start-labeler");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("start-labeler's line");
    let harness = Harness {
        child,
        info: serde_json::from_str(&line).expect("start-labeler's JSON"),
    };
    let did = harness.info["labelerDid"]
        .as_str()
        .expect("labelerDid")
        .to_owned();
    let pds_url = format!("http://localhost:{pds}");
    let ozone_url = format!("http://localhost:{ozone}");
    node(
        &tool,
        "drive.js",
        &[
            "--pds-url",
            &pds_url,
            "--accounts",
            "6",
            "--commits",
            "80",
            "--seed",
            "skyindex",
        ],
    );

    let db = TestDb::new();
    let relay = format!("ws://127.0.0.1:{pds}");
    let plc_url = format!("http://127.0.0.1:{plc}");
    let mut run = proc::spawn_run(
        &db.url,
        &[
            "--relay",
            &relay,
            "--service",
            "firehose",
            "--labelers",
            &did,
            "--plc-url",
            &plc_url,
            "--allow-private-hosts",
            "--plain-http",
            "--stats-interval",
            "1s",
        ],
    );
    run.wait_for_log(
        &format!("labeler did={did}: connected to"),
        Duration::from_secs(30),
    );
    node(
        &tool,
        "emit-labels.js",
        &["--ozone", &ozone_url, "--pds", &pds_url, "--count", "40"],
    );
    let dump_file =
        std::env::temp_dir().join(format!("skyindex-ozone-{}.json", std::process::id()));
    node(
        &tool,
        "dump-labels.js",
        &[
            "--ozone",
            &ozone_url,
            "--out",
            dump_file.to_str().expect("path"),
            "--idle-ms",
            "1500",
        ],
    );
    let dump: Value =
        serde_json::from_slice(&std::fs::read(&dump_file).expect("dump")).expect("dump json");
    let _ = std::fs::remove_file(&dump_file);
    let last = dump["stream"]["lastSeq"].as_i64().expect("lastSeq");
    support::wait_for_cursor(
        &db,
        &run,
        &format!("labels:{did}"),
        last,
        Duration::from_secs(60),
    );
    run.stop();
    drop(harness);

    let fixture = support::Fixture {
        live: Vec::new(),
        replay: Vec::new(),
        document: Value::Null,
        did: did.clone(),
        query: dump["queryLabels"]["labels"]
            .as_array()
            .expect("queryLabels")
            .clone(),
        at: dump["summary"]["now"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .expect("now"),
    };
    let log = run.log_text();
    assert_eq!(
        support::table_rows(&db),
        support::ozone_rows(&fixture),
        "{log}"
    );
    assert_eq!(
        support::table_in_force(&db, fixture.at),
        support::ozone_in_force(&fixture)
    );
    assert_eq!(
        support::refused_by_reason(&log),
        Default::default(),
        "{log}"
    );
}
