//! `skyindex run --labelers` end to end: the real binary follows a labeler on loopback (the
//! replay server serving the `subscribeLabels` stream recorded from a real Ozone, its DID
//! document from a loopback PLC directory) while it indexes a firehose (the PDS capture
//! recorded with it), and the `labels` table must end equal to Ozone's labels in force:
//! followed live, joining late (seq gaps), found through `--labelers seen`, stopped and
//! restarted mid-stream, killed with SIGKILL and restarted, and beside a labeler that stalls
//! while the firehose goes on at its rate.

use std::time::{Duration, Instant};

use skyindex::replay::ReplayOptions;

use crate::common::{db::TestDb, proc};
use crate::labels_support::{self as support, Fixture};

fn service(f: &Fixture) -> String {
    format!("labels:{}", f.did)
}

/// The table holds exactly Ozone's rows (negations included) and its labels in force.
fn assert_ozone(db: &TestDb, f: &Fixture) {
    assert_eq!(support::table_rows(db), support::ozone_rows(f));
    assert_eq!(
        support::table_in_force(db, f.at),
        support::ozone_in_force(f)
    );
}

#[test]
fn a_labeler_followed_live_ends_as_ozone() {
    let f = support::fixture();
    let db = TestDb::new();
    let firehose = support::firehose(ReplayOptions::default());
    let lab = support::labeler(&f, f.live.clone(), ReplayOptions::default());
    let mut run = support::run(&db, &firehose, &lab.directory, &f.did, &[]);
    support::wait_for_cursor(&db, &run, &service(&f), 60, Duration::from_secs(60));
    run.wait_for_log(
        &format!("labeler did={} connected=yes cursor=60", f.did),
        Duration::from_secs(10),
    );
    run.stop();
    assert_ozone(&db, &f);
    let log = run.log_text();
    if std::env::var_os("SHOW_LOG").is_some() {
        eprintln!("{log}");
    }
    // The first connection asks for everything the labeler serves.
    assert_eq!(lab.stream.cursors().first(), Some(&Some(0)), "{log}");
    let totals = support::fields(&log, " totals ");
    assert_eq!(
        totals.get("labels").map(String::as_str),
        Some("60"),
        "{log}"
    );
    assert_eq!(totals.get("labels_refused").map(String::as_str), Some("0"));
    let stats = support::fields(&log, " stats ");
    assert_eq!(stats.get("labels").map(String::as_str), Some("60"));

    // `status` shows the labeler's cursor and lag, apart from the firehose's.
    let out = std::process::Command::new(proc::bin())
        .args(["status", "--json", "--database-url", &db.url])
        .output()
        .expect("status");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let labelers = status["labelers"].as_array().expect("labelers");
    assert_eq!(labelers.len(), 1, "{status}");
    assert_eq!(labelers[0]["did"], f.did.as_str());
    assert_eq!(labelers[0]["cursor"], 60);
    assert!(labelers[0]["lag_ms"].as_i64().is_some());
    assert_eq!(status["rows"]["labels"], 46);
    assert_eq!(status["labels_in_force"], 35, "{status}");
    assert!(status["cursors"]
        .as_array()
        .expect("cursors")
        .iter()
        .all(|c| !c["service"].as_str().unwrap_or("").starts_with("labels:")));
    let text = std::process::Command::new(proc::bin())
        .args(["status", "--database-url", &db.url])
        .output()
        .expect("status");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(&format!("labeler: {} = 60", f.did)), "{text}");
    // `health` judges the firehose's cursor, however recently a labeler's moved; a labeler's
    // is checked by naming it.
    skyindex::db::cursor::write(&mut db.conn(), &service(&f), 60, None).expect("touch");
    let labeler_service = service(&f);
    for (args, want) in [
        (vec![], "ok: firehose cursor="),
        (vec!["--service", labeler_service.as_str()], "cursor=60"),
    ] {
        let out = std::process::Command::new(proc::bin())
            .arg("health")
            .args(["--database-url", &db.url, "--max-age", "1h"])
            .args(args)
            .output()
            .expect("health");
        let line = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && line.contains(want), "{line}");
    }
}

#[test]
fn a_late_join_and_labelers_seen_end_as_ozone() {
    // Joining after the labels were written: the current rows only, seq 1..60 with gaps.
    let f = support::fixture();
    let db = TestDb::new();
    let firehose = support::firehose(ReplayOptions::default());
    let lab = support::labeler(&f, f.replay.clone(), ReplayOptions::default());
    // `seen`: the labeler is found through its app.bsky.labeler.service record in the firehose.
    let mut run = support::run(
        &db,
        &firehose,
        &lab.directory,
        "seen",
        &["--labelers-rescan", "1s"],
    );
    support::wait_for_cursor(&db, &run, &service(&f), 60, Duration::from_secs(60));
    run.stop();
    assert_ozone(&db, &f);
    assert!(run
        .log_text()
        .contains(&format!("following labeler did={} from cursor=0", f.did)));
}

#[test]
fn restarts_and_kill_9_resume_from_the_labelers_cursor() {
    let f = support::fixture();
    let db = TestDb::new();
    let firehose = support::firehose(ReplayOptions::default());
    // Slow enough to stop in the middle.
    let slow = ReplayOptions {
        rate: Some(15.0),
        ..ReplayOptions::default()
    };
    let lab = support::labeler(&f, f.live.clone(), slow);
    let svc = service(&f);

    // SIGTERM mid-stream: the cursor saved covers what was committed.
    let mut run = support::run(&db, &firehose, &lab.directory, &f.did, &[]);
    support::wait_for_cursor(&db, &run, &svc, 10, Duration::from_secs(60));
    run.stop();
    let first = support::cursor(&db, &svc).expect("a cursor");
    assert!(first < 60, "stopped mid-stream, at {first}");

    // SIGKILL mid-stream after a restart that resumed from it.
    let mut run = support::run(&db, &firehose, &lab.directory, &f.did, &[]);
    support::wait_for_cursor(&db, &run, &svc, first + 10, Duration::from_secs(60));
    run.signal(9);
    run.wait(Duration::from_secs(10));
    let killed = support::cursor(&db, &svc).expect("a cursor");
    assert!(killed < 60, "killed mid-stream, at {killed}");

    // And to the end.
    let mut run = support::run(&db, &firehose, &lab.directory, &f.did, &[]);
    support::wait_for_cursor(&db, &run, &svc, 60, Duration::from_secs(60));
    run.stop();
    let cursors = lab.stream.cursors();
    assert_eq!(cursors.len(), 3, "{cursors:?}");
    assert_eq!(cursors[0], Some(0));
    assert_eq!(
        cursors[1],
        Some(first),
        "the restart resumed from the saved cursor"
    );
    assert!(
        cursors[2].is_some_and(|c| c >= first + 10 && c <= killed),
        "after kill -9, from the saved cursor: {cursors:?}, saved {killed}"
    );
    assert_ozone(&db, &f);
}

/// Waits until the firehose's cursor reached `last`, without errors on the way.
fn wait_for_the_firehose(db: &TestDb, run: &proc::Running, last: i64) {
    support::wait_for_cursor(db, run, "firehose", last, Duration::from_secs(120));
    let f = support::fields(&run.log_text(), " stats ");
    assert_eq!(f.get("errors").map(String::as_str), Some("0"));
}

#[test]
fn a_stalled_labeler_does_not_slow_the_firehose() {
    let f = support::fixture();
    // The real-PDS capture (999 frames), paced like a relay: about 4 s.
    let frames = crate::common::read_capture(&crate::common::pds_small().join("frames.bin"));
    let last = 999;
    let rate = 250.0;
    let paced = ReplayOptions {
        rate: Some(rate),
        ..ReplayOptions::default()
    };
    let totals_rate = |log: &str| -> f64 {
        support::fields(log, " totals ")
            .get("events/sec")
            .and_then(|r| r.parse().ok())
            .expect("events/sec in the totals line")
    };

    // The firehose alone, at its rate.
    let db = TestDb::new();
    let firehose = support::serve(frames.clone(), paced.clone());
    let nobody = support::directory(Default::default());
    let mut run = support::run(&db, &firehose, &nobody, "", &[]);
    wait_for_the_firehose(&db, &run, last);
    run.stop();
    let alone = totals_rate(&run.log_text());

    // With a labeler that sends 5 frames and then nothing (answering pings), and another
    // whose document points at a port where nobody completes a handshake.
    let db = TestDb::new();
    let firehose = support::serve(frames, paced);
    let stalled = ReplayOptions {
        stall_after: Some(5),
        ..ReplayOptions::default()
    };
    let lab = support::labeler(&f, f.live.clone(), stalled);
    let ours = support::OurLabeler::new();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("http://{}", dead.local_addr().expect("addr"));
    let directory = support::directory(
        [
            (
                f.did.clone(),
                support::document_at(&f, &format!("http://{}", lab.stream.local_addr()), false),
            ),
            (ours.did.clone(), ours.document(&dead_url)),
        ]
        .into(),
    );
    let both = format!("{},{}", f.did, ours.did);
    let mut run = support::run(
        &db,
        &firehose,
        &directory,
        &both,
        &["--labeler-stall-timeout", "2s"],
    );
    wait_for_the_firehose(&db, &run, last);
    support::wait_for_cursor(&db, &run, &service(&f), 5, Duration::from_secs(10));
    let asked = Instant::now();
    run.stop();
    let stop_took = asked.elapsed();
    drop(dead);
    let beside = totals_rate(&run.log_text());
    eprintln!(
        "firehose of 999 frames paced at {rate}/s: {alone:.0} events/s alone, {beside:.0} events/s beside a stalled and a dead labeler; stop took {:.1} s",
        stop_took.as_secs_f64()
    );
    assert!(
        beside >= alone * 0.9,
        "the firehose ran at {beside:.0} events/s beside a stalled labeler, {alone:.0} alone"
    );
    assert!(
        stop_took < Duration::from_secs(10),
        "stopping took {stop_took:?}"
    );
    // The stalled labeler's five labels are in, and nothing after them.
    assert_eq!(support::cursor(&db, &service(&f)), Some(5));
    assert_eq!(support::table_rows(&db).len(), 5);
}

#[test]
fn many_labelers_start_a_few_a_second_and_unknown_ones_are_not_hammered() {
    let db = TestDb::new();
    let firehose = support::firehose(ReplayOptions::default());
    // Twelve labelers the directory has never heard of.
    let directory = support::directory(Default::default());
    let dids: Vec<String> = (1..=12).map(crate::identity::support::plc).collect();
    let mut run = support::run(&db, &firehose, &directory, &dids.join(","), &[]);
    let until = Instant::now() + Duration::from_secs(20);
    while run.log_text().matches("following labeler").count() < 12 {
        assert!(Instant::now() < until, "{}", run.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    run.stop();
    let log = run.log_text();
    // Five a tick: the twelve starts span at least two ticks of the keeper (a second each).
    let times: Vec<chrono::DateTime<chrono::Utc>> = log
        .lines()
        .filter(|l| l.contains("following labeler"))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(times.len(), 12);
    let span = *times.last().expect("a start") - *times.first().expect("a start");
    assert!(
        span >= chrono::TimeDelta::milliseconds(1500),
        "starts spread over {span}; log:\n{log}"
    );
    // A DID the directory does not know is asked again in a minute, not every few seconds.
    assert_eq!(directory.requests(), 12, "{log}");
    assert_eq!(log.matches("unavailable:").count(), 12, "{log}");
}
