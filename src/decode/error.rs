//! Typed decoding errors: what was wrong, where, never a panic.

use thiserror::Error;

use crate::ipld::car::CarError;
use crate::ipld::cbor::CborError;

/// Why a whole frame could not be decoded. The stream goes on; the caller counts and logs it
/// with whatever seq and repo [`DecodeError::context`] could recover.
#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("empty frame")]
    Empty,
    #[error("frame of {0} bytes is over the {max} byte limit", max = super::limits::MAX_FRAME_BYTES)]
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
    #[error("{t} body: {reason}")]
    Invalid { t: &'static str, reason: String },
    #[error("commit has {0} ops, over the protocol's limit of 200")]
    TooManyOps(usize),
    #[error("blocks of {got} bytes are over the {max} byte limit")]
    BlocksTooLarge { got: usize, max: usize },
    #[error("CAR slice: {0}")]
    Car(#[from] CarError),
}

/// An op of an otherwise good commit that we do not index, and why. The rest of the commit is
/// applied; this is counted and logged with seq, repo and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidOp {
    pub path: String,
    pub reason: String,
}

/// A [`DecodeError`] with what could be recovered of the frame, for the log line.
#[derive(Debug, Error)]
#[error("{}{}{}{error}", t.as_deref().map(|t| format!("t={t} ")).unwrap_or_default(), seq.map(|s| format!("seq={s} ")).unwrap_or_default(), did.as_deref().map(|d| format!("did={d} ")).unwrap_or_default())]
pub struct FrameError {
    pub t: Option<String>,
    pub seq: Option<i64>,
    pub did: Option<String>,
    #[source]
    pub error: DecodeError,
}

impl From<DecodeError> for FrameError {
    fn from(error: DecodeError) -> FrameError {
        FrameError {
            t: None,
            seq: None,
            did: None,
            error,
        }
    }
}
