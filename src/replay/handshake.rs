//! The opening of a replay connection: the WebSocket handshake on any path, with `?cursor=`
//! read from the request; a cursor that is not an integer gets HTTP 400 with an XRPC error body,
//! as from a relay.

use std::io;
use std::net::TcpStream;
use std::time::Duration;

use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::{header, StatusCode};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::WebSocket;

use super::options::TICK;
use crate::decode::limits::MAX_FRAME_BYTES;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a consumer's connection did not become a WebSocket.
#[derive(Debug, thiserror::Error)]
pub(super) enum HandshakeError {
    #[error("socket")]
    Io(#[source] io::Error),
    /// tungstenite's handshake error is generic over our callback's (unnameable) type, so it is
    /// kept as its text.
    #[error("WebSocket handshake: {0}")]
    WebSocket(String),
}

pub(super) fn handshake(
    stream: TcpStream,
) -> Result<(WebSocket<TcpStream>, Option<i64>), HandshakeError> {
    let io_err = HandshakeError::Io;
    // Accepted sockets may inherit the listener's non-blocking mode on some platforms.
    stream.set_nonblocking(false).map_err(io_err)?;
    stream.set_nodelay(true).map_err(io_err)?;
    stream
        .set_read_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(io_err)?;
    stream
        .set_write_timeout(Some(HANDSHAKE_TIMEOUT))
        .map_err(io_err)?;
    let mut cursor = None;
    // The error type is tungstenite's, fixed by its `Callback` trait.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| {
        // Any path is accepted: consumers differ in how they spell the endpoint, and there is
        // only one stream here to give them.
        match parse_cursor(request.uri().query()) {
            Ok(c) => {
                cursor = c;
                Ok(response)
            }
            Err(bad) => Err(bad_request(&bad.to_string())),
        }
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let ws = tungstenite::accept_hdr_with_config(stream, callback, Some(config))
        .map_err(|e| HandshakeError::WebSocket(e.to_string()))?;
    // From here on, reads and writes wake up every tick so the connection can see `stop`.
    ws.get_ref().set_read_timeout(Some(TICK)).map_err(io_err)?;
    ws.get_ref().set_write_timeout(Some(TICK)).map_err(io_err)?;
    Ok((ws, cursor))
}

/// A `cursor` query parameter that is not an integer.
#[derive(Debug, thiserror::Error)]
#[error("cursor {0:?} is not an integer")]
struct BadCursor(String);

fn parse_cursor(query: Option<&str>) -> Result<Option<i64>, BadCursor> {
    let Some(query) = query else {
        return Ok(None);
    };
    match url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "cursor") {
        None => Ok(None),
        Some((_, v)) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| BadCursor(v.into_owned())),
    }
}

/// An XRPC error as a relay would send it for a malformed request.
fn bad_request(message: &str) -> ErrorResponse {
    let body = serde_json::json!({"error": "InvalidRequest", "message": message}).to_string();
    let mut response = ErrorResponse::new(Some(body));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
