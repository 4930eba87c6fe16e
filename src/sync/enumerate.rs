//! Enumerating the relay's repos (`com.atproto.sync.listRepos`, pages of 1000 with an opaque
//! cursor): each page handed to the writers that own its repos (new ones become
//! `desynchronized`, known ones listed ahead of us too), and the page cursor saved in the
//! database once they have committed it, so an interrupted enumeration resumes where it was.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::unbounded;
use log::{info, warn};
use serde::Deserialize;

use super::fetch::FetchError;
use super::stage::ToWriters;
use crate::changes::{Hosting, ListedRepo};
use crate::db::pool::PgPool;
use crate::db::repos;
use crate::identity::http::HttpGet;
use crate::writer::{writer_for, Envelope, SyncCommand};

/// Largest listRepos page read (1000 repos are ~200 KB).
const MAX_PAGE_BYTES: usize = 8 << 20;
const PAGE_LIMIT: usize = 1000;

#[derive(Debug, Clone)]
pub struct EnumerateSettings {
    /// The relay's HTTP origin (`https://host`).
    pub base: String,
    /// The key of its row in `repo_enumerations` (the firehose's service name).
    pub service: String,
    /// Enumerate again this long after the last one completed.
    pub interval: Duration,
    /// Enumerate at start whatever the last one was (the stream resumed without a cursor).
    pub now: bool,
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

/// One page of the relay's repos, and the cursor of the next (none: the last page).
pub fn page(
    http: &dyn HttpGet,
    base: &str,
    cursor: Option<&str>,
) -> Result<(Vec<ListedRepo>, Option<String>), FetchError> {
    let mut url = format!(
        "{}/xrpc/com.atproto.sync.listRepos?limit={PAGE_LIMIT}",
        base.trim_end_matches('/')
    );
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
        });
    }
    let page: Page = serde_json::from_slice(&response.body).map_err(|e| FetchError::Status {
        host: host.clone(),
        status: 200,
        error: Some(format!("listRepos page does not parse: {e}")),
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
    let mut now = settings.now;
    while !stop.load(Relaxed) {
        let state = pool.get().map_err(|e| e.to_string()).and_then(|mut c| {
            repos::enumeration(&mut c, &settings.service).map_err(|e| e.to_string())
        });
        let (mut cursor, completed) = match state {
            Ok(Some((cursor, completed))) => (cursor, completed),
            Ok(None) => (None, None),
            Err(e) => {
                warn!("backfill: enumeration state unreadable ({e})");
                sleep(stop, Duration::from_secs(5));
                continue;
            }
        };
        let due = now
            || completed.is_none()
            || completed.is_some_and(|at| {
                chrono::Utc::now() - at
                    >= chrono::TimeDelta::from_std(settings.interval)
                        .unwrap_or(chrono::TimeDelta::MAX)
            });
        if !due {
            sleep(stop, Duration::from_secs(10));
            continue;
        }
        if now {
            // Whatever the last enumeration was, this one starts from the first page.
            cursor = None;
            now = false;
        }
        info!(
            "backfill: enumerating {} from {}",
            settings.base,
            cursor.as_deref().unwrap_or("the first page")
        );
        let (mut pages, mut listed, mut marked) = (0u64, 0u64, 0usize);
        loop {
            if stop.load(Relaxed) {
                return;
            }
            let (repos, next) = match page(http, &settings.base, cursor.as_deref()) {
                Ok(p) => p,
                Err(e) => {
                    warn!("backfill: listRepos page failed ({e}); again in 30 s");
                    sleep(stop, Duration::from_secs(30));
                    continue;
                }
            };
            pages += 1;
            listed += repos.len() as u64;
            match hand_over(repos, writers, stop) {
                Some(n) => marked += n,
                None => return,
            }
            let saved = pool.get().map_err(|e| e.to_string()).and_then(|mut c| {
                match &next {
                    Some(n) => repos::save_page(&mut c, &settings.service, Some(n)),
                    None => repos::complete_enumeration(&mut c, &settings.service),
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
        info!(
            "backfill: enumeration done: {pages} pages, {listed} repos listed, {marked} to fetch"
        );
    }
}

/// The page's repos, each group to its writer; waits until all have committed. `None` when
/// the writers are closing.
fn hand_over(
    repos: Vec<ListedRepo>,
    writers: &Arc<dyn ToWriters>,
    stop: &AtomicBool,
) -> Option<usize> {
    let n = writers.writers().max(1);
    let mut groups: BTreeMap<usize, Vec<ListedRepo>> = BTreeMap::new();
    for r in repos {
        groups.entry(writer_for(&r.did, n)).or_default().push(r);
    }
    let (tx, rx) = unbounded();
    let mut waiting = 0;
    for (_, group) in groups {
        let did = group[0].did.clone();
        let command = SyncCommand::Discover {
            repos: group,
            reply: tx.clone(),
        };
        if !writers.send(&did, Envelope::sync(command), stop) {
            return None;
        }
        waiting += 1;
    }
    let mut marked = 0;
    while waiting > 0 {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => {
                marked += m;
                waiting -= 1;
            }
            Err(_) if stop.load(Relaxed) => return None,
            Err(_) => {}
        }
    }
    Some(marked)
}

fn sleep(stop: &AtomicBool, d: Duration) {
    let until = std::time::Instant::now() + d;
    while !stop.load(Relaxed) && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
}
