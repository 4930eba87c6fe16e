//! A DID document, reduced to what atproto uses of it: the claimed handle, the `#atproto`
//! signing key, the `#atproto_pds` endpoint, and the labeler's `#atproto_label` key and
//! `#atproto_labeler` endpoint (<https://atproto.com/specs/did>, "DID Documents").
//!
//! Pure: bytes in, a [`DidDocument`] or a typed error out. The size is checked before any
//! parsing, the `id` must be the DID asked for, and the JSON must have the DID Core shape (typed
//! fields, no duplicate keys; serde_json also bounds nesting). Within that shape, the spec's
//! rule is "the first valid entry wins, the others are ignored", so an unusable entry (a key of
//! another type, a service with a bad URL) is skipped rather than failing the document: an
//! account with no usable key or PDS is still an account, and the caller decides what it needs.
//!
//! Keys stay strings (`kind` and multibase text): decoding them belongs to the crypto module.

use serde::Deserialize;

use super::error::{short, DocumentError};
use super::names;

/// Largest document parsed by default. PLC documents are a few hundred bytes and the directory
/// caps operations far below this; did:web documents are larger only when padded.
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Key types accepted for `#atproto` and `#atproto_label`: the current one and the two legacy
/// ones the spec still allows during the transition.
pub const KEY_TYPES: &[&str] = &[
    "Multikey",
    "EcdsaSecp256k1VerificationKey2019",
    "EcdsaSecp256r1VerificationKey2019",
];

/// Longest `publicKeyMultibase` kept. An uncompressed legacy P-256/K-256 key is 65 bytes, about
/// 90 base58 characters; anything much longer is not an atproto key.
const MAX_MULTIBASE_LEN: usize = 128;

/// A public key as the document states it, not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The verification method's `type`: one of [`KEY_TYPES`]. It tells the crypto module how
    /// to read `multibase` (legacy types carry uncompressed keys without a multicodec prefix).
    pub kind: String,
    /// `publicKeyMultibase`: `z` then base58btc.
    pub multibase: String,
}

/// What atproto uses of a DID document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidDocument {
    /// The document's `id`, equal to the DID that was resolved.
    pub did: String,
    /// The first valid `at://` handle in `alsoKnownAs`, lowercased; claimed, not verified.
    pub handle: Option<String>,
    /// `#atproto`: the key that signs the account's repository commits.
    pub signing_key: Option<SigningKey>,
    /// `#atproto_pds` (`AtprotoPersonalDataServer`): the PDS origin, `scheme://host[:port]`.
    pub pds: Option<String>,
    /// `#atproto_label`: the key that signs the account's labels, if it is a labeler.
    pub label_key: Option<SigningKey>,
    /// `#atproto_labeler` (`AtprotoLabeler`): the labeler's origin.
    pub labeler: Option<String>,
}

#[derive(Deserialize)]
struct RawDocument {
    id: String,
    #[serde(rename = "alsoKnownAs", default)]
    also_known_as: Vec<String>,
    #[serde(rename = "verificationMethod", default)]
    verification_method: Vec<RawMethod>,
    #[serde(default)]
    service: Vec<RawService>,
}

#[derive(Deserialize)]
struct RawMethod {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    controller: Option<String>,
    // Other methods may carry publicKeyJwk instead; only ours must have this.
    #[serde(rename = "publicKeyMultibase")]
    public_key_multibase: Option<String>,
}

#[derive(Deserialize)]
struct RawService {
    id: String,
    // DID Core allows a set of types and a map or set of endpoints; ours are single strings,
    // and other entries must not fail the document.
    #[serde(rename = "type")]
    kind: serde_json::Value,
    #[serde(rename = "serviceEndpoint")]
    endpoint: serde_json::Value,
}

impl DidDocument {
    /// Parses `bytes` as the DID document of `did`, refusing more than `max_bytes`.
    pub fn parse(did: &str, bytes: &[u8], max_bytes: usize) -> Result<DidDocument, DocumentError> {
        if bytes.len() > max_bytes {
            return Err(DocumentError::TooLarge {
                len: bytes.len(),
                max: max_bytes,
            });
        }
        let raw: RawDocument = serde_json::from_slice(bytes).map_err(|e| DocumentError::Json {
            reason: short(&e.to_string()),
        })?;
        if raw.id != did {
            return Err(DocumentError::WrongId {
                found: short(&raw.id),
            });
        }
        Ok(DidDocument {
            handle: first_handle(&raw.also_known_as),
            signing_key: first_key(did, &raw.verification_method, "atproto"),
            pds: first_service(
                did,
                &raw.service,
                "atproto_pds",
                "AtprotoPersonalDataServer",
            ),
            label_key: first_key(did, &raw.verification_method, "atproto_label"),
            labeler: first_service(did, &raw.service, "atproto_labeler", "AtprotoLabeler"),
            did: raw.id,
        })
    }
}

/// Whether an entry's `id` is `#fragment` or `did#fragment` (the spec asks for both forms).
fn is_fragment(id: &str, did: &str, fragment: &str) -> bool {
    let Some(rest) = id.strip_suffix(fragment).and_then(|r| r.strip_suffix('#')) else {
        return false;
    };
    rest.is_empty() || rest == did
}

fn first_handle(also_known_as: &[String]) -> Option<String> {
    also_known_as
        .iter()
        .filter_map(|uri| uri.strip_prefix("at://"))
        .find_map(|h| names::normalize_handle(h).ok())
}

fn first_key(did: &str, methods: &[RawMethod], fragment: &str) -> Option<SigningKey> {
    methods.iter().find_map(|m| {
        if !is_fragment(&m.id, did, fragment) || !KEY_TYPES.contains(&m.kind.as_str()) {
            return None;
        }
        if m.controller.as_deref() != Some(did) {
            return None;
        }
        let multibase = m.public_key_multibase.as_deref()?;
        multibase_ok(multibase).then(|| SigningKey {
            kind: m.kind.clone(),
            multibase: multibase.to_owned(),
        })
    })
}

/// `z` and base58btc characters, of a plausible length: a shape check, not a decode.
fn multibase_ok(s: &str) -> bool {
    let Some(body) = s.strip_prefix('z') else {
        return false;
    };
    !body.is_empty()
        && s.len() <= MAX_MULTIBASE_LEN
        && body
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() && !matches!(c, b'0' | b'O' | b'I' | b'l'))
}

fn first_service(did: &str, services: &[RawService], fragment: &str, kind: &str) -> Option<String> {
    services.iter().find_map(|s| {
        if !is_fragment(&s.id, did, fragment) || s.kind.as_str() != Some(kind) {
            return None;
        }
        service_origin(s.endpoint.as_str()?)
    })
}

/// The endpoint as `scheme://host[:port]`, if it is an http(s) URL with nothing else: no user
/// information, path (beyond `/`), query or fragment, as the spec says a service URL holds.
pub fn service_origin(endpoint: &str) -> Option<String> {
    let url = url::Url::parse(endpoint).ok()?;
    if !matches!(url.scheme(), "https" | "http") {
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return None;
    }
    url.host_str()?;
    Some(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments() {
        let did = "did:plc:abc";
        assert!(is_fragment("#atproto", did, "atproto"));
        assert!(is_fragment("did:plc:abc#atproto", did, "atproto"));
        assert!(!is_fragment("did:plc:other#atproto", did, "atproto"));
        assert!(!is_fragment("#atproto_pds", did, "atproto"));
        assert!(!is_fragment("atproto", did, "atproto"));
        assert!(!is_fragment("x#atproto_label", did, "atproto_label"));
    }

    #[test]
    fn origins() {
        assert_eq!(
            service_origin("https://bsky.social").as_deref(),
            Some("https://bsky.social")
        );
        assert_eq!(
            service_origin("https://Pds.Example.com:8443/").as_deref(),
            Some("https://pds.example.com:8443")
        );
        assert_eq!(
            service_origin("https://pds.example.com:443").as_deref(),
            Some("https://pds.example.com")
        );
        assert_eq!(
            service_origin("http://localhost:2583").as_deref(),
            Some("http://localhost:2583")
        );
        for bad in [
            "ftp://example.com",
            "https://user@example.com",
            "https://example.com/xrpc",
            "https://example.com/?q",
            "https://example.com/#f",
            "example.com",
            "",
        ] {
            assert_eq!(service_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn multibase_shape() {
        assert!(multibase_ok(
            "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"
        ));
        assert!(!multibase_ok("z"));
        assert!(!multibase_ok("uAAAA"));
        assert!(!multibase_ok("zQ3sh0"));
        assert!(!multibase_ok(&format!("z{}", "a".repeat(200))));
    }
}
