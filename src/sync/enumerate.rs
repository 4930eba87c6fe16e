//! Enumerating the relay's repos (`com.atproto.sync.listRepos`, or `listReposByCollection` for
//! the collections tracked; pages of 1000 with an opaque cursor): each page handed to the
//! writers that own its repos (new ones become `desynchronized`, known ones listed ahead of us
//! too), and the page cursor saved in the database once they have committed it, so an
//! interrupted enumeration resumes where it was.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::unbounded;
use log::{info, warn};
use serde::Deserialize;

use super::fetch::FetchError;
use super::writers::ToWriters;
use crate::changes::{Hosting, ListedRepo};
use crate::db::pool::PgPool;
use crate::db::repos;
use crate::identity::http::HttpGet;
use crate::identity::Identities;
use crate::writer::{writer_for, Envelope, SyncCommand};

/// Largest listRepos page read (1000 repos are ~200 KB).
const MAX_PAGE_BYTES: usize = 8 << 20;
const PAGE_LIMIT: usize = 1000;

#[derive(Clone)]
pub struct EnumerateSettings {
    /// The relay's HTTP origin (`https://host`).
    pub base: String,
    /// The key of its row in `repo_enumerations` (the firehose's service name).
    pub service: String,
    /// Enumerate again this long after the last one completed.
    pub interval: Duration,
    /// Enumerate at start whatever the last one was (the stream resumed without a cursor).
    pub now: bool,
    /// Raised by the stream on `OutdatedCursor`: enumerate again, now.
    pub outdated: Arc<AtomicBool>,
    /// How an enumeration after lost events resolves each account's handle again, and whether
    /// to check it both ways.
    pub identities: Option<(Arc<Identities>, bool)>,
    /// List only the repos holding these collections (`listReposByCollection`, one
    /// enumeration each); empty: every repo (`listRepos`).
    pub collections: Vec<String>,
}

#[derive(Deserialize)]
struct Page {
    cursor: Option<String>,
    repos: Vec<PageRepo>,
}

#[derive(Deserialize)]
struct PageRepo {
    did: String,
    rev: Option<String>,
    #[serde(default = "yes")]
    active: bool,
    status: Option<String>,
}

fn yes() -> bool {
    true
}

/// One page of the relay's repos (of those holding `collection`, when given), and the cursor
/// of the next (none: the last page).
pub fn page(
    http: &dyn HttpGet,
    base: &str,
    collection: Option<&str>,
    cursor: Option<&str>,
) -> Result<(Vec<ListedRepo>, Option<String>), FetchError> {
    let base = base.trim_end_matches('/');
    let mut url = match collection {
        None => format!("{base}/xrpc/com.atproto.sync.listRepos?limit={PAGE_LIMIT}"),
        Some(c) => format!(
            "{base}/xrpc/com.atproto.sync.listReposByCollection?collection={}&limit={PAGE_LIMIT}",
            url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
        ),
    };
    if let Some(c) = cursor {
        url.push_str("&cursor=");
        url.push_str(&url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>());
    }
    let host = url::Url::parse(base)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let response = http.get(&url, "application/json", MAX_PAGE_BYTES)?;
    if response.status != 200 {
        return Err(FetchError::Status {
            host,
            status: response.status,
            error: None,
            retry_after: response.retry_after,
        });
    }
    let page: Page = serde_json::from_slice(&response.body).map_err(|e| FetchError::Status {
        host: host.clone(),
        status: 200,
        error: Some(format!("repo list page does not parse: {e}")),
        retry_after: None,
    })?;
    let repos = page
        .repos
        .into_iter()
        // A DID or rev that is not one is skipped, not trusted.
        .filter(|r| crate::syntax::did(&r.did).is_ok())
        .filter(|r| {
            r.rev
                .as_deref()
                .is_none_or(|v| crate::syntax::tid(v).is_ok())
        })
        .map(|r| ListedRepo {
            hosting: if r.active {
                Some(Hosting::Active)
            } else {
                r.status.as_deref().and_then(Hosting::parse)
            },
            did: r.did,
            rev: r.rev,
            active: r.active,
            handle: None,
        })
        .collect();
    // A cursor that does not move would page forever.
    let next = page
        .cursor
        .filter(|c| Some(c.as_str()) != cursor && !c.is_empty());
    Ok((repos, next))
}

pub(super) fn run(
    settings: &EnumerateSettings,
    pool: &PgPool,
    http: &dyn HttpGet,
    writers: &Arc<dyn ToWriters>,
    stop: &AtomicBool,
) {
    // One enumeration per collection tracked, each with its own saved page cursor; or one of
    // every repo.
    let targets: Vec<(String, Option<&str>)> = if settings.collections.is_empty() {
        vec![(settings.service.clone(), None)]
    } else {
        settings
            .collections
            .iter()
            .map(|c| (format!("{} {c}", settings.service), Some(c.as_str())))
            .collect()
    };
    let mut now = vec![settings.now; targets.len()];
    while !stop.load(Relaxed) {
        if settings.outdated.swap(false, Relaxed) {
            now.iter_mut().for_each(|n| *n = true);
        }
        let mut idle = true;
        for (i, (key, collection)) in targets.iter().enumerate() {
            let target = Target {
                key,
                collection: *collection,
            };
            match pass(settings, &target, now[i], pool, http, writers, stop) {
                Pass::Stopped => return,
                Pass::NotDue => {}
                Pass::Retry => sleep(stop, Duration::from_secs(5)),
                Pass::Done => {
                    now[i] = false;
                    idle = false;
                }
            }
        }
        if idle {
            sleep(stop, Duration::from_secs(1));
        }
    }
}

/// One enumeration: its key in `repo_enumerations`, and the collection it lists by.
struct Target<'a> {
    key: &'a str,
    collection: Option<&'a str>,
}

enum Pass {
    Stopped,
    NotDue,
    Retry,
    Done,
}

/// Enumerates `target` if it is due (or `now`), from its saved page on.
fn pass(
    settings: &EnumerateSettings,
    target: &Target<'_>,
    now: bool,
    pool: &PgPool,
    http: &dyn HttpGet,
    writers: &Arc<dyn ToWriters>,
    stop: &AtomicBool,
) -> Pass {
    let state = pool
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut c| repos::enumeration(&mut c, target.key).map_err(|e| e.to_string()));
    let (mut cursor, completed) = match state {
        Ok(Some((cursor, completed))) => (cursor, completed),
        Ok(None) => (None, None),
        Err(e) => {
            warn!("backfill: enumeration state unreadable ({e})");
            return Pass::Retry;
        }
    };
    let due = now
        || completed.is_none()
        || completed.is_some_and(|at| {
            chrono::Utc::now() - at
                >= chrono::TimeDelta::from_std(settings.interval).unwrap_or(chrono::TimeDelta::MAX)
        });
    if !due {
        return Pass::NotDue;
    }
    // After lost events every handle may have changed unseen: resolve them again.
    let resolve = if now {
        settings.identities.as_ref()
    } else {
        None
    };
    if now {
        // Whatever the last enumeration was, this one starts from the first page.
        cursor = None;
    }
    let what = target
        .collection
        .map_or(String::new(), |c| format!(" (repos holding {c})"));
    info!(
        "backfill: enumerating {}{what} from {}",
        settings.base,
        cursor.as_deref().unwrap_or("the first page")
    );
    let (mut pages, mut listed, mut marked) = (0u64, 0u64, 0usize);
    // A listing of every repo from its first page covers them all: those it did not list are
    // checked. A listing by collection says nothing of the repos it leaves out.
    let started = match (cursor.as_ref(), target.collection) {
        (None, None) => pool.get().ok().and_then(|mut c| repos::now(&mut c).ok()),
        _ => None,
    };
    loop {
        if stop.load(Relaxed) {
            return Pass::Stopped;
        }
        let (mut repos, next) =
            match page(http, &settings.base, target.collection, cursor.as_deref()) {
                Ok(p) => p,
                Err(e) => {
                    warn!("backfill: repo list page failed ({e}); again in 30 s");
                    sleep(stop, Duration::from_secs(30));
                    continue;
                }
            };
        pages += 1;
        listed += repos.len() as u64;
        if let Some((ids, verify)) = resolve {
            for r in repos.iter_mut().filter(|r| r.active) {
                r.handle = handle_of(ids, &r.did, *verify);
            }
        }
        match hand_over(repos, writers, stop) {
            Some(n) => marked += n,
            None => return Pass::Stopped,
        }
        let saved = pool.get().map_err(|e| e.to_string()).and_then(|mut c| {
            match &next {
                Some(n) => repos::save_page(&mut c, target.key, Some(n)),
                None => repos::complete_enumeration(&mut c, target.key),
            }
            .map_err(|e| e.to_string())
        });
        if let Err(e) = saved {
            warn!("backfill: could not save the enumeration's page ({e})");
        }
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let unlisted = match started {
        Some(since) => match recheck_unlisted(pool, since, writers, stop) {
            Some(n) => n,
            None => return Pass::Stopped,
        },
        None => 0,
    };
    info!("backfill: enumeration done{what}: {pages} pages, {listed} repos listed, {marked} to fetch, {unlisted} not listed any more to fetch again");
    Pass::Done
}

/// The page's repos, each group to its writer; waits until all have committed. `None` when
/// the writers are closing.
fn hand_over(
    repos: Vec<ListedRepo>,
    writers: &Arc<dyn ToWriters>,
    stop: &AtomicBool,
) -> Option<usize> {
    per_writer(
        repos,
        |r| &r.did,
        writers,
        stop,
        |repos, reply| SyncCommand::Discover { repos, reply },
    )
}

/// `items` grouped by the writer that owns each one's repo, each group sent as one command;
/// waits until every writer has committed its group and returns the sum of their replies.
/// `None` when the writers are closing.
fn per_writer<T>(
    items: Vec<T>,
    did_of: impl Fn(&T) -> &str,
    writers: &Arc<dyn ToWriters>,
    stop: &AtomicBool,
    command: impl Fn(Vec<T>, crossbeam_channel::Sender<usize>) -> SyncCommand,
) -> Option<usize> {
    let n = writers.writers().max(1);
    let mut groups: BTreeMap<usize, Vec<T>> = BTreeMap::new();
    for item in items {
        groups
            .entry(writer_for(did_of(&item), n))
            .or_default()
            .push(item);
    }
    let (tx, rx) = unbounded();
    let mut waiting = 0;
    for (_, group) in groups {
        let Some(did) = group.first().map(|g| did_of(g).to_owned()) else {
            continue;
        };
        if !writers.send(&did, Envelope::sync(command(group, tx.clone())), stop) {
            return None;
        }
        waiting += 1;
    }
    wait_replies(&rx, waiting, stop)
}

/// Hands every synchronized repo the enumeration begun at `since` did not list to its writer,
/// to be fetched again. `None` when the writers are closing.
fn recheck_unlisted(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
    writers: &Arc<dyn ToWriters>,
    stop: &AtomicBool,
) -> Option<usize> {
    let mut after = String::new();
    let mut total = 0;
    loop {
        let dids = match pool.get().map_err(|e| e.to_string()).and_then(|mut c| {
            repos::unlisted(&mut c, since, &after, PAGE_LIMIT as i64).map_err(|e| e.to_string())
        }) {
            Ok(d) => d,
            Err(e) => {
                warn!("backfill: unlisted repos unreadable ({e})");
                return Some(total);
            }
        };
        let Some(last) = dids.last().cloned() else {
            return Some(total);
        };
        total += per_writer(dids, String::as_str, writers, stop, |dids, reply| {
            SyncCommand::Recheck { dids, reply }
        })?;
        after = last;
    }
}

fn wait_replies(
    rx: &crossbeam_channel::Receiver<usize>,
    mut waiting: usize,
    stop: &AtomicBool,
) -> Option<usize> {
    let mut sum = 0;
    while waiting > 0 {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => {
                sum += m;
                waiting -= 1;
            }
            Err(_) if stop.load(Relaxed) => return None,
            Err(_) => {}
        }
    }
    Some(sum)
}

/// The account's handle as resolution gives it now; `None` when it cannot be resolved (the
/// handle we hold is kept).
fn handle_of(ids: &Identities, did: &str, verify: bool) -> Option<String> {
    // What the cache holds is what the stream told us; only a fresh document is news.
    ids.purge(did);
    let result = if verify {
        ids.identity(did).map(|i| Some(i.handle().to_owned()))
    } else {
        ids.document(did).map(|d| d.handle.clone())
    };
    match result {
        Ok(h) => h,
        Err(e) => {
            warn!("backfill: did={did} handle not resolved again ({e})");
            None
        }
    }
}

fn sleep(stop: &AtomicBool, d: Duration) {
    let until = std::time::Instant::now() + d;
    while !stop.load(Relaxed) && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
}
