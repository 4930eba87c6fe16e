//! DID -> DID document, uncached: where each method's document lives, and what the answer means.
//!
//! `did:plc` documents come from the PLC directory (`GET {plc_url}/{did}`; 404 unknown, 410
//! tombstoned); `did:web` documents from `https://{host}/.well-known/did.json`, for bare
//! hostnames only (see `names::web_host`). Other methods are refused as unsupported, which the
//! DID spec asks implementations to tell apart from syntax errors and failed resolutions.
//! Caching, coalescing and rate limits are the caller's (`identities`): this stays a plain
//! function of the network so it is easy to test and to reason about.

use std::sync::Arc;

use super::document::DidDocument;
use super::error::{short, ResolveError};
use super::http::HttpGet;
use super::names;
use crate::syntax;

/// `Accept` for DID documents: the DID media type, then plain JSON (what most servers send).
const ACCEPT_DID: &str = "application/did+ld+json, application/json;q=0.9";

/// Where a DID's document is fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSource {
    pub url: String,
    /// The host to rate-limit against.
    pub host: String,
    pub method: Method,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Plc,
    Web,
}

/// Resolves DIDs to documents over an [`HttpGet`].
pub struct DidResolver {
    http: Arc<dyn HttpGet>,
    plc_base: String,
    plc_host: String,
    web_scheme: &'static str,
    allow_test_tld: bool,
    max_document_bytes: usize,
}

impl DidResolver {
    /// `plc_url` is the directory's base URL (no trailing slash needed); `plain_http` fetches
    /// did:web documents over http and `allow_test_tld` accepts `.test` hosts (both for tests
    /// and development networks).
    pub fn new(
        http: Arc<dyn HttpGet>,
        plc_url: &str,
        plain_http: bool,
        allow_test_tld: bool,
        max_document_bytes: usize,
    ) -> Result<DidResolver, url::ParseError> {
        let parsed = url::Url::parse(plc_url)?;
        let host = parsed
            .host_str()
            .ok_or(url::ParseError::EmptyHost)?
            .to_owned();
        Ok(DidResolver {
            http,
            plc_base: plc_url.trim_end_matches('/').to_owned(),
            plc_host: host,
            web_scheme: if plain_http { "http" } else { "https" },
            allow_test_tld,
            max_document_bytes,
        })
    }

    /// The PLC directory's host.
    pub fn plc_host(&self) -> &str {
        &self.plc_host
    }

    /// Where `did`'s document lives, or why it cannot be fetched; no network.
    pub fn source(&self, did: &str) -> Result<DocumentSource, ResolveError> {
        syntax::did(did).map_err(|source| ResolveError::Syntax {
            did: short(did),
            source,
        })?;
        let bad = |reason| ResolveError::BadIdentifier {
            did: short(did),
            reason,
        };
        if did.starts_with("did:plc:") {
            let id = names::plc_identifier(did).map_err(bad)?;
            Ok(DocumentSource {
                url: format!("{}/did:plc:{id}", self.plc_base),
                host: self.plc_host.clone(),
                method: Method::Plc,
            })
        } else if did.starts_with("did:web:") {
            let host = names::web_host(did).map_err(bad)?;
            if names::reserved_tld(&host, self.allow_test_tld) {
                return Err(bad("did:web host has a reserved top-level domain"));
            }
            Ok(DocumentSource {
                url: format!("{}://{host}/.well-known/did.json", self.web_scheme),
                host,
                method: Method::Web,
            })
        } else {
            Err(ResolveError::UnsupportedMethod { did: short(did) })
        }
    }

    /// Fetches and parses `did`'s document.
    pub fn resolve(&self, did: &str) -> Result<DidDocument, ResolveError> {
        let source = self.source(did)?;
        self.fetch(did, &source)
    }

    /// Fetches and parses `did`'s document from `source` (from [`Self::source`]).
    pub fn fetch(&self, did: &str, source: &DocumentSource) -> Result<DidDocument, ResolveError> {
        let response = self
            .http
            .get(&source.url, ACCEPT_DID, self.max_document_bytes)
            .map_err(|e| ResolveError::Http {
                did: did.to_owned(),
                source: e,
            })?;
        match (response.status, source.method) {
            (200..=299, _) => DidDocument::parse(did, &response.body, self.max_document_bytes)
                .map_err(|e| ResolveError::Document {
                    did: did.to_owned(),
                    source: e,
                }),
            (404, _) | (410, Method::Web) => Err(ResolveError::NotFound {
                did: did.to_owned(),
            }),
            (410, Method::Plc) => Err(ResolveError::Tombstoned {
                did: did.to_owned(),
            }),
            (status, _) => Err(ResolveError::Status {
                did: did.to_owned(),
                host: source.host.clone(),
                status,
            }),
        }
    }
}
