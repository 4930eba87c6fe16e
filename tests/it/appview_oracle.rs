//! The reference AppView as the oracle of our notifications and counts, when it is installed:
//! `../shared/tools/pds-capture/bin/start-appview.js` (from a copy with `node_modules` at
//! `/tmp/pds-capture` or `$PDS_CAPTURE`) runs PLC, the reference PDS and `@atproto/bsky`
//! indexing that PDS's firehose, with its own PostgreSQL. `skyindex run --notifications on`
//! follows the same firehose from cursor 0 while `drive.js --extras` writes seeded activity;
//! then `appview-dump.js` gives what the AppView serves per account and its raw `notification`
//! rows, and the two are compared: every notification (record, recipient, reason, subject,
//! author, record CID), the profile counters, each account's lists with their member counts and
//! members, feed generators with their likes, starter packs with their list sizes.
//!
//! Every difference must be explained, or the test fails showing the records:
//! - by [`NOT_YET_PRODUCED`], what our indexing does not derive yet (remove an entry once it
//!   is derived: from then on its differences fail like any other);
//! - by a difference of ours on purpose (README, "Notifications");
//! - by the reference's own doing (stale aggregates, read-time filters, its indexing races),
//!   each shown by the reference's own database.
//!
//! Skipped, saying so, without node or the installed tool.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::Value;

use crate::common::{db::TestDb, proc};

/// The activity: enough of every kind `--extras` writes, and the whole test well under two
/// minutes on two shared cores.
const ACCOUNTS: u32 = 20;
const COMMITS: u32 = 1500;
const SEED: &str = "oracle-d";

/// What our indexing does not derive yet (README, "Notifications": "Not yet derived"; being
/// added on main). A difference one of these explains is counted and shown, not failed.
/// Remove an entry once it is derived: its differences then fail the test like any other.
const NOT_YET_PRODUCED: &[NotYet] = &[];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum NotYet {
    /// A reason we never write: the reference's row of it has no counterpart in ours.
    Reason(&'static str),
    /// A reply that violates its root's threadgate still notifies up the thread (the reference
    /// marks the post `violatesThreadGate` and tells only its mentions and quoted author).
    ThreadgateViolation,
    /// A reply below one its root's threadgate hides still notifies above the hidden one (the
    /// reference tells the hidden reply's author and stops there).
    HiddenReply,
    /// A quote the quoted post's postgate forbids (embedding disabled, or the quote detached)
    /// still notifies the quoted author (the reference marks it `violatesEmbeddingRules`).
    PostgateViolation,
}

/// Why a difference is not a failure.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Why {
    NotYet(NotYet),
    /// Ours on purpose, as README "Notifications" says.
    Ours(&'static str),
    /// The reference's doing, shown by its own database.
    Reference(&'static str),
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::NotYet(n) => write!(f, "not yet produced: {n:?}"),
            Why::Ours(s) => write!(f, "ours on purpose: {s}"),
            Why::Reference(s) => write!(f, "the reference: {s}"),
        }
    }
}

const SELF_FOLLOW: &str = "a self-follow notifies no one (the reference tells the follower)";
const THREAD_AS_IT_STANDS: &str = "a post gone from the thread takes the reply notifications \
    that reached through or to it (the reference keeps them and hides them at read time)";
const REPLY_BEFORE_PARENT: &str = "the reference began indexing the reply before a post above \
    it (xmin) and never tells those above; we complete the thread when the post arrives";
const STALE_AGGREGATE: &str = "its served count is not its own rows' (aggregates are not \
    given back on an account deletion, pds-capture README); ours equals its rows";
const TWICE: &str = "the same notification twice in its table";
const MEMBER_NOT_SERVED: &str = "getList leaves out members whose actor it does not serve (none, \
    taken down, deactivated: e.g. the deleted account); listItemCount counts them";
const DUPLICATE_ITEM: &str = "a second item naming the same account on a list is kept, the \
    account counted once (README, \"Records where they belong\"); the reference sets it apart in \
    duplicate_record";

/// Ports of our own (10000–17999: clear of the labeler test's 20000–30004, the backfill tests'
/// 30000–35008 and the ephemeral range), four per process.
struct Ports {
    pds: u16,
    plc: u16,
    bsky: u16,
    pg: u16,
}

impl Ports {
    fn new() -> Ports {
        let base = 10_000 + (std::process::id() % 2_000) as u16 * 4;
        Ports {
            pds: base,
            plc: base + 1,
            bsky: base + 2,
            pg: base + 3,
        }
    }

    fn pds_url(&self) -> String {
        format!("http://localhost:{}", self.pds)
    }

    fn pg_url(&self) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/postgres", self.pg)
    }
}

/// start-appview.js, up once it printed its line; SIGTERM on drop (it then closes the AppView,
/// PDS and PLC, stops its PostgreSQL and removes its data).
struct AppView {
    child: Child,
    log: PathBuf,
    _dir: proc::TempDir,
}

impl AppView {
    fn start(tool: &Path, ports: &Ports) -> AppView {
        let dir = proc::TempDir::new("appview");
        let log = dir.0.join("start-appview.log");
        let data = format!("/dev/shm/skyindex-oracle-{}", std::process::id());
        let mut child = Command::new("node")
            .arg(tool.join("bin/start-appview.js"))
            .args(["--pds-port", &ports.pds.to_string()])
            .args(["--plc-port", &ports.plc.to_string()])
            .args(["--bsky-port", &ports.bsky.to_string()])
            .args(["--pg-port", &ports.pg.to_string()])
            .args(["--data-dir", &data])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start-appview");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("start-appview's line");
        let appview = AppView {
            child,
            log,
            _dir: dir,
        };
        let info: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!(
                "start-appview did not come up:\n{}",
                std::fs::read_to_string(&appview.log).unwrap_or_default()
            )
        });
        assert!(info["appview"].is_string(), "{info}");
        appview
    }
}

impl Drop for AppView {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// drive.js to its end; its stats.
fn drive(tool: &Path, ports: &Ports) -> Value {
    let dir = proc::TempDir::new("drive");
    let out = dir.0.join("stats.json");
    let mut child = Command::new("node")
        .arg(tool.join("bin/drive.js"))
        .args(["--pds-url", &ports.pds_url(), "--seed", SEED, "--extras"])
        .args(["--accounts", &ACCOUNTS.to_string()])
        .args(["--commits", &COMMITS.to_string()])
        .stdout(std::fs::File::create(&out).expect("stats file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("drive.js");
    let until = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            assert!(status.success(), "drive.js failed: {status}");
            break;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("drive.js did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    serde_json::from_slice(&std::fs::read(&out).expect("stats")).expect("drive.js's stats")
}

/// appview-dump.js (it waits until the AppView has indexed the PDS's last seq).
fn dump(tool: &Path, ports: &Ports) -> Value {
    let dir = proc::TempDir::new("dump");
    let file = dir.0.join("appview.json");
    let out = Command::new("node")
        .arg(tool.join("bin/appview-dump.js"))
        .args(["--appview", &format!("http://localhost:{}", ports.bsky)])
        .args(["--pds", &ports.pds_url()])
        .args(["--pg-url", &ports.pg_url()])
        .args(["--timeout-ms", "120000"])
        .arg("--out")
        .arg(&file)
        .output()
        .expect("appview-dump");
    assert!(
        out.status.success(),
        "appview-dump failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&file).expect("dump")).expect("dump JSON")
}

fn wait_for_cursor(db: &TestDb, run: &proc::Running, seq: i64, limit: Duration) {
    let until = Instant::now() + limit;
    let cursor = || {
        skyindex::db::cursor::read(&mut db.conn(), "firehose")
            .ok()
            .flatten()
    };
    while cursor() < Some(seq) {
        assert!(
            Instant::now() < until,
            "our cursor stuck at {:?} (the PDS's last seq is {seq}); log:\n{}",
            cursor(),
            run.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The rows of `sql`, each a JSON object (one helper for both databases and every shape).
fn rows(conn: &mut PgConnection, sql: &str) -> Vec<Value> {
    #[derive(QueryableByName)]
    struct J {
        #[diesel(sql_type = Text)]
        j: String,
    }
    let q = format!("SELECT COALESCE(json_agg(t), '[]')::text AS j FROM ({sql}) t");
    let j: J = diesel::sql_query(&q)
        .get_result(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    serde_json::from_str(&j.j).expect("rows as JSON")
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn opt(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn num(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// `key -> n` from rows of `{k, n}`.
fn counts(conn: &mut PgConnection, sql: &str) -> HashMap<String, i64> {
    rows(conn, sql)
        .iter()
        .map(|r| (s(&r["k"]), num(&r["n"])))
        .collect()
}

/// One notification, as both sides store it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Note {
    reason: String,
    recipient: String,
    record_uri: String,
    subject: Option<String>,
    author: String,
    cid: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} to {} from {} record={} cid={} subject={}",
            self.reason,
            self.recipient,
            self.author,
            self.record_uri,
            self.cid,
            self.subject.as_deref().unwrap_or("-")
        )
    }
}

/// A row of the reference (the dump's `notificationRows`, or its table).
fn reference_note(r: &Value, recipient: &str) -> Note {
    Note {
        reason: s(&r["reason"]),
        recipient: recipient.to_owned(),
        record_uri: s(&r["uri"]),
        subject: opt(&r["reasonSubject"]),
        author: s(&r["author"]),
        cid: s(&r["cid"]),
    }
}

/// What the classifications read: our thread structure and the reference's posts.
struct World {
    /// Our posts: uri → (parent, root).
    posts: HashMap<String, (Option<String>, Option<String>)>,
    /// Our threadgates: the gated post → the replies it hides.
    hidden: HashMap<String, HashSet<String>>,
    /// The reference's posts: uri → (xmin of the indexing transaction, violatesThreadGate,
    /// violatesEmbeddingRules).
    reference_posts: HashMap<String, (i64, bool, bool)>,
}

/// How a reply reaches a post above it in our thread.
enum Walk {
    /// The posts from the parent up to the subject, both included.
    Reaches(Vec<String>),
    /// A post on the way is gone (not in our posts): this one.
    Broken(String),
    /// The reply is not ours, or the subject is not within reach above it.
    Misses,
}

impl World {
    fn load(ours: &mut PgConnection, reference: &mut PgConnection) -> World {
        let posts = rows(ours, "SELECT uri, parent_uri, root_uri FROM posts")
            .iter()
            .map(|r| (s(&r["uri"]), (opt(&r["parent_uri"]), opt(&r["root_uri"]))))
            .collect();
        let mut hidden: HashMap<String, HashSet<String>> = HashMap::new();
        for r in rows(
            ours,
            "SELECT post_uri, unnest(hidden_replies) AS hidden FROM threadgates",
        ) {
            hidden
                .entry(s(&r["post_uri"]))
                .or_default()
                .insert(s(&r["hidden"]));
        }
        let reference_posts = rows(
            reference,
            r#"SELECT uri, xmin::text::bigint AS xmin,
                      COALESCE("violatesThreadGate", false) AS vtg,
                      COALESCE("violatesEmbeddingRules", false) AS ver
               FROM appview.post"#,
        )
        .iter()
        .map(|r| {
            (
                s(&r["uri"]),
                (
                    num(&r["xmin"]),
                    r["vtg"].as_bool().unwrap_or(false),
                    r["ver"].as_bool().unwrap_or(false),
                ),
            )
        })
        .collect();
        World {
            posts,
            hidden,
            reference_posts,
        }
    }

    fn walk(&self, reply: &str, subject: &str) -> Walk {
        let Some((mut next, _)) = self.posts.get(reply).cloned() else {
            return Walk::Misses;
        };
        let mut path = Vec::new();
        // Four posts up at most, as far as reply notifications reach (post.ts, height < 5).
        for _ in 0..4 {
            let Some(uri) = next else {
                return Walk::Misses;
            };
            let Some((parent, _)) = self.posts.get(&uri) else {
                return Walk::Broken(uri);
            };
            path.push(uri.clone());
            if uri == subject {
                return Walk::Reaches(path);
            }
            next = parent.clone();
        }
        Walk::Misses
    }

    /// Why we have `n` and the reference does not, if we know, and what shows it. Only a post
    /// the reference holds too can explain anything.
    fn ours_only(&self, n: &Note) -> Option<(Why, String)> {
        let (xmin, violates_threadgate, violates_embedding) =
            *self.reference_posts.get(&n.record_uri)?;
        match n.reason.as_str() {
            "reply" => {
                if violates_threadgate {
                    let shown = "the reference's post: violatesThreadGate".to_owned();
                    return Some((Why::NotYet(NotYet::ThreadgateViolation), shown));
                }
                let subject = n.subject.as_deref()?;
                let Walk::Reaches(path) = self.walk(&n.record_uri, subject) else {
                    return None;
                };
                let root = self
                    .posts
                    .get(&n.record_uri)
                    .and_then(|(_, root)| root.clone())
                    .unwrap_or_else(|| n.record_uri.clone());
                let hides = self.hidden.get(&root);
                if let Some(h) = path[..path.len() - 1]
                    .iter()
                    .find(|p| hides.is_some_and(|h| h.contains(*p)))
                {
                    let shown = format!("{root}'s threadgate hides {h}");
                    return Some((Why::NotYet(NotYet::HiddenReply), shown));
                }
                path.iter().find_map(|p| {
                    let (later, _, _) = self.reference_posts.get(p)?;
                    (*later > xmin).then(|| {
                        let shown = format!("the reference indexed {p} at xmin {later} > {xmin}");
                        (Why::Ours(REPLY_BEFORE_PARENT), shown)
                    })
                })
            }
            "quote" if violates_embedding => {
                let shown = "the reference's post: violatesEmbeddingRules".to_owned();
                Some((Why::NotYet(NotYet::PostgateViolation), shown))
            }
            _ => None,
        }
    }

    /// Why the reference has `n` and we do not, if we know, and what shows it.
    fn reference_only(&self, n: &Note) -> Option<(Why, String)> {
        let not_yet = |r| Some((Why::NotYet(NotYet::Reason(r)), String::new()));
        match n.reason.as_str() {
            "verified" => not_yet("verified"),
            "unverified" => not_yet("unverified"),
            "starterpack-joined" => not_yet("starterpack-joined"),
            "follow" if n.recipient == n.author => Some((Why::Ours(SELF_FOLLOW), String::new())),
            // Gone from both: deleted, not lost by us.
            "reply" => match self.walk(&n.record_uri, n.subject.as_deref()?) {
                Walk::Broken(gone) if !self.reference_posts.contains_key(&gone) => Some((
                    Why::Ours(THREAD_AS_IT_STANDS),
                    format!("{gone} is gone from both"),
                )),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A difference: what it is, and why it is one (none: unexplained).
struct Diff {
    what: String,
    why: Option<Why>,
}

impl Diff {
    /// Explained only by what [`NOT_YET_PRODUCED`] still lists.
    fn new(what: String, why: Option<Why>) -> Diff {
        let why = match why {
            Some(Why::NotYet(n)) if !NOT_YET_PRODUCED.contains(&n) => None,
            w => w,
        };
        Diff { what, why }
    }

    /// A notification's difference, with what its explanation rests on.
    fn note(what: String, why: Option<(Why, String)>) -> Diff {
        match why {
            Some((why, shown)) if !shown.is_empty() => {
                Diff::new(format!("{what} [{shown}]"), Some(why))
            }
            Some((why, _)) => Diff::new(what, Some(why)),
            None => Diff::new(what, None),
        }
    }
}

/// Per reason: matched, ours only, the reference's only.
#[derive(Default)]
struct Tally {
    matched: usize,
    ours_only: usize,
    reference_only: usize,
}

/// Per compared field: matched, and every difference.
#[derive(Default)]
struct Report {
    notes: BTreeMap<String, Tally>,
    fields: BTreeMap<&'static str, (usize, Vec<Diff>)>,
    note_diffs: Vec<Diff>,
}

impl Report {
    fn field(
        &mut self,
        field: &'static str,
        what: String,
        ours: i64,
        served: i64,
        rows: Option<i64>,
    ) {
        let entry = self.fields.entry(field).or_default();
        if ours == served {
            entry.0 += 1;
            return;
        }
        let why = rows
            .filter(|r| *r == ours && *r != served)
            .map(|_| Why::Reference(STALE_AGGREGATE));
        let rows = rows.map_or("-".into(), |r| r.to_string());
        entry.1.push(Diff::new(
            format!("{field} of {what}: ours {ours}, served {served}, the reference's rows {rows}"),
            why,
        ));
    }

    fn same(&mut self, field: &'static str, what: String, equal: bool, shown: String) {
        let entry = self.fields.entry(field).or_default();
        if equal {
            entry.0 += 1;
        } else {
            entry
                .1
                .push(Diff::new(format!("{field} of {what}: {shown}"), None));
        }
    }

    fn unexplained(&self) -> Vec<&str> {
        self.note_diffs
            .iter()
            .chain(self.fields.values().flat_map(|(_, d)| d))
            .filter(|d| d.why.is_none())
            .map(|d| d.what.as_str())
            .collect()
    }

    fn print(&self, head: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{head}");
        let _ = writeln!(
            out,
            "  {:<20} {:>6} {:>10} {:>10}",
            "reason", "match", "ours-only", "ref-only"
        );
        for (reason, t) in &self.notes {
            let _ = writeln!(
                out,
                "  {reason:<20} {:>6} {:>10} {:>10}",
                t.matched, t.ours_only, t.reference_only
            );
        }
        for (field, (matched, diffs)) in &self.fields {
            let _ = writeln!(out, "  {field:<28} {matched} match, {} differ", diffs.len());
        }
        // The explained differences by explanation, with examples.
        let mut by_why: BTreeMap<&Why, Vec<&str>> = BTreeMap::new();
        for d in self
            .note_diffs
            .iter()
            .chain(self.fields.values().flat_map(|(_, d)| d))
        {
            if let Some(w) = &d.why {
                by_why.entry(w).or_default().push(&d.what);
            }
        }
        for (why, whats) in &by_why {
            let _ = writeln!(out, "  {} explained by {why}, e.g.", whats.len());
            for w in whats.iter().take(2) {
                let _ = writeln!(out, "      {w}");
            }
        }
        for n in NOT_YET_PRODUCED {
            if !by_why.contains_key(&Why::NotYet(*n)) {
                let _ = writeln!(
                    out,
                    "  (NOT_YET_PRODUCED {n:?} explains nothing in this run)"
                );
            }
        }
        out
    }
}

fn compare_notifications(
    report: &mut Report,
    world: &World,
    dump: &Value,
    ours: &mut PgConnection,
    reference: &mut PgConnection,
) {
    let accounts = dump["accounts"].as_array().expect("accounts");
    let listed: HashSet<String> = accounts.iter().map(|a| s(&a["did"])).collect();
    // Each notification with its sortAt.
    let mut theirs: BTreeMap<Note, String> = BTreeMap::new();
    let mut twice = Vec::new();
    let mut add = |n: Note, at: &Value| {
        if let Some(n) = theirs.insert(n.clone(), s(at)).map(|_| n) {
            twice.push(n);
        }
    };
    for a in accounts {
        let did = s(&a["did"]);
        for r in a["notificationRows"].as_array().expect("notificationRows") {
            add(reference_note(r, &did), &r["sortAt"]);
        }
    }
    // Recipients the dump does not list (a deleted account): the reference's table itself.
    for r in rows(
        reference,
        r#"SELECT did, reason, author, "recordUri" AS uri, "recordCid" AS cid, "reasonSubject",
                  "sortAt"
           FROM appview.notification"#,
    ) {
        let did = s(&r["did"]);
        if !listed.contains(&did) {
            add(reference_note(&r, &did), &r["sortAt"]);
        }
    }
    for n in twice {
        report.note_diffs.push(Diff::new(
            format!("the reference's twice: {n}"),
            Some(Why::Reference(TWICE)),
        ));
    }
    let mine: BTreeMap<Note, String> = rows(
        ours,
        "SELECT record_uri, recipient_did, reason, reason_subject, author_did, record_cid, sort_at
         FROM notifications",
    )
    .iter()
    .map(|r| {
        let n = Note {
            reason: s(&r["reason"]),
            recipient: s(&r["recipient_did"]),
            record_uri: s(&r["record_uri"]),
            subject: opt(&r["reason_subject"]),
            author: s(&r["author_did"]),
            cid: s(&r["record_cid"]),
        };
        (n, s(&r["sort_at"]))
    })
    .collect();
    let instant = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    for (n, at) in &mine {
        let Some(their_at) = theirs.get(n) else {
            report.notes.entry(n.reason.clone()).or_default().ours_only += 1;
            report
                .note_diffs
                .push(Diff::note(format!("ours only: {n}"), world.ours_only(n)));
            continue;
        };
        report.notes.entry(n.reason.clone()).or_default().matched += 1;
        report.same(
            "notification sortAt",
            n.to_string(),
            instant(at).is_some() && instant(at) == instant(their_at),
            format!("ours {at}, the reference's {their_at}"),
        );
    }
    for n in theirs.keys().filter(|n| !mine.contains_key(*n)) {
        report
            .notes
            .entry(n.reason.clone())
            .or_default()
            .reference_only += 1;
        report.note_diffs.push(Diff::note(
            format!("the reference's only: {n}"),
            world.reference_only(n),
        ));
    }
}

fn compare_counts(
    report: &mut Report,
    dump: &Value,
    ours: &mut PgConnection,
    reference: &mut PgConnection,
) {
    // Ours.
    let users: HashMap<String, Value> = rows(
        ours,
        "SELECT did, followers_count, follows_count, posts_count FROM user_aggregations",
    )
    .into_iter()
    .map(|r| (s(&r["did"]), r))
    .collect();
    let lists: HashMap<String, Value> = rows(
        ours,
        "SELECT l.uri, l.author_did, l.name, l.purpose, COALESCE(a.member_count, 0) AS members
         FROM lists l LEFT JOIN list_aggregations a ON a.list_uri = l.uri",
    )
    .into_iter()
    .map(|r| (s(&r["uri"]), r))
    .collect();
    let mut items: HashMap<String, BTreeSet<(String, String)>> = HashMap::new();
    for r in rows(ours, "SELECT uri, list_uri, subject_did FROM list_items") {
        items
            .entry(s(&r["list_uri"]))
            .or_default()
            .insert((s(&r["subject_did"]), s(&r["uri"])));
    }
    let feeds: HashMap<String, Value> = rows(
        ours,
        "SELECT g.uri, g.author_did, g.feed_did, g.display_name,
                COALESCE(p.like_count, 0) AS likes
         FROM feed_generators g LEFT JOIN post_aggregations p ON p.post_uri = g.uri",
    )
    .into_iter()
    .map(|r| (s(&r["uri"]), r))
    .collect();
    let packs: HashMap<String, Value> = rows(
        ours,
        "SELECT s.uri, s.author_did, s.name, s.list_uri, s.feed_uris,
                (SELECT count(*) FROM users u
                 WHERE u.profile_record->'joinedViaStarterPack'->>'uri' = s.uri) AS joined
         FROM starter_packs s",
    )
    .into_iter()
    .map(|r| (s(&r["uri"]), r))
    .collect();
    // The reference's own rows, beside what it serves.
    let followers = counts(
        reference,
        r#"SELECT "subjectDid" AS k, count(*) AS n FROM appview.follow GROUP BY 1"#,
    );
    let follows = counts(
        reference,
        "SELECT creator AS k, count(*) AS n FROM appview.follow GROUP BY 1",
    );
    let posts = counts(
        reference,
        "SELECT creator AS k, count(*) AS n FROM appview.post GROUP BY 1",
    );
    let list_items = counts(
        reference,
        r#"SELECT "listUri" AS k, count(*) AS n FROM appview.list_item GROUP BY 1"#,
    );
    let likes = counts(
        reference,
        r#"SELECT subject AS k, count(*) AS n FROM appview."like" GROUP BY 1"#,
    );
    // The actors it serves (hydration/actor.js: a row, not taken down, upstream active).
    let served_actors: HashSet<String> = rows(
        reference,
        r#"SELECT did FROM appview.actor
           WHERE "takedownRef" IS NULL AND COALESCE("upstreamStatus", 'active') = 'active'"#,
    )
    .iter()
    .map(|r| s(&r["did"]))
    .collect();
    let duplicates: HashMap<String, String> = rows(
        reference,
        r#"SELECT uri, "duplicateOf" FROM appview.duplicate_record"#,
    )
    .iter()
    .map(|r| (s(&r["uri"]), s(&r["duplicateOf"])))
    .collect();

    for a in dump["accounts"].as_array().expect("accounts") {
        let did = s(&a["did"]);
        assert!(a["errors"].is_null(), "the dump failed for {did}: {a}");
        let p = &a["profile"];
        report.same(
            "profile served",
            did.clone(),
            p.is_object(),
            "no profile".into(),
        );
        let u = users.get(&did);
        let our = |k: &str| u.map_or(0, |u| num(&u[k]));
        let rows_of = |m: &HashMap<String, i64>, k: &str| Some(m.get(k).copied().unwrap_or(0));
        report.field(
            "followersCount",
            did.clone(),
            our("followers_count"),
            num(&p["followersCount"]),
            rows_of(&followers, &did),
        );
        report.field(
            "followsCount",
            did.clone(),
            our("follows_count"),
            num(&p["followsCount"]),
            rows_of(&follows, &did),
        );
        report.field(
            "postsCount",
            did.clone(),
            our("posts_count"),
            num(&p["postsCount"]),
            rows_of(&posts, &did),
        );
        let owned = |m: &HashMap<String, Value>| {
            m.values().filter(|r| s(&r["author_did"]) == did).count() as i64
        };
        let assoc = &p["associated"];
        report.field(
            "associated.lists",
            did.clone(),
            owned(&lists),
            num(&assoc["lists"]),
            None,
        );
        report.field(
            "associated.feedgens",
            did.clone(),
            owned(&feeds),
            num(&assoc["feedgens"]),
            None,
        );
        report.field(
            "associated.starterPacks",
            did.clone(),
            owned(&packs),
            num(&assoc["starterPacks"]),
            None,
        );

        // Lists: the same set, each with its name, purpose, member count and members.
        let served = same_set(report, "lists", &did, &a["lists"], &lists);
        for (uri, l) in &served {
            let Some(r) = lists.get(uri) else { continue };
            report.same(
                "list name/purpose",
                uri.clone(),
                s(&r["name"]) == s(&l["name"]) && s(&r["purpose"]) == s(&l["purpose"]),
                format!("ours {r}, served {l}"),
            );
            report.field(
                "list listItemCount",
                uri.clone(),
                num(&r["members"]),
                num(&l["listItemCount"]),
                rows_of(&list_items, uri),
            );
            let their_members: BTreeSet<(String, String)> = l["members"]
                .as_array()
                .expect("members")
                .iter()
                .map(|m| (s(&m["subject"]), s(&m["uri"])))
                .collect();
            let empty = BTreeSet::new();
            let our_members = items.get(uri).unwrap_or(&empty);
            let entry = report.fields.entry("list members").or_default();
            entry.0 += our_members.intersection(&their_members).count();
            for (subject, item) in our_members.difference(&their_members) {
                // A duplicate of an item naming the same account on this list, in both.
                let duplicate = duplicates
                    .get(item)
                    .is_some_and(|of| our_members.contains(&(subject.clone(), of.clone())));
                let why = if duplicate {
                    Some(Why::Ours(DUPLICATE_ITEM))
                } else if !served_actors.contains(subject) {
                    Some(Why::Reference(MEMBER_NOT_SERVED))
                } else {
                    None
                };
                entry.1.push(Diff::new(
                    format!("list member of {uri}: ours only {subject} ({item})"),
                    why,
                ));
            }
            for (subject, item) in their_members.difference(our_members) {
                entry.1.push(Diff::new(
                    format!("list member of {uri}: served only {subject} ({item})"),
                    None,
                ));
            }
        }

        // Feed generators: the same set, each with its service, name and likes.
        let served = same_set(report, "feeds", &did, &a["feeds"], &feeds);
        for (uri, f) in &served {
            let Some(r) = feeds.get(uri) else { continue };
            report.same(
                "feed did/displayName",
                uri.clone(),
                s(&r["feed_did"]) == s(&f["did"]) && s(&r["display_name"]) == s(&f["displayName"]),
                format!("ours {r}, served {f}"),
            );
            report.field(
                "feed likeCount",
                uri.clone(),
                num(&r["likes"]),
                num(&f["likeCount"]),
                rows_of(&likes, uri),
            );
        }

        // Starter packs: the same set, each with its list, its list's size, feeds, joins.
        let served = same_set(report, "starterPacks", &did, &a["starterPacks"], &packs);
        for (uri, sp) in &served {
            let Some(r) = packs.get(uri) else { continue };
            let list = s(&r["list_uri"]);
            let mut our_feeds: Vec<String> = r["feed_uris"]
                .as_array()
                .map(|a| a.iter().map(s).collect())
                .unwrap_or_default();
            our_feeds.sort();
            let their_feeds: Vec<String> = sp["feeds"]
                .as_array()
                .map(|a| a.iter().map(s).collect())
                .unwrap_or_default();
            report.same(
                "starterPack name/list/feeds",
                uri.clone(),
                s(&r["name"]) == s(&sp["name"])
                    && list == s(&sp["list"])
                    && our_feeds == their_feeds,
                format!("ours {r}, served {sp}"),
            );
            // A pack whose list is gone is served without a size.
            let our_size = lists.get(&list).map(|l| num(&l["members"]));
            let their_size = sp["listItemCount"].as_i64();
            report.same(
                "starterPack listItemCount",
                uri.clone(),
                our_size == their_size,
                format!("ours {our_size:?}, served {their_size:?} (list {list})"),
            );
            report.field(
                "starterPack joinedAllTime",
                uri.clone(),
                num(&r["joined"]),
                num(&sp["joinedAllTimeCount"]),
                None,
            );
        }
    }
}

#[test]
fn the_reference_appview_agrees_with_our_notifications_and_counts() {
    let Some(tool) = crate::common::pds_capture_tool() else {
        return;
    };
    let t0 = Instant::now();
    let ports = Ports::new();
    let appview = AppView::start(&tool, &ports);
    let up = t0.elapsed();
    let db = TestDb::new();
    let relay = format!("ws://127.0.0.1:{}", ports.pds);
    let mut run = proc::spawn_run(
        &db.url,
        &[
            "--relay",
            &relay,
            "--cursor",
            "0",
            "--service",
            "firehose",
            "--notifications",
            "on",
            "--verify",
            "off",
            "--verify-handles",
            "off",
            "--stats-interval",
            "1s",
        ],
    );
    let stats = drive(&tool, &ports);
    let driven = t0.elapsed();
    let dump = dump(&tool, &ports);
    let dumped = t0.elapsed();
    let last = dump["meta"]["caughtUp"]["pdsSeq"]
        .as_i64()
        .expect("the dump's pdsSeq");
    wait_for_cursor(&db, &run, last, Duration::from_secs(60));
    run.stop();

    let mut ours = db.conn();
    let mut reference = crate::common::db::connect(&ports.pg_url());
    let world = World::load(&mut ours, &mut reference);
    let mut report = Report::default();
    compare_notifications(&mut report, &world, &dump, &mut ours, &mut reference);
    compare_counts(&mut report, &dump, &mut ours, &mut reference);
    let head = format!(
        "appview oracle: {} accounts, PDS seq {last}, driver ops {}; up {:.1}s, driven {:.1}s, \
         dumped {:.1}s, compared {:.1}s",
        dump["accounts"].as_array().map_or(0, Vec::len),
        stats["ops"],
        up.as_secs_f64(),
        driven.as_secs_f64(),
        dumped.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    let summary = report.print(&head);
    // Not a comparison of nothing: the accounts are there, and notifications agree.
    let matched: usize = report.notes.values().map(|t| t.matched).sum();
    assert!(
        dump["accounts"].as_array().map_or(0, Vec::len) + 1 >= ACCOUNTS as usize && matched > 100,
        "too little to compare:\n{summary}"
    );
    eprintln!("{summary}");
    let unexplained = report.unexplained();
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences from the reference AppView:\n{}\n\n{summary}\nour log:\n{}",
        unexplained.len(),
        unexplained
            .iter()
            .take(60)
            .copied()
            .collect::<Vec<_>>()
            .join("\n"),
        run.log_text()
    );
    drop(appview);
}

/// What the AppView serves of `did`'s records of one kind, by URI, after counting whether it
/// is the set of ours (`ours`: rows by URI, with their `author_did`).
fn same_set<'a>(
    report: &mut Report,
    field: &'static str,
    did: &str,
    served: &'a Value,
    ours: &HashMap<String, Value>,
) -> BTreeMap<String, &'a Value> {
    let served: BTreeMap<String, &Value> = served
        .as_array()
        .expect(field)
        .iter()
        .map(|r| (s(&r["uri"]), r))
        .collect();
    let mine: BTreeSet<String> = ours
        .iter()
        .filter(|(_, r)| s(&r["author_did"]) == did)
        .map(|(u, _)| u.clone())
        .collect();
    let theirs: BTreeSet<String> = served.keys().cloned().collect();
    report.same(
        field,
        did.to_owned(),
        mine == theirs,
        format!("ours {mine:?}, served {theirs:?}"),
    );
    served
}
