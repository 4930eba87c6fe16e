//! The entry point: DID -> document and verified handle, cached, coalesced and rate-limited.
//!
//! This is where the pure pieces meet the policy: which failures are remembered and for how
//! long (`Keep`), which host a fetch counts against (`HostLimiter`), when a refresh is allowed to
//! go to the network, and what `#identity` events clear. One `Identities` is shared (in an
//! `Arc`) by every thread that needs identities; all methods take `&self`.

use std::sync::Arc;

use super::cache::{Keep, TtlCache, Want};
use super::clock::{Clock, SystemClock};
use super::config::{HttpConfig, IdentityConfig};
use super::dns::TxtLookup;
use super::dns_udp::UdpDns;
use super::document::DidDocument;
use super::error::{short, HandleError, ResolveError, SetupError};
use super::handle::{limit_key, HandleResolver, HandleStatus};
use super::http::HttpGet;
use super::http_ureq::UreqClient;
use super::limit::{Denied, HostLimiter};
use super::names;
use super::resolver::DidResolver;
use super::stats::{bump, IdentityStats};

/// An account as the rest of the indexer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub did: String,
    pub handle: HandleStatus,
    pub document: Arc<DidDocument>,
}

impl Identity {
    /// The handle to show: verified, or `handle.invalid`.
    pub fn handle(&self) -> &str {
        self.handle.as_str()
    }
}

/// A handle verdict, remembered per DID together with the handle it is about, so a document
/// that now claims another handle is checked afresh.
#[derive(Debug, Clone)]
struct Verdict {
    handle: String,
    status: HandleStatus,
}

/// A handle check our own rate limit stopped: no verdict, and nothing to store.
#[derive(Debug, Clone)]
struct Limited {
    host: String,
}

/// Cached, shared identity resolution.
pub struct Identities {
    allow_private_hosts: bool,
    refresh_min_interval: std::time::Duration,
    resolver: DidResolver,
    handles: HandleResolver,
    documents: TtlCache<Arc<DidDocument>, ResolveError>,
    verdicts: TtlCache<Verdict, Limited>,
    limiter: HostLimiter,
    stats: Arc<IdentityStats>,
    clock: Arc<dyn Clock>,
}

impl Identities {
    /// With the real clients: ureq for HTTP, UDP DNS to the configured (or system) nameservers.
    pub fn new(config: IdentityConfig) -> Result<Identities, SetupError> {
        let http = Arc::new(UreqClient::new(&Self::http_config(&config)?));
        let dns = Arc::new(UdpDns::new(&config.dns)?);
        Self::with_clients(config, http, dns, Arc::new(SystemClock))
    }

    /// With the given clients and clock (tests, or another transport).
    pub fn with_clients(
        config: IdentityConfig,
        http: Arc<dyn HttpGet>,
        dns: Arc<dyn TxtLookup>,
        clock: Arc<dyn Clock>,
    ) -> Result<Identities, SetupError> {
        plc_origin(&config)?;
        let resolver = DidResolver::new(
            Arc::clone(&http),
            &config.plc_url,
            config.plain_http,
            config.allow_private_hosts,
            config.max_document_bytes,
        )
        .map_err(|_| SetupError::PlcUrl {
            url: short(&config.plc_url),
            reason: "not a URL with a host",
        })?;
        let stats = Arc::new(IdentityStats::default());
        Ok(Identities {
            allow_private_hosts: config.allow_private_hosts,
            refresh_min_interval: config.refresh_min_interval,
            resolver,
            handles: HandleResolver::new(dns, http, config.plain_http, config.max_well_known_bytes),
            documents: TtlCache::new(config.cache.clone(), Arc::clone(&clock), Arc::clone(&stats)),
            verdicts: TtlCache::new(config.cache.clone(), Arc::clone(&clock), Arc::clone(&stats)),
            limiter: HostLimiter::new(config.limit.clone()),
            stats,
            clock,
        })
    }

    /// The HTTP client configuration `new` uses: `config.http` with the identity-level switches
    /// applied and the PLC directory trusted past the SSRF guard.
    pub fn http_config(config: &IdentityConfig) -> Result<HttpConfig, SetupError> {
        let mut http = config.http.clone();
        http.allow_private_hosts |= config.allow_private_hosts;
        http.allow_plain_http |= config.plain_http;
        http.trusted_hosts.push(plc_origin(config)?);
        Ok(http)
    }

    pub fn stats(&self) -> &IdentityStats {
        &self.stats
    }

    /// `did`'s document, from the cache or the network.
    pub fn document(&self, did: &str) -> Result<Arc<DidDocument>, ResolveError> {
        self.load(did, None)
    }

    /// `did`'s document fetched again, unless the cached one is younger than
    /// `refresh_min_interval`: for a signature that failed, as the key may have rotated. Many
    /// threads refreshing at once share one fetch.
    pub fn refresh(&self, did: &str) -> Result<Arc<DidDocument>, ResolveError> {
        let cutoff = self.clock.now().checked_sub(self.refresh_min_interval);
        self.load(did, Some(cutoff.unwrap_or_else(|| self.clock.now())))
    }

    /// Forgets everything cached about `did` (its document and handle verdict): for `#identity`
    /// events. A fetch under way is not stored.
    pub fn purge(&self, did: &str) {
        self.documents.purge(did);
        self.verdicts.purge(did);
    }

    /// `did`'s document and its handle, verified both ways (else `handle.invalid`).
    pub fn identity(&self, did: &str) -> Result<Identity, ResolveError> {
        let document = self.document(did)?;
        let handle = match &document.handle {
            None => HandleStatus::Invalid { claimed: None },
            Some(claimed) => self
                .verify_cached(did, claimed)
                .map_err(|Limited { host }| ResolveError::RateLimited {
                    did: did.to_owned(),
                    host,
                })?,
        };
        Ok(Identity {
            did: did.to_owned(),
            handle,
            document,
        })
    }

    fn load(
        &self,
        did: &str,
        fetched_after: Option<std::time::Instant>,
    ) -> Result<Arc<DidDocument>, ResolveError> {
        // Checked before the cache: a DID that is not even well-formed costs no entry, so junk
        // from the stream cannot fill the cache.
        let source = self.resolver.source(did)?;
        let want = Want {
            fetched_after,
            accept: &|_| true,
        };
        let (result, _) = self.documents.get_or_fetch(did, &want, || {
            let fetched = self.limited(
                &source.host,
                || ResolveError::RateLimited {
                    did: did.to_owned(),
                    host: source.host.clone(),
                },
                || self.resolver.fetch(did, &source).map(Arc::new),
            );
            let keep = match &fetched {
                Ok(_) => Keep::Ttl,
                Err(ResolveError::RateLimited { .. }) => Keep::No,
                // A refresh that fails on the way (directory down, timeout) must not replace
                // the document we have with an error: keep the old one, retry next time.
                Err(e) if fetched_after.is_some() && !e.is_definite() => Keep::No,
                Err(_) => Keep::Negative,
            };
            (fetched, keep)
        });
        result
    }

    fn verify_cached(&self, did: &str, handle: &str) -> Result<HandleStatus, Limited> {
        let accept = |v: &Verdict| v.handle == handle;
        let want = Want {
            fetched_after: None,
            accept: &accept,
        };
        let (result, _) =
            self.verdicts
                .get_or_fetch(did, &want, || match self.verify(did, handle) {
                    Ok((status, keep)) => (
                        Ok(Verdict {
                            handle: handle.to_owned(),
                            status,
                        }),
                        keep,
                    ),
                    Err(e) => (Err(e), Keep::No),
                });
        result.map(|v| v.status)
    }

    /// Whether `handle` resolves to `did` by DNS, or else by the well-known URL. A verdict
    /// reached through a failure (timeout, server error) is kept only as long as a negative
    /// entry; a clean "does not match" is kept the full TTL. `Err` only when our own rate
    /// limit stopped the check, which says nothing about the handle.
    fn verify(&self, did: &str, handle: &str) -> Result<(HandleStatus, Keep), Limited> {
        let invalid = || HandleStatus::Invalid {
            claimed: Some(handle.to_owned()),
        };
        if names::reserved_tld(handle, self.allow_private_hosts) {
            return Ok((invalid(), Keep::Ttl));
        }
        let key = limit_key(handle);
        let denied = || HandleError::RateLimited {
            handle: short(handle),
            host: key.to_owned(),
        };
        let mut failed = false;
        for method in [HandleResolver::via_dns, HandleResolver::via_well_known] {
            match self.limited(key, denied, || method(&self.handles, handle)) {
                Ok(Some(found)) if found == did => {
                    return Ok((HandleStatus::Verified(handle.to_owned()), Keep::Ttl));
                }
                Ok(_) => {}
                Err(HandleError::RateLimited { host, .. }) => return Err(Limited { host }),
                Err(_) => failed = true,
            }
        }
        Ok((invalid(), if failed { Keep::Negative } else { Keep::Ttl }))
    }

    /// Runs one network fetch toward `host` under the rate limit, counting it.
    fn limited<T, E>(
        &self,
        host: &str,
        denied: impl FnOnce() -> E,
        fetch: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let permit = match self.limiter.acquire(host) {
            Ok(permit) => permit,
            Err(Denied) => {
                bump(&self.stats.rate_limited);
                return Err(denied());
            }
        };
        if permit.waited {
            bump(&self.stats.rate_limited_waits);
        }
        bump(&self.stats.fetches);
        let result = fetch();
        if result.is_err() {
            bump(&self.stats.errors);
        }
        drop(permit);
        result
    }
}

/// The PLC directory's `(host, port)`, checked: an http(s) URL with a host; `http` only with
/// `plain_http`, since the client refuses plain http otherwise.
fn plc_origin(config: &IdentityConfig) -> Result<(String, u16), SetupError> {
    let bad = |reason| SetupError::PlcUrl {
        url: short(&config.plc_url),
        reason,
    };
    let url = url::Url::parse(&config.plc_url).map_err(|_| bad("not a URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if config.plain_http => {}
        "http" => return Err(bad("plain http needs plain_http")),
        _ => return Err(bad("not an http(s) URL")),
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    let port = url.port_or_known_default().ok_or_else(|| bad("no port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_owned(), port))
}
