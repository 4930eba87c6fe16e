//! Scenario 1, small: the worker killed with SIGKILL at random moments over the real-PDS fixture
//! (some kills after a SIGTERM, during the drain), restarted each time from the saved cursor; the
//! database must end equal to a clean run's and to the fixture's truth.

use std::time::{Duration, Instant};

use crate::common::{self, truth};

use super::support::{compare, dump, start_worker, ChaosDb, Dice};

const KILLS: usize = 5;
const LAST_SEQ: i64 = 999;

fn fixture() -> String {
    format!("file:{}", common::pds_small().join("frames.bin").display())
}

fn killed_by_sigkill(status: std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(9)
}

#[test]
fn kill_9_at_random_moments_then_restart_equals_a_clean_run() {
    let source = fixture();
    let clean_db = ChaosDb::new("kill_clean");
    let started = Instant::now();
    let mut clean_run = start_worker(&clean_db.url, &["--relay", &source]);
    assert!(clean_run.wait(Duration::from_secs(60)).success());
    // Kill moments are spread over as long as a whole clean run takes (a debug build is slower).
    let run_ms = started.elapsed().as_millis() as u64;
    let clean = dump(&mut clean_db.conn());
    assert_eq!(clean.cursor, Some(LAST_SEQ));

    let db = ChaosDb::new("kill");
    let mut dice = Dice::new(20261127);
    let mut kills = 0;
    let mut lives = 0;
    let mut replaying = false;
    while kills < KILLS {
        lives += 1;
        assert!(lives < 40, "{kills} kills in {lives} lives");
        // Once the stream is done, lives replay it from the start over the applied data.
        let mut args = vec!["--relay", source.as_str()];
        if replaying {
            args.extend(["--cursor", "0"]);
        }
        let mut w = start_worker(&db.url, &args);
        let during_shutdown = dice.between(0, 2) == 0;
        let at = w.started + Duration::from_millis(dice.between(0, run_ms));
        while Instant::now() < at && w.exited().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        if let Some(status) = w.exited() {
            assert!(status.success(), "exit {status}; log:\n{}", w.log_text());
            replaying = db.cursor() == Some(LAST_SEQ);
            continue;
        }
        if during_shutdown {
            w.signal(15);
            std::thread::sleep(Duration::from_millis(dice.between(0, 300)));
        }
        let _ = w.child.kill();
        let status = w.wait(Duration::from_secs(20));
        assert!(
            status.success() || killed_by_sigkill(status),
            "exit {status}; log:\n{}",
            w.log_text()
        );
        kills += 1;
        replaying |= db.cursor() == Some(LAST_SEQ);
    }

    let mut last = start_worker(&db.url, &["--relay", &source]);
    let status = last.wait(Duration::from_secs(60));
    assert!(status.success(), "exit {status}; log:\n{}", last.log_text());
    let got = dump(&mut db.conn());
    let diff = compare(&clean, &got);
    assert!(
        diff.is_empty(),
        "after {kills} kills in {lives} lives: {} rows differ (lost {}, double {}):\n{}",
        diff.differing,
        diff.lost,
        diff.double,
        diff.sample.join("\n")
    );
    assert_eq!(got.cursor, Some(LAST_SEQ));
    let diffs = truth::differences(&mut db.conn(), &truth::load(&common::pds_small()));
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
