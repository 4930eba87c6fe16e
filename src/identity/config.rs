//! Every knob of identity resolution in one place, with the defaults the live network wants.
//!
//! Plain structs with `Default`, built once by the caller (from its own validated config); the
//! module reads nothing from the environment. The two switches that loosen safety,
//! `allow_private_hosts` and `plain_http`, are off by default and exist for tests and private
//! development networks (a local PLC and PDS on loopback).

use std::net::SocketAddr;
use std::time::Duration;

use super::document::DEFAULT_MAX_DOCUMENT_BYTES;

/// The public PLC directory.
pub const DEFAULT_PLC_URL: &str = "https://plc.directory";

/// Configuration of [`super::Identities`].
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Base URL of the PLC directory; `did:plc` documents are `GET {plc_url}/{did}`.
    /// Default `https://plc.directory`. Its host (and port) is exempt from the SSRF guard, so a
    /// private directory works without opening the guard for everything else.
    pub plc_url: String,
    /// Let hosts resolve to loopback, private, link-local, unique-local, multicast or
    /// unspecified addresses, and let `.test` names resolve. Default off.
    pub allow_private_hosts: bool,
    /// Fetch did:web documents and well-known handles over `http://` instead of `https://`, and
    /// accept `http://` redirects. Default off.
    pub plain_http: bool,
    /// Largest DID document accepted, in bytes. Default 64 KiB.
    pub max_document_bytes: usize,
    /// Largest `/.well-known/atproto-did` body accepted, in bytes. Default 4 KiB (a DID is at
    /// most 2 KiB).
    pub max_well_known_bytes: usize,
    /// `refresh(did)` re-fetches only a document older than this, so a stream of bad signatures
    /// for one account costs one fetch, not one per commit. Default 30 s.
    pub refresh_min_interval: Duration,
    pub cache: CacheConfig,
    pub limit: LimitConfig,
    pub http: HttpConfig,
    pub dns: DnsConfig,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            plc_url: DEFAULT_PLC_URL.to_owned(),
            allow_private_hosts: false,
            plain_http: false,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            max_well_known_bytes: 4 * 1024,
            refresh_min_interval: Duration::from_secs(30),
            cache: CacheConfig::default(),
            limit: LimitConfig::default(),
            http: HttpConfig::default(),
            dns: DnsConfig::default(),
        }
    }
}

/// The two caches (DID documents, handle verdicts), each with these bounds.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Most entries kept per cache (values and negative entries alike). Default 100 000.
    pub max_entries: usize,
    /// How long a document or handle verdict is trusted. `#identity` events purge entries
    /// sooner; this bounds how stale a missed event leaves us. Default 1 h.
    pub ttl: Duration,
    /// How long a failure (not found, network error, broken document) is remembered before the
    /// next attempt. Default 60 s.
    pub negative_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_entries: 100_000,
            ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(60),
        }
    }
}

/// Politeness toward each host (the PLC directory, each did:web host, each handle domain).
#[derive(Debug, Clone)]
pub struct LimitConfig {
    /// Sustained requests per second per host. Default 10.
    pub rate_per_sec: f64,
    /// Requests a host may receive at once after a quiet period. Default 20.
    pub burst: u32,
    /// Requests in flight at once per host. Default 4.
    pub max_in_flight: usize,
    /// Longest a caller waits for its turn; past it the lookup fails as rate-limited (not
    /// cached), so a burst of unknown DIDs degrades into errors, not into blocked threads.
    /// Default 2 s.
    pub max_wait: Duration,
    /// Most hosts tracked; idle ones are forgotten first. Default 10 000.
    pub max_hosts: usize,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            rate_per_sec: 10.0,
            burst: 20,
            max_in_flight: 4,
            max_wait: Duration::from_secs(2),
            max_hosts: 10_000,
        }
    }
}

/// The real HTTP client ([`super::http_ureq::UreqClient`]).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// TCP connect timeout. Default 5 s.
    pub connect_timeout: Duration,
    /// Longest wait for any single read. Default 5 s.
    pub read_timeout: Duration,
    /// Whole request, headers and body, across redirects: the bound on a slow drip.
    /// Default 10 s.
    pub total_timeout: Duration,
    /// Redirects followed. Default 3.
    pub max_redirects: u32,
    /// See [`IdentityConfig::allow_private_hosts`].
    pub allow_private_hosts: bool,
    /// Accept `http://` URLs. See [`IdentityConfig::plain_http`].
    pub allow_plain_http: bool,
    /// `(host, port)` pairs exempt from the SSRF guard: the configured PLC directory.
    pub trusted_hosts: Vec<(String, u16)>,
    /// Fixed addresses for host names, used instead of the system resolver (like curl's
    /// `--resolve`): how tests point real hostnames at loopback servers. Still subject to the
    /// guard. Default empty.
    pub resolve_overrides: Vec<(String, SocketAddr)>,
    /// `User-Agent` sent. Default `skyindex/<version>`.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            max_redirects: 3,
            allow_private_hosts: false,
            allow_plain_http: false,
            trusted_hosts: Vec::new(),
            resolve_overrides: Vec::new(),
            user_agent: concat!("skyindex/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// The real DNS client ([`super::dns_udp::UdpDns`]).
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// Nameservers asked, in order. Empty (the default): those of `/etc/resolv.conf`.
    pub nameservers: Vec<SocketAddr>,
    /// Wait for one answer from one server. Default 2 s.
    pub timeout: Duration,
    /// Rounds over the nameservers before giving up. Default 2.
    pub attempts: u32,
    /// Ask again over TCP when a UDP answer is truncated. Default on.
    pub tcp_fallback: bool,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(2),
            attempts: 2,
            tcp_fallback: true,
        }
    }
}
