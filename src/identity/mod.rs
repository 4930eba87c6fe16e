//! Who an account is: its DID document (signing key, PDS, labeler), and its handle, checked
//! both ways.
//!
//! ```text
//! Identities (cache.rs: TTL, LRU-ish, negative entries, coalescing; limit.rs: per-host rate)
//!   -> resolver.rs: did:plc -> GET {plc}/{did}, did:web -> https://host/.well-known/did.json
//!        -> http.rs (the HttpGet trait) <- http_ureq.rs (blocking ureq, guard.rs: SSRF)
//!        -> document.rs (pure, strict, bounded parse)
//!   -> handle.rs: handle -> DID by dns.rs (the TxtLookup trait) <- dns_udp.rs, or well-known
//! ```
//!
//! Everything here is blocking: the firehose's decode threads call it directly, so there is no
//! async runtime to host, and each network step has its own timeout, size cap and rate limit so
//! a hostile or slow server costs a bounded wait, never a thread. The network sits behind two
//! small traits (`HttpGet`, `TxtLookup`) so the logic is tested against loopback servers, and
//! the real implementations are tested against the same servers.
//!
//! This module imports only `syntax` and `backoff` from the crate: it is a leaf that any stage
//! may use without pulling the pipeline in.

pub mod cache;
pub mod clock;
pub mod config;
pub mod dns;
pub mod dns_udp;
pub mod dns_wire;
pub mod document;
pub mod error;
pub mod guard;
pub mod handle;
pub mod http;
pub mod http_ureq;
pub mod identities;
pub mod limit;
pub mod names;
pub mod resolver;
pub mod stats;

pub use config::{CacheConfig, IdentityConfig, LimitConfig};
pub use document::{DidDocument, SigningKey};
pub use error::{DnsError, DocumentError, HandleError, HttpError, ResolveError, SetupError};
pub use handle::HandleStatus;
pub use identities::{Identities, Identity};
pub use stats::{IdentityStats, StatsSnapshot};
