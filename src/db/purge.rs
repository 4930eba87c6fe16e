//! A deleted account: remove every record it made and give back every counter they fed. The user
//! row stays as a tombstone (status, last rev), so replayed older commits cannot bring the
//! records back.

use std::collections::BTreeSet;

use diesel::prelude::*;

use super::{kinds, likes};
use crate::changes::rows::ProfileColumns;
use crate::changes::{Deltas, Kind};
use crate::schema::{
    blocks, feed_items, follows, generic_records, list_items, notifications, posts, reposts, users,
};

/// Rows removed, for the log line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Purged {
    pub records: usize,
}

/// The primary-key range holding every record of `did` (identifiers use the C collation, so the
/// range is exactly the URIs starting `at://DID/`).
pub fn repo_range(did: &str) -> (String, String) {
    (format!("at://{did}/"), format!("at://{did}0"))
}

pub fn purge_account(
    conn: &mut PgConnection,
    did: &str,
    deltas: &mut Deltas,
) -> QueryResult<Purged> {
    let (lo, hi) = repo_range(did);
    let gone_posts: Vec<(Option<String>, Option<String>, bool)> =
        diesel::delete(posts::table.filter(posts::uri.ge(&lo).and(posts::uri.lt(&hi))))
            .returning((
                posts::parent_uri,
                posts::quote_uri,
                posts::violates_thread_gate,
            ))
            .get_results(conn)?;
    for (parent, quote, refused) in &gone_posts {
        // A reply its thread's gate refused was never counted.
        if let Some(parent) = parent.as_ref().filter(|_| !refused) {
            deltas.post(parent).replies -= 1;
        }
        if let Some(quote) = quote {
            deltas.post(quote).quotes -= 1;
        }
    }
    deltas.user(did).posts -= gone_posts.len() as i64;
    diesel::delete(feed_items::table.filter(feed_items::uri.ge(&lo).and(feed_items::uri.lt(&hi))))
        .execute(conn)?;

    // Every like of the account goes, so each liked post loses exactly one (once-per-account).
    let likes_gone: Vec<String> = likes::purge(conn, did)?;
    let reposts_gone: Vec<String> =
        diesel::delete(reposts::table.filter(reposts::uri.ge(&lo).and(reposts::uri.lt(&hi))))
            .returning(reposts::post_uri)
            .get_results(conn)?;
    let follows_gone: Vec<String> =
        diesel::delete(follows::table.filter(follows::uri.ge(&lo).and(follows::uri.lt(&hi))))
            .returning(follows::following_did)
            .get_results(conn)?;
    let liked: BTreeSet<&String> = likes_gone.iter().collect();
    let reposted: BTreeSet<&String> = reposts_gone.iter().collect();
    let followed: BTreeSet<&String> = follows_gone.iter().collect();
    for uri in &liked {
        deltas.post(uri).likes -= 1;
    }
    for uri in &reposted {
        deltas.post(uri).reposts -= 1;
    }
    for subject in &followed {
        deltas.user(subject).followers -= 1;
    }
    deltas.user(did).follows -= followed.len() as i64;

    let blocks_gone =
        diesel::delete(blocks::table.filter(blocks::uri.ge(&lo).and(blocks::uri.lt(&hi))))
            .execute(conn)?;
    let generic_gone = diesel::delete(
        generic_records::table.filter(
            generic_records::uri
                .ge(&lo)
                .and(generic_records::uri.lt(&hi)),
        ),
    )
    .execute(conn)?;
    // Its list items: every (list, member) pair they made was its own (an item is typed only in
    // its list's repo), so each pair gone is a member less.
    let items_gone: Vec<(String, String)> = diesel::delete(
        list_items::table.filter(list_items::uri.ge(&lo).and(list_items::uri.lt(&hi))),
    )
    .returning((list_items::list_uri, list_items::subject_did))
    .get_results(conn)?;
    let members: BTreeSet<&(String, String)> = items_gone.iter().collect();
    for (list, _) in &members {
        *deltas.list(list) -= 1;
    }
    let mut kinds_gone = 0;
    for kind in Kind::ALL {
        kinds_gone += kinds::purge(conn, kind, &lo, &hi)?;
    }
    // The notifications its records caused (their URIs are the repo's range), and the ones it
    // received: neither has anyone to show them to any more.
    diesel::delete(
        notifications::table.filter(
            notifications::record_uri
                .ge(&lo)
                .and(notifications::record_uri.lt(&hi)),
        ),
    )
    .execute(conn)?;
    diesel::delete(notifications::table.filter(notifications::recipient_did.eq(did)))
        .execute(conn)?;
    diesel::update(users::table.find(did))
        .set(&ProfileColumns::default())
        .execute(conn)?;
    Ok(Purged {
        records: gone_posts.len()
            + likes_gone.len()
            + reposts_gone.len()
            + follows_gone.len()
            + blocks_gone
            + generic_gone
            + items_gone.len()
            + kinds_gone,
    })
}
