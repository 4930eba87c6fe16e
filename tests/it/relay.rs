//! `skyindex run` against a relay: the replay server serves the real-PDS capture over a real
//! WebSocket, with faults switched on, and the database must end equal to the capture's truth.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;
use skyindex::replay::{Recording, ReplayOptions, ReplayServer};

use crate::common::{self, db::TestDb, proc, truth};

const SERVICE: &str = "test-relay";
const LAST_SEQ: i64 = 999;

fn fixture_recording() -> Arc<Recording> {
    Arc::new(Recording::load(&common::pds_small().join("frames.bin")).expect("load fixture"))
}

fn serve(recording: Arc<Recording>, options: ReplayOptions) -> ReplayServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    ReplayServer::start(listener, recording, options).expect("start replay server")
}

fn start(db: &TestDb, server: &ReplayServer, extra: &[&str]) -> proc::Running {
    let url = server.url();
    let mut args = vec![
        "--relay",
        &url,
        "--service",
        SERVICE,
        "--stats-interval",
        "1s",
    ];
    args.extend_from_slice(extra);
    proc::spawn_run(&db.url, &args)
}

fn cursor(db: &TestDb) -> Option<i64> {
    skyindex::db::cursor::read(&mut db.conn(), SERVICE)
        .ok()
        .flatten()
}

/// Waits until the saved cursor reaches `seq`.
fn wait_for_cursor(db: &TestDb, run: &proc::Running, seq: i64, limit: Duration) {
    let until = Instant::now() + limit;
    while cursor(db) < Some(seq) {
        if Instant::now() > until {
            panic!(
                "cursor stuck at {:?} (want {seq}); log:\n{}",
                cursor(db),
                run.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn assert_truth(db: &TestDb) {
    let truth = truth::load(&common::pds_small());
    let diffs = truth::differences(&mut db.conn(), &truth);
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn indexes_to_truth(writers: &str) {
    let db = TestDb::new();
    let server = serve(fixture_recording(), ReplayOptions::default());
    let mut run = start(&db, &server, &["--writers", writers]);
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(60));
    let took = run.stop();
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    assert_truth(&db);
    let log = run.log_text();
    assert!(log.contains("connected to ws://"), "{log}");
    assert!(log.contains("stopping: draining"), "{log}");
}

#[test]
fn relay_to_truth_with_one_writer() {
    indexes_to_truth("1");
}

#[test]
fn relay_to_truth_with_eight_writers() {
    indexes_to_truth("8");
}

#[test]
fn dropped_connections_resume_from_the_cursor() {
    let db = TestDb::new();
    let options = ReplayOptions {
        drop_every: Some(150),
        ..ReplayOptions::default()
    };
    let server = serve(fixture_recording(), options);
    let mut run = start(&db, &server, &[]);
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(90));
    run.stop();
    assert_truth(&db);
    let cursors = server.cursors();
    assert!(
        cursors.len() >= 6,
        "expected several reconnects: {cursors:?}"
    );
    assert_eq!(
        cursors[0], None,
        "first connection starts live: {cursors:?}"
    );
    // Every reconnect resumes from a committed cursor, never from the startup value, never back.
    let resumed: Vec<i64> = cursors[1..]
        .iter()
        .map(|c| c.expect("reconnects carry a cursor"))
        .collect();
    assert!(resumed.windows(2).all(|w| w[0] <= w[1]), "{cursors:?}");
    assert!(resumed.last().copied() > Some(600), "{cursors:?}");
    assert!(
        run.log_text().contains("relay connection lost"),
        "{}",
        run.log_text()
    );
}

#[test]
fn sigterm_mid_stream_then_restart_equals_an_uninterrupted_run() {
    let clean = {
        let db = TestDb::new();
        let server = serve(fixture_recording(), ReplayOptions::default());
        let mut run = start(&db, &server, &[]);
        wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(60));
        run.stop();
        truth::dump(&mut db.conn())
    };
    let db = TestDb::new();
    let recording = fixture_recording();
    for round in 0..3 {
        let slow = ReplayOptions {
            rate: Some(400.0),
            ..ReplayOptions::default()
        };
        let server = serve(recording.clone(), slow);
        let mut run = start(&db, &server, &[]);
        run.wait_for_log("connected to", Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(500 + 200 * round));
        let took = run.stop();
        assert!(
            took < Duration::from_secs(10),
            "round {round}: shutdown took {took:?}"
        );
        let saved = cursor(&db);
        assert!(
            saved.is_some(),
            "round {round}: no cursor saved; log:\n{}",
            run.log_text()
        );
        assert!(
            run.log_text().contains("stopped after"),
            "{}",
            run.log_text()
        );
    }
    let server = serve(recording, ReplayOptions::default());
    let mut run = start(&db, &server, &[]);
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(60));
    run.stop();
    assert!(
        truth::dump(&mut db.conn()) == clean,
        "interrupted runs differ from the clean run"
    );
    assert_truth(&db);
}

#[test]
fn terminated_database_connections_are_recovered() {
    let db = TestDb::new();
    let options = ReplayOptions {
        rate: Some(500.0),
        ..ReplayOptions::default()
    };
    let server = serve(fixture_recording(), options);
    let mut run = start(&db, &server, &["--writers", "3"]);
    run.wait_for_log("connected to", Duration::from_secs(20));
    let admin = TestDb::admin_conn_url(&db);
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(400));
        let mut conn = common::db::connect(&admin);
        conn.batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
            db.name
        ))
        .expect("terminate backends");
    }
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(90));
    run.stop();
    assert_truth(&db);
    let log = run.log_text();
    assert!(
        log.contains("database error, nothing committed") || log.contains("saving cursor"),
        "{log}"
    );
    // Its owner lock's session went too: taken again, not lost.
    assert!(log.contains("owner lock taken again"), "{log}");
}

/// The owner lock's keys (`db::owner`): "skyi", 0.
const OWNER_LOCK: &str = "1936423273, 0";

#[test]
fn a_second_instance_on_the_same_database_refuses_to_start() {
    let db = TestDb::new();
    let options = ReplayOptions {
        rate: Some(200.0),
        ..ReplayOptions::default()
    };
    let server = serve(fixture_recording(), options);
    let mut first = start(&db, &server, &["--writers", "2"]);
    first.wait_for_log("owner lock taken", Duration::from_secs(20));
    let mut second = start(&db, &server, &["--owner-wait", "1s"]);
    let status = second.wait(Duration::from_secs(60));
    let log = second.log_text();
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("another skyindex is writing database"),
        "{log}"
    );
    assert!(!log.contains("connected to"), "{log}");
    // Killed, the first lets a restart take the database over (its session ends at once), and
    // the run ends at the truth.
    first.signal(9);
    let _ = first.wait(Duration::from_secs(10));
    let mut third = start(&db, &server, &[]);
    wait_for_cursor(&db, &third, LAST_SEQ, Duration::from_secs(90));
    third.stop();
    assert_truth(&db);
}

#[test]
fn an_instance_whose_lock_another_took_exits_at_once() {
    let db = TestDb::new();
    let options = ReplayOptions {
        rate: Some(100.0),
        ..ReplayOptions::default()
    };
    let server = serve(fixture_recording(), options);
    let mut run = start(&db, &server, &["--writers", "2"]);
    run.wait_for_log("owner lock taken", Duration::from_secs(20));
    run.wait_for_log("connected to", Duration::from_secs(20));
    // The holding session ends and another takes the lock before the instance can.
    let mut thief = db.conn();
    thief
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
             AND classid = 1936423273 AND objid = 0 AND granted; SELECT pg_advisory_lock({OWNER_LOCK})"
        ))
        .expect("take the lock over");
    let status = run.wait(Duration::from_secs(20));
    let log = run.log_text();
    assert_eq!(status.code(), Some(3), "{log}");
    assert!(log.contains("another instance took the database"), "{log}");
}

/// Resident memory of a process, in kB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_blocked_writer_stops_the_reader_and_memory_stays_flat() {
    let db = TestDb::new();
    // The fixture twenty times over: 20k frames, far more than every buffer on the way holds.
    let frames = common::read_capture(&common::pds_small().join("frames.bin"));
    let many: Vec<Vec<u8>> = (0..20).flat_map(|_| frames.iter().cloned()).collect();
    let total = many.len() as u64;
    let server = serve(
        Arc::new(Recording::from_messages(many)),
        ReplayOptions::default(),
    );
    let mut holder = db.conn();
    holder
        .batch_execute("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .expect("take the lock");
    let mut run = start(
        &db,
        &server,
        &["--writers", "2", "--channel-capacity", "100"],
    );
    run.wait_for_log("connected to", Duration::from_secs(20));
    // The reader fills the channels and stops; the server can send only what buffers hold.
    let mut last = 0;
    let mut steady_since = Instant::now();
    while steady_since.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(200));
        let sent = server.frames_sent();
        if sent != last {
            last = sent;
            steady_since = Instant::now();
        }
    }
    let rss_a = rss_kb(run.child.id());
    std::thread::sleep(Duration::from_secs(2));
    let rss_b = rss_kb(run.child.id());
    assert_eq!(
        server.frames_sent(),
        last,
        "the reader kept reading while writers were blocked"
    );
    assert!(
        last < total / 2,
        "{last} of {total} frames were read while the database was locked"
    );
    assert!(
        rss_b < 200_000 && rss_b <= rss_a + 2_000,
        "memory grew: {rss_a} kB -> {rss_b} kB"
    );
    assert_eq!(
        cursor(&db),
        None,
        "nothing can be committed while users is locked"
    );
    holder.batch_execute("COMMIT").expect("release the lock");
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(120));
    let until = Instant::now() + Duration::from_secs(120);
    while server.frames_sent() < total && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.frames_sent(), total);
    run.stop();
    assert_truth(&db);
}

#[test]
fn a_silent_relay_trips_the_stall_timeout() {
    let db = TestDb::new();
    let options = ReplayOptions {
        stall_after: Some(300),
        ..ReplayOptions::default()
    };
    let server = serve(fixture_recording(), options);
    let mut run = start(&db, &server, &["--stall-timeout", "1s"]);
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(60));
    run.stop();
    assert!(
        run.log_text().contains("(stall timeout): reconnecting"),
        "{}",
        run.log_text()
    );
    assert!(server.connections() >= 2);
    assert_truth(&db);
}

#[test]
fn future_cursor_starts_again_from_live() {
    let db = TestDb::new();
    let server = serve(fixture_recording(), ReplayOptions::default());
    let mut run = start(&db, &server, &["--cursor", "5000"]);
    // The replay server's "live" is its start, so the whole capture follows.
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(60));
    run.stop();
    let log = run.log_text();
    assert!(log.contains("relay says FutureCursor"), "{log}");
    assert_eq!(server.cursors()[..2], [Some(5000), None]);
    assert_truth(&db);
}

#[test]
fn consumer_too_slow_reconnects_from_the_cursor() {
    let db = TestDb::new();
    let options = ReplayOptions {
        error_frame_after: Some((400, "ConsumerTooSlow".into())),
        ..ReplayOptions::default()
    };
    let server = serve(fixture_recording(), options);
    let mut run = start(&db, &server, &[]);
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(60));
    run.stop();
    assert!(
        run.log_text().contains("relay says ConsumerTooSlow"),
        "{}",
        run.log_text()
    );
    let cursors = server.cursors();
    assert!(cursors.len() >= 2 && cursors[1].is_some(), "{cursors:?}");
    assert_truth(&db);
}

#[test]
fn garbage_between_good_frames_is_counted_and_skipped() {
    let db = TestDb::new();
    let options = ReplayOptions {
        garbage_every: Some(100),
        ..ReplayOptions::default()
    };
    let server = serve(fixture_recording(), options);
    let mut run = start(&db, &server, &[]);
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(60));
    run.stop();
    let log = run.log_text();
    let bad = log.matches("bad frame (").count();
    assert!(
        bad >= 9,
        "expected a warning per garbage frame, got {bad}:\n{log}"
    );
    let last_stats = log.lines().rfind(|l| l.contains(" stats ")).unwrap_or("");
    assert!(
        last_stats.contains(&format!("bad_frames={bad}")),
        "{last_stats}"
    );
    assert_truth(&db);
}

#[test]
fn the_database_password_never_reaches_logs_or_help() {
    let db = TestDb::new();
    // Trust authentication ignores the password, so the run works and logs plenty.
    let with_password = db.url.replacen("postgres@", "postgres:S3cretPassw0rd@", 1);
    assert!(with_password.contains("S3cretPassw0rd"));
    let server = serve(fixture_recording(), ReplayOptions::default());
    let url = server.url();
    let mut run = proc::spawn_run(
        &with_password,
        &[
            "--relay",
            &url,
            "--service",
            SERVICE,
            "--stats-interval",
            "1s",
        ],
    );
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(60));
    run.stop();
    let log = run.log_text();
    assert!(log.contains("database=postgres://postgres:***@"), "{log}");
    assert!(
        !log.contains("S3cretPassw0rd"),
        "password in the log:\n{log}"
    );
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["health", "--help"],
    ] {
        let out = std::process::Command::new(proc::bin())
            .args(&args)
            .env("DATABASE_URL", &with_password)
            .output()
            .expect("help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("S3cretPassw0rd"),
            "{args:?} shows the password:\n{text}"
        );
    }
    // A database that refuses the connection: the error names the server, not the password.
    let out = std::process::Command::new(proc::bin())
        .args(["status"])
        .env(
            "DATABASE_URL",
            "postgres://postgres:S3cretPassw0rd@127.0.0.1:1/x",
        )
        .output()
        .expect("status");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("S3cretPassw0rd"), "{text}");
}

#[test]
fn sighup_reopens_the_log_file() {
    let db = TestDb::new();
    let server = serve(fixture_recording(), ReplayOptions::default());
    let run = start(&db, &server, &[]);
    run.wait_for_log(" stats ", Duration::from_secs(30));
    let rotated = run.log.with_extension("log.1");
    std::fs::rename(&run.log, &rotated).expect("rotate");
    run.signal(1);
    let until = Instant::now() + Duration::from_secs(10);
    while !run.log_text().contains(" stats ") {
        assert!(Instant::now() < until, "no new log file after SIGHUP");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(std::fs::read_to_string(&rotated)
        .expect("rotated")
        .contains("connected to"));
    let _ = diesel::sql_query("SELECT 1").execute(&mut db.conn());
}

#[test]
fn a_relay_that_goes_away_and_comes_back_is_followed_again() {
    let db = TestDb::new();
    let recording = fixture_recording();
    let slow = ReplayOptions {
        rate: Some(800.0),
        ..ReplayOptions::default()
    };
    let mut server = serve(recording.clone(), slow.clone());
    let addr = server.local_addr();
    let url = server.url();
    let mut run = proc::spawn_run(
        &db.url,
        &[
            "--relay",
            &url,
            "--service",
            SERVICE,
            "--stats-interval",
            "1s",
        ],
    );
    run.wait_for_log("connected to", Duration::from_secs(20));
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(300));
        // Kill the relay; bring it back on the same address after a while.
        server.stop();
        std::thread::sleep(Duration::from_millis(700));
        let listener = TcpListener::bind(addr).expect("rebind the relay's address");
        server = ReplayServer::start(listener, recording.clone(), slow.clone()).expect("restart");
    }
    wait_for_cursor(&db, &run, LAST_SEQ, Duration::from_secs(90));
    run.stop();
    let log = run.log_text();
    // Backoff may skip a short-lived comeback; it must have come back at least once.
    assert!(log.matches("connected to ws://").count() >= 2, "{log}");
    assert!(
        log.contains("relay connection failed") || log.contains("relay closed"),
        "{log}"
    );
    // Each comeback resumed from the committed cursor, not from the start.
    assert!(
        server.cursors().iter().all(|c| c.is_some()),
        "{:?}",
        server.cursors()
    );
    assert_truth(&db);
}

#[test]
fn the_readme_quick_start_works_for_a_new_user() {
    // The README's two commands, as written.
    let readme = std::fs::read_to_string(common::project_dir().join("README.md")).expect("README");
    let section = readme
        .split("## The two commands")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a 'The two commands' section");
    let commands: Vec<&str> = section
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("```"))
        .collect();
    let run_line = commands
        .iter()
        .find(|l| l.contains("cargo run"))
        .expect("a run command");
    assert!(
        run_line.starts_with("DATABASE_URL=") && run_line.ends_with("cargo run --release -- run"),
        "{run_line}"
    );
    assert!(commands.contains(&"cargo test"), "{commands:?}");

    // Follow it on a server without the database yet, with a local relay in place of the
    // network (tests never need the internet): the database is created, migrated, indexed.
    let server = serve(fixture_recording(), ReplayOptions::default());
    let db = TestDb::empty();
    let name = format!("{}_quickstart", db.name);
    let url = db.url.replace(&db.name, &name);
    let out = std::process::Command::new(proc::bin())
        .arg("run")
        .env("DATABASE_URL", &url)
        .env("RELAY_URL", server.url())
        .env("SKYINDEX_SERVICE", SERVICE)
        // The fixture's accounts lived on a PLC that is gone, and tests never reach the network.
        .env("SKYINDEX_VERIFY", "off")
        .env("SKYINDEX_VERIFY_HANDLES", "off")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    let mut child = out;
    let mut conn_result = None;
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if let Ok(mut conn) = diesel::Connection::establish(&url) {
            if skyindex::db::cursor::read(&mut conn, SERVICE)
                .ok()
                .flatten()
                == Some(LAST_SEQ)
            {
                conn_result = Some(conn);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().expect("wait");
    let mut conn: diesel::PgConnection = conn_result.expect("the quick start indexed the stream");
    assert!(status.success());
    let truth = truth::load(&common::pds_small());
    let diffs = truth::differences(&mut conn, &truth);
    drop(conn);
    let mut admin = common::db::connect(&TestDb::admin_conn_url(&db));
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .expect("drop quickstart db");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
