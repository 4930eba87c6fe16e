//! The entry point: one WebSocket message in, a [`Frame`] out.

use serde::Deserialize;

use super::body;
use super::error::{DecodeError, FrameError};
use super::event::{Frame, Skipped, TypedEvent};
use super::limits::MAX_FRAME_BYTES;
use crate::ipld::cbor;

#[derive(Deserialize)]
struct Header {
    op: i64,
    t: Option<String>,
}

/// Decodes one binary message of `com.atproto.sync.subscribeRepos`.
///
/// Never panics; every failure is a [`FrameError`] carrying whatever seq, DID and type could be
/// recovered, so the caller can log it and go on with the stream.
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, FrameError> {
    decode_frame_with(bytes, false)
}

/// [`decode_frame`], and with `proof` the commits and `#sync` events also carry what
/// verification needs ([`super::Proof`]: a copy of the CAR slice and its block index).
pub fn decode_frame_with(bytes: &[u8], proof: bool) -> Result<Frame, FrameError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty.into());
    }
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLarge(bytes.len()).into());
    }
    let header_len = cbor::validate_item(bytes).map_err(DecodeError::Header)?;
    // ciborium reads the header, as the design card asks; it is tiny and already validated.
    let header: Header = ciborium::from_reader(&bytes[..header_len])
        .map_err(|e| DecodeError::HeaderShape(e.to_string()))?;
    let body = &bytes[header_len..];
    let t = header.t.clone();
    let with_context = |error: DecodeError| {
        let ctx = body::context(body);
        FrameError {
            t: t.clone(),
            seq: ctx.seq,
            did: ctx.repo.or(ctx.did),
            error,
        }
    };
    cbor::validate_exact(body)
        .map_err(DecodeError::Body)
        .map_err(with_context)?;
    match header.op {
        1 => {}
        -1 => return body::error(body).map(Frame::Error).map_err(with_context),
        other => return Err(with_context(DecodeError::UnknownOp(other))),
    }
    let Some(kind) = header.t.as_deref() else {
        return Err(with_context(DecodeError::HeaderShape(
            "op 1 without t".into(),
        )));
    };
    let event = match kind {
        "#commit" => body::commit(body, proof).map(TypedEvent::Commit),
        "#sync" => body::sync(body, proof).map(TypedEvent::Sync),
        "#identity" => body::identity(body, false).map(TypedEvent::Identity),
        "#account" => body::account(body).map(TypedEvent::Account),
        "#info" => body::info(body).map(TypedEvent::Info),
        "#handle" => body::identity(body, true).map(TypedEvent::Identity),
        "#tombstone" => body::tombstone(body).map(TypedEvent::Account),
        "#migrate" => {
            let (seq, did) = body::migrate(body).map_err(with_context)?;
            return Ok(Frame::Skipped(Skipped {
                t: kind.to_owned(),
                seq: Some(seq),
                did: Some(did),
                reason: "legacy #migrate: the DID document says where the repo lives now",
            }));
        }
        _ => {
            let ctx = body::context(body);
            return Ok(Frame::Skipped(Skipped {
                t: kind.to_owned(),
                seq: ctx.seq,
                did: ctx.repo.or(ctx.did),
                reason: "unknown event type",
            }));
        }
    };
    event.map(Frame::Event).map_err(with_context)
}

/// What a frame says of itself before it is decoded: its type, seq and account, read from the
/// header and the body's leading entries (its blocks untouched). `None` for a frame whose
/// header does not read; the rest is whatever could be read, unchecked.
pub fn peek(bytes: &[u8]) -> Option<Skipped> {
    let header_len = cbor::validate_item(bytes).ok()?;
    let header: Header = ciborium::from_reader(&bytes[..header_len]).ok()?;
    if header.op != 1 {
        return None;
    }
    let ctx = body::context(&bytes[header_len..]);
    Some(Skipped {
        t: header.t.unwrap_or_default(),
        seq: ctx.seq,
        did: ctx.repo.or(ctx.did),
        reason: "",
    })
}

/// The seq of a decoded frame, or what could be read of a damaged one's; error frames and
/// `#info` have none.
pub fn seq_of(decoded: &Result<Frame, FrameError>) -> Option<i64> {
    match decoded {
        Ok(Frame::Event(e)) => e.seq(),
        Ok(Frame::Skipped(s)) => s.seq,
        Ok(Frame::Error(_)) => None,
        Err(e) => e.seq,
    }
}
