//! The later kinds' tables (see `changes::kinds`): alike in what the writer does with them
//! (look up URI and CID, delete by URI, append rows, purge a repo's range), so one set of
//! statements serves them all, each checked by Diesel against its table.

use std::collections::HashMap;

use diesel::prelude::*;

use super::append;
use crate::changes::{Kind, KindRow, TableDiff};
use crate::schema::{
    actor_statuses, chat_declarations, feed_generators, labeler_services, list_blocks, lists,
    notification_declarations, postgates, starter_packs, threadgates, verifications,
};

/// Runs `$then!(table, variant)` with the Diesel table and the [`KindRow`] variant of `$kind`.
macro_rules! each_kind {
    ($kind:expr, $then:ident) => {
        match $kind {
            Kind::Lists => $then!(lists, KindRow::List),
            Kind::ListBlocks => $then!(list_blocks, KindRow::ListBlock),
            Kind::StarterPacks => $then!(starter_packs, KindRow::StarterPack),
            Kind::FeedGenerators => $then!(feed_generators, KindRow::FeedGenerator),
            Kind::LabelerServices => $then!(labeler_services, KindRow::LabelerService),
            Kind::Verifications => $then!(verifications, KindRow::Verification),
            Kind::ActorStatuses => $then!(actor_statuses, KindRow::ActorStatus),
            Kind::NotificationDeclarations => {
                $then!(notification_declarations, KindRow::NotificationDeclaration)
            }
            Kind::ChatDeclarations => $then!(chat_declarations, KindRow::ChatDeclaration),
            Kind::Threadgates => $then!(threadgates, KindRow::Threadgate),
            Kind::Postgates => $then!(postgates, KindRow::Postgate),
        }
    };
}

/// URI → CID of the rows of `uris` that `kind`'s table holds.
pub fn uri_cids(
    conn: &mut PgConnection,
    kind: Kind,
    uris: &[String],
) -> QueryResult<HashMap<String, String>> {
    macro_rules! load {
        ($t:ident, $v:path) => {
            $t::table
                .filter($t::uri.eq_any(uris))
                .select(($t::uri, $t::cid))
                .load::<(String, String)>(conn)
        };
    }
    Ok(each_kind!(kind, load)?.into_iter().collect())
}

/// URI → the account verified, of the verifications of `uris` held.
pub fn verification_subjects(
    conn: &mut PgConnection,
    uris: &[String],
) -> QueryResult<HashMap<String, String>> {
    Ok(verifications::table
        .filter(verifications::uri.eq_any(uris))
        .select((verifications::uri, verifications::subject_did))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// Deletes the URIs that go or change, then appends the new rows (as for every table: the
/// planner checked each URI, so the rows cannot conflict).
pub fn write(conn: &mut PgConnection, kind: Kind, diff: &TableDiff<KindRow>) -> QueryResult<()> {
    macro_rules! write {
        ($t:ident, $v:path) => {{
            if !diff.delete.is_empty() {
                diesel::delete($t::table.filter($t::uri.eq_any(&diff.delete))).execute(conn)?;
            }
            let rows: Vec<_> = diff
                .insert
                .iter()
                .filter_map(|r| match r {
                    $v(row) => Some(row.clone()),
                    _ => None,
                })
                .collect();
            append!(conn, $t::table, &rows);
        }};
    }
    each_kind!(kind, write);
    Ok(())
}

/// Deletes the rows of one repo (the URI range `lo..hi`, see `purge::repo_range`).
pub fn purge(conn: &mut PgConnection, kind: Kind, lo: &str, hi: &str) -> QueryResult<usize> {
    macro_rules! purge {
        ($t:ident, $v:path) => {
            diesel::delete($t::table.filter($t::uri.ge(lo).and($t::uri.lt(hi)))).execute(conn)
        };
    }
    each_kind!(kind, purge)
}
