//! The relay: one blocking thread reads `com.atproto.sync.subscribeRepos` over `ws://` or
//! `wss://` (rustls, webpki roots; certificate checks are always on) and hands each binary
//! message on. It reconnects on close, error or a silent stall with capped, jittered backoff,
//! forever, resuming from the committed cursor each time; a `FutureCursor` makes the next
//! connection start at the live tip, `ConsumerTooSlow` simply reconnects.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use log::{info, warn};
use thiserror::Error;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};
use url::Url;

use super::{forward, RawFrame, Resume, SourceMsg};
use crate::backoff::Backoff;
use crate::decode::limits::MAX_FRAME_BYTES;
use crate::decode::{decode_frame, ErrorFrame, Frame};
use crate::error_chain::chain;
use crate::shutdown::sleep_unless_stopped;
use crate::stats::Stats;

/// A relay URL we cannot use.
#[derive(Debug, Error)]
pub enum EndpointError {
    #[error("relay URL {url:?}")]
    Parse {
        url: String,
        #[source]
        source: url::ParseError,
    },
    #[error("relay URL scheme {0:?}: use ws://, wss://, http:// or https://")]
    Scheme(String),
}

/// Why a connection to a relay could not be opened.
#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("relay URL has no host")]
    NoHost,
    #[error("relay URL has no port")]
    NoPort,
    #[error("resolving {host}")]
    Resolve {
        host: String,
        #[source]
        source: io::Error,
    },
    #[error("{host} has no address")]
    NoAddress { host: String },
    #[error("{host} resolves only to addresses that are not allowed (private, loopback, …)")]
    Refused { host: String },
    #[error("connecting to {addr}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("setting socket options")]
    Socket(#[source] io::Error),
    #[error("handshake with {host}")]
    Handshake {
        host: String,
        #[source]
        source: Box<tungstenite::Error>,
    },
    #[error("handshake with {host} timed out")]
    HandshakeTimeout { host: String },
}

/// How often a blocked read wakes up to check for shutdown and stalls.
const TICK: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RelayConfig {
    /// The subscribeRepos endpoint, without query.
    pub endpoint: Url,
    pub stall_timeout: Duration,
    /// Where the first connection starts: `None` = the live tip (later connections follow the
    /// committed cursor).
    pub start_live: bool,
}

/// `RELAY_URL` as users give it (`wss://bsky.network`, `https://…`, or the full endpoint) to the
/// subscribeRepos endpoint.
pub fn endpoint(relay: &str) -> Result<Url, EndpointError> {
    let mut url = Url::parse(relay).map_err(|source| EndpointError::Parse {
        url: relay.to_owned(),
        source,
    })?;
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        other => return Err(EndpointError::Scheme(other.to_owned())),
    };
    // Only fails between special and non-special schemes, and all four here are special.
    url.set_scheme(scheme)
        .map_err(|()| EndpointError::Scheme(url.scheme().to_owned()))?;
    if !url
        .path()
        .ends_with("/xrpc/com.atproto.sync.subscribeRepos")
    {
        let path = format!(
            "{}/xrpc/com.atproto.sync.subscribeRepos",
            url.path().trim_end_matches('/')
        );
        url.set_path(&path);
    }
    url.set_query(None);
    Ok(url)
}

/// The endpoint with `?cursor=`.
pub fn with_cursor(endpoint: &Url, cursor: Option<i64>) -> Url {
    let mut url = endpoint.clone();
    if let Some(c) = cursor {
        url.set_query(Some(&format!("cursor={c}")));
    }
    url
}

/// A connection to a relay, as [`connect`] returns it.
pub type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// Connects and completes the WebSocket handshake. Reads on the socket time out every tick, so
/// the reading loop can look at its stop flag.
pub fn connect(url: &Url) -> Result<Socket, ConnectError> {
    connect_filtered(url, &|_| true)
}

/// [`connect`], to the resolved addresses `allowed` accepts only: for endpoints a DID document
/// names (labelers), which must not lead into our own network. The check is on the addresses
/// connected to, so a name that changes its answer (DNS rebinding) gains nothing.
pub fn connect_filtered(
    url: &Url,
    allowed: &dyn Fn(IpAddr) -> bool,
) -> Result<Socket, ConnectError> {
    let host = url.host_str().ok_or(ConnectError::NoHost)?;
    let port = url.port_or_known_default().ok_or(ConnectError::NoPort)?;
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|source| ConnectError::Resolve {
            host: host.to_owned(),
            source,
        })?;
    let mut last = ConnectError::NoAddress {
        host: host.to_owned(),
    };
    for addr in addrs {
        if !allowed(addr.ip()) {
            if matches!(last, ConnectError::NoAddress { .. }) {
                last = ConnectError::Refused {
                    host: host.to_owned(),
                };
            }
            continue;
        }
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(CONNECT_TIMEOUT))
                    .map_err(ConnectError::Socket)?;
                tcp.set_nodelay(true).map_err(ConnectError::Socket)?;
                let config = WebSocketConfig::default()
                    .max_message_size(Some(MAX_FRAME_BYTES))
                    .max_frame_size(Some(MAX_FRAME_BYTES));
                let (ws, _response) =
                    tungstenite::client_tls_with_config(url.as_str(), tcp, Some(config), None)
                        .map_err(|e| match e {
                            tungstenite::HandshakeError::Failure(source) => {
                                ConnectError::Handshake {
                                    host: host.to_owned(),
                                    source: Box::new(source),
                                }
                            }
                            // A read timed out mid-handshake.
                            tungstenite::HandshakeError::Interrupted(_) => {
                                ConnectError::HandshakeTimeout {
                                    host: host.to_owned(),
                                }
                            }
                        })?;
                set_read_timeout(&ws, TICK).map_err(ConnectError::Socket)?;
                return Ok(ws);
            }
            Err(source) => last = ConnectError::Connect { addr, source },
        }
    }
    Err(last)
}

fn set_read_timeout(ws: &Socket, timeout: Duration) -> io::Result<()> {
    match ws.get_ref() {
        MaybeTlsStream::Plain(s) => s.set_read_timeout(Some(timeout)),
        MaybeTlsStream::Rustls(s) => s.get_ref().set_read_timeout(Some(timeout)),
        _ => Ok(()),
    }
}

/// Why a connection ended.
enum End {
    Stop,
    Reconnect,
    Live,
}

/// Reads the relay until `stop` is set. Returns when stopping.
pub fn run(
    config: &RelayConfig,
    resume: &dyn Resume,
    out: &Sender<SourceMsg>,
    stop: &AtomicBool,
    stats: &Stats,
    connected: &dyn Fn(),
) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    let mut live = config.start_live;
    let mut first = true;
    while !stop.load(Relaxed) {
        let cursor = if live { None } else { resume.cursor() };
        let url = with_cursor(&config.endpoint, cursor);
        if !first {
            Stats::add(&stats.reconnects, 1);
        }
        first = false;
        info!(
            "connecting to {} cursor={}",
            config.endpoint,
            cursor.map_or_else(|| "live".to_owned(), |c| c.to_string())
        );
        let mut ws = match connect(&url) {
            Ok(ws) => ws,
            Err(e) => {
                let wait = backoff.next_delay();
                warn!(
                    "relay connection failed: {}; attempt {} failed, retrying in {} ms",
                    chain(&e),
                    backoff.attempts(),
                    wait.as_millis()
                );
                if !sleep_unless_stopped(wait, stop) {
                    return;
                }
                continue;
            }
        };
        info!("connected to {}", config.endpoint);
        connected();
        live = false;
        let end = read_until_end(&mut ws, config, out, stop, &mut backoff);
        let _ = ws.close(None);
        let _ = ws.flush();
        match end {
            End::Stop => return,
            End::Live => {
                live = true;
                resume.restart_live();
            }
            End::Reconnect => {}
        }
        let wait = backoff.next_delay();
        info!("reconnecting in {} ms", wait.as_millis());
        if !sleep_unless_stopped(wait, stop) {
            return;
        }
    }
}

fn read_until_end(
    ws: &mut Socket,
    config: &RelayConfig,
    out: &Sender<SourceMsg>,
    stop: &AtomicBool,
    backoff: &mut Backoff,
) -> End {
    let mut last_frame = Instant::now();
    loop {
        if stop.load(Relaxed) {
            return End::Stop;
        }
        match ws.read() {
            Ok(Message::Binary(bytes)) => {
                last_frame = Instant::now();
                backoff.reset();
                // Error frames end the connection: act on them here, where the connection is,
                // and hand them on decoded. A cheap test of the header first; a full decode
                // only for real error frames.
                if is_error_frame(&bytes) {
                    if let Ok(Frame::Error(error)) = decode_frame(&bytes) {
                        let end = error_frame_end(&error);
                        let msg = SourceMsg::ErrorFrame {
                            error,
                            bytes: bytes.len(),
                        };
                        if !forward(out, msg, stop) {
                            return End::Stop;
                        }
                        match end {
                            Some(end) => return end,
                            None => continue,
                        }
                    }
                }
                let frame = RawFrame {
                    bytes: bytes.into(),
                    received: last_frame,
                };
                if !forward(out, SourceMsg::Frame(frame), stop) {
                    return End::Stop;
                }
            }
            Ok(Message::Close(frame)) => {
                info!(
                    "relay closed the connection: {}",
                    frame.map(|f| f.to_string()).unwrap_or_default()
                );
                return End::Reconnect;
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if last_frame.elapsed() >= config.stall_timeout {
                    warn!(
                        "no frame from the relay for {} s (stall timeout): reconnecting",
                        last_frame.elapsed().as_secs()
                    );
                    return End::Reconnect;
                }
            }
            Err(e) => {
                warn!("relay connection lost: {e}");
                return End::Reconnect;
            }
        }
    }
}

/// What an error frame does to the connection: `FutureCursor` sends us to the live tip,
/// `ConsumerTooSlow` reconnects from the cursor; others are only reported (the relay closes).
fn error_frame_end(error: &ErrorFrame) -> Option<End> {
    match error {
        ErrorFrame::FutureCursor(m) => {
            warn!(
                "relay says FutureCursor ({}): our cursor is ahead of it; starting from live",
                m.as_deref().unwrap_or_default()
            );
            Some(End::Live)
        }
        ErrorFrame::ConsumerTooSlow(m) => {
            warn!(
                "relay says ConsumerTooSlow ({}): reconnecting from the cursor",
                m.as_deref().unwrap_or_default()
            );
            Some(End::Reconnect)
        }
        ErrorFrame::Other { .. } => None,
    }
}

/// True when the header map has `op` set to a negative integer (0x20..0x37 or 0x38 xx).
fn is_error_frame(bytes: &[u8]) -> bool {
    // {op: -1, ...} starts a1/a2 62 6f 70 20; keys are sorted, "op" (2 chars) comes before "t".
    matches!(bytes, [0xa1 | 0xa2, 0x62, b'o', b'p', 0x20..=0x38, ..])
}
