//! Plans a segment of events: walks them in stream order against an in-memory view of the rows
//! they touch (see `sim`), and produces the rows to delete and insert per table, the account rows
//! to upsert, and counter deltas. Pure: no database, so every rule of the index is unit-testable.
//!
//! The rules (the whole semantics of the index lives here):
//! - A commit applies only if its rev is newer than the repo's last applied rev, and never to an
//!   account whose status is `deleted`; replays are therefore harmless.
//! - create, update and delete make the table say what the repo says; a create of a record we hold
//!   with the same CID changes nothing, with another CID it replaces it.
//! - A counter moves only when a row really appears or disappears, and every counter a record fed
//!   is given back when it goes. Likes, reposts and follows count once per (account, subject)
//!   pair, however many such records the account holds.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::gates::{self, Gate};
use super::keys::{at_uri, owned, table_of, Table};
use super::kinds::{kind_row, list_item_row, Origin};
use super::notify::{self, Notifications, Source};
use super::rows::{created_at_of, feed_items, like_row, post_row, profile_columns, repost_row};
use super::sim::TableSim;
use super::Indexing;
use crate::changes::kinds::ListItemRow;
use crate::changes::rows::{
    BlockRow, FollowRow, GenericRow, LikeRow, NotificationRow, PostRow, ProfileColumns, RepostRow,
    UserState,
};
use crate::changes::{
    pair_key, Deltas, Descendant, EdgeInfo, GateFacts, Kind, KindRow, Loaded, Pair, Plan,
    PlanStats, PostInfo, PostLink,
};
use crate::decode::{Account, AccountStatus, Commit, Op, OpAction, TypedEvent};
use crate::records::{Post, PostGate, Record, RecordValue, ThreadGate, ThreadGateRule};

pub fn event_time(time: &str) -> DateTime<Utc> {
    // Decoding refused events whose time does not parse; the epoch is never reached in practice
    // and keeps the result deterministic if it were.
    crate::syntax::parse_datetime(time).unwrap_or(DateTime::UNIX_EPOCH)
}

struct Planner<'d> {
    users: HashMap<String, UserState>,
    users_dirty: HashSet<String>,
    profiles: BTreeMap<String, ProfileColumns>,
    posts: TableSim<PostInfo, PostRow>,
    likes: Edges<LikeRow>,
    reposts: Edges<RepostRow>,
    follows: Edges<FollowRow>,
    blocks: TableSim<String, BlockRow>,
    generic: TableSim<String, GenericRow>,
    list_items: Edges<ListItemRow>,
    kinds: BTreeMap<Kind, TableSim<String, KindRow>>,
    /// Verifications held or written: URI → the account verified.
    verification_subjects: HashMap<String, String>,
    /// Threadgates held or written (`None`: deleted, or none) by URI, and what their rules ask
    /// of the repliers checked.
    thread_gates: HashMap<String, Option<Gate>>,
    gate_facts: HashMap<(String, String), GateFacts>,
    /// Postgates held or written, by URI: whether each disables embedding.
    post_gates: HashMap<String, bool>,
    /// Replies to judge again when their thread's gate is written, by the gate's URI.
    rejudge: Vec<(String, Descendant)>,
    /// Replies judged again: (URI, refused).
    verdicts: Vec<(String, bool)>,
    notes: Notifications,
    /// Posts up the threads of the replies written, and replies held below the posts written
    /// (see `Loaded`), for reply notifications.
    chain: HashMap<String, PostLink>,
    descendants: Vec<Descendant>,
    descendant_notifications: Vec<NotificationRow>,
    /// Posts written by this segment, in order, with their notifications' time.
    written: Vec<(String, DateTime<Utc>)>,
    deltas: &'d mut Deltas,
    stats: PlanStats,
    /// A snapshot's segment (see [`Indexing::snapshot`]).
    snapshot: bool,
}

/// Plans `events` (in stream order) against `loaded`, adding counter changes to `deltas`.
pub fn plan(
    events: &[&TypedEvent],
    loaded: Loaded,
    deltas: &mut Deltas,
    indexing: Indexing,
) -> Plan {
    let mut p = Planner {
        users: loaded.users,
        users_dirty: HashSet::new(),
        profiles: BTreeMap::new(),
        posts: TableSim::new(loaded.posts),
        likes: Edges::new(EdgeKind::Like, loaded.likes, loaded.like_pairs),
        reposts: Edges::new(EdgeKind::Repost, loaded.reposts, loaded.repost_pairs),
        follows: Edges::new(EdgeKind::Follow, loaded.follows, loaded.follow_pairs),
        blocks: TableSim::new(loaded.blocks),
        generic: TableSim::new(loaded.generic),
        list_items: Edges::new(
            EdgeKind::ListItem,
            loaded.list_items,
            loaded.list_item_pairs,
        ),
        kinds: loaded
            .kinds
            .into_iter()
            .map(|(kind, rows)| (kind, TableSim::new(rows)))
            .collect(),
        verification_subjects: loaded.verification_subjects,
        thread_gates: loaded
            .thread_gates
            .iter()
            .map(|(uri, g)| (uri.clone(), Some(Gate::of_held(g))))
            .collect(),
        gate_facts: loaded.gate_facts,
        rejudge: loaded.rejudge,
        verdicts: Vec::new(),
        post_gates: loaded
            .disabling_post_gates
            .into_iter()
            .map(|uri| (uri, true))
            .collect(),
        notes: Notifications::new(indexing.notifications, indexing.quiet_before),
        chain: loaded.chain,
        descendants: loaded.descendants,
        descendant_notifications: loaded.descendant_notifications,
        written: Vec::new(),
        deltas,
        stats: PlanStats::default(),
        snapshot: indexing.snapshot,
    };
    let mut purge = None;
    for event in events {
        purge = None;
        match event {
            TypedEvent::Commit(c) => p.commit(c),
            TypedEvent::Identity(i) => {
                let time = event_time(&i.time);
                let user = p.user(&i.did, time);
                if time < user.indexed_at {
                    p.stats.stale_events += 1;
                    continue;
                }
                // An identity event without a handle asks consumers to re-resolve the DID; we
                // keep the handle we have rather than forget it.
                if let Some(handle) = &i.handle {
                    if user.handle.as_ref() != Some(handle) {
                        user.handle = Some(handle.clone());
                        user.indexed_at = time;
                        p.users_dirty.insert(i.did.clone());
                    }
                }
            }
            TypedEvent::Account(a) => {
                if p.account(a) {
                    purge = Some(a.did.clone());
                }
            }
            TypedEvent::Sync(s) => {
                let time = event_time(&s.time);
                let user = p.user(&s.did, time);
                if user.rev.as_deref().is_none_or(|r| r < s.rev.as_str()) {
                    user.rev = Some(s.rev.clone());
                    user.data_cid = s.data.map(|d| d.to_string());
                    user.indexed_at = user.indexed_at.max(time);
                    p.users_dirty.insert(s.did.clone());
                }
            }
            TypedEvent::Info(_) => {}
        }
    }
    p.finish(purge)
}

impl Planner<'_> {
    /// The account's state, created on first sight.
    fn user(&mut self, did: &str, time: DateTime<Utc>) -> &mut UserState {
        let dirty = &mut self.users_dirty;
        let deltas = &mut *self.deltas;
        self.users.entry(did.to_owned()).or_insert_with(|| {
            dirty.insert(did.to_owned());
            deltas.user(did);
            UserState {
                did: did.to_owned(),
                handle: None,
                active: true,
                status: None,
                rev: None,
                created_at: time,
                indexed_at: time,
                data_cid: None,
            }
        })
    }

    /// Applies an `#account` event; true when it deletes the account (its records must go).
    ///
    /// Identity and account events carry no rev. The relay's time orders them instead (it never
    /// decreases along one account's events), so an older one seen again in a replay is skipped
    /// rather than flipping the account back to a past state.
    fn account(&mut self, a: &Account) -> bool {
        let time = event_time(&a.time);
        let status = a.status.as_ref().map(|s| s.as_str().to_owned());
        let user = self.user(&a.did, time);
        if time < user.indexed_at {
            self.stats.stale_events += 1;
            return false;
        }
        let was_deleted = user.status.as_deref() == Some(AccountStatus::Deleted.as_str());
        if user.active != a.active || user.status != status {
            user.active = a.active;
            user.status = status;
            user.indexed_at = time;
            self.users_dirty.insert(a.did.clone());
        }
        // Purged once, when it becomes deleted: a replayed deletion finds nothing of its own
        // left, but would take notifications others have sent it since.
        a.status == Some(AccountStatus::Deleted) && !was_deleted
    }

    fn commit(&mut self, c: &Commit) {
        let time = event_time(&c.time);
        let user = self.user(&c.repo, time);
        if user.status.as_deref() == Some(AccountStatus::Deleted.as_str()) {
            self.stats.deleted_account_commits += 1;
            return;
        }
        let held = user.rev.take();
        if let Some(rev) = &held {
            if c.rev.as_str() <= rev.as_str() {
                user.rev = held;
                self.stats.stale_commits += 1;
                return;
            }
        }
        user.rev = Some(c.rev.clone());
        // Unknown when the frame had no blocks: then the next commit's prevData is not checked.
        user.data_cid = c.data.map(|d| d.to_string());
        user.indexed_at = user.indexed_at.max(time);
        if held.is_some() && c.since != held {
            self.stats.rev_gaps += 1;
        }
        self.users_dirty.insert(c.repo.clone());
        self.stats.commits += 1;
        for op in &c.ops {
            match op.action {
                OpAction::Create => self.stats.ops_create += 1,
                OpAction::Update => self.stats.ops_update += 1,
                OpAction::Delete => self.stats.ops_delete += 1,
            }
            self.op(&c.repo, op, time);
        }
    }

    fn op(&mut self, did: &str, op: &Op, time: DateTime<Utc>) {
        let uri = at_uri(did, &op.collection, &op.rkey);
        let cid = op.cid.map(|c| c.to_string()).unwrap_or_default();
        let mut table = table_of(&op.collection, &op.rkey);
        let record = op.record.as_ref();
        if let Some(r) = record {
            if !owned(table, &uri, &r.value) {
                // Now (or still) not where it says it belongs: kept whole, no longer typed.
                self.drop_typed(table, &uri);
                table = Table::Generic;
            }
        }
        match (table, record.map(|r| &r.value)) {
            (Table::Posts, Some(RecordValue::Post(post))) => {
                if self.posts.get(&uri).is_some_and(|p| p.cid == cid) {
                    return;
                }
                self.delete_post(&uri);
                let mut row = post_row(&uri, did, &cid, post, record, time);
                let (gate, refused) = self.thread_gate(did, post, time);
                row.violates_thread_gate = refused;
                row.violates_embedding_rules = self.embedding_refused(did, post);
                let info = PostInfo {
                    cid: cid.clone(),
                    author: did.to_owned(),
                    parent_uri: row.parent_uri.clone(),
                    quote_uri: row.quote_uri.clone(),
                    violates_thread_gate: refused,
                };
                self.deltas.user(did).posts += 1;
                self.deltas.post(&uri);
                if let Some(parent) = info.parent_uri.as_ref().filter(|_| !refused) {
                    self.deltas.post(parent).replies += 1;
                }
                if let Some(quote) = &info.quote_uri {
                    self.deltas.post(quote).quotes += 1;
                }
                if !self.notes.enabled() {
                    self.posts.put(&uri, info, row);
                    return;
                }
                // A reply the gate refused tells no one up the thread; one its author hid
                // stops the climb past the post it answers.
                let ancestors = match refused {
                    true => Vec::new(),
                    false => self.ancestors(info.parent_uri.as_deref()),
                };
                let hidden = gate.map(|g| g.hidden).unwrap_or_default();
                let thread = notify::Thread {
                    ancestors: &ancestors,
                    hidden: &hidden,
                    quote_refused: row.violates_embedding_rules,
                };
                let src = Source {
                    record_uri: &uri,
                    record_cid: &cid,
                    author: did,
                    sort_at: post.created_at.min(time),
                };
                let rows = notify::for_post(&src, post, &thread);
                self.notes.set_own(&uri, rows);
                self.posts.put(&uri, info, row);
                if !self.written.iter().any(|(u, _)| *u == uri) {
                    self.written.push((uri.clone(), post.created_at.min(time)));
                }
                let below = self.below(&uri);
                self.recompute(below);
            }
            (Table::Posts, None) => self.delete_post(&uri),
            (Table::Likes, Some(RecordValue::Like(like))) => {
                let row = like_row(&uri, did, &cid, like, time);
                let subject = row.post_uri.clone();
                let put = self.likes.put(self.deltas, &uri, did, &subject, &cid, row);
                let src = Source {
                    record_uri: &uri,
                    record_cid: &cid,
                    author: did,
                    sort_at: like.created_at.min(time),
                };
                let via = like.via.as_ref().map(|v| v.uri.as_str());
                let reasons = (notify::LIKE, notify::LIKE_VIA_REPOST);
                self.noted(&uri, put, || {
                    notify::for_subject(&src, &subject, via, reasons)
                });
            }
            (Table::Likes, None) => {
                if self.likes.remove(self.deltas, &uri) {
                    self.notes.withdraw(&uri);
                }
            }
            (Table::Reposts, Some(RecordValue::Repost(repost))) => {
                let row = repost_row(&uri, did, &cid, repost, time);
                let subject = row.post_uri.clone();
                let put = self
                    .reposts
                    .put(self.deltas, &uri, did, &subject, &cid, row);
                let src = Source {
                    record_uri: &uri,
                    record_cid: &cid,
                    author: did,
                    sort_at: repost.created_at.min(time),
                };
                let via = repost.via.as_ref().map(|v| v.uri.as_str());
                let reasons = (notify::REPOST, notify::REPOST_VIA_REPOST);
                self.noted(&uri, put, || {
                    notify::for_subject(&src, &subject, via, reasons)
                });
            }
            (Table::Reposts, None) => {
                if self.reposts.remove(self.deltas, &uri) {
                    self.notes.withdraw(&uri);
                }
            }
            (Table::Follows, Some(RecordValue::Follow(follow))) => {
                let row = FollowRow {
                    uri: uri.clone(),
                    cid: cid.clone(),
                    follower_did: did.to_owned(),
                    following_did: follow.subject.clone(),
                    created_at: follow.created_at,
                    indexed_at: time,
                };
                let put = self
                    .follows
                    .put(self.deltas, &uri, did, &follow.subject, &cid, row);
                let src = Source {
                    record_uri: &uri,
                    record_cid: &cid,
                    author: did,
                    sort_at: follow.created_at.min(time),
                };
                self.noted(&uri, put, || notify::for_follow(&src, &follow.subject));
            }
            (Table::Follows, None) => {
                if self.follows.remove(self.deltas, &uri) {
                    self.notes.withdraw(&uri);
                }
            }
            (Table::Blocks, Some(RecordValue::Block(block))) => {
                let row = BlockRow {
                    uri: uri.clone(),
                    cid: cid.clone(),
                    blocker_did: did.to_owned(),
                    blocked_did: block.subject.clone(),
                    created_at: block.created_at,
                    indexed_at: time,
                };
                if self.blocks.get(&uri) != Some(&cid) {
                    self.blocks.put(&uri, cid, row);
                }
            }
            (Table::Blocks, None) => {
                self.blocks.remove(&uri);
            }
            (Table::Profile, Some(RecordValue::Profile(profile))) => {
                let columns = profile_columns(&cid, profile, record);
                self.profiles.insert(did.to_owned(), columns);
                // Only a created profile tells the pack's owner, as the reference's insert
                // does (its update keeps what the create told, and tells nothing new).
                if op.action == OpAction::Create && self.notes.enabled() {
                    self.notes.withdraw(&uri);
                    if let Some(pack) = &profile.joined_via_starter_pack {
                        let src = Source {
                            record_uri: &uri,
                            record_cid: &cid,
                            author: did,
                            sort_at: time,
                        };
                        let rows = notify::for_starter_pack_join(&src, &pack.uri);
                        self.notes.set_own(&uri, rows);
                    }
                }
            }
            (Table::Profile, None) => {
                self.profiles
                    .insert(did.to_owned(), ProfileColumns::default());
                self.notes.withdraw(&uri);
            }
            (Table::ListItems, Some(RecordValue::ListItem(item))) => {
                self.generic.remove(&uri);
                let origin = Origin {
                    uri: &uri,
                    did,
                    cid: &cid,
                    time,
                };
                if let Some(r) = record {
                    let row = list_item_row(&origin, item, r);
                    self.list_items
                        .put(self.deltas, &uri, &item.list, &item.subject, &cid, row);
                }
            }
            (Table::Kind(kind), Some(value)) => {
                self.generic.remove(&uri);
                let origin = Origin {
                    uri: &uri,
                    did,
                    cid: &cid,
                    time,
                };
                if kind == Kind::Lists {
                    // Every list has its member count, zero or not.
                    self.deltas.list(&uri);
                }
                let sim = self.kind(kind);
                if sim.get(&uri) != Some(&cid) {
                    if let Some(row) = record.and_then(|r| kind_row(kind, &origin, value, r)) {
                        sim.put(&uri, cid.clone(), row);
                        match value {
                            RecordValue::Verification(v) => {
                                self.verified(&uri, did, &cid, &v.subject, v.created_at.min(time));
                            }
                            RecordValue::ThreadGate(g) => {
                                self.thread_gates
                                    .insert(uri.clone(), Some(Gate::of_record(g, time)));
                                self.rejudge(&uri);
                            }
                            RecordValue::PostGate(g) => {
                                self.post_gates.insert(uri.clone(), g.disables_embedding());
                            }
                            _ => {}
                        }
                    }
                }
            }
            (Table::ListItems | Table::Kind(_), None) => {
                self.generic.remove(&uri);
                if let Some(old_cid) = self.drop_typed(table, &uri) {
                    if table == Table::Kind(Kind::Verifications) {
                        self.unverified(&uri, did, &old_cid, time);
                    }
                }
            }
            (Table::Generic, Some(RecordValue::Other(g))) => {
                if self.generic.get(&uri) != Some(&cid) {
                    let row = GenericRow {
                        uri: uri.clone(),
                        cid: cid.clone(),
                        author_did: did.to_owned(),
                        collection: op.collection.clone(),
                        record: g.json.clone(),
                        created_at: g.created_at,
                        indexed_at: time,
                    };
                    self.generic.put(&uri, cid, row);
                }
            }
            (Table::Generic, Some(other)) => {
                // A known type under a key we do not index it by (a profile not at `self`).
                if self.generic.get(&uri) != Some(&cid) {
                    let row = GenericRow {
                        uri: uri.clone(),
                        cid: cid.clone(),
                        author_did: did.to_owned(),
                        collection: op.collection.clone(),
                        record: record.map(Record::lex_json).unwrap_or_default(),
                        created_at: created_at_of(other),
                        indexed_at: time,
                    };
                    self.generic.put(&uri, cid, row);
                }
            }
            (Table::Generic, None) => {
                self.generic.remove(&uri);
            }
            // Decoding pairs every collection with its record type; nothing else reaches here.
            (_, Some(_)) => {}
        }
    }

    fn kind(&mut self, kind: Kind) -> &mut TableSim<String, KindRow> {
        self.kinds
            .entry(kind)
            .or_insert_with(|| TableSim::new(HashMap::new()))
    }

    /// Removes the row of `uri` from its typed table, if it is one of the later kinds'; the CID
    /// it had, if it was there.
    fn drop_typed(&mut self, table: Table, uri: &str) -> Option<String> {
        match table {
            Table::ListItems => {
                self.list_items.remove(self.deltas, uri);
                None
            }
            Table::Kind(kind) => {
                match kind {
                    Kind::Threadgates => {
                        self.thread_gates.insert(uri.to_owned(), None);
                    }
                    Kind::Postgates => {
                        self.post_gates.insert(uri.to_owned(), false);
                    }
                    _ => {}
                }
                let had = self.kind(kind).remove(uri);
                if had.is_some() && kind == Kind::Verifications {
                    // What it told goes with it (an `unverified` may follow).
                    self.notes.withdraw(uri);
                }
                had
            }
            _ => None,
        }
    }

    /// The gate of the thread `post` replies in, and whether it refuses `author`'s reply.
    fn thread_gate(&self, author: &str, post: &Post, time: DateTime<Utc>) -> (Option<Gate>, bool) {
        let Some(reply) = &post.reply else {
            return (None, false);
        };
        let (Some(owner), Some(gate_uri)) = (
            notify::did_of(&reply.root.uri),
            ThreadGate::uri_for_post(&reply.root.uri),
        ) else {
            return (None, false);
        };
        // A gate written after the reply (by the relay's time) does not judge it.
        let gate = self
            .thread_gates
            .get(&gate_uri)
            .cloned()
            .flatten()
            .filter(|g| self.snapshot || g.since <= time);
        let refused = self.refuses(gate.as_ref(), &gate_uri, owner, author);
        (gate, refused)
    }

    /// Whether `gate` (of the thread `gate_uri` names, `owner`'s) refuses `author`'s reply.
    fn refuses(&self, gate: Option<&Gate>, gate_uri: &str, owner: &str, author: &str) -> bool {
        let facts = self
            .gate_facts
            .get(&(gate_uri.to_owned(), author.to_owned()))
            .cloned()
            .unwrap_or_default();
        // The segment's own follows and list items first: what it wrote is the newer word.
        let pair = |edges: &HashMap<Pair, i64>, a: &str, s: &str| {
            edges.get(&pair_key(a, s)).map(|n| *n > 0)
        };
        let ask = |rule: &ThreadGateRule| match rule {
            ThreadGateRule::Mention => facts.mentioned,
            ThreadGateRule::Follower => {
                pair(&self.follows.pairs, author, owner).unwrap_or(facts.follows_owner)
            }
            ThreadGateRule::Following => {
                pair(&self.follows.pairs, owner, author).unwrap_or(facts.followed_by_owner)
            }
            ThreadGateRule::List { list } => pair(&self.list_items.pairs, list, author)
                .unwrap_or_else(|| facts.listed_on.contains(list)),
            ThreadGateRule::Unknown(_) => false,
        };
        !gates::allows(gate, author, owner, ask)
    }

    /// A gate written: the replies held in its thread made since are judged by it, whichever
    /// writer committed first; a verdict that changes moves the parent's reply count and the
    /// reply's notifications up the thread.
    fn rejudge(&mut self, gate_uri: &str) {
        let Some(owner) = notify::did_of(gate_uri).map(str::to_owned) else {
            return;
        };
        let gate = self.thread_gates.get(gate_uri).cloned().flatten();
        let replies: Vec<Descendant> = self
            .rejudge
            .iter()
            .filter(|(g, _)| g == gate_uri)
            .map(|(_, d)| d.clone())
            .collect();
        for d in replies {
            // Written by this segment: judged when it was, in stream order.
            if self.posts.lookup(&d.uri).is_some() {
                continue;
            }
            let refused = self.refuses(gate.as_ref(), gate_uri, &owner, &d.author);
            if refused == d.violates_thread_gate {
                continue;
            }
            self.verdicts.push((d.uri.clone(), refused));
            self.deltas.post(&d.parent_uri).replies += if refused { -1 } else { 1 };
            for held in self.descendants.iter_mut().filter(|x| x.uri == d.uri) {
                held.violates_thread_gate = refused;
            }
            if self.notes.enabled() {
                self.recompute(vec![Descendant {
                    violates_thread_gate: refused,
                    ..d
                }]);
            }
        }
    }

    /// Whether the post `post` quotes has a postgate that disables embedding by `author`.
    fn embedding_refused(&self, author: &str, post: &Post) -> bool {
        let Some(quoted) = post.quote() else {
            return false;
        };
        if notify::did_of(&quoted.uri).is_none_or(|d| d == author) {
            return false;
        }
        PostGate::uri_for_post(&quoted.uri)
            .and_then(|g| self.post_gates.get(&g).copied())
            .unwrap_or(false)
    }

    /// A verification written (new or changed): the account verified is told, once.
    fn verified(
        &mut self,
        uri: &str,
        author: &str,
        cid: &str,
        subject: &str,
        sort_at: DateTime<Utc>,
    ) {
        self.verification_subjects
            .insert(uri.to_owned(), subject.to_owned());
        if !self.notes.enabled() {
            return;
        }
        let src = Source {
            record_uri: uri,
            record_cid: cid,
            author,
            sort_at,
        };
        self.notes.withdraw(uri);
        let rows = notify::for_verification(&src, subject, notify::VERIFIED);
        self.notes.set_own(uri, rows);
    }

    /// A verification deleted: the account it verified is told it no longer is
    /// (`verification.ts` `notifsForDelete`), at the deletion's time.
    fn unverified(&mut self, uri: &str, author: &str, cid: &str, time: DateTime<Utc>) {
        let Some(subject) = self.verification_subjects.remove(uri) else {
            return;
        };
        if !self.notes.enabled() {
            return;
        }
        let src = Source {
            record_uri: uri,
            record_cid: cid,
            author,
            sort_at: time,
        };
        let rows = notify::for_verification(&src, &subject, notify::UNVERIFIED);
        self.notes.set_own(uri, rows);
    }

    /// After a like, repost or follow is put: a record it replaced takes its notifications
    /// with it, and the first record of its (actor, subject) pair notifies (the rest are
    /// duplicates, as the reference calls them: they notify no one).
    fn noted(&mut self, uri: &str, put: Put, rows: impl FnOnce() -> Vec<NotificationRow>) {
        if put.replaced {
            self.notes.withdraw(uri);
        }
        if put.first_of_pair && self.notes.enabled() {
            self.notes.set_own(uri, rows());
        }
    }

    /// A post's place in its thread, from this segment's writes or from what was loaded.
    fn link(&self, uri: &str) -> Option<PostLink> {
        match self.posts.lookup(uri) {
            Some(Some(info)) => Some(PostLink {
                author: info.author.clone(),
                parent_uri: info.parent_uri.clone(),
            }),
            // Deleted by this segment.
            Some(None) => None,
            None => self.chain.get(uri).cloned().or_else(|| {
                self.descendants
                    .iter()
                    .find(|d| d.uri == uri)
                    .map(|d| PostLink {
                        author: d.author.clone(),
                        parent_uri: Some(d.parent_uri.clone()),
                    })
            }),
        }
    }

    /// The posts up the thread from `parent` (URI and author, parent first), as far as they
    /// are held, at most as far as reply notifications reach.
    fn ancestors(&self, parent: Option<&str>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut next = parent.map(str::to_owned);
        while let Some(uri) = next {
            if out.len() >= notify::MAX_REPLY_HEIGHT {
                break;
            }
            let Some(link) = self.link(&uri) else { break };
            next = link.parent_uri;
            out.push((uri, link.author));
        }
        out
    }

    /// The thread changed above `replies` (a post came, went, or changed): their reply
    /// notifications follow the thread as it stands now. Their mentions and quotes stay. So a
    /// reply that arrived before its parent ends as if it had come after it, and whichever way
    /// writers interleave, a thread's notifications are a function of the thread.
    fn recompute(&mut self, replies: Vec<Descendant>) {
        for d in replies {
            let current: Vec<NotificationRow> = match self.notes.current(&d.uri) {
                Some(rows) => rows.to_vec(),
                None => self
                    .descendant_notifications
                    .iter()
                    .filter(|n| n.record_uri == d.uri)
                    .cloned()
                    .collect(),
            };
            let (had, kept): (Vec<NotificationRow>, Vec<NotificationRow>) =
                current.into_iter().partition(|n| n.reason == notify::REPLY);
            let mut told: HashSet<String> = kept.iter().map(|n| n.recipient_did.clone()).collect();
            told.insert(d.author.clone());
            let ancestors = match d.violates_thread_gate {
                true => Vec::new(),
                false => self.ancestors(Some(&d.parent_uri)),
            };
            let src = Source {
                record_uri: &d.uri,
                record_cid: &d.cid,
                author: &d.author,
                sort_at: d.sort_at,
            };
            let replies = notify::for_reply(&src, &ancestors, &[], &mut told);
            let key = |n: &NotificationRow| (n.recipient_did.clone(), n.reason_subject.clone());
            let mut before: Vec<_> = had.iter().map(key).collect();
            let mut after: Vec<_> = replies.iter().map(key).collect();
            before.sort();
            after.sort();
            if before != after {
                self.notes.withdraw(&d.uri);
                self.notes
                    .set(&d.uri, kept.into_iter().chain(replies).collect());
            }
        }
    }

    /// The replies held (in the database, or written earlier in this segment) whose thread,
    /// within reach of reply notifications, passes through `post`.
    fn below(&self, post: &str) -> Vec<Descendant> {
        let held = self.descendants.iter().filter_map(|d| {
            // Rewritten or deleted since it was loaded: what the segment holds counts.
            match self.posts.lookup(&d.uri) {
                None => Some(d.clone()),
                Some(_) => None,
            }
        });
        let written = self.written.iter().filter_map(|(uri, sort_at)| {
            let Some(Some(info)) = self.posts.lookup(uri) else {
                return None;
            };
            Some(Descendant {
                uri: uri.clone(),
                cid: info.cid.clone(),
                author: info.author.clone(),
                parent_uri: info.parent_uri.clone()?,
                sort_at: *sort_at,
                violates_thread_gate: info.violates_thread_gate,
            })
        });
        held.chain(written)
            .filter(|d| d.uri != post)
            .filter(|d| {
                self.ancestors(Some(&d.parent_uri))
                    .iter()
                    .any(|(uri, _)| uri == post)
            })
            .collect()
    }

    fn delete_post(&mut self, uri: &str) {
        // The replies below it, found while it is still there to be found.
        let below = if self.notes.enabled() {
            self.below(uri)
        } else {
            Vec::new()
        };
        let Some(old) = self.posts.remove(uri) else {
            return;
        };
        self.notes.withdraw(uri);
        self.recompute(below);
        self.deltas.user(&old.author).posts -= 1;
        if let Some(parent) = old
            .parent_uri
            .as_ref()
            .filter(|_| !old.violates_thread_gate)
        {
            self.deltas.post(parent).replies -= 1;
        }
        if let Some(quote) = &old.quote_uri {
            self.deltas.post(quote).quotes -= 1;
        }
    }

    fn finish(self, purge: Option<String>) -> Plan {
        let mut users: Vec<UserState> = self
            .users
            .into_iter()
            .filter(|(did, _)| self.users_dirty.contains(did))
            .map(|(_, u)| u)
            .collect();
        users.sort_by(|a, b| a.did.cmp(&b.did));
        let posts = self.posts.finish();
        let likes = self.likes.sim.finish();
        let reposts = self.reposts.sim.finish();
        let feed_items = feed_items(&posts, &reposts);
        Plan {
            users,
            profiles: self.profiles.into_iter().collect(),
            posts,
            likes,
            reposts,
            follows: self.follows.sim.finish(),
            blocks: self.blocks.finish(),
            generic: self.generic.finish(),
            kinds: self
                .kinds
                .into_iter()
                .map(|(kind, sim)| (kind, sim.finish()))
                .filter(|(_, diff)| !diff.is_empty())
                .collect(),
            list_items: self.list_items.sim.finish(),
            feed_items,
            notifications: self.notes.finish(),
            verdicts: self.verdicts,
            purge,
            stats: self.stats,
        }
    }
}

#[derive(Clone, Copy)]
enum EdgeKind {
    Like,
    Repost,
    Follow,
    /// A list's member: the list is the actor, the account the subject.
    ListItem,
}

fn bump(deltas: &mut Deltas, kind: EdgeKind, actor: &str, subject: &str, by: i64) {
    match kind {
        EdgeKind::Like => deltas.post(subject).likes += by,
        EdgeKind::Repost => deltas.post(subject).reposts += by,
        EdgeKind::Follow => {
            deltas.user(subject).followers += by;
            deltas.user(actor).follows += by;
        }
        EdgeKind::ListItem => *deltas.list(actor) += by,
    }
}

/// A table of likes, reposts, follows or list items, with the number of rows each (actor,
/// subject) pair has, so each pair counts once however many records make it.
struct Edges<R> {
    kind: EdgeKind,
    sim: TableSim<EdgeInfo, R>,
    pairs: HashMap<Pair, i64>,
}

impl<R> Edges<R> {
    fn new(kind: EdgeKind, rows: HashMap<String, EdgeInfo>, pairs: HashMap<Pair, i64>) -> Edges<R> {
        Edges {
            kind,
            sim: TableSim::new(rows),
            pairs,
        }
    }

    /// Puts a record, counting it only if it is its pair's first.
    fn put(
        &mut self,
        deltas: &mut Deltas,
        uri: &str,
        actor: &str,
        subject: &str,
        cid: &str,
        row: R,
    ) -> Put {
        if self.sim.get(uri).is_some_and(|e| e.cid == cid) {
            return Put::default();
        }
        let replaced = self.remove(deltas, uri);
        let n = self.pairs.entry(pair_key(actor, subject)).or_insert(0);
        *n += 1;
        let first_of_pair = *n == 1;
        if first_of_pair {
            bump(deltas, self.kind, actor, subject, 1);
        }
        let info = EdgeInfo {
            cid: cid.to_owned(),
            actor: actor.to_owned(),
            subject: subject.to_owned(),
        };
        self.sim.put(uri, info, row);
        Put {
            replaced,
            first_of_pair,
        }
    }

    /// Removes a record, giving its count back if it was its pair's last. False when there was
    /// no such record.
    fn remove(&mut self, deltas: &mut Deltas, uri: &str) -> bool {
        let Some(old) = self.sim.remove(uri) else {
            return false;
        };
        // The loader counted every pair of every row it loaded, so the pair is there.
        let n = self
            .pairs
            .entry(pair_key(&old.actor, &old.subject))
            .or_insert(1);
        *n -= 1;
        if *n == 0 {
            bump(deltas, self.kind, &old.actor, &old.subject, -1);
        }
        true
    }
}

/// What putting a like, repost or follow did.
#[derive(Debug, Clone, Copy, Default)]
struct Put {
    /// A record of that URI was there (another version) and went.
    replaced: bool,
    /// The record is its (actor, subject) pair's only one: it counts and notifies.
    first_of_pair: bool,
}
