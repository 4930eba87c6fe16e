//! A bounded, thread-safe cache of fetch results, answers and failures alike, where concurrent
//! lookups of one key share one fetch.
//!
//! Bounded by two generations instead of a linked LRU list: new entries go to `hot`; when `hot`
//! holds half the bound it becomes `cold` and the old `cold` is dropped; a hit in `cold` moves
//! the entry back to `hot`. Every operation is O(1) under one short lock, memory never exceeds
//! the bound, and what is dropped is what went unused for a whole generation: LRU-ish, which is
//! all an identity cache needs.
//!
//! The lock is never held during a fetch. The first thread to miss a key registers a *flight*
//! and fetches; others that miss the same key wait on the flight and take its result. A
//! `purge` during a flight marks it stale: its waiters still get its answer, but it is not
//! stored, so an `#identity` event is never undone by a fetch that started before it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::clock::{after, Clock};
use super::config::CacheConfig;
use super::stats::{bump, IdentityStats};

/// How long a fetch result may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The full TTL.
    Ttl,
    /// The short negative TTL: a failure, or an answer built on one.
    Negative,
    /// Not at all (the failure was ours, e.g. our own rate limit, not the key's).
    No,
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Hit,
    Coalesced,
    Fetched,
}

/// What counts as a usable cached entry for one lookup.
pub struct Want<'a, V> {
    /// Entries fetched before this are treated as missing (a forced refresh).
    pub fetched_after: Option<Instant>,
    /// Successful values this rejects are treated as missing (e.g. a handle verdict for a
    /// handle the document no longer claims).
    pub accept: &'a dyn Fn(&V) -> bool,
}

impl<V> Want<'_, V> {
    /// Any fresh entry.
    pub fn any() -> Want<'static, V> {
        Want {
            fetched_after: None,
            accept: &|_| true,
        }
    }
}

#[derive(Clone)]
struct Entry<V, E> {
    value: Result<V, E>,
    fetched: Instant,
    expires: Instant,
}

enum FlightState<V, E> {
    Running,
    Done(Result<V, E>),
    Abandoned,
}

struct Flight<V, E> {
    state: Mutex<FlightState<V, E>>,
    done: Condvar,
    stale: AtomicBool,
}

struct Inner<V, E> {
    hot: HashMap<String, Entry<V, E>>,
    cold: HashMap<String, Entry<V, E>>,
    flights: HashMap<String, Arc<Flight<V, E>>>,
}

/// The cache. `V` and `E` are cloned out to each caller, so keep them cheap (`Arc`s, short
/// strings).
pub struct TtlCache<V, E> {
    config: CacheConfig,
    clock: Arc<dyn Clock>,
    stats: Arc<IdentityStats>,
    inner: Mutex<Inner<V, E>>,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here is left half-updated by a panic (each change is one map operation), so a
    // poisoned lock is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<V: Clone, E: Clone> TtlCache<V, E> {
    pub fn new(config: CacheConfig, clock: Arc<dyn Clock>, stats: Arc<IdentityStats>) -> Self {
        TtlCache {
            config,
            clock,
            stats,
            inner: Mutex::new(Inner {
                hot: HashMap::new(),
                cold: HashMap::new(),
                flights: HashMap::new(),
            }),
        }
    }

    /// Entries held now (both generations, expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        let inner = relock(&self.inner);
        inner.hot.len() + inner.cold.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets `key`, and makes a fetch of it already under way not store its result.
    pub fn purge(&self, key: &str) {
        let mut inner = relock(&self.inner);
        inner.hot.remove(key);
        inner.cold.remove(key);
        if let Some(flight) = inner.flights.remove(key) {
            flight.stale.store(true, Ordering::Relaxed);
        }
    }

    /// The cached result for `key` if `want` accepts it; else the result of `fetch`, run by
    /// this thread or shared from another thread already fetching `key`.
    pub fn get_or_fetch(
        &self,
        key: &str,
        want: &Want<'_, V>,
        fetch: impl FnOnce() -> (Result<V, E>, Keep),
    ) -> (Result<V, E>, Outcome) {
        let mut fetch = Some(fetch);
        loop {
            let flight = {
                let mut inner = relock(&self.inner);
                if let Some(value) = self.lookup(&mut inner, key, want) {
                    bump(&self.stats.hits);
                    return (value, Outcome::Hit);
                }
                match inner.flights.get(key) {
                    Some(flight) => Err(Arc::clone(flight)),
                    None => {
                        let flight = Arc::new(Flight {
                            state: Mutex::new(FlightState::Running),
                            done: Condvar::new(),
                            stale: AtomicBool::new(false),
                        });
                        inner.flights.insert(key.to_owned(), Arc::clone(&flight));
                        Ok(flight)
                    }
                }
            };
            match flight {
                Ok(ours) => {
                    bump(&self.stats.misses);
                    let Some(fetch) = fetch.take() else {
                        // Unreachable: we fetch at most once, then return.
                        continue;
                    };
                    return (self.run_flight(key, &ours, fetch), Outcome::Fetched);
                }
                Err(theirs) => {
                    if let Some(value) = wait(&theirs) {
                        bump(&self.stats.coalesced);
                        return (value, Outcome::Coalesced);
                    }
                    // The other fetch was abandoned (its thread panicked): try again.
                }
            }
        }
    }

    fn run_flight(
        &self,
        key: &str,
        flight: &Arc<Flight<V, E>>,
        fetch: impl FnOnce() -> (Result<V, E>, Keep),
    ) -> Result<V, E> {
        let mut guard = FlightGuard {
            cache: self,
            key,
            flight,
            finished: false,
        };
        let (value, keep) = fetch();
        let now = self.clock.now();
        {
            let mut inner = relock(&self.inner);
            let ttl = match keep {
                Keep::Ttl => Some(self.config.ttl),
                Keep::Negative => Some(self.config.negative_ttl),
                Keep::No => None,
            };
            if let (Some(ttl), false) = (ttl, flight.stale.load(Ordering::Relaxed)) {
                self.insert(&mut inner, key, value.clone(), now, after(now, ttl));
            }
            remove_flight(&mut inner, key, flight);
        }
        *relock(&flight.state) = FlightState::Done(value.clone());
        flight.done.notify_all();
        guard.finished = true;
        value
    }

    fn lookup(
        &self,
        inner: &mut Inner<V, E>,
        key: &str,
        want: &Want<'_, V>,
    ) -> Option<Result<V, E>> {
        let now = self.clock.now();
        let usable = |e: &Entry<V, E>| {
            e.expires > now
                && want.fetched_after.is_none_or(|t| e.fetched >= t)
                && e.value.as_ref().map_or(true, |v| (want.accept)(v))
        };
        if let Some(entry) = inner.hot.get(key) {
            return usable(entry).then(|| entry.value.clone());
        }
        let entry = inner.cold.remove(key)?;
        if !usable(&entry) {
            return None;
        }
        let value = entry.value.clone();
        self.insert(inner, key, entry.value, entry.fetched, entry.expires);
        Some(value)
    }

    fn insert(
        &self,
        inner: &mut Inner<V, E>,
        key: &str,
        value: Result<V, E>,
        fetched: Instant,
        expires: Instant,
    ) {
        inner.cold.remove(key);
        let generation = (self.config.max_entries / 2).max(1);
        if !inner.hot.contains_key(key) && inner.hot.len() >= generation {
            let dropped = std::mem::replace(&mut inner.cold, std::mem::take(&mut inner.hot));
            self.stats
                .evictions
                .fetch_add(dropped.len() as u64, Ordering::Relaxed);
        }
        inner.hot.insert(
            key.to_owned(),
            Entry {
                value,
                fetched,
                expires,
            },
        );
    }
}

fn remove_flight<V, E>(inner: &mut Inner<V, E>, key: &str, flight: &Arc<Flight<V, E>>) {
    // Only our own: after a purge, a newer flight for the key may be registered.
    if inner
        .flights
        .get(key)
        .is_some_and(|f| Arc::ptr_eq(f, flight))
    {
        inner.flights.remove(key);
    }
}

/// The flight's result once it lands; `None` if it was abandoned.
fn wait<V: Clone, E: Clone>(flight: &Flight<V, E>) -> Option<Result<V, E>> {
    let mut state = relock(&flight.state);
    loop {
        match &*state {
            FlightState::Running => {
                state = flight.done.wait(state).unwrap_or_else(|p| p.into_inner());
            }
            FlightState::Done(value) => return Some(value.clone()),
            FlightState::Abandoned => return None,
        }
    }
}

/// Releases a flight's waiters if the fetch unwinds instead of returning.
struct FlightGuard<'a, V, E> {
    cache: &'a TtlCache<V, E>,
    key: &'a str,
    flight: &'a Arc<Flight<V, E>>,
    finished: bool,
}

impl<V, E> Drop for FlightGuard<'_, V, E> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        remove_flight(&mut relock(&self.cache.inner), self.key, self.flight);
        *relock(&self.flight.state) = FlightState::Abandoned;
        self.flight.done.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::clock::ManualClock;
    use std::time::Duration;

    fn cache(max: usize, clock: Arc<ManualClock>) -> TtlCache<u32, String> {
        TtlCache::new(
            CacheConfig {
                max_entries: max,
                ttl: Duration::from_secs(10),
                negative_ttl: Duration::from_secs(1),
            },
            clock,
            Arc::new(IdentityStats::default()),
        )
    }

    #[test]
    fn stays_within_the_bound_and_keeps_what_is_used() {
        let c = cache(10, Arc::new(ManualClock::new()));
        let _ = c.get_or_fetch("keep", &Want::any(), || (Ok(0), Keep::Ttl));
        for i in 0..100u32 {
            let _ = c.get_or_fetch(&format!("k{i}"), &Want::any(), || (Ok(i), Keep::Ttl));
            // Touch "keep" every few inserts, as a busy account would be.
            if i % 3 == 0 {
                let (_, o) = c.get_or_fetch("keep", &Want::any(), || (Ok(99), Keep::Ttl));
                assert_eq!(o, Outcome::Hit);
            }
            assert!(c.len() <= 10);
        }
        assert!(c.stats.snapshot().evictions > 0);
    }

    #[test]
    fn ttl_and_negative_ttl() {
        let clock = Arc::new(ManualClock::new());
        let c = cache(10, Arc::clone(&clock));
        let _ = c.get_or_fetch("ok", &Want::any(), || (Ok(1), Keep::Ttl));
        let _ = c.get_or_fetch("bad", &Want::any(), || (Err("x".into()), Keep::Negative));
        clock.advance(Duration::from_secs(2));
        assert_eq!(
            c.get_or_fetch("ok", &Want::any(), || (Ok(2), Keep::Ttl)).1,
            Outcome::Hit
        );
        assert_eq!(
            c.get_or_fetch("bad", &Want::any(), || (Ok(3), Keep::Ttl)).0,
            Ok(3)
        );
        clock.advance(Duration::from_secs(9));
        assert_eq!(
            c.get_or_fetch("ok", &Want::any(), || (Ok(4), Keep::Ttl)).0,
            Ok(4)
        );
    }
}
