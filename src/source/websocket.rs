//! The relay: one blocking thread reads `com.atproto.sync.subscribeRepos` over `ws://` or
//! `wss://` (rustls, webpki roots; certificate checks are always on) and hands each binary
//! message on. It reconnects on close, error or a silent stall with capped, jittered backoff,
//! forever, resuming from the committed cursor each time; a `FutureCursor` makes the next
//! connection start at the live tip, `ConsumerTooSlow` simply reconnects.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crossbeam_channel::{SendTimeoutError, Sender};
use log::{info, warn};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};
use url::Url;

use super::{RawFrame, SourceMsg};
use crate::backoff::Backoff;
use crate::decode::limits::MAX_FRAME_BYTES;
use crate::decode::{decode_frame, ErrorFrame, Frame};
use crate::progress::Progress;
use crate::stats::Stats;

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
pub fn endpoint(relay: &str) -> Result<Url, String> {
    let mut url = Url::parse(relay).map_err(|e| format!("relay URL {relay:?}: {e}"))?;
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        other => {
            return Err(format!(
                "relay URL scheme {other:?}: use ws://, wss://, http:// or https://"
            ))
        }
    };
    url.set_scheme(scheme)
        .map_err(|()| format!("relay URL {relay:?}: cannot use scheme {scheme}"))?;
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
pub fn connect(url: &Url) -> Result<Socket, String> {
    let host = url.host_str().ok_or("relay URL has no host")?;
    let port = url.port_or_known_default().ok_or("relay URL has no port")?;
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}: {e}"))?;
    let mut last = format!("{host} has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(CONNECT_TIMEOUT))
                    .map_err(|e| e.to_string())?;
                tcp.set_nodelay(true).map_err(|e| e.to_string())?;
                let config = WebSocketConfig::default()
                    .max_message_size(Some(MAX_FRAME_BYTES))
                    .max_frame_size(Some(MAX_FRAME_BYTES));
                let (ws, _response) =
                    tungstenite::client_tls_with_config(url.as_str(), tcp, Some(config), None)
                        .map_err(|e| format!("handshake with {host}: {e}"))?;
                set_read_timeout(&ws, TICK).map_err(|e| e.to_string())?;
                return Ok(ws);
            }
            Err(e) => last = format!("connecting to {addr}: {e}"),
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

/// Sends downstream, waking up to check for shutdown while the channel is full.
fn forward(out: &Sender<SourceMsg>, mut msg: SourceMsg, stop: &AtomicBool) -> bool {
    loop {
        match out.send_timeout(msg, TICK) {
            Ok(()) => return true,
            Err(SendTimeoutError::Timeout(m)) => {
                if stop.load(Relaxed) {
                    return false;
                }
                msg = m;
            }
            Err(SendTimeoutError::Disconnected(_)) => return false,
        }
    }
}

/// Sleeps, waking early on shutdown. False when stopping.
fn pause(d: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if stop.load(Relaxed) {
            return false;
        }
        std::thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
    }
    !stop.load(Relaxed)
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
    progress: &Progress,
    out: &Sender<SourceMsg>,
    stop: &AtomicBool,
    stats: &Stats,
    connected: &dyn Fn(),
) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    let mut live = config.start_live;
    let mut first = true;
    while !stop.load(Relaxed) {
        let cursor = if live { None } else { progress.watermark().0 };
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
                    "relay connection failed: {e}; attempt {} failed, retrying in {} ms",
                    backoff.attempts(),
                    wait.as_millis()
                );
                if !pause(wait, stop) {
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
                progress.restart_at(None);
            }
            End::Reconnect => {}
        }
        let wait = backoff.next_delay();
        info!("reconnecting in {} ms", wait.as_millis());
        if !pause(wait, stop) {
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
                // Error frames end the connection; act on them here, where the connection is.
                let end = match bytes.first() {
                    // A header map whose first key is "op" with a negative value: cheap test
                    // first, full decode only for real error frames.
                    Some(_) if is_error_frame(&bytes) => match decode_frame(&bytes) {
                        Ok(Frame::Error(ErrorFrame::FutureCursor(m))) => {
                            warn!("relay says FutureCursor ({}): our cursor is ahead of it; starting from live", m.unwrap_or_default());
                            Some(End::Live)
                        }
                        Ok(Frame::Error(ErrorFrame::ConsumerTooSlow(m))) => {
                            warn!(
                                "relay says ConsumerTooSlow ({}): reconnecting from the cursor",
                                m.unwrap_or_default()
                            );
                            Some(End::Reconnect)
                        }
                        _ => None,
                    },
                    _ => None,
                };
                let frame = RawFrame {
                    bytes: bytes.into(),
                    received: last_frame,
                };
                if !forward(out, SourceMsg::Frame(frame), stop) {
                    return End::Stop;
                }
                if let Some(end) = end {
                    return end;
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

/// True when the header map has `op` set to a negative integer (0x20..0x37 or 0x38 xx).
fn is_error_frame(bytes: &[u8]) -> bool {
    // {op: -1, ...} starts a1/a2 62 6f 70 20; keys are sorted, "op" (2 chars) comes before "t".
    matches!(bytes, [0xa1 | 0xa2, 0x62, b'o', b'p', 0x20..=0x38, ..])
}
