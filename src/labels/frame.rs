//! One message of `com.atproto.label.subscribeLabels` in, a typed [`LabelFrame`] out: `#labels`
//! (`seq` and its labels, each checked on its own), `#info` (`OutdatedCursor`), error frames
//! (`FutureCursor`), or a type we do not know. Pure and strict, like the firehose's decoder: the
//! header and the body must each be one canonical DAG-CBOR item (`ipld::cbor`), lengths are
//! checked against the input before anything is allocated for them, and nothing panics.
//!
//! A bad label does not spoil its frame: the others still apply, and the bad one is reported
//! with what could be read of it. Each good label keeps the bytes its signature covers (the
//! label as sent, without `sig`), so the signature is checked on exactly what the labeler
//! signed, never on a re-encoding.

use serde::Deserialize;
use thiserror::Error;

use super::label::{self, Label, LabelError, RawLabel};
use crate::ipld::cbor::{self, CborError};

/// Our bound on one message. Labels are a few hundred bytes; labelers send one to a few per
/// frame (Ozone: exactly one), so this leaves room for batches of thousands.
pub const MAX_FRAME_BYTES: usize = 2_000_000;
/// Our bound on the labels of one frame.
pub const MAX_LABELS_PER_FRAME: usize = 10_000;

#[derive(Debug)]
pub enum LabelFrame {
    Labels {
        seq: i64,
        labels: Vec<Result<Unverified, Refused>>,
    },
    /// `#info`; `OutdatedCursor` is the one the lexicon names.
    Info {
        name: String,
        message: Option<String>,
    },
    /// `op = -1`; `FutureCursor` is the one the lexicon names.
    Error {
        error: String,
        message: Option<String>,
    },
    /// A frame type this version does not know; skipped.
    Unknown { t: String, seq: Option<i64> },
}

/// A label whose fields passed, and the bytes its signature must cover.
#[derive(Debug)]
pub struct Unverified {
    pub label: Label,
    pub unsigned: Vec<u8>,
}

/// A label refused before its signature, with what can be said of it in a log line.
#[derive(Debug)]
pub struct Refused {
    pub error: LabelError,
    pub uri: Option<String>,
    pub val: Option<String>,
}

impl Refused {
    fn new(error: LabelError) -> Refused {
        Refused {
            error,
            uri: None,
            val: None,
        }
    }
}

/// Why a whole frame could not be read.
#[derive(Debug, Error)]
pub enum FrameError {
    #[error("empty frame")]
    Empty,
    #[error("frame of {0} bytes is over the {MAX_FRAME_BYTES} byte limit")]
    TooLarge(usize),
    #[error("frame header: {0}")]
    Header(CborError),
    #[error("frame header is not {{op, t}}: {0}")]
    HeaderShape(String),
    #[error("unknown frame op {0}")]
    UnknownOp(i64),
    #[error("frame body: {0}")]
    Body(CborError),
    #[error("{t} body does not match the lexicon: {reason}")]
    BodyShape { t: &'static str, reason: String },
    #[error("negative seq {0}")]
    NegativeSeq(i64),
    #[error("{0} labels in one frame, over the limit of {MAX_LABELS_PER_FRAME}")]
    TooManyLabels(usize),
}

impl FrameError {
    pub fn reason(&self) -> &'static str {
        "bad_frame"
    }
}

/// A frame that could not be read, with its seq when the body still told it.
#[derive(Debug, Error)]
#[error("{}{error}", seq.map(|s| format!("seq={s} ")).unwrap_or_default())]
pub struct BadFrame {
    pub seq: Option<i64>,
    #[source]
    pub error: FrameError,
}

impl From<FrameError> for BadFrame {
    fn from(error: FrameError) -> BadFrame {
        BadFrame { seq: None, error }
    }
}

#[derive(Deserialize)]
struct Header {
    op: i64,
    t: Option<String>,
}

#[derive(Deserialize)]
struct RawInfo {
    name: String,
    message: Option<String>,
}

#[derive(Deserialize)]
struct RawError {
    error: String,
    message: Option<String>,
}

type DecodeError = serde_ipld_dagcbor::DecodeError<std::convert::Infallible>;

fn shape(t: &'static str) -> impl Fn(DecodeError) -> FrameError {
    move |e| FrameError::BodyShape {
        t,
        reason: label::short(&e.to_string()),
    }
}

/// Decodes one message of `labeler`'s stream.
pub fn decode(bytes: &[u8], labeler: &str) -> Result<LabelFrame, BadFrame> {
    if bytes.is_empty() {
        return Err(FrameError::Empty.into());
    }
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge(bytes.len()).into());
    }
    let header_len = cbor::validate_item(bytes).map_err(FrameError::Header)?;
    let header: Header = serde_ipld_dagcbor::from_slice(&bytes[..header_len])
        .map_err(|e| FrameError::HeaderShape(label::short(&e.to_string())))?;
    let body = &bytes[header_len..];
    let seq = seq_in(body);
    let with_seq = |error: FrameError| BadFrame { seq, error };
    cbor::validate_exact(body)
        .map_err(FrameError::Body)
        .map_err(with_seq)?;
    match header.op {
        1 => {}
        -1 => {
            let raw: RawError = serde_ipld_dagcbor::from_slice(body)
                .map_err(shape("error"))
                .map_err(with_seq)?;
            return Ok(LabelFrame::Error {
                error: raw.error,
                message: raw.message,
            });
        }
        other => return Err(with_seq(FrameError::UnknownOp(other))),
    }
    match header.t.as_deref() {
        Some("#labels") => labels(body, labeler).map_err(with_seq),
        Some("#info") => {
            let raw: RawInfo = serde_ipld_dagcbor::from_slice(body)
                .map_err(shape("#info"))
                .map_err(with_seq)?;
            Ok(LabelFrame::Info {
                name: raw.name,
                message: raw.message,
            })
        }
        Some(t) => Ok(LabelFrame::Unknown {
            t: label::short(t),
            seq,
        }),
        None => Err(with_seq(FrameError::HeaderShape("op 1 without t".into()))),
    }
}

/// The body's `seq`, if its well-formed leading entries hold one (`seq` sorts before `labels`).
fn seq_in(body: &[u8]) -> Option<i64> {
    cbor::leading_map_entries(body)
        .into_iter()
        .find(|(k, _)| *k == "seq")
        .and_then(|(_, v)| serde_ipld_dagcbor::from_slice(v).ok())
}

/// A `#labels` body, `{seq, labels}`, already validated as one canonical item.
fn labels(body: &[u8], labeler: &str) -> Result<LabelFrame, FrameError> {
    const T: &str = "#labels";
    let mut seq: Option<i64> = None;
    let mut items: Option<Vec<&[u8]>> = None;
    for (key, value) in cbor::leading_map_entries(body) {
        match key {
            "seq" => seq = Some(serde_ipld_dagcbor::from_slice(value).map_err(shape(T))?),
            "labels" => items = Some(cbor::array_items(value).map_err(FrameError::Body)?),
            _ => {}
        }
    }
    let seq = seq.ok_or_else(|| FrameError::BodyShape {
        t: T,
        reason: "missing field `seq`".into(),
    })?;
    if seq < 0 {
        return Err(FrameError::NegativeSeq(seq));
    }
    let items = items.ok_or_else(|| FrameError::BodyShape {
        t: T,
        reason: "missing field `labels`".into(),
    })?;
    if items.len() > MAX_LABELS_PER_FRAME {
        return Err(FrameError::TooManyLabels(items.len()));
    }
    let labels = items.into_iter().map(|b| one(b, labeler)).collect();
    Ok(LabelFrame::Labels { seq, labels })
}

/// One label's bytes: canonical and NUL-free (it is stored as text), its fields, and the bytes
/// its signature covers.
fn one(bytes: &[u8], labeler: &str) -> Result<Unverified, Refused> {
    cbor::validate_record(bytes).map_err(|e| Refused::new(LabelError::Cbor(e.to_string())))?;
    let raw: RawLabel = serde_ipld_dagcbor::from_slice(bytes)
        .map_err(|e| Refused::new(LabelError::Shape(label::short(&e.to_string()))))?;
    let (uri, val) = raw.describe();
    let refused = |error| Refused {
        error,
        uri: Some(uri.clone()),
        val: Some(val.clone()),
    };
    let label = label::check(raw, labeler).map_err(refused)?;
    let unsigned = cbor::map_without_key(bytes, "sig")
        .map_err(|e| refused(LabelError::Cbor(e.to_string())))?;
    Ok(Unverified { label, unsigned })
}
