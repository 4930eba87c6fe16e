//! The r2d2 pool of Diesel connections. Each writer holds one connection for its lifetime; the
//! cursor keeper holds one more: pool size = writers + 1.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, ManageConnection, Pool, PooledConnection,
};
use diesel::sql_types::Bool;
use diesel::RunQueryDsl;
use log::warn;

use crate::backoff::Backoff;
use crate::shutdown::sleep_unless_stopped;

pub type PgPool = Pool<Manager>;
pub type PgPooled = PooledConnection<Manager>;

/// Diesel's connection manager, with one more check when a connection is taken from the pool
/// (which writers do only after a database error): a session that has become read-only (a
/// failover to a standby, `default_transaction_read_only` set and later reset) is thrown away,
/// so the retry gets a fresh session instead of failing the same way forever.
#[derive(Debug)]
pub struct Manager(ConnectionManager<PgConnection>);

impl ManageConnection for Manager {
    type Connection = PgConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgConnection, Self::Error> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), Self::Error> {
        let read_only: bool = diesel::select(diesel::dsl::sql::<Bool>(
            "current_setting('transaction_read_only') = 'on'",
        ))
        .get_result(conn)
        .map_err(diesel::r2d2::Error::QueryError)?;
        if read_only {
            return Err(diesel::r2d2::Error::QueryError(
                diesel::result::Error::QueryBuilderError(
                    "the session is read-only (every transaction would be a read-only transaction: a standby, or default_transaction_read_only on)".into(),
                ),
            ));
        }
        Ok(())
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        self.0.has_broken(conn)
    }
}

/// Session settings for the indexer's connections.
#[derive(Debug, Clone, Copy)]
struct Session {
    synchronous_commit_off: bool,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for Session {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        // JIT compiles a query in hundreds of milliseconds to save microseconds: never worth it
        // for statements that each touch a few rows (measured: 300 ms on a thread lookup).
        // synchronous_commit=off is opt-in: with it, a commit PostgreSQL acknowledged can still
        // be lost if the server crashes and restarts while we keep running (our watermark
        // already passed it, so it would never be replayed). See README, "Durability".
        let sql = if self.synchronous_commit_off {
            "SET application_name = 'skyindex'; SET plan_cache_mode = force_custom_plan; SET jit = off; SET synchronous_commit = off"
        } else {
            "SET application_name = 'skyindex'; SET plan_cache_mode = force_custom_plan; SET jit = off"
        };
        conn.batch_execute(sql)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Builds the pool without connecting: connections are opened on first use, so a database
/// that is down at start is retried by the callers rather than failing the build.
pub fn build(url: &str, size: u32, synchronous_commit_off: bool) -> PgPool {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(true)
        // Failures to connect reach the caller, which logs them with what it will do next;
        // r2d2's own logging would say the same thing again without context.
        .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
        .connection_customizer(Box::new(Session {
            synchronous_commit_off,
        }))
        .build_unchecked(Manager(ConnectionManager::new(url)))
}

/// Takes a connection, retrying with backoff until the database answers; `None` when `stop` is
/// set first. For the service's start: a database that is down is waited for, not fatal.
pub fn get_retrying(pool: &PgPool, stop: &AtomicBool) -> Option<PgPooled> {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        match pool.get() {
            Ok(conn) => return Some(conn),
            Err(e) => {
                let wait = backoff.next_delay();
                warn!(
                    "database unreachable ({e}); retry {} in {} ms",
                    backoff.attempts(),
                    wait.as_millis()
                );
                if !sleep_unless_stopped(wait, stop) {
                    return None;
                }
            }
        }
    }
}
