//! Operator commands against a real database in each state, the systemd notify protocol, the
//! unit file, and the README's quick start followed as a new user would.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::RunQueryDsl;

use crate::common::{self, db::TestDb, proc};

fn skyindex(args: &[&str], database_url: &str) -> (i32, String) {
    let out = Command::new(proc::bin())
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("RUST_LOG")
        .output()
        .expect("run skyindex");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn index_fixture(db: &TestDb) {
    let source = format!("file:{}", common::pds_small().join("frames.bin").display());
    let mut run = proc::spawn_run(&db.url, &["--relay", &source]);
    assert!(
        run.wait(Duration::from_secs(60)).success(),
        "{}",
        run.log_text()
    );
}

#[test]
fn health_in_every_state() {
    // Unreachable: nothing listens on port 1.
    let (code, out) = skyindex(
        &["health"],
        "postgres://postgres:secret-pw@127.0.0.1:1/nothing",
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("unhealthy: database") && out.contains("unreachable"),
        "{out}"
    );
    assert!(!out.contains("secret-pw"), "password leaked: {out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");

    // Fresh: no schema yet.
    let db = TestDb::empty();
    let (code, out) = skyindex(&["health"], &db.url);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("migration(s) pending"), "{out}");

    // Migrated, nothing indexed.
    let (code, out) = skyindex(&["migrate"], &db.url);
    assert_eq!(code, 0, "{out}");
    let (code, out) = skyindex(&["health"], &db.url);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no cursor saved yet"), "{out}");

    // Current.
    index_fixture(&db);
    let (code, out) = skyindex(&["health"], &db.url);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("ok: ") && out.contains("cursor=999"),
        "{out}"
    );

    // Stale: the cursor last advanced two minutes ago.
    db.conn()
        .batch_execute("UPDATE firehose_cursor SET updated_at = now() - interval '120 seconds'")
        .expect("age the cursor");
    let (code, out) = skyindex(&["health", "--max-age", "60s"], &db.url);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("stuck at 999 for 12"), "{out}");
    let (code, out) = skyindex(&["health", "--max-age", "5m"], &db.url);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn status_as_text_and_json() {
    let db = TestDb::new();
    index_fixture(&db);
    let (code, out) = skyindex(&["status"], &db.url);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("cursor: file:") && out.contains("= 999"),
        "{out}"
    );
    assert!(out.contains("likes") && out.contains("324"), "{out}");
    assert!(out.contains("like_count"), "{out}");

    let (code, out) = skyindex(&["status", "--json"], &db.url);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("status --json is JSON");
    assert_eq!(v["cursors"][0]["cursor"], 999);
    assert_eq!(v["rows"]["likes"], 324);
    assert_eq!(v["rows"]["posts"], 131);
    assert_eq!(v["counter_totals"]["followers_count"], v["rows"]["follows"]);
    assert!(v["cursors"][0]["lag_ms"].as_i64().is_some());

    let (code, out) = skyindex(&["status", "--json", "--fast"], &db.url);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["rows_exact"], false);
    assert!(v["counter_totals"].is_null());

    let (code, out) = skyindex(&["status"], "postgres://postgres:hunter2@127.0.0.1:1/x");
    assert_eq!(code, 1);
    assert!(!out.contains("hunter2"), "{out}");
}

#[test]
fn ready_and_watchdog_reach_the_notify_socket() {
    let dir = proc::TempDir::new("notify");
    let sock_path = dir.0.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let db = TestDb::new();
    // A large capture replayed slowly would be ideal; the fixture read 20 times over keeps the
    // pipeline busy long enough for several watchdog intervals.
    let big = dir.0.join("big.bin");
    let one = std::fs::read(common::pds_small().join("frames.bin")).expect("fixture");
    std::fs::write(&big, one.repeat(20)).expect("write");
    let source = format!("file:{}", big.display());
    let log = dir.0.join("log");
    // systemd sets WATCHDOG_PID to the service's pid; `exec` from a shell keeps the shell's.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("WATCHDOG_PID=$$ exec \"$0\" \"$@\"")
        .arg(proc::bin())
        .args(["--log-file"])
        .arg(&log)
        .args([
            "run",
            "--relay",
            &source,
            "--writers",
            "1",
            "--batch-size",
            "5",
        ])
        .env("DATABASE_URL", &db.url)
        .env("SKYINDEX_VERIFY", "off")
        .env("SKYINDEX_VERIFY_HANDLES", "off")
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "300000")
        .spawn()
        .expect("spawn");
    let mut messages = Vec::new();
    let until = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 256];
    while Instant::now() < until {
        if let Ok(n) = sock.recv(&mut buf) {
            messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
    }
    let status = child.wait().expect("wait");
    assert!(status.success());
    let all = messages.join("|");
    assert!(messages.iter().any(|m| m.contains("READY=1")), "{all}");
    let pings = messages.iter().filter(|m| m.contains("WATCHDOG=1")).count();
    assert!(pings >= 2, "expected watchdog pings while indexing: {all}");
    let ready_at = messages.iter().position(|m| m.contains("READY=1"));
    assert_eq!(ready_at, Some(0), "READY comes first: {all}");
}

#[test]
fn the_unit_file_verifies() {
    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("skipping: systemd-analyze is not installed (package systemd)");
        return;
    };
    assert!(out.status.success());
    let dir = proc::TempDir::new("unit");
    // The unit names the installed path; point it at the binary under test.
    let unit = std::fs::read_to_string(common::project_dir().join("scripts/skyindex.service"))
        .expect("unit");
    let unit = unit.replace("/usr/local/bin/skyindex", proc::bin());
    let path = dir.0.join("skyindex.service");
    std::fs::write(&path, unit).expect("write unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "systemd-analyze verify:\n{text}"
    );
    for needle in [
        "Type=notify",
        "WatchdogSec=",
        "Restart=always",
        "EnvironmentFile=/etc/skyindex/skyindex.env",
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=",
        "MemoryMax=",
        "LimitNOFILE=",
        "TimeoutStopSec=20",
    ] {
        assert!(
            std::fs::read_to_string(&path)
                .expect("unit")
                .contains(needle),
            "unit lacks {needle}"
        );
    }
}

#[test]
fn install_script_is_idempotent_and_keeps_settings() {
    let root = proc::TempDir::new("install");
    let install = |root: &std::path::Path| {
        Command::new("bash")
            .arg(common::project_dir().join("scripts/install.sh"))
            .arg(proc::bin())
            .env("PREFIX", root)
            .output()
            .expect("install.sh")
    };
    let out = install(&root.0);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = root.0.join("etc/skyindex/skyindex.env");
    std::fs::write(&env, "DATABASE_URL=postgres://mine\n").expect("edit env");
    let out = install(&root.0);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&env).expect("env"),
        "DATABASE_URL=postgres://mine\n"
    );
    for f in [
        "usr/local/bin/skyindex",
        "etc/systemd/system/skyindex.service",
        "etc/logrotate.d/skyindex",
        "var/log/skyindex",
    ] {
        assert!(root.0.join(f).exists(), "{f} not installed");
    }
}

#[test]
fn schema_file_is_what_diesel_print_schema_prints() {
    let db = TestDb::new();
    let Ok(out) = Command::new("diesel")
        .args(["print-schema", "--database-url", &db.url])
        .current_dir(common::project_dir())
        .output()
    else {
        eprintln!("skipping: the diesel CLI is not installed (cargo install diesel_cli --no-default-features --features postgres)");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed =
        std::fs::read_to_string(common::project_dir().join("src/schema.rs")).expect("schema.rs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        committed,
        "src/schema.rs is stale: regenerate it"
    );
}

#[test]
fn every_migration_redoes_on_an_empty_database() {
    use diesel_migrations::MigrationHarness;
    let db = TestDb::empty();
    let mut conn = db.conn();
    conn.run_pending_migrations(skyindex::db::migrate::MIGRATIONS)
        .expect("up");
    // redo = revert every migration, then apply them again.
    conn.revert_all_migrations(skyindex::db::migrate::MIGRATIONS)
        .expect("down");
    let left: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations')",
    ))
    .get_result(&mut conn)
    .expect("count tables");
    assert_eq!(left, 0, "down.sql left tables behind");
    conn.run_pending_migrations(skyindex::db::migrate::MIGRATIONS)
        .expect("up again");
    // And with the diesel CLI, when it is installed.
    if let Ok(out) = Command::new("diesel")
        .args(["migration", "redo", "--all", "--database-url", &db.url])
        .current_dir(common::project_dir())
        .output()
    {
        assert!(
            out.status.success(),
            "diesel migration redo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("note: diesel CLI not installed; redo checked through the embedded harness only");
    }
}

#[test]
fn every_on_conflict_target_has_a_unique_index() {
    // The ON CONFLICT targets the code uses: (table, columns).
    let targets: [(&str, &[&str]); 8] = [
        ("users", &["did"]),
        ("repos", &["did"]),
        ("repo_buffer", &["did", "seq"]),
        ("list_aggregations", &["list_uri"]),
        ("post_aggregations", &["post_uri"]),
        ("user_aggregations", &["did"]),
        ("firehose_cursor", &["service"]),
        ("labels", &["src", "uri", "cid", "val"]),
    ];
    let db = TestDb::new();
    let mut conn = db.conn();
    for (table, columns) in targets {
        let n = columns.len();
        let names = columns
            .iter()
            .map(|c| format!("'{c}'"))
            .collect::<Vec<_>>()
            .join(",");
        // A unique index on exactly these columns.
        let found: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "(SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
             WHERE c.relname = '{table}' AND i.indisunique AND i.indnatts = {n} \
             AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid \
                  AND a.attnum = ANY(i.indkey) AND a.attname IN ({names})) = {n})"
        )))
        .get_result(&mut conn)
        .expect("query catalog");
        assert!(
            found >= 1,
            "ON CONFLICT ({}) on {table} has no unique index",
            columns.join(", ")
        );
    }
    // Source check: every on_conflict(...) in src names one of the targets above.
    let src = common::project_dir().join("src");
    let mut found = 0;
    for entry in walk(&src) {
        let text = std::fs::read_to_string(&entry).expect("read src");
        for (i, _) in text.match_indices(".on_conflict(") {
            let rest = &text[i + 13..];
            // One column, or a tuple of them: `(l::src, l::uri, …)`.
            let arg: String = match rest.strip_prefix('(') {
                Some(tuple) => tuple.chars().take_while(|c| *c != ')').collect(),
                None => rest.chars().take_while(|c| *c != ')').collect(),
            };
            let columns: Vec<String> = arg
                .split(',')
                .map(|c| c.rsplit("::").next().unwrap_or("").trim().to_owned())
                .collect();
            assert!(
                targets
                    .iter()
                    .any(|(_, c)| c.iter().map(|s| s.to_string()).eq(columns.iter().cloned())),
                "{}: on_conflict({arg}) is not in the checked list",
                entry.display()
            );
            found += 1;
        }
    }
    assert!(found >= 5, "found {found} on_conflict calls");
}

#[test]
fn column_types_follow_the_rules() {
    let db = TestDb::new();
    let mut conn = db.conn();
    #[derive(diesel::QueryableByName)]
    struct Col {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        data_type: String,
    }
    let cols: Vec<Col> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut conn)
    .expect("columns");
    for c in &cols {
        let name = &c.column_name;
        if name.ends_with("_at") || name == "last_event_time" {
            assert_eq!(
                c.data_type, "timestamp with time zone",
                "{}.{name}",
                c.table_name
            );
        }
        if name.ends_with("_count") || name == "cursor" {
            assert_eq!(c.data_type, "bigint", "{}.{name}", c.table_name);
        }
        assert!(
            !c.data_type.starts_with("character"),
            "{}.{name} is {}: use text",
            c.table_name,
            c.data_type
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}
