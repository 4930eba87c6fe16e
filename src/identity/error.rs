//! The typed errors of identity resolution, each naming the DID, handle or host it is about.
//!
//! They are `Clone` because a failure is cached (briefly) and handed to every thread that
//! waited on the same fetch. Anything taken from outside (a DID from a frame, a message from a
//! server) is shortened by [`short`] before it is stored: an error must not carry a hostile
//! megabyte into a log line.

use std::net::IpAddr;

use crate::syntax::SyntaxError;

/// Longest piece of outside text kept in an error, in bytes.
const SHORT_MAX: usize = 96;

/// `s` cut to [`SHORT_MAX`] bytes on a character boundary, marked with `…` when cut.
pub fn short(s: &str) -> String {
    if s.len() <= SHORT_MAX {
        return s.to_owned();
    }
    let mut end = SHORT_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A DID document that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("DID document of {len} bytes is over the {max}-byte cap")]
    TooLarge { len: usize, max: usize },
    #[error("DID document is not the expected JSON: {reason}")]
    Json { reason: String },
    #[error("DID document is for {found}, not the DID asked for")]
    WrongId { found: String },
}

/// An HTTP fetch that failed before a usable response arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("bad URL {url}: {reason}")]
    BadUrl { url: String, reason: &'static str },
    #[error("{url}: plain http is refused (only https)")]
    InsecureScheme { url: String },
    #[error("{host}: refused, it resolves to the non-public address {addr}")]
    PrivateAddress { host: String, addr: IpAddr },
    #[error("{host}: no address found")]
    NoAddress { host: String },
    #[error("{host}: more than {max} redirects")]
    TooManyRedirects { host: String, max: u32 },
    #[error("{host}: redirect loop")]
    RedirectLoop { host: String },
    #[error("{host}: unusable redirect: {reason}")]
    BadRedirect { host: String, reason: &'static str },
    #[error("{host}: response body over the {max}-byte cap")]
    TooLarge { host: String, max: usize },
    #[error("{host}: timed out")]
    Timeout { host: String },
    #[error("{host}: {message}")]
    Transport { host: String, message: String },
    /// Ours, not the server's: the body could not be kept (the spool's disk is full).
    #[error("{host}: keeping the body failed: {message}")]
    Spool { host: String, message: String },
}

/// A DNS query that got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("no DNS nameserver configured")]
    NoNameservers,
    #[error("{name}: not a name that can be queried: {reason}")]
    BadName { name: String, reason: &'static str },
    #[error("{name}: no DNS answer in time")]
    Timeout { name: String },
    #[error("{name}: DNS socket error: {message}")]
    Io { name: String, message: String },
    #[error("{name}: malformed DNS answer: {reason}")]
    Malformed { name: String, reason: String },
    #[error("{name}: DNS server answered {rcode}")]
    ServerFailure { name: String, rcode: String },
}

/// A handle that could not be resolved to a DID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    #[error("{handle}: {source}")]
    Syntax { handle: String, source: SyntaxError },
    #[error("{handle}: the top-level domain is reserved, it never resolves")]
    ReservedTld { handle: String },
    #[error("{handle}: DNS TXT records name more than one DID")]
    Ambiguous { handle: String },
    #[error("{handle}: {source}")]
    Dns { handle: String, source: DnsError },
    #[error("{handle}: well-known: {source}")]
    Http { handle: String, source: HttpError },
    #[error("{handle}: well-known answered HTTP {status}")]
    Status { handle: String, status: u16 },
    #[error("{handle}: well-known body is not a DID")]
    NotADid { handle: String },
    #[error("{handle}: rate limit toward {host} reached, not fetched")]
    RateLimited { handle: String, host: String },
}

/// A DID whose document could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("{did}: {source}")]
    Syntax { did: String, source: SyntaxError },
    #[error("{did}: unsupported DID method (only plc and web)")]
    UnsupportedMethod { did: String },
    #[error("{did}: {reason}")]
    BadIdentifier { did: String, reason: &'static str },
    #[error("{did}: not found")]
    NotFound { did: String },
    #[error("{did}: tombstoned (deactivated) in the PLC directory")]
    Tombstoned { did: String },
    #[error("{did}: {host} answered HTTP {status}")]
    Status {
        did: String,
        host: String,
        status: u16,
    },
    #[error("{did}: {source}")]
    Http { did: String, source: HttpError },
    #[error("{did}: {source}")]
    Document { did: String, source: DocumentError },
    #[error("{did}: rate limit toward {host} reached, not fetched")]
    RateLimited { did: String, host: String },
    #[error("{did}: the fetch was abandoned")]
    Abandoned { did: String },
}

impl ResolveError {
    /// Whether this says something about the DID itself (it does not exist, is gone, its
    /// document is broken), as opposed to the way there (network, status, rate limit). A
    /// definite answer may replace a cached document; a failure on the way may not.
    pub fn is_definite(&self) -> bool {
        matches!(
            self,
            ResolveError::Syntax { .. }
                | ResolveError::UnsupportedMethod { .. }
                | ResolveError::BadIdentifier { .. }
                | ResolveError::NotFound { .. }
                | ResolveError::Tombstoned { .. }
                | ResolveError::Document { .. }
        )
    }
}

/// An [`super::Identities`] that cannot be built from its configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("identity plc_url {url}: {reason}")]
    PlcUrl { url: String, reason: &'static str },
    #[error("identity DNS: {0}")]
    Dns(#[from] DnsError),
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn short_cuts_on_a_char_boundary() {
        assert_eq!(short("abc"), "abc");
        let long = "é".repeat(100);
        let s = short(&long);
        assert!(s.ends_with('…'));
        assert!(s.len() <= super::SHORT_MAX + '…'.len_utf8());
    }
}
