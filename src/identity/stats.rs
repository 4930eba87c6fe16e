//! Counters of identity resolution, plain atomics the caller reads when it prints its stats line.
//!
//! Relaxed ordering throughout: each counter is monotonic and read for reporting only, never to
//! decide anything.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, shared by every thread that resolves.
#[derive(Debug, Default)]
pub struct IdentityStats {
    /// Lookups answered from a cache (documents and handle verdicts, negative entries too).
    pub hits: AtomicU64,
    /// Lookups that found nothing fresh in a cache.
    pub misses: AtomicU64,
    /// Lookups that waited for another thread's fetch of the same key instead of fetching.
    pub coalesced: AtomicU64,
    /// Network fetches started (DID documents, DNS TXT, well-known).
    pub fetches: AtomicU64,
    /// Fetches that failed (any error, including not found).
    pub errors: AtomicU64,
    /// Fetches that had to wait for the rate limit or an in-flight slot before starting.
    pub rate_limited_waits: AtomicU64,
    /// Fetches not started because the wait for the limit would have been too long.
    pub rate_limited: AtomicU64,
    /// Entries dropped to keep a cache within its bound.
    pub evictions: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub hits: u64,
    pub misses: u64,
    pub coalesced: u64,
    pub fetches: u64,
    pub errors: u64,
    pub rate_limited_waits: u64,
    pub rate_limited: u64,
    pub evictions: u64,
}

impl IdentityStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            hits: get(&self.hits),
            misses: get(&self.misses),
            coalesced: get(&self.coalesced),
            fetches: get(&self.fetches),
            errors: get(&self.errors),
            rate_limited_waits: get(&self.rate_limited_waits),
            rate_limited: get(&self.rate_limited),
            evictions: get(&self.evictions),
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
