//! Identity: DID documents, the real HTTP and DNS clients against loopback servers, the cache
//! and rate limits, and handle verification both ways. Nothing here leaves 127.0.0.1.
//!
//! - document.rs: parsing the fixture documents and hostile ones
//! - http_client.rs: the ureq client (timeouts, caps, redirects, the SSRF guard) and resolution
//!   through it
//! - caching.rs: TTL, negative entries, purge, refresh, coalescing, rate limits
//! - dns.rs: the UDP/TCP DNS client against a loopback responder, and hostile answers
//! - handles.rs: handle verification both ways
//! - support.rs: the loopback servers and in-memory doubles

mod caching;
mod dns;
mod document;
mod handles;
mod http_client;
pub mod support;
