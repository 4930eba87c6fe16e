//! Writes a planned segment: for each table, one DELETE of the URIs that go or change, then the
//! rows that come appended (`append!`: INSERT for a few, COPY for many); account rows upserted
//! once. Counters are written last, by [`super::counters`].

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::{append, kinds, likes, CHUNK};
use crate::changes::Plan;
use crate::schema::{
    blocks, feed_items, follows, generic_records, list_items, notifications, posts, reposts, users,
};

macro_rules! write_table {
    ($conn:expr, $diff:expr, $table:ident) => {{
        let diff = &$diff;
        if !diff.delete.is_empty() {
            diesel::delete($table::table.filter($table::uri.eq_any(&diff.delete)))
                .execute($conn)?;
        }
        append!($conn, $table::table, &diff.insert);
    }};
}

pub fn write_plan(conn: &mut PgConnection, plan: &Plan) -> QueryResult<()> {
    for chunk in plan.users.chunks(CHUNK) {
        diesel::insert_into(users::table)
            .values(chunk)
            .on_conflict(users::did)
            .do_update()
            .set((
                users::handle.eq(excluded(users::handle)),
                users::active.eq(excluded(users::active)),
                users::status.eq(excluded(users::status)),
                users::rev.eq(excluded(users::rev)),
                users::indexed_at.eq(excluded(users::indexed_at)),
                users::data_cid.eq(excluded(users::data_cid)),
            ))
            .execute(conn)?;
    }
    // Profile records change rarely; one statement each is fine.
    for (did, columns) in &plan.profiles {
        diesel::update(users::table.find(did))
            .set(columns)
            .execute(conn)?;
    }
    write_table!(conn, plan.posts, posts);
    if !plan.verdicts.is_empty() {
        let (uris, refused): (Vec<&str>, Vec<bool>) =
            plan.verdicts.iter().map(|(u, r)| (u.as_str(), *r)).unzip();
        diesel::sql_query(
            "UPDATE posts p SET violates_thread_gate = v.refused \
             FROM unnest($1::text[], $2::bool[]) AS v(uri, refused) WHERE p.uri = v.uri",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(uris)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Bool>, _>(refused)
        .execute(conn)?;
    }
    likes::delete(conn, &plan.likes.delete)?;
    likes::insert(conn, &plan.likes.insert)?;
    write_table!(conn, plan.reposts, reposts);
    write_table!(conn, plan.follows, follows);
    write_table!(conn, plan.blocks, blocks);
    write_table!(conn, plan.generic, generic_records);
    write_table!(conn, plan.list_items, list_items);
    for (kind, diff) in &plan.kinds {
        kinds::write(conn, *kind, diff)?;
    }
    write_table!(conn, plan.feed_items, feed_items);
    // A record's notifications go by its URI (the key's first column), then the new ones come.
    let notes = &plan.notifications;
    if !notes.delete.is_empty() {
        diesel::delete(
            notifications::table.filter(notifications::record_uri.eq_any(&notes.delete)),
        )
        .execute(conn)?;
    }
    append!(conn, notifications::table, &notes.insert);
    Ok(())
}
