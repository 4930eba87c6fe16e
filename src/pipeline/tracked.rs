//! `--only-tracked`: the accounts `skyindex track` named, read from the database at start and
//! again every few seconds, so the decode stage drops every other account's frame before its
//! CAR is decoded.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use log::{info, warn};

use crate::db::pool::PgPool;
use crate::db::tracked;

/// How often the set is read again.
const REFRESH: Duration = Duration::from_secs(5);

/// The tracked accounts could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TrackedError {
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("reading tracked_repos: {0}")]
    Query(#[from] diesel::result::Error),
}

#[derive(Debug, Default)]
pub struct Tracked {
    dids: RwLock<HashSet<String>>,
}

impl Tracked {
    /// The set as the database holds it now.
    pub fn load(pool: &PgPool) -> Result<Tracked, TrackedError> {
        let t = Tracked::default();
        t.refresh(pool)?;
        Ok(t)
    }

    pub fn has(&self, did: &str) -> bool {
        self.dids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(did)
    }

    pub fn len(&self) -> usize {
        self.dids.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads the set again; returns an error (and keeps the set it had) when it cannot.
    pub fn refresh(&self, pool: &PgPool) -> Result<(), TrackedError> {
        let mut conn = pool.get()?;
        let dids: HashSet<String> = tracked::all(&mut conn)?.into_iter().collect();
        let mut held = self.dids.write().unwrap_or_else(|p| p.into_inner());
        if *held != dids {
            info!("tracking {} accounts (--only-tracked)", dids.len());
            *held = dids;
        }
        Ok(())
    }

    /// Reads the set again every few seconds until `done`.
    pub fn keep_fresh(&self, pool: &PgPool, done: &AtomicBool) {
        let mut next = Instant::now() + REFRESH;
        while !done.load(Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if Instant::now() < next {
                continue;
            }
            next = Instant::now() + REFRESH;
            if let Err(e) = self.refresh(pool) {
                warn!(
                    "tracked accounts not read again ({e}); keeping the {} known",
                    self.len()
                );
            }
        }
    }
}
