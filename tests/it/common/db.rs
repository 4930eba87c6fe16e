//! A fresh database per test, created from the migrations and dropped afterwards, so tests run
//! in parallel against the real PostgreSQL on this machine (`TEST_DATABASE_URL` overrides the
//! server: any database on it; ours are created beside it).

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub url: String,
    pub name: String,
    admin_url: String,
}

fn with_database(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).expect("TEST_DATABASE_URL is a URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

impl TestDb {
    /// A new empty database with the migrations applied.
    pub fn new() -> TestDb {
        let db = TestDb::empty();
        let mut conn = db.conn();
        skyindex::db::migrate::run_pending(&mut conn).expect("migrations apply");
        db
    }

    /// A new database with nothing in it, not even the migrations.
    pub fn empty() -> TestDb {
        TestDb::empty_named("skyindex_test")
    }

    /// A new migrated database whose name starts with `prefix` (e.g. `chaos_kill`).
    pub fn named(prefix: &str) -> TestDb {
        let db = TestDb::empty_named(prefix);
        skyindex::db::migrate::run_pending(&mut db.conn()).expect("migrations apply");
        db
    }

    fn empty_named(prefix: &str) -> TestDb {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.into());
        let admin_url = with_database(&base, "postgres");
        let name = format!(
            "{prefix}_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let mut admin = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is reachable: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        TestDb {
            url: with_database(&base, &name),
            name,
            admin_url,
        }
    }

    /// The maintenance database on the same server, for admin statements about this one.
    pub fn admin_conn_url(db: &TestDb) -> String {
        db.admin_url.clone()
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect to test database")
    }

    /// Rows of `table` (a name of ours).
    pub fn rows(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<N>(&mut self.conn())
            .expect("count")
            .n
    }
}

/// The column `row` of every row `sql` returns, in its order: a comparable picture of a
/// database's state.
pub fn text_rows(conn: &mut PgConnection, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    use diesel::RunQueryDsl;
    diesel::sql_query(sql)
        .load::<Row>(conn)
        .expect("rows")
        .into_iter()
        .map(|r| r.row)
        .collect()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

pub fn connect(url: &str) -> PgConnection {
    PgConnection::establish(url).expect("connect")
}
