//! Politeness per host: a token bucket (sustained rate, burst) and a cap on requests in flight.
//!
//! A restart meets thousands of DIDs at once; without this they would all go to the PLC
//! directory in the same second. A caller waits for its turn at most `max_wait`, and is told
//! at once when its turn cannot come in that time, so a burst turns into quick "rate limited"
//! errors for the caller to retry, not into decode threads parked for minutes.
//!
//! One mutex and one condition variable for all hosts: the lock is held for a few arithmetic
//! operations, and a finished request wakes the waiters so they re-check their own host.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::clock::after;
use super::config::LimitConfig;

/// Per-host buckets and in-flight counts.
#[derive(Debug)]
pub struct HostLimiter {
    config: LimitConfig,
    hosts: Mutex<HashMap<String, Bucket>>,
    freed: Condvar,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    in_flight: usize,
    /// The host asked us to wait (a 429): no request before this.
    paused_until: Option<Instant>,
}

/// The right to send one request to a host; gives the in-flight slot back when dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a HostLimiter,
    host: String,
    /// Whether the caller had to wait for it.
    pub waited: bool,
}

/// No permit within `max_wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied;

impl HostLimiter {
    pub fn new(config: LimitConfig) -> HostLimiter {
        HostLimiter {
            config,
            hosts: Mutex::new(HashMap::new()),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Bucket>> {
        // A panic elsewhere cannot leave these counters inconsistent (each update is a single
        // step), so a poisoned lock is still usable.
        self.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn burst(&self) -> f64 {
        f64::from(self.config.burst.max(1))
    }

    fn rate(&self) -> Option<f64> {
        let r = self.config.rate_per_sec;
        (r.is_finite() && r > 0.0).then_some(r)
    }

    /// Waits (at most `max_wait`) until `host` may receive one more request.
    pub fn acquire(&self, host: &str) -> Result<Permit<'_>, Denied> {
        let deadline = after(Instant::now(), self.config.max_wait);
        let max_in_flight = self.config.max_in_flight.max(1);
        let mut waited = false;
        let mut hosts = self.lock();
        loop {
            let now = Instant::now();
            let bucket = self.bucket(&mut hosts, host, now);
            self.refill(bucket, now);
            let left = deadline.saturating_duration_since(now);
            if let Some(pause) = bucket.paused_until.filter(|u| *u > now) {
                let wait = pause.saturating_duration_since(now);
                if wait > left {
                    return Err(Denied);
                }
                waited = true;
                hosts = self
                    .freed
                    .wait_timeout(hosts, wait)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|p| p.into_inner().0);
                continue;
            }
            if bucket.in_flight < max_in_flight && bucket.tokens >= 1.0 {
                bucket.tokens -= 1.0;
                bucket.in_flight += 1;
                return Ok(Permit {
                    limiter: self,
                    host: host.to_owned(),
                    waited,
                });
            }
            let token_wait = match self.rate() {
                Some(rate) if bucket.tokens < 1.0 => {
                    Duration::try_from_secs_f64((1.0 - bucket.tokens) / rate)
                        .unwrap_or(Duration::MAX)
                }
                _ => Duration::ZERO,
            };
            // A wait that cannot end in time is not started: say so now.
            if left.is_zero() || token_wait > left {
                return Err(Denied);
            }
            waited = true;
            let nap = if token_wait.is_zero() {
                left
            } else {
                token_wait.min(left)
            };
            hosts = self
                .freed
                .wait_timeout(hosts, nap)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// The host's bucket, made full on first sight (room made for it first).
    fn bucket<'h>(
        &self,
        hosts: &'h mut HashMap<String, Bucket>,
        host: &str,
        now: Instant,
    ) -> &'h mut Bucket {
        if !hosts.contains_key(host) {
            self.make_room(hosts, now);
        }
        hosts.entry(host.to_owned()).or_insert_with(|| Bucket {
            tokens: self.burst(),
            refilled: now,
            in_flight: 0,
            paused_until: None,
        })
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        match self.rate() {
            Some(rate) => {
                let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
                bucket.tokens = (bucket.tokens + elapsed * rate).min(self.burst());
            }
            None => bucket.tokens = self.burst(),
        }
        bucket.refilled = now;
    }

    /// Keeps the table within `max_hosts` by forgetting hosts that are idle and whose bucket
    /// is full again: forgetting them changes nothing about what they may do next.
    fn make_room(&self, hosts: &mut HashMap<String, Bucket>, now: Instant) {
        if hosts.len() < self.config.max_hosts.max(1) {
            return;
        }
        let burst = self.burst();
        let rate = self.rate();
        hosts.retain(|_, b| {
            let refilled = match rate {
                Some(r) => b.tokens + now.saturating_duration_since(b.refilled).as_secs_f64() * r,
                None => burst,
            };
            b.in_flight > 0 || refilled < burst || b.paused_until.is_some_and(|u| u > now)
        });
    }

    /// The host asked us to wait (`for_`, at most an hour): no request to it before then, a
    /// longer pause it asked for earlier kept.
    pub fn pause(&self, host: &str, for_: Duration) {
        let now = Instant::now();
        let until = after(now, for_.min(Duration::from_secs(3600)));
        let mut hosts = self.lock();
        let bucket = self.bucket(&mut hosts, host, now);
        bucket.paused_until = Some(bucket.paused_until.map_or(until, |u| u.max(until)));
    }

    /// How long `host` is paused for still, if it is.
    pub fn paused_for(&self, host: &str) -> Option<Duration> {
        let now = Instant::now();
        self.lock()
            .get(host)
            .and_then(|b| b.paused_until)
            .filter(|u| *u > now)
            .map(|u| u.saturating_duration_since(now))
    }

    /// Requests in flight toward `host` now (for tests and diagnostics).
    pub fn in_flight(&self, host: &str) -> usize {
        self.lock().get(host).map_or(0, |b| b.in_flight)
    }

    /// Hosts tracked now.
    pub fn hosts(&self) -> usize {
        self.lock().len()
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut hosts = self.limiter.lock();
        if let Some(bucket) = hosts.get_mut(&self.host) {
            bucket.in_flight = bucket.in_flight.saturating_sub(1);
        }
        drop(hosts);
        self.limiter.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: f64, burst: u32, in_flight: usize, wait_ms: u64) -> HostLimiter {
        HostLimiter::new(LimitConfig {
            rate_per_sec: rate,
            burst,
            max_in_flight: in_flight,
            max_wait: Duration::from_millis(wait_ms),
            max_hosts: 2,
        })
    }

    #[test]
    fn burst_then_denied_without_waiting() {
        let l = limiter(1.0, 3, 10, 0);
        let permits: Vec<_> = (0..3).map(|_| l.acquire("a").unwrap()).collect();
        assert!(permits.iter().all(|p| !p.waited));
        assert_eq!(l.acquire("a").err(), Some(Denied));
        // Another host has its own bucket.
        assert!(l.acquire("b").is_ok());
    }

    #[test]
    fn in_flight_cap_waits_for_a_release() {
        let l = limiter(1000.0, 1000, 1, 2000);
        let first = l.acquire("a").unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| l.acquire("a").map(|p| p.waited));
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(l.in_flight("a"), 1);
            drop(first);
            assert_eq!(waiter.join().unwrap(), Ok(true));
        });
    }

    #[test]
    fn extreme_settings_do_not_panic() {
        let l = HostLimiter::new(LimitConfig {
            rate_per_sec: 1e-300,
            burst: 0,
            max_in_flight: 0,
            max_wait: Duration::MAX,
            max_hosts: 0,
        });
        let first = l.acquire("a").unwrap();
        drop(first);
        // The next token is centuries away: refused at once rather than waited for.
        assert_eq!(l.acquire("a").err(), Some(Denied));
        let nan = HostLimiter::new(LimitConfig {
            rate_per_sec: f64::NAN,
            ..LimitConfig::default()
        });
        assert!(nan.acquire("a").is_ok());
    }

    #[test]
    fn a_paused_host_gets_nothing_until_its_time() {
        let l = limiter(100.0, 10, 4, 50);
        l.pause("h", Duration::from_secs(30));
        assert!(
            l.acquire("h").is_err(),
            "a pause longer than the wait is denied at once"
        );
        assert!(l
            .paused_for("h")
            .is_some_and(|d| d > Duration::from_secs(29)));
        assert!(l.acquire("other").is_ok(), "other hosts go on");
        // A shorter pause asked later keeps the longer one.
        l.pause("h", Duration::from_millis(1));
        assert!(l
            .paused_for("h")
            .is_some_and(|d| d > Duration::from_secs(29)));
        // A pause within the wait is waited out.
        l.pause("k", Duration::from_millis(20));
        let start = Instant::now();
        let p = l.acquire("k").expect("after the pause");
        assert!(p.waited && start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn idle_hosts_are_forgotten() {
        let l = limiter(1e9, 1, 1, 0);
        drop(l.acquire("a").unwrap());
        drop(l.acquire("b").unwrap());
        std::thread::sleep(Duration::from_millis(5));
        drop(l.acquire("c").unwrap());
        assert!(l.hosts() <= 2, "{}", l.hosts());
    }
}
