//! The cursor keeper's connection dies just before a SIGTERM. The worker exits 0 and logs
//! `stopped after … cursor=N`; the database must then hold N: the final save is retried on a
//! fresh connection (it once was tried only on the dead one; RELIABILITY.md, scenario 2).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use skyindex::replay::{Recording, ReplayOptions, ReplayServer};

use crate::common::{self, db::DEFAULT_URL};

use super::support::{start_worker, wait_for_cursor, ChaosDb};

#[test]
fn the_final_cursor_is_saved_even_if_the_keeper_lost_its_connection() {
    let frames = common::read_capture(&common::pds_small().join("frames.bin"));
    let recording = Arc::new(Recording::from_messages(frames));
    let options = ReplayOptions {
        rate: Some(300.0),
        ..ReplayOptions::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server = ReplayServer::start(listener, recording, options).expect("replay server");
    let db = ChaosDb::new("keeper");
    let url = server.url();
    let mut w = start_worker(&db.url, &["--relay", &url]);
    wait_for_cursor(&db, &mut w, 100, Duration::from_secs(30));
    // Only the keeper's backend: its last statement wrote the cursor.
    let base = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.into());
    let mut admin = common::db::connect(&base);
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{}' AND query LIKE '%firehose_cursor%'",
            db.name
        ))
        .expect("terminate the keeper's backend");
    w.stop();
    let log = w.log_text();
    let logged: Option<i64> = log
        .lines()
        .rfind(|l| l.contains("stopped after"))
        .and_then(|l| super::support::field(l, "cursor"))
        .and_then(|c| c.parse().ok());
    assert!(logged.is_some(), "{log}");
    assert_eq!(db.cursor(), logged, "saved vs logged cursor; log:\n{log}");
}
