//! The signed commit object (repository format v3): strict decoding, the canonical signed and
//! unsigned encodings, and its signature.
//!
//! The signature covers the DAG-CBOR of the commit without `sig`. Rather than trusting that
//! the block's other bytes are that encoding, the commit is decoded into its six fields and both
//! forms are re-encoded from them; the block must equal the signed re-encoding (so it is
//! canonical, has `prev` present and no field we would not sign), and the unsigned one is what
//! the key must have signed.

use cid::Cid;
use serde::Deserialize;

use super::encode;
use super::error::CommitError;
use crate::crypto::{self, PublicKey, SignatureError};
use crate::ipld::cid::{check_cid_profile, CODEC_DAG_CBOR};
use crate::syntax;

/// The repository format version this module reads.
pub const REPO_VERSION: u64 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub did: String,
    pub version: u64,
    /// The MST root.
    pub data: Cid,
    pub rev: String,
    /// Virtually always null in v3, but present.
    pub prev: Option<Cid>,
    pub sig: Vec<u8>,
}

#[derive(Deserialize)]
struct RawCommit<'a> {
    did: &'a str,
    version: u64,
    data: Cid,
    rev: &'a str,
    prev: Option<Cid>,
    #[serde(borrow)]
    sig: &'a [u8],
}

/// Most bytes a commit block may have; real ones are about 150 (a DID of at most 2048 bytes
/// and a 64-byte signature keep any honest one far below).
const MAX_COMMIT_BYTES: usize = 4096;

fn link_ok(cid: &Cid) -> Result<(), CommitError> {
    if cid.codec() != CODEC_DAG_CBOR || check_cid_profile(cid).is_err() {
        return Err(CommitError::Link(*cid));
    }
    Ok(())
}

impl Commit {
    /// Decodes a v3 signed commit block strictly.
    pub fn decode(bytes: &[u8]) -> Result<Commit, CommitError> {
        if bytes.len() > MAX_COMMIT_BYTES {
            return Err(CommitError::Shape(format!(
                "{} bytes is over the limit",
                bytes.len()
            )));
        }
        // No separate canonical-CBOR pass: the round trip below refuses any other form.
        let raw: RawCommit =
            serde_ipld_dagcbor::from_slice(bytes).map_err(|e| CommitError::Shape(e.to_string()))?;
        if raw.version != REPO_VERSION {
            return Err(CommitError::Version(raw.version));
        }
        syntax::did(raw.did).map_err(|e| CommitError::Did(e.to_string()))?;
        syntax::tid(raw.rev).map_err(|e| CommitError::Rev(e.to_string()))?;
        link_ok(&raw.data)?;
        if let Some(prev) = &raw.prev {
            link_ok(prev)?;
        }
        let commit = Commit {
            did: raw.did.to_owned(),
            version: raw.version,
            data: raw.data,
            rev: raw.rev.to_owned(),
            prev: raw.prev,
            sig: raw.sig.to_vec(),
        };
        if commit.signed_bytes() != bytes {
            return Err(CommitError::NotCanonical);
        }
        Ok(commit)
    }

    /// The canonical encoding with `sig`: the commit block.
    pub fn signed_bytes(&self) -> Vec<u8> {
        self.encode(true)
    }

    /// The canonical encoding without `sig`: what is signed.
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        self.encode(false)
    }

    fn encode(&self, with_sig: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(96 + self.did.len() + self.sig.len());
        // DAG-CBOR key order: shorter keys first, then bytewise: did, rev, sig, data, prev, version.
        encode::head(&mut out, 5, if with_sig { 6 } else { 5 });
        encode::text(&mut out, "did");
        encode::text(&mut out, &self.did);
        encode::text(&mut out, "rev");
        encode::text(&mut out, &self.rev);
        if with_sig {
            encode::text(&mut out, "sig");
            encode::bytes(&mut out, &self.sig);
        }
        encode::text(&mut out, "data");
        encode::cid(&mut out, &self.data);
        encode::text(&mut out, "prev");
        encode::nullable_cid(&mut out, self.prev.as_ref());
        encode::text(&mut out, "version");
        encode::uint(&mut out, self.version);
        out
    }

    /// Checks `sig` over the unsigned commit with `key`.
    pub fn verify_signature(&self, key: &PublicKey) -> Result<(), SignatureError> {
        crypto::verify(key, &self.unsigned_bytes(), &self.sig)
    }
}
