//! Fetching a whole repository (`com.atproto.sync.getRepo`, never `since=`: a diff cannot list
//! deletes): from the relay first when there is one (it answers with a redirect to the repo's
//! current PDS), else, or when the relay fails, from the PDS its DID document names; through
//! the guarded HTTP client (timeouts, size cap, bounded redirects, TLS, private addresses
//! refused unless allowed, redirect targets included) and a per-PDS limit (requests in flight
//! and a token bucket), so a PDS sees a few requests a second from us whichever way we ask.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use log::debug;

use thiserror::Error;

use super::spool::{Spool, Spooled};
use crate::changes::Hosting;
use crate::crypto::PublicKey;
use crate::identity::http::HttpGet;
use crate::identity::limit::HostLimiter;
use crate::identity::{HttpError, Identities, ResolveError};

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("DID document: {0}")]
    Resolve(#[from] ResolveError),
    #[error("the DID document names no PDS")]
    NoPds,
    /// Snapshots are signature-checked and the document gives no usable key: not fetched.
    #[error("the DID document's signing key: {0}")]
    Key(String),
    #[error("rate limit of {host} reached (ours){}", retry_in.map(|d| format!(": paused {} s more, as it asked", d.as_secs())).unwrap_or_default())]
    Limited {
        host: String,
        /// What is left of a pause the host asked for.
        retry_in: Option<Duration>,
    },
    #[error("{0}")]
    Http(#[from] HttpError),
    #[error("{host} answered {status}{}{}", error.as_deref().map(|e| format!(" {e}")).unwrap_or_default(), retry_after.map(|d| format!(" (retry after {} s)", d.as_secs())).unwrap_or_default())]
    Status {
        host: String,
        status: u16,
        /// The XRPC error name, when the body gave one.
        error: Option<String>,
        /// The wait the server asked for (a 429's `Retry-After`/`RateLimit-Reset`).
        retry_after: Option<Duration>,
    },
}

impl FetchError {
    /// The wait the server asked for before the next attempt, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            FetchError::Limited { retry_in, .. } => *retry_in,
            _ => None,
        }
    }

    /// The hosting status an XRPC error states, which is not worth a retry storm.
    pub fn hosting(&self) -> Option<Hosting> {
        let FetchError::Status {
            error: Some(error), ..
        } = self
        else {
            return None;
        };
        match error.as_str() {
            "RepoNotFound" => Some(Hosting::Deleted),
            "RepoTakendown" => Some(Hosting::Takendown),
            "RepoSuspended" => Some(Hosting::Suspended),
            "RepoDeactivated" => Some(Hosting::Deactivated),
            _ => None,
        }
    }
}

/// A fetched export, where it came from, the account's handle, and the key its commit must be
/// signed with (when snapshots are checked), as its DID document states them.
pub struct Fetched {
    pub body: Spooled,
    pub host: String,
    pub handle: Option<String>,
    pub key: Option<PublicKey>,
    /// Through the relay (else from the PDS directly).
    pub via_relay: bool,
}

pub struct Fetcher {
    pub identities: Arc<Identities>,
    pub http: Arc<dyn HttpGet>,
    pub limiter: HostLimiter,
    /// The relay's HTTP origin (`https://host`), asked first; `None`: the PDS only.
    pub relay: Option<String>,
    /// Until when the relay is not asked (it answered 429).
    pub relay_paused: Mutex<Option<Instant>>,
    pub max_bytes: usize,
    /// Check each snapshot's commit signature against the account's key (`--verify` not off).
    pub verify_signatures: bool,
    /// Bytes of an export kept in memory; past them it goes to a temporary file
    /// ([`DEFAULT_MEMORY`](super::spool::DEFAULT_MEMORY)).
    pub spool_memory: usize,
    /// Check the document's handle both ways (as `#identity` events are), else take it as
    /// claimed.
    pub verify_handles: bool,
}

/// How long a host that answers 429 without saying how long to wait gets no request.
const DEFAULT_PAUSE: Duration = Duration::from_secs(60);

/// Largest error body read, for its XRPC error name.
const ACCEPT_CAR: &str = "application/vnd.ipld.car";

impl Fetcher {
    pub fn fetch(&self, did: &str) -> Result<Fetched, FetchError> {
        let doc = self.identities.document(did)?;
        let handle = if self.verify_handles {
            Some(self.identities.identity(did)?.handle().to_owned())
        } else {
            doc.handle.clone()
        };
        let pds = doc.pds.clone().ok_or(FetchError::NoPds)?;
        let host = host_of(&pds);
        let _permit = self
            .limiter
            .acquire(&host)
            .map_err(|_| FetchError::Limited {
                retry_in: self.limiter.paused_for(&host),
                host: host.clone(),
            })?;
        // Checked before the download: a repo whose snapshot would be refused is not fetched.
        let key = match (self.verify_signatures, &doc.signing_key) {
            (false, _) => None,
            (true, None) => return Err(FetchError::Key("none is named".into())),
            (true, Some(k)) => Some(
                PublicKey::from_verification_method(&k.kind, &k.multibase)
                    .map_err(|e| FetchError::Key(e.to_string()))?,
            ),
        };
        if let Some(relay) = self.relay_now() {
            let url = format!("{relay}/xrpc/com.atproto.sync.getRepo?did={did}");
            match self.get(&url, &host_of(relay), false) {
                Ok(body) => {
                    return Ok(Fetched {
                        body,
                        host: pds,
                        handle,
                        key,
                        via_relay: true,
                    })
                }
                // The relay speaks for the network: a repo it says is gone or taken down is.
                Err(e) if e.hosting().is_some() => return Err(e),
                Err(e) => {
                    if let Some(wait) = e.retry_after() {
                        self.pause_relay(wait);
                    }
                    debug!("backfill: did={did} relay fetch failed ({e}); asking {host}");
                }
            }
        }
        let url = format!(
            "{}/xrpc/com.atproto.sync.getRepo?did={}",
            pds.trim_end_matches('/'),
            did
        );
        let body = self.get(&url, &host, true)?;
        Ok(Fetched {
            body,
            host: pds,
            handle,
            key,
            via_relay: false,
        })
    }

    fn relay_now(&self) -> Option<&str> {
        let relay = self.relay.as_deref()?;
        let mut paused = self.relay_paused.lock().unwrap_or_else(|p| p.into_inner());
        match *paused {
            Some(until) if Instant::now() < until => None,
            _ => {
                *paused = None;
                Some(relay)
            }
        }
    }

    fn pause_relay(&self, wait: Duration) {
        let mut paused = self.relay_paused.lock().unwrap_or_else(|p| p.into_inner());
        *paused = Some(Instant::now() + wait);
    }

    /// One getRepo, its body spooled; a 429 from a PDS (`limited`) pauses that host (the
    /// relay's is the caller's to handle: it is not one of the limiter's hosts).
    fn get(&self, url: &str, host: &str, limited: bool) -> Result<Spooled, FetchError> {
        let mut spool = Spool::new(self.spool_memory);
        let response = self
            .http
            .get_into(url, ACCEPT_CAR, self.max_bytes, &mut spool)
            .map_err(|e| match e {
                HttpError::Spool { message, .. } => HttpError::Spool {
                    host: host.to_owned(),
                    message,
                },
                other => other,
            })?;
        if response.status == 429 && limited {
            // The whole host waits, not only this repo: every fetch thread would hit it next.
            let wait = response.retry_after.unwrap_or(DEFAULT_PAUSE);
            self.limiter.pause(host, wait);
        }
        if response.status != 200 {
            let error = serde_json::from_slice::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|v| v["error"].as_str().map(|e| e.chars().take(64).collect()));
            return Err(FetchError::Status {
                host: host.to_owned(),
                status: response.status,
                error,
                retry_after: response.retry_after,
            });
        }
        spool.finish().map_err(|e| {
            FetchError::Http(HttpError::Spool {
                host: host.to_owned(),
                message: e.to_string(),
            })
        })
    }
}

fn host_of(origin: &str) -> String {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| origin.to_owned())
}

/// The per-host limits for getRepo: near the reference PDS's own (about 20 getRepo/s per host),
/// well under it, and a long wait for a turn (a fetch thread has nothing else to do).
pub fn default_limits() -> crate::identity::LimitConfig {
    crate::identity::LimitConfig {
        rate_per_sec: 5.0,
        burst: 10,
        max_in_flight: 4,
        max_wait: Duration::from_secs(120),
        max_hosts: 100_000,
    }
}
