//! The `firehose_cursor` row: per relay, the seq at or below which every event is committed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::schema::firehose_cursor;

pub fn read(conn: &mut PgConnection, service: &str) -> QueryResult<Option<i64>> {
    firehose_cursor::table
        .find(service)
        .select(firehose_cursor::cursor)
        .first(conn)
        .optional()
}

pub fn write(
    conn: &mut PgConnection,
    service: &str,
    cursor: i64,
    last_event_time: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    use firehose_cursor::dsl as c;
    diesel::insert_into(c::firehose_cursor)
        .values((
            c::service.eq(service),
            c::cursor.eq(cursor),
            c::last_event_time.eq(last_event_time),
            c::updated_at.eq(Utc::now()),
        ))
        .on_conflict(c::service)
        .do_update()
        .set((
            c::cursor.eq(excluded(c::cursor)),
            c::last_event_time.eq(excluded(c::last_event_time)),
            c::updated_at.eq(excluded(c::updated_at)),
        ))
        .execute(conn)
        .map(drop)
}
