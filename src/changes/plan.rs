//! A planned segment: the rows to delete and insert per table, the account rows to upsert, and
//! what happened, for the stats line.

use std::collections::BTreeMap;

use super::kinds::{Kind, KindRow, ListItemRow};
use super::rows::{
    BlockRow, FeedItemRow, FollowRow, GenericRow, LikeRow, NotificationRow, PostRow,
    ProfileColumns, RepostRow, UserState,
};

/// What one table needs written: rows to delete by URI (gone, or replaced), then rows to insert.
#[derive(Debug)]
pub struct TableDiff<R> {
    pub delete: Vec<String>,
    pub insert: Vec<R>,
}

impl<R> TableDiff<R> {
    pub fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.insert.is_empty()
    }
}

/// What happened to the ops and events of a segment, for the stats line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanStats {
    pub commits: u64,
    pub ops_create: u64,
    pub ops_update: u64,
    pub ops_delete: u64,
    /// Commits whose rev was not newer than the repo's: replays, harmless.
    pub stale_commits: u64,
    /// Identity and account events older than what we hold for the account: replays.
    pub stale_events: u64,
    /// Commits for accounts we hold as deleted.
    pub deleted_account_commits: u64,
    /// Commits whose `since` is not the rev we hold: events were missed upstream.
    pub rev_gaps: u64,
}

impl PlanStats {
    pub fn add(&mut self, o: &PlanStats) {
        self.commits += o.commits;
        self.ops_create += o.ops_create;
        self.ops_update += o.ops_update;
        self.ops_delete += o.ops_delete;
        self.stale_commits += o.stale_commits;
        self.stale_events += o.stale_events;
        self.deleted_account_commits += o.deleted_account_commits;
        self.rev_gaps += o.rev_gaps;
    }
}

#[derive(Debug)]
pub struct Plan {
    /// Accounts seen or changed, full state columns, sorted by DID.
    pub users: Vec<UserState>,
    /// Profile columns to set, sorted by DID.
    pub profiles: Vec<(String, ProfileColumns)>,
    pub posts: TableDiff<PostRow>,
    pub likes: TableDiff<LikeRow>,
    pub reposts: TableDiff<RepostRow>,
    pub follows: TableDiff<FollowRow>,
    pub blocks: TableDiff<BlockRow>,
    pub generic: TableDiff<GenericRow>,
    /// The later kinds, per table (only tables with changes).
    pub kinds: BTreeMap<Kind, TableDiff<KindRow>>,
    pub list_items: TableDiff<ListItemRow>,
    pub feed_items: TableDiff<FeedItemRow>,
    /// Notifications: `delete` holds the URIs of records whose notifications go (deleted or
    /// replaced, or recomputed), `insert` the ones that come.
    pub notifications: TableDiff<NotificationRow>,
    /// Replies judged again by a gate written since: (URI, whether the gate refuses it).
    pub verdicts: Vec<(String, bool)>,
    /// An account deleted by the segment's last event: its records are purged after the plan is
    /// written (see `db::purge`).
    pub purge: Option<String>,
    pub stats: PlanStats,
}
