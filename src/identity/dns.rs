//! The one DNS operation identity needs, as a trait: the TXT records of a name.
//!
//! A trait for the same reason as `http::HttpGet`: handle verification is tested against fakes,
//! and the real client (`dns_udp`) against a loopback responder.

use super::error::DnsError;

/// A blocking TXT lookup.
pub trait TxtLookup: Send + Sync {
    /// The TXT records of `name`, each with its character-strings joined (RFC 1464 records
    /// longer than 255 bytes are split into several). A name that does not exist, or has no
    /// TXT record, is `Ok` and empty: that is an answer, not a failure.
    fn txt(&self, name: &str) -> Result<Vec<Vec<u8>>, DnsError>;
}
