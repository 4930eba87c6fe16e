//! Fetching a whole repository (`com.atproto.sync.getRepo`, never `since=`: a diff cannot list
//! deletes) from the PDS its DID document names, through the guarded HTTP client (timeouts,
//! size cap, bounded redirects, TLS, private addresses refused unless allowed) and a per-host
//! limit (requests in flight and a token bucket), so a PDS sees a few requests a second from us.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use super::spool::{Spool, Spooled};
use crate::changes::Hosting;
use crate::identity::http::HttpGet;
use crate::identity::limit::HostLimiter;
use crate::identity::{HttpError, Identities, ResolveError};

#[derive(Debug, Error)]
pub enum FetchError {
    #[error("DID document: {0}")]
    Resolve(#[from] ResolveError),
    #[error("the DID document names no PDS")]
    NoPds,
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

/// A fetched export, where it came from, and the account's handle.
pub struct Fetched {
    pub body: Spooled,
    pub host: String,
    pub handle: Option<String>,
}

pub struct Fetcher {
    pub identities: Arc<Identities>,
    pub http: Arc<dyn HttpGet>,
    pub limiter: HostLimiter,
    pub max_bytes: usize,
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
        let host = url::Url::parse(&pds)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| pds.clone());
        let _permit = self
            .limiter
            .acquire(&host)
            .map_err(|_| FetchError::Limited {
                retry_in: self.limiter.paused_for(&host),
                host: host.clone(),
            })?;
        let url = format!(
            "{}/xrpc/com.atproto.sync.getRepo?did={}",
            pds.trim_end_matches('/'),
            did
        );
        let mut spool = Spool::new(self.spool_memory);
        let response = self
            .http
            .get_into(&url, ACCEPT_CAR, self.max_bytes, &mut spool)
            .map_err(|e| match e {
                HttpError::Spool { message, .. } => HttpError::Spool {
                    host: host.clone(),
                    message,
                },
                other => other,
            })?;
        if response.status == 429 {
            // The whole host waits, not only this repo: every fetch thread would hit it next.
            let wait = response.retry_after.unwrap_or(DEFAULT_PAUSE);
            self.limiter.pause(&host, wait);
        }
        if response.status != 200 {
            let error = serde_json::from_slice::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|v| v["error"].as_str().map(|e| e.chars().take(64).collect()));
            return Err(FetchError::Status {
                host,
                status: response.status,
                error,
                retry_after: response.retry_after,
            });
        }
        let body = spool.finish().map_err(|e| HttpError::Spool {
            host: host.clone(),
            message: e.to_string(),
        })?;
        Ok(Fetched {
            body,
            host: pds,
            handle,
        })
    }
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
