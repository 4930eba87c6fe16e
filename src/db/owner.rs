//! The database's owner lock: a session-level advisory lock that one skyindex process writing
//! the database holds for as long as it runs. Advisory locks are per database, so two services
//! on one server with their own databases do not meet. Holding it is what makes the writers'
//! in-memory account rows (`writer::user_cache`) safe: no other instance writes them.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Nullable, Text};

/// The lock's two keys: "skyi" as an int4, and 0 (the whole database; a later sharding of
/// repos between instances would take one per shard).
const CLASS: i32 = 0x736b_7969;
const OBJECT: i32 = 0;

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

/// Takes the lock on this connection's session if no other session holds it.
pub fn try_take(conn: &mut PgConnection) -> QueryResult<bool> {
    diesel::sql_query("SELECT pg_try_advisory_lock($1, $2) AS taken")
        .bind::<Integer, _>(CLASS)
        .bind::<Integer, _>(OBJECT)
        .get_result::<Taken>(conn)
        .map(|t| t.taken)
}

/// Whether this connection's session holds the lock (a connection given back by a restarted
/// server is a new session that does not).
pub fn held(conn: &mut PgConnection) -> QueryResult<bool> {
    diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
         AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2 \
         AND pid = pg_backend_pid() AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS taken",
    )
    .bind::<Integer, _>(CLASS)
    .bind::<Integer, _>(OBJECT)
    .get_result::<Taken>(conn)
    .map(|t| t.taken)
}

/// Who holds the lock, for the message of an instance that cannot start.
#[derive(Debug, Clone, QueryableByName)]
pub struct Holder {
    #[diesel(sql_type = Integer)]
    pub pid: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub client: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub since: Option<String>,
}

pub fn holder(conn: &mut PgConnection) -> QueryResult<Option<Holder>> {
    diesel::sql_query(
        "SELECT a.pid, host(a.client_addr) AS client, \
         to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS since \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.classid = $1::int::oid AND l.objid = $2::int::oid \
         AND l.objsubid = 2 AND l.granted \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .bind::<Integer, _>(CLASS)
    .bind::<Integer, _>(OBJECT)
    .get_results::<Holder>(conn)
    .map(|mut rows| rows.pop())
}
