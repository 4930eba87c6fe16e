//! Who a labeler is, from its DID document as production has it: the `#atproto_labeler`
//! service (`AtprotoLabeler`) says where its `subscribeLabels` stream is, the `#atproto_label`
//! verification method (Multikey or the legacy `EcdsaSecp256k1VerificationKey2019` /
//! `EcdsaSecp256r1VerificationKey2019` forms) which key signs its labels. Nothing about a
//! labeler comes from our flags but its DID, so an endpoint or key that moves is followed.

use std::sync::Arc;

use thiserror::Error;
use url::Url;

use crate::crypto::{KeyError, PublicKey};
use crate::identity::{DidDocument, Identities, ResolveError};

/// A labeler, ready to be followed.
#[derive(Debug, Clone)]
pub struct Labeler {
    pub did: String,
    /// `ws(s)://HOST/xrpc/com.atproto.label.subscribeLabels`.
    pub endpoint: Url,
    pub key: Arc<PublicKey>,
    /// The key as the document states it, to tell whether a refresh changed it.
    pub key_text: String,
}

#[derive(Debug, Error)]
pub enum LabelerError {
    #[error("DID document: {0}")]
    Resolve(#[from] ResolveError),
    #[error("{0}: the DID document has no #atproto_labeler service (not a labeler, or not yet)")]
    NoEndpoint(String),
    #[error("{0}: the DID document has no #atproto_label key")]
    NoKey(String),
    #[error("{did}: #atproto_label key: {source}")]
    BadKey {
        did: String,
        #[source]
        source: KeyError,
    },
    #[error("{did}: #atproto_labeler endpoint {endpoint:?} is not an http(s) origin")]
    BadEndpoint { did: String, endpoint: String },
}

impl LabelerError {
    /// Whether a later try may do better without the document changing: the way to the
    /// directory failed, not the document.
    pub fn is_transient(&self) -> bool {
        matches!(self, LabelerError::Resolve(e) if !e.is_definite())
    }
}

/// The labeler `did`, from the identity cache or the network; `refresh` asks for a fresh
/// document (a rotated key), at most once per key refresh interval.
pub fn resolve(identities: &Identities, did: &str, refresh: bool) -> Result<Labeler, LabelerError> {
    let doc = if refresh {
        identities.refresh(did)?
    } else {
        identities.document(did)?
    };
    from_document(&doc)
}

/// The labeler a document describes.
pub fn from_document(doc: &DidDocument) -> Result<Labeler, LabelerError> {
    let did = &doc.did;
    let origin = doc
        .labeler
        .as_deref()
        .ok_or_else(|| LabelerError::NoEndpoint(did.clone()))?;
    let endpoint = subscribe_url(origin).ok_or_else(|| LabelerError::BadEndpoint {
        did: did.clone(),
        endpoint: origin.chars().take(200).collect(),
    })?;
    let key = doc
        .label_key
        .as_ref()
        .ok_or_else(|| LabelerError::NoKey(did.clone()))?;
    let parsed =
        PublicKey::from_verification_method(&key.kind, &key.multibase).map_err(|source| {
            LabelerError::BadKey {
                did: did.clone(),
                source,
            }
        })?;
    Ok(Labeler {
        did: did.clone(),
        endpoint,
        key: Arc::new(parsed),
        key_text: key.multibase.clone(),
    })
}

/// The `subscribeLabels` WebSocket URL of a service origin (`https://host` → `wss://host/xrpc/…`).
pub fn subscribe_url(origin: &str) -> Option<Url> {
    let mut url = Url::parse(origin).ok()?;
    let scheme = match url.scheme() {
        "https" => "wss",
        "http" => "ws",
        _ => return None,
    };
    url.set_scheme(scheme).ok()?;
    url.set_path("/xrpc/com.atproto.label.subscribeLabels");
    url.set_query(None);
    url.set_fragment(None);
    url.host_str()?;
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            subscribe_url("https://mod.bsky.app").map(|u| u.to_string()),
            Some("wss://mod.bsky.app/xrpc/com.atproto.label.subscribeLabels".into())
        );
        assert_eq!(
            subscribe_url("http://localhost:6585").map(|u| u.to_string()),
            Some("ws://localhost:6585/xrpc/com.atproto.label.subscribeLabels".into())
        );
        assert_eq!(subscribe_url("ftp://x"), None);
        assert_eq!(subscribe_url("nonsense"), None);
    }
}
