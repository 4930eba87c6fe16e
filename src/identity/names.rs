//! Naming policy on top of `syntax`: which hostnames may be resolved at all, and how a DID turns
//! into the host that answers for it.
//!
//! `syntax` says whether a string has the right shape; this says whether it is worth a network
//! request. Both handles and did:web hosts go through here, because the specs give them the
//! same restrictions (reserved TLDs never resolve), and a DID is about to be spliced into a URL,
//! so anything that could change the URL's meaning (`/`, `?`, `#`, `@`, a port) is refused here,
//! before any URL exists.

use crate::syntax;

/// Top-level domains that must fail resolution (handle spec, "Additional Non-Syntax
/// Restrictions"). `test` is separate: allowed in development only.
const RESERVED_TLDS: &[&str] = &[
    "alt",
    "arpa",
    "example",
    "internal",
    "invalid",
    "local",
    "localhost",
    "onion",
];

/// Whether `host` (lowercase) ends in a TLD that never resolves. `.test` counts as reserved
/// unless `allow_test` (development and test networks).
pub fn reserved_tld(host: &str, allow_test: bool) -> bool {
    let tld = host.rsplit('.').next().unwrap_or(host);
    RESERVED_TLDS.contains(&tld) || (!allow_test && tld == "test")
}

/// `s` checked as a handle and lowercased, as the handle spec asks handles to be kept.
pub fn normalize_handle(s: &str) -> Result<String, syntax::SyntaxError> {
    syntax::handle(s)?;
    Ok(s.to_ascii_lowercase())
}

/// The 24 lowercase base32 characters after `did:plc:`, as the PLC method defines them. Checked
/// strictly because the identifier becomes a URL path segment.
pub fn plc_identifier(did: &str) -> Result<&str, &'static str> {
    let id = did.strip_prefix("did:plc:").ok_or("not a did:plc DID")?;
    if id.len() != 24 {
        return Err("a did:plc identifier is 24 characters");
    }
    if !id
        .bytes()
        .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c))
    {
        return Err("a did:plc identifier is lowercase base32 (a-z, 2-7)");
    }
    Ok(id)
}

/// The host a `did:web` DID names, lowercased. atproto allows only hostname-level did:web, so a
/// `:` (a path segment) is refused, and after percent-decoding the result must be a plain
/// hostname: an encoded port (`%3A`), which the spec allows only for localhost in development,
/// is refused too, as is anything that does not pass the handle syntax (which also excludes IP
/// addresses).
pub fn web_host(did: &str) -> Result<String, &'static str> {
    let id = did.strip_prefix("did:web:").ok_or("not a did:web DID")?;
    if id.contains(':') {
        return Err("path-based did:web is not supported in atproto");
    }
    let host = percent_decode(id).ok_or("bad percent-encoding in did:web")?;
    if host.contains(':') {
        return Err("did:web with a port is only for localhost in development");
    }
    syntax::handle(&host).map_err(|_| "did:web identifier is not a hostname")?;
    Ok(host.to_ascii_lowercase())
}

/// Decodes `%XX` escapes; `None` on a malformed escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = hex(*b.get(i + 1)?)?;
            let lo = hex(*b.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_hosts() {
        assert_eq!(
            web_host("did:web:Example.COM").as_deref(),
            Ok("example.com")
        );
        assert_eq!(
            web_host("did:web:ex%61mple.com").as_deref(),
            Ok("example.com")
        );
        assert!(web_host("did:web:localhost%3A8080").is_err());
        assert!(web_host("did:web:example.com:user:alice").is_err());
        assert!(web_host("did:web:example.com%2Fpath").is_err());
        assert!(web_host("did:web:127.0.0.1").is_err());
        assert!(web_host("did:web:ex%2").is_err());
        assert!(web_host("did:web:%C3%A9.com").is_err());
    }

    #[test]
    fn plc_identifiers() {
        assert!(plc_identifier("did:plc:z5vnbioquyhivxirw3bbljmu").is_ok());
        assert!(plc_identifier("did:plc:z5vnbioquyhivxirw3bbljm").is_err());
        assert!(plc_identifier("did:plc:z5vnbioquyhivxirw3bbljm1").is_err());
        assert!(plc_identifier("did:plc:Z5vnbioquyhivxirw3bbljmu").is_err());
    }

    #[test]
    fn reserved() {
        assert!(reserved_tld("laptop.local", true));
        assert!(reserved_tld("a.onion", true));
        assert!(reserved_tld("a.test", false));
        assert!(!reserved_tld("a.test", true));
        assert!(!reserved_tld("bsky.social", false));
    }
}
