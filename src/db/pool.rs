//! The r2d2 pool of Diesel connections. Each writer holds one connection for its lifetime; the
//! cursor keeper holds one more: pool size = writers + 1.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgPooled = PooledConnection<ConnectionManager<PgConnection>>;

/// Session settings for the indexer's connections.
#[derive(Debug, Clone, Copy)]
struct Session {
    synchronous_commit_off: bool,
}

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for Session {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        // The cursor is committed after the data it covers, so a transaction lost in a crash
        // with synchronous_commit off is simply replayed from the cursor; nothing is lost.
        // Diesel prepares each statement once per connection; after five runs PostgreSQL may
        // settle on a generic plan chosen while the tables were nearly empty (a sequential
        // scan) and keep it as they grow. Our statements are cheap to plan: plan every time.
        let sql = if self.synchronous_commit_off {
            "SET application_name = 'skyindex'; SET plan_cache_mode = force_custom_plan; SET synchronous_commit = off"
        } else {
            "SET application_name = 'skyindex'; SET plan_cache_mode = force_custom_plan"
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
        .test_on_check_out(false)
        .connection_customizer(Box::new(Session {
            synchronous_commit_off,
        }))
        .build_unchecked(ConnectionManager::new(url))
}
