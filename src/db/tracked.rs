//! The accounts `skyindex track` named (`tracked_repos`).

use diesel::prelude::*;

use crate::schema::tracked_repos;

/// Every account tracked.
pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    tracked_repos::table
        .select(tracked_repos::did)
        .order(tracked_repos::did)
        .load(conn)
}

/// Adds `dids` (those tracked already stay as they were); returns how many were new.
pub fn add(conn: &mut PgConnection, dids: &[String]) -> QueryResult<usize> {
    let rows: Vec<_> = dids.iter().map(|d| tracked_repos::did.eq(d)).collect();
    diesel::insert_into(tracked_repos::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(conn)
}

/// Takes `dids` away; returns how many were tracked.
pub fn remove(conn: &mut PgConnection, dids: &[String]) -> QueryResult<usize> {
    diesel::delete(tracked_repos::table.filter(tracked_repos::did.eq_any(dids))).execute(conn)
}
