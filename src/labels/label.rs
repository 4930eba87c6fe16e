//! One label (`com.atproto.label.defs#label`), checked field by field before anything trusts
//! it: `ver` 1, `src` a DID and the labeler's own, `uri` an AT-URI or a DID, `cid` a CID when
//! present, `val` 1 to 128 bytes, `cts` and `exp` atproto datetimes, `sig` 64 bytes. Pure: the
//! decoded fields in, a [`Label`] or the first rule broken out. The signature itself is
//! checked elsewhere (`signature.rs`), over the bytes the label came in.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use thiserror::Error;

use crate::syntax;

/// The lexicon's bound on `val`, in bytes.
pub const MAX_VAL_BYTES: usize = 128;
/// A compact ECDSA signature, r || s.
pub const SIG_LEN: usize = 64;

/// A label whose fields passed every check. Once its signature has passed too (`signature.rs`)
/// it is what the `labels` table stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The labeler's DID.
    pub src: String,
    /// The subject: an `at://` URI of a record, or an account's DID.
    pub uri: String,
    /// The record version labelled, for record labels that name one.
    pub cid: Option<String>,
    pub val: String,
    /// A negation: takes an earlier label with the same (src, uri, cid, val) out of force.
    pub neg: bool,
    /// When the labeler made the label: a newer one replaces an older one.
    pub cts: DateTime<Utc>,
    /// Not in force at or after this time.
    pub exp: Option<DateTime<Utc>>,
    pub sig: [u8; SIG_LEN],
}

/// Why a label was refused. [`LabelError::reason`] is the stable code counted and logged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LabelError {
    #[error("not a label object: {0}")]
    Shape(String),
    #[error("label is not canonical DAG-CBOR or holds a NUL character: {0}")]
    Cbor(String),
    #[error("ver {0:?}: only version 1 labels are signed and accepted")]
    Version(Option<i64>),
    #[error("src {src:?} is not the labeler {labeler}")]
    WrongSrc { src: String, labeler: String },
    #[error("uri: not an AT-URI or a DID ({0})")]
    Uri(syntax::SyntaxError),
    #[error("cid: {0}")]
    Cid(syntax::SyntaxError),
    #[error("val of {0} bytes: must be 1 to 128")]
    ValLength(usize),
    #[error("cts: {0}")]
    Cts(syntax::SyntaxError),
    #[error("exp: {0}")]
    Exp(syntax::SyntaxError),
    #[error("no sig: unsigned labels are not accepted")]
    NoSig,
    #[error("sig of {0} bytes: expected 64")]
    SigLength(usize),
}

impl LabelError {
    /// A stable code for counters and log lines.
    pub fn reason(&self) -> &'static str {
        match self {
            LabelError::Shape(_) => "bad_shape",
            LabelError::Cbor(_) => "bad_cbor",
            LabelError::Version(_) => "bad_version",
            LabelError::WrongSrc { .. } => "wrong_src",
            LabelError::Uri(_) => "bad_uri",
            LabelError::Cid(_) => "bad_cid",
            LabelError::ValLength(_) => "bad_val",
            LabelError::Cts(_) => "bad_cts",
            LabelError::Exp(_) => "bad_exp",
            LabelError::NoSig => "no_sig",
            LabelError::SigLength(_) => "bad_sig_length",
        }
    }
}

/// The label's fields as the lexicon spells them. Unknown fields are ignored here, but they are
/// part of the signed bytes, so a label cannot gain one unnoticed.
#[derive(Debug, Deserialize)]
pub(super) struct RawLabel {
    ver: Option<i64>,
    src: String,
    uri: String,
    cid: Option<String>,
    val: String,
    neg: Option<bool>,
    cts: String,
    exp: Option<String>,
    sig: Option<serde_bytes::ByteBuf>,
}

impl RawLabel {
    /// What log lines can say about a label even when it is refused (shortened: it is input).
    pub(super) fn describe(&self) -> (String, String) {
        (short(&self.uri), short(&self.val))
    }
}

/// At most 200 characters of an input string, for log lines.
pub fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Checks `raw` as a label of `labeler`.
pub(super) fn check(raw: RawLabel, labeler: &str) -> Result<Label, LabelError> {
    if raw.ver != Some(1) {
        return Err(LabelError::Version(raw.ver));
    }
    if raw.src != labeler {
        return Err(LabelError::WrongSrc {
            src: short(&raw.src),
            labeler: labeler.to_owned(),
        });
    }
    if raw.uri.starts_with("at://") {
        syntax::at_uri(&raw.uri).map_err(LabelError::Uri)?;
    } else {
        syntax::did(&raw.uri).map_err(LabelError::Uri)?;
    }
    if let Some(cid) = &raw.cid {
        syntax::cid(cid).map_err(LabelError::Cid)?;
    }
    if raw.val.is_empty() || raw.val.len() > MAX_VAL_BYTES {
        return Err(LabelError::ValLength(raw.val.len()));
    }
    let cts = syntax::parse_datetime(&raw.cts).map_err(LabelError::Cts)?;
    let exp = raw
        .exp
        .as_deref()
        .map(syntax::parse_datetime)
        .transpose()
        .map_err(LabelError::Exp)?;
    let sig = raw.sig.ok_or(LabelError::NoSig)?;
    let sig: [u8; SIG_LEN] = sig
        .as_slice()
        .try_into()
        .map_err(|_| LabelError::SigLength(sig.len()))?;
    Ok(Label {
        src: raw.src,
        uri: raw.uri,
        cid: raw.cid,
        val: raw.val,
        neg: raw.neg.unwrap_or(false),
        cts,
        exp,
        sig,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELER: &str = "did:plc:jomv7f4gqqepgsrlz3dvvdhw";

    fn raw() -> RawLabel {
        RawLabel {
            ver: Some(1),
            src: LABELER.into(),
            uri: "at://did:plc:f5z667nwga44wj3dj45dro2n/app.bsky.feed.post/3n3nemnzqki2x".into(),
            cid: Some("bafyreigibw67inajjpgvqfxelifkexur6wmr4qbiyn6zba6oznlfcvfr7m".into()),
            val: "spam".into(),
            neg: None,
            cts: "2026-12-01T23:11:32.051Z".into(),
            exp: None,
            sig: Some(serde_bytes::ByteBuf::from(vec![1; 64])),
        }
    }

    #[test]
    fn a_good_label_passes() {
        let l = check(raw(), LABELER).expect("valid");
        assert!(!l.neg);
        assert_eq!(l.val, "spam");
        let mut account = raw();
        account.uri = "did:plc:f5z667nwga44wj3dj45dro2n".into();
        account.cid = None;
        account.neg = Some(true);
        assert!(check(account, LABELER).expect("valid").neg);
    }

    #[test]
    fn each_rule_has_its_reason() {
        type Case = (fn(&mut RawLabel), &'static str);
        let cases: Vec<Case> = vec![
            (|r| r.ver = None, "bad_version"),
            (|r| r.ver = Some(2), "bad_version"),
            (|r| r.src = "did:plc:someoneelse".into(), "wrong_src"),
            (|r| r.uri = "https://example.com".into(), "bad_uri"),
            (|r| r.uri = "did:nope".into(), "bad_uri"),
            (|r| r.cid = Some("notacid".into()), "bad_cid"),
            (|r| r.val = String::new(), "bad_val"),
            (|r| r.val = "x".repeat(129), "bad_val"),
            (|r| r.cts = "yesterday".into(), "bad_cts"),
            (|r| r.exp = Some("2026-13-01T00:00:00Z".into()), "bad_exp"),
            (|r| r.sig = None, "no_sig"),
            (
                |r| r.sig = Some(serde_bytes::ByteBuf::from(vec![1; 70])),
                "bad_sig_length",
            ),
        ];
        for (change, reason) in cases {
            let mut r = raw();
            change(&mut r);
            let e = check(r, LABELER).expect_err(reason);
            assert_eq!(e.reason(), reason, "{e}");
        }
        let mut ok = raw();
        ok.val = "x".repeat(128);
        assert!(check(ok, LABELER).is_ok());
    }
}
