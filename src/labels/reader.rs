//! One blocking thread per labeler: find it (DID document: endpoint and key), connect to its
//! `subscribeLabels` stream from the committed cursor, read, check every label's fields and
//! signature, and hand each frame's good labels on as one [`Batch`]. Reconnects on close,
//! error or a dead connection with capped, jittered backoff, forever, resuming from the
//! committed cursor each time; `FutureCursor` sends the next connection to the live tip,
//! `OutdatedCursor` is logged.
//!
//! It shares nothing with the firehose but the writers' channels (through [`LabelSink`], which
//! blocks only this thread when they are full) and the identity cache, so a labeler that is
//! slow, silent or hostile costs its own thread and nothing else.
//!
//! Labelers may be quiet for hours, so silence is not a stall: we ping every third of the stall
//! timeout, and only a connection that answers nothing at all (no frame, no pong) for the whole
//! timeout is dropped.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use tungstenite::Message;

use super::checks::{Checks, Sig};
use super::frame::{self, LabelFrame, Unverified};
use super::labeler::{self, Labeler};
use super::stats::LabelerStats;
use super::Batch;
use crate::backoff::Backoff;
use crate::error_chain::chain;
use crate::identity::guard;
use crate::identity::Identities;
use crate::shutdown::sleep_unless_stopped;
use crate::source::websocket::{self, Socket};
use crate::source::Resume;
use crate::stats::Stats;

/// Where a reader's labels go: the pipeline registers them with the labeler's own watermark and
/// hands them to the writer that owns the labeler.
pub trait LabelSink: Sync {
    /// Hands a batch on, blocking while the writer's channel is full. False when stopping or
    /// when the writers are gone.
    fn send(&self, batch: Batch) -> bool;
    /// A seq with nothing to apply (every label refused, a frame skipped), so the labeler's
    /// cursor can pass it.
    fn pass(&self, seq: i64);
}

#[derive(Debug, Clone, Copy)]
pub struct ReaderConfig {
    /// Drop a connection that sends nothing, not even a pong, for this long.
    pub stall_timeout: Duration,
    /// Let the labeler's endpoint be a loopback or private address (tests, private networks).
    pub allow_private_hosts: bool,
}

const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(120);
/// A labeler whose document says it is none (no endpoint or key, the DID gone) is asked again
/// far less often: a document changes rarely, and `seen` may hold many such accounts.
const GONE_BASE: Duration = Duration::from_secs(60);
const GONE_CAP: Duration = Duration::from_secs(3600);

/// Everything one reader runs with.
pub struct Reader<'a> {
    pub did: Arc<str>,
    pub config: ReaderConfig,
    pub identities: &'a Identities,
    /// The labeler's committed cursor (its own watermark).
    pub resume: &'a dyn Resume,
    pub sink: &'a dyn LabelSink,
    pub stats: &'a Stats,
    pub labeler_stats: &'a LabelerStats,
    pub stop: &'a AtomicBool,
}

/// Why a connection ended.
enum End {
    Stop,
    Reconnect,
    Live,
    /// A key could not be had: reconnect after the key backoff, which frames do not reset.
    Wait,
}

/// A connection's state: the labeler as last resolved, and the two backoffs (connections, and
/// waits for a key, which only a successful key fetch resets).
struct Session<'b> {
    labeler: Labeler,
    backoff: &'b mut Backoff,
    key_wait: &'b mut Backoff,
}

/// What became of a frame.
enum Flow {
    Go,
    Stop,
    /// A key could not be had (the directory is unreachable): read the frame again later
    /// rather than refuse labels that may be good.
    Wait,
}

impl Reader<'_> {
    fn checks(&self) -> Checks<'_> {
        Checks {
            did: &self.did,
            identities: self.identities,
            stats: self.stats,
            labeler_stats: self.labeler_stats,
        }
    }

    /// Follows the labeler until `stop`.
    pub fn run(&self) {
        let mut backoff = Backoff::new(BACKOFF_BASE, BACKOFF_CAP);
        let mut key_wait = Backoff::new(BACKOFF_BASE, BACKOFF_CAP);
        let mut gone = Backoff::new(GONE_BASE, GONE_CAP);
        // After FutureCursor and until something is committed, connect without a cursor.
        let mut live = false;
        let mut first = true;
        let did = &*self.did;
        while !self.stop.load(Relaxed) {
            let labeler = match labeler::resolve(self.identities, did, false) {
                Ok(l) => {
                    gone.reset();
                    l
                }
                Err(e) => {
                    let b = if e.is_transient() {
                        &mut backoff
                    } else {
                        &mut gone
                    };
                    let wait = b.next_delay();
                    warn!(
                        "labeler did={did} unavailable: {}; retry {} in {} ms",
                        chain(&e),
                        b.attempts(),
                        wait.as_millis()
                    );
                    if !sleep_unless_stopped(wait, self.stop) {
                        return;
                    }
                    continue;
                }
            };
            let cursor = match (self.resume.cursor(), live) {
                (Some(c), _) => Some(c),
                (None, true) => None,
                // Nothing committed yet: everything the labeler still serves.
                (None, false) => Some(0),
            };
            if !first {
                LabelerStats::add(&self.labeler_stats.reconnects, 1);
            }
            first = false;
            info!(
                "labeler did={did}: connecting to {} cursor={}",
                labeler.endpoint,
                cursor.map_or_else(|| "live".to_owned(), |c| c.to_string())
            );
            let url = websocket::with_cursor(&labeler.endpoint, cursor);
            let allow_private = self.config.allow_private_hosts;
            let allowed = |ip: IpAddr| allow_private || guard::is_public(ip);
            let mut ws = match websocket::connect_filtered(&url, &allowed) {
                Ok(ws) => ws,
                Err(e) => {
                    let wait = backoff.next_delay();
                    warn!(
                        "labeler did={did} connection failed: {}; attempt {} failed, retrying in {} ms",
                        chain(&e),
                        backoff.attempts(),
                        wait.as_millis()
                    );
                    if !sleep_unless_stopped(wait, self.stop) {
                        return;
                    }
                    continue;
                }
            };
            info!("labeler did={did}: connected to {}", labeler.endpoint);
            self.labeler_stats.connected.store(true, Relaxed);
            let mut session = Session {
                labeler,
                backoff: &mut backoff,
                key_wait: &mut key_wait,
            };
            let end = self.read_until_end(&mut ws, &mut session);
            self.labeler_stats.connected.store(false, Relaxed);
            let _ = ws.close(None);
            let _ = ws.flush();
            let wait = match end {
                End::Stop => return,
                End::Live => {
                    live = true;
                    self.resume.restart_live();
                    backoff.next_delay()
                }
                End::Reconnect => backoff.next_delay(),
                End::Wait => key_wait.next_delay(),
            };
            info!("labeler did={did}: reconnecting in {} ms", wait.as_millis());
            if !sleep_unless_stopped(wait, self.stop) {
                return;
            }
        }
    }

    fn read_until_end(&self, ws: &mut Socket, session: &mut Session<'_>) -> End {
        let did = &*self.did;
        let stall = self.config.stall_timeout;
        let ping_every = stall / 3;
        let mut last_heard = Instant::now();
        let mut last_ping = Instant::now();
        loop {
            if self.stop.load(Relaxed) {
                return End::Stop;
            }
            match ws.read() {
                Ok(Message::Binary(bytes)) => {
                    last_heard = Instant::now();
                    LabelerStats::add(&self.labeler_stats.frames, 1);
                    match self.frame(&bytes, session, last_heard) {
                        Ok(Flow::Go) => session.backoff.reset(),
                        Ok(Flow::Stop) => return End::Stop,
                        Ok(Flow::Wait) => return End::Wait,
                        Err(end) => return end,
                    }
                }
                Ok(Message::Close(frame)) => {
                    info!(
                        "labeler did={did} closed the connection: {}",
                        frame.map(|f| f.to_string()).unwrap_or_default()
                    );
                    return End::Reconnect;
                }
                // Pings, pongs, text: the connection is alive.
                Ok(_) => last_heard = Instant::now(),
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if last_heard.elapsed() >= stall {
                        warn!(
                            "no frame or pong from labeler did={did} for {} s (stall timeout): reconnecting",
                            last_heard.elapsed().as_secs()
                        );
                        return End::Reconnect;
                    }
                    if last_ping.elapsed() >= ping_every {
                        last_ping = Instant::now();
                        if let Err(e) = ws.send(Message::Ping(Default::default())) {
                            warn!("labeler did={did} connection lost: {e}");
                            return End::Reconnect;
                        }
                    }
                }
                Err(e) => {
                    warn!("labeler did={did} connection lost: {e}");
                    return End::Reconnect;
                }
            }
        }
    }

    /// One message. `Err` when it ends the connection.
    fn frame(
        &self,
        bytes: &[u8],
        session: &mut Session<'_>,
        received: Instant,
    ) -> Result<Flow, End> {
        let did = &*self.did;
        match frame::decode(bytes, did) {
            Ok(LabelFrame::Labels { seq, labels }) => {
                Ok(self.labels(seq, labels, session, received))
            }
            Ok(LabelFrame::Info { name, message }) => {
                let message = message.unwrap_or_default();
                if name == "OutdatedCursor" {
                    warn!(
                        "labeler did={did} says OutdatedCursor ({message}): labels older than it serves are not replayed"
                    );
                } else {
                    info!("labeler did={did} says #info {name} ({message})");
                }
                Ok(Flow::Go)
            }
            Ok(LabelFrame::Error { error, message }) => {
                let message = message.unwrap_or_default();
                if error == "FutureCursor" {
                    warn!(
                        "labeler did={did} says FutureCursor ({message}): our cursor is ahead of it; starting from live"
                    );
                    Err(End::Live)
                } else {
                    warn!("labeler did={did} says {error} ({message}): reconnecting");
                    Err(End::Reconnect)
                }
            }
            Ok(LabelFrame::Unknown { t, seq }) => {
                debug!(
                    "labeler did={did}: frame type {t} skipped seq={}",
                    seq.map_or_else(|| "-".to_owned(), |s| s.to_string())
                );
                if let Some(seq) = seq {
                    self.sink.pass(seq);
                }
                Ok(Flow::Go)
            }
            Err(bad) => {
                self.checks().refuse(
                    bad.seq,
                    None,
                    None,
                    bad.error.reason(),
                    &format!("bad frame ({} bytes): {}", bytes.len(), bad.error),
                );
                if let Some(seq) = bad.seq {
                    self.sink.pass(seq);
                }
                Ok(Flow::Go)
            }
        }
    }

    /// A `#labels` frame: the good labels go on as one batch; the refused are counted and
    /// logged; a frame with nothing good still lets the cursor pass its seq.
    fn labels(
        &self,
        seq: i64,
        items: Vec<Result<Unverified, frame::Refused>>,
        session: &mut Session<'_>,
        received: Instant,
    ) -> Flow {
        self.labeler_stats.last_seq.fetch_max(seq, Relaxed);
        LabelerStats::add(&self.labeler_stats.labels, items.len() as u64);
        let checks = self.checks();
        let mut good = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Err(r) => checks.refuse(
                    Some(seq),
                    r.uri.as_deref(),
                    r.val.as_deref(),
                    r.error.reason(),
                    &r.error.to_string(),
                ),
                Ok(u) => match checks.signature(&u, &mut session.labeler, session.key_wait) {
                    Sig::Good => good.push(u.label),
                    Sig::Bad(reason, detail) => checks.refuse(
                        Some(seq),
                        Some(&u.label.uri),
                        Some(&u.label.val),
                        reason,
                        &detail,
                    ),
                    Sig::Wait => return Flow::Wait,
                },
            }
        }
        if good.is_empty() {
            self.sink.pass(seq);
            return Flow::Go;
        }
        let batch = Batch {
            labeler: self.did.clone(),
            seq,
            labels: good,
            received,
        };
        if self.sink.send(batch) {
            Flow::Go
        } else {
            Flow::Stop
        }
    }
}
