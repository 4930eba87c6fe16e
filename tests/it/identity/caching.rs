//! The identity cache through `Identities`, over an in-memory HTTP double and a manual clock:
//! TTL, negative entries, purge, refresh, coalescing, the bound, the in-flight cap.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use skyindex::identity::clock::ManualClock;
use skyindex::identity::config::{CacheConfig, IdentityConfig, LimitConfig};
use skyindex::identity::{HttpError, Identities, ResolveError};

use super::support::{doc_json, plc, FakeDns, FakeHttp};

const PLC: &str = "https://plc.example.com";

struct Rig {
    ids: Arc<Identities>,
    http: Arc<FakeHttp>,
    clock: Arc<ManualClock>,
}

fn rig(tweak: impl FnOnce(&mut IdentityConfig)) -> Rig {
    let mut config = IdentityConfig {
        plc_url: PLC.into(),
        cache: CacheConfig {
            max_entries: 1000,
            ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(60),
        },
        limit: LimitConfig {
            rate_per_sec: 1e6,
            burst: 1_000_000,
            max_in_flight: 64,
            ..LimitConfig::default()
        },
        ..IdentityConfig::default()
    };
    tweak(&mut config);
    let http = Arc::new(FakeHttp::default());
    let clock = Arc::new(ManualClock::new());
    let ids = Identities::with_clients(
        config,
        http.clone(),
        Arc::new(FakeDns::default()),
        clock.clone(),
    )
    .unwrap();
    Rig {
        ids: Arc::new(ids),
        http,
        clock,
    }
}

fn url(did: &str) -> String {
    format!("{PLC}/{did}")
}

impl Rig {
    fn serve(&self, did: &str, handle: &str) {
        self.http.route(&url(did), 200, &doc_json(did, handle));
    }
}

#[test]
fn hits_until_the_ttl_then_fetches_again() {
    let r = rig(|_| {});
    let did = plc(1);
    r.serve(&did, "a.example.com");
    for _ in 0..5 {
        assert_eq!(
            r.ids.document(&did).unwrap().handle.as_deref(),
            Some("a.example.com")
        );
    }
    assert_eq!(r.http.calls_to(&url(&did)), 1);
    let s = r.ids.stats().snapshot();
    assert_eq!((s.misses, s.hits, s.fetches, s.errors), (1, 4, 1, 0));

    r.serve(&did, "b.example.com");
    r.clock.advance(Duration::from_secs(3599));
    assert_eq!(
        r.ids.document(&did).unwrap().handle.as_deref(),
        Some("a.example.com")
    );
    r.clock.advance(Duration::from_secs(2));
    assert_eq!(
        r.ids.document(&did).unwrap().handle.as_deref(),
        Some("b.example.com")
    );
    assert_eq!(r.http.calls_to(&url(&did)), 2);
}

#[test]
fn failures_are_remembered_briefly() {
    let r = rig(|_| {});
    let (missing, flaky) = (plc(2), plc(3));
    r.http.fail(
        &url(&flaky),
        HttpError::Timeout {
            host: "plc.example.com".into(),
        },
    );
    for _ in 0..3 {
        assert!(matches!(
            r.ids.document(&missing),
            Err(ResolveError::NotFound { .. })
        ));
        assert!(matches!(
            r.ids.document(&flaky),
            Err(ResolveError::Http { .. })
        ));
    }
    assert_eq!(
        (
            r.http.calls_to(&url(&missing)),
            r.http.calls_to(&url(&flaky))
        ),
        (1, 1)
    );
    assert_eq!(r.ids.stats().snapshot().errors, 2);

    // The account appears; the negative entry lasts its 60 s, then the next lookup finds it.
    r.serve(&missing, "new.example.com");
    r.clock.advance(Duration::from_secs(59));
    assert!(r.ids.document(&missing).is_err());
    r.clock.advance(Duration::from_secs(2));
    assert!(r.ids.document(&missing).is_ok());
    assert_eq!(r.http.calls_to(&url(&missing)), 2);
}

#[test]
fn purge_forgets_and_refresh_refetches_once() {
    let r = rig(|c| c.refresh_min_interval = Duration::from_secs(30));
    let did = plc(4);
    r.serve(&did, "old.example.com");
    r.ids.document(&did).unwrap();

    // An #identity event: the next lookup goes to the network.
    r.serve(&did, "new.example.com");
    r.ids.purge(&did);
    assert_eq!(
        r.ids.document(&did).unwrap().handle.as_deref(),
        Some("new.example.com")
    );
    assert_eq!(r.http.calls_to(&url(&did)), 2);

    // A failed signature right after a fetch: the document is fresh, no refetch.
    r.ids.refresh(&did).unwrap();
    assert_eq!(r.http.calls_to(&url(&did)), 2);
    // Later, a burst of failed signatures from many threads: one refetch between them.
    r.clock.advance(Duration::from_secs(31));
    *r.http.delay.lock().unwrap() = Duration::from_millis(100);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| r.ids.refresh(&did).unwrap());
        }
    });
    assert_eq!(r.http.calls_to(&url(&did)), 3);
    // And the refreshed document serves ordinary lookups.
    r.ids.document(&did).unwrap();
    assert_eq!(r.http.calls_to(&url(&did)), 3);
}

#[test]
fn concurrent_lookups_share_one_fetch() {
    let r = rig(|_| {});
    let did = plc(5);
    r.serve(&did, "a.example.com");
    *r.http.delay.lock().unwrap() = Duration::from_millis(300);
    let before = r.ids.stats().snapshot();
    std::thread::scope(|s| {
        let first = s.spawn(|| r.ids.document(&did).map(|d| d.did.clone()));
        std::thread::sleep(Duration::from_millis(50));
        let second = s.spawn(|| r.ids.document(&did).map(|d| d.did.clone()));
        assert_eq!(first.join().unwrap().unwrap(), did);
        assert_eq!(second.join().unwrap().unwrap(), did);
    });
    assert_eq!(r.http.calls_to(&url(&did)), 1);
    let after = r.ids.stats().snapshot();
    assert_eq!(after.fetches - before.fetches, 1);
    // The second thread either waited on the flight or (if very late) hit the cache.
    assert_eq!(
        (after.coalesced + after.hits) - (before.coalesced + before.hits),
        1
    );
}

#[test]
fn a_purge_during_a_fetch_keeps_its_result_out_of_the_cache() {
    let r = rig(|_| {});
    let did = plc(6);
    r.serve(&did, "before.example.com");
    *r.http.delay.lock().unwrap() = Duration::from_millis(200);
    std::thread::scope(|s| {
        let fetch = s.spawn(|| r.ids.document(&did).unwrap());
        std::thread::sleep(Duration::from_millis(50));
        // The #identity event arrives while the old document is on its way.
        r.ids.purge(&did);
        r.serve(&did, "after.example.com");
        fetch.join().unwrap();
    });
    *r.http.delay.lock().unwrap() = Duration::ZERO;
    assert_eq!(
        r.ids.document(&did).unwrap().handle.as_deref(),
        Some("after.example.com")
    );
}

#[test]
fn the_cache_stays_within_its_bound() {
    let r = rig(|c| c.cache.max_entries = 50);
    for i in 0..500 {
        let did = plc(1000 + i);
        r.serve(&did, "x.example.com");
        r.ids.document(&did).unwrap();
    }
    let s = r.ids.stats().snapshot();
    assert!(s.evictions >= 450, "{s:?}");
    // Malformed DIDs are refused before the cache: no entries, no fetches.
    for _ in 0..100 {
        assert!(r.ids.document("did:plc:not-a-real-one").is_err());
    }
    assert_eq!(r.http.calls(), 500);
}

#[test]
fn in_flight_requests_per_host_are_capped() {
    let r = rig(|c| {
        c.limit.max_in_flight = 2;
        c.limit.max_wait = Duration::from_secs(10);
    });
    *r.http.delay.lock().unwrap() = Duration::from_millis(50);
    std::thread::scope(|s| {
        for t in 0..6 {
            let r = &r;
            s.spawn(move || {
                for i in 0..3 {
                    let did = plc(2000 + t * 10 + i);
                    r.serve(&did, "x.example.com");
                    r.ids.document(&did).unwrap();
                }
            });
        }
    });
    assert_eq!(r.http.calls(), 18);
    assert_eq!(r.http.max_in_flight.load(Ordering::SeqCst), 2);
    assert!(r.ids.stats().snapshot().rate_limited_waits > 0);
}

#[test]
fn a_failed_refresh_keeps_the_document_we_have() {
    let r = rig(|c| c.refresh_min_interval = Duration::from_secs(30));
    let did = plc(7);
    r.serve(&did, "a.example.com");
    r.ids.document(&did).unwrap();
    r.clock.advance(Duration::from_secs(31));
    // The directory is down when a signature fails: the refresh fails...
    r.http.fail(
        &url(&did),
        HttpError::Timeout {
            host: "plc.example.com".into(),
        },
    );
    assert!(matches!(
        r.ids.refresh(&did),
        Err(ResolveError::Http { .. })
    ));
    // ...but ordinary lookups still have the old document.
    assert_eq!(
        r.ids.document(&did).unwrap().handle.as_deref(),
        Some("a.example.com")
    );
    // A definite answer (the account is gone) does replace it.
    r.http.route(&url(&did), 410, "");
    assert!(matches!(
        r.ids.refresh(&did),
        Err(ResolveError::Tombstoned { .. })
    ));
    assert!(matches!(
        r.ids.document(&did),
        Err(ResolveError::Tombstoned { .. })
    ));
}

#[test]
fn a_startup_burst_does_not_hammer_the_directory() {
    // 2000 unknown DIDs from 8 decode threads at once, the default-like limits (burst 20,
    // 10/s), no waiting: the directory sees the burst and the refill, nothing more.
    let r = rig(|c| {
        c.limit = LimitConfig {
            rate_per_sec: 10.0,
            burst: 20,
            max_in_flight: 4,
            max_wait: Duration::ZERO,
            max_hosts: 100,
        };
    });
    let start = std::time::Instant::now();
    std::thread::scope(|s| {
        for t in 0..8 {
            let r = &r;
            s.spawn(move || {
                for i in 0..250 {
                    let _ = r.ids.document(&plc(10_000 + t * 1000 + i));
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let allowed = 20 + (elapsed * 10.0).ceil() as usize;
    let s = r.ids.stats().snapshot();
    assert!(
        r.http.calls() <= allowed,
        "{} calls in {elapsed:.2} s",
        r.http.calls()
    );
    assert_eq!(s.rate_limited as usize + r.http.calls(), 2000);
    assert!(r.http.max_in_flight.load(Ordering::SeqCst) <= 4);
}
